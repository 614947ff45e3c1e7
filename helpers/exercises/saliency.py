"""Checks for notebook 03 (saliency maps).

``my_saliency_map(model, images, target)`` -> (N, H, W): Simonyan et al.'s saliency, the
maximum over colour channels of |∂S_c/∂x|, with S_c the unnormalized score of class c.
"""
from __future__ import annotations

import torch

from ..attribution import input_gradient, saliency_map
from . import ExerciseError, expect, expect_tensor, passed


def _call(function, *args):
    """Run the learner's function; a left-in ``raise NotImplementedError`` becomes a friendly message."""
    try:
        return function(*args)
    except NotImplementedError:
        raise ExerciseError("your function still raises NotImplementedError. Replace that line with your code.") from None


def _close(got: torch.Tensor, expected: torch.Tensor) -> bool:
    scale = expected.abs().max().item() or 1.0
    return got.shape == expected.shape and bool(torch.allclose(got.double(), expected.double().cpu(),
                                                               rtol=1e-4, atol=1e-5 * scale))


def check_saliency_map(my_saliency_map, model, images, target) -> None:
    """``my_saliency_map(model, images, target)`` should equal ``helpers.saliency_map`` on these images."""
    n, c, h, w = images.shape
    expected = saliency_map(model, images, target).cpu()
    result = _call(my_saliency_map, model, images, target)
    if isinstance(result, torch.Tensor) and tuple(result.shape) == (n, c, h, w):
        expect(False, f"your map has shape {(n, c, h, w)}, one value per colour channel; a saliency map has "
                      f"one value per pixel, shape {(n, h, w)}.",
               "reduce over the channel dimension (dim=1) with the maximum of the absolute values")
    got = expect_tensor(result, "my_saliency_map(...)", shape=(n, h, w))
    if _close(got, expected):
        if not isinstance(target, int):
            _check_int_target(my_saliency_map, model, images, int(torch.as_tensor(target).flatten()[0]))
        share = (expected.flatten(1).amax(1) / expected.flatten(1).mean(1)).median().item()
        passed(f"your maps match helpers.saliency_map, with a tensor and with an int target; the most salient "
               f"pixel is {share:.0f}× the average saliency (median over the images).")
        return
    grad = input_gradient(model, images, target).cpu()
    diagnoses = [
        (grad.amax(1), "some of your values differ: it looks as if you forgot the absolute value.",
         "a large negative derivative matters as much as a large positive one: take .abs() before the max"),
        (grad.amax(1).abs(), "you took the absolute value after the maximum over channels.",
         "take .abs() of the gradient first, then the maximum over the channels"),
        (grad.abs().sum(1), "you summed over the colour channels.",
         "Simonyan et al. take the maximum over channels: .amax(dim=1)"),
        (grad.abs().mean(1), "you averaged over the colour channels.",
         "Simonyan et al. take the maximum over channels: .amax(dim=1)"),
        (grad.norm(dim=1), "you took the Euclidean norm over the colour channels.",
         "Simonyan et al. take the maximum of the absolute values over channels: .abs().amax(dim=1)"),
        (input_gradient(model, images, target, "softmax").cpu().abs().amax(1),
         "you differentiated the softmax probability, not the score.",
         "differentiate the unnormalized score model(images)[i, c], before any softmax"),
        (input_gradient(model, images, target, "log_softmax").cpu().abs().amax(1),
         "you differentiated the log-probability, not the score.",
         "differentiate the unnormalized score model(images)[i, c], before any log_softmax"),
    ]
    for wrong, message, hint in diagnoses:
        if _close(got, wrong):
            expect(False, message, hint)
    if got.min() < 0:
        expect(False, f"your map has negative values (down to {got.min():.3g}); a saliency map is an absolute value.",
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
    try:
        result = _call(my_saliency_map, model, images, target)
    except ExerciseError:
        raise
    except Exception as error:  # the learner's code failed on an int: say so instead of showing a traceback
        expect(False, f"your function works with a tensor of targets, but with the int target {target} it raised "
                      f"{type(error).__name__}: {error}", hint)
    got = expect_tensor(result, f"my_saliency_map(model, images, {target})", shape=(n, h, w))
    expect(_close(got, saliency_map(model, images, target).cpu()),
           f"your function works with a tensor of targets, but with the int target {target} (class {target} for "
           "every image) its maps differ from helpers.saliency_map.", hint)
