"""Background interventions on the Toy Zoo, and the husky/wolf checkpoints of notebook 05."""
import pytest
import torch

from helpers import (BACKGROUNDS, HOME_BACKGROUND, RECIPES, ToyZoo, accuracy, load_model, make_toy_zoo,
                     paint_background, swap_backgrounds)

PAIR = ("husky", "wolf")


@pytest.fixture(scope="module")
def zoo():
    return make_toy_zoo(24, size=32, bias=0.95, seed=3, classes=PAIR)


def _object_pixels(zoo):
    return zoo.masks[:, None].expand_as(zoo.images)


def test_swap_keeps_the_objects_and_changes_everything_else(zoo):
    swapped = swap_backgrounds(zoo, seed=1)
    assert isinstance(swapped, ToyZoo) and swapped.images.shape == zoo.images.shape
    assert swapped.images.dtype == torch.float32
    inside = _object_pixels(zoo)
    assert torch.equal(swapped.images[inside], zoo.images[inside])
    assert torch.equal(swapped.labels, zoo.labels) and torch.equal(swapped.masks, zoo.masks)
    assert swapped.classes == zoo.classes
    assert (swapped.backgrounds != zoo.backgrounds).all()  # None: always a different background
    changed = (swapped.images != zoo.images).any(1)[~zoo.masks].float().mean()
    assert changed > 0.95
    assert ((swapped.images >= 0) & (swapped.images <= 1)).all()


def test_swap_is_deterministic_and_seeded(zoo):
    a, b, c = swap_backgrounds(zoo, seed=4), swap_backgrounds(zoo, seed=4), swap_backgrounds(zoo, seed=5)
    assert torch.equal(a.images, b.images) and torch.equal(a.backgrounds, b.backgrounds)
    assert not torch.equal(a.images, c.images)


def test_swap_to_a_named_background(zoo):
    snowy = swap_backgrounds(zoo, background="snow")
    assert (snowy.backgrounds == BACKGROUNDS.index("snow")).all()
    # the new background is snow-bright outside the object
    assert snowy.images.mean(1)[~zoo.masks].mean() > 0.8


def test_swap_by_class_puts_each_class_on_the_other_home(zoo):
    flip = {"husky": HOME_BACKGROUND["wolf"], "wolf": HOME_BACKGROUND["husky"]}
    swapped = swap_backgrounds(zoo, background=flip)
    expected = torch.tensor([BACKGROUNDS.index(flip[PAIR[k]]) for k in zoo.labels.tolist()])
    assert torch.equal(swapped.backgrounds, expected)
    assert not swapped.on_home_background().any()


def test_swap_with_a_list_or_tensor(zoo):
    names = [BACKGROUNDS[k % len(BACKGROUNDS)] for k in range(len(zoo))]
    ids = torch.arange(len(zoo)) % len(BACKGROUNDS)
    by_name, by_id = swap_backgrounds(zoo, seed=2, background=names), swap_backgrounds(zoo, seed=2, background=ids)
    assert torch.equal(by_name.backgrounds, ids) and torch.equal(by_name.images, by_id.images)


@pytest.mark.parametrize("background, error, words", [
    ("lava", ValueError, "background"),
    (["snow"] * 3, ValueError, "24"),
    ({"husky": "snow"}, ValueError, "wolf"),
    ({"husky": "snow", "wolf": "grass", "cat": "sky"}, ValueError, "cat"),
    (torch.full((24,), 9), ValueError, "background"),
    (torch.zeros(24), ValueError, "int64"),
    (3.5, TypeError, "background"),
])
def test_swap_rejects_bad_backgrounds(zoo, background, error, words):
    with pytest.raises(error, match=words):
        swap_backgrounds(zoo, background=background)


def test_swap_rejects_a_non_zoo():
    with pytest.raises(TypeError, match="zoo"):
        swap_backgrounds(torch.rand(2, 3, 32, 32))


def test_paint_background_keeps_masked_pixels(zoo):
    images = zoo.images[:3]
    painted = paint_background(images, zoo.masks[:3], "grass", seed=0)
    inside = _object_pixels(zoo)[:3]
    assert torch.equal(painted[inside], images[inside])
    assert torch.equal(painted, paint_background(images, zoo.masks[:3], ["grass"] * 3, seed=0))
    green = painted[:, 1][~zoo.masks[:3]].mean() - painted[:, 0][~zoo.masks[:3]].mean()
    assert green > 0.1  # grass is green


@pytest.mark.parametrize("images, masks, background, words", [
    (torch.rand(2, 3, 32, 16), torch.zeros(2, 32, 16, dtype=torch.bool), "snow", "images"),
    (torch.rand(2, 1, 32, 32), torch.zeros(2, 32, 32, dtype=torch.bool), "snow", "images"),
    (torch.rand(2, 3, 32, 32), torch.zeros(2, 32, 32), "snow", "masks"),
    (torch.rand(2, 3, 32, 32), torch.zeros(2, 32, 32, dtype=torch.bool), "mud", "background"),
    (torch.rand(2, 3, 32, 32), torch.zeros(2, 32, 32, dtype=torch.bool), [0, 99], "background"),
])
def test_paint_background_rejects_bad_input(images, masks, background, words):
    with pytest.raises(ValueError, match=words):
        paint_background(images, masks, background)


# ---------------------------------------------------------------------------------------
# the cached husky/wolf models really are a Clever Hans and its fix


def test_huskywolf_recipes():
    biased, fixed = RECIPES["huskywolf_biased"], RECIPES["huskywolf_fixed"]
    assert biased.classes == fixed.classes == PAIR
    assert biased.bias == 0.95 and fixed.bias is None
    # the same recipe in every other respect: only the data's background statistics differ
    assert {**vars(biased), "bias": None} == vars(fixed)


@pytest.mark.slow
def test_biased_checkpoint_uses_the_background_and_fixed_does_not():
    test = make_toy_zoo(200, bias=0.95, seed=21, classes=PAIR)
    swapped = swap_backgrounds(test, seed=22, background={"husky": "snow", "wolf": "grass"})
    biased, fixed = load_model("huskywolf_biased"), load_model("huskywolf_fixed")
    assert accuracy(biased, test.images, test.labels) > 0.9
    assert accuracy(fixed, test.images, test.labels) > 0.9
    assert accuracy(biased, swapped.images, swapped.labels) < 0.3
    assert accuracy(fixed, swapped.images, swapped.labels) > 0.9
