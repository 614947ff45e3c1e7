"""The ascent engine's settings object and its use of torch's optimizers."""
import dataclasses

import pytest
import torch

from helpers import LinearClassifier, class_model_visualization
from helpers.ascent import AscentSettings


def linear(seed=0):
    torch.manual_seed(seed)
    return LinearClassifier(num_classes=3, image_shape=(3, 5, 4))


def test_settings_are_checked_once_when_made():
    with pytest.raises(ValueError, match="lr"):
        AscentSettings(lr=0)
    with pytest.raises(ValueError, match="optimizer"):
        AscentSettings(optimizer="lbfgs")
    with pytest.raises(TypeError, match="progress"):
        AscentSettings(progress=1)
    with pytest.raises(ValueError, match="image_shape"):
        AscentSettings(image_shape=(3, 64))


def test_settings_are_frozen_and_replace_checks_names_and_values():
    settings = AscentSettings(steps=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.steps = 20
    assert settings.replace(l2=0).l2 == 0.0 and settings.replace(l2=0).steps == 10 and settings.l2 == 1e-3
    with pytest.raises(TypeError, match="stpes: not a setting"):
        settings.replace(stpes=5)
    with pytest.raises(ValueError, match="jitter"):
        settings.replace(jitter=-1)


def test_the_blur_default_follows_the_parameterization():
    assert AscentSettings().blur_every == 4
    assert AscentSettings(parameterization="fourier").blur_every == 0
    assert AscentSettings().replace(parameterization="fourier").blur_every == 0
    assert AscentSettings(blur_every=2).replace(parameterization="fourier", blur_every=3).blur_every == 3


def test_settings_object_and_keyword_overrides_give_the_same_run():
    model = linear()
    settings = AscentSettings(steps=6, jitter=1, seed=4, progress=False)
    a = class_model_visualization(model, [0, 2], "score", settings, l2=0.01)
    b = class_model_visualization(model, [0, 2], "score", steps=6, jitter=1, seed=4, progress=False, l2=0.01)
    assert torch.equal(a.images, b.images)
    assert a.settings == b.settings == settings.replace(l2=0.01, image_shape=(3, 5, 4))
    with pytest.raises(TypeError, match="settings"):
        class_model_visualization(model, 0, "score", {"steps": 3})
    with pytest.raises(TypeError, match="colour: not a setting"):
        class_model_visualization(model, 0, "score", colour=1)


def test_adam_is_torchs_adam_ascending():
    """Two Adam steps on a linear score with no regularizer: torch.optim.Adam(maximize=True) on the same start."""
    model = linear(1)
    run = dict(jitter=0, blur_every=0, clamp=False, l2=0.0, lr=0.01, seed=2, noise=0.1, progress=False)
    start = class_model_visualization(model, 1, steps=1, **{**run, "lr": 1e-12}).image
    got = class_model_visualization(model, 1, steps=2, **run).image
    image = start.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=0.01, maximize=True)
    for _ in range(2):
        optimizer.zero_grad()
        model(image[None])[0, 1].backward()
        optimizer.step()
    assert torch.allclose(got, image.detach(), atol=1e-5)
