"""The ascent's small random image transforms: shapes, reproducibility, gradients, checked arguments."""
import pytest
import torch

from helpers import class_model_visualization
from helpers.ascent import AscentSettings
from helpers.transforms import Jitter, Pad, RandomRotation, RandomScale, apply, standard_transforms




def _images():
    return torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(0), requires_grad=True)


def test_shapes_and_fill():
    x = _images()
    g = torch.Generator().manual_seed(0)
    padded = Pad(3)(x, g)
    assert padded.shape == (2, 3, 46, 46) and torch.all(padded[:, :, 0] == 0.5)
    assert Jitter(5)(x, g).shape == (2, 3, 35, 35)
    assert RandomRotation(0)(x, g) is x
    scaled = RandomScale(1.5, 1.5)(x, g)
    assert scaled.shape == (2, 3, 60, 60)
    grey = torch.full((1, 3, 20, 20), 0.5)
    assert torch.allclose(RandomRotation(30)(grey, g), grey, atol=1e-6)  # corners come in grey


def test_same_seed_same_draws_and_gradients_flow_back():
    x = _images()
    a = apply(standard_transforms(), x, torch.Generator().manual_seed(3))
    b = apply(standard_transforms(), x, torch.Generator().manual_seed(3))
    c = apply(standard_transforms(), x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not (a.shape == c.shape and torch.equal(a, c))
    (grad,) = torch.autograd.grad(a.sum(), x)
    assert grad.abs().sum() > 0


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="pixels"):
        Pad(-1)
    with pytest.raises(ValueError, match="high"):
        RandomScale(1.1, 0.9)
    with pytest.raises(TypeError, match="transforms"):
        AscentSettings(transforms=Pad(2))
    with pytest.raises(TypeError, match="transforms"):
        AscentSettings(transforms=[Pad(2), "rotate"])


def test_class_models_with_transforms_are_reproducible_and_climb():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(4, 3))
    kwargs = dict(steps=15, image_shape=(3, 24, 24), transforms=standard_transforms()[:4], progress=False,
                  parameterization="fourier", l2=0.0)
    first = class_model_visualization(model, [0, 2], **kwargs)
    again = class_model_visualization(model, [0, 2], **kwargs)
    assert torch.equal(first.images, again.images)
    assert first.images.shape == (2, 3, 24, 24)
    history = first.history["score"]
    assert torch.all(history[-3:].mean(0) > history[:3].mean(0))
