"""Growing and shrinking masks (e.g. ``zoo.masks``) by whole pixels, in every direction."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _morph(masks: torch.Tensor, pixels: int, grow: bool) -> torch.Tensor:
    if not isinstance(masks, torch.Tensor) or masks.dtype != torch.bool or masks.ndim < 2:
        shape = tuple(masks.shape) if isinstance(masks, torch.Tensor) else type(masks).__name__
        raise ValueError(f"masks: expected a bool tensor (..., H, W), got {shape}")
    if isinstance(pixels, bool) or not isinstance(pixels, int) or pixels < 0:
        raise ValueError(f"pixels: expected a non-negative whole number of pixels, got {pixels!r}")
    if pixels == 0 or masks.numel() == 0:
        return masks.clone()
    flat = masks.reshape(-1, 1, *masks.shape[-2:]).float()
    if grow:
        out = F.max_pool2d(flat, 2 * pixels + 1, stride=1, padding=pixels)
    else:  # the complement grown; max_pool2d's padding is ignored, so beyond the border counts as inside
        out = -F.max_pool2d(-flat, 2 * pixels + 1, stride=1, padding=pixels)
    return (out > 0).reshape(masks.shape)


def grow_masks(masks: torch.Tensor, pixels: int = 1) -> torch.Tensor:
    """(..., H, W) bool ``masks`` grown by ``pixels`` in every direction (chessboard distance).

    A pixel is in the result when any pixel of the (2 pixels + 1)² square around it is in the mask.
    """
    return _morph(masks, pixels, grow=True)


def shrink_masks(masks: torch.Tensor, pixels: int = 1) -> torch.Tensor:
    """(..., H, W) bool ``masks`` shrunk by ``pixels`` from every side (chessboard distance).

    A pixel stays when the whole (2 pixels + 1)² square around it is in the mask; pixels beyond the
    image border count as in the mask (an object cut off by the border is not shrunk from there).
    """
    return _morph(masks, pixels, grow=False)
