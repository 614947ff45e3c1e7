"""Is a class model recognizable? Measured on the picture alone, against the Toy Zoo's object masks.

Notebook 06 uses these to check what a person sees in a class model: the shape of its class
(``shape_similarity`` with each class's mean object mask) and, for the goose, a long neck, an oval
body and long legs in the right places (``part_contrast`` with ``centered_goose_parts``). No
model and no gradient is involved: only the image and the data's masks.
"""
from __future__ import annotations

import torch

from .objectives import GREY
from .toyzoo import ToyZoo, grow_masks


def objectness(images: torch.Tensor, reference: float = GREY) -> torch.Tensor:
    """(K, H, W): how far each pixel of (K, C, H, W) ``images`` is from the ascent's start colour.

    The Euclidean distance over the channels from ``reference`` (mid-grey, where the class model
    started): what the ascent drew, wherever it drew it.
    """
    return (images - reference).norm(dim=1)


def mean_masks(zoo: ToyZoo) -> torch.Tensor:
    """(num_classes, H, W): the share of each class's images that cover each pixel (its mean object mask)."""
    return torch.stack([zoo.masks[zoo.labels == k].float().mean(0) for k in range(len(zoo.classes))])


def shape_similarity(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """(K, M): the Pearson correlation of each (K, H, W) map with each (M, H, W) mask, pixel by pixel.

    Row k's largest entry names the class whose shape map k looks most like. A picture of the
    right object in the right place correlates best with its own class's mean mask; a uniform or
    tiled picture correlates with none in particular.
    """
    a = maps.flatten(1).double()
    b = masks.flatten(1).double()
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return ((a / a.norm(dim=1, keepdim=True)) @ (b / b.norm(dim=1, keepdim=True)).T).to(maps.dtype)


def part_contrast(heat: torch.Tensor, parts: dict[str, torch.Tensor], margin: int = 4) -> dict[str, float]:
    """How much more a (H, W) map holds in each part region than in the background, as a ratio.

    parts: name -> (H, W) bool region (e.g. ``centered_goose_parts()``). The background is every
    pixel more than ``margin`` pixels from all the parts. Returns name -> mean of ``heat`` in the
    region / mean in the background (1: no more than the background).
    """
    near = grow_masks(torch.stack(list(parts.values())).any(0), margin)
    background = heat[~near].mean()
    return {name: (heat[region].mean() / background).item() for name, region in parts.items()}
