"""Recipes for the course's trained models, and the small cached checkpoints made from them.

The checkpoints live in the repository's ``data/`` folder (installed as ``helpers.data``), so
notebooks start fast. Remake them all with one command::

    python -m helpers.checkpoints            # or: python -m helpers.checkpoints zoonet
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path

import torch

from .models import SpatialZooNet, ZooNet
from .toyzoo import CLASSES, ToyZoo, make_toy_zoo
from .training import accuracy, train_classifier


@dataclass(frozen=True)
class Recipe:
    """How one checkpoint is made: Toy Zoo data (``data_seed``, ``bias``, ``classes``, ``centered``) and training.

    architecture: ``"zoonet"`` (global average pooling) or ``"spatial"`` (``SpatialZooNet``);
    adversarial_eps > 0: robust training (``train_classifier``'s ``adversarial_eps``).
    shuffle_labels: train on a random permutation of the training labels (seeded by ``seed``), the label
    randomization test of Adebayo et al. (2018); ``info["train_accuracy"]`` then records how well it memorised them.
    """

    classes: tuple[str, ...] = CLASSES
    n_train: int = 4000
    n_test: int = 2000
    bias: float | None = None
    data_seed: int = 1
    test_seed: int = 2
    width: int = 8
    epochs: int = 4
    lr: float = 0.02
    batch_size: int = 128
    seed: int = 0
    architecture: str = "zoonet"
    centered: bool = False
    adversarial_eps: float = 0.0
    shuffle_labels: bool = False


_SPATIAL = Recipe(architecture="spatial", centered=True, adversarial_eps=3.0, epochs=5, lr=3e-3)

RECIPES: dict[str, Recipe] = {
    # the course's CNN on unbiased Toy Zoo
    "zoonet": Recipe(),
    # notebook 04's label randomization test: ZooNet on 1000 Toy Zoo images with shuffled labels, memorised (40 epochs)
    "zoonet_random_labels": Recipe(n_train=1000, epochs=40, shuffle_labels=True),
    # an independently trained, wider second model (other data, other seed): a second opinion
    "zoonet_wide": Recipe(width=16, data_seed=11, seed=1),
    # notebook 05, the Clever-Hans case study: the same CNN and training, only the data differ.
    # biased: 95% of wolves on snow, 95% of huskies on grass; it learns "snow => wolf", not the tail
    "huskywolf_biased": Recipe(classes=("husky", "wolf"), bias=0.95),
    # fixed: every background equally likely for both classes, so only the tail tells them apart
    "huskywolf_fixed": Recipe(classes=("husky", "wolf"), bias=None),
    # notebook 05's dose-response ("How much bias does it take?"): the biased recipe at weaker biases
    "huskywolf_bias_50": Recipe(classes=("husky", "wolf"), bias=0.5),
    "huskywolf_bias_60": Recipe(classes=("husky", "wolf"), bias=0.6),
    # the same images, another initialization and batch order: near the cliff the seed decides
    "huskywolf_bias_60_seed1": Recipe(classes=("husky", "wolf"), bias=0.6, seed=1),
    "huskywolf_bias_65": Recipe(classes=("husky", "wolf"), bias=0.65),
    "huskywolf_bias_70": Recipe(classes=("husky", "wolf"), bias=0.7),
    "huskywolf_bias_85": Recipe(classes=("husky", "wolf"), bias=0.85),
    # notebook 06, class models a person can name: centred objects facing one way, a head that keeps
    # the spatial layout, and robust (L2 PGD, eps 3) training from scratch
    "zoonet_spatial": _SPATIAL,
    # the same recipe on the Clever-Hans data of notebook 05: do its class models catch the grass and snow?
    "huskywolf_spatial_biased": replace(_SPATIAL, classes=("husky", "wolf"), bias=0.95),
    "huskywolf_spatial_fixed": replace(_SPATIAL, classes=("husky", "wolf"), bias=None),
}
# notebook 09's mystery models are not here: helpers.capstone makes them (with this module's training code)


def checkpoint_path(name: str) -> Path:
    return data_folder() / f"{name}.pt"


def data_folder() -> Path:
    """Where the checkpoints are: the installed ``helpers.data``, or ``data/`` beside ``helpers/`` in a plain
    checkout that was never installed (``pip install -e .`` maps one onto the other)."""
    try:
        return Path(str(resources.files("helpers.data")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[1] / "data"


def build_model(recipe: Recipe) -> ZooNet | SpatialZooNet:
    """The untrained network of ``recipe``: its architecture, width and number of classes."""
    architecture = {"zoonet": ZooNet, "spatial": SpatialZooNet}[recipe.architecture]
    return architecture(num_classes=len(recipe.classes), width=recipe.width)


def train_recipe(name: str, progress: bool = True) -> tuple[ZooNet | SpatialZooNet, dict]:
    """Train the model of ``RECIPES[name]`` from scratch; returns (model, info with test accuracy)."""
    recipe = _recipe(name)
    train, test = (make_toy_zoo(n, seed=seed, bias=recipe.bias, classes=recipe.classes, centered=recipe.centered)
                   for n, seed in ((recipe.n_train, recipe.data_seed), (recipe.n_test, recipe.test_seed)))
    return train_on(recipe, train, test, progress=progress)


def train_on(recipe: Recipe, train: ToyZoo, test: ToyZoo, progress: bool = True) -> tuple[ZooNet | SpatialZooNet, dict]:
    """Train ``recipe``'s network (seed ``recipe.seed``) on the images of ``train``; measure it on ``test``.

    train, test: ``ToyZoo``s of ``recipe.classes`` (images (N, 3, H, W)); the recipe's data fields
    (``n_train``, ``data_seed``, ``bias``, ...) are not read. Returns (model in eval mode, info: the recipe,
    training time, final loss, test accuracy, and for ``shuffle_labels`` the accuracy on the shuffled labels).
    """
    torch.manual_seed(recipe.seed)
    model = build_model(recipe)
    labels = train.labels
    if recipe.shuffle_labels:  # each image keeps its picture but gets another image's label
        labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(recipe.seed))]
    start = time.perf_counter()
    history = train_classifier(model, train.images, labels, epochs=recipe.epochs, lr=recipe.lr,
                               batch_size=recipe.batch_size, seed=recipe.seed,
                               adversarial_eps=recipe.adversarial_eps, progress=progress)
    info = {"recipe": asdict(recipe), "train_seconds": round(time.perf_counter() - start, 1),
            "final_loss": history["loss"][-1], "test_accuracy": accuracy(model, test.images, test.labels)}
    if recipe.shuffle_labels:
        info["train_accuracy"] = accuracy(model, train.images, labels)  # on the shuffled labels it was trained on
    return model, info


def load_model(name: str = "zoonet") -> ZooNet | SpatialZooNet:
    """The cached, trained model ``name`` (see ``RECIPES``), on the CPU, in eval mode.

    ``model.info`` holds the recipe and the test accuracy measured when it was made.
    """
    recipe = _recipe(name)
    path = checkpoint_path(name)
    if not path.exists():
        raise FileNotFoundError(f"name: no checkpoint {path.name}; make it with: python -m helpers.checkpoints {name}")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(recipe)
    model.load_state_dict(saved["state_dict"])
    model.info = saved["info"]
    return model.eval()


def save_checkpoint(name: str, progress: bool = True) -> dict:
    model, info = train_recipe(name, progress=progress)
    torch.save({"state_dict": model.state_dict(), "info": info}, checkpoint_path(name))
    return info


def _recipe(name: str) -> Recipe:
    if isinstance(name, str) and name.startswith("mystery_"):
        raise ValueError(f"name: {name!r} is one of the capstone's mystery models: load it with "
                         "helpers.capstone.load_mystery(letter), make it with python -m helpers.capstone make")
    if name not in RECIPES:
        raise ValueError(f"name: expected one of {', '.join(map(repr, RECIPES))}, got {name!r}")
    return RECIPES[name]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train the course's models and cache them in data/.")
    parser.add_argument("names", nargs="*", default=list(RECIPES), help="which checkpoints (default: all)")
    names = parser.parse_args(argv).names
    for name in names:
        try:
            _recipe(name)
        except ValueError as error:
            parser.error(str(error))
    for name in names:
        info = save_checkpoint(name)
        print(f"{name}: test accuracy {info['test_accuracy']:.4f}, trained in {info['train_seconds']} s")


if __name__ == "__main__":
    main()
