"""The Toy Zoo's planted shortcuts and their interventions (helpers/toyzoo/shortcuts.py)."""
import pytest
import torch

from helpers import BACKGROUNDS, ToyZoo, make_toy_zoo, swap_backgrounds
from helpers.toyzoo import TINT, add_corner_mark, bias_backgrounds, corner_mark_box, shrink_masks, tint_animals

PAIR = ("husky", "wolf")


@pytest.fixture(scope="module")
def zoo():
    return make_toy_zoo(200, size=32, seed=4, classes=PAIR)


def _same_animals(a: ToyZoo, b: ToyZoo) -> None:
    assert torch.equal(a.labels, b.labels) and torch.equal(a.masks, b.masks) and torch.equal(a.parts, b.parts)
    assert a.classes == b.classes and a.images.shape == b.images.shape and b.images.dtype == torch.float32


def _changed(a: ToyZoo, b: ToyZoo) -> torch.Tensor:
    return (a.images != b.images).any(1)  # (N, H, W)


def test_the_corner_mark_sits_in_its_box_on_the_chosen_class(zoo):
    original = zoo.images.clone()
    marked = add_corner_mark(zoo, {"wolf": 1.0})
    assert torch.equal(zoo.images, original)  # the zoo it was given is untouched
    _same_animals(zoo, marked)
    box = torch.zeros(32, 32, dtype=torch.bool)
    box[corner_mark_box(32)] = True
    changed = _changed(zoo, marked)
    assert not changed[:, ~box].any()                                # nothing outside the box
    assert changed.flatten(1).any(1).tolist() == (zoo.labels == 1).tolist()  # every wolf, no husky
    rows, cols = corner_mark_box(32)
    assert rows.start > 0 and rows.stop - rows.start >= 3 and (rows, cols) == corner_mark_box(32)
    assert corner_mark_box(64) == (slice(2, 16), slice(2, 16))       # 14 pixels of 64: about 5 % of the image
    stamps = marked.images[zoo.labels == 1][:, :, rows, cols]
    assert torch.equal(stamps, stamps[:1].expand_as(stamps))          # the same stamp on every image


def test_the_tint_changes_only_the_fur_of_the_chosen_class(zoo):
    tinted = tint_animals(zoo, {"husky": 1.0})
    _same_animals(zoo, tinted)
    changed = _changed(zoo, tinted)
    fur = shrink_masks(zoo.masks)
    assert not (changed & ~fur).any()                   # the outline and the background stay
    husky = zoo.labels == 0
    assert not changed[~husky].any() and changed[husky].flatten(1).any(1).all()
    inside = fur[:, None].expand_as(zoo.images) & husky[:, None, None, None]
    expected = 0.2 * zoo.images + 0.8 * torch.tensor(TINT)[:, None, None]
    assert torch.allclose(tinted.images[inside], expected[inside], atol=1e-6)
    with pytest.raises(ValueError, match="strength"):
        tint_animals(zoo, strength=1.5)


def test_rates_are_per_class_probabilities_and_seeded(zoo):
    big = make_toy_zoo(2000, size=16, seed=1, classes=PAIR)
    marked = _changed(big, add_corner_mark(big, {"wolf": 0.95, "husky": 0.05}, seed=3)).flatten(1).any(1)
    wolf = big.labels == 1
    assert abs(marked[wolf].float().mean() - 0.95) < 0.03 and abs(marked[~wolf].float().mean() - 0.05) < 0.03
    again = _changed(big, add_corner_mark(big, {"wolf": 0.95, "husky": 0.05}, seed=3)).flatten(1).any(1)
    other = _changed(big, add_corner_mark(big, {"wolf": 0.95, "husky": 0.05}, seed=4)).flatten(1).any(1)
    assert torch.equal(marked, again) and not torch.equal(marked, other)
    assert _changed(zoo, add_corner_mark(zoo, 1.0)).flatten(1).any(1).all()
    assert not _changed(zoo, tint_animals(zoo, 0.0)).any()


@pytest.mark.parametrize("rate, words", [
    ({"goose": 1.0}, "class names"), (1.5, "probability"), ({"wolf": -0.1}, "probability"), (True, "probability"),
])
def test_bad_rates_are_named(zoo, rate, words):
    with pytest.raises(ValueError, match=f"rate: .*{words}"):
        add_corner_mark(zoo, rate)


def test_a_non_zoo_is_refused():
    with pytest.raises(TypeError, match="zoo: expected a ToyZoo"):
        tint_animals(torch.rand(2, 3, 16, 16))


def test_biased_backgrounds_follow_the_homes(zoo):
    homes = {"husky": "sand", "wolf": "water"}
    moved = bias_backgrounds(zoo, homes, 1.0, seed=0)
    _same_animals(zoo, moved)
    assert moved.backgrounds.tolist() == [BACKGROUNDS.index(homes[PAIR[y]]) for y in zoo.labels.tolist()]
    big = make_toy_zoo(1500, size=16, seed=2, classes=PAIR)
    some = bias_backgrounds(big, homes, 0.8, seed=1)
    at_home = some.backgrounds == torch.tensor([BACKGROUNDS.index(homes[c]) for c in PAIR])[big.labels]
    assert abs(at_home.float().mean() - 0.8) < 0.04
    away = some.backgrounds[~at_home]
    assert len(set(away.tolist())) == len(BACKGROUNDS) - 1 or len(set(away.tolist())) == len(BACKGROUNDS)
    with pytest.raises(ValueError, match="homes: expected a dict from every class"):
        bias_backgrounds(zoo, {"husky": "sand"}, 1.0)


def test_existing_zoos_are_unchanged_by_the_shortcut_functions():
    """The additions draw from their own generators: make_toy_zoo and swap_backgrounds still give the same images."""
    first = make_toy_zoo(60, size=32, seed=9, classes=PAIR)
    first_swap = swap_backgrounds(first, seed=2)
    add_corner_mark(first, 0.5, seed=1)
    tint_animals(first, 0.5, seed=1)
    bias_backgrounds(first, {"husky": "snow", "wolf": "grass"}, 0.9, seed=1)
    second = make_toy_zoo(60, size=32, seed=9, classes=PAIR)
    assert torch.equal(first.images, second.images) and torch.equal(first.parts, second.parts)
    assert torch.equal(first_swap.images, swap_backgrounds(second, seed=2).images)
