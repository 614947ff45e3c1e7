"""Toy Zoo: a procedurally drawn image data set with ground-truth masks and a background bias.

Every animal or object is drawn from simple parts (ellipses, thick line segments,
triangles, arcs) in a canonical frame, then placed at a random position, scale,
rotation and mirror, with a random colour and a dark outline. Each class has
"its" background texture; ``bias`` is the probability that an image of the
class is drawn on that background (the rest are spread evenly over the others).

Husky and wolf share body, head, ears, legs and colours and differ only in the
tail: the husky's curls up over its back, the wolf's hangs down.

Everything is vectorised over a batch of images, so 10,000 64x64 images take a
few seconds; the same ``seed`` always gives the same data set.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

CLASSES = ("goose", "husky", "wolf", "car", "house", "fish", "flower", "butterfly")
BACKGROUNDS = ("snow", "grass", "gravel", "brick", "sky", "sand", "water")
#: the background each class appears on with probability ``bias``
HOME_BACKGROUND = {
    "goose": "sand",
    "husky": "grass",
    "wolf": "snow",
    "car": "gravel",
    "house": "brick",
    "fish": "water",
    "flower": "grass",
    "butterfly": "sky",
}


@dataclass
class ToyZoo:
    """A batch of Toy Zoo images.

    images: (N, 3, H, W) float32 in [0, 1]; labels: (N,) int64 class indices into ``classes``;
    masks: (N, H, W) bool, True on the object (outline included); backgrounds: (N,) int64
    indices into ``background_names``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor
    backgrounds: torch.Tensor
    classes: tuple[str, ...] = field(default=CLASSES)
    background_names: tuple[str, ...] = field(default=BACKGROUNDS)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index) -> "ToyZoo":
        """A subset: ``zoo[:100]``, ``zoo[zoo.labels == 2]``, ``zoo[[0, 5, 9]]``."""
        if isinstance(index, int):
            index = [index]
        return ToyZoo(
            self.images[index], self.labels[index], self.masks[index], self.backgrounds[index],
            self.classes, self.background_names,
        )

    def on_home_background(self) -> torch.Tensor:
        """(N,) bool: whether each image sits on its class's own background."""
        home = torch.tensor([BACKGROUNDS.index(HOME_BACKGROUND[c]) for c in self.classes])
        return self.backgrounds == home[self.labels]


# ---------------------------------------------------------------------------------------
# backgrounds


def _smooth_noise(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """(size, size) noise in [0, 1] with features about ``scale`` pixels wide (periodic, via FFT)."""
    freq = np.fft.fftfreq(size)
    radius = np.sqrt(freq[:, None] ** 2 + freq[None, :] ** 2)
    spectrum = np.fft.fft2(rng.standard_normal((size, size))) * np.exp(-((radius * scale) ** 2))
    noise = np.real(np.fft.ifft2(spectrum))
    return (noise - noise.min()) / (np.ptp(noise) + 1e-8)


def _tint(gray: np.ndarray, dark, light) -> np.ndarray:
    dark, light = np.asarray(dark, np.float32), np.asarray(light, np.float32)
    return dark + gray[..., None] * (light - dark)


@lru_cache(maxsize=4)
def _textures(size: int) -> np.ndarray:
    """(len(BACKGROUNDS), T, T, 3) float32 texture sheets, T = 3 * size, from which crops are taken."""
    from skimage import data, transform

    t = 3 * size
    rng = np.random.default_rng(12345)  # fixed: the textures are part of the data set's definition

    def photo(name: str) -> np.ndarray:
        img = getattr(data, name)().astype(np.float32)
        img = transform.resize(img, (t, t), anti_aliasing=True)
        return (img - img.min()) / (np.ptp(img) + 1e-8)

    snow = 0.85 + 0.1 * _smooth_noise(rng, t, size / 6) + 0.05 * (rng.random((t, t)) > 0.97)
    sky_clouds = np.clip(_smooth_noise(rng, t, size / 4) * 1.6 - 0.7, 0, 1)
    sand = 0.55 * _smooth_noise(rng, t, size / 10) + 0.45 * rng.random((t, t))
    rows = np.arange(t)[:, None] / t
    waves = 0.5 + 0.5 * np.sin(2 * np.pi * (rows * 9 + 0.08 * _smooth_noise(rng, t, size / 5) * 9))
    sheets = {
        "snow": _tint(np.clip(snow, 0, 1), (0.72, 0.78, 0.86), (1.0, 1.0, 1.0)),
        "grass": _tint(photo("grass"), (0.05, 0.22, 0.03), (0.55, 0.85, 0.30)),
        "gravel": _tint(photo("gravel"), (0.22, 0.20, 0.18), (0.78, 0.74, 0.68)),
        "brick": _tint(photo("brick"), (0.35, 0.10, 0.06), (0.90, 0.55, 0.40)),
        "sky": _tint(sky_clouds, (0.35, 0.60, 0.92), (0.97, 0.98, 1.0)),
        "sand": _tint(sand, (0.78, 0.66, 0.42), (0.96, 0.88, 0.66)),
        "water": _tint(0.6 * waves + 0.4 * _smooth_noise(rng, t, size / 8), (0.05, 0.25, 0.45), (0.25, 0.55, 0.75)),
    }
    return np.stack([sheets[name] for name in BACKGROUNDS]).astype(np.float32)


def render_backgrounds(background_ids: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """(N, size, size, 3) random crops of the given backgrounds, with random flips and brightness."""
    sheets = _textures(size)
    n, t = len(background_ids), sheets.shape[1]
    oy, ox = rng.integers(0, t - size, n), rng.integers(0, t - size, n)
    flip = rng.random(n) < 0.5
    gain = rng.uniform(0.85, 1.1, n).astype(np.float32)
    crops = np.empty((n, size, size, 3), np.float32)
    for i in range(n):
        crop = sheets[background_ids[i], oy[i]:oy[i] + size, ox[i]:ox[i] + size]
        crops[i] = crop[:, ::-1] if flip[i] else crop
    crops *= gain[:, None, None, None]
    return np.clip(crops, 0, 1, out=crops)


# ---------------------------------------------------------------------------------------
# shape primitives on canonical coordinates u, v of shape (N, H, W); y points down


def _ellipse(u, v, cx, cy, rx, ry):
    return ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2 <= 1.0


def _segment(u, v, x0, y0, x1, y1, width):
    """Thick line ("capsule") from (x0, y0) to (x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((u - x0) * dx + (v - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return (u - x0 - t * dx) ** 2 + (v - y0 - t * dy) ** 2 <= (width / 2) ** 2


def _triangle(u, v, a, b, c):
    def side(p, q):
        return (u - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (v - q[1])

    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    return ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))


def _box(u, v, cx, cy, hw, hh):
    return (np.abs(u - cx) <= hw) & (np.abs(v - cy) <= hh)


def _arc(u, v, cx, cy, radius, width, start, stop):
    """Part of a ring between angles ``start`` and ``stop`` (radians, measured from +u towards +v)."""
    r = np.sqrt((u - cx) ** 2 + (v - cy) ** 2)
    angle = np.mod(np.arctan2(v - cy, u - cx) - start, 2 * np.pi)
    return (np.abs(r - radius) <= width / 2) & (angle <= np.mod(stop - start, 2 * np.pi))


# Each drawer returns a list of (mask, colour) parts painted in order; ``c`` holds the
# per-image colours as (N, 3) arrays and ``j`` per-image jitter (N, 1, 1) arrays.

ORANGE = (0.95, 0.55, 0.1)
BLACK = (0.05, 0.05, 0.05)


def _goose(u, v, c, j):
    neck_top = (0.55 + 0.05 * j["a"], -0.72)
    return [
        (_segment(u, v, -0.05, 0.3, -0.12 + 0.05 * j["b"], 0.95, 0.07), ORANGE),
        (_segment(u, v, 0.15, 0.3, 0.2 + 0.05 * j["a"], 0.95, 0.07), ORANGE),
        (_segment(u, v, -0.12, 0.95, 0.0, 0.95, 0.07), ORANGE),
        (_segment(u, v, 0.2, 0.95, 0.32, 0.95, 0.07), ORANGE),
        (_ellipse(u, v, 0.0, 0.1, 0.55, 0.3), c["main"]),
        (_triangle(u, v, (-0.5, 0.0), (-0.75, -0.15), (-0.55, 0.2)), c["main"]),
        (_segment(u, v, 0.35, -0.02, *neck_top, 0.15), c["main"]),
        (_ellipse(u, v, neck_top[0] + 0.05, -0.78, 0.16, 0.12), c["main"]),
        (_triangle(u, v, (neck_top[0] + 0.17, -0.83), (neck_top[0] + 0.42, -0.76), (neck_top[0] + 0.17, -0.72)), ORANGE),
        (_ellipse(u, v, neck_top[0] + 0.09, -0.81, 0.035, 0.035), BLACK),
    ]


def _canine(u, v, c, j, curled_tail: bool):
    parts = []
    for x in (-0.4, -0.25, 0.3, 0.45):  # legs
        parts.append((_segment(u, v, x, 0.1, x + 0.04 * j["a"], 0.7, 0.12), c["main"]))
    if curled_tail:  # husky: a ring curled up over the back
        parts.append((_arc(u, v, -0.55, -0.32, 0.17, 0.1, 0.35 * np.pi, 1.95 * np.pi), c["main"]))
    else:  # wolf: a straight tail hanging down
        parts.append((_segment(u, v, -0.5, -0.05, -0.78, 0.42 + 0.05 * j["b"], 0.13), c["main"]))
    parts += [
        (_ellipse(u, v, 0.0, 0.0, 0.58, 0.24), c["main"]),
        (_segment(u, v, 0.4, -0.05, 0.58, -0.3, 0.2), c["main"]),
        (_ellipse(u, v, 0.62, -0.35, 0.2, 0.16), c["main"]),
        (_ellipse(u, v, 0.82, -0.3, 0.14, 0.075), c["light"]),
        (_ellipse(u, v, 0.95, -0.32, 0.035, 0.035), BLACK),
        (_triangle(u, v, (0.48, -0.42), (0.5, -0.68), (0.62, -0.46)), c["main"]),
        (_triangle(u, v, (0.62, -0.46), (0.68, -0.7), (0.76, -0.44)), c["main"]),
        (_ellipse(u, v, 0.68, -0.38, 0.03, 0.03), BLACK),
    ]
    return parts


def _husky(u, v, c, j):
    return _canine(u, v, c, j, curled_tail=True)


def _wolf(u, v, c, j):
    return _canine(u, v, c, j, curled_tail=False)


def _car(u, v, c, j):
    return [
        (_box(u, v, 0.0, 0.1, 0.85, 0.2), c["main"]),
        (_triangle(u, v, (-0.5, -0.1), (-0.3, -0.45), (0.0, -0.1)) | _box(u, v, 0.02, -0.27, 0.33, 0.17)
         | _triangle(u, v, (0.35, -0.1), (0.35, -0.44), (0.55, -0.1)), c["main"]),
        (_box(u, v, -0.13, -0.25, 0.15, 0.11) | _box(u, v, 0.2, -0.25, 0.14, 0.11), (0.75, 0.9, 1.0)),
        (_ellipse(u, v, -0.5, 0.32, 0.2, 0.2) | _ellipse(u, v, 0.5, 0.32, 0.2, 0.2), BLACK),
        (_ellipse(u, v, -0.5, 0.32, 0.08, 0.08) | _ellipse(u, v, 0.5, 0.32, 0.08, 0.08), (0.7, 0.7, 0.7)),
        (_box(u, v, 0.8, 0.02, 0.05, 0.05), (1.0, 0.9, 0.3)),
    ]


def _house(u, v, c, j):
    return [
        (_box(u, v, 0.0, 0.3, 0.55, 0.5), c["main"]),
        (_triangle(u, v, (-0.72, -0.18), (0.72, -0.18), (0.0, -0.85)), c["dark"]),
        (_box(u, v, 0.22, 0.53, 0.14, 0.27), c["dark"]),
        (_box(u, v, -0.25, 0.2, 0.14, 0.13), (0.75, 0.9, 1.0)),
        (_box(u, v, 0.45, -0.5, 0.07, 0.17), c["dark"]),
    ]


def _fish(u, v, c, j):
    return [
        (_triangle(u, v, (-0.45, 0.0), (-0.95, -0.4 - 0.05 * j["a"]), (-0.95, 0.4 + 0.05 * j["b"])), c["dark"]),
        (_triangle(u, v, (-0.2, -0.2), (0.15, -0.2), (-0.15, -0.55)), c["dark"]),
        (_ellipse(u, v, 0.0, 0.0, 0.6, 0.32), c["main"]),
        (_arc(u, v, 0.25, 0.0, 0.3, 0.04, -0.45 * np.pi, 0.45 * np.pi), c["dark"]),
        (_ellipse(u, v, 0.38, -0.08, 0.07, 0.07), (1.0, 1.0, 1.0)),
        (_ellipse(u, v, 0.4, -0.08, 0.035, 0.035), BLACK),
    ]


def _flower(u, v, c, j):
    parts = [
        (_segment(u, v, 0.0, -0.2, 0.05 * j["a"], 0.95, 0.08), (0.15, 0.55, 0.15)),
        (_ellipse(u, v, 0.22, 0.5, 0.2, 0.08), (0.15, 0.55, 0.15)),
    ]
    for k in range(6):
        a = k * np.pi / 3 + 0.3 * j["b"]
        parts.append((_ellipse(u, v, 0.3 * np.cos(a), -0.35 + 0.3 * np.sin(a), 0.17, 0.17), c["main"]))
    parts.append((_ellipse(u, v, 0.0, -0.35, 0.16, 0.16), (0.95, 0.8, 0.1)))
    return parts


def _butterfly(u, v, c, j):
    return [
        (_ellipse(u, v, -0.38, -0.3, 0.36, 0.32) | _ellipse(u, v, 0.38, -0.3, 0.36, 0.32), c["main"]),
        (_ellipse(u, v, -0.3, 0.3, 0.26, 0.26) | _ellipse(u, v, 0.3, 0.3, 0.26, 0.26), c["main"]),
        (_ellipse(u, v, -0.4, -0.3, 0.11, 0.11) | _ellipse(u, v, 0.4, -0.3, 0.11, 0.11), c["light"]),
        (_ellipse(u, v, 0.0, 0.0, 0.07, 0.55), BLACK),
        (_segment(u, v, 0.0, -0.5, -0.25, -0.85, 0.04) | _segment(u, v, 0.0, -0.5, 0.25, -0.85, 0.04), BLACK),
    ]


_DRAWERS = {
    "goose": _goose, "husky": _husky, "wolf": _wolf, "car": _car,
    "house": _house, "fish": _fish, "flower": _flower, "butterfly": _butterfly,
}
# colour families for the main colour (RGB low/high); husky and wolf share theirs on purpose
_PALETTE = {
    "goose": ((0.55, 0.55, 0.55), (1.0, 1.0, 1.0)),
    "husky": ((0.3, 0.27, 0.25), (0.8, 0.76, 0.72)),
    "wolf": ((0.3, 0.27, 0.25), (0.8, 0.76, 0.72)),
    "car": ((0.1, 0.1, 0.1), (1.0, 1.0, 1.0)),
    "house": ((0.6, 0.5, 0.35), (1.0, 0.95, 0.85)),
    "fish": ((0.6, 0.3, 0.0), (1.0, 0.8, 0.3)),
    "flower": ((0.6, 0.1, 0.3), (1.0, 0.6, 0.9)),
    "butterfly": ((0.2, 0.1, 0.5), (1.0, 0.6, 0.2)),
}


def _draw_class(name: str, n: int, size: int, rng: np.random.Generator, centered: bool = False):
    """(n, size, size, 3) object colours and (n, size, size) bool masks for one class.

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

    low, high = (np.asarray(p, f32) for p in _PALETTE[name])
    main = low + rng.random((n, 1), dtype=f32) * (high - low) * rng.uniform(0.8, 1.0, (n, 3)).astype(f32)
    colours = {
        "main": main,
        "light": np.clip(main * 1.3 + 0.15, 0, 1),
        "dark": main * 0.55,
    }
    jitter = {k: rng.uniform(-1, 1, n).astype(f32)[:, None, None] for k in ("a", "b")}

    # paint part numbers (later parts on top), then look every pixel's colour up at once
    parts = _DRAWERS[name](u, v, colours, jitter)
    part_id = np.zeros((n, size, size), np.uint8)
    table = np.zeros((n, len(parts) + 2, 3), f32)  # 0: no object, last: outline
    for k, (part, colour) in enumerate(parts, start=1):
        part_id[np.broadcast_to(part, part_id.shape)] = k
        table[:, k] = colour
    mask = part_id > 0
    # a dark outline, one pixel wide, just inside the mask: every object pixel differs from the background
    inner = mask.copy()
    inner[:, 1:, :] &= mask[:, :-1, :]
    inner[:, :-1, :] &= mask[:, 1:, :]
    inner[:, :, 1:] &= mask[:, :, :-1]
    inner[:, :, :-1] &= mask[:, :, 1:]
    part_id[mask & ~inner] = len(parts) + 1
    table[:, -1] = 0.08
    fg = table[np.arange(n)[:, None, None], part_id]
    return fg, mask


#: the parts of the goose, as positions in the list ``_goose`` draws: legs and feet, body and tail, neck and head
GOOSE_PARTS = {"legs": range(0, 4), "body": range(4, 6), "neck": range(6, 10)}


def centered_goose_parts(size: int = 64) -> dict[str, torch.Tensor]:
    """Where ``make_toy_zoo(centered=True)`` draws the goose's parts: {"neck", "body", "legs"} -> (size, size) bool.

    The goose at the centre, at the average centred size, upright and unjittered, drawn by the
    same code as the data (a part drawn later covers an earlier one, as in the images). The neck
    region includes the head. Used to check that a class model has a goose's layout (notebook 06).
    """
    scale = 0.38 * size
    pix = (np.arange(size, dtype=np.float32) + 0.5 - size / 2) / scale
    u, v = np.meshgrid(pix, pix)
    colour = np.zeros((1, 3), np.float32)
    jitter = {k: np.zeros((1, 1, 1), np.float32) for k in ("a", "b")}
    drawn = _goose(u[None], v[None], {"main": colour, "light": colour, "dark": colour}, jitter)
    part_id = np.full((size, size), -1)
    for k, (part, _) in enumerate(drawn):
        part_id[np.broadcast_to(part, (1, size, size))[0]] = k
    return {name: torch.from_numpy(np.isin(part_id, list(ids))) for name, ids in GOOSE_PARTS.items()}


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
    backgrounds (n,).
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
    home = np.array([BACKGROUNDS.index(HOME_BACKGROUND[c]) for c in classes])[labels]
    if bias is None:
        backgrounds = rng.integers(0, n_bg, n)
    else:
        other = (home + rng.integers(1, n_bg, n)) % n_bg  # uniform over the backgrounds that are not home
        backgrounds = np.where(rng.random(n) < bias, home, other)

    images = render_backgrounds(backgrounds, size, rng)
    masks = np.zeros((n, size, size), bool)
    for k, name in enumerate(classes):
        idx = np.flatnonzero(labels == k)
        if len(idx):
            fg, mask = _draw_class(name, len(idx), size, rng, centered)
            images[idx] = np.where(mask[..., None], fg, images[idx])
            masks[idx] = mask
    return ToyZoo(
        images=torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))),
        labels=torch.from_numpy(labels.astype(np.int64)),
        masks=torch.from_numpy(masks),
        backgrounds=torch.from_numpy(backgrounds.astype(np.int64)),
        classes=classes,
    )


# ---------------------------------------------------------------------------------------
# background interventions: the same objects on other backgrounds


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
    """The same objects (pixels inside each mask, labels, masks) on freshly drawn backgrounds.

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
    (N, 3, H, W), the same labels and masks, and the new ``backgrounds`` (N,).
    """
    if not isinstance(zoo, ToyZoo):
        raise TypeError(f"zoo: expected a ToyZoo (from make_toy_zoo), got {type(zoo).__name__}")
    rng = np.random.default_rng(seed)
    ids = _background_ids(background, zoo, rng)
    images = paint_background(zoo.images, zoo.masks, ids, seed=int(rng.integers(2**31)))
    return ToyZoo(images, zoo.labels.clone(), zoo.masks.clone(), torch.from_numpy(ids).to(zoo.backgrounds.device),
                  zoo.classes, zoo.background_names)


def paint_background(images: torch.Tensor, masks: torch.Tensor, background, seed: int = 0) -> torch.Tensor:
    """(N, 3, H, W) ``images`` with everything outside ``masks`` replaced by a fresh background.

    images: (N, 3, H, W) float with H == W (any source, e.g. a single Toy Zoo image ``zoo.images[:1]``);
    masks: (N, H, W) bool, True on the pixels to keep; background: a name from ``BACKGROUNDS``,
    a list of N names, or an (N,) array/tensor of indices. Deterministic for a given ``seed``.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or images.shape[1] != 3 \
            or images.shape[2] != images.shape[3] or not images.is_floating_point():
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images: expected a float tensor (N, 3, H, H) of square RGB images, got {shape}")
    n, size = images.shape[0], images.shape[-1]
    if not isinstance(masks, torch.Tensor) or masks.dtype != torch.bool or tuple(masks.shape) != (n, size, size):
        shape = tuple(masks.shape) if isinstance(masks, torch.Tensor) else type(masks).__name__
        raise ValueError(f"masks: expected a bool tensor of shape {(n, size, size)}, got {shape}")
    if isinstance(background, str):
        background = [background] * n
    if isinstance(background, (list, tuple)):
        unknown = [b for b in background if b not in BACKGROUNDS]
        if unknown or len(background) != n:
            raise ValueError(f"background: expected a name (or {n} names) from {BACKGROUNDS}, "
                             f"got {list(background)[:5]}")
        ids = np.array([BACKGROUNDS.index(b) for b in background])
    else:
        ids = np.asarray(background.cpu() if isinstance(background, torch.Tensor) else background)
        valid = ids.shape == (n,) and np.issubdtype(ids.dtype, np.integer)
        if not valid or ((ids < 0) | (ids >= len(BACKGROUNDS))).any():
            raise ValueError(f"background: expected {n} indices into BACKGROUNDS (0..{len(BACKGROUNDS) - 1})")
    crops = render_backgrounds(ids, size, np.random.default_rng(seed))
    fresh = torch.from_numpy(np.ascontiguousarray(crops.transpose(0, 3, 1, 2))).to(images.device, images.dtype)
    return torch.where(masks.to(images.device)[:, None], images, fresh)
