"""The check of notebook 08's exercise passes on the solution and explains the typical mistakes."""
import pytest

from helpers.exercises import ExerciseError
from helpers.exercises.interactive import check_follow_prediction


def solution(explorer):
    def on_image_change(change):
        explorer.target.value = explorer.predicted_class(change["new"])

    explorer.image.observe(on_image_change, names="value")


def by_label(explorer):  # also right: select the class by its name
    explorer.image.observe(lambda change: setattr(explorer.target, "label",
                                                  explorer.class_names[explorer.predicted_class(change["new"])]),
                           names="value")


def stub(explorer):
    raise NotImplementedError


def sets_once(explorer):  # no observer: only the image on show now
    explorer.target.value = explorer.predicted_class()


def uses_old(explorer):
    explorer.image.observe(lambda change: setattr(explorer.target, "value", explorer.predicted_class(change["old"])),
                           names="value")


def observes_every_trait(explorer):  # without names="value" the handler also sees 'index' (an int) and 'label'
    explorer.image.observe(lambda change: setattr(explorer.target, "value", explorer.predicted_class(change["new"])))


def sets_the_name(explorer):
    explorer.image.observe(lambda change: setattr(explorer.target, "value",
                                                  explorer.class_names[explorer.predicted_class(change["new"])]),
                           names="value")


def always_fish(explorer):
    explorer.image.observe(lambda change: setattr(explorer.target, "value", 5), names="value")


@pytest.mark.parametrize("answer", [solution, by_label])
def test_the_check_passes_on_right_answers(answer, capsys):
    check_follow_prediction(answer)
    assert capsys.readouterr().out.startswith("✓ Correct! the class now follows the model's prediction")


@pytest.mark.parametrize("answer, message", [
    (stub, "still raises NotImplementedError"),
    (sets_once, "(?s)the class was still 'goose'.*it never changed.*Hint: register a handler"),
    (uses_old, "(?s)for the image shown \\*before\\* each switch.*change\\[\"old\"\\]"),
    (observes_every_trait, "(?s)made your handler raise ValueError.*names=\"value\""),
    (sets_the_name, "(?s)a value it does not have.*values are the class indices"),
    (always_fish, "(?s)the class is 'fish', but the model predicts 'wolf'"),
    (None, "pass your function itself"),
])
def test_the_check_explains_typical_mistakes(answer, message):
    with pytest.raises(ExerciseError, match=message):
        check_follow_prediction(answer)
