"""Checks for notebook 01 (linear models)."""
from __future__ import annotations

import torch

from ..evaluation import mask_fraction
from . import call, check, expect, expect_match, expect_tensor, passed

INSTEAD = "compute the shares yourself: |w| summed over the channels, then its sum inside each mask over its total"


def reference_weight_mass_on_object(weight_image: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(N,) share of the template's absolute weight (summed over channels) inside each (H, W) mask."""
    mass = weight_image.abs().sum(dim=0)
    return (mass * masks.float()).sum(dim=(1, 2)) / mass.sum()


@check
def check_weight_mass_on_object(weight_mass_on_object, weight_image: torch.Tensor, masks: torch.Tensor) -> None:
    """``weight_mass_on_object(weight_image (C, H, W), masks (N, H, W))`` -> (N,) shares in [0, 1];
    ``mask_fraction`` (which computes them) is switched off."""
    got = expect_tensor(call(weight_mass_on_object, weight_image, masks, unavailable=[mask_fraction], instead=INSTEAD),
                        "your result", shape=(len(masks),))
    expected = reference_weight_mass_on_object(weight_image, masks)
    expect(got.min() >= -1e-6 and got.max() <= 1 + 1e-6,
           f"a share of the weight mass lies between 0 and 1, but yours go from {got.min():.3g} to {got.max():.3g}.",
           "use the absolute value of the weights (positive and negative weights both matter) and divide "
           "by the total absolute weight of the template")
    whole = torch.ones_like(masks[:1])
    expect_match(expect_tensor(call(weight_mass_on_object, weight_image, whole, unavailable=[mask_fraction],
                                    instead=INSTEAD), "your result for a full mask"),
                 reference_weight_mass_on_object(weight_image, whole),
                 message="a mask that covers the whole image should hold all of the weight mass (share 1).",
                 hint="divide by the template's total absolute weight, not by the number of pixels")
    expect_match(got, expected, atol=1e-5,
                 message=f"for the first mask the expected share is {expected[0]:.3f}, you returned {got[0]:.3f}.",
                 hint="take |w|, sum it over the colour channels to get an (H, W) map, then sum that map inside "
                      "each mask and divide by the sum over the whole image")
    passed(f"on average {expected.mean():.0%} of this template's weight mass sits on the objects.")
