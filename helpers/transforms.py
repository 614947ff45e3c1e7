"""Small random image transforms the ascent shows the model at every step (notebooks 06 and 07).

A class model or feature visualization made by plain gradient ascent is full of high-frequency
patterns that excite the network only at exactly one position and scale. Showing the model a
slightly padded, shifted, rescaled and rotated copy of the image at every step, and climbing the
objective *on average over those copies*, keeps only what survives them (Mordvintsev et al. 2015;
Olah et al. 2017, "transformation robustness").

Each transform is a small frozen dataclass, called as ``transform(images, generator)`` on an
(N, C, H, W) batch, returning a new (N, C, H', W') batch; the same random draw is used for the whole
batch. Everything is differentiable and stays on the images' device; ``generator`` (a CPU
``torch.Generator``) makes the draws reproducible. Give a list of them to ``AscentSettings(transforms=...)``;
``standard_transforms()`` is the list that works for ImageNet networks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ._checks import check_nonnegative, check_nonnegative_int, check_positive_number
from .objectives import GREY


def _draw(generator: torch.Generator, low: float, high: float) -> float:
    """One uniform number in [low, high]."""
    return low + (high - low) * torch.rand((), generator=generator).item()


@dataclass(frozen=True)
class Pad:
    """Pad every side by ``pixels`` with the constant ``fill`` (default grey): (N, C, H + 2p, W + 2p)."""

    pixels: int
    fill: float = GREY

    def __post_init__(self):
        check_nonnegative_int(self.pixels, "pixels")

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        p = self.pixels
        return F.pad(images, (p, p, p, p), value=self.fill) if p else images


@dataclass(frozen=True)
class Jitter:
    """Crop at a random offset of up to ``pixels`` in each direction: (N, C, H − pixels, W − pixels)."""

    pixels: int

    def __post_init__(self):
        check_nonnegative_int(self.pixels, "pixels")

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        d = self.pixels
        if not d:
            return images
        dy, dx = torch.randint(0, d + 1, (2,), generator=generator).tolist()
        h, w = images.shape[-2:]
        return images[..., dy:h - d + dy, dx:w - d + dx]


@dataclass(frozen=True)
class RandomScale:
    """Resize by a random factor in [low, high] (bilinear): (N, C, ≈ s H, ≈ s W)."""

    low: float = 0.95
    high: float = 1.05

    def __post_init__(self):
        check_positive_number(self.low, "low")
        if check_positive_number(self.high, "high") < self.low:
            raise ValueError(f"high: expected at least low = {self.low}, got {self.high}")

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        scale = _draw(generator, self.low, self.high)
        h, w = images.shape[-2:]
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False)


@dataclass(frozen=True)
class RandomRotation:
    """Rotate about the centre by a random angle in [−degrees, degrees]; corners filled with grey. Same size."""

    degrees: float = 10.0
    fill: float = GREY

    def __post_init__(self):
        check_nonnegative(self.degrees, "degrees")

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        angle = math.radians(_draw(generator, -self.degrees, self.degrees))
        if not angle:
            return images
        cos, sin = math.cos(angle), math.sin(angle)
        theta = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], device=images.device, dtype=images.dtype)
        grid = F.affine_grid(theta.expand(len(images), 2, 3), list(images.shape), align_corners=False)
        # rotate the difference from grey, so that what comes in from outside the image is grey
        return F.grid_sample(images - self.fill, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=False) + self.fill


def standard_transforms() -> tuple:
    """Pad 12, jitter 8, scale 0.95-1.05, rotate ±10°, jitter 4: the list for ImageNet networks (Lucid's)."""
    return (Pad(12), Jitter(8), RandomScale(0.95, 1.05), RandomRotation(10.0), Jitter(4))


def apply(transforms, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``images`` through every transform of the list in turn."""
    for transform in transforms:
        images = transform(images, generator)
    return images


def check_transforms(transforms) -> tuple:
    """A list or tuple of callables, as a tuple (a ValueError/TypeError naming ``transforms`` otherwise)."""
    if not isinstance(transforms, (list, tuple)):
        raise TypeError(f"transforms: expected a list of image transforms (e.g. standard_transforms()), "
                        f"got {type(transforms).__name__}")
    bad = [t for t in transforms if not callable(t)]
    if bad:
        raise TypeError(f"transforms: expected callables (images, generator) -> images, got {bad[0]!r}")
    return tuple(transforms)
