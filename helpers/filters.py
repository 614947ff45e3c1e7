"""Image filters the helpers share: the one Gaussian blur and the total variation."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_kernel(sigma: float, device=None, dtype=torch.float32) -> torch.Tensor:
    """(2r + 1,) normalized 1-D Gaussian of standard deviation ``sigma`` pixels, r = max(1, ceil(3 sigma))."""
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, device=device, dtype=dtype)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def gaussian_blur(images: torch.Tensor, sigma: float, kernel: torch.Tensor | None = None) -> torch.Tensor:
    """(N, C, H, W) images blurred by a separable Gaussian of ``sigma`` pixels.

    A depthwise convolution with ``gaussian_kernel(sigma)`` (or the given ``kernel``) along each axis;
    the border is extended by repeating the edge pixels, so any image size works.
    """
    if kernel is None:
        kernel = gaussian_kernel(sigma, images.device, images.dtype)
    c, r = images.shape[1], len(kernel) // 2
    kx = kernel.reshape(1, 1, 1, -1).expand(c, 1, 1, -1)
    ky = kernel.reshape(1, 1, -1, 1).expand(c, 1, -1, 1)
    out = F.conv2d(F.pad(images, (r, r, 0, 0), mode="replicate"), kx, groups=c)
    return F.conv2d(F.pad(out, (0, 0, r, r), mode="replicate"), ky, groups=c)


def total_variation(images: torch.Tensor) -> torch.Tensor:
    """(N,) anisotropic total variation of (N, C, H, W) images: the sum of |differences| between neighbours."""
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().flatten(1).sum(1)
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().flatten(1).sum(1)
    return dx + dy
