"""Checks for the exercises of notebook 04, *Beyond vanilla gradients*."""
from __future__ import annotations

from collections.abc import Callable

import torch

from ..checkpoints import load_model
from ..models import ZooNet
from ..toyzoo import make_toy_zoo
from . import Mistake, call, check, expect, expect_match, expect_tensor, passed
from .saliency import GRADIENT_HELPERS

INSTEAD = ("build the path batch yourself and take its gradient with torch.autograd.grad(model(path)[:, target].sum(), "
           "path).")

_STEPS = 16
_TOLERANCE = 1e-3  # relative L2 difference: float round-off only, far below the gaps between the variants
_MIDPOINTS = "the exercise uses midpoints: alpha_k = (k + 0.5) / m, e.g. (torch.arange(steps) + 0.5) / steps"


def _path_gradients(model, image: torch.Tensor, target: int, baseline: torch.Tensor,
                    alphas: torch.Tensor) -> torch.Tensor:
    """(m, C, H, W) gradients of the target score at baseline + alpha (image - baseline), one per alpha."""
    path = (baseline + alphas.view(-1, 1, 1, 1) * (image - baseline)).requires_grad_(True)
    (gradients,) = torch.autograd.grad(model(path)[:, target].sum(), path)
    return gradients


def _midpoint(model, image, target, baseline, steps: int) -> torch.Tensor:
    """The reference answer, (C, H, W)."""
    alphas = (torch.arange(steps, dtype=image.dtype) + 0.5) / steps
    return (image - baseline) * _path_gradients(model, image, target, baseline, alphas).mean(0)


def _mistakes(model, image, target, baseline, steps: int) -> list[Mistake]:
    """The usual slips, each computed only when the answer is not the reference."""
    k = torch.arange(steps, dtype=image.dtype)
    diff = image - baseline

    def along(alphas: torch.Tensor) -> torch.Tensor:  # (image - baseline) × the mean gradient at these alphas
        return diff * _path_gradients(model, image, target, baseline, alphas).mean(0)

    def mid() -> torch.Tensor:
        return _path_gradients(model, image, target, baseline, (k + 0.5) / steps)

    return [
        Mistake(lambda: along(k / steps), "you used the left Riemann sum, alpha_k = k / m for k = 0, ..., m - 1.",
                _MIDPOINTS),
        Mistake(lambda: along((k + 1) / steps), "you used the right Riemann sum, alpha_k = k / m for k = 1, ..., m.",
                _MIDPOINTS),
        Mistake(lambda: along(torch.linspace(0, 1, steps)),
                "you used alpha = torch.linspace(0, 1, steps), which puts points on both ends of the path.",
                _MIDPOINTS),
        Mistake(lambda: mid().mean(0),
                "you returned the average gradient along the path, without multiplying by (image - baseline).",
                "IG_i = (x_i - x'_i) × (average gradient): multiply by (image - baseline) at the end"),
        Mistake(lambda: image * mid().mean(0),
                "you multiplied the average gradient by the image instead of by (image - baseline).",
                "with a non-black baseline the factor is (image - baseline), not image"),
        Mistake(lambda: diff * mid().sum(0),
                "you summed the gradients over the path but did not divide by the number of steps.",
                "the Riemann sum of the integral over alpha in [0, 1] is (1 / m) × sum over k: use .mean(0), "
                "or divide the sum by steps"),
        Mistake(lambda: along(torch.ones(1)),
                "you used the gradient at the image itself, (image - baseline) × dS/dx(x), "
                "instead of averaging gradients along the path.",
                "evaluate the gradient at every point baseline + alpha_k (image - baseline) and average them"),
        Mistake(lambda: _midpoint(model, image, target, torch.zeros_like(image), steps),
                "you used a black (all-zero) baseline instead of the `baseline` argument.",
                "build the path from `baseline`: baseline + alpha × (image - baseline)"),
    ]


def _relative_difference(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-12))


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return _relative_difference(a, b) < _TOLERANCE


def _cases() -> list[tuple]:
    """(model, image, target, baseline, steps, described): the check's own inputs.

    Two Toy Zoo images with the course's ZooNet (a black and a grey baseline), and a seeded small random CNN on a
    random image with a random baseline and another number of steps.
    """
    model = load_model("zoonet")
    with torch.random.fork_rng(devices=[]):  # seeded weights, without touching the learner's random state
        torch.manual_seed(0)
        small = ZooNet(num_classes=5, width=4).eval()
    for net in (model, small):
        net.requires_grad_(False)
    zoo = make_toy_zoo(2, seed=404)
    generator = torch.Generator().manual_seed(1)
    image, baseline = torch.rand(2, 3, 16, 16, generator=generator)
    return [(model, zoo.images[0], int(zoo.labels[0]), torch.zeros_like(zoo.images[0]), _STEPS, "a black baseline"),
            (model, zoo.images[1], int(zoo.labels[1]), torch.full_like(zoo.images[1], 0.5), _STEPS,
             "a grey baseline (0.5)"),
            (small, image, 3, baseline, 7, "a small random CNN, a random baseline")]


@check
def check_integrated_gradients(integrated_gradients: Callable) -> None:
    """Check ``integrated_gradients(model, image, target, baseline, steps)`` -> (C, H, W) attributions.

    It should return (image - baseline) × the mean of dS_target/dx at baseline + alpha_k (image - baseline),
    alpha_k = (k + 0.5) / steps, k = 0, ..., steps - 1 (the midpoint Riemann sum). Tried on the check's own inputs
    (``_cases``), with the course's gradient code and Captum switched off (``saliency.GRADIENT_HELPERS``).
    """
    expect(callable(integrated_gradients), "pass your function itself, e.g. check_integrated_gradients(my_integrated_gradients).")
    totals = []
    for model, image, target, baseline, steps, described in _cases():
        answer = call(integrated_gradients, model, image.clone(), target, baseline.clone(), steps,
                      unavailable=GRADIENT_HELPERS, instead=INSTEAD)
        answer = expect_tensor(answer, "the attributions", shape=tuple(image.shape))
        reference = _midpoint(model, image, target, baseline, steps)
        with torch.no_grad():
            gap = float(model(image[None])[0, target] - model(baseline[None])[0, target])
        expect_match(answer, reference, same=_same, mistakes=_mistakes(model, image, target, baseline, steps),
                     context=f"with {described}, it looks like ",
                     message=f"with {described} and steps={steps}, your attributions sum to "
                             f"{float(answer.sum()):.3g}, but Integrated Gradients should sum to about "
                             f"S(x) - S(baseline) = {gap:.3g} (completeness), and match the reference to within "
                             f"{_TOLERANCE:.0e} (relative difference: {_relative_difference(answer, reference):.2g}).",
                     hint="path = baseline + alpha (image - baseline) for alpha_k = (k + 0.5) / steps; one backward "
                          "pass over the whole path batch; average the gradients over the path; multiply by "
                          "(image - baseline)")
        totals.append((float(answer.sum()), gap))
    sums = ", ".join(f"{total:.2f} vs {gap:.2f}" for total, gap in totals[:2])
    passed(f"your Riemann sum matches the reference on two Toy Zoo images (black and grey baseline, {_STEPS} steps) "
           f"and on a small random CNN (random baseline, 7 steps); on the Toy Zoo images, attributions summed vs "
           f"S(x) - S(baseline): {sums}.")
