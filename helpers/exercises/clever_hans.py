"""Checks for notebook 05 (case study: catching a Clever-Hans model).

``delete_most_salient(images, saliency, k, fill=0.5)`` -> (N, C, H, W): a copy of the images in
which, in each image, the ``k`` pixels with the largest saliency are set to ``fill`` in every
colour channel (one step of a deletion curve).

``background_flips(model, images, masks, background, seed=0)`` -> (N,) bool: whether the model's
predicted class changes when everything outside the masks is repainted with ``background``
(``helpers.paint_background``).

``fooling_image(model, image, target, step_size, max_steps)`` -> (1, C, H, W): the image after normalized gradient
steps on D = S_target - S_source (S_source: the score of the class the model predicts for ``image``), each of L2
length ``step_size`` and clamped to [0, 1], stopping at the first image the model classifies as ``target``.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..model_state import model_device, model_input
from ..models import LinearClassifier
from ..objectives import GREY
from ..toyzoo import ToyZoo, paint_background
from ..training import predict
from . import Mistake, call, check, diagnose, expect, expect_match, expect_tensor, passed
from .saliency import GRADIENT_HELPERS


# ---------------------------------------------------------------------------------------
# one step of a deletion curve


def _delete(images: torch.Tensor, saliency: torch.Tensor, k: int, fill: float, scope: str = "image",
            largest: bool = True) -> torch.Tensor:
    """Reference (and the typical mistakes): delete the top-k pixels per image, or over the whole batch."""
    n, _, h, w = images.shape
    if scope == "batch":
        top = saliency.flatten().topk(k, largest=largest).indices
        deleted = torch.zeros(n * h * w, dtype=torch.bool)
        deleted[top] = True
    else:
        top = saliency.flatten(1).topk(k, dim=1, largest=largest).indices
        deleted = torch.zeros(n, h * w, dtype=torch.bool).scatter_(1, top, True)
    return torch.where(deleted.view(n, 1, h, w), torch.full_like(images, fill), images)


@check
def check_delete_most_salient(delete_most_salient, images: torch.Tensor) -> None:
    """Check ``delete_most_salient(images, saliency, k, fill)`` on ``images`` with tie-free random maps."""
    images = images.detach().cpu()
    n, c, h, w = images.shape
    saliency = torch.rand(n, h, w, generator=torch.Generator().manual_seed(0))
    for k, fill in ((h * w // 10, 0.5), (1, 0.0), (0, 0.5), (h * w, 0.25)):
        original = images.clone()
        result = call(delete_most_salient, original, saliency.clone(), k, fill=fill)
        expect(torch.equal(original, images), "your function changed the caller's `images` in place.",
               "work on a copy: start from images.clone(), or build the result with torch.where")
        got = expect_tensor(result, f"delete_most_salient(images, saliency, k={k})", shape=(n, c, h, w))
        if torch.equal(got, _delete(images, saliency, k, fill)):
            continue
        what = f"with k={k} and fill={fill}"
        diagnose(got, [
            Mistake(lambda: _delete(images, saliency, k, fill, largest=False),
                    "you deleted the k *least* salient pixels.",
                    "the deletion curve removes the most salient pixels first: topk(k) picks the largest values"),
            Mistake(lambda: _delete(images, saliency, n * k, fill, scope="batch"),
                    "you picked the most salient pixels over the whole batch, not per image.",
                    "flatten each map on its own, saliency.flatten(1) of shape (N, H*W), and take topk along dim=1"),
        ] if k else [], same=torch.equal, context=f"{what} ")
        changed = (got != images).any(1)
        complete = (got == fill).all(1)
        expect(not (changed & ~complete).any(), f"{what} some changed pixels are not equal to `fill` in every colour "
                                                "channel.", "a deleted pixel gets the value `fill` in all C channels: "
                                                            "broadcast a (N, 1, H, W) mask over the channels")
        counts = (changed | ((got == fill).all(1) & (images == fill).all(1))).flatten(1).sum(1)
        if (counts != k).any():
            i = int((counts != k).nonzero()[0])
            expect(False, f"{what} image {i} has {int(counts[i])} deleted pixels; "
                          f"expected exactly k = {k} in each image.",
                   "choose k pixels per image: saliency.flatten(1).topk(k, dim=1).indices")
        expect(False, f"{what} your result deletes other pixels than the k most salient ones.",
               "rank the pixels of each image by saliency, largest first, and delete the first k")
    passed(f"you delete exactly the k most salient pixels of each image, in all {c} channels, without touching the "
           "input. A deletion curve repeats this for a growing k, from none of the pixels to all of them.")


# ---------------------------------------------------------------------------------------
# an intervention on the background


@check
def check_background_flips(background_flips, model, zoo: ToyZoo) -> None:
    """Check ``background_flips(model, images, masks, background)`` against the reference on ``zoo``."""
    expect(isinstance(zoo, ToyZoo), "the check needs a ToyZoo (for example the notebook's `test`).")
    images, masks, labels = zoo.images, zoo.masks, zoo.labels
    rates = {}
    for background in ("snow", "grass"):
        result = call(background_flips, model, images.clone(), masks.clone(), background)
        before = predict(model, images).argmax(1)  # the predictions, made after the learner's function ran
        after = predict(model, paint_background(images, masks, background, seed=0)).argmax(1)
        if isinstance(result, torch.Tensor) and result.ndim == 0:
            expect(False, "your function returns a single number; it should return one True/False per image, shape "
                          f"({len(images)},).", "return the comparison itself, before taking any mean")
        got = expect_tensor(result, f"background_flips(model, images, masks, {background!r})", shape=(len(images),))
        expect(got.dtype == torch.bool, f"your result has dtype {got.dtype}; expected a bool tensor (True = flipped).",
               "compare the two predicted classes with != (that gives a bool tensor)")
        expected = before != after
        expect_match(got, expected, same=torch.equal, mistakes=[
            Mistake(lambda: ~expected, "your answer is exactly inverted: True where the prediction stays the same.",
                    "a flip is a change: prediction before != prediction after"),
            Mistake(lambda: labels != after, "you compared the new prediction with the true labels; a flip is a change "
                                             "of the model's own prediction.",
                    "compare with the prediction on the original images, predict(model, images).argmax(1)"),
        ], message=f"with background {background!r}, {int((got != expected).sum())} of {len(images)} images differ "
                   "from the expected answer.",
            hint="predict on the original images, predict again on paint_background(images, masks, background, "
                 "seed=seed), and compare the two argmax classes")
        rates[background] = expected.float().mean().item()
    passed(f"painting snow behind these {len(images)} animals changes {rates['snow']:.0%} of this model's "
           f"predictions, painting grass {rates['grass']:.0%}.")


# ---------------------------------------------------------------------------------------
# the smallest change that fools the model

INSTEAD = ("write the loop yourself: x.requires_grad_(True), scores = model(x), torch.autograd.grad(scores[0, target] "
           "- scores[0, source], x), then a step of L2 length step_size and .clamp(0, 1).")
_TOO_LARGE = 1.5  # how much larger than the reference's change an answer may be
_SAME = 1e-2  # relative difference of two changes that counts as the same answer (float round-off over many steps)


def _normalized(gradient: torch.Tensor) -> torch.Tensor:
    return gradient / gradient.norm().clamp_min(1e-12)


def _fooled(model: nn.Module, image: torch.Tensor, target: int, step_size: float, max_steps: int, *,
            step: Callable[[torch.Tensor], torch.Tensor] = _normalized, stop: bool = True) -> torch.Tensor:
    """The reference (with another ``step`` or ``stop=False``, a typical mistake): the (1, C, H, W) image, on the CPU.

    Each step: x <- clamp(x + step_size * step(dD/dx), 0, 1) with D = S_target - S_source, S_source the score of the
    class predicted for ``image``; stops before a step once the model predicts ``target``.
    """
    x = model_input(model, image).clone()
    with torch.no_grad():
        source = int(model(x).argmax(1))
    with torch.enable_grad():
        for _ in range(max_steps):
            x.requires_grad_(True)
            scores = model(x)
            if stop and int(scores.argmax(1)) == target:
                break
            (gradient,) = torch.autograd.grad(scores[0, target] - scores[0, source], x)
            x = (x.detach() + step_size * step(gradient)).clamp(0, 1)
    return x.detach().cpu()


def _cases() -> list[tuple]:
    """(model, image, target, step_size, max_steps, where) made by the check: a linear model, where the smallest
    change that flips the class is known exactly, and a small seeded CNN on a random image (both two classes)."""
    with torch.random.fork_rng(devices=[]):  # seeded weights, without touching the learner's random state
        torch.manual_seed(0)
        linear = LinearClassifier(num_classes=2, image_shape=(3, 8, 8)).eval()
        torch.manual_seed(1)
        cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                            nn.Flatten(), nn.Linear(8 * 8 * 8, 2)).eval()
    generator = torch.Generator().manual_seed(1)
    linear_image = GREY + 0.1 * torch.randn(1, 3, 8, 8, generator=generator)
    cnn_image = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    return [(linear, linear_image, 0, 0.05, 60, "on the check's linear model"),
            (cnn, cnn_image, 1, 0.02, 60, "on the check's small random CNN")]


def _run(fooling_image, model, image, target, step_size, max_steps) -> torch.Tensor:
    """The learner's image, their code run with the gradient helpers off; a lost gradient gets its own hint."""
    return call(fooling_image, model, image, target, step_size, max_steps, unavailable=GRADIENT_HELPERS,
                instead=INSTEAD, hints={"require grad": _REQUIRE_GRAD})


_REQUIRE_GRAD = ("every step needs a new forward pass on an image that requires a gradient: after a step taken "
                 "under torch.no_grad() (or with .detach()), call x.requires_grad_(True) again before model(x).")


def _margin(model, image: torch.Tensor, target: int, source: int) -> float:
    scores = predict(model, image)[0]
    return float(scores[target] - scores[source])


def _mistakes(model, image, target, step_size, max_steps, *which: str) -> list[Mistake]:
    """The typical wrong loops named in ``which``, each run only when needed."""
    def run(**variant) -> Callable[[], torch.Tensor]:
        return lambda: _fooled(model, image, target, step_size, max_steps, **variant)

    mistakes = {
        "no stop": Mistake(run(stop=False), "you kept stepping after the model already predicted the target.",
                           "check the prediction before every step and stop at the first image classified as the "
                           "target"),
        "sign": Mistake(run(step=torch.sign), "you stepped along the sign of the gradient: each such step changes "
                        "every value by step_size, an L2 length of step_size × sqrt(number of values).",
                        "normalize by the L2 norm instead: step_size * grad / grad.norm()"),
        "not normalized": Mistake(run(step=lambda g: g), "your steps are not of L2 length step_size: you did not "
                                  "divide the gradient by its norm.", "step = step_size * grad / grad.norm()"),
    }
    return [mistakes[name] for name in which]


def _check_fooling_case(fooling_image, model, image, target, step_size, max_steps, where) -> tuple[float, float, float]:
    """One case; returns the L2 norm of the learner's change, the reference's, and P(target) of the learner's image."""
    image = image.detach().cpu()
    source = int(predict(model, image).argmax(1))
    expect(source != target, f"{where}, the model already predicts class {target}: the check needs an image it "
                             "classifies as another class.")
    params = list(model.parameters())
    clean = all(p.grad is None for p in params)
    given = image.clone().to(model_device(model))
    result = _run(fooling_image, model, given, target, step_size, max_steps)
    reference = _fooled(model, image, target, step_size, max_steps)  # made after the learner's function ran
    expect(int(predict(model, reference).argmax(1)) == target,
           f"{where}, {max_steps} steps of length {step_size} do not reach class {target}: give the check a larger "
           "max_steps or step_size.")
    got = expect_tensor(result, f"fooling_image(...) {where}", shape=tuple(image.shape), dtype=image.dtype)
    expect(torch.equal(given.cpu(), image), f"{where}, your function changed the image it was given (in place).",
           "work on a copy: x = image.detach().clone(), and make each step x = x + ..., not x += ...")
    if clean and any(p.grad is not None for p in params):
        for p in params:
            p.grad = None
        expect(False, f"{where}, the model's parameters got gradients: you called .backward() (the check has removed "
                      "them again).", "use torch.autograd.grad(margin, x): it gives the gradient for the image only")
    expect(got.min() >= 0 and got.max() <= 1,
           f"{where}, your image has values from {got.min():.3g} to {got.max():.3g}, outside [0, 1].",
           "an image's values lie in [0, 1]: clamp after every step, x = (x + step).clamp(0, 1)")
    change, needed = float((got - image).norm()), float((reference - image).norm())
    same = lambda a, b: float((a - b).norm()) <= _SAME * float((b - image).norm())  # noqa: E731
    probabilities = predict(model, got).softmax(1)[0]
    predicted = int(probabilities.argmax())
    if predicted != target:
        expect(_margin(model, got, target, source) >= _margin(model, image, target, source),
               f"{where}, the model still predicts class {predicted}, and S_target - S_source went down: you moved "
               "the image the wrong way (gradient descent).",
               "to raise D = S_target - S_source, add the gradient: x + step_size * grad / grad.norm()")
        expect(change > 0, f"{where}, your image is the one you were given: it was never changed.",
               "take steps until the model predicts the target (or max_steps are done), and return the last image")
        diagnose(got, _mistakes(model, image, target, step_size, max_steps, "not normalized"), same,
                 f"{where}, the model still predicts class {predicted}: ")
        expect(False, f"{where}, after your steps the model still predicts class {predicted} (P(target) = "
                      f"{probabilities[target]:.2f}); the reference reaches class {target} with a change of L2 norm "
                      f"{needed:.3g}.",
               "repeat: gradient of S_target - S_source, a step of length step_size along it, clamp; stop as soon "
               "as model(x).argmax(1) == target, after at most max_steps steps")
    if change > _TOO_LARGE * needed:
        diagnose(got, _mistakes(model, image, target, step_size, max_steps, "no stop", "sign", "not normalized"),
                 same, f"{where}, the new image fools the model, but ")
        expect(False, f"{where}, the new image fools the model, but its change has L2 norm {change:.3g}, "
                      f"{change / needed:.1f}× the {needed:.3g} that small gradient steps need.",
               "steps of L2 length step_size along grad / grad.norm(), and stop at the first image the model "
               "classifies as the target")
    return change, needed, float(probabilities[target])


def _smallest_linear_change(linear: LinearClassifier, image: torch.Tensor, target: int) -> float:
    """The L2 distance from ``image`` to a two-class linear model's decision boundary: |D| / ||w_target - w_other||."""
    with torch.no_grad():
        scores = linear(image)[0]
    weights = linear.linear.weight.detach()
    return float((scores[1 - target] - scores[target]).abs() / (weights[target] - weights[1 - target]).norm())


@check
def check_fooling_image(fooling_image, model, image: torch.Tensor, target: int, step_size: float,
                        max_steps: int) -> None:
    """Check ``fooling_image(model, image, target, step_size, max_steps)`` -> (1, C, H, W).

    On ``image`` (1, C, H, W) with ``model``, and on the check's own two-class models (``_cases``), with the course's
    gradient code and Captum switched off (``saliency.GRADIENT_HELPERS``): the answer must be a new image in [0, 1]
    (the input untouched, no parameter gradients) that the model classifies as ``target``, changed by at most 1.5×
    the L2 norm of the reference's change (normalized gradient steps on S_target - S_source, stopped at the first
    flip).
    """
    expect(callable(fooling_image), "pass your function itself, e.g. check_fooling_image(fooling_image, model, ...).")
    cases = [(model, image, target, step_size, max_steps, "on your image"), *_cases()]
    (change, needed, p_target), (linear_change, *_), _ = [_check_fooling_case(fooling_image, *case) for case in cases]
    linear, linear_image, linear_target = cases[1][:3]
    passed(f"on your image the model now predicts class {target} (P = {p_target:.2f}) after a change of L2 norm "
           f"{change:.3g}, {change / float(image.norm()):.1%} of the image's (the reference's: {needed:.3g}). On the "
           f"check's linear model, where the smallest change that flips the class is exactly "
           f"{_smallest_linear_change(linear, linear_image, linear_target):.3g}, yours is {linear_change:.3g}.")
