"""Checks for notebook 09 (capstone: audit the mystery models).

``check_verdicts(verdicts)``: ``verdicts`` is a dict ``{letter: verdict}`` with one entry for each of
``LETTERS`` and each verdict one of ``VERDICTS``. Prints how many are right and which letters, never
the right verdict of a wrong letter. It compares salted hashes (``helpers.capstone``) read from the
checkpoints, so it works for models an instructor trained with a private salt.

``check_audit(audit, zoo)``: runs the learner's ``audit(model, zoo) -> verdict`` on every mystery
model (weights only: no ``info``), with the grader switched off inside it, then grades the verdicts.

``check_evidence(model, before, after)``: recomputes the number a verdict rests on: the model's
accuracy on the learner's images ``before`` and ``after`` an intervention, the drop with its 95 %
interval, and which pixels the intervention changed. It judges the measurement, not the verdict.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from ..capstone import LETTERS, VERDICTS, answer_hash, mystery_name
from ..checkpoints import _build, _recipe, checkpoint_path, load_model
from ..toyzoo import ToyZoo, corner_mark_box
from ..training import predict
from . import ExerciseError, call, expect, passed

#: fewest images ``check_evidence`` accepts: its 95 % interval on an accuracy drop is then at most about ±0.14
MIN_IMAGES = 100
_ALLOWED = ", ".join(map(repr, VERDICTS))
_SPELLINGS = {"color": "colour", "watermark": "mark", "corner mark": "mark", "corner": "mark", "clean": "none",
              "animal": "none", "tint": "colour", "snow": "background"}


def _answers() -> dict[str, dict]:
    """{letter: {"nonce", "answer"}}, read from the mystery checkpoints' ``info["capstone"]``."""
    answers = {}
    for letter in LETTERS:
        path = checkpoint_path(mystery_name(letter))
        expect(path.exists(), f"the mystery model {letter} is missing ({path.name}).",
               f"ask your instructor, or make it: python -m helpers.checkpoints {mystery_name(letter)}")
        answers[letter] = torch.load(path, map_location="cpu", weights_only=True)["info"]["capstone"]
    return answers


def _check_verdict(verdict, where: str) -> None:
    if isinstance(verdict, str) and verdict in VERDICTS:
        return
    if isinstance(verdict, str):
        spelled = _SPELLINGS.get(verdict.strip().lower(), verdict.strip().lower())
        hint = f"did you mean {spelled!r}?" if spelled in VERDICTS else "a verdict names the cue, in lower case"
        raise ExerciseError(f"{where}: expected one of {_ALLOWED}, got {verdict!r}.\n  Hint: {hint}")
    raise ExerciseError(f"{where}: expected one of {_ALLOWED} (a str), got a {type(verdict).__name__}: {verdict!r}."
                        "\n  Hint: return the verdict word alone; keep your numbers for the report")


def _grade(verdicts: dict) -> None:
    answers = _answers()
    right = [letter for letter in LETTERS
             if answer_hash(answers[letter]["nonce"], letter, verdicts[letter]) == answers[letter]["answer"]]
    wrong = [letter for letter in LETTERS if letter not in right]
    if not wrong:
        passed(f"{len(right)} of {len(LETTERS)} verdicts right ({', '.join(right)}). Now back each one with a number "
               "(check_evidence) and say what that number cannot rule out.")
        return
    given = {}
    for letter in LETTERS:
        given.setdefault(verdicts[letter], []).append(letter)
    repeated = [f"{verdict!r} for {' and '.join(letters)}" for verdict, letters in given.items() if len(letters) > 1]
    hint = ("each verdict belongs to exactly one model, and you gave " + "; ".join(repeated) if repeated else
            "for each letter you got wrong, reverse each cue in turn and compare with a control model")
    named = f"{', '.join(right)} right" if right else "no letter right yet"
    raise ExerciseError(f"{len(right)} of {len(LETTERS)} verdicts right: {named}; {', '.join(wrong)} not yet."
                        f"\n  Hint: {hint}")


def check_verdicts(verdicts) -> None:
    """Grade ``{letter: verdict}``: how many are right and which letters; a wrong letter's answer stays hidden."""
    if not isinstance(verdicts, dict):
        raise ExerciseError(f"verdicts: expected a dict {{letter: verdict}}, one entry per mystery model, "
                            f"got a {type(verdicts).__name__}.")
    if set(verdicts) != set(LETTERS):
        keys = ", ".join(map(repr, verdicts)) or "no keys"
        lower = {str(k).upper() for k in verdicts} == set(LETTERS)
        raise ExerciseError(f"verdicts: expected the keys {', '.join(map(repr, LETTERS))} (one per mystery model), "
                            f"got {keys}.\n  Hint: "
                            + ("use capital letters, as in mystery model 'A'" if lower else
                               "one verdict for each mystery model, keyed by its letter"))
    for letter in LETTERS:
        _check_verdict(verdicts[letter], f"verdicts[{letter!r}]")
    _grade(verdicts)


def _weights_only(letter: str) -> nn.Module:
    """The mystery model of ``letter`` as an audit sees it: the network, without ``info``."""
    model = _build(_recipe(mystery_name(letter)))
    model.load_state_dict(load_model(mystery_name(letter)).state_dict())
    return model.eval()


def check_audit(audit, zoo: ToyZoo) -> None:
    """Run ``audit(model, zoo) -> verdict`` on each mystery model (a fresh copy of ``zoo`` each) and grade it."""
    expect(isinstance(zoo, ToyZoo), f"zoo: expected a ToyZoo (the husky/wolf test images), got {type(zoo).__name__}.")
    expect(set(zoo.classes) == {"husky", "wolf"}, f"zoo: expected husky and wolf images, got classes {zoo.classes}.",
           "draw them with make_toy_zoo(n, classes=('husky', 'wolf'), seed=...)")
    blocked = [check_verdicts, check_evidence, answer_hash]
    verdicts = {}
    for letter in LETTERS:
        verdict = call(audit, _weights_only(letter), zoo[torch.arange(len(zoo))], unavailable=blocked,
                       instead="the audit decides from the model's behaviour alone: measure it")
        _check_verdict(verdict, f"your audit's verdict for mystery model {letter}")
        verdicts[letter] = verdict
    if len(set(verdicts.values())) == 1:
        raise ExerciseError(f"your audit says {verdicts['A']!r} for all {len(LETTERS)} models.\n  Hint: does it "
                            "measure the `model` it is given, and compare the cues' effects with each other?")
    _grade(verdicts)


# ---------------------------------------------------------------------------------------
# the evidence


class Evidence(NamedTuple):
    """What ``check_evidence`` measured: accuracies before/after, their drop and its 95 % interval, on ``n`` images."""

    before: float
    after: float
    drop: float
    margin: float
    n: int
    changed: str


def _changed_region(before: ToyZoo, after: ToyZoo) -> tuple[str, int]:
    """Which pixels the intervention changed (in words), and in how many images."""
    diff = (before.images != after.images).any(1).cpu()  # (N, H, W)
    masks = before.masks.cpu()
    corner = torch.zeros_like(diff[0])
    corner[corner_mark_box(diff.shape[-1])] = True
    n_changed = int(diff.flatten(1).any(1).sum())
    if not diff[:, ~corner].any():
        return "only the top-left corner box", n_changed
    if not (diff & masks).any():
        return "only the background (no pixel of an animal)", n_changed
    if not (diff & ~masks).any():
        return "only the animals (no background pixel)", n_changed
    return "both the animals and the background", n_changed


def check_evidence(model, before: ToyZoo, after: ToyZoo) -> Evidence:
    """Recompute the accuracy of ``model`` on ``before`` and ``after`` (the same animals) and print the drop.

    model: a mystery letter ("A", ...) or any husky/wolf classifier. before, after: ``ToyZoo``s of
    at least ``MIN_IMAGES`` images with the same labels and masks, ``after`` made from ``before`` by one
    intervention. The 95 % interval is that of the mean paired difference (right before minus right
    after, per image). Returns an ``Evidence``; raises ``ExerciseError`` for evidence that cannot back a verdict.
    """
    name = f"mystery model {model}" if isinstance(model, str) else "the model"
    if isinstance(model, str):
        expect(model in LETTERS, f"model: expected a mystery letter ({', '.join(LETTERS)}) or a model, got {model!r}.")
        model = load_model(mystery_name(model))
    expect(isinstance(model, nn.Module), f"model: expected a mystery letter or a model, got {type(model).__name__}.")
    for zoo, argument in ((before, "before"), (after, "after")):
        expect(isinstance(zoo, ToyZoo), f"{argument}: expected a ToyZoo, got {type(zoo).__name__}.")
    expect(len(before) >= MIN_IMAGES, f"before: {len(before)} images are too few to back a verdict; "
                                      f"expected at least {MIN_IMAGES}.",
           "with n images the 95 % interval of an accuracy is about ±1/sqrt(n): draw more test images")
    same = (len(after) == len(before) and torch.equal(after.labels.cpu(), before.labels.cpu())
            and torch.equal(after.masks.cpu(), before.masks.cpu()))
    expect(same, "after: expected the same animals as before (same labels and masks), changed by one intervention.",
           "make it from `before`, e.g. swap_backgrounds(before, ...), add_corner_mark(before, ...)")
    changed, n_changed = _changed_region(before, after)
    expect(n_changed > 0, "after: shows exactly the images of before: nothing was changed.",
           "apply the intervention to some images, e.g. add_corner_mark(before, {'husky': 1.0})")

    labels = before.labels.cpu()
    right_before = (predict(model, before.images).argmax(1) == labels).double()
    right_after = (predict(model, after.images).argmax(1) == labels).double()
    paired = right_before - right_after
    n = len(labels)
    drop = paired.mean().item()
    margin = 1.96 * paired.std().item() / math.sqrt(n) if n > 1 else float("inf")
    evidence = Evidence(right_before.mean().item(), right_after.mean().item(), drop, margin, n, changed)
    if drop - margin > 0.2:
        meaning = "a large drop: the model relies on what you changed"
    elif abs(drop) <= margin + 0.05:
        meaning = "no clear change: no evidence that the model relies on what you changed (a useful control)"
    else:
        meaning = "a change, but not a large one: look for a stronger test before you rest a verdict on it"
    print(f"✓ Evidence for {name}, on your {n} images: accuracy {evidence.before:.1%} before and "
          f"{evidence.after:.1%} after your intervention, which changed {changed} in {n_changed} images: "
          f"a drop of {drop:+.2f} ± {margin:.2f} (95 % interval). That is {meaning}.")
    return evidence
