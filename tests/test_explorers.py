"""The interactive explorers, headless: set the controls as a learner would, check what they show."""
import datetime as dt
import html
import io

import numpy as np
import pytest
import torch
import torchvision
from test_uploads import encode, red

from helpers import CLASSES, PHOTOS, load_model, load_pretrained, make_toy_zoo
from helpers.models import ZooNet
from helpers.attribution import METHODS, attribute, grad_cam, integrated_gradients, occlusion_map, smoothgrad
from helpers.explorers import (SALIENCY_METHODS, ClassModelExplorer, SaliencyExplorer, class_model_explorer,
                               default_gallery, saliency_explorer)
from helpers.pretrained import Normalize
from helpers.uploads import COLAB_UPLOAD_BUTTON_BYTES, MAX_UPLOAD_BYTES


def upload_entry(name: str, content: bytes) -> dict:
    """One file as ipywidgets 8's FileUpload hands it over."""
    return {"name": name, "type": "", "size": len(content), "content": memoryview(content),
            "last_modified": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}


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


@pytest.mark.slow
@pytest.mark.parametrize("method", SALIENCY_METHODS[1:])
def test_changing_the_method_redraws_the_map(explorer, method):
    before_png, before_map = bytes(explorer.view.value), explorer.heatmap.clone()
    explorer.method.value = method
    assert explorer.shown[2] == method and method in explorer.message and not explorer.is_error
    assert titles(explorer.figure)[1].startswith(f"{method}: '")
    assert bytes(explorer.view.value) != before_png and not torch.equal(explorer.heatmap, before_map)
    assert explorer.heatmap.shape == (32, 32) and torch.isfinite(explorer.heatmap).all()


@pytest.mark.slow
def test_the_maps_are_the_registrys_with_the_explorers_settings(explorer, model):
    name, target = explorer.image.value, explorer.target.value
    x = explorer.images[name][None]
    by_hand = {  # what the explorer computed before the registry held the settings (32 × 32 images)
        "smoothgrad": smoothgrad(model, x, target, n_samples=4, seed=0, progress=False)[0],
        "integrated gradients": integrated_gradients(model, x, target, steps=4, progress=False).sum(1)[0],
        "occlusion": occlusion_map(model, x, target, window=4, stride=2, fill=0.5, progress=False)[0],
    }
    for method, want in by_hand.items():
        explorer.method.value = method
        torch.testing.assert_close(explorer.heatmap, want)
        clim = explorer.figure.axes[1].images[0].get_clim()  # a signed map's scale: ±its 99th percentile of |value|
        limit = float(torch.quantile(want.abs().flatten(), 0.99))
        if METHODS[method].signed:
            assert clim == pytest.approx((-limit, limit)) and "scale clipped at p99" in titles(explorer.figure)[1]
        else:
            assert "clipped" not in titles(explorer.figure)[1]
    assert explorer.settings == {"smoothgrad": {"n_samples": 4}, "integrated gradients": {"steps": 4}}


def test_any_registered_method_can_be_offered(model, zoo):
    explorer = saliency_explorer(model, CLASSES, zoo.images, methods=("gradient × input", "saliency"))
    assert explorer.method.options == ("gradient × input", "saliency") and not explorer.is_error
    name, target = explorer.image.value, explorer.target.value
    torch.testing.assert_close(explorer.heatmap, attribute("gradient × input", model, explorer.images[name][None],
                                                           target)[0])
    explorer.close()


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


@pytest.mark.slow
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
    assert explorer.target.value == explorer.predicted_class("upload: my cat.png")  # the map explains the prediction
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

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
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
    assert [n for n in images if n.startswith("photo: ")] == [f"photo: {name}" for name in PHOTOS]
    assert "photo: grace_hopper" in images and next(iter(images)) == "Toy Zoo: goose"
    assert set(masks) == {f"Toy Zoo: {c}" for c in CLASSES}
    assert all(image.shape == (3, 32, 32) for image in images.values())
    assert all(mask.shape == (32, 32) and mask.dtype == torch.bool and mask.any() for mask in masks.values())
    two, _ = default_gallery(32, ("husky", "wolf"))
    assert [n for n in two if n.startswith("Toy Zoo")] == ["Toy Zoo: husky", "Toy Zoo: wolf"]
    imagenet_like, _ = default_gallery(32, ("tench", "goose", "husky", "sports car"))  # not all Toy Zoo classes
    assert [n for n in imagenet_like if n.startswith("Toy Zoo")] == [f"Toy Zoo: {c}" for c in CLASSES]
    photos_first, first_masks = default_gallery(32, photos_first=True)
    assert list(photos_first) == [n for n in images if n.startswith("photo: ")] + [f"Toy Zoo: {c}" for c in CLASSES]
    assert set(first_masks) == set(masks)


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
# the saliency explorer on the real network (EfficientNet-Lite0) and on torchvision's wrapped models


@pytest.fixture(scope="module")
def real():
    return load_pretrained()


@pytest.fixture(scope="module")
def real_explorer(real):
    net, names = real
    explorer = saliency_explorer(net, names, size=128, smoothgrad_samples=2, ig_steps=2)  # small: a quick test
    yield explorer
    explorer.close()


@pytest.mark.slow
def test_the_real_network_opens_on_a_photo_with_its_class_and_offers_grad_cam(real, real_explorer):
    net, names = real
    explorer = real_explorer
    assert explorer.image.options[:len(PHOTOS)] == tuple(f"photo: {name}" for name in PHOTOS)
    assert explorer.image.value == "photo: chelsea" and explorer.size == 128
    assert explorer.target.value == explorer.predicted_class() == int(explorer.probabilities.argmax())
    assert names[explorer.target.value] in ("Egyptian cat", "tiger cat", "tabby")
    assert explorer.method.options == SALIENCY_METHODS and explorer.layer is net.features.head is net.features[-1]
    assert explorer.heatmap.shape == (128, 128) and not explorer.is_error
    explorer.method.value = "grad-cam"
    x = explorer.images["photo: chelsea"][None]
    torch.testing.assert_close(explorer.heatmap, grad_cam(net, x, explorer.target.value, net.features.head)[0])
    explorer.method.value = "saliency"


@pytest.mark.slow
def test_the_explorer_lists_the_top_5_classes_of_the_image(real, real_explorer):
    _, names = real
    explorer = real_explorer
    top = explorer.top_classes
    assert len(top) == 5 and top[0][0] == explorer.predicted_class()
    assert [p for _, p in top] == sorted((p for _, p in top), reverse=True)
    torch.testing.assert_close(torch.tensor([p for _, p in top]), explorer.probabilities.topk(5).values)
    assert explorer.top_text.startswith(f"top 5: {names[top[0][0]]} ")
    assert all(names[k] in explorer.top_text for k, _ in top) and explorer.top_text.count(" · ") == 4
    assert explorer.top_label in explorer.children and html.escape(explorer.top_text) in explorer.top_label.value
    explorer.image.value = "photo: motorcycle"  # another image: another list
    assert explorer.top_classes[0][0] == explorer.predicted_class("photo: motorcycle")
    assert names[explorer.top_classes[0][0]] in explorer.top_text and "motorcycle" in explorer.message
    explorer.image.value = "photo: chelsea"


@pytest.mark.slow
def test_an_upload_goes_to_the_real_network_and_is_classified(real, real_explorer):
    from PIL import Image
    from skimage import data

    _, names = real
    explorer = real_explorer
    buffer = io.BytesIO()
    Image.fromarray(data.coffee()).save(buffer, "PNG")
    explorer.method.value = "grad-cam"
    assert explorer.receive_upload("coffee.png", buffer.getvalue()) and not explorer.is_error
    espresso = names.index("espresso")
    assert explorer.image.value == "upload: coffee.png" and explorer.target.value == espresso  # top-1, selected
    assert explorer.top_classes[0][0] == espresso and explorer.top_classes[0][1] > 0.5
    assert explorer.top_text.startswith("top 5: espresso ")
    assert explorer.shown == ("upload: coffee.png", espresso, "grad-cam")  # the map was computed
    assert explorer.heatmap.shape == (128, 128) and torch.isfinite(explorer.heatmap).all()
    assert explorer.heatmap.max() > 0
    assert "The model predicts 'espresso'" in explorer.message


def test_toy_classes_keep_the_toy_zoo_first_and_the_top_list_is_as_long_as_the_classes(zoo):
    two = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 16 * 16, 2))
    explorer = saliency_explorer(two, ["husky", "wolf"], size=16)
    assert explorer.image.value == "Toy Zoo: husky" and len(explorer.top_classes) == 2
    assert explorer.top_text.startswith("top 2: ")
    explorer.close()


@pytest.mark.parametrize("make, layer", [
    (lambda: torchvision.models.resnet18(num_classes=8), lambda net: net.layer4),
    (lambda: torchvision.models.squeezenet1_1(num_classes=8), lambda net: net.features[-1]),
], ids=["resnet18", "squeezenet1_1"])
@pytest.mark.slow
def test_grad_cam_finds_the_layer_of_a_wrapped_torchvision_model(zoo, make, layer):
    net = make()
    wrapped = torch.nn.Sequential()  # what load_pretrained makes of torchvision's models
    wrapped.add_module("normalize", Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))
    wrapped.add_module("net", net)
    explorer = saliency_explorer(wrapped.eval(), CLASSES, {"image 0": zoo.images[0]}, size=32)
    assert explorer.layer is layer(net) and "grad-cam" in explorer.method.options
    explorer.method.value = "grad-cam"
    assert not explorer.is_error and explorer.heatmap.shape == (32, 32)
    explorer.close()


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
    assert result.settings.l2 == 0.01 and result.history["score"].shape == (10, 1)
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


@pytest.mark.slow
def test_the_class_model_explorer_makes_a_first_picture_and_reports_failures(model):
    explorer = class_model_explorer(model, CLASSES, steps=5, progress=False, lr=0.1, seed=1)
    assert explorer.runs == 1 and explorer.result.targets == (0,) and explorer.result.settings.seed == 1
    broken = class_model_explorer(model, CLASSES, steps=5, run=False, progress=False)
    broken.options["jitter"] = 64  # as wide as the image: only the run can tell
    broken.run_button.click()  # the error becomes the status line, never a traceback
    assert broken.is_error and "jitter" in broken.message and broken.result is None
    assert not broken.run_button.disabled


@pytest.mark.slow
def test_the_run_button_shows_a_progress_bar_that_goes_away(model, monkeypatch):
    import helpers.ascent as ascent  # the engine behind class_model_visualization draws the bar

    bars = []

    def recording_tqdm(*args, **kwargs):
        bars.append(kwargs.get("disable"))
        return real_tqdm(*args, **kwargs)

    real_tqdm = ascent.tqdm
    monkeypatch.setattr(ascent, "tqdm", recording_tqdm)
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


def test_bad_keyword_arguments_of_the_class_model_explorer_raise_when_it_is_made(model):
    with pytest.raises(TypeError, match="lrr: not a setting"):  # a typo: named at once, not a failed run later
        class_model_explorer(model, CLASSES, lrr=0.1, run=False)
    with pytest.raises(TypeError, match="lrr: not a setting"):
        class_model_explorer(model, CLASSES, lrr=0.1)
    with pytest.raises(ValueError, match="jitter: expected a non-negative integer"):
        class_model_explorer(model, CLASSES, jitter=-1, run=False)
    with pytest.raises(TypeError, match="settings: expected an AscentSettings"):
        class_model_explorer(model, CLASSES, settings={"lr": 0.1}, run=False)
    from helpers.ascent import AscentSettings

    explorer = class_model_explorer(model, CLASSES, steps=3, settings=AscentSettings(lr=0.2), seed=2, progress=False)
    assert explorer.result.settings.lr == 0.2 and explorer.result.settings.seed == 2 and not explorer.is_error
    explorer.close()


def test_closing_an_explorer_closes_every_control_inside(explorer, cm_explorer):
    for widget in (explorer, cm_explorer):
        inner = [widget.status, widget.view, widget.target]
        widget.close()
        assert widget.comm is None and all(control.comm is None for control in inner)
