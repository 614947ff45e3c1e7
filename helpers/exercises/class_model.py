"""Checks for notebook 06 (class model visualization)."""
from __future__ import annotations

import torch

from ..models import LinearClassifier, ZooNet
from ..objectives import GREY, objective_value
from . import Mistake, call, expect, expect_match, expect_tensor, passed


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


def _mistakes(model, image, target, lr, l2) -> list[Mistake]:
    """The typical wrong steps, each computed only when the answer is not the right one."""
    def step(objective="score", l2=l2, centre=GREY, lr=lr):
        return image + lr * _gradient(model, image, target, objective, l2, centre)

    return [
        Mistake(lambda: step(lr=-lr), "the image moved *down* the objective: that is gradient descent.",
                "ascent adds the gradient: image + lr * grad (or minimize the negative objective)."),
        Mistake(lambda: step(centre=None), "the L2 penalty is missing.",
                "subtract l2 * ((image - 0.5) ** 2).sum() from the score before taking the gradient."),
        Mistake(lambda: step(centre=0.0), "the L2 penalty pulls towards 0 (black), not towards mid-grey 0.5.",
                "penalize (image - 0.5), not image."),
        Mistake(lambda: step(l2=-l2), "the L2 penalty has the wrong sign: it pushes the image away from grey.",
                "the objective is score MINUS l2 * ||image - 0.5||^2."),
        Mistake(lambda: step("softmax"), "this is the step for the softmax probability, not for the raw score.",
                "use the unnormalized score model(image)[:, target], without softmax."),
        Mistake(lambda: step("log_softmax"), "this is the step for the log-softmax, not for the raw score.",
                "use the unnormalized score model(image)[:, target], without log_softmax."),
        Mistake(lambda: step(lr=1.0), "the step is not scaled by lr.", "multiply the gradient by lr."),
    ]


def check_ascent_step(ascent_step) -> None:
    """Check ``ascent_step(model, image, target, lr, l2)``: one step of gradient ascent on
    S_target(image) - l2 * ||image - 0.5||^2, returning the new (detached) image."""
    for model, image, target, lr, l2 in _cases():
        for p in model.parameters():
            p.requires_grad_(True)
            p.grad = None
        given = image.clone()
        result = expect_tensor(call(ascent_step, model, given, target, lr, l2), "ascent_step(...)", shape=image.shape,
                               dtype=image.dtype)
        expect(torch.equal(given, image), "ascent_step changed the image it was given (in place).",
               "compute a new tensor, e.g. image.detach().clone().requires_grad_(True), and return image + lr * grad.")
        expect(all(p.grad is None for p in model.parameters()),
               "the model's parameters got gradients: you called .backward() on the model's output.",
               "use torch.autograd.grad(objective, image) to get the gradient for the image only.")
        expect_match(result, image + lr * _gradient(model, image, target, "score", l2), atol=1e-5, rtol=1e-4,
                     name=f"on a {type(model).__name__} the new image",
                     reference="image + lr * grad(S_target - l2 ||image - 0.5||^2)",
                     mistakes=_mistakes(model, image, target, lr, l2), context=f"on a {type(model).__name__}: ",
                     hint=f"your step changed pixels by up to {(result - image).abs().max().item():.3g}; take the "
                          "gradient of the score minus the L2 penalty with respect to the image, then add lr times it.")
    passed("one step of gradient ascent on S_c(I) − λ‖I − ½‖², with the gradient taken for the image only.")
