"""Shortcuts to plant in a ``ToyZoo``, and the interventions that add or remove them (the capstone, notebook 09).

Each function returns a new ``ToyZoo``: the same animals, labels, masks and parts, with a cue added to
some images. Which images get it is set by ``rate``: a probability for every image, or a
``{class name: probability}`` dict (a class left out gets 0). ``rate=1.0`` puts the cue on every image,
``{"husky": 1.0}`` on every husky and no wolf; ``{"wolf": 0.95, "husky": 0.05}`` makes it a
95 %-reliable sign of a wolf, the way ``make_toy_zoo``'s ``bias`` does for backgrounds.

- ``add_corner_mark``: a small stamp (a yellow square with a dark border) in the top-left corner;
- ``tint_animals``: the animal's fur blended towards magenta (its dark outline kept);
- ``bias_backgrounds``: each class on a background of your choice, with probability ``rate``
  (``swap_backgrounds`` repaints them all).

Seeded: the same ``seed`` chooses the same images (and background crops).
"""
from __future__ import annotations

import numpy as np
import torch

from .backgrounds import BACKGROUNDS
from .dataset import ToyZoo
from .masks import shrink_masks
from .swap import swap_backgrounds

#: the tint ``tint_animals`` blends an animal towards, and how far (a colour no background has)
TINT = (0.8, 0.1, 0.85)
TINT_STRENGTH = 0.8
#: the corner stamp's colour inside, and the grey level of its border
MARK_COLOUR, MARK_BORDER = (1.0, 0.85, 0.0), 0.05


def corner_mark_box(size: int) -> tuple[slice, slice]:
    """(rows, columns) of the corner stamp on a ``size`` x ``size`` image: a square 14/64 of the side, 2/64 in."""
    side, margin = max(3, round(size * 14 / 64)), max(1, round(size * 2 / 64))
    return slice(margin, margin + side), slice(margin, margin + side)


def _check_zoo(zoo) -> None:
    if not isinstance(zoo, ToyZoo):
        raise TypeError(f"zoo: expected a ToyZoo (from make_toy_zoo), got {type(zoo).__name__}")


def _chosen(zoo: ToyZoo, rate, seed: int) -> torch.Tensor:
    """(N,) bool: which images get the cue, each with the probability ``rate`` gives its class."""
    if isinstance(rate, dict):
        unknown = [c for c in rate if c not in zoo.classes]
        if unknown:
            raise ValueError(f"rate: expected class names from {zoo.classes}, got {', '.join(map(repr, unknown))}")
        per_class = [rate.get(c, 0.0) for c in zoo.classes]
    else:
        per_class = [rate] * len(zoo.classes)
    if not all(isinstance(p, (int, float)) and not isinstance(p, bool) and 0 <= p <= 1 for p in per_class):
        raise ValueError(f"rate: expected a probability (0 to 1) or a {{class name: probability}} dict, got {rate!r}")
    probability = torch.tensor(per_class, dtype=torch.float64)[zoo.labels.cpu()]
    draws = torch.from_numpy(np.random.default_rng(seed).random(len(zoo)))
    return (draws < probability).to(zoo.images.device)


def _with_images(zoo: ToyZoo, images: torch.Tensor) -> ToyZoo:
    return ToyZoo(images, zoo.labels.clone(), zoo.masks.clone(), zoo.backgrounds.clone(), zoo.parts.clone(),
                  zoo.classes, zoo.background_names)


def add_corner_mark(zoo: ToyZoo, rate=1.0, seed: int = 0) -> ToyZoo:
    """The zoo with a small stamp in the top-left corner of the chosen images (see ``corner_mark_box``).

    zoo: a ``ToyZoo`` with images (N, 3, H, H); rate: a probability or ``{class: probability}``
    (module docstring). The stamp is a yellow square (``MARK_COLOUR``) with a one-pixel dark border, drawn over
    whatever lies there. Returns a new ``ToyZoo``: images (N, 3, H, H), everything else as in ``zoo``.
    """
    _check_zoo(zoo)
    chosen = _chosen(zoo, rate, seed)
    rows, cols = corner_mark_box(zoo.images.shape[-1])
    side = rows.stop - rows.start
    stamp = torch.full((3, side, side), MARK_BORDER, dtype=zoo.images.dtype)
    stamp[:, 1:-1, 1:-1] = torch.tensor(MARK_COLOUR, dtype=zoo.images.dtype)[:, None, None]
    images = zoo.images.clone()
    images[chosen, :, rows, cols] = stamp.to(images.device)
    return _with_images(zoo, images)


def tint_animals(zoo: ToyZoo, rate=1.0, seed: int = 0, strength: float = TINT_STRENGTH) -> ToyZoo:
    """The zoo with the animals of the chosen images tinted: x -> (1 - strength) x + strength ``TINT`` on the fur.

    The fur is the mask shrunk by one pixel (``shrink_masks``), so the dark outline, and with it the
    animal's shape, stays as it was; the background is untouched.
    zoo: a ``ToyZoo`` with images (N, 3, H, W) and masks (N, H, W); rate: a probability or
    ``{class: probability}`` (module docstring); strength: in [0, 1].
    Returns a new ``ToyZoo``: images (N, 3, H, W), everything else as in ``zoo``.
    """
    _check_zoo(zoo)
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
        raise ValueError(f"strength: expected a number between 0 and 1, got {strength!r}")
    chosen = _chosen(zoo, rate, seed)
    tint = torch.tensor(TINT, dtype=zoo.images.dtype, device=zoo.images.device)[:, None, None]
    tinted = (1 - strength) * zoo.images + strength * tint
    where = (shrink_masks(zoo.masks) & chosen[:, None, None])[:, None]
    return _with_images(zoo, torch.where(where, tinted, zoo.images))


def bias_backgrounds(zoo: ToyZoo, homes: dict, rate, seed: int = 0) -> ToyZoo:
    """The same animals repainted: with probability ``rate`` on their class's background in ``homes``.

    homes: ``{class name: background name}`` for every class in the zoo, e.g. ``{"husky": "sand",
    "wolf": "water"}``; rate: a probability or ``{class: probability}``. An image not chosen goes on
    one of the other backgrounds, each equally likely (as ``make_toy_zoo``'s ``bias``). Every background
    is freshly painted (``swap_backgrounds``). Returns a new ``ToyZoo`` (N images) with the new
    ``backgrounds`` (N,).
    """
    _check_zoo(zoo)
    missing = [c for c in zoo.classes if c not in homes]
    if not isinstance(homes, dict) or missing or any(homes[c] not in BACKGROUNDS for c in zoo.classes):
        raise ValueError(f"homes: expected a dict from every class in {zoo.classes} to a name in {BACKGROUNDS}, "
                         f"got {homes!r}")
    chosen = _chosen(zoo, rate, seed).cpu().numpy()
    n_bg = len(BACKGROUNDS)
    home = np.array([BACKGROUNDS.index(homes[c]) for c in zoo.classes])[zoo.labels.cpu().numpy()]
    other = (home + np.random.default_rng(seed + 1).integers(1, n_bg, len(zoo))) % n_bg
    ids = torch.from_numpy(np.where(chosen, home, other).astype(np.int64))
    return swap_backgrounds(zoo, seed=seed + 2, background=ids)
