"""Checks for notebook 00 (setup)."""
from __future__ import annotations

import torch

from . import expect, expect_tensor, passed


def check_object_area(object_area, masks: torch.Tensor) -> None:
    """``object_area(masks)`` should return the (N,) share of each image's pixels on the object."""
    expected = masks.float().mean(dim=(1, 2))
    got = expect_tensor(object_area(masks), "object_area(masks)", shape=expected.shape)
    expect(got.min() >= 0 and got.max() <= 1,
           f"shares must lie between 0 and 1, but yours go from {got.min():.3g} to {got.max():.3g}.",
           "divide the number of object pixels by the number of pixels in the image (H × W)")
    expect(torch.allclose(got.float(), expected, atol=1e-6),
           f"for the first image the object covers {expected[0]:.3f} of the pixels, you returned {got[0]:.3f}.",
           "masks is (N, H, W) and True on the object: average it over the last two dimensions")
    passed(f"the objects cover {expected.mean():.0%} of an image on average.")
