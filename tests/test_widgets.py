"""The interactive explorers, headless: set the controls as a learner would, check what they show.

Also the upload decoder: valid images of several kinds are decoded in memory; non-images, corrupt,
truncated and oversized files are refused with a plain-language message, never a traceback.
"""
import builtins
import datetime as dt
import io
import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import CLASSES, ZooNet, load_model, make_toy_zoo
from helpers.widgets import (MAX_UPLOAD_BYTES, SALIENCY_METHODS, ClassModelExplorer, SaliencyExplorer, UploadError,
                             class_model_explorer, default_gallery, load_uploaded_image, saliency_explorer)


def encode(array: np.ndarray, fmt: str = "PNG", mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    picture = Image.fromarray(array)
    (picture.convert(mode) if mode else picture).save(buffer, fmt)
    return buffer.getvalue()


def red(h=60, w=90) -> np.ndarray:
    array = np.zeros((h, w, 3), np.uint8)
    array[..., 0] = 200
    return array


def upload_entry(name: str, content: bytes) -> dict:
    """One file as ipywidgets 8's FileUpload hands it over."""
    return {"name": name, "type": "", "size": len(content), "content": memoryview(content),
            "last_modified": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}


# ---------------------------------------------------------------------------------------
# the upload decoder


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


# ---------------------------------------------------------------------------------------
# the saliency explorer


@pytest.fixture(scope="module")
def model():
    return load_model("zoonet")


@pytest.fixture(scope="module")
def zoo():
    return make_toy_zoo(3, size=32, seed=3)


@pytest.fixture()
def explorer(model, zoo):
    explorer = saliency_explorer(model, CLASSES, zoo, smoothgrad_samples=4, ig_steps=4)
    yield explorer
    explorer.close()


def titles(figure) -> list[str]:
    return [ax.get_title() for ax in figure.axes]


def test_the_explorer_starts_on_the_first_image_and_its_predicted_class(explorer, zoo):
    assert isinstance(explorer, SaliencyExplorer)
    assert explorer.image.value == explorer.image.options[0] == f"Toy Zoo #0: {CLASSES[int(zoo.labels[0])]}"
    assert explorer.target.value == explorer.predicted_class()
    assert explorer.method.value == "saliency" and explorer.method.options == SALIENCY_METHODS
    assert explorer.heatmap.shape == (32, 32) and bytes(explorer.view.value).startswith(b"\x89PNG")
    assert explorer.shown == (explorer.image.value, explorer.target.value, "saliency")
    assert 0 <= explorer.mask_share <= 1 and "of the map lies on the object" in explorer.message
    assert not explorer.is_error
    text = repr(explorer)
    assert text.startswith("SaliencyExplorer(image='Toy Zoo #0") and len(text) <= 110


@pytest.mark.parametrize("method", SALIENCY_METHODS[1:])
def test_changing_the_method_redraws_the_map(explorer, method):
    before_png, before_map = bytes(explorer.view.value), explorer.heatmap.clone()
    explorer.method.value = method
    assert explorer.shown[2] == method and method in explorer.message and not explorer.is_error
    assert titles(explorer.figure)[1].startswith(f"{method}: '")
    assert bytes(explorer.view.value) != before_png and not torch.equal(explorer.heatmap, before_map)
    assert explorer.heatmap.shape == (32, 32) and torch.isfinite(explorer.heatmap).all()


def test_changing_the_class_and_the_image_redraws_the_map(explorer):
    other = (explorer.target.value + 1) % len(CLASSES)
    before = explorer.heatmap.clone()
    explorer.target.value = other
    assert f"'{CLASSES[other]}'" in titles(explorer.figure)[1] and f"class '{CLASSES[other]}'" in explorer.message
    assert not torch.equal(explorer.heatmap, before)
    second = explorer.image.options[1]
    explorer.image.value = second
    assert titles(explorer.figure)[0].startswith(second) and f"on '{second}'" in explorer.message
    assert explorer.shown == (second, other, "saliency")
    assert torch.allclose(explorer.probabilities.sum(), torch.tensor(1.0))


def test_the_model_is_left_as_it_was(zoo):
    model = ZooNet(width=4).train()
    model.features[0].weight.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    explorer = saliency_explorer(model, CLASSES, zoo.images, smoothgrad_samples=2, ig_steps=2)
    for method in SALIENCY_METHODS:
        explorer.method.value = method
    assert model.training and [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())
    assert explorer.image.options == ("image 0", "image 1", "image 2")


def test_an_upload_is_added_to_the_images_and_shown(explorer):
    photo = np.random.default_rng(1).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    explorer.upload.value = (upload_entry("my cat.png", encode(photo)),)
    assert explorer.image.value == "upload: my cat.png" and explorer.image.options[-1] == "upload: my cat.png"
    assert explorer.images["upload: my cat.png"].shape == (3, 32, 32)  # the size of the explorer's images
    assert not explorer.is_error and "on 'upload: my cat.png'" in explorer.message
    assert titles(explorer.figure)[0].startswith("upload: my cat.png")
    assert explorer.upload.value == ()  # the bytes are not kept
    explorer.upload.value = (upload_entry("my cat.png", encode(photo)),)
    assert explorer.image.value == "upload: my cat.png (2)"


@pytest.mark.parametrize("name, content, reason", [
    ("notes.txt", b"these are my notes\n", "this is a text file, not an image"),
    ("broken.png", None, "the file looks like a PNG image but could not be decoded: it is corrupt or truncated"),
    ("huge.png", b"\x89PNG\r\n\x1a\n" + bytes(MAX_UPLOAD_BYTES), "the file is too large (8.0 MB)"),
])
def test_a_bad_upload_becomes_a_message_and_changes_nothing(explorer, name, content, reason):
    if content is None:
        content = encode(np.random.default_rng(2).integers(0, 256, (40, 40, 3), dtype=np.uint8))[:200]
    options, shown, png = explorer.image.options, explorer.shown, bytes(explorer.view.value)
    explorer.upload.value = (upload_entry(name, content),)  # no exception escapes the callback
    assert explorer.is_error
    assert explorer.message.startswith(f"Could not use '{name}': {reason}")
    assert "Traceback" not in explorer.status.value and "⚠" in explorer.status.value
    assert explorer.image.options == options and explorer.shown == shown and bytes(explorer.view.value) == png
    assert explorer.upload.value == ()


def test_in_colab_the_button_says_and_enforces_colabs_1_mb_limit(zoo, monkeypatch):
    import sys
    import types

    from helpers.widgets import COLAB_UPLOAD_BUTTON_BYTES, upload_button_limit

    assert upload_button_limit() == MAX_UPLOAD_BYTES
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert upload_button_limit() == COLAB_UPLOAD_BUTTON_BYTES < 1_000_000
    colab = saliency_explorer(ZooNet(width=4), CLASSES, {"image 0": zoo.images[0]}, methods=["saliency"])
    assert "977 kB" in colab.upload.tooltip  # what the button can deliver there, not 8 MB
    assert "under 1 MB" in colab.children[1].value and "files.upload()" in colab.children[1].value
    big = b"\x89PNG\r\n\x1a\n" + bytes(COLAB_UPLOAD_BUTTON_BYTES)
    colab.upload.value = (upload_entry("big.png", big),)
    assert colab.is_error and "the file is too large" in colab.message
    photo = encode(np.random.default_rng(1).integers(0, 256, (1200, 1200, 3), dtype=np.uint8))
    assert len(photo) > COLAB_UPLOAD_BUTTON_BYTES  # the files.upload() route takes it
    assert colab.receive_upload("big photo.png", photo) and not colab.is_error


def test_a_failing_method_becomes_a_message(explorer, monkeypatch):
    def broken(*args):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(explorer, "compute", broken)
    explorer.method.value = "smoothgrad"
    assert explorer.is_error and "smoothgrad failed" in explorer.message and "out of memory" in explorer.message

    def crash(*args):
        raise KeyError("surprise")

    monkeypatch.setattr(explorer, "compute", crash)
    explorer.method.value = "saliency"  # even an unexpected error stays in the status line
    assert explorer.is_error and "something went wrong: KeyError" in explorer.message


def test_the_default_gallery_has_toy_zoo_images_with_masks_and_photos():
    images, masks = default_gallery(32)
    assert [n for n in images if n.startswith("Toy Zoo: ")] == [f"Toy Zoo: {c}" for c in CLASSES]
    assert [n for n in images if n.startswith("photo: ")] == ["photo: chelsea", "photo: coffee", "photo: astronaut",
                                                               "photo: rocket"]
    assert set(masks) == {f"Toy Zoo: {c}" for c in CLASSES}
    assert all(image.shape == (3, 32, 32) for image in images.values())
    assert all(mask.shape == (32, 32) and mask.dtype == torch.bool and mask.any() for mask in masks.values())
    two, _ = default_gallery(32, ("husky", "wolf"))
    assert [n for n in two if n.startswith("Toy Zoo")] == ["Toy Zoo: husky", "Toy Zoo: wolf"]
    imagenet_like, _ = default_gallery(32, ("tench", "goose", "husky", "sports car"))  # not all Toy Zoo classes
    assert [n for n in imagenet_like if n.startswith("Toy Zoo")] == [f"Toy Zoo: {c}" for c in CLASSES]


def test_uploads_take_the_size_of_the_explorers_images(zoo):
    small = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 8))  # only takes 32 × 32
    explorer = saliency_explorer(small, CLASSES, zoo.images)
    assert explorer.size == 32 and explorer.receive_upload("cat.png", encode(red(50, 70)))
    assert explorer.images["upload: cat.png"].shape == (3, 32, 32) and not explorer.is_error
    explorer.close()
    with pytest.raises(ValueError, match="size: expected an integer of at least 8"):
        saliency_explorer(small, CLASSES, zoo.images, size=4)


def test_a_model_that_rejects_the_images_is_a_clear_error(zoo):
    small = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 8))  # the images are 32 × 32
    with pytest.raises(ValueError, match="the model rejected input of shape"):
        saliency_explorer(small, CLASSES, zoo.images)
    with pytest.raises(ValueError, match="image_shape: the model rejected"):
        class_model_explorer(small, CLASSES, run=False)


def test_bad_arguments_name_what_was_expected(model, zoo):
    with pytest.raises(ValueError, match="class_names: expected 8 names"):
        saliency_explorer(model, CLASSES[:3], zoo)
    with pytest.raises(TypeError, match="class_names"):
        saliency_explorer(model, "goose", zoo)
    with pytest.raises(ValueError, match="methods"):
        saliency_explorer(model, CLASSES, zoo, methods=("lime",))
    with pytest.raises(TypeError, match="images"):
        saliency_explorer(model, CLASSES, [1, 2])
    with pytest.raises(ValueError, match="images"):
        saliency_explorer(model, CLASSES, {"flat": torch.rand(32, 32)})
    with pytest.raises(TypeError, match="model"):
        saliency_explorer("zoonet", CLASSES, zoo)
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 8))
    explorer = saliency_explorer(linear, CLASSES, zoo.images)  # no conv layer: no grad-cam
    assert "grad-cam" not in explorer.method.options
    with pytest.raises(ValueError, match="layer"):
        saliency_explorer(linear, CLASSES, zoo.images, methods=("grad-cam",))


# ---------------------------------------------------------------------------------------
# the class-model-visualization explorer


@pytest.fixture()
def cm_explorer(model):
    explorer = class_model_explorer(model, CLASSES, steps=5, run=False, progress=False)
    yield explorer
    explorer.close()


def test_the_class_model_explorer_runs_with_the_chosen_settings(cm_explorer):
    assert isinstance(cm_explorer, ClassModelExplorer) and cm_explorer.result is None and cm_explorer.figure is None
    cm_explorer.target.value = CLASSES.index("wolf")
    cm_explorer.objective.value = "softmax"
    cm_explorer.l2.value = 0.01
    cm_explorer.steps.value = 10
    cm_explorer.run_button.click()
    result = cm_explorer.result
    assert result.targets == (CLASSES.index("wolf"),) and result.objective == "softmax"
    assert result.settings["l2"] == 0.01 and result.history["score"].shape == (10, 1)
    assert result.image.shape == (3, 64, 64) and cm_explorer.runs == 1
    assert titles(cm_explorer.figure)[0] == "'wolf': softmax\nλ = 0.01, 10 steps"
    assert titles(cm_explorer.figure)[2] == "P('wolf')"
    assert cm_explorer.message.startswith("'wolf' by softmax ascent (λ = 0.01, 10 steps): final score ")
    assert bytes(cm_explorer.view.value).startswith(b"\x89PNG") and not cm_explorer.is_error
    assert not cm_explorer.run_button.disabled
    assert repr(cm_explorer) == "ClassModelExplorer(class='wolf', objective='softmax', l2=0.01, steps=10)"

    png = bytes(cm_explorer.view.value)
    cm_explorer.objective.value = "score"
    cm_explorer.l2.value = 0.0
    cm_explorer.run_button.click()
    assert cm_explorer.runs == 2 and cm_explorer.result.objective == "score"
    assert titles(cm_explorer.figure)[0] == "'wolf': score\nλ = 0, 10 steps"
    assert bytes(cm_explorer.view.value) != png


def test_the_class_model_explorer_makes_a_first_picture_and_reports_failures(model):
    explorer = class_model_explorer(model, CLASSES, steps=5, progress=False, lr=0.1, seed=1)
    assert explorer.runs == 1 and explorer.result.targets == (0,) and explorer.result.settings["seed"] == 1
    broken = class_model_explorer(model, CLASSES, steps=5, run=False, progress=False, jitter=-1)
    broken.run_button.click()  # the error becomes the status line, never a traceback
    assert broken.is_error and "jitter" in broken.message and broken.result is None
    assert not broken.run_button.disabled


def test_the_run_button_shows_a_progress_bar_that_goes_away(model, monkeypatch):
    import helpers.class_model as class_model

    bars = []

    def recording_tqdm(*args, **kwargs):
        bars.append(kwargs.get("disable"))
        return real_tqdm(*args, **kwargs)

    real_tqdm = class_model.tqdm
    monkeypatch.setattr(class_model, "tqdm", recording_tqdm)
    explorer = class_model_explorer(model, CLASSES, steps=5, run=False, progress=True)
    explorer.run_button.click()
    assert bars == [False] and explorer.runs == 1 and explorer.progress_area.outputs == ()
    explorer.options["jitter"] = 200  # a run that fails: no bar stays behind, the status says why
    explorer.run_button.click()
    assert explorer.is_error and "jitter" in explorer.message and explorer.progress_area.outputs == ()
    explorer.close()


def test_fewer_steps_than_the_slider_step_are_kept(model):
    explorer = class_model_explorer(model, CLASSES, steps=3, run=True, progress=False)
    assert explorer.steps.value == 3 and explorer.result.history["score"].shape == (3, 1)
    explorer.close()


def test_class_model_explorer_arguments(model):
    with pytest.raises(ValueError, match="l2"):
        class_model_explorer(model, CLASSES, l2=0.5, run=False)
    with pytest.raises(ValueError, match="objective"):
        class_model_explorer(model, CLASSES, objective="probability", run=False)
    with pytest.raises(TypeError, match="target.*set by the explorer's controls"):
        class_model_explorer(model, CLASSES, run=False, target=1)
    with pytest.raises(ValueError, match="class_names: expected 8 names"):
        class_model_explorer(model, CLASSES[:2], run=False)


def test_closing_an_explorer_closes_every_control_inside(explorer, cm_explorer):
    for widget in (explorer, cm_explorer):
        inner = [widget.status, widget.view, widget.target]
        widget.close()
        assert widget.comm is None and all(control.comm is None for control in inner)
