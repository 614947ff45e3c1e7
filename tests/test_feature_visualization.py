"""feature_visualization: gradient ascent on a unit inside the network, on the class models' engine."""
import pytest
import torch
from torch import nn

from helpers import class_model_visualization
from helpers.models import ZooNet
from helpers.feature_visualization import feature_visualization

FAST = dict(steps=12, progress=False)


def small_net(seed=0):
    torch.manual_seed(seed)
    return ZooNet(num_classes=4, width=4).eval()


def colour_detector():
    """Channel 0 fires on red (R − (G + B) / 2), channel 1 on blue; then a ReLU."""
    conv = nn.Conv2d(3, 2, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[1.0, -0.5, -0.5], [-0.5, -0.5, 1.0]])[:, :, None, None])
        conv.bias.zero_()
    return nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2)).eval()


def hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


@pytest.mark.slow
def test_a_planted_colour_detector_paints_its_colour():
    model = colour_detector()
    result = feature_visualization(model, "0", [0, 1], steps=40, lr=0.05, l2=0.0, image_shape=(3, 16, 16),
                                   progress=False)
    red, blue = result.images.mean((2, 3))  # (3,) mean colour of each image
    assert red[0] > red[1] + 0.3 and red[0] > red[2] + 0.3
    assert blue[2] > blue[0] + 0.3 and blue[2] > blue[1] + 0.3
    assert (result.history[-1] > result.history[0] + 0.3).all()
    assert result.channels == (0, 1) and result.layer == "0" and result.history.shape == (40, 2)


@pytest.mark.slow
def test_a_channel_of_a_score_map_is_the_class_model_of_that_score():
    """A unit that *is* a class score (a 1x1 map) gives exactly the class model of that score."""
    torch.manual_seed(0)
    trunk = small_net().features
    net = nn.Sequential(trunk, nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 4, 1)).eval()
    settings = dict(steps=10, jitter=1, seed=2, progress=False)
    unit = feature_visualization(net, "2", [1, 3], **settings)
    cls = class_model_visualization(nn.Sequential(net, nn.Flatten()), [1, 3], "score", **settings)
    assert torch.allclose(unit.images, cls.images, atol=1e-5)
    assert torch.allclose(unit.activation, cls.score, atol=1e-4)


@pytest.mark.slow
def test_a_batch_of_channels_equals_separate_runs_and_a_neuron_can_be_chosen():
    model = small_net()
    both = feature_visualization(model, model.features[4], [0, 2], **FAST)
    alone = feature_visualization(model, "features.4", 2, **FAST)
    assert torch.allclose(both.images[1], alone.image, atol=1e-5)
    one = feature_visualization(model, "features.4", 2, neuron=(3, 5), **FAST)
    assert one.neuron == (3, 5) and one.history[-1, 0] > one.history[0, 0]


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(layer="features.99", channel=0), ValueError, "layer: no module named"),
    (dict(layer=nn.ReLU(), channel=0), ValueError, "layer: expected a module inside the model"),
    (dict(layer=3, channel=0), TypeError, "layer"),
    (dict(layer="classifier", channel=0), ValueError, r"layer: expected a layer whose output is a \(N, channels"),
    (dict(layer="features.0", channel=4), ValueError, "channel: channel 4 is out of range"),
    (dict(layer="features.0", channel=-1), ValueError, "channel"),
    (dict(layer="features.0", channel=[]), TypeError, "channel"),
    (dict(layer="features.0", channel=1.0), TypeError, "channel"),
    (dict(layer="features.0", channel=0, neuron=(64, 0)), ValueError, "neuron"),
    (dict(layer="features.0", channel=0, neuron=5), ValueError, "neuron"),
    (dict(layer="features.0", channel=0, objective="median"), ValueError, "objective"),
    (dict(layer="features.0", channel=0, stesp=3), TypeError, "stesp"),
])
def test_bad_input_names_the_argument_and_leaves_the_model_as_it_was(kwargs, error, words):
    model = small_net()
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(error, match=words):
        feature_visualization(model, **{**FAST, **kwargs})
    assert model.training and all(p.requires_grad for p in model.parameters()) and hooks(model) == 0
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


def test_the_model_is_left_exactly_as_it_was():
    model = small_net()
    model.features[1].train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():  # works inside a caller's no_grad, too
        feature_visualization(model, "features.5", 1, **FAST)
    assert model.features[1].training and not model.features[5].training and hooks(model) == 0
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        feature_visualization(model, "features.5", 1, **FAST)
