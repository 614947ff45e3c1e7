"""Checks for notebook 02 (local linearity).

Both exercises take a learner's function and the notebook's model, images and target classes:

* ``taylor_prediction(model, images, target, delta)`` -> (N,) first-order predictions
  S_c(x) + ∇S_c(x) · δ of each image's score after the change ``delta``;
* ``directional_derivative(model, images, target, direction, h)`` -> (N,) central finite
  differences (S_c(x + h·u) − S_c(x − h·u)) / (2h).

``taylor_prediction`` runs with the course's gradient code and Captum switched off (``saliency.GRADIENT_HELPERS``);
``directional_derivative`` needs no switch-off: an exact derivative fails its check at h = 1.
"""
from __future__ import annotations

import torch

from .._checks import as_target
from ..attribution import input_gradient
from ..model_state import frozen_eval, model_device
from ..objectives import objective_value
from . import Mistake, call, check, expect_match, expect_tensor, passed
from .saliency import GRADIENT_HELPERS, INSTEAD


@torch.no_grad()
def _objective(model, images, target, objective: str = "score") -> torch.Tensor:
    """(N,) score, probability or log-probability of each image's target class, on the CPU."""
    with frozen_eval(model):
        scores = model(images.to(model_device(model, images.device))).cpu()
    return objective_value(scores, as_target(target, len(images)), objective)


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


@check
def check_taylor_prediction(taylor_prediction, model, images, target) -> None:
    """``taylor_prediction(model, images, target, delta)`` should return the (N,) first-order predictions."""
    n = len(images)
    for size in (0.05, 2.0):  # a small change, and one large enough that S(x + δ) is far from the prediction
        delta = _directions(images, size, seed=7)
        got = expect_tensor(call(taylor_prediction, model, images, target, delta, unavailable=GRADIENT_HELPERS,
                                 instead=INSTEAD), "taylor_prediction(...)", shape=(n,))
        expected = reference_taylor_prediction(model, images, target, delta)  # after the learner's function ran
        score = _objective(model, images, target)
        expect_match(got, expected, rtol=1e-3, atol=1e-5, scale=True, mistakes=[
            Mistake(lambda: expected - score, "you returned only the change ∇S·δ.",
                    "add the score at the starting point, S_c(x)"),
            Mistake(lambda: _objective(model, images + delta, target),
                    "you returned the true score S_c(x + δ) after the change, not the linear prediction.",
                    "evaluate the model only at x; predict the change with the gradient at x: S_c(x) + ∇S_c(x)·δ"),
            Mistake(lambda: _first_order(model, images, target, delta, "softmax"),
                    "you differentiated the softmax probability, not the score.",
                    "use the unnormalized score model(images)[i, c], before any softmax"),
            Mistake(lambda: _first_order(model, images, target, delta, "log_softmax"),
                    "you differentiated the log-probability, not the score.",
                    "use the unnormalized score model(images)[i, c], before any log_softmax"),
            Mistake(lambda: score - (expected - score), "the sign of the change is flipped.",
                    "it is S_c(x) + ∇S_c(x)·δ, with a plus"),
        ], message=f"with a change of norm {size:g}, the expected prediction for the first image is "
                   f"{expected[0]:.4f}, you returned {got[0]:.4f}.",
            hint="compute g = ∂S_c/∂x at x (torch.autograd.grad of the scores of the target classes, summed over "
                 "the batch, with respect to the images), then S_c(x) + (g * delta) summed over C, H and W")
    delta = _directions(images, 0.05, seed=7)
    error = (_objective(model, images + delta, target) - reference_taylor_prediction(model, images, target, delta)).abs()
    passed(f"for a random change of norm 0.05 your prediction is off from the true score by "
           f"{error.max().item():.1e} at most.")


def reference_directional_derivative(model, images, target, direction, h, objective: str = "score") -> torch.Tensor:
    """(N,) central finite difference (S_c(x + h·u) − S_c(x − h·u)) / (2h)."""
    return (_objective(model, images + h * direction, target, objective)
            - _objective(model, images - h * direction, target, objective)) / (2 * h)


@check
def check_directional_derivative(directional_derivative, model, images, target) -> None:
    """``directional_derivative(model, images, target, direction, h)``: the (N,) central finite differences."""
    n = len(images)
    direction = _directions(images, 1.0, seed=11)
    central = "use the central difference (S(x + h·u) − S(x − h·u)) / (2h): its error is much smaller"
    for h in (1e-2, 1.0):  # a small step, and one large enough that the one-sided differences differ
        got = expect_tensor(call(directional_derivative, model, images, target, direction, h),
                            f"directional_derivative(..., h={h:g})", shape=(n,))
        expected = reference_directional_derivative(model, images, target, direction, h)  # after the learner's ran
        s0 = _objective(model, images, target)
        expect_match(got, expected, rtol=1e-3, atol=1e-5, scale=True, context=f"with h = {h:g}: ", mistakes=[
            Mistake(lambda: 2 * expected, "your values are twice the expected ones.",
                    "the two points x ± h·u are 2h apart: divide by 2h"),
            Mistake(lambda: expected * 2 * h, "you did not divide by the step.",
                    "divide the difference of the scores by 2h"),
            Mistake(lambda: (_objective(model, images + h * direction, target) - s0) / h,
                    "you computed a forward difference (S(x + h·u) − S(x)) / h.", central),
            Mistake(lambda: (s0 - _objective(model, images - h * direction, target)) / h,
                    "you computed a backward difference (S(x) − S(x − h·u)) / h.", central),
            Mistake(lambda: -expected, "the sign is flipped.",
                    "subtract the score at x − h·u from the score at x + h·u"),
            *(Mistake(lambda objective=objective: reference_directional_derivative(model, images, target, direction, h,
                                                                                   objective),
                      f"you used the {objective.replace('_', '-')} of the scores.",
                      "use the unnormalized scores model(images), before any softmax")
              for objective in ("softmax", "log_softmax")),
        ], message=f"with h = {h:g} the expected value for the first image is {expected[0]:.4f}, "
                   f"you returned {got[0]:.4f}.",
            hint="evaluate the scores of the target classes at images + h * direction and at images - h * direction, "
                 "subtract, and divide by 2 * h")
    exact = (input_gradient(model, images, target) * direction).flatten(1).sum(1).cpu()
    relative = {}
    for h in (1e-2, 1e-4):
        fd = reference_directional_derivative(model, images, target, direction, h)
        relative[h] = ((fd - exact).abs() / exact.abs().clamp_min(1e-30)).median().item()
    tiny = "less than 1e-6" if relative[1e-4] < 1e-6 else f"{relative[1e-4]:.0e}"
    passed(f"your finite differences differ from the gradient's ∇S·u by {relative[1e-2]:.0e} with h = 0.01 and by "
           f"{tiny} with h = 0.0001 (relative, median over the images).")
