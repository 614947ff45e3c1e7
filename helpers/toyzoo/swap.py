"""Background interventions on a ``ToyZoo``: the same objects on other backgrounds."""
from __future__ import annotations

import numpy as np
import torch

from .backgrounds import BACKGROUNDS, paint_background
from .dataset import ToyZoo


def _background_ids(background, zoo: ToyZoo, rng: np.random.Generator) -> np.ndarray:
    """(N,) background indices from ``swap_backgrounds``' ``background`` argument."""
    n, n_bg = len(zoo), len(BACKGROUNDS)

    def index(name, what: str) -> int:
        if name not in BACKGROUNDS:
            raise ValueError(f"background: expected {what} from {BACKGROUNDS}, got {name!r}")
        return BACKGROUNDS.index(name)

    if background is None:  # a random background other than the image's current one
        return (zoo.backgrounds.cpu().numpy() + rng.integers(1, n_bg, n)) % n_bg
    if isinstance(background, str):
        return np.full(n, index(background, "a background name"))
    if isinstance(background, dict):
        unknown = [c for c in background if c not in zoo.classes]
        missing = sorted({zoo.classes[k] for k in zoo.labels.tolist()} - set(background))
        if unknown or missing:
            problem = f"{', '.join(missing or unknown)} {'missing' if missing else 'unknown'}"
            raise ValueError(f"background: expected a dict from every class in the data ({problem}) "
                             "to a background name")
        table = np.array([index(background.get(c, BACKGROUNDS[0]), "background names") for c in zoo.classes])
        return table[zoo.labels.cpu().numpy()]
    if isinstance(background, torch.Tensor):
        if background.dtype not in (torch.int32, torch.int64) or background.shape != (n,):
            raise ValueError(f"background: expected an int64 tensor of {n} background indices, got "
                             f"{background.dtype} of shape {tuple(background.shape)}")
        ids = background.cpu().numpy()
        if ((ids < 0) | (ids >= n_bg)).any():
            raise ValueError(f"background: indices must lie in 0..{n_bg - 1} (see BACKGROUNDS)")
        return ids.astype(np.int64)
    if isinstance(background, (list, tuple)):
        if len(background) != n:
            raise ValueError(f"background: expected {n} background names (one per image), got {len(background)}")
        return np.array([index(b, "background names") for b in background], dtype=np.int64)
    raise TypeError("background: expected None, a background name, a {class: background} dict, "
                    f"a list of names or a tensor of indices, got {type(background).__name__}")


def swap_backgrounds(zoo: ToyZoo, seed: int = 0, background=None) -> ToyZoo:
    """The same objects (pixels inside each mask, labels, masks, parts) on freshly drawn backgrounds.

    Objects were composited by their mask, so every pixel outside the mask is background:
    this keeps the pixels inside the mask and paints new background crops (``render_backgrounds``)
    everywhere else. An intervention on the background alone: if a prediction changes, the
    model was using the background.

    background: which backgrounds to paint —
        ``None``: for each image a random background other than its current one;
        a name, e.g. ``"snow"``: every image on it;
        a dict ``{class name: background name}``, e.g. ``{"husky": "snow", "wolf": "grass"}``;
        a list of N names, or an (N,) int64 tensor of indices into ``BACKGROUNDS``.
    seed: which crops are drawn (deterministic). Returns a new ``ToyZoo`` with images
    (N, 3, H, W), the same labels, masks and parts, and the new ``backgrounds`` (N,).
    """
    if not isinstance(zoo, ToyZoo):
        raise TypeError(f"zoo: expected a ToyZoo (from make_toy_zoo), got {type(zoo).__name__}")
    rng = np.random.default_rng(seed)
    ids = _background_ids(background, zoo, rng)
    images = paint_background(zoo.images, zoo.masks, ids, seed=int(rng.integers(2**31)))
    return ToyZoo(images, zoo.labels.clone(), zoo.masks.clone(), torch.from_numpy(ids).to(zoo.backgrounds.device),
                  zoo.parts.clone(), zoo.classes, zoo.background_names)
