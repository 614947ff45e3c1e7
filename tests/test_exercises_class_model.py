"""The check of notebook 06's exercise: passes on the solution, fails with its message on typical mistakes."""
import pytest
import torch

from helpers.exercises import ExerciseError
from helpers.exercises.class_model import check_ascent_step


def make_step(objective="score", sign=1.0, centre=0.5, use_l2=True, scale_lr=True, backward=False, in_place=False,
              l2_sign=1.0, dtype=None):
    def ascent_step(model, image, target, lr, l2):
        x = image if in_place else image.detach().clone()
        x.requires_grad_(True)
        scores = model(x)
        if objective == "score":
            gain = scores[:, target].sum()
        elif objective == "softmax":
            gain = scores.softmax(1)[:, target].sum()
        else:
            gain = scores.log_softmax(1)[:, target].sum()
        if use_l2:
            gain = gain - l2_sign * l2 * (x - centre).square().sum()
        if backward:
            gain.backward()
            grad = x.grad
        else:
            (grad,) = torch.autograd.grad(gain, x)
        step = (lr if scale_lr else 1.0) * sign * grad
        if in_place:
            with torch.no_grad():
                image.add_(step)
                return image.detach()
        new = (x + step).detach()
        return new if dtype is None else new.to(dtype)

    return ascent_step


def solution(model, image, target, lr, l2):  # as in the notebook
    image = image.detach().clone().requires_grad_(True)
    objective = model(image)[:, target].sum() - l2 * ((image - 0.5) ** 2).sum()
    (grad,) = torch.autograd.grad(objective, image)
    return (image + lr * grad).detach()


def test_passes_on_the_solution(capsys):
    check_ascent_step(solution)
    check_ascent_step(make_step())
    assert capsys.readouterr().out.startswith("✓ Correct!")


def test_fails_on_the_stub():
    def stub(model, image, target, lr, l2):
        raise NotImplementedError

    with pytest.raises(ExerciseError, match="NotImplementedError"):
        check_ascent_step(stub)


def test_fails_when_nothing_is_returned():
    with pytest.raises(ExerciseError, match="None"):
        check_ascent_step(lambda model, image, target, lr, l2: None)


@pytest.mark.parametrize("kwargs, message", [
    (dict(sign=-1.0), "descent"),
    (dict(objective="softmax"), "softmax"),
    (dict(objective="log_softmax"), "log-softmax"),
    (dict(use_l2=False), "L2 penalty is missing"),
    (dict(centre=0.0), "mid-grey"),
    (dict(l2_sign=-1.0), "wrong sign"),
    (dict(dtype=torch.float64), "float64"),
    (dict(scale_lr=False), "not scaled by lr"),
    (dict(backward=True), "parameters got gradients"),
    (dict(in_place=True), "in place"),
])
def test_fails_with_its_message_on_typical_mistakes(kwargs, message):
    with pytest.raises(ExerciseError, match=message):
        check_ascent_step(make_step(**kwargs))


def test_the_check_leaves_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_ascent_step(solution)
    assert torch.equal(torch.rand(3), expected)


def test_fails_on_a_wrong_shape_and_on_something_else():
    with pytest.raises(ExerciseError, match="shape"):
        check_ascent_step(lambda model, image, target, lr, l2: image[0])
    with pytest.raises(ExerciseError, match="differs"):
        check_ascent_step(lambda model, image, target, lr, l2: image + 0.01)
