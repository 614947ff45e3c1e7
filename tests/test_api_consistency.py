"""Arguments mean what they say: a list of channels is not silently cut to one, contradictory options are rejected."""
import pytest
import torch

from helpers import feature_visualization, load_model, make_toy_zoo, top_activating


@pytest.fixture(scope="module")
def zoonet():
    return load_model("zoonet")


def test_top_activating_refuses_several_channels_instead_of_using_the_first(zoonet):
    zoo = make_toy_zoo(12, seed=0)
    with pytest.raises(ValueError, match="channel: expected one channel"):
        top_activating(zoonet, "features.5", [3, 5], zoo.images, k=2, progress=False)
    one = top_activating(zoonet, "features.5", [3], zoo.images, k=2, progress=False)
    assert torch.equal(one.indices, top_activating(zoonet, "features.5", 3, zoo.images, k=2, progress=False).indices)


def test_feature_visualization_rejects_max_for_a_neuron(zoonet):
    with pytest.raises(ValueError, match="objective"):
        feature_visualization(zoonet, "features.5", 0, neuron=(2, 2), objective="max", steps=2, progress=False)
    result = feature_visualization(zoonet, "features.5", 0, neuron=(2, 2), steps=2, progress=False)
    assert result.objective == "mean"


def test_replace_keeps_an_explicit_blur_and_rederives_a_default_one():
    from helpers import AscentSettings

    explicit = AscentSettings(parameterization="fourier", blur_every=10)
    assert explicit.replace(parameterization="pixel").blur_every == 10
    default = AscentSettings(parameterization="fourier")
    assert default.blur_every == 0 and default.replace(parameterization="pixel").blur_every == 4
    assert AscentSettings().replace(steps=5).replace(parameterization="fourier").blur_every == 0
    assert AscentSettings(blur_every=4) == AscentSettings()


def test_wrong_channels_are_caught_up_front_and_a_bug_in_forward_keeps_its_line():
    import traceback

    from helpers import saliency_map

    zoonet = load_model("zoonet")
    with pytest.raises(ValueError, match=r"images: expected 3 channels .* got 1"):
        saliency_map(zoonet, torch.rand(2, 1, 64, 64), 0)

    class Buggy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.fc = torch.nn.Linear(4, 2)

        def forward(self, x):
            h = self.conv(x)
            return self.fc(h.view(len(x), 5))  # the learner's bug: a wrong view

    with pytest.raises(ValueError) as caught:
        saliency_map(Buggy(), torch.rand(2, 3, 8, 8), 0)
    assert isinstance(caught.value.__cause__, RuntimeError)  # chained, not hidden
    shown = "".join(traceback.format_exception(caught.value))
    assert "h.view(len(x), 5)" in shown  # the learner's line is in the traceback


def test_guided_backprop_guides_relu6_like_relu_below_six():
    from helpers import guided_backprop

    torch.manual_seed(0)

    def net(act):
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), act, torch.nn.Conv2d(4, 4, 3), act,
                                   torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 3)).eval()

    x = torch.rand(2, 3, 12, 12) * 0.1  # small activations: ReLU6 acts as ReLU
    relu6 = guided_backprop(net(torch.nn.ReLU6()), x, [0, 2])
    relu = guided_backprop(net(torch.nn.ReLU()), x, [0, 2])
    assert torch.allclose(relu6, relu, atol=1e-6)


def test_one_toy_zoo_image_by_any_integer_stays_a_zoo_of_one():
    import numpy as np

    zoo = make_toy_zoo(5, seed=0)
    for index in (2, np.int64(2), torch.tensor(2)):
        one = zoo[index]
        assert one.images.shape == (1, 3, 64, 64) and one.labels.tolist() == [int(zoo.labels[2])]
        assert one.masks.shape == (1, 64, 64)


def test_an_upload_that_runs_out_of_memory_is_not_called_corrupt(monkeypatch):
    import io

    from PIL import Image

    from helpers import load_uploaded_image
    from helpers import uploads

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buffer, "PNG")

    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(uploads, "_to_array", no_memory)
    with pytest.raises(MemoryError):
        load_uploaded_image(buffer.getvalue(), size=32)
