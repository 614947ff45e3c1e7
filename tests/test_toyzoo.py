import math

import numpy as np
import pytest
import torch

from helpers import BACKGROUNDS, CLASSES, HOME_BACKGROUND, make_toy_zoo
from helpers.toyzoo import render_backgrounds


def test_shapes_dtypes_and_ranges():
    zoo = make_toy_zoo(50, size=48, seed=3)
    assert zoo.images.shape == (50, 3, 48, 48) and zoo.images.dtype == torch.float32
    assert zoo.labels.shape == (50,) and zoo.labels.dtype == torch.int64
    assert zoo.masks.shape == (50, 48, 48) and zoo.masks.dtype == torch.bool
    assert zoo.backgrounds.shape == (50,)
    assert 0 <= zoo.images.min() and zoo.images.max() <= 1
    assert zoo.labels.max() < len(CLASSES) and zoo.backgrounds.max() < len(BACKGROUNDS)
    assert len(zoo) == 50 and len(zoo[:10]) == 10 and len(zoo[zoo.labels == 0]) == int((zoo.labels == 0).sum())


def test_deterministic_by_seed():
    a, b, c = make_toy_zoo(40, seed=7), make_toy_zoo(40, seed=7), make_toy_zoo(40, seed=8)
    for name in ("images", "labels", "masks", "backgrounds"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(a.images, c.images)


def test_every_class_has_an_object_of_plausible_size():
    zoo = make_toy_zoo(400, seed=0)
    area = zoo.masks.float().mean(dim=(1, 2))
    for k, name in enumerate(CLASSES):
        share = area[zoo.labels == k]
        assert len(share) > 10, name
        assert 0.04 < share.min() and share.max() < 0.6, (name, share.min(), share.max())


def test_mask_marks_exactly_the_object_pixels():
    """Drawing the same data set's backgrounds again: pixels differ inside the mask, match outside."""
    n, size, seed = 60, 64, 5
    zoo = make_toy_zoo(n, size=size, seed=seed)
    # replay the generator's random stream up to the background crops
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(CLASSES), n)
    backgrounds = rng.integers(0, len(BACKGROUNDS), n)
    assert np.array_equal(labels, zoo.labels.numpy()) and np.array_equal(backgrounds, zoo.backgrounds.numpy())
    plain = torch.from_numpy(render_backgrounds(backgrounds, size, rng)).permute(0, 3, 1, 2)
    diff = (zoo.images - plain).abs().amax(dim=1)
    assert torch.all(diff[~zoo.masks] == 0)
    # object pixels differ from the background under them (a pixel may match by chance: a black
    # wheel on dark gravel), so: almost all of them overall, and most of them in every image
    differs = diff > 0.01
    assert differs[zoo.masks].float().mean() > 0.99
    assert all(differs[i][zoo.masks[i]].float().mean() > 0.9 for i in range(n))


def test_husky_and_wolf_differ_only_in_a_small_part():
    """Same seed stream, same poses: the masks differ on the tail, a small share of the animal."""
    from helpers.toyzoo import _draw_class

    husky_fg, husky = _draw_class("husky", 20, 64, np.random.default_rng(1))
    wolf_fg, wolf = _draw_class("wolf", 20, 64, np.random.default_rng(1))
    differ = (husky ^ wolf).sum(axis=(1, 2)) / (husky | wolf).sum(axis=(1, 2))
    assert 0.03 < differ.mean() < 0.25


@pytest.mark.parametrize("bias", [0.95, 0.5, 0.0])
def test_bias_is_the_probability_of_the_home_background(bias):
    n = 4000
    zoo = make_toy_zoo(n, size=16, bias=bias, seed=11)
    share = zoo.on_home_background().float().mean().item()
    tolerance = 4 * math.sqrt(bias * (1 - bias) / n) + 1e-9
    assert abs(share - bias) <= tolerance
    # off-home images are spread over the other backgrounds
    if bias < 1:
        off = zoo.backgrounds[~zoo.on_home_background()]
        assert len(torch.unique(off)) == len(BACKGROUNDS)


def test_no_bias_means_uniform_backgrounds():
    zoo = make_toy_zoo(7000, size=16, seed=2)
    counts = torch.bincount(zoo.backgrounds, minlength=len(BACKGROUNDS)).float() / len(zoo)
    assert torch.all((counts - 1 / len(BACKGROUNDS)).abs() < 0.02)


def test_class_subset_and_home_backgrounds():
    zoo = make_toy_zoo(300, size=16, bias=1.0, seed=0, classes=("husky", "wolf"))
    assert zoo.classes == ("husky", "wolf") and set(zoo.labels.tolist()) == {0, 1}
    names = [zoo.background_names[b] for b in zoo.backgrounds]
    assert all(name == HOME_BACKGROUND[zoo.classes[y]] for name, y in zip(names, zoo.labels.tolist()))


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "n:"), ({"n": 5, "size": 8}, "size:"), ({"n": 5, "bias": 1.5}, "bias:"),
    ({"n": 5, "classes": ("goose", "unicorn")}, "classes:"), ({"n": 5, "classes": ()}, "classes:"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_toy_zoo(**kwargs)
