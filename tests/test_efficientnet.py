"""The course's EfficientNet-Lite0 against the reference implementation, offline, and the helpers on it."""
import contextlib
import io

import pytest
import torch

from helpers import (PHOTOS, feature_visualization, grad_cam, load_photos, load_pretrained, saliency_map, weights_verified
)
from helpers.efficientnet import EfficientNetLite0
from helpers.pretrained import imagenet_classes, weights_file
from helpers.efficientnet import convert_state_dict, weights_path


@pytest.fixture(scope="module")
def lite0():
    return load_pretrained()  # the default name: always available, the network is blocked in the tests


def _reference(size: int):
    """The package efficientnet-lite-pytorch's model (a test oracle only: it prints debug lines on import)."""
    with contextlib.redirect_stdout(io.StringIO()):
        from efficientnet_lite_pytorch import EfficientNet

        model = EfficientNet.from_name("efficientnet-lite0", image_size=size)
    model.load_state_dict(torch.load(weights_path(), map_location="cpu", weights_only=True))
    return model.eval()


def test_default_is_efficientnet_lite0_offline_with_its_weights_verified(lite0):
    model, names = lite0
    assert isinstance(model, EfficientNetLite0) and not model.training
    assert names == imagenet_classes() and len(names) == 1000 and names[99] == "goose"
    assert weights_verified("efficientnet_lite0") and weights_file("efficientnet_lite0").is_file()
    assert 4.6e6 < sum(p.numel() for p in model.parameters()) < 4.7e6


@pytest.mark.parametrize("size", [224, 160, 131, 257])
def test_logits_equal_the_reference_implementation(lite0, size):
    """Random images the project has never seen, at the training size and at odd ones (asymmetric padding)."""
    model, _ = lite0
    reference = _reference(size)
    x = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(size))
    with torch.no_grad():
        ours = model(x)
        theirs = reference((x * 255 - 127) / 128)  # the reference takes the scaled input; ours scales itself
    assert (ours - theirs).abs().max() <= 1e-3
    assert torch.equal(ours.argmax(1), theirs.argmax(1))


@pytest.mark.slow
def test_photos_are_classified_as_what_they_show(lite0):
    model, names = lite0
    photos = load_photos(size=224)
    assert len(photos) == len(PHOTOS)
    with torch.no_grad():
        top5 = model(photos).topk(5, dim=1).indices
    reference = _reference(224)
    with torch.no_grad():
        assert torch.equal(reference((photos * 255 - 127) / 128).topk(5, dim=1).indices, top5)
    shown = {name: [names[i] for i in row] for name, row in zip(PHOTOS, top5.tolist())}
    assert shown["chelsea"][0] in ("Egyptian cat", "tabby", "tiger cat")
    assert shown["coffee"][0] == "espresso"
    assert shown["motorcycle"][0] in ("moped", "motor scooter")
    assert "military uniform" in shown["grace_hopper"]


def test_state_dict_conversion_names_every_key():
    original = torch.load(weights_path(), map_location="cpu", weights_only=True)
    converted = convert_state_dict(original)
    assert set(converted) == set(EfficientNetLite0().state_dict())
    with pytest.raises(KeyError):
        convert_state_dict({"_mystery.weight": torch.zeros(1)})


@pytest.mark.slow
def test_helpers_run_on_it_and_leave_it_as_they_found_it(lite0):
    model, _ = lite0
    photos = load_photos(["chelsea", "coffee"], size=96)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    sal = saliency_map(model, photos, [285, 967])
    cam_by_name = grad_cam(model, photos, [285, 967], "features.head")
    cam_by_module = grad_cam(model, photos, [285, 967], model.features[-1])
    assert sal.shape == cam_by_name.shape == (2, 96, 96)
    assert torch.allclose(cam_by_name, cam_by_module)
    result = feature_visualization(model, "features.stage3", 5, steps=3, image_shape=(3, 48, 48), progress=False)
    assert result.image.shape == (3, 48, 48)
    assert not model.training and all(p.requires_grad and p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not model._forward_hooks and not model.features.head._forward_hooks


def test_stages_slice_like_any_sequential(lite0):
    model, _ = lite0
    head = model.features.head[:2]  # conv and batch norm, without the ReLU6
    x = torch.rand(1, 320, 3, 3)
    with torch.no_grad():
        assert torch.allclose(model.features.head(x), head(x).clamp(0, 6))
