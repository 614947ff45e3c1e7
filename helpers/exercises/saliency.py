"""Checks for notebook 03 (saliency maps).

``my_saliency_map(model, images, target)`` -> (N, H, W): Simonyan et al.'s saliency, the
maximum over colour channels of |∂S_c/∂x|, with S_c the unnormalized score of class c.
"""
from __future__ import annotations

import torch

from ..attribution import input_gradient, saliency_map
from . import Mistake, call, close, diagnose, expect, expect_tensor, learner_code, passed

_TOLERANCE = dict(rtol=1e-4, atol=1e-5, scale=True)
_CHANNEL_MAX = "Simonyan et al. take the maximum over channels: .amax(dim=1)"


def check_saliency_map(my_saliency_map, model, images, target) -> None:
    """``my_saliency_map(model, images, target)`` should equal ``helpers.saliency_map`` on these images."""
    n, c, h, w = images.shape
    expected = saliency_map(model, images, target).cpu()
    result = call(my_saliency_map, model, images, target)
    if isinstance(result, torch.Tensor) and tuple(result.shape) == (n, c, h, w):
        expect(False, f"your map has shape {(n, c, h, w)}, one value per colour channel; a saliency map has "
                      f"one value per pixel, shape {(n, h, w)}.",
               "reduce over the channel dimension (dim=1) with the maximum of the absolute values")
    got = expect_tensor(result, "my_saliency_map(...)", shape=(n, h, w))
    if close(got, expected, **_TOLERANCE):
        if not isinstance(target, int):
            _check_int_target(my_saliency_map, model, images, int(torch.as_tensor(target).flatten()[0]))
        share = (expected.flatten(1).amax(1) / expected.flatten(1).mean(1)).median().item()
        passed(f"your maps match helpers.saliency_map, with a tensor and with an int target; the most salient "
               f"pixel is {share:.0f}× the average saliency (median over the images).")
        return
    grad = input_gradient(model, images, target).cpu()
    diagnose(got, [
        Mistake(lambda: grad.amax(1), "some of your values differ: it looks as if you forgot the absolute value.",
                "a large negative derivative matters as much as a large positive one: take .abs() before the max"),
        Mistake(lambda: grad.amax(1).abs(), "you took the absolute value after the maximum over channels.",
                "take .abs() of the gradient first, then the maximum over the channels"),
        Mistake(lambda: grad.abs().sum(1), "you summed over the colour channels.", _CHANNEL_MAX),
        Mistake(lambda: grad.abs().mean(1), "you averaged over the colour channels.", _CHANNEL_MAX),
        Mistake(lambda: grad.norm(dim=1), "you took the Euclidean norm over the colour channels.",
                "Simonyan et al. take the maximum of the absolute values over channels: .abs().amax(dim=1)"),
        Mistake(lambda: input_gradient(model, images, target, "softmax").cpu().abs().amax(1),
                "you differentiated the softmax probability, not the score.",
                "differentiate the unnormalized score model(images)[i, c], before any softmax"),
        Mistake(lambda: input_gradient(model, images, target, "log_softmax").cpu().abs().amax(1),
                "you differentiated the log-probability, not the score.",
                "differentiate the unnormalized score model(images)[i, c], before any log_softmax"),
    ], same=lambda a, b: close(a, b, **_TOLERANCE))
    expect(got.min() >= 0,
           f"your map has negative values (down to {got.min():.3g}); a saliency map is an absolute value.",
           "take .abs() of the gradient before the maximum over channels")
    i = int((got - expected).abs().flatten(1).amax(1).argmax())
    expect(False, f"for image {i} the largest saliency should be {expected[i].max():.4f}, yours is {got[i].max():.4f}.",
           "make the images require a gradient, sum the scores of each image's target class over the batch, "
           "call torch.autograd.grad, then take .abs().amax(dim=1)")


def _check_int_target(my_saliency_map, model, images, target: int) -> None:
    """The exercise promises that ``target`` may also be one int, the same class for every image."""
    n, _, h, w = images.shape
    hint = ("turn the target into one index per image first, e.g. "
            "torch.as_tensor(target).reshape(-1, 1).expand(len(images), 1), then use .gather(1, ...)")
    with learner_code(my_saliency_map, hint=hint, raised=f"your function works with a tensor of targets, but "
                                                              f"with the int target {target} it raised"):
        result = my_saliency_map(model, images, target)
    got = expect_tensor(result, f"my_saliency_map(model, images, {target})", shape=(n, h, w))
    expect(close(got, saliency_map(model, images, target).cpu(), **_TOLERANCE),
           f"your function works with a tensor of targets, but with the int target {target} (class {target} for "
           "every image) its maps differ from helpers.saliency_map.", hint)
