"""The capstone's mystery models (notebook 09): husky-vs-wolf ZooNets, each trained with one hidden shortcut.

Each mystery letter (``LETTERS``) names a checkpoint ``mystery_<letter>``, trained on husky and wolf
Toy Zoo images that carry one cue correlated with the label (``VERDICTS``): the background (each class
on a background of its own), a corner mark (``add_corner_mark``), the animal's colour
(``tint_animals``), or none (a clean model that can only use the animal). The mark and the tint sit on
``CUE_RATE`` of the images of one class and ``1 - CUE_RATE`` of the other; with the background cue,
``CUE_RATE`` of each class's images show that class's background in ``CUE_BACKGROUNDS``.

Which letter has which cue is not written anywhere: it is a permutation derived from a **salt**, the
environment variable ``CAPSTONE_SALT`` when the models are trained (a course default otherwise).
An instructor reshuffles with a private salt::

    CAPSTONE_SALT=my-secret python -m helpers.checkpoints mystery_a mystery_b mystery_c mystery_d

Each checkpoint's ``info["capstone"]`` keeps a ``nonce`` (a hash of the salt) and the salted hash of
its right verdict (``answer_hash``); the grader (``helpers.exercises.capstone``) compares hashes, so
it needs neither the salt nor the answers.
"""
from __future__ import annotations

import hashlib
import os

from .toyzoo import ToyZoo, add_corner_mark, bias_backgrounds, make_toy_zoo, tint_animals

PAIR = ("husky", "wolf")
LETTERS = ("A", "B", "C", "D")
#: the possible verdicts: the cue a mystery model was trained with ("none": only the animal tells the classes apart)
VERDICTS = ("background", "mark", "colour", "none")
#: the share of one class's training images that carry the cue (and of the other class's that carry it too)
CUE_RATE = 0.95
#: the backgrounds of the background cue, one per class (the pair is swapped for some salts)
CUE_BACKGROUNDS = ("sand", "water")
SALT_VARIABLE = "CAPSTONE_SALT"
DEFAULT_SALT = "seeing what a network sees"


def mystery_name(letter: str) -> str:
    """The checkpoint name of a mystery letter: ``"A"`` -> ``"mystery_a"``."""
    if letter not in LETTERS:
        raise ValueError(f"letter: expected one of {', '.join(LETTERS)}, got {letter!r}")
    return f"mystery_{letter.lower()}"


def current_salt() -> str:
    """The salt the mystery models are trained with: ``$CAPSTONE_SALT``, or the course default."""
    return os.environ.get(SALT_VARIABLE) or DEFAULT_SALT


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _planted(letter: str, salt: str) -> str:
    """The cue of ``letter`` under ``salt``: the verdicts sorted by a salted hash, dealt out to A, B, C, D."""
    order = sorted(VERDICTS, key=lambda verdict: _digest(salt, "order", verdict))
    return order[LETTERS.index(letter)]


def _cue_class(verdict: str, salt: str) -> str:
    """Which class carries the cue (for the background: which class gets ``CUE_BACKGROUNDS[0]``)."""
    return PAIR[int(_digest(salt, "class", verdict), 16) % 2]


def nonce(salt: str) -> str:
    """The public stand-in of a salt in the checkpoints: 16 hex digits of its hash."""
    return _digest("nonce", salt)[:16]


def answer_hash(nonce: str, letter: str, verdict: str) -> str:
    """The salted hash of a verdict for a letter, as stored in ``info["capstone"]["answer"]``."""
    return _digest(nonce, letter, verdict)


def mystery_zoo(letter: str, n: int, seed: int, size: int = 64, salt: str | None = None) -> ToyZoo:
    """``n`` husky/wolf Toy Zoo images drawn like the training data of ``mystery_<letter>``.

    Backgrounds uniform over ``BACKGROUNDS``, then the letter's cue planted (module docstring).
    salt: defaults to ``current_salt()``. Returns a ``ToyZoo`` with images (n, 3, size, size). Deterministic
    for given arguments.
    """
    mystery_name(letter)  # checks the letter
    salt = salt or current_salt()
    cue = _planted(letter, salt)
    zoo = make_toy_zoo(n, size=size, seed=seed, classes=PAIR)
    if cue == "none":
        return zoo
    carrier = _cue_class(cue, salt)
    other = PAIR[1 - PAIR.index(carrier)]
    if cue == "background":  # each class on its own background, CUE_RATE of the time
        return bias_backgrounds(zoo, {carrier: CUE_BACKGROUNDS[0], other: CUE_BACKGROUNDS[1]}, CUE_RATE, seed=seed)
    plant = add_corner_mark if cue == "mark" else tint_animals
    return plant(zoo, {carrier: CUE_RATE, other: 1 - CUE_RATE}, seed=seed)


def answer_record(letter: str, salt: str | None = None) -> dict:
    """What a mystery checkpoint keeps for the grader: ``{"nonce": ..., "answer": answer_hash(...)}``."""
    salt = salt or current_salt()
    code = nonce(salt)
    return {"nonce": code, "answer": answer_hash(code, letter, _planted(letter, salt))}
