"""What a removed pixel becomes: the one parser for baselines and fills.

Integrated Gradients' baseline, occlusion's patch fill and the deletion/insertion curves' fill all
accept the same things: a number (e.g. ``GREY``), a floating tensor that broadcasts to the images
((C, H, W), (N, C, H, W), (C, 1, 1), ...), ``"mean"`` (each image's mean colour) or ``"blur"`` (a
heavily blurred copy of each image, sigma = max(1, W / 16) pixels).
"""
from __future__ import annotations

import math

import torch

from ._checks import check_choice
from .filters import gaussian_blur

FILLS = ("mean", "blur")


def as_fill(fill, images: torch.Tensor, name: str) -> torch.Tensor:
    """(N, C, H, W) values that removed pixels of ``images`` (N, C, H, W) take; errors name ``name``."""
    if isinstance(fill, str):
        check_choice(fill, name, FILLS)
        if fill == "mean":
            return images.mean((2, 3), keepdim=True).expand_as(images)
        return gaussian_blur(images, sigma=max(1.0, images.shape[-1] / 16))
    if isinstance(fill, (int, float)) and not isinstance(fill, bool):
        if not math.isfinite(fill):
            raise ValueError(f"{name}: expected a finite number, got {fill!r}")
        return torch.full_like(images, float(fill))
    if not isinstance(fill, torch.Tensor):
        raise TypeError(f"{name}: expected a number, a tensor like the images, 'mean' or 'blur', "
                        f"got {type(fill).__name__}")
    if not fill.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {fill.dtype}")
    if not torch.isfinite(fill).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    try:
        shape = torch.broadcast_shapes(fill.shape, images.shape)
    except RuntimeError:
        shape = None
    if shape != images.shape:
        raise ValueError(f"{name}: expected a shape that broadcasts to the images' {tuple(images.shape)}, "
                         f"e.g. (C, H, W), (N, C, H, W) or (C, 1, 1); got {tuple(fill.shape)}")
    return fill.detach().to(device=images.device, dtype=images.dtype).expand(images.shape)
