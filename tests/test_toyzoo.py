import math

import numpy as np
import pytest
import torch

from helpers import BACKGROUNDS, CLASSES, HOME_BACKGROUND, make_toy_zoo
from helpers.toyzoo import home_background_ids, render_backgrounds


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
    from helpers.toyzoo import draw_class, part_index

    _, husky = draw_class("husky", 20, 64, np.random.default_rng(1))
    _, wolf = draw_class("wolf", 20, 64, np.random.default_rng(1))
    differ = ((husky > 0) ^ (wolf > 0)).sum(axis=(1, 2)) / ((husky > 0) | (wolf > 0)).sum(axis=(1, 2))
    assert 0.03 < differ.mean() < 0.25
    # and the part maps differ only where either animal's tail is
    same_part = np.zeros_like(husky, dtype=bool)
    for part in ("head", "body", "legs", "tail"):
        same_part |= (husky == part_index("husky", part)) & (wolf == part_index("wolf", part))
    same_part |= (husky == 0) & (wolf == 0)
    tails = (husky == part_index("husky", "tail")) | (wolf == part_index("wolf", "tail"))
    assert (same_part | tails).all()


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


def test_home_background_ids():
    assert home_background_ids().tolist() == [BACKGROUNDS.index(HOME_BACKGROUND[c]) for c in CLASSES]
    ids = home_background_ids(("wolf", "husky"))
    assert ids.dtype == torch.int64 and ids.tolist() == [BACKGROUNDS.index("snow"), BACKGROUNDS.index("grass")]
    zoo = make_toy_zoo(50, size=16, bias=0.5, seed=1)
    assert torch.equal(zoo.on_home_background(), zoo.backgrounds == home_background_ids(zoo.classes)[zoo.labels])
    for bad in ("goose", ("goose", "unicorn"), None):
        with pytest.raises(ValueError, match="classes"):
            home_background_ids(bad)


def test_background_crops_channels_first_are_the_same_crops():
    ids = np.arange(14) % len(BACKGROUNDS)
    last = render_backgrounds(ids, 32, np.random.default_rng(4))
    first = render_backgrounds(ids, 32, np.random.default_rng(4), channels_first=True)
    assert first.shape == (14, 3, 32, 32) and np.array_equal(first, last.transpose(0, 3, 1, 2))
