"""The exercise checks of notebooks 02 (local linearity) and 03 (saliency maps).

Each check must pass on a correct solution, and fail with a helpful ExerciseError on a stub
(``raise NotImplementedError`` or a forgotten ``return``) and on the typical mistakes.
"""
import pytest
import torch

import helpers
from helpers import input_gradient, load_model, make_toy_zoo, saliency_map
from helpers.attribution._core import _input_grad
from helpers.exercises import HelperUnavailable
from helpers.exercises.local_linearity import check_directional_derivative, check_taylor_prediction
from helpers.exercises.saliency import check_saliency_map


@pytest.fixture(scope="module")
def setup(zoonet):
    zoo = make_toy_zoo(4, seed=3)
    g = torch.Generator().manual_seed(0)
    images = (zoo.images + 1e-3 * torch.randn(zoo.images.shape, generator=g)).clamp(0, 1)
    return zoonet, images, zoo.labels


def selected(model, images, target, objective="score"):
    scores = model(images)
    if objective == "softmax":
        scores = scores.softmax(1)
    elif objective == "log_softmax":
        scores = scores.log_softmax(1)
    return scores.gather(1, torch.as_tensor(target).reshape(-1, 1).expand(len(images), 1))[:, 0]


def gradient(model, images, target, objective="score"):
    x = images.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(selected(model, x, target, objective).sum(), x)
    return grad


def stub_not_implemented(*args):
    raise NotImplementedError


def stub_none(*args):
    return None


@pytest.mark.parametrize("check", [check_taylor_prediction, check_directional_derivative, check_saliency_map])
@pytest.mark.parametrize("stub, words", [(stub_not_implemented, ["NotImplementedError"]), (stub_none, ["None", "return"])])
def test_checks_fail_on_stubs(setup, check, stub, words, expect_failure):
    expect_failure(check, stub, *setup, words=words)


# ---------------------------------------------------------------------------------------
# 02: first-order Taylor prediction


def taylor_solution(model, images, target, delta):
    with torch.no_grad():
        score = selected(model, images, target)
    return score + (gradient(model, images, target) * delta).flatten(1).sum(1)


def test_taylor_passes_on_solution(setup, capsys):
    check_taylor_prediction(taylor_solution, *setup)
    assert capsys.readouterr().out.startswith("✓ Correct!")


def test_taylor_passes_with_an_integer_target(setup, capsys):
    model, images, labels = setup
    check_taylor_prediction(taylor_solution, model, images, 1)
    assert "✓ Correct!" in capsys.readouterr().out


def test_taylor_mistakes(setup, expect_failure):
    def only_change(model, images, target, delta):
        return (gradient(model, images, target) * delta).flatten(1).sum(1)

    def true_score(model, images, target, delta):
        with torch.no_grad():
            return selected(model, images + delta, target)

    def softmax(model, images, target, delta):
        with torch.no_grad():
            p = selected(model, images, target, "softmax")
        return p + (gradient(model, images, target, "softmax") * delta).flatten(1).sum(1)

    def per_pixel(model, images, target, delta):
        return taylor_solution(model, images, target, delta)[:, None].expand(-1, 3)

    def no_delta(model, images, target, delta):
        with torch.no_grad():
            score = selected(model, images, target)
        return score + gradient(model, images, target).flatten(1).sum(1)

    expect_failure(check_taylor_prediction, only_change, *setup, words=["S_c(x)"])
    expect_failure(check_taylor_prediction, true_score, *setup, words=["true score", "linear prediction"])
    expect_failure(check_taylor_prediction, softmax, *setup, words=["softmax", "Hint"])
    expect_failure(check_taylor_prediction, per_pixel, *setup, words=["shape (4,)"])
    expect_failure(check_taylor_prediction, no_delta, *setup, words=["expected prediction", "Hint"])


# ---------------------------------------------------------------------------------------
# 02: central finite differences


def fd_solution(model, images, target, direction, h):
    with torch.no_grad():
        return (selected(model, images + h * direction, target) - selected(model, images - h * direction, target)) / (2 * h)


def test_directional_derivative_passes_on_solution(setup, capsys):
    check_directional_derivative(fd_solution, *setup)
    out = capsys.readouterr().out
    assert out.startswith("✓ Correct!") and "differ from the gradient" in out


def test_directional_derivative_mistakes(setup, expect_failure):
    def over_h(model, images, target, direction, h):
        return 2 * fd_solution(model, images, target, direction, h)

    def forward(model, images, target, direction, h):
        with torch.no_grad():
            return (selected(model, images + h * direction, target) - selected(model, images, target)) / h

    def backward(model, images, target, direction, h):
        with torch.no_grad():
            return (selected(model, images, target) - selected(model, images - h * direction, target)) / h

    def not_divided(model, images, target, direction, h):
        return fd_solution(model, images, target, direction, h) * 2 * h

    def softmax(model, images, target, direction, h):
        with torch.no_grad():
            up = selected(model, images + h * direction, target, "softmax")
            down = selected(model, images - h * direction, target, "softmax")
        return (up - down) / (2 * h)

    expect_failure(check_directional_derivative, over_h, *setup, words=["twice", "2h"])
    expect_failure(check_directional_derivative, forward, *setup, words=["forward difference", "central"])
    expect_failure(check_directional_derivative, backward, *setup, words=["backward difference", "central"])
    expect_failure(check_directional_derivative, not_divided, *setup, words=["divide"])
    expect_failure(check_directional_derivative, softmax, *setup, words=["softmax"])


# ---------------------------------------------------------------------------------------
# 03: saliency map


def saliency_solution(model, images, target):
    return gradient(model, images, target).abs().amax(dim=1)


def test_saliency_passes_on_solution(setup, capsys):
    check_saliency_map(saliency_solution, *setup)
    assert capsys.readouterr().out.startswith("✓ Correct!")


def test_saliency_passes_with_one_target_for_all(setup, capsys):
    model, images, _ = setup
    check_saliency_map(saliency_solution, model, images, 2)
    assert "✓ Correct!" in capsys.readouterr().out


def test_saliency_leaves_the_model_alone(setup, model_state):
    model, images, labels = setup
    before = model_state(model)
    check_saliency_map(saliency_solution, model, images, labels)
    assert model.training is False
    before.assert_unchanged(model)


@pytest.mark.parametrize("mistake, words", [
    (lambda m, x, t: gradient(m, x, t).amax(1), ["absolute value"]),
    (lambda m, x, t: gradient(m, x, t).abs().sum(1), ["summed", "maximum"]),
    (lambda m, x, t: gradient(m, x, t).abs().mean(1), ["averaged", "maximum"]),
    (lambda m, x, t: gradient(m, x, t).norm(dim=1), ["Euclidean norm"]),
    (lambda m, x, t: gradient(m, x, t, "softmax").abs().amax(1), ["softmax", "score"]),
    (lambda m, x, t: gradient(m, x, t, "log_softmax").abs().amax(1), ["log-probability"]),
    (lambda m, x, t: gradient(m, x, t).abs(), ["one value per pixel", "channel"]),
    (lambda m, x, t: gradient(m, x, t).abs().amax(1) + 0.1, ["largest saliency", "Hint"]),
])
def test_saliency_mistakes(setup, mistake, words, expect_failure):
    expect_failure(check_saliency_map, mistake, *setup, words=words)


def saliency_tensor_target_only(model, images, target):
    x = images.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x).gather(1, target[:, None]).sum(), x)   # target[:, None] fails for an int
    return grad.abs().amax(dim=1)


def saliency_int_not_expanded(model, images, target):
    x = images.detach().clone().requires_grad_(True)
    index = torch.as_tensor(target).reshape(-1, 1)   # an int gives one index, so only image 0's score is selected
    (grad,) = torch.autograd.grad(model(x).gather(1, index).sum(), x)
    return grad.abs().amax(dim=1)


@pytest.mark.parametrize("mistake, words", [
    (saliency_tensor_target_only, ["int target", "TypeError", "Hint"]),
    (saliency_int_not_expanded, ["int target", "differ", "Hint"]),
])
def test_saliency_also_checks_an_int_target(setup, mistake, words, expect_failure):
    model, images, labels = setup
    assert torch.allclose(mistake(model, images, labels), saliency_solution(model, images, labels))  # right for a tensor
    expect_failure(check_saliency_map, mistake, *setup, words=words)                                 # caught on the int


def saliency_of_a_global_model(model, images, target):
    return saliency_solution(load_model("zoonet"), images, target)   # ignores the model it is given


def test_saliency_is_also_checked_on_the_checks_own_model(setup, expect_failure):
    expect_failure(check_saliency_map, saliency_of_a_global_model, *setup, words=["small random CNN"])


def helpers_saliency(model, images, target):
    return helpers.saliency_map(model, images, target)


def imported_saliency(model, images, target):
    return saliency_map(model, images, target)


def input_gradient_reduced(model, images, target):
    return input_gradient(model, images, target).abs().amax(1)


def smoothgrad_without_noise(model, images, target):
    return helpers.smoothgrad(model, images, target, n_samples=1, noise=0.0)


def through_the_registry(model, images, target):
    return helpers.METHODS["saliency"].function(model, images, target)


@pytest.mark.parametrize("function, name", [
    (helpers_saliency, "saliency_map"), (imported_saliency, "saliency_map"), (input_gradient_reduced, "input_gradient"),
    (smoothgrad_without_noise, "smoothgrad"), (through_the_registry, "helpers.saliency_map"),
])
def test_saliency_switches_the_gradient_helpers_off(setup, function, name):
    with pytest.raises(HelperUnavailable, match=f"{name}` is switched off") as info:
        check_saliency_map(function, *setup)
    assert "torch.autograd.grad" in str(info.value) and "helpers." not in str(info.value).split("Hint:")[1]
    assert helpers.saliency_map is saliency_map and helpers.input_gradient is input_gradient   # put back afterwards
    assert helpers.attribution.saliency_map is saliency_map and helpers.attribution._core._input_grad is _input_grad
    assert imported_saliency.__globals__["saliency_map"] is saliency_map


def test_saliency_messages_name_no_helper(setup, capsys, expect_failure):
    check_saliency_map(saliency_solution, *setup)
    assert "helpers" not in capsys.readouterr().out
    message = expect_failure(check_saliency_map, lambda m, x, t: gradient(m, x, t).abs().sum(1), *setup)
    assert "helpers" not in message
