"""top_activating, dissect and ablated: which images drive a unit, which part it detects, switching it off."""
import pytest
import torch
from torch import nn

from helpers import CLASSES, ablated, dissect, make_toy_zoo, top_activating
from helpers.models import ZooNet
from helpers.toyzoo.animals import GLASS


class WindowDetector(nn.Module):
    """Channel 0: how close a pixel is to the car windows' glass colour (1 there, 0 far away); channel 1: noise."""

    def forward(self, x):
        glass = torch.tensor(GLASS, dtype=x.dtype)[None, :, None, None]
        near = (1 - ((x - glass) ** 2).sum(1, keepdim=True) / 0.02).relu()
        noise = torch.rand(x.shape[0], 1, *x.shape[2:], generator=torch.Generator().manual_seed(0))
        return torch.cat([near, noise], 1)


def planted():
    return nn.Sequential(WindowDetector(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2)).eval()


@pytest.fixture(scope="module")
def zoo():
    return make_toy_zoo(160, seed=1)


def small_net():
    torch.manual_seed(0)
    return ZooNet(num_classes=8, width=4).eval()


def hooks(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_dissect_recovers_a_planted_part_detector(zoo):
    result = dissect(planted(), "0", zoo, quantile=0.98, progress=False)
    unit, iou = result.best_unit("car windows")
    assert unit == 0 and iou > 0.3  # the windows' one-pixel outline belongs to them but is dark
    assert result.concepts[int(result.best[0])] == "car windows" and result.best_iou[1] < 0.1
    chance = dissect(planted(), "0", zoo, quantile=0.98, shuffle_seed=0, progress=False)
    assert chance.best_unit("car windows")[1] < iou / 3
    assert result.iou.shape == (2, len(result.concepts)) and ((0 <= result.iou) & (result.iou <= 1)).all()


def test_dissect_against_backgrounds_names_the_backgrounds(zoo):
    result = dissect(small_net(), "features.2", zoo, concepts="backgrounds", progress=False)
    assert result.concepts == zoo.background_names and result.iou.shape == (4, len(zoo.background_names))


def test_top_activating_finds_the_highest_peaks_and_their_receptive_fields(zoo):
    model = small_net()
    top = top_activating(model, "features.4", 1, zoo.images, k=5, batch_size=37, progress=False)
    with torch.no_grad():
        maps = model.features[:5](zoo.images)[:, 1]
    peaks = maps.flatten(1).amax(1)
    assert torch.equal(top.indices, peaks.topk(5).indices) and torch.allclose(top.values, peaks.topk(5).values)
    h_w = maps.shape[1:]
    for i, (y, x) in zip(top.indices, top.peaks.tolist()):
        assert maps[i, y, x] == maps[i].max()
    side = int(top.boxes[0, 2] - top.boxes[0, 0])
    assert 1 < side <= 8 and top.crops.shape == (5, 3, side, side)  # conv, 2x2 pool, conv: at most 8 pixels
    for i, crop, (t, l, b, r) in zip(top.indices, top.crops, top.boxes.tolist()):
        assert torch.equal(crop, zoo.images[i, :, t:b, l:r]) and b - t == r - l == side
    assert h_w == (32, 32)


def test_ablated_switches_units_off_only_inside_the_block(zoo):
    model = small_net()
    x = zoo.images[:6]
    with torch.no_grad():
        before = model(x)
        with ablated(model, "features.6", [0, 2]) as channels:
            off = model(x)
            inside = model.features[:7](x)
        after = model(x)
    assert channels.tolist() == [0, 2] and (inside[:, [0, 2]] == 0).all() and (inside[:, 1] > 0).any()
    assert not torch.equal(off, before) and torch.equal(after, before) and hooks(model) == 0


def run_ablated(model, layer, channels, images):
    with ablated(model, layer, channels):
        model(images)


@pytest.mark.parametrize("call, error, words", [
    (lambda m, z: dissect(m, "features.99", z), ValueError, "layer"),
    (lambda m, z: dissect(m, "classifier", z), ValueError, "layer: expected a layer whose output"),
    (lambda m, z: dissect(m, "features.2", z.images), TypeError, "zoo"),
    (lambda m, z: dissect(m, "features.2", z, quantile=1.0), ValueError, "quantile"),
    (lambda m, z: dissect(m, "features.2", z, concepts="colours"), ValueError, "concepts"),
    (lambda m, z: top_activating(m, "features.2", 9, z.images), ValueError, "channel"),
    (lambda m, z: top_activating(m, "features.2", 0, z.images, k=0), ValueError, "k"),
    (lambda m, z: top_activating(m, "features.2", 0, z.images[:3], k=4), ValueError, "k"),
    (lambda m, z: top_activating(m, "features.2", 0, z.images[0]), ValueError, "images"),
    (lambda m, z: run_ablated(m, "features.2", 7, z.images[:1]), ValueError, "channels"),
    (lambda m, z: run_ablated(m, "classifier", 0, z.images[:1]), ValueError, "layer"),
])
def test_bad_input_names_the_argument_and_leaves_the_model_as_it_was(zoo, call, error, words):
    model = small_net()
    model.train()
    with pytest.raises(error, match=words):
        call(model, zoo[:20])
    assert model.training and all(p.requires_grad for p in model.parameters()) and hooks(model) == 0


def test_a_zoo_without_parts_is_a_clear_error(zoo):
    bare = zoo[:10]
    bare.parts = None
    with pytest.raises(ValueError, match="zoo: expected a ToyZoo with part maps"):
        dissect(small_net(), "features.2", bare)
    assert CLASSES[0] == "goose"
