"""The capstone's mystery models (notebook 09): husky-vs-wolf ZooNets, each trained with one hidden shortcut.

A *set* is four models, one per letter (``LETTERS``), trained on husky and wolf Toy Zoo images that
carry one cue correlated with the label (``VERDICTS``): the background (each class on a background of
its own), a corner mark (``add_corner_mark``), the animal's colour (``tint_animals``), or none (a clean
model that can only use the animal). The cue sits on ``CUE_RATE`` of one class's images and on
``1 - CUE_RATE`` of the other's (the background cue: each class on its own background ``CUE_RATE`` of
the time).

Everything that tells the models apart is derived from a **secret** (``plan_for``): which letter gets
which cue, which class carries the mark or the tint, which two backgrounds, and the data and training
seeds. Without the secret, no public information says which model has which cue, and the set
cannot be retrained. Two kinds of set:

- the **self-study set** shipped in ``helpers/data`` (``mystery_a.pt`` ...), made from the public
  ``SELF_STUDY_SECRET``: anyone can derive its answers from this code, so its check may say which are right;
- a **private set** an instructor makes with a secret of their own (``python -m helpers.capstone make``,
  ``helpers.capstone_instructor``): the model files hold weights and the public recipe only; the answers
  go to a separate file the instructor keeps. Learners point ``$CAPSTONE_MODELS`` at the folder of models.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .checkpoints import Recipe, build_model, checkpoint_path
from .models import ZooNet
from .toyzoo import BACKGROUNDS, ToyZoo, add_corner_mark, bias_backgrounds, make_toy_zoo, swap_backgrounds, tint_animals

PAIR = ("husky", "wolf")
LETTERS = ("A", "B", "C", "D")
#: the possible verdicts: the cue a mystery model was trained with ("none": only the animal tells the classes apart)
VERDICTS = ("background", "mark", "colour", "none")
#: the share of one class's training images that carry the cue (and of the other class's that carry it too)
CUE_RATE = 0.95
#: the public secret of the self-study set: its answers follow from this code
SELF_STUDY_SECRET = "seeing what a network sees"
#: the environment variable naming the folder of a private set (unset: the self-study set in helpers/data)
MODELS_VARIABLE = "CAPSTONE_MODELS"
#: how every mystery model is trained (``helpers.checkpoints``); a set's seeds replace the recipe's
RECIPE = Recipe(classes=PAIR)
#: the recipe's fields a model file keeps: everything but the seeds, which come from the secret
PUBLIC_FIELDS = ("classes", "n_train", "width", "epochs", "lr", "batch_size", "architecture")
#: training seeds a set has per model: a model that does not show its cue clearly is trained again with the next
TRIES = 5


@dataclass(frozen=True)
class Cue:
    """The cue one mystery model's training data carry.

    verdict: one of ``VERDICTS``; carrier: the class with the cue on ``CUE_RATE`` of its images (``None``
    for "none"); backgrounds: for "background", (the carrier's background, the other class's), else ``None``.
    """

    verdict: str
    carrier: str | None = None
    backgrounds: tuple[str, str] | None = None


@dataclass(frozen=True)
class Plan:
    """How a set is made, all derived from its secret: ``cues`` {letter: Cue}, and the seeds of its
    training images (``data_seed``), of the images it is measured on (``test_seed``) and of training
    (``train_seeds``: ``TRIES`` of them, tried in turn)."""

    cues: dict[str, Cue]
    data_seed: int
    test_seed: int
    train_seeds: tuple[int, ...]


def _number(secret: str, purpose: str) -> int:
    """A number in [0, 2**31) that only someone who knows ``secret`` can compute (HMAC-SHA256 of ``purpose``)."""
    return int.from_bytes(hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()[:4], "big") >> 1


def plan_for(secret: str) -> Plan:
    """The ``Plan`` of the set made with ``secret``: the verdicts dealt out to the letters in an order
    set by the secret, each cue's carrier class, the two backgrounds (distinct) and the seeds."""
    if not isinstance(secret, str) or not secret:
        raise ValueError(f"secret: expected a non-empty str, got {secret!r}")
    order = sorted(VERDICTS, key=lambda verdict: _number(secret, f"order {verdict}"))
    first = _number(secret, "background 1") % len(BACKGROUNDS)
    second = (first + 1 + _number(secret, "background 2") % (len(BACKGROUNDS) - 1)) % len(BACKGROUNDS)
    cues = {}
    for letter, verdict in zip(LETTERS, order):
        carrier = None if verdict == "none" else PAIR[_number(secret, f"carrier {verdict}") % 2]
        homes = (BACKGROUNDS[first], BACKGROUNDS[second]) if verdict == "background" else None
        cues[letter] = Cue(verdict, carrier, homes)
    return Plan(cues, _number(secret, "data seed"), _number(secret, "test seed"),
                tuple(_number(secret, f"train seed {k}") for k in range(TRIES)))


def self_study_answers() -> dict[str, str]:
    """{letter: verdict} of the self-study set: public, derived from ``SELF_STUDY_SECRET``."""
    return {letter: cue.verdict for letter, cue in plan_for(SELF_STUDY_SECRET).cues.items()}


def mystery_zoo(cue: Cue, n: int, seed: int, size: int = 64) -> ToyZoo:
    """``n`` husky/wolf Toy Zoo images (seed ``seed``) with ``cue`` planted as in a mystery model's training data.

    Backgrounds uniform over ``BACKGROUNDS``, then the cue on ``CUE_RATE`` of the carrier's images and
    ``1 - CUE_RATE`` of the other's. Returns a ``ToyZoo`` with images (n, 3, size, size).
    """
    if not isinstance(cue, Cue) or cue.verdict not in VERDICTS:
        raise ValueError(f"cue: expected a Cue with a verdict from {VERDICTS}, got {cue!r}")
    zoo = make_toy_zoo(n, size=size, seed=seed, classes=PAIR)
    if cue.verdict == "none":
        return zoo
    other = PAIR[1 - PAIR.index(cue.carrier)]
    if cue.verdict == "background":
        return bias_backgrounds(zoo, {cue.carrier: cue.backgrounds[0], other: cue.backgrounds[1]}, CUE_RATE, seed=seed)
    plant = add_corner_mark if cue.verdict == "mark" else tint_animals
    return plant(zoo, {cue.carrier: CUE_RATE, other: 1 - CUE_RATE}, seed=seed)


def recipe_of(plan: Plan, base: Recipe = RECIPE, attempt: int = 0) -> Recipe:
    """The training recipe of ``plan``'s set: ``base`` with the set's seeds (the training seed of try ``attempt``)."""
    return replace(base, data_seed=plan.data_seed, test_seed=plan.test_seed, seed=plan.train_seeds[attempt])


# ---------------------------------------------------------------------------------------
# the learner's side: loading a set, and the interventions


def mystery_folder() -> Path:
    """Where the mystery models are read from: ``$CAPSTONE_MODELS`` (a private set), else the shipped self-study set."""
    folder = os.environ.get(MODELS_VARIABLE)
    return Path(folder).expanduser() if folder else checkpoint_path("mystery_a").parent


def mystery_file(letter: str, folder: Path | str | None = None) -> Path:
    """The model file of ``letter`` in ``folder`` (default: ``mystery_folder()``): ``mystery_a.pt`` for "A"."""
    if letter not in LETTERS:
        raise ValueError(f"letter: expected one of {', '.join(LETTERS)}, got {letter!r}")
    return Path(folder if folder is not None else mystery_folder()) / f"mystery_{letter.lower()}.pt"


def load_mystery(letter: str, folder: Path | str | None = None) -> ZooNet:
    """The mystery model of ``letter`` (on the CPU, in eval mode), from ``folder`` (default: ``mystery_folder()``).

    ``model.info`` holds what its file holds besides the weights: ``set`` ("self-study" or "private"),
    ``letter`` and ``recipe`` (``PUBLIC_FIELDS`` of the training recipe; no seed, nothing about the cue).
    """
    path = mystery_file(letter, folder)
    if not path.is_file():
        named = os.environ.get(MODELS_VARIABLE)
        where = f"${MODELS_VARIABLE} = {named!r}" if named else "helpers/data"
        raise FileNotFoundError(f"letter: no mystery model {path.name} in {path.parent} (from {where}); "
                                "a private set's four files come from your instructor")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(RECIPE)
    model.load_state_dict(saved["state_dict"])
    model.info = saved["info"]
    return model.eval()


def check_intervention(intervention) -> tuple[str, str | dict] | None:
    """``intervention`` checked (see ``intervene``): None for ``{}``, else (cue, what it is put on).

    Raises ``ValueError`` naming the argument and the forms it takes.
    """
    if isinstance(intervention, dict) and not intervention:
        return None
    if isinstance(intervention, dict) and len(intervention) == 1:
        (cue, on), = intervention.items()
        if cue in ("mark", "colour") and isinstance(on, str) and on in PAIR:
            return cue, on
        if (cue == "background" and isinstance(on, dict) and set(on) == set(PAIR)
                and all(isinstance(name, str) and name in BACKGROUNDS for name in on.values())):
            return cue, dict(on)
    raise ValueError(f"intervention: expected {{}}, {{'mark': class}} or {{'colour': class}} (a class of {PAIR}), "
                     f"or {{'background': {{'husky': name, 'wolf': name}}}} (names from {BACKGROUNDS}); "
                     f"got {intervention!r}")


def intervene(zoo: ToyZoo, intervention: dict) -> ToyZoo:
    """The husky/wolf images ``zoo`` with one cue put on one class, described by a dict a submission can hold:

    ``{}``: unchanged; ``{"mark": "wolf"}``: the corner mark on every wolf (``add_corner_mark``);
    ``{"colour": "husky"}``: every husky's fur tinted (``tint_animals``); ``{"background": {"husky": "grass",
    "wolf": "snow"}}``: each class repainted on its background (``swap_backgrounds``, seed 1).
    Returns a new ``ToyZoo``: the same animals, images (N, 3, H, W).
    """
    if not isinstance(zoo, ToyZoo) or set(zoo.classes) != set(PAIR):
        raise TypeError(f"zoo: expected a ToyZoo of husky and wolf images, got {type(zoo).__name__}")
    checked = check_intervention(intervention)
    if checked is None:
        return zoo[torch.arange(len(zoo))]
    cue, on = checked
    if cue == "background":
        return swap_backgrounds(zoo, seed=1, background=on)
    return (add_corner_mark if cue == "mark" else tint_animals)(zoo, {on: 1.0})


if __name__ == "__main__":
    from .capstone_instructor import main

    main()
