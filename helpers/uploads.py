"""Uploaded image files, decoded in memory: ``load_uploaded_image(content, size)``.

The bytes of an uploaded file (as ipywidgets' ``FileUpload`` or Colab's ``files.upload()`` hand them
over) become a (3, size, size) float32 tensor in [0, 1]; non-images, corrupt, truncated and
oversized files are refused with an ``UploadError`` whose ``reason`` says in plain words what is
wrong. Nothing is written to disk. No widget is needed here: the explorers (``helpers.explorers``)
build their upload button on top of this module.
"""
from __future__ import annotations

import io
import sys
import warnings

import numpy as np
import torch

from .photos import to_tensor

__all__ = [
    "MAX_UPLOAD_BYTES", "COLAB_UPLOAD_BUTTON_BYTES", "MAX_UPLOAD_PIXELS", "MIN_UPLOAD_SIDE", "UPLOAD_FORMATS",
    "UPLOAD_FORMAT_NAMES", "UPLOAD_EXTENSIONS", "UploadError", "describe_bytes", "in_colab", "load_uploaded_image",
    "upload_button_limit",
]

#: the largest upload accepted, in bytes (8 MiB: a phone photo fits, a video or a disk image does not;
#: Jupyter's server passes websocket messages up to 10 MiB, and the file travels in one message)
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
#: the largest file Colab's upload button delivers: with a file of 1 MB or more the button counts
#: one file but the widget's value stays empty and the runtime reconnects (ipywidgets issue #3452)
COLAB_UPLOAD_BUTTON_BYTES = 1_000_000 - 1
#: the most pixels an uploaded image may have (width × height; 40 million: a 48-megapixel camera's
#: photos are refused, anything smaller is decoded, then shrunk)
MAX_UPLOAD_PIXELS = 40_000_000
#: the file formats an upload may be in (Pillow's names); nothing else is even tried
UPLOAD_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
#: the same formats in words, for messages
UPLOAD_FORMAT_NAMES = "PNG, JPEG, GIF, BMP, WebP or TIFF"
#: the file name endings an upload button offers (the formats above)
UPLOAD_EXTENSIONS = ("png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff")
#: the smallest side, in pixels, an uploaded image (and the requested size) may have
MIN_UPLOAD_SIDE = 8


class UploadError(ValueError):
    """An upload that cannot be used; ``reason`` is the plain-language explanation shown to the learner."""

    def __init__(self, reason: str):
        super().__init__(f"content: {reason}")
        self.reason = reason


def describe_bytes(n: int) -> str:
    """``n`` bytes in words: "8.0 MB", "977 kB"."""
    return f"{n / 2**20:.1f} MB" if n >= 2**20 else f"{n / 2**10:.0f} kB"


def in_colab() -> bool:
    """Whether this runs in Google Colab."""
    return "google.colab" in sys.modules


def upload_button_limit() -> int:
    """The largest file, in bytes, the upload button can deliver where this runs (Colab or Jupyter)."""
    return COLAB_UPLOAD_BUTTON_BYTES if in_colab() else MAX_UPLOAD_BYTES


def load_uploaded_image(content, size: int = 64, *, max_bytes: int = MAX_UPLOAD_BYTES,
                        max_pixels: int = MAX_UPLOAD_PIXELS) -> torch.Tensor:
    """Decode the bytes of an uploaded image file into a (3, size, size) float32 tensor in [0, 1].

    content: the file's bytes (``bytes``, ``bytearray`` or ``memoryview``, as ipywidgets'
        ``FileUpload`` hands them over).
    size: side of the square result; the largest centred square is cut out and resized
        (``helpers.photos.to_tensor``).
    max_bytes, max_pixels: limits on the file size and on width × height.

    Decoding happens in memory (Pillow on a ``BytesIO``); nothing is written to disk. Only the
    formats in ``UPLOAD_FORMATS`` are tried. Transparent pixels are shown on white, a
    rotated-camera EXIF tag is applied, the first frame of an animation is used.

    Raises ``UploadError`` (a ``ValueError``) whose ``reason`` says in plain words what is wrong:
    empty, too large, not an image, corrupt or truncated, too many or too few pixels.
    """
    from PIL import Image, ImageOps

    if isinstance(content, (bytes, bytearray)):
        view = memoryview(content)
    elif isinstance(content, memoryview):
        view = content
    else:
        raise TypeError(f"content: expected the file's bytes (bytes, bytearray or memoryview), "
                        f"got {type(content).__name__}")
    if isinstance(size, bool) or not isinstance(size, int) or size < MIN_UPLOAD_SIDE:
        raise ValueError(f"size: expected an integer of at least {MIN_UPLOAD_SIDE} pixels, got {size!r}")
    n_bytes = view.nbytes
    if n_bytes == 0:
        raise UploadError("the file is empty.")
    if n_bytes > max_bytes:
        raise UploadError(f"the file is too large ({describe_bytes(n_bytes)}); the limit is "
                          f"{describe_bytes(max_bytes)}. Try a smaller or resized image.")
    stream = io.BytesIO(view.tobytes())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's warnings (e.g. odd EXIF data) are not the learner's business
        try:
            picture = Image.open(stream, formats=UPLOAD_FORMATS)
        except Image.DecompressionBombError:  # the header claims far more pixels than max_pixels
            raise UploadError(f"the image is too large (more pixels than Pillow decodes safely); the limit is "
                              f"{max_pixels / 1e6:.0f} million pixels. Try a resized copy.") from None
        except (OSError, SyntaxError, ValueError):  # UnidentifiedImageError is an OSError
            raise UploadError(_not_readable(stream.getvalue())) from None
        with picture:
            kind = picture.format or "image"
            width, height = picture.size
            if width * height > max_pixels:
                raise UploadError(f"the image is too large ({width} × {height} pixels); the limit is "
                                  f"{max_pixels / 1e6:.0f} million pixels. Try a resized copy.")
            if min(width, height) < MIN_UPLOAD_SIDE:
                raise UploadError(f"the image is too small ({width} × {height} pixels); "
                                  f"it needs at least {MIN_UPLOAD_SIDE} pixels on each side.")
            try:
                if kind == "JPEG":
                    picture.draft("RGB", (2 * size, 2 * size))  # decode a JPEG at a reduced scale: faster, less memory
                picture.load()
                array = _to_array(ImageOps.exif_transpose(picture), size)
            except MemoryError:  # the machine, not the file: say so by not hiding it
                raise
            except Exception:  # noqa: BLE001 -- any other decoder failure means a broken file
                raise UploadError(f"the file looks like a {kind} image but could not be decoded: "
                                  "it is corrupt or truncated.") from None
    return to_tensor(array, size)


_MAGIC = ((b"\x89PNG", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF8", "GIF"), (b"BM", "BMP"),
          (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))


def _not_readable(data: bytes) -> str:
    """Why Pillow could not even open ``data``: a broken image of a known format, text, or something else."""
    kind = next((name for magic, name in _MAGIC if data.startswith(magic)), None)
    if kind is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        kind = "WebP"
    if kind is not None:
        return f"the file looks like a {kind} image but could not be decoded: it is corrupt or truncated."
    head = data[:1024]
    try:
        is_text = b"\x00" not in head and bool(head.decode("utf-8", errors="strict").strip())
    except UnicodeDecodeError:  # a multi-byte character cut at 1024 bytes still counts as text
        is_text = b"\x00" not in head and bool(head[:-4].decode("utf-8", errors="ignore").strip())
    if is_text:
        return f"this is a text file, not an image (expected {UPLOAD_FORMAT_NAMES})."
    return f"this is not an image file that can be read (expected {UPLOAD_FORMAT_NAMES})."


def _to_array(picture, size: int) -> np.ndarray:
    """A Pillow image -> (H, W, 3) uint8 or (H, W) float in [0, 1], shrunk to at most ~4 × size on the short side."""
    from PIL import Image

    factor = min(picture.size) // (4 * size)
    if factor > 1 and picture.mode in ("L", "LA", "RGB", "RGBA", "I", "F"):  # shrink first: less memory and time
        picture = picture.reduce(factor)
    if picture.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):  # 16-bit / 32-bit grey
        array = np.array(picture, dtype=np.float32)
        finite = np.isfinite(array)
        if not finite.any():
            raise ValueError("no finite pixel values")
        low, high = float(array[finite].min()), float(array[finite].max())
        array = np.nan_to_num(array, nan=low, posinf=high, neginf=low)  # NaN → darkest, ±inf → the extremes
        return (array - low) / (high - low) if high > low else np.zeros_like(array)
    if picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info):
        rgba = picture.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        picture = Image.alpha_composite(white, rgba)
    picture = picture.convert("RGB")
    factor = min(picture.size) // (4 * size)
    if factor > 1:
        picture = picture.reduce(factor)
    return np.array(picture)  # a writable copy
