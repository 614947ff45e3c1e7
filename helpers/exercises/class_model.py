"""Checks for notebook 06 (class model visualization)."""
from __future__ import annotations

import torch

from ..objectives import objective_value
from ..class_model import GREY
from ..models import LinearClassifier, ZooNet
from . import ExerciseError, expect, expect_tensor, passed


def _cases():
    """(model, image, target, lr, l2) cases: a linear model (known gradient) and a small CNN."""
    with torch.random.fork_rng(devices=[]):  # seeded weights, without touching the learner's random state
        torch.manual_seed(0)
        linear = LinearClassifier(num_classes=4, image_shape=(3, 8, 8)).eval()
        cnn = ZooNet(num_classes=5, width=4).eval()
    generator = torch.Generator().manual_seed(1)
    return [
        (linear, GREY + 0.2 * torch.randn(1, 3, 8, 8, generator=generator), 2, 0.3, 0.05),
        (cnn, torch.rand(1, 3, 16, 16, generator=generator), 4, 2.0, 0.1),
    ]


def _gradient(model, image, target, objective: str, l2: float, centre: float | None = GREY) -> torch.Tensor:
    x = image.detach().clone().requires_grad_(True)
    scores = model(x)
    gain = objective_value(scores, torch.full((len(x),), target), objective).sum()
    if centre is not None:
        gain = gain - l2 * (x - centre).square().sum()
    return torch.autograd.grad(gain, x)[0]


def _mistakes(model, image, target, lr, l2) -> list[tuple[torch.Tensor, str, str]]:
    """(what a typical mistake returns, what went wrong, a hint)."""
    g = _gradient(model, image, target, "score", l2)
    return [
        (image - lr * g, "the image moved *down* the objective: that is gradient descent.",
         "ascent adds the gradient: image + lr * grad (or minimize the negative objective)."),
        (image + lr * _gradient(model, image, target, "score", l2, centre=None),
         "the L2 penalty is missing.", "subtract l2 * ((image - 0.5) ** 2).sum() from the score before taking the gradient."),
        (image + lr * _gradient(model, image, target, "score", l2, centre=0.0),
         "the L2 penalty pulls towards 0 (black), not towards mid-grey 0.5.", "penalize (image - 0.5), not image."),
        (image + lr * _gradient(model, image, target, "score", -l2),
         "the L2 penalty has the wrong sign: it pushes the image away from grey.", "the objective is score MINUS l2 * ||image - 0.5||^2."),
        (image + lr * _gradient(model, image, target, "softmax", l2),
         "this is the step for the softmax probability, not for the raw score.",
         "use the unnormalized score model(image)[:, target], without softmax."),
        (image + lr * _gradient(model, image, target, "log_softmax", l2),
         "this is the step for the log-softmax, not for the raw score.",
         "use the unnormalized score model(image)[:, target], without log_softmax."),
        (image + _gradient(model, image, target, "score", l2), "the step is not scaled by lr.",
         "multiply the gradient by lr."),
    ]


def check_ascent_step(ascent_step) -> None:
    """Check ``ascent_step(model, image, target, lr, l2)``: one step of gradient ascent on
    S_target(image) - l2 * ||image - 0.5||^2, returning the new (detached) image."""
    for model, image, target, lr, l2 in _cases():
        for p in model.parameters():
            p.requires_grad_(True)
            p.grad = None
        given = image.clone()
        try:
            result = ascent_step(model, given, target, lr, l2)
        except NotImplementedError:
            raise ExerciseError("ascent_step still raises NotImplementedError: replace it with your code.") from None
        result = expect_tensor(result, "ascent_step(...)", shape=image.shape)
        expect(result.dtype == image.dtype, f"ascent_step returned a {result.dtype} tensor for a {image.dtype} image.",
               "keep the image's dtype: do not convert it (e.g. with .double() or torch.tensor(..., dtype=...)).")
        expect(torch.equal(given, image), "ascent_step changed the image it was given (in place).",
               "compute a new tensor, e.g. image.detach().clone().requires_grad_(True), and return image + lr * grad.")
        expect(all(p.grad is None for p in model.parameters()),
               "the model's parameters got gradients: you called .backward() on the model's output.",
               "use torch.autograd.grad(objective, image) to get the gradient for the image only.")
        expected = image + lr * _gradient(model, image, target, "score", l2)
        if torch.allclose(result, expected, atol=1e-5, rtol=1e-4):
            continue
        for wrong, what, hint in _mistakes(model, image, target, lr, l2):
            if torch.allclose(result, wrong, atol=1e-5, rtol=1e-4):
                raise ExerciseError(f"on a {type(model).__name__}: {what}\n  Hint: {hint}")
        change = (result - image).abs().max().item()
        expect(False, f"on a {type(model).__name__} the new image differs from image + lr * grad(S_target - l2 ||image - 0.5||^2) "
               f"by up to {(result - expected).abs().max().item():.3g} (your step changed pixels by up to {change:.3g}).",
               "take the gradient of the score minus the L2 penalty with respect to the image, then add lr times it.")
    passed("one step of gradient ascent on S_c(I) − λ‖I − ½‖², with the gradient taken for the image only.")
