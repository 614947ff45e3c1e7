"""Centred Toy Zoo, the spatial model, robust training, and the recognizability measures of notebook 06."""
import pytest
import torch

from helpers import (CLASSES, centered_goose_parts, load_model, make_toy_zoo, mean_masks, objectness, part_contrast, shape_similarity,
    train_classifier)
from helpers.models import SpatialZooNet, ZooNet
from helpers.training import l2_pgd


@pytest.fixture(scope="module")
def centred():
    return make_toy_zoo(400, seed=2, centered=True)


def test_centred_objects_sit_at_the_centre_facing_right(centred):
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")

    def centroid_spread(zoo):  # how much an object's centre of mass moves within its class, in pixels
        area = zoo.masks.flatten(1).sum(1)
        cx, cy = ((zoo.masks * grid).flatten(1).sum(1) / area for grid in (xs, ys))
        return max(max(cx[zoo.labels == k].std(), cy[zoo.labels == k].std()) for k in range(len(zoo.classes)))

    assert centroid_spread(centred) < 1.5 < 3 < centroid_spread(make_toy_zoo(400, seed=2))
    geese = centred.masks[centred.labels == CLASSES.index("goose")].float().mean(0)
    assert geese[:24, 36:].mean() > 3 * geese[:24, :28].mean()  # every head is up and to the right
    with pytest.raises(TypeError, match="centered"):
        make_toy_zoo(4, centered="yes")


def test_goose_parts_are_where_the_centred_goose_is_drawn(centred):
    parts = centered_goose_parts()
    assert set(parts) == {"neck", "body", "legs"} and all(p.shape == (64, 64) and p.any() for p in parts.values())
    assert not (parts["neck"] & parts["body"]).any() and not (parts["body"] & parts["legs"]).any()
    rows = {name: region.nonzero()[:, 0].float().mean() for name, region in parts.items()}
    assert rows["neck"] < rows["body"] < rows["legs"]  # head and neck on top, legs below
    covered = mean_masks(centred)[CLASSES.index("goose")]
    for region in parts.values():
        assert covered[region].mean() > 0.4  # geese cover each part region (sizes and necks vary a little)


def test_shape_similarity_names_each_class_from_one_real_mask(centred):
    masks = mean_masks(centred)
    one_each = torch.stack([centred.masks[centred.labels == k][0].float() for k in range(8)])
    assert (shape_similarity(one_each, masks).argmax(1) == torch.arange(8)).all()
    assert shape_similarity(masks, masks).diagonal().allclose(torch.ones(8))
    noise = torch.rand(8, 64, 64, generator=torch.Generator().manual_seed(0))
    assert (shape_similarity(noise, masks).argmax(1) == torch.arange(8)).sum() <= 2


def test_objectness_and_part_contrast():
    assert objectness(torch.full((2, 3, 64, 64), 0.5)).abs().max() == 0
    parts = centered_goose_parts()
    heat = torch.full((64, 64), 0.1)
    heat[parts["neck"]] = 1.0
    contrast = part_contrast(heat, parts)
    assert contrast["neck"] == pytest.approx(10.0) and contrast["body"] == pytest.approx(1.0)


@pytest.mark.slow
def test_spatial_model_shapes_and_robust_training_learns():
    model = SpatialZooNet(num_classes=3, width=4)
    assert model(torch.rand(2, 3, 64, 64)).shape == (2, 3)
    data = make_toy_zoo(96, seed=0, classes=("fish", "house", "flower"), centered=True)
    history = train_classifier(model, data.images, data.labels, epochs=4, lr=1e-2, batch_size=32,
                               adversarial_eps=1.0, progress=False)
    assert history["loss"][-1] < history["loss"][0] and history["train_accuracy"][-1] > 0.6
    x, y = data.images[:8], data.labels[:8]
    adversarial = l2_pgd(model.eval(), x, y, eps=0.5)
    assert (adversarial - x).flatten(1).norm(dim=1).max() <= 0.5 + 1e-4 and adversarial.min() >= 0
    with pytest.raises(ValueError, match="adversarial_eps"):
        train_classifier(ZooNet(width=4), x, y, adversarial_eps=-1, progress=False)


def test_the_spatial_checkpoint_is_accurate_on_centred_objects():
    model = load_model("zoonet_spatial")
    assert isinstance(model, SpatialZooNet) and model.info["test_accuracy"] >= 0.97
    assert model.info["recipe"]["adversarial_eps"] > 0 and model.info["recipe"]["centered"]
