"""The label randomization recipe (Adebayo et al. 2018, §4): shuffled labels, the other recipes untouched."""
from dataclasses import asdict, fields

import pytest
import torch

from helpers import accuracy, load_model, make_toy_zoo
from helpers import checkpoints
from helpers.checkpoints import RECIPES, Recipe, checkpoint_path, train_recipe

pytestmark = pytest.mark.slow  # trains a model


def _as_saved(value):
    return list(value) if isinstance(value, tuple) else value


def test_only_the_random_label_recipe_shuffles():
    assert Recipe().shuffle_labels is False
    assert [name for name, recipe in RECIPES.items() if recipe.shuffle_labels] == ["zoonet_random_labels"]
    # the same ZooNet recipe as "zoonet" but for the labels, fewer images and more epochs (to memorize them)
    assert RECIPES["zoonet_random_labels"] == Recipe(n_train=1000, epochs=40, shuffle_labels=True)


def test_shipped_checkpoints_were_made_by_their_recipes():
    """Every cached checkpoint records the recipe it was made with; a field newer than the checkpoint (such as
    shuffle_labels) is at its default there, so adding it changed none of the older models."""
    defaults = {f.name: f.default for f in fields(Recipe)}
    for name, recipe in RECIPES.items():
        if not checkpoint_path(name).is_file():
            continue  # test_packaging reports a missing checkpoint
        saved = torch.load(checkpoint_path(name), map_location="cpu", weights_only=True)["info"]["recipe"]
        for key, value in asdict(recipe).items():
            expected = saved.get(key, defaults[key])
            assert _as_saved(value) == _as_saved(expected), (name, key)


def _record_training(monkeypatch):
    """Replace the training by a recorder of the labels it is given: no model is trained."""
    seen = []

    def fake_train(model, images, labels, **kwargs):
        seen.append((images, labels))
        return {"loss": [0.0]}

    monkeypatch.setattr(checkpoints, "train_classifier", fake_train)
    return seen


def test_labels_are_a_seeded_permutation_and_the_images_are_untouched(monkeypatch):
    seen = _record_training(monkeypatch)
    small = dict(n_train=200, n_test=8)
    monkeypatch.setitem(RECIPES, "plain", Recipe(**small))
    monkeypatch.setitem(RECIPES, "shuffled", Recipe(**small, shuffle_labels=True))
    monkeypatch.setitem(RECIPES, "shuffled_again", Recipe(**small, shuffle_labels=True))
    monkeypatch.setitem(RECIPES, "shuffled_seed_1", Recipe(**small, shuffle_labels=True, seed=1))
    for name in ("plain", "shuffled", "shuffled_again", "shuffled_seed_1"):
        _, info = train_recipe(name, progress=False)
        assert ("train_accuracy" in info) == RECIPES[name].shuffle_labels
    zoo = make_toy_zoo(200, seed=1)
    (images, plain), (shuffled_images, shuffled), (_, again), (_, other_seed) = seen
    assert torch.equal(images, zoo.images) and torch.equal(shuffled_images, zoo.images)
    assert torch.equal(plain, zoo.labels)                                # no shuffle: the true labels
    assert torch.equal(shuffled.sort().values, zoo.labels.sort().values)  # a permutation: same count per class
    assert (shuffled != zoo.labels).float().mean() > 0.7                  # most images get another class
    assert torch.equal(shuffled, again) and not torch.equal(shuffled, other_seed)


def test_shuffled_labels_are_memorized_but_nothing_generalizes(monkeypatch):
    """The recipe shortened: a few dozen images, many epochs; chance is 1/8."""
    monkeypatch.setitem(RECIPES, "tiny_random", Recipe(n_train=48, n_test=400, epochs=50, batch_size=16, lr=0.03,
                                                       shuffle_labels=True))
    model, info = train_recipe("tiny_random", progress=False)
    assert info["train_accuracy"] > 0.5           # far above chance on the labels it was given
    assert info["test_accuracy"] < 0.25           # about chance on fresh images with their true labels


def test_the_shipped_random_label_model():
    model = load_model("zoonet_random_labels")
    assert not model.training
    assert model.info["recipe"] == asdict(RECIPES["zoonet_random_labels"]) | {"classes": model.info["recipe"]["classes"]}
    assert model.info["train_accuracy"] > 0.85     # memorized its shuffled training labels
    assert model.info["test_accuracy"] < 0.2
    fresh = make_toy_zoo(400, seed=123)
    assert accuracy(model, fresh.images, fresh.labels) < 0.2


def test_it_is_the_architecture_of_the_trained_zoonet():
    """Notebook 04 compares its maps with the trained ZooNet's, Grad-CAM on ``features[-1]`` of both."""
    model, trained = load_model("zoonet_random_labels"), load_model("zoonet")
    assert type(model) is type(trained) and model(torch.rand(2, 3, 64, 64)).shape == (2, 8)
    assert [tuple(p.shape) for p in model.parameters()] == [tuple(p.shape) for p in trained.parameters()]
