"""Tests of helpers.guided_backprop: the guided ReLU rule by hand, agreement with Captum, model state, bad input."""
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tiny_models import RecordConvBackward, TinyNet

from helpers import METHODS, attribute, guided_backprop, make_toy_zoo, saliency_map

captum_attr = pytest.importorskip("captum.attr")
pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients",
                                        "ignore:Setting backward hooks on ReLU activations")


def close(a, b, atol=1e-5, rtol=1e-4):
    """assert allclose with the tolerance scaled to the size of the expected values (float32 vs Captum)."""
    scale = b.abs().max().item() or 1.0
    assert a.shape == b.shape, (a.shape, b.shape)
    assert torch.allclose(a, b, atol=atol * scale, rtol=rtol), (a - b).abs().max().item()


def captum_guided(model, x, t):
    return captum_attr.GuidedBackprop(model).attribute(x.clone().requires_grad_(True), target=t).abs().amax(1)


@pytest.fixture(scope="module")
def zoo():
    zoo = make_toy_zoo(4, seed=3)
    return zoo.images, zoo.labels


# ---------------------------------------------------------------------------------------
# the rule itself, by hand: x -> a = W1 x + b1 -> ReLU -> S = W2 relu(a) + b2


def test_the_guided_relu_rule_by_hand():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 6), nn.ReLU(), nn.Linear(6, 3)).double().eval()
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64)
    t = torch.tensor([0, 1, 2, 1])
    W1, b1, W2 = model[1].weight, model[1].bias, model[3].weight
    with torch.no_grad():
        active = (x.flatten(1) @ W1.T + b1) > 0                                   # [a > 0], (N, 6)
        guided = (active * W2[t].clamp(min=0)) @ W1                                # only positive gradients pass
        plain = (active * W2[t]) @ W1                                              # the ordinary gradient
    expected = guided.reshape(x.shape).abs().amax(1)
    torch.testing.assert_close(guided_backprop(model, x, t), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(saliency_map(model, x, t), plain.reshape(x.shape).abs().amax(1), rtol=0, atol=1e-12)
    assert not torch.allclose(expected, saliency_map(model, x, t))                # the rule changes the map here


def test_without_negative_output_gradients_it_is_the_gradient():
    """A single ReLU followed by a layer with non-negative weights: nothing is clamped, so it is saliency."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 2)).eval()
    with torch.no_grad():
        model[3].weight.abs_()
    x = torch.rand(2, 3, 8, 8)
    close(guided_backprop(model, x, [0, 1]), saliency_map(model, x, [0, 1]), atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# agreement with Captum's GuidedBackprop


@pytest.mark.parametrize("which", ["tiny", "zoonet"])
def test_matches_captum(which, tiny, tiny_data, zoonet, zoo):
    model, (x, t) = (tiny, tiny_data) if which == "tiny" else (zoonet, zoo)
    got = guided_backprop(model, x, t)
    assert got.shape == (len(x), *x.shape[2:]) and (got >= 0).all() and got.abs().sum() > 0
    close(got, captum_guided(model, x, t))
    assert not torch.allclose(got, saliency_map(model, x, t))


@pytest.mark.slow
def test_inplace_relus_reused_relus_and_residuals_resnet18(resnet18):
    """torchvision's ResNet: ReLU(inplace=True), one ReLU module called twice per block, ``out += identity``."""
    model, x, t = resnet18
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every ReLU of a ResNet is an nn.ReLU module: no warning
        with_inplace = guided_backprop(model, x, t)
    close(with_inplace, captum_guided(model, x, t))
    for module in model.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    close(with_inplace, guided_backprop(model, x, t), atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# what is supported: nn.ReLU modules; functional ReLUs are a clear error or a warning


class FunctionalOnly(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(F.relu(self.conv(x)).mean((2, 3)))


class Mixed(FunctionalOnly):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.fc(torch.relu(self.relu(self.conv(x)) - 0.1).mean((2, 3)))  # one module, one function call


def test_a_model_without_relu_modules_is_a_clear_error(model_state):
    x = torch.rand(2, 3, 8, 8)
    for model in (FunctionalOnly().eval(), nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 3))):
        state = model_state(model)
        with pytest.raises(ValueError, match=r"model: guided backprop .*nn\.ReLU modules.*has none"):
            guided_backprop(model, x, 0)
        state.assert_unchanged(model)


def test_functional_relus_next_to_relu_modules_warn(model_state):
    torch.manual_seed(0)
    model = Mixed().eval()
    state = model_state(model)
    with pytest.warns(UserWarning, match=r"model: 1 ReLU call\(s\) per forward pass are functional.*partly guided"):
        got = guided_backprop(model, torch.rand(2, 3, 8, 8), [0, 2])
    assert got.shape == (2, 8, 8)
    state.assert_unchanged(model)


# ---------------------------------------------------------------------------------------
# the caller's model is left as it was: eval mode used, flags, no hooks, no parameter gradients


def test_model_state_is_restored_and_eval_mode_is_used(tiny, tiny_data, model_state):
    x, t = tiny_data
    expected = guided_backprop(tiny, x, t)  # eval mode here
    assert expected.device == x.device and not expected.requires_grad
    tiny.train()  # dropout and batch-norm statistics would change the map if train mode were used
    tiny.features[0].weight.requires_grad_(False)
    state = model_state(tiny)
    assert torch.equal(guided_backprop(tiny, x, t), expected)
    state.assert_unchanged(tiny)
    assert torch.equal(saliency_map(tiny, x, t), saliency_map(tiny.eval(), x, t))  # the ReLUs are plain again
    tiny.train()


def test_hooks_are_removed_after_an_error(tiny, tiny_data, model_state):
    x, t = tiny_data
    state = model_state(tiny)
    with pytest.raises(ValueError, match="target"):  # raised after the forward pass, hooks in place
        guided_backprop(tiny, x, torch.tensor([0, 1, 9]))
    state.assert_unchanged(tiny)

    class Fails(TinyNet):
        def forward(self, x):
            self.features(x)
            raise RuntimeError("boom")

    torch.manual_seed(0)
    failing = Fails().eval()
    state = model_state(failing)
    with pytest.raises(RuntimeError, match="boom"):
        guided_backprop(failing, x, t)
    state.assert_unchanged(failing)


def test_only_the_input_gets_a_gradient(tiny, tiny_data):
    """Every convolution backward computes the input's gradient only (output_mask [True, False, False])."""
    x, t = tiny_data
    tiny.train()
    with RecordConvBackward() as record:
        guided_backprop(tiny, x, t)
    assert len(record.masks) == 2 and all(mask[1:] == [False, False] for mask in record.masks)
    assert all(p.grad is None for p in tiny.parameters())


def test_the_callers_images_are_not_changed(tiny, tiny_data):
    x, t = tiny_data
    x.requires_grad_(True)
    before = x.detach().clone()
    guided_backprop(tiny, x, t)
    assert torch.equal(x.detach(), before) and x.grad is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_model_on_gpu_results_on_the_inputs_device(tiny, tiny_data):
    x, t = tiny_data
    on_cpu = guided_backprop(tiny, x, t)
    tiny.cuda()
    got = guided_backprop(tiny, x, t)  # CPU images, GPU model
    assert got.device == x.device
    close(got, on_cpu, atol=1e-4, rtol=1e-3)
    assert guided_backprop(tiny, x.cuda(), t).device.type == "cuda"


# ---------------------------------------------------------------------------------------
# bad input names the argument; the registry entry


@pytest.mark.parametrize("bad, target, error, match", [
    (lambda x: x[0], [0, 1, 2], ValueError, "images"),
    (lambda x: x[:, :2], [0, 1, 2], ValueError, "images"),
    (lambda x: (x * 255).to(torch.uint8), [0, 1, 2], TypeError, "images"),
    (lambda x: x[:0], 0, ValueError, "images"),
    (lambda x: x, [0, 1], ValueError, "target"),
    (lambda x: x, 5, ValueError, "target"),
    (lambda x: x, 1.5, TypeError, "target"),
])
def test_bad_input_is_rejected(bad, target, error, match, tiny, tiny_data, model_state):
    x, _ = tiny_data
    state = model_state(tiny)
    with pytest.raises(error, match=match):
        guided_backprop(tiny, bad(x), target)
    with pytest.raises(TypeError, match="model"):
        guided_backprop("resnet", x, 0)
    state.assert_unchanged(tiny)


def test_registered_as_an_unsigned_method(tiny, tiny_data):
    x, t = tiny_data
    method = METHODS["guided backprop"]
    assert method.label == "Guided Backprop" and method.function is guided_backprop
    assert not method.signed and not method.per_channel and not method.needs_layer and not method.settings
    expected = guided_backprop(tiny, x, t)
    torch.testing.assert_close(attribute("guided backprop", tiny, x, t), expected, rtol=0, atol=0)
    torch.testing.assert_close(attribute("guided backprop", tiny, x, t, magnitude=True), expected, rtol=0, atol=0)
