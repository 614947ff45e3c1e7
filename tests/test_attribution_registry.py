"""The registry of attribution methods: the same maps as the functions themselves, its settings, its errors."""
import dataclasses

import pytest
import torch

from helpers import METHODS, attribute, make_toy_zoo
from helpers.models import ZooNet
from helpers.attribution import (Method, get_method, grad_cam, gradient_x_input, guided_backprop, integrated_gradients,
                                 occlusion_map, saliency_map, smoothgrad)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return ZooNet(width=4).eval()


@pytest.fixture(scope="module")
def data():
    zoo = make_toy_zoo(2, size=32, seed=3)
    return zoo.images, zoo.labels


def direct(name, model, x, y):
    """Each method called by hand with the registry's documented settings (32 × 32 images: occlusion window 4, stride 2)."""
    if name == "saliency":
        return saliency_map(model, x, y)
    if name == "gradient × input":
        return gradient_x_input(model, x, y)
    if name == "smoothgrad":
        return smoothgrad(model, x, y, n_samples=25, noise=0.15, seed=0, progress=False)
    if name == "integrated gradients":
        return integrated_gradients(model, x, y, steps=32, progress=False)
    if name == "occlusion":
        return occlusion_map(model, x, y, window=4, stride=2, fill=0.5, progress=False)
    if name == "guided backprop":
        return guided_backprop(model, x, y)
    assert name == "grad-cam"
    return grad_cam(model, x, y, model.features[-1])


def test_the_registry_lists_the_courses_seven_methods_in_notebook_order():
    assert tuple(METHODS) == ("saliency", "gradient × input", "smoothgrad", "integrated gradients", "occlusion",
                              "grad-cam", "guided backprop")
    assert [m.label for m in METHODS.values()] == ["saliency", "gradient × input", "SmoothGrad", "Integrated Gradients",
                                                   "occlusion", "Grad-CAM", "Guided Backprop"]
    assert all(isinstance(m, Method) and m.name == name for name, m in METHODS.items())


@pytest.mark.parametrize("name", list(METHODS))
def test_every_method_gives_the_map_of_its_function(name, model, data):
    x, y = data
    raw = direct(name, model, x, y)
    torch.testing.assert_close(METHODS[name].compute(model, x, y, layer=model.features[-1]), raw, rtol=0, atol=0)
    heat = attribute(name, model, x, y, layer=model.features[-1])
    magnitude = attribute(name, model, x, y, layer=model.features[-1], magnitude=True)
    assert heat.shape == magnitude.shape == (2, 32, 32)
    if raw.ndim == 4:  # per channel: summed with their signs, or their magnitudes summed
        torch.testing.assert_close(heat, raw.sum(1), rtol=0, atol=0)
        torch.testing.assert_close(magnitude, raw.abs().sum(1), rtol=0, atol=0)
    else:
        torch.testing.assert_close(heat, raw, rtol=0, atol=0)
        torch.testing.assert_close(magnitude, raw.abs(), rtol=0, atol=0)


def test_signed_flags_match_the_maps(data):
    expected = {"saliency": False, "gradient × input": True, "smoothgrad": False, "integrated gradients": True,
                "occlusion": True, "grad-cam": False, "guided backprop": False}
    assert {name: m.signed for name, m in METHODS.items()} == expected
    assert {name: m.per_channel for name, m in METHODS.items()} == {
        name: name in ("gradient × input", "integrated gradients") for name in METHODS}
    torch.manual_seed(1)
    model = ZooNet(width=4).eval()
    x, y = data
    for name, method in METHODS.items():
        heat = attribute(name, model, x, y, layer=model.features[-1], n_samples=4) if name == "smoothgrad" else \
            attribute(name, model, x, y, layer=model.features[-1])
        assert bool((heat < 0).any()) == method.signed, name  # unsigned maps are never negative


def test_settings_override_the_registry_and_occlusion_follows_the_image_size(model, data):
    x, y = data
    torch.testing.assert_close(attribute("smoothgrad", model, x, y, n_samples=3, seed=2),
                               smoothgrad(model, x, y, n_samples=3, seed=2, progress=False), rtol=0, atol=0)
    torch.testing.assert_close(attribute("occlusion", model, x, y, window=8, stride=8, fill=0.0),
                               occlusion_map(model, x, y, window=8, stride=8, fill=0.0, progress=False), rtol=0, atol=0)
    occlusion = METHODS["occlusion"]
    for side, window, stride in ((16, 2, 1), (32, 4, 2), (64, 8, 4), (100, 12, 6), (224, 28, 14)):
        settings = occlusion.settings_for(torch.zeros(1, 3, side, side))
        assert (settings["window"], settings["stride"]) == (window, stride) and settings["fill"] == 0.5
    assert occlusion.settings_for(torch.zeros(1, 3, 64, 80), stride=2)["stride"] == 2
    assert METHODS["smoothgrad"].settings["n_samples"] == 25 and METHODS["integrated gradients"].settings["steps"] == 32


def test_bad_names_settings_and_layers_are_clear_errors(model, data):
    x, y = data
    with pytest.raises(ValueError, match=r"method: expected one of 'saliency', 'gradient × input', .*'grad-cam', "
                                         r"'guided backprop', got 'SmoothGrad'"):
        attribute("SmoothGrad", model, x, y)
    with pytest.raises(ValueError, match="method: expected one of"):
        get_method("lime")
    with pytest.raises(TypeError, match="method: expected a method name"):
        attribute(saliency_map, model, x, y)
    with pytest.raises(TypeError, match="settings: smoothgrad has no setting 'steps'; its settings are: n_samples"):
        attribute("smoothgrad", model, x, y, steps=4)
    with pytest.raises(TypeError, match="settings: saliency has no setting 'batch_size'; its settings are: none"):
        attribute("saliency", model, x, y, batch_size=4)
    with pytest.raises(ValueError, match="layer: grad-cam needs the layer"):
        attribute("grad-cam", model, x, y)
    with pytest.raises(ValueError, match="images: expected 4 dimensions"):
        attribute("occlusion", model, x[0], y[:1])
    with pytest.raises(TypeError):
        METHODS["mine"] = METHODS["saliency"]  # read-only
    with pytest.raises(TypeError):
        METHODS["smoothgrad"].settings["n_samples"] = 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        METHODS["saliency"].signed = True


def test_the_model_is_left_as_it_was(data):
    model = ZooNet(width=4).train()
    model.features[0].weight.requires_grad_(False)
    flags = [p.requires_grad for p in model.parameters()]
    x, y = data
    for name in METHODS:
        attribute(name, model, x, y, layer=model.features[-1], **({"n_samples": 2} if name == "smoothgrad" else {}))
    assert model.training and [p.requires_grad for p in model.parameters()] == flags
    assert all(p.grad is None for p in model.parameters())


def test_the_registry_and_the_functions_compute_the_same_maps_by_default(model, data):
    """One source of truth for the defaults: the function's (occlusion used to fill black by itself, grey through the registry)."""
    x, y = data
    torch.testing.assert_close(attribute("occlusion", model, x, y), occlusion_map(model, x, y, progress=False),
                               rtol=0, atol=0)
    torch.testing.assert_close(attribute("smoothgrad", model, x, y), smoothgrad(model, x, y, progress=False),
                               rtol=0, atol=0)
    torch.testing.assert_close(attribute("integrated gradients", model, x, y),
                               integrated_gradients(model, x, y, progress=False).sum(1), rtol=0, atol=0)
