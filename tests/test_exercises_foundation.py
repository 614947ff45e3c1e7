"""The checks of notebooks 00 and 01 pass on the solution and explain typical mistakes."""
import pytest

from helpers import LinearClassifier, make_toy_zoo
from helpers.exercises import ExerciseError
from helpers.exercises.linear_models import check_weight_mass_on_object
from helpers.exercises.getting_started import check_object_area


@pytest.fixture(scope="module")
def zoo():
    return make_toy_zoo(40, seed=0)


def test_object_area_check(zoo, capsys):
    check_object_area(lambda m: m.float().mean(dim=(1, 2)), zoo.masks)
    assert "✓ Correct!" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="(?s)is None.*NotImplementedError"):
        check_object_area(lambda m: None, zoo.masks)
    with pytest.raises(ExerciseError, match="(?s)between 0 and 1.*Hint: divide"):
        check_object_area(lambda m: m.float().sum(dim=(1, 2)), zoo.masks)  # a count, not a share
    with pytest.raises(ExerciseError, match="shape"):
        check_object_area(lambda m: m.float().mean(), zoo.masks)


def weight_mass_solution(w, masks):
    mass = w.abs().sum(dim=0)
    return (mass * masks.float()).sum(dim=(1, 2)) / mass.sum()


def test_weight_mass_check(zoo, capsys):
    template = LinearClassifier(image_shape=(3, 64, 64)).weight_images()[0]
    check_weight_mass_on_object(weight_mass_solution, template, zoo.masks)
    assert "✓ Correct!" in capsys.readouterr().out

    def forgot_abs(w, masks):
        mass = w.sum(dim=0)
        return (mass * masks.float()).sum(dim=(1, 2)) / mass.sum()

    def divided_by_area(w, masks):
        mass = w.abs().sum(dim=0)
        return (mass * masks.float()).sum(dim=(1, 2)) / mass.numel()

    def stub(w, masks):
        raise NotImplementedError

    for mistake, message in [(forgot_abs, "absolute value|expected share"), (divided_by_area, "whole image")]:
        with pytest.raises(ExerciseError, match=message):
            check_weight_mass_on_object(mistake, template, zoo.masks)
    with pytest.raises(NotImplementedError):
        check_weight_mass_on_object(stub, template, zoo.masks)


def test_exercise_errors_render_without_a_traceback():
    error = ExerciseError("expected 3, got 4")
    assert error._render_traceback_() == ["✗ Not quite: expected 3, got 4"]
