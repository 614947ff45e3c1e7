"""Colour statistics for the Fourier parameterization: the square root of a colour covariance."""
from __future__ import annotations

from functools import lru_cache

import torch

from ._checks import check_images


def estimate_color_matrix(images: torch.Tensor) -> torch.Tensor:
    """(C, C) square root of the colour covariance of (N, C, H, W) images.

    Colours drawn as ``matrix @ z`` with z ~ N(0, I) have the images' colour correlations;
    the Fourier parameterization uses it to optimize in a decorrelated colour space.
    """
    check_images(images)
    if images.shape[0] * images.shape[2] * images.shape[3] < 2:
        raise ValueError(f"images: expected at least 2 pixels to estimate a covariance, got shape {tuple(images.shape)}")
    pixels = images.detach().float().transpose(0, 1).reshape(images.shape[1], -1)
    cov = torch.cov(pixels)
    values, vectors = torch.linalg.eigh(cov)
    return vectors @ torch.diag(values.clamp_min(1e-8).sqrt()) @ vectors.T


@lru_cache(maxsize=1)
def _photo_color_matrix() -> torch.Tensor:
    from .photos import load_photos

    return estimate_color_matrix(load_photos(COLOR_PHOTOS, size=64))


#: the photos whose colours ``natural_color_matrix`` measures (scikit-image's four colour photos)
COLOR_PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")


def natural_color_matrix() -> torch.Tensor:
    """(3, 3) colour-covariance square root of the natural photos ``COLOR_PHOTOS`` (the default)."""
    return _photo_color_matrix().clone()


def checked_color_matrix(matrix, channels: int, device, dtype) -> torch.Tensor:
    """``matrix`` (None: ``natural_color_matrix()``) checked as a finite, non-zero (channels, channels) tensor."""
    if matrix is None:
        if channels != 3:
            raise ValueError(f"color_matrix: the default is for 3 colour channels; pass a ({channels}, {channels}) "
                             "matrix for this model, or decorrelate=False")
        matrix = natural_color_matrix()
    if not isinstance(matrix, torch.Tensor) or tuple(matrix.shape) != (channels, channels) \
            or not torch.isfinite(matrix).all():
        shape = tuple(matrix.shape) if isinstance(matrix, torch.Tensor) else type(matrix).__name__
        raise ValueError(f"color_matrix: expected a finite ({channels}, {channels}) tensor, got {shape}")
    if not matrix.abs().max() > 0:
        raise ValueError("color_matrix: expected a matrix with a non-zero entry, got all zeros")
    return matrix.to(device=device, dtype=dtype)
