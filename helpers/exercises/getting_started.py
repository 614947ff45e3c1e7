"""Checks for notebook 00 (setup: how this course works), its exercise "your first check"."""
from __future__ import annotations

import torch

from ..evaluation import mask_fraction
from . import call, check, expect, expect_match, expect_tensor, passed


@check
def check_object_area(object_area, masks: torch.Tensor) -> None:
    """``object_area(masks)`` should return the (N,) share of each image's pixels on the object; ``mask_fraction``
    (which gives it for a uniform map) is switched off."""
    got = expect_tensor(call(object_area, masks, unavailable=[mask_fraction],
                             instead="average the mask over its pixels yourself"),
                        "object_area(masks)", shape=(len(masks),))
    expected = masks.float().mean(dim=(1, 2))
    expect(got.min() >= 0 and got.max() <= 1,
           f"shares must lie between 0 and 1, but yours go from {got.min():.3g} to {got.max():.3g}.",
           "divide the number of object pixels by the number of pixels in the image (H × W)")
    expect_match(got, expected, atol=1e-6,
                 message=f"for the first image the object covers {expected[0]:.3f} of the pixels, "
                         f"you returned {got[0]:.3f}.",
                 hint="masks is (N, H, W) and True on the object: average it over the last two dimensions")
    passed(f"the objects cover {expected.mean():.0%} of an image on average.")
