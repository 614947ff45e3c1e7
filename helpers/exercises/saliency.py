"""Checks for notebook 03 (saliency maps).

``my_saliency_map(model, images, target)`` -> (N, H, W): Simonyan et al.'s saliency, the
maximum over colour channels of |∂S_c/∂x|, with S_c the unnormalized score of class c.

The learner's function runs with the course's gradient code and Captum switched off (``GRADIENT_HELPERS``),
on the notebook's images and on a small seeded CNN and random images that the check makes itself.
"""
from __future__ import annotations

import torch

from .. import feature_visualization  # by the package's name: importing the module would shadow it there
from ..ascent import ascend
from ..attribution import (attribute, contrastive_saliency, grad_cam, gradient_x_input, guided_backprop,
                           input_gradient, integrated_gradients, saliency_map, smoothgrad)
from ..attribution._core import _input_grad
from ..class_model import class_model_visualization
from ..dissection import top_activating
from ..models import ZooNet
from ..render import visualize
from ..training import l2_pgd
from . import Mistake, call, check, close, diagnose, expect, expect_tensor, passed

#: every helper that takes an input gradient, the cores they share (``_input_grad``, the ascent engine ``ascend``:
#: a copy of a helper still calls them), and Captum: switched off while the learner takes a gradient themselves
GRADIENT_HELPERS = (input_gradient, saliency_map, gradient_x_input, contrastive_saliency, smoothgrad,
                    integrated_gradients, guided_backprop, grad_cam, attribute, _input_grad, class_model_visualization,
                    feature_visualization, visualize, ascend, top_activating, l2_pgd, "captum")
INSTEAD = ("take the gradient yourself: x = images.detach().clone().requires_grad_(True), select each image's "
           "target score from model(x), and call torch.autograd.grad(selected.sum(), x).")

_TOLERANCE = dict(rtol=1e-4, atol=1e-5, scale=True)
_CHANNEL_MAX = "Simonyan et al. take the maximum over channels: .amax(dim=1)"


def _cases():
    """(model, images, target, where) made by the check: a seeded small CNN on random images, with a tensor and with
    an int target."""
    with torch.random.fork_rng(devices=[]):  # seeded weights, without touching the learner's random state
        torch.manual_seed(0)
        cnn = ZooNet(num_classes=5, width=4).eval()
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(3, 3, 16, 16, generator=generator)
    return [(cnn, images, torch.tensor([4, 0, 2]), "on a small random CNN (the check's own test)"),
            (cnn, images, 3, "on a small random CNN with the int target 3 (class 3 for every image)")]


@check
def check_saliency_map(my_saliency_map, model, images, target) -> None:
    """``my_saliency_map(model, images, target)`` should equal the reference saliency on these images, on a small
    random CNN of the check's own, and with an int target; the course's gradient helpers are switched off."""
    cases = [(model, images, target, "")] + _cases()
    if not isinstance(target, int):
        cases.append((model, images, int(torch.as_tensor(target).flatten()[0]), "on your images with an int target"))
    for i, (model_, images_, target_, where) in enumerate(cases):
        int_after_tensor = isinstance(target_, int) and any(not isinstance(t, int) for _, _, t, _ in cases[:i])
        _check_case(my_saliency_map, model_, images_, target_, where, int_after_tensor)
    expected = saliency_map(model, images, target).cpu()
    share = (expected.flatten(1).amax(1) / expected.flatten(1).mean(1)).median().item()
    passed(f"your maps match the reference, on your images, with a tensor and with an int target, and on a small "
           f"random CNN; the most salient pixel is {share:.0f}× the average saliency (median over your images).")


_INT_HINT = ("turn the target into one index per image first, e.g. torch.as_tensor(target).reshape(-1, 1)"
             ".expand(len(images), 1), then use .gather(1, ...)")


def _run(my_saliency_map, model, images, target, where: str):
    """The learner's answer on one case, gradient helpers off, its errors naming the case."""
    return call(my_saliency_map, model, images.clone(), target, unavailable=GRADIENT_HELPERS, instead=INSTEAD,
                raised=f"{where}, your function raised" if where else None,
                hint=_INT_HINT if isinstance(target, int) else None)


def _check_case(my_saliency_map, model, images, target, where: str, int_after_tensor: bool) -> None:
    """One case: the shape, then the reference, then the typical mistakes; ``where`` names the case in messages."""
    n, c, h, w = images.shape
    context = f"{where}, " if where else ""
    result = _run(my_saliency_map, model, images, target, where)
    expected = saliency_map(model, images, target).cpu()  # made after the learner's function ran: not on its stack
    if isinstance(result, torch.Tensor) and tuple(result.shape) == (n, c, h, w):
        expect(False, f"{context}your map has shape {(n, c, h, w)}, one value per colour channel; a saliency map has "
                      f"one value per pixel, shape {(n, h, w)}.",
               "reduce over the channel dimension (dim=1) with the maximum of the absolute values")
    got = expect_tensor(result, "my_saliency_map(...)" + (f" {where}" if where else ""), shape=(n, h, w))
    if close(got, expected, **_TOLERANCE):
        return
    expect(not int_after_tensor, f"your function works with a tensor of targets, but {where} its maps differ from "
                                 "the reference.", _INT_HINT)
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
    ], same=lambda a, b: close(a, b, **_TOLERANCE), context=context)
    expect(got.min() >= 0,
           f"{context}your map has negative values (down to {got.min():.3g}); a saliency map is an absolute value.",
           "take .abs() of the gradient before the maximum over channels")
    i = int((got - expected).abs().flatten(1).amax(1).argmax())
    expect(False, f"{context}for image {i} the largest saliency should be {expected[i].max():.4f}, yours is "
                  f"{got[i].max():.4f}.",
           "make the images require a gradient, sum the scores of each image's target class over the batch, "
           "call torch.autograd.grad, then take .abs().amax(dim=1)")
