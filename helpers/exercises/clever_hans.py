"""Checks for notebook 05 (case study: catching a Clever-Hans model).

``delete_most_salient(images, saliency, k, fill=0.5)`` -> (N, C, H, W): a copy of the images in
which, in each image, the ``k`` pixels with the largest saliency are set to ``fill`` in every
colour channel (one step of a deletion curve).

``background_flips(model, images, masks, background, seed=0)`` -> (N,) bool: whether the model's
predicted class changes when everything outside the masks is repainted with ``background``
(``helpers.paint_background``).
"""
from __future__ import annotations

import torch

from ..toyzoo import ToyZoo, paint_background
from ..training import predict
from . import Mistake, call, diagnose, expect, expect_match, expect_tensor, passed


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


def check_background_flips(background_flips, model, zoo: ToyZoo) -> None:
    """Check ``background_flips(model, images, masks, background)`` against the reference on ``zoo``."""
    expect(isinstance(zoo, ToyZoo), "the check needs a ToyZoo (for example the notebook's `test`).")
    images, masks, labels = zoo.images, zoo.masks, zoo.labels
    before = predict(model, images).argmax(1)
    rates = {}
    for background in ("snow", "grass"):
        after = predict(model, paint_background(images, masks, background, seed=0)).argmax(1)
        result = call(background_flips, model, images.clone(), masks.clone(), background)
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
