"""The Toy Zoo data set: ``ToyZoo`` (images with labels, object masks, part maps, backgrounds) and ``make_toy_zoo``."""
from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import torch

from .animals import CLASSES
from .backgrounds import BACKGROUNDS, home_background_ids, render_backgrounds
from .drawing import draw_class


@dataclass
class ToyZoo:
    """A batch of Toy Zoo images.

    images: (N, 3, H, W) float32 in [0, 1]; labels: (N,) int64 class indices into ``classes``;
    masks: (N, H, W) bool, True on the object (outline included); backgrounds: (N,) int64
    indices into ``background_names``; parts: (N, H, W) int64 part map, 0 off the object, else
    1 + an index into ``PARTS`` (see ``part_index``); ``parts > 0`` is exactly ``masks``. Where
    pieces overlap, the part drawn last wins; the outline belongs to the part under it (``drawing``).
    From 32 pixels up every image shows every part of its class; at 16, thin parts can vanish.
    """

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    backgrounds: torch.Tensor
    parts: torch.Tensor
    classes: tuple[str, ...] = field(default=CLASSES)
    background_names: tuple[str, ...] = field(default=BACKGROUNDS)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> "ToyZoo":
        """A subset: ``zoo[:100]``, ``zoo[zoo.labels == 2]``, ``zoo[[0, 5, 9]]``."""
        if isinstance(index, Integral) or (isinstance(index, torch.Tensor) and index.ndim == 0
                                           and not index.is_floating_point() and index.dtype != torch.bool):
            index = [int(index)]  # one image stays a zoo of one (an int, a numpy integer or a 0-d tensor)
        return ToyZoo(
            self.images[index], self.labels[index], self.masks[index], self.backgrounds[index], self.parts[index],
            self.classes, self.background_names,
        )

    def on_home_background(self) -> torch.Tensor:
        """(N,) bool: whether each image sits on its class's own background."""
        home = home_background_ids(self.classes).to(self.backgrounds.device)
        return self.backgrounds == home[self.labels]


def make_toy_zoo(n: int, size: int = 64, bias: float | None = None, seed: int = 0,
                 classes: tuple[str, ...] | list[str] = CLASSES, centered: bool = False) -> ToyZoo:
    """Draw ``n`` Toy Zoo images (labels balanced at random), deterministic for a given ``seed``.

    bias: probability that an image shows its class's home background (``HOME_BACKGROUND``);
        the remaining probability is spread evenly over the other backgrounds. ``None`` means
        no bias: every background equally likely (the same as ``bias = 1 / 7``).
    classes: which classes to draw (a subset of ``CLASSES``); labels index into this tuple.
    centered: every object at the centre, at nearly one size, upright and facing right (the data
        of the ``"zoonet_spatial"`` model, whose class models a person can name; notebook 06).
    Returns a ``ToyZoo`` with images (n, 3, size, size), labels (n,), masks (n, size, size),
    backgrounds (n,) and parts (n, size, size).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive number of images, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, int) or not 16 <= size <= 512:
        raise ValueError(f"size: expected an image side between 16 and 512 pixels, got {size!r}")
    if bias is not None and not (isinstance(bias, (int, float)) and 0.0 <= bias <= 1.0):
        raise ValueError(f"bias: expected None or a probability between 0 and 1, got {bias!r}")
    classes = tuple(classes)
    unknown = [c for c in classes if c not in CLASSES]
    if unknown or not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes: expected distinct names from {CLASSES}, got {classes}")
    if not isinstance(centered, bool):
        raise TypeError(f"centered: expected True or False, got {centered!r}")

    rng = np.random.default_rng(seed)
    n_bg = len(BACKGROUNDS)
    labels = rng.integers(0, len(classes), n)
    home = home_background_ids(classes).numpy()[labels]
    if bias is None:
        backgrounds = rng.integers(0, n_bg, n)
    else:
        other = (home + rng.integers(1, n_bg, n)) % n_bg  # uniform over the backgrounds that are not home
        backgrounds = np.where(rng.random(n) < bias, home, other)

    images = render_backgrounds(backgrounds, size, rng, channels_first=True)
    parts = np.zeros((n, size, size), np.uint8)
    for k, name in enumerate(classes):
        idx = np.flatnonzero(labels == k)
        if len(idx):
            fg, drawn = draw_class(name, len(idx), size, rng, centered)
            images[idx] = np.where(drawn[:, None] > 0, fg, images[idx])
            parts[idx] = drawn
    return ToyZoo(
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels.astype(np.int64)),
        masks=torch.from_numpy(parts > 0),
        backgrounds=torch.from_numpy(backgrounds.astype(np.int64)),
        parts=torch.from_numpy(parts.astype(np.int64)),
        classes=classes,
    )
