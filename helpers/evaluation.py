"""Measuring saliency maps: against ground-truth masks, and against the model itself.

Against the masks (does the map sit on the object?):

- ``mask_fraction(saliency, masks)``: the share of the map's mass inside each mask;
- ``pointing_game(saliency, masks, tolerance=0)``: whether the map's peak lies on the object.

Against the model (does removing what the map calls important change the prediction?):

- ``deletion_curve``: replace the most salient pixels first, a growing fraction at a time,
  and record the target class's probability (or score) as it falls;
- ``insertion_curve``: start from a blank (or blurred) image and put the most salient
  pixels back first, recording the probability as it rises;
- ``area_under_curve``: the trapezoidal area under such a curve (deletion: lower means the
  map found what the model relies on; insertion: higher).

Maps are compared by magnitude: a signed map (gradient × input, Integrated Gradients) counts
``|value|``, and a per-channel map (N, C, H, W) is first summed over channels of ``|value|``.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from ._checks import as_target, check_choice, check_images, check_model, check_positive_int, check_target_range
from .baselines import as_fill
from .batching import batches
from .model_state import checked_scores, frozen_eval, like_input, model_input
from .objectives import GREY
from .toyzoo import grow_masks

__all__ = [
    "mask_fraction", "pointing_game",
    "PerturbationCurve", "deletion_curve", "insertion_curve", "area_under_curve",
]


# ---------------------------------------------------------------------------------------
# input checks


def _check_map(saliency, name: str = "saliency") -> torch.Tensor:
    """A finite float map (N, H, W), or (N, C, H, W) summed over channels -> (N, H, W) magnitudes."""
    if not isinstance(saliency, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor of shape (N, H, W), got {type(saliency).__name__}")
    if saliency.ndim not in (3, 4):
        hint = " (for a single map use saliency.unsqueeze(0))" if saliency.ndim == 2 else ""
        raise ValueError(f"{name}: expected shape (N, H, W) or (N, C, H, W), got {tuple(saliency.shape)}{hint}")
    if not saliency.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {saliency.dtype}")
    if saliency.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty (shape {tuple(saliency.shape)}); expected at least one map")
    if not torch.isfinite(saliency).all():
        raise ValueError(f"{name}: contains NaN or infinite values; expected finite values")
    magnitude = saliency.detach().abs()
    return magnitude.sum(1) if magnitude.ndim == 4 else magnitude


def _check_masks(masks, shape: tuple[int, int, int], device: torch.device, name: str = "masks") -> torch.Tensor:
    """Bool masks (N, H, W) matching the maps' shape; 0/1 numbers are accepted too."""
    if not isinstance(masks, torch.Tensor):
        raise TypeError(f"{name}: expected a bool torch.Tensor of shape {shape}, got {type(masks).__name__}")
    if tuple(masks.shape) != tuple(shape):
        hint = " (one (H, W) mask per map, same height and width)" if masks.ndim == 3 else ""
        raise ValueError(f"{name}: expected shape {tuple(shape)} to match saliency, got {tuple(masks.shape)}{hint}")
    if masks.dtype != torch.bool:
        if masks.is_complex() or not ((masks == 0) | (masks == 1)).all():
            raise ValueError(f"{name}: expected a bool tensor (or only 0s and 1s), "
                             f"got dtype {masks.dtype} with other values")
        masks = masks != 0
    return masks.to(device)


# ---------------------------------------------------------------------------------------
# against the ground-truth masks


def mask_fraction(saliency: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(N,) share of each map's mass that falls inside its mask, in [0, 1].

    saliency: (N, H, W) maps (or (N, C, H, W), summed over channels); the mass is ``|saliency|``.
    masks: (N, H, W) bool, True on the object.
    Returns sum(|s| inside) / sum(|s|) per image, on the maps' device. A map that is zero
    everywhere has no preference; it is treated as uniform, so its fraction is the mask's area
    share (the chance level: a map that ignores the image scores the object's area).
    """
    mass = _check_map(saliency)
    masks = _check_masks(masks, tuple(mass.shape), mass.device)
    mass = mass.double()
    total = mass.flatten(1).sum(1)
    inside = (mass * masks).flatten(1).sum(1)
    area = masks.flatten(1).double().mean(1)
    fraction = torch.where(total > 0, inside / total.clamp_min(torch.finfo(torch.float64).tiny), area)
    return fraction.to(saliency.dtype)


def pointing_game(saliency: torch.Tensor, masks: torch.Tensor, tolerance: int = 0) -> torch.Tensor:
    """(N,) bool: whether each map's peak (its largest ``|value|``) lies on the object.

    saliency: (N, H, W) maps (or (N, C, H, W), summed over channels); masks: (N, H, W) bool.
    tolerance: a hit also counts when the peak is within this many pixels of the mask
        (chessboard distance: the mask is grown by ``tolerance`` pixels in every direction).
        Zhang et al. (2016) use 15 pixels on 224-pixel images; 0 asks for an exact hit.
    Ties are broken by the first peak in row-major order (``torch.argmax``). The rate over a
    data set is ``pointing_game(...).float().mean()``; its chance level is the mask's area share.
    """
    mass = _check_map(saliency)
    masks = _check_masks(masks, tuple(mass.shape), mass.device)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
        raise ValueError(f"tolerance: expected a non-negative whole number of pixels, got {tolerance!r}")
    masks = grow_masks(masks, tolerance)
    peak = mass.flatten(1).argmax(1)
    return masks.flatten(1).gather(1, peak[:, None])[:, 0]


# ---------------------------------------------------------------------------------------
# against the model: deletion and insertion


class PerturbationCurve(NamedTuple):
    """A deletion or insertion curve; unpacks as ``fractions, values = curve``.

    fractions: (steps + 1,) share of pixels deleted (or inserted), from 0 to 1.
    values: (N, steps + 1) the target class's probability (or score) at each fraction.
    """

    fractions: torch.Tensor
    values: torch.Tensor

    def area(self) -> torch.Tensor:
        """(N,) area under each image's curve (see ``area_under_curve``)."""
        return area_under_curve(self.fractions, self.values)


def _perturbation_curve(model, images, target, saliency, steps, fill, objective, batch_size, progress,
                        insertion: bool) -> PerturbationCurve:
    check_model(model)
    check_images(images)
    n, _, h, w = images.shape
    target = as_target(target, n)
    mass = _check_map(saliency)
    if tuple(mass.shape) != (n, h, w):
        raise ValueError(f"saliency: expected one (H, W) = ({h}, {w}) map per image, shape ({n}, {h}, {w}), "
                         f"got {tuple(saliency.shape)}")
    check_positive_int(steps, "steps")
    check_positive_int(batch_size, "batch_size")
    check_choice(objective, "objective", ("softmax", "score"))
    x = model_input(model, images)
    device = x.device
    base = as_fill(fill, x, "fill")
    # rank[i, p] = position of pixel p when image i's pixels are sorted by saliency, largest first
    order = torch.argsort(mass.to(device).flatten(1), dim=1, descending=True, stable=True)
    rank = torch.empty_like(order)
    rank.scatter_(1, order, torch.arange(h * w, device=device).expand(n, -1))
    counts = torch.round(torch.arange(steps + 1, dtype=torch.float64) * (h * w) / steps).long().tolist()

    # every (image, step) pair is one forward pass, pair p = (p // (steps + 1), p % (steps + 1)); run them in batches
    values = torch.empty(n * (steps + 1), dtype=x.dtype, device=device)
    limits = torch.tensor(counts, device=device)
    with frozen_eval(model), torch.no_grad():
        num_classes = None
        for pairs in batches(n * (steps + 1), batch_size, desc="insertion" if insertion else "deletion",
                             progress=progress):
            pairs = pairs.to(device)
            idx, k = pairs // (steps + 1), pairs % (steps + 1)
            changed = (rank[idx] < limits[k][:, None]).view(-1, 1, h, w)  # the pixels deleted (or inserted) so far
            first, second = (base[idx], x[idx]) if insertion else (x[idx], base[idx])
            scores = checked_scores(model, torch.where(changed, second, first))
            if num_classes is None:
                num_classes = scores.shape[1]
                check_target_range(target, num_classes)
            chosen = scores.softmax(1) if objective == "softmax" else scores
            values[pairs] = chosen.gather(1, target.to(device)[idx][:, None])[:, 0]
    values = values.view(n, steps + 1)
    fractions = torch.tensor(counts, dtype=torch.float64) / (h * w)
    return PerturbationCurve(like_input(fractions, images), like_input(values, images))


def deletion_curve(model: nn.Module, images: torch.Tensor, target, saliency: torch.Tensor, *, steps: int = 20,
                   fill=GREY, objective: str = "softmax", batch_size: int = 256,
                   progress: bool = True) -> PerturbationCurve:
    """Delete the most salient pixels first and record the target's probability as they go.

    images: (N, C, H, W); target: an int or N class indices; saliency: (N, H, W) maps
        (or (N, C, H, W), summed over channels of ``|value|``) that order the pixels, largest first
        (ties: the first in row-major order goes first). Any map works, e.g. ``masks.float()``
        deletes the object first, ``torch.rand(N, H, W)`` gives a random-order reference.
    steps: the curve has ``steps + 1`` points; at point k the top ``round(k / steps · H · W)``
        pixels (all channels) are replaced by ``fill``.
    fill: what a deleted pixel becomes: a number (the default 0.5 is mid-grey for images in
        [0, 1]; 0.0 is black), a tensor that broadcasts to the images (e.g. (C, H, W) or
        (N, C, H, W) other images), ``"mean"`` (each image's own mean colour) or ``"blur"`` (a
        Gaussian-blurred copy, sigma = W / 16 pixels). Choose it with care: "mean" and "blur" keep
        an image's overall colour, so they do not delete evidence a model reads from colour.
    objective: ``"softmax"`` (the target's probability P_c, as in ``OBJECTIVES``) or ``"score"`` (its logit S_c).
    Returns ``PerturbationCurve(fractions (steps + 1,), values (N, steps + 1))``; ``values[:, 0]``
    is the unperturbed prediction. A faithful map makes the curve fall fast (small area).
    Costs N · (steps + 1) forward passes, ``batch_size`` at a time; the model is left as it was.
    """
    return _perturbation_curve(model, images, target, saliency, steps, fill, objective, batch_size, progress,
                               insertion=False)


def insertion_curve(model: nn.Module, images: torch.Tensor, target, saliency: torch.Tensor, *, steps: int = 20,
                    fill=GREY, objective: str = "softmax", batch_size: int = 256,
                    progress: bool = True) -> PerturbationCurve:
    """Start from an image filled with ``fill`` and put the most salient pixels back first; record the target's probability.

    The mirror image of ``deletion_curve`` (the same arguments; see there): at point k the top
    ``round(k / steps · H · W)`` pixels have their original values and the rest come from
    ``fill`` (a number, mid-grey 0.5 by default; a tensor; ``"mean"``; or ``"blur"``, as in
    Petsiuk et al. 2018). ``values[:, -1]`` is the unperturbed prediction. A faithful map makes
    the curve rise fast (large area).
    """
    return _perturbation_curve(model, images, target, saliency, steps, fill, objective, batch_size, progress,
                               insertion=True)


def area_under_curve(fractions, values: torch.Tensor | None = None) -> torch.Tensor:
    """(N,) trapezoidal area under curves ``values`` (N, S) sampled at ``fractions`` (S,).

    Also accepts a ``PerturbationCurve`` alone: ``area_under_curve(deletion_curve(...))``.
    With fractions from 0 to 1 and probabilities as values the area lies in [0, 1]: the mean
    probability along the curve.
    """
    if values is None:
        if not isinstance(fractions, PerturbationCurve):
            raise TypeError("values: expected the (N, S) curve values, or a PerturbationCurve as the only argument")
        fractions, values = fractions
    for tensor, name, ndim in ((fractions, "fractions", 1), (values, "values", 2)):
        if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
            raise TypeError(f"{name}: expected a floating-point torch.Tensor")
        if tensor.ndim != ndim:
            raise ValueError(f"{name}: expected {ndim} dimension(s), got shape {tuple(tensor.shape)}")
    if values.shape[1] != len(fractions) or len(fractions) < 2:
        raise ValueError(f"values: expected shape (N, {len(fractions)}) to match fractions (at least 2 points), "
                         f"got {tuple(values.shape)}")
    if (fractions.diff() < 0).any():
        raise ValueError("fractions: expected non-decreasing values")
    return torch.trapezoid(values, fractions.to(values.device), dim=1)
