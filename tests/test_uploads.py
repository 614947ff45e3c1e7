"""The upload decoder: valid images of several kinds are decoded in memory; non-images, corrupt,
truncated and oversized files are refused with a plain-language message, never a traceback.
"""
import builtins
import io
import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from helpers.uploads import (COLAB_UPLOAD_BUTTON_BYTES, MAX_UPLOAD_BYTES, UploadError, load_uploaded_image,
                             upload_button_limit)


def encode(array: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    picture = Image.fromarray(array)
    (picture.convert(mode) if mode else picture).save(buffer, fmt)
    return buffer.getvalue()


def red(h=60, w=90) -> np.ndarray:
    array = np.zeros((h, w, 3), np.uint8)
    array[..., 0] = 200
    return array


@pytest.mark.parametrize("fmt, mode", [("PNG", None), ("JPEG", None), ("GIF", None), ("BMP", None), ("WEBP", None),
                                       ("TIFF", None), ("PNG", "L"), ("PNG", "P")])
def test_valid_images_decode_to_a_square_tensor_in_0_1(fmt, mode):
    image = load_uploaded_image(encode(red(), fmt, mode), 32)
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1
    if mode is None:  # the colour survives (lossy formats: roughly)
        assert abs(float(image[0].mean()) - 200 / 255) < 0.05 and float(image[1:].mean()) < 0.05


def test_transparent_pixels_become_white_and_16_bit_grey_is_scaled():
    rgba = np.zeros((20, 20, 4), np.uint8)  # fully transparent black
    assert torch.allclose(load_uploaded_image(encode(rgba), 16), torch.ones(3, 16, 16))
    ramp = (np.arange(400).reshape(20, 20) * 100).astype(np.uint16)
    grey = load_uploaded_image(encode(ramp), 16)
    assert grey.min() >= 0 and grey.max() <= 1 and grey.max() - grey.min() > 0.8


def test_a_text_file_is_refused_with_a_clear_message():
    with pytest.raises(UploadError, match="text file, not an image") as info:
        load_uploaded_image(b"name,score\ncat,0.9\n", 32)
    assert isinstance(info.value, ValueError) and "PNG, JPEG" in info.value.reason


def test_binary_garbage_and_a_pdf_are_not_images():
    for content in (bytes(range(256)) * 8, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + bytes(300)):
        with pytest.raises(UploadError, match="not an image file"):
            load_uploaded_image(content, 32)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_images_are_refused_as_corrupt(fmt):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    content = encode(noise, fmt)
    for cut in (len(content) // 2, 60):
        with pytest.raises(UploadError, match=f"looks like a {fmt} image but could not be decoded.*corrupt or truncated"):
            load_uploaded_image(content[:cut], 32)


def test_oversized_payloads_and_images_are_refused_before_decoding():
    huge = b"\x89PNG\r\n\x1a\n" + bytes(MAX_UPLOAD_BYTES)
    with pytest.raises(UploadError, match=r"too large \(8\.0 MB\); the limit is 8\.0 MB"):
        load_uploaded_image(huge, 32)
    with pytest.raises(UploadError, match="too large"):
        load_uploaded_image(encode(red()), 32, max_bytes=100)
    many_pixels = io.BytesIO()
    Image.new("L", (10_000, 5_000)).save(many_pixels, "PNG")  # a 50-megapixel image in a small file
    with pytest.raises(UploadError, match="10000 × 5000 pixels.*40 million"):
        load_uploaded_image(many_pixels.getvalue(), 32)
    with pytest.raises(UploadError, match="too large.*40 million"):  # a header Pillow itself refuses to decode
        load_uploaded_image(png_claiming(20_000, 10_000), 32)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def test_a_float_image_with_infinite_and_nan_values_is_still_finite():
    values = np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)
    values[0, 0], values[0, 1], values[0, 2] = np.inf, -np.inf, np.nan
    buffer = io.BytesIO()
    Image.fromarray(values, mode="F").save(buffer, "TIFF")
    image = load_uploaded_image(buffer.getvalue(), 16)
    assert image.shape == (3, 16, 16) and torch.isfinite(image).all() and image.min() >= 0 and image.max() <= 1


def test_empty_tiny_and_wrongly_typed_uploads():
    with pytest.raises(UploadError, match="empty"):
        load_uploaded_image(b"", 32)
    with pytest.raises(UploadError, match="too small"):
        load_uploaded_image(encode(red(4, 4)), 32)
    with pytest.raises(TypeError, match="content: expected the file's bytes"):
        load_uploaded_image("picture.png", 32)
    with pytest.raises(ValueError, match="size"):
        load_uploaded_image(encode(red()), 2)
    assert load_uploaded_image(memoryview(encode(red())), 16).shape == (3, 16, 16)
    assert load_uploaded_image(bytearray(encode(red())), 16).shape == (3, 16, 16)


def test_decoding_writes_nothing_to_disk(monkeypatch):
    contents = [encode(red(), fmt) for fmt in ("PNG", "JPEG", "GIF", "TIFF")]
    load_uploaded_image(contents[0], 16)  # Pillow's plugins are imported before the watch starts
    opened = []
    real_open, real_os_open = builtins.open, os.open

    def watch_open(file, mode="r", *args, **kwargs):
        opened.append((file, mode))
        return real_open(file, mode, *args, **kwargs)

    def watch_os_open(path, flags, *args, **kwargs):
        opened.append((path, flags))
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", watch_open)
    monkeypatch.setattr(os, "open", watch_os_open)
    for content in contents + [b"not an image", contents[0][:100]]:
        try:
            load_uploaded_image(content, 16)
        except UploadError:
            pass
    assert opened == []


def test_the_upload_button_limit_is_colabs_in_colab(monkeypatch):
    import sys
    import types

    assert upload_button_limit() == MAX_UPLOAD_BYTES
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert upload_button_limit() == COLAB_UPLOAD_BUTTON_BYTES < 1_000_000


def test_the_decoder_needs_no_widgets():
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).resolve().parents[1] / "helpers" / "uploads.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any("widgets" in name or "explorers" in name for name in imported), imported
