"""Part maps of the Toy Zoo (``zoo.parts``, ``PARTS``, ``part_index``) and growing/shrinking masks."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.toyzoo import (CLASSES, PARTS, centered_goose_parts, grow_masks, make_toy_zoo, part_index, shrink_masks,
                            swap_backgrounds)


def class_parts(cls):
    return [part for c, part in PARTS if c == cls]


@pytest.fixture(scope="module")
def zoo():
    return make_toy_zoo(400, seed=1)


@pytest.fixture(scope="module")
def centred():
    return make_toy_zoo(400, seed=2, centered=True)


def test_parts_names_every_required_part():
    required = {"goose": {"neck", "head", "body", "legs"}, "husky": {"head", "body", "legs", "tail"},
                "wolf": {"head", "body", "legs", "tail"}, "car": {"body", "windows", "wheels"},
                "house": {"walls", "roof", "door"}, "fish": {"body", "tail fin"},
                "flower": {"petals", "centre", "stem"}, "butterfly": {"wings", "body"}}
    assert len(set(PARTS)) == len(PARTS) and {c for c, _ in PARTS} == set(CLASSES)
    for cls, parts in required.items():
        assert parts <= set(class_parts(cls)), cls
    assert [part_index(c, p) for c, p in PARTS] == list(range(1, len(PARTS) + 1))


@pytest.mark.parametrize("cls, part, word", [("unicorn", "horn", "cls"), ("goose", "tail", "part"),
                                             ("wolf", "Tail", "part"), (None, "head", "cls")])
def test_part_index_rejects_unknown_names(cls, part, word):
    with pytest.raises(ValueError, match=word):
        part_index(cls, part)


@pytest.mark.parametrize("kwargs", [{}, {"centered": True}, {"size": 32}, {"size": 16, "bias": 0.9}])
def test_the_parts_tile_the_object_mask_exactly(kwargs):
    zoo = make_toy_zoo(200, seed=4, **kwargs)
    assert zoo.parts.dtype == torch.int64 and zoo.parts.shape == zoo.masks.shape
    assert 0 <= zoo.parts.min() and zoo.parts.max() <= len(PARTS)
    assert torch.equal(zoo.parts > 0, zoo.masks)


@pytest.mark.parametrize("which", ["zoo", "centred"])
def test_every_image_shows_all_parts_of_its_class_and_no_others(which, request):
    zoo = request.getfixturevalue(which)
    for k, cls in enumerate(zoo.classes):
        expected = {0} | {part_index(cls, p) for p in class_parts(cls)}
        images = zoo.parts[zoo.labels == k]
        assert len(images) > 20
        for parts in images:
            assert set(parts.unique().tolist()) == expected, cls


def test_a_class_subset_keeps_the_global_part_values():
    zoo = make_toy_zoo(40, seed=0, classes=("wolf", "fish"))
    expected = {0} | {part_index(c, p) for c in ("wolf", "fish") for p in class_parts(c)}
    assert set(zoo.parts.unique().tolist()) == expected


def test_parts_are_deterministic_and_survive_subsets_and_swaps(zoo):
    assert torch.equal(make_toy_zoo(400, seed=1).parts, zoo.parts)
    for index in (slice(10, 20), zoo.labels == 3, [0, 5, 9], 7):
        sub = zoo[index]
        rows = [index] if isinstance(index, int) else index
        assert torch.equal(sub.parts, zoo.parts[rows]) and torch.equal(sub.parts > 0, sub.masks)
    swapped = swap_backgrounds(zoo, seed=3, background="snow")
    assert torch.equal(swapped.parts, zoo.parts) and swapped.parts is not zoo.parts


@pytest.mark.parametrize("cls, part, colour", [
    ("car", "windows", (0.75, 0.9, 1.0)), ("house", "window", (0.75, 0.9, 1.0)),
    ("flower", "centre", (0.95, 0.8, 0.1)), ("butterfly", "body", (0.05, 0.05, 0.05)),
])
def test_a_part_has_the_colour_of_its_pieces(zoo, cls, part, colour):
    """The piece drawn last decides colour and part alike: inside a single-coloured part, away from
    the outline, every pixel has that part's colour (windows over the body, centre over the petals)."""
    region = shrink_masks(zoo.masks) & (zoo.parts == part_index(cls, part))
    assert region.sum() > 100
    pixels = zoo.images.permute(0, 2, 3, 1)[region]
    assert torch.allclose(pixels, torch.tensor(colour).expand_as(pixels))


def test_the_outline_is_dark_and_belongs_to_the_parts(zoo):
    """The one-pixel outline (object pixels with a 4-neighbour off the object) is painted dark but keeps its part."""
    padded = F.pad(zoo.masks[:, None].float(), (1, 1, 1, 1), value=1.0)[:, 0] > 0
    inner = zoo.masks & padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:]
    outline = zoo.masks & ~inner
    assert outline.sum() > 0.2 * zoo.masks.sum()
    assert (zoo.images.permute(0, 2, 3, 1)[outline] == 0.08).all()
    assert (zoo.parts[outline] > 0).all()
    # a thin part can be all outline and is still labelled: the goose's legs are in every goose image
    legs = (zoo.parts == part_index("goose", "legs")).flatten(1).any(1)
    assert legs[zoo.labels == CLASSES.index("goose")].all()


def test_centered_goose_parts_agree_with_the_part_maps(centred):
    regions = centered_goose_parts()
    geese = centred.parts[centred.labels == CLASSES.index("goose")]
    for region, names in {"neck": ("neck", "head"), "body": ("body",), "legs": ("legs",)}.items():
        labelled = torch.zeros_like(geese, dtype=torch.bool)
        for name in names:
            labelled |= geese == part_index("goose", name)
        on_object = geese[:, regions[region]] > 0
        assert labelled[:, regions[region]][on_object].float().mean() > 0.8, region


def test_grow_and_shrink_masks():
    masks = torch.zeros(2, 9, 9, dtype=torch.bool)
    masks[0, 3:6, 3:6] = True
    masks[1, 0:4, 0:4] = True  # touches the border
    grown, shrunk = grow_masks(masks), shrink_masks(masks)
    assert grown[0].sum() == 25 and grown[0, 2:7, 2:7].all() and grown[1].sum() == 25
    assert shrunk[0].sum() == 1 and shrunk[0, 4, 4]
    assert shrunk[1].sum() == 9 and shrunk[1, :3, :3].all()  # not shrunk from the image border
    assert torch.equal(grow_masks(masks[0], 2), grow_masks(grow_masks(masks[0])))
    assert torch.equal(grow_masks(masks, 0), masks)
    # the same as the course's max-pooling idiom
    flat = masks[:, None].float()
    assert torch.equal(shrunk, -F.max_pool2d(-flat, 3, stride=1, padding=1)[:, 0] > 0)
    assert torch.equal(grow_masks(masks, 2), F.max_pool2d(flat, 5, stride=1, padding=2)[:, 0] > 0)
    with pytest.raises(ValueError, match="masks"):
        grow_masks(masks.float())
    with pytest.raises(ValueError, match="pixels"):
        shrink_masks(masks, -1)
