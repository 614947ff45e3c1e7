"""The Toy Zoo's backgrounds: texture sheets, random crops of them, and repainting behind an object.

Each class has "its" background (``HOME_BACKGROUND``); ``make_toy_zoo``'s ``bias`` is the
probability that an image of the class is drawn on it.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .animals import CLASSES

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


def home_background_ids(classes=CLASSES) -> torch.Tensor:
    """(K,) int64: the index into ``BACKGROUNDS`` of each class's home background.

    classes: a list or tuple of K class names (e.g. ``zoo.classes``), so
    ``home_background_ids(zoo.classes)[zoo.labels]`` is each image's home background.
    """
    if not isinstance(classes, (list, tuple)) or not all(isinstance(c, str) and c in HOME_BACKGROUND for c in classes):
        raise ValueError(f"classes: expected a sequence of names from {CLASSES}, got {classes!r}")
    return torch.tensor([BACKGROUNDS.index(HOME_BACKGROUND[c]) for c in classes], dtype=torch.int64)


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


@lru_cache(maxsize=4)
def _textures_channels_first(size: int) -> np.ndarray:
    """(len(BACKGROUNDS), 3, T, T) float32: ``_textures(size)`` with the channels first."""
    return np.ascontiguousarray(_textures(size).transpose(0, 3, 1, 2))


def render_backgrounds(background_ids: np.ndarray, size: int, rng: np.random.Generator,
                       channels_first: bool = False) -> np.ndarray:
    """(N, size, size, 3) random crops of the given (N,) backgrounds, with random flips and brightness.

    channels_first: return (N, 3, size, size) instead (the same crops, for the tensors' layout).
    """
    # (B, T, T, 3) sheets and (N, size, size, 3) crops, as views when the channels come first
    sheets = _textures_channels_first(size).transpose(0, 2, 3, 1) if channels_first else _textures(size)
    n, t = len(background_ids), sheets.shape[1]
    oy, ox = rng.integers(0, t - size, n), rng.integers(0, t - size, n)
    flip = rng.random(n) < 0.5
    gain = rng.uniform(0.85, 1.1, n).astype(np.float32)
    crops = np.empty((n, 3, size, size) if channels_first else (n, size, size, 3), np.float32)
    pixels = crops.transpose(0, 2, 3, 1) if channels_first else crops
    for i in range(n):
        crop = sheets[background_ids[i], oy[i]:oy[i] + size, ox[i]:ox[i] + size]
        pixels[i] = crop[:, ::-1] if flip[i] else crop
    crops *= gain[:, None, None, None]
    return np.clip(crops, 0, 1, out=crops)


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
    crops = render_backgrounds(ids, size, np.random.default_rng(seed), channels_first=True)
    fresh = torch.from_numpy(crops).to(images.device, images.dtype)
    return torch.where(masks.to(images.device)[:, None], images, fresh)
