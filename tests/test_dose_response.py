"""Notebook 05's dose-response over the background bias: its recipes, their cached checkpoints, and the cliff."""
from dataclasses import replace

import pytest

from helpers import HOME_BACKGROUND, accuracy, load_model, make_toy_zoo, swap_backgrounds
from helpers.checkpoints import RECIPES, checkpoint_path

# the recipes notebook 05 section 9 adds, with their bias and training seed; huskywolf_fixed (no bias)
# and huskywolf_biased (0.95) are the two ends of the curve
DOSES = {
    "huskywolf_bias_50": (0.5, 0),
    "huskywolf_bias_60": (0.6, 0),
    "huskywolf_bias_60_seed1": (0.6, 1),
    "huskywolf_bias_65": (0.65, 0),
    "huskywolf_bias_70": (0.7, 0),
    "huskywolf_bias_85": (0.85, 0),
}


@pytest.mark.parametrize("name", DOSES)
def test_dose_recipe_is_the_biased_recipe_at_another_bias(name):
    bias, seed = DOSES[name]
    assert name in RECIPES
    assert RECIPES[name] == replace(RECIPES["huskywolf_biased"], bias=bias, seed=seed)


@pytest.mark.parametrize("name", DOSES)
def test_dose_checkpoint_is_cached_and_made_from_its_recipe(name):
    assert checkpoint_path(name).is_file(), f"missing {name}.pt: run python -m helpers.checkpoints {name}"
    model = load_model(name)
    assert not model.training
    made_with = model.info["recipe"]
    assert (made_with["bias"], made_with["seed"]) == DOSES[name]
    assert tuple(made_with["classes"]) == ("husky", "wolf")


@pytest.fixture(scope="module")
def swapped_test():
    test = make_toy_zoo(200, bias=0.95, seed=5, classes=("husky", "wolf"))
    swap_to = {"husky": HOME_BACKGROUND["wolf"], "wolf": HOME_BACKGROUND["husky"]}
    return test, swap_backgrounds(test, seed=6, background=swap_to)


@pytest.mark.slow
def test_cached_checkpoints_show_the_cliff_notebook_05_describes(swapped_test):
    """Every model passes the ordinary test; the swapped set falls from ~100 % to ~0 % between b = 0.5 and 0.7.

    Which side of the cliff a model lands on depends on its training run (the seed, and possibly the
    machine): if this fails after retraining, notebook 05 section 9's prose and asserts need a look.
    """
    test, swapped = swapped_test
    swapped_acc = {}
    for name in ["huskywolf_fixed", *DOSES, "huskywolf_biased"]:
        model = load_model(name)
        assert accuracy(model, test.images, test.labels) > 0.95, name
        swapped_acc[name] = accuracy(model, swapped.images, swapped.labels)
    assert swapped_acc["huskywolf_fixed"] > 0.95 and swapped_acc["huskywolf_bias_50"] > 0.95
    assert 0.3 < swapped_acc["huskywolf_bias_60"] < 0.8 and 0.3 < swapped_acc["huskywolf_bias_65"] < 0.8
    for name in ("huskywolf_bias_60_seed1", "huskywolf_bias_70", "huskywolf_bias_85", "huskywolf_biased"):
        assert swapped_acc[name] < 0.05, name
