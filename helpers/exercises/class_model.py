"""Checks for notebook 06 (class model visualization): the learner writes the whole class-model loop."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..filters import gaussian_blur
from ..models import LinearClassifier, ZooNet
from ..objectives import GREY, objective_value
from ..toyzoo import CLASSES
from . import Mistake, call, check, expect, expect_match, expect_tensor, passed
from .saliency import GRADIENT_HELPERS  # switched off while the learner's loop runs: the ascent engine among them

INSTEAD = ("write the loop yourself with torch.roll, torch.autograd.grad and clamp; for the blur, "
           "`gaussian_blur` from helpers.filters is allowed.")

#: the full configuration run on the course's trained ZooNet (plain gradient ascent, as notebook 06's section 1)
FULL = dict(steps=40, lr=3.0, l2=1e-3, jitter=2, blur_every=4, blur_sigma=0.5)
#: the learner's target score on the trained model must reach this share of the reference loop's
#: (measured: over 20 jitter seeds the lowest goose score was 0.86 of the highest)
SCORE_SHARE = 0.5


@dataclass(frozen=True)
class Loop:
    """How a class-model loop runs; the defaults are the right loop, the other values typical mistakes.

    objective: what is climbed ("score", "softmax", "log_softmax"); sign: +1 ascent, -1 descent;
    centre, l2_sign: the L2 penalty is l2_sign * l2 * ||x - centre||^2 (centre None: no penalty);
    scale_lr: multiply the gradient by lr; start: the grey level the image starts from;
    clamp: clip to [0, 1] after every step; roll_back: after the step roll by -roll_back * shift
    (1: back, 0: not at all, -1: further the same way); blur: "after" (after steps blur_every,
    2 blur_every, ...), "never", "every" (every step) or "early" (steps 0, blur_every, ...).
    """

    objective: str = "score"
    sign: float = 1.0
    centre: float | None = GREY
    l2_sign: float = 1.0
    scale_lr: bool = True
    start: float = GREY
    clamp: bool = True
    roll_back: int = 1
    blur: str = "after"

    def run(self, model, target: int, shape, steps: int, lr: float, l2: float, jitter: int, blur_every: int,
            blur_sigma: float, generator: torch.Generator) -> torch.Tensor:
        """The (1, C, H, W) image after ``steps`` steps, on the CPU; each step's shift is
        ``torch.randint(-jitter, jitter + 1, (2,), generator=generator)``."""
        device = next(model.parameters()).device
        image = torch.full((1, *shape), self.start, device=device)
        for step in range(steps):
            dy, dx = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
            seen = torch.roll(image, (dy, dx), dims=(2, 3)).requires_grad_(True)
            gain = objective_value(model(seen), torch.tensor([target]), self.objective).sum()
            if self.centre is not None:
                gain = gain - self.l2_sign * l2 * (seen - self.centre).square().sum()
            (grad,) = torch.autograd.grad(gain, seen)
            seen = seen.detach() + self.sign * (lr if self.scale_lr else 1.0) * grad
            image = torch.roll(seen, (-self.roll_back * dy, -self.roll_back * dx), dims=(2, 3))
            if self.clamp:
                image = image.clamp(0.0, 1.0)
            if blur_every and self._blurs(step, blur_every):
                image = gaussian_blur(image, blur_sigma)
        return image.cpu()

    def _blurs(self, step: int, every: int) -> bool:
        return {"after": (step + 1) % every == 0, "never": False, "every": True, "early": step % every == 0}[self.blur]


MISTAKES = [
    (Loop(sign=-1.0), "the image moved *down* the objective: that is gradient descent.",
     "ascent adds the gradient: image + lr * grad."),
    (Loop(centre=None), "the L2 penalty is missing.",
     "subtract l2 * ((x - 0.5) ** 2).sum() from the score before taking the gradient."),
    (Loop(centre=0.0), "the L2 penalty pulls towards 0 (black), not towards mid-grey 0.5.",
     "penalize (x - 0.5), not x."),
    (Loop(l2_sign=-1.0), "the L2 penalty has the wrong sign: it pushes the image away from grey.",
     "the objective is score MINUS l2 * ||x - 0.5||^2."),
    (Loop(objective="softmax"), "this climbs the softmax probability, not the raw score.",
     "use the unnormalized score model(x)[0, target], without softmax."),
    (Loop(objective="log_softmax"), "this climbs the log-softmax, not the raw score.",
     "use the unnormalized score model(x)[0, target], without log_softmax."),
    (Loop(scale_lr=False), "the step is not scaled by lr.", "add lr * grad, not grad."),
    (Loop(start=0.0), "the image started from black (0), not from mid-grey (0.5).",
     "start from torch.full((1, *shape), 0.5)."),
    (Loop(roll_back=0), "the jitter is never rolled back: the image drifts by every step's shift.",
     "after the step, roll the image back: torch.roll(x, (-dy, -dx), dims=(2, 3))."),
    (Loop(roll_back=-1), "the jitter is rolled further instead of back: roll back by (-dy, -dx).",
     "torch.roll(x, (-dy, -dx), dims=(2, 3)) undoes torch.roll(image, (dy, dx), dims=(2, 3))."),
    (Loop(blur="never"), "the image is never blurred.",
     "after steps blur_every, 2 * blur_every, ...: image = gaussian_blur(image, blur_sigma)."),
    (Loop(blur="every"), "the image is blurred after every step, not every blur_every steps.",
     "blur when (step + 1) % blur_every == 0."),
    (Loop(blur="early"), "the blur comes one step early (after steps 0, blur_every, ...).",
     "blur when (step + 1) % blur_every == 0, i.e. after steps blur_every, 2 * blur_every, ..."),
]


def _cases():
    """(what, model, target, shape, settings): small seeded models (a linear one, whose gradient is its
    weights, and a small CNN) in the deterministic configuration, then with blur, then with jitter."""
    with torch.random.fork_rng(devices=[]):  # seeded weights, without touching the learner's random state
        torch.manual_seed(0)
        linear = LinearClassifier(num_classes=4, image_shape=(3, 8, 8)).eval()
        cnn = ZooNet(num_classes=5, width=4).eval()
    still = dict(jitter=0, blur_every=0, blur_sigma=0.5)
    return [
        ("a LinearClassifier, no jitter or blur", linear, 2, (3, 8, 8), dict(steps=6, lr=2.0, l2=0.05, **still)),
        ("a small ZooNet, no jitter or blur", cnn, 4, (3, 16, 16), dict(steps=6, lr=4.0, l2=0.1, **still)),
        ("a small ZooNet with blur every 2 steps", cnn, 1, (3, 16, 16),
         dict(steps=5, lr=4.0, l2=0.1, jitter=0, blur_every=2, blur_sigma=0.7)),
        ("a LinearClassifier with jitter 2 and blur every 3 steps", linear, 1, (3, 8, 8),
         dict(steps=7, lr=2.0, l2=0.05, jitter=2, blur_every=3, blur_sigma=0.5)),
    ]


_FRESH_LEAF = ("take each step on a fresh leaf, x = torch.roll(image, ...).requires_grad_(True) with image detached, "
               "and detach the new image (x.detach() + lr * grad).")


def _run(my_class_model, model, target: int, shape, settings: dict, seed: int, what: str) -> torch.Tensor:
    """The learner's image (1, C, H, W), on the CPU, after checking the model was left alone and the result's type."""
    training = [m.training for m in model.modules()]
    grads = [p.grad for p in model.parameters()]
    try:
        result = call(my_class_model, model, target, shape, generator=torch.Generator().manual_seed(seed),
                      unavailable=GRADIENT_HELPERS, instead=INSTEAD, hints={"grad": _FRESH_LEAF}, **settings)
    finally:
        changed_grads = any(p.grad is not g for p, g in zip(model.parameters(), grads))
        changed_mode = [m.training for m in model.modules()] != training
        for p, g in zip(model.parameters(), grads):  # leave the caller's model as it was
            p.grad = g
        for m, flag in zip(model.modules(), training):
            m.training = flag
    expect(not changed_grads, f"on {what}: the model's parameters got gradients: you called .backward() on its output.",
           "use torch.autograd.grad(objective, x) to get the gradient for the image only.")
    expect(not changed_mode, f"on {what}: your function changed the model's train/eval mode.",
           "leave the model as it is given (in eval mode): no model.train() or model.eval().")
    expect(not (isinstance(result, torch.Tensor) and result.requires_grad),
           f"on {what}: the returned image is still attached to the autograd graph (requires_grad=True), "
           "so the graph grows with every step.",
           "detach the image after each step: x.detach() + lr * grad.")
    result = expect_tensor(result, "my_class_model(...)", shape=(1, *shape), dtype=torch.float32)
    expect(result.min() >= 0 and result.max() <= 1,
           f"on {what}: the image's values run from {result.min():.3g} to {result.max():.3g}, outside [0, 1].",
           "clamp the image to [0, 1] after every step: image.clamp(0, 1).")
    return result


@check
def check_class_model_loop(my_class_model, model) -> None:
    """Check ``my_class_model(model, target, shape, steps, lr, l2, jitter, blur_every, blur_sigma, generator)``:
    plain gradient ascent on S_target(x) − l2 ‖x − 0.5‖² from mid-grey, with jitter (rolled back), clamping
    to [0, 1] and a blur every ``blur_every`` steps, returning the (1, C, H, W) image.

    model: the course's trained ZooNet (``load_model("zoonet")``); on it the learner's loop must
    reach about the reference's score for the goose, as the top-1 class.
    """
    for seed, (what, small, target, shape, settings) in enumerate(_cases()):
        result = _run(my_class_model, small, target, shape, settings, seed, what)

        def run(loop=Loop()):
            return loop.run(small, target, shape, generator=torch.Generator().manual_seed(seed), **settings)

        expect_match(result, run(), atol=1e-4, rtol=1e-4, name=f"on {what} your image",
                     reference="the reference loop's", context=f"on {what}: ",
                     mistakes=[Mistake(lambda loop=loop: run(loop), message, hint) for loop, message, hint in MISTAKES],
                     hint="start from 0.5; at each step draw (dy, dx) = torch.randint(-jitter, jitter + 1, (2,), "
                          "generator=generator), roll, add lr * the gradient of score − L2, roll back, clamp, "
                          "and blur after every blur_every-th step.")

    goose, shape = CLASSES.index("goose"), (3, 64, 64)
    result = _run(my_class_model, model, goose, shape, FULL, 0, "the trained ZooNet")
    reference = Loop().run(model, goose, shape, generator=torch.Generator().manual_seed(0), **FULL)
    device = next(model.parameters()).device
    with torch.no_grad():
        scores, expected = model(result.to(device))[0].cpu(), model(reference.to(device))[0, goose].item()
    expect(int(scores.argmax()) == goose and scores[goose] >= SCORE_SHARE * expected,
           f"on the trained ZooNet (goose, {FULL}) your class model scores the goose {scores[goose]:.3g} "
           f"(top-1: {CLASSES[int(scores.argmax())]}); the reference loop reaches {expected:.3g}.",
           "the goose should be the top-1 class with a score of at least half the reference's.")
    passed(f"your loop draws a goose that ZooNet scores {scores[goose]:.0f} (top-1; the reference: {expected:.0f}), "
           "with jitter, L2, clamping and blur, and gradients for the image only.")
