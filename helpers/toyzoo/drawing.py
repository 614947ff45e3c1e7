"""Drawing one class's objects: a random pose and colour, the drawer's pieces, a dark outline, part labels.

Part labels follow the colours: where pieces overlap, the piece drawn last decides both the colour
and the part (a goose's head covers the top of its neck; a fish's body covers the root of its
fins). The one-pixel outline is painted dark over the object's own edge pixels and keeps their
part: an outline pixel belongs to the part drawn under it. So the parts tile the object mask
exactly, outline included.
"""
from __future__ import annotations

import numpy as np
import torch

from .animals import DRAWERS, PALETTE, part_index

OUTLINE = 0.08  # grey level of the outline

#: the regions ``centered_goose_parts`` returns, each a union of the goose's parts in ``PARTS``
GOOSE_PARTS = {"neck": ("neck", "head"), "body": ("body",), "legs": ("legs",)}


def _piece_ids(pieces, shape: tuple[int, int, int]) -> np.ndarray:
    """(N, H, W) uint8: 1 + the position in ``pieces`` of the last piece covering each pixel, 0 for none."""
    piece_id = np.zeros(shape, np.uint8)
    for k, (_, region, _) in enumerate(pieces, start=1):
        piece_id[np.broadcast_to(region, shape)] = k
    return piece_id


def _part_table(name: str, pieces) -> np.ndarray:
    """(len(pieces) + 1,) uint8: piece id (as from ``_piece_ids``) -> ``part_index`` of its part, 0 -> 0."""
    return np.array([0] + [part_index(name, part) for part, _, _ in pieces], np.uint8)


def _edge(mask: np.ndarray) -> np.ndarray:
    """(N, H, W) bool: the pixels of ``mask`` with a 4-neighbour off it (beyond the image border counts as on it)."""
    inner = mask.copy()
    inner[:, 1:, :] &= mask[:, :-1, :]
    inner[:, :-1, :] &= mask[:, 1:, :]
    inner[:, :, 1:] &= mask[:, :, :-1]
    inner[:, :, :-1] &= mask[:, :, 1:]
    return mask & ~inner


def draw_class(name: str, n: int, size: int, rng: np.random.Generator, centered: bool = False):
    """``n`` objects of class ``name``: (n, 3, size, size) float32 colours and (n, size, size) uint8 parts.

    parts: 0 off the object, else ``part_index(name, part)`` (the object mask is ``parts > 0``);
    colours are meaningful on the object only.
    centered: every object at the image centre (within 1.5 pixels), at nearly one size
    (half-size 0.36–0.40 of the image), barely rotated (±0.05 rad) and facing right; otherwise
    placed, sized (0.30–0.42), rotated (±0.25 rad) and mirrored at random.
    """
    f32 = np.float32
    if centered:
        scale = rng.uniform(0.36, 0.40, n).astype(f32) * size
        cx = size / 2 + rng.uniform(-1.5, 1.5, n).astype(f32)
        cy = size / 2 + rng.uniform(-1.5, 1.5, n).astype(f32)
        angle = rng.uniform(-0.05, 0.05, n).astype(f32)
        mirror = np.ones(n, f32)
    else:
        scale = rng.uniform(0.3, 0.42, n).astype(f32) * size  # object half-size in pixels
        cx = size / 2 + rng.uniform(-1, 1, n).astype(f32) * (size / 2 - scale) * 0.5
        cy = size / 2 + rng.uniform(-1, 1, n).astype(f32) * (size / 2 - scale) * 0.5
        angle = rng.uniform(-0.25, 0.25, n).astype(f32)
        mirror = np.where(rng.random(n) < 0.5, -1.0, 1.0).astype(f32)
    pix = np.arange(size, dtype=f32) + 0.5
    x = (pix[None, None, :] - cx[:, None, None]) / scale[:, None, None]
    y = (pix[None, :, None] - cy[:, None, None]) / scale[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    u = (cos * x + sin * y) * mirror[:, None, None]
    v = -sin * x + cos * y

    low, high = (np.asarray(p, f32) for p in PALETTE[name])
    main = low + rng.random((n, 1), dtype=f32) * (high - low) * rng.uniform(0.8, 1.0, (n, 3)).astype(f32)
    colours = {
        "main": main,
        "light": np.clip(main * 1.3 + 0.15, 0, 1),
        "dark": main * 0.55,
    }
    jitter = {k: rng.uniform(-1, 1, n).astype(f32)[:, None, None] for k in ("a", "b")}

    # paint piece numbers (later pieces on top), then look every pixel's part and colour up at once
    pieces = DRAWERS[name](u, v, colours, jitter)
    piece_id = _piece_ids(pieces, (n, size, size))
    parts = _part_table(name, pieces)[piece_id]
    table = np.zeros((n, len(pieces) + 2, 3), f32)  # 0: no object, last: outline
    for k, (_, _, colour) in enumerate(pieces, start=1):
        table[:, k] = colour
    table[:, -1] = OUTLINE
    # a dark outline, one pixel wide, just inside the mask: every object pixel differs from the background
    piece_id[_edge(piece_id > 0)] = len(pieces) + 1
    rows = piece_id + (np.arange(n, dtype=np.intp) * table.shape[1])[:, None, None]  # into (n * len(table[0]),)
    per_channel = np.ascontiguousarray(table.transpose(2, 0, 1)).reshape(3, -1)
    fg = np.empty((n, 3, size, size), f32)
    for channel in range(3):
        fg[:, channel] = per_channel[channel][rows]
    return fg, parts


def centered_goose_parts(size: int = 64) -> dict[str, torch.Tensor]:
    """Where ``make_toy_zoo(centered=True)`` draws the goose's parts: {"neck", "body", "legs"} -> (size, size) bool.

    The goose at the centre, at the average centred size, upright and unjittered, drawn by the
    same code as the data (a part drawn later covers an earlier one, as in the images). The neck
    region includes the head (``GOOSE_PARTS``). Used to check that a class model has a goose's
    layout (notebook 06).
    """
    scale = 0.38 * size
    pix = (np.arange(size, dtype=np.float32) + 0.5 - size / 2) / scale
    u, v = np.meshgrid(pix, pix)
    colour = np.zeros((1, 3), np.float32)
    jitter = {k: np.zeros((1, 1, 1), np.float32) for k in ("a", "b")}
    pieces = DRAWERS["goose"](u[None], v[None], {"main": colour, "light": colour, "dark": colour}, jitter)
    parts = _part_table("goose", pieces)[_piece_ids(pieces, (1, size, size))[0]]
    return {region: torch.from_numpy(np.isin(parts, [part_index("goose", p) for p in names]))
            for region, names in GOOSE_PARTS.items()}
