"""Real photos that ship inside installed packages (scikit-image, matplotlib; no download), as tensors in [0, 1]."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: colour photos bundled with scikit-image and matplotlib, with what they show
PHOTOS = {
    "chelsea": "a tabby cat",
    "coffee": "a cup of coffee",
    "astronaut": "an astronaut (Eileen Collins)",
    "rocket": "a rocket on its launch pad",
    "motorcycle": "a motorcycle (left image of a stereo pair)",
    "grace_hopper": "Grace Hopper in uniform",
}


def to_tensor(image: np.ndarray, size: int) -> torch.Tensor:
    """An (H, W, 3) uint8 or float array -> (3, size, size) float32 in [0, 1].

    The largest centred square is cut out, then resized with antialiasing.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.ndim != 3 or array.shape[-1] not in (3, 4):
        raise ValueError(f"image: expected an (H, W, 3) colour image, got shape {array.shape}")
    x = torch.from_numpy(np.array(array[..., :3])).permute(2, 0, 1).float()
    if array.dtype == np.uint8:
        x = x / 255.0
    h, w = x.shape[1:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[:, top:top + side, left:left + side]
    x = F.interpolate(x[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    return x.clamp(0, 1)


def load_photos(names: list[str] | tuple[str, ...] | None = None, size: int = 224) -> torch.Tensor:
    """(N, 3, size, size) float32 in [0, 1]: the named photos from ``PHOTOS`` (default: all, in order),
    each the largest centred square of the photo, resized."""

    names = list(PHOTOS) if names is None else list(names)
    unknown = [n for n in names if n not in PHOTOS]
    if unknown or not names:
        raise ValueError(f"names: expected names from {list(PHOTOS)}, got {names}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"size: expected an integer of at least 8 pixels, got {size!r}")
    return torch.stack([to_tensor(_photo(n), size) for n in names])


def _photo(name: str) -> np.ndarray:
    """The (H, W, 3) uint8 photo ``name`` from the package that ships it."""
    if name == "grace_hopper":
        import matplotlib.cbook
        from PIL import Image

        with Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")) as image:
            return np.asarray(image.convert("RGB"))
    from skimage import data

    if name == "motorcycle":
        return data.stereo_motorcycle()[0]
    return getattr(data, name)()
