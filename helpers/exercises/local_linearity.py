"""Checks for notebook 02 (local linearity).

Both exercises take a learner's function and the notebook's model, images and target classes:

* ``taylor_prediction(model, images, target, delta)`` -> (N,) first-order predictions
  S_c(x) + ∇S_c(x) · δ of each image's score after the change ``delta``;
* ``directional_derivative(model, images, target, direction, h)`` -> (N,) central finite
  differences (S_c(x + h·u) − S_c(x − h·u)) / (2h).
"""
from __future__ import annotations

import torch

from ..model_state import model_device
from ..attribution import input_gradient
from ..model_state import frozen_eval
from . import ExerciseError, expect, expect_tensor, passed


def _call(function, *args):
    """Run the learner's function; a left-in ``raise NotImplementedError`` becomes a friendly message."""
    try:
        return function(*args)
    except NotImplementedError:
        raise ExerciseError("your function still raises NotImplementedError. Replace that line with your code.") from None


@torch.no_grad()
def _objective(model, images, target, objective: str = "score") -> torch.Tensor:
    """(N,) score, probability or log-probability of each image's target class, on the CPU."""
    target = torch.as_tensor(target).reshape(-1).expand(len(images)).cpu()
    with frozen_eval(model):
        scores = model(images.to(model_device(model, images.device))).cpu()
    if objective == "softmax":
        scores = scores.softmax(1)
    elif objective == "log_softmax":
        scores = scores.log_softmax(1)
    return scores.gather(1, target[:, None])[:, 0]


def _directions(images: torch.Tensor, norm: float, seed: int) -> torch.Tensor:
    """Random directions, one per image, each of L2 norm ``norm`` (seeded)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(images.shape, generator=g, dtype=torch.float64)
    u = u / u.flatten(1).norm(dim=1).reshape(-1, 1, 1, 1)
    return (norm * u).to(images.dtype).to(images.device)


def reference_taylor_prediction(model, images, target, delta) -> torch.Tensor:
    """(N,) S_c(x) + ∇S_c(x) · δ, with S_c the unnormalized score of each image's target class."""
    return _first_order(model, images, target, delta, "score")


def _first_order(model, images, target, delta, objective) -> torch.Tensor:
    grad = input_gradient(model, images, target, objective=objective)
    return _objective(model, images, target, objective) + (grad * delta).flatten(1).sum(1).cpu()


def _close(got: torch.Tensor, expected: torch.Tensor, rtol: float = 1e-3) -> bool:
    scale = expected.abs().max().item() or 1.0
    return got.shape == expected.shape and bool(torch.allclose(got.double(), expected.double().cpu(),
                                                               rtol=rtol, atol=1e-5 * scale))


def check_taylor_prediction(taylor_prediction, model, images, target) -> None:
    """``taylor_prediction(model, images, target, delta)`` should return the (N,) first-order predictions."""
    n = len(images)
    for size in (0.05, 2.0):  # a small change, and one large enough that S(x + δ) is far from the prediction
        delta = _directions(images, size, seed=7)
        expected = reference_taylor_prediction(model, images, target, delta)
        got = expect_tensor(_call(taylor_prediction, model, images, target, delta), "taylor_prediction(...)", shape=(n,))
        if _close(got, expected):
            continue
        score = _objective(model, images, target)
        actual = _objective(model, images + delta, target)
        diagnoses = [
            (expected - score, "you returned only the change ∇S·δ.", "add the score at the starting point, S_c(x)"),
            (actual, "you returned the true score S_c(x + δ) after the change, not the linear prediction.",
             "evaluate the model only at x; predict the change with the gradient at x: S_c(x) + ∇S_c(x)·δ"),
            (_first_order(model, images, target, delta, "softmax"),
             "you differentiated the softmax probability, not the score.",
             "use the unnormalized score model(images)[i, c], before any softmax"),
            (_first_order(model, images, target, delta, "log_softmax"),
             "you differentiated the log-probability, not the score.",
             "use the unnormalized score model(images)[i, c], before any log_softmax"),
            (score - (expected - score), "the sign of the change is flipped.", "it is S_c(x) + ∇S_c(x)·δ, with a plus"),
        ]
        for wrong, message, hint in diagnoses:
            if _close(got, wrong):
                expect(False, message, hint)
        expect(False, f"with a change of norm {size:g}, the expected prediction for the first image is "
                      f"{expected[0]:.4f}, you returned {got[0]:.4f}.",
               "compute g = ∂S_c/∂x at x (torch.autograd.grad of the scores of the target classes, summed over "
               "the batch, with respect to the images), then S_c(x) + (g * delta) summed over C, H and W")
    delta = _directions(images, 0.05, seed=7)
    error = (_objective(model, images + delta, target) - reference_taylor_prediction(model, images, target, delta)).abs()
    passed(f"for a random change of norm 0.05 your prediction is off from the true score by "
           f"{error.max().item():.1e} at most.")


def reference_directional_derivative(model, images, target, direction, h) -> torch.Tensor:
    """(N,) central finite difference (S_c(x + h·u) − S_c(x − h·u)) / (2h)."""
    return (_objective(model, images + h * direction, target) - _objective(model, images - h * direction, target)) / (2 * h)


def check_directional_derivative(directional_derivative, model, images, target) -> None:
    """``directional_derivative(model, images, target, direction, h)``: the (N,) central finite differences."""
    n = len(images)
    direction = _directions(images, 1.0, seed=11)
    for h in (1e-2, 1.0):  # a small step, and one large enough that the one-sided differences differ
        expected = reference_directional_derivative(model, images, target, direction, h)
        got = expect_tensor(_call(directional_derivative, model, images, target, direction, h),
                            f"directional_derivative(..., h={h:g})", shape=(n,))
        if _close(got, expected, rtol=1e-3):
            continue
        s0 = _objective(model, images, target)
        up = _objective(model, images + h * direction, target)
        down = _objective(model, images - h * direction, target)
        diagnoses = [
            (2 * expected, "your values are twice the expected ones.", "the two points x ± h·u are 2h apart: divide by 2h"),
            (expected * 2 * h, "you did not divide by the step.", "divide the difference of the scores by 2h"),
            ((up - s0) / h, "you computed a forward difference (S(x + h·u) − S(x)) / h.",
             "use the central difference (S(x + h·u) − S(x − h·u)) / (2h): its error is much smaller"),
            ((s0 - down) / h, "you computed a backward difference (S(x) − S(x − h·u)) / h.",
             "use the central difference (S(x + h·u) − S(x − h·u)) / (2h): its error is much smaller"),
            (-expected, "the sign is flipped.", "subtract the score at x − h·u from the score at x + h·u"),
        ]
        for objective in ("softmax", "log_softmax"):
            wrong = (_objective(model, images + h * direction, target, objective)
                     - _objective(model, images - h * direction, target, objective)) / (2 * h)
            diagnoses.append((wrong, f"you used the {objective.replace('_', '-')} of the scores.",
                              "use the unnormalized scores model(images), before any softmax"))
        for wrong, message, hint in diagnoses:
            if _close(got, wrong, rtol=1e-3):
                expect(False, f"with h = {h:g}: " + message, hint)
        expect(False, f"with h = {h:g} the expected value for the first image is {expected[0]:.4f}, "
                      f"you returned {got[0]:.4f}.",
               "evaluate the scores of the target classes at images + h * direction and at images - h * direction, "
               "subtract, and divide by 2 * h")
    exact = (input_gradient(model, images, target) * direction).flatten(1).sum(1).cpu()
    relative = {}
    for h in (1e-2, 1e-4):
        fd = reference_directional_derivative(model, images, target, direction, h)
        relative[h] = ((fd - exact).abs() / exact.abs().clamp_min(1e-30)).median().item()
    tiny = "less than 1e-6" if relative[1e-4] < 1e-6 else f"{relative[1e-4]:.0e}"
    passed(f"your finite differences differ from the gradient's ∇S·u by {relative[1e-2]:.0e} with h = 0.01 and by "
           f"{tiny} with h = 0.0001 (relative, median over the images).")
