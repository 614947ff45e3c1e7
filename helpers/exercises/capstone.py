"""Checks for notebook 09 (capstone: audit the mystery models), and the learner's submission file.

The mystery models come from ``helpers.capstone.mystery_folder()``: the public self-study set, or a
private set from the instructor (``$CAPSTONE_MODELS``). Whether a verdict is right can only be said for
the self-study set, whose answers follow from the course's public code; for a private set the answers
are in no file the learner has, so these checks say whether verdicts are well formed, and the instructor
grades them (``python -m helpers.capstone grade``).

``check_verdicts(verdicts)``: ``verdicts`` is a dict ``{letter: verdict}`` with one entry for each of
``LETTERS``, each verdict one of ``VERDICTS`` (a plain ``str``), each verdict once. Self-study set: how
many are right and which letters, never the right verdict of a wrong letter. Private set: format only.

``check_audit(audit, zoo)``: runs the learner's ``audit(model, zoo) -> verdict`` on a fresh copy of
every mystery model (its hidden channels in a new random order: the same function, tensors that match
no file), with the checks and the loaders switched off inside it; then as ``check_verdicts``.

``check_evidence(model, before, after)``: recomputes the number a verdict rests on (``measure_evidence``):
the model's accuracy on the learner's images ``before`` and ``after`` an intervention, the drop with
its 95 % interval, and which pixels the intervention changed. It judges the measurement, not the verdict.

``save_submission(verdicts, evidence, path)`` writes what the learner hands in (``read_submission``
reads it back; format in ``helpers.capstone_instructor``).
"""
from __future__ import annotations

import copy
import json
import math
import os
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from ..capstone import (LETTERS, PAIR, VERDICTS, check_intervention, intervene, load_mystery, mystery_folder, plan_for,
                        self_study_answers)
from ..toyzoo import ToyZoo, corner_mark_box, make_toy_zoo
from ..training import predict
from . import ExerciseError, call, expect, passed

#: fewest images ``check_evidence`` accepts: its 95 % interval on an accuracy drop is then at most about ±0.14
MIN_IMAGES = 100
#: most images a submitted piece of evidence may ask the grader to draw
MAX_IMAGES = 5000
_ALLOWED = ", ".join(map(repr, VERDICTS))
_SPELLINGS = {"color": "colour", "watermark": "mark", "corner mark": "mark", "corner": "mark", "clean": "none",
              "animal": "none", "tint": "colour", "snow": "background"}
_SELF_STUDY_NOTE = ("(Its answers follow from the course's public code; a graded course uses a private set, "
                    "whose answers are in no file you have.)")


def _set_kind() -> str:
    """"self-study" or "private": what the four model files in ``mystery_folder()`` say they are."""
    kinds = set()
    for letter in LETTERS:
        try:
            kinds.add(load_mystery(letter).info.get("set"))
        except FileNotFoundError as error:
            raise ExerciseError(f"the mystery model {letter} is missing: {error}") from None
    expect(len(kinds) == 1 and kinds <= {"self-study", "private"},
           f"the mystery models in {mystery_folder()} are not one set (they say {sorted(map(str, kinds))}).",
           "use the four files of one set, as your instructor gave them")
    return kinds.pop()


def _check_verdict(verdict, where: str) -> None:
    if type(verdict) is str and verdict in VERDICTS:
        return
    if type(verdict) is str:
        spelled = _SPELLINGS.get(verdict.strip().lower(), verdict.strip().lower())
        hint = f"did you mean {spelled!r}?" if spelled in VERDICTS else "a verdict names the cue, in lower case"
        raise ExerciseError(f"{where}: expected one of {_ALLOWED}, got {verdict!r}.\n  Hint: {hint}")
    raise ExerciseError(f"{where}: expected one of {_ALLOWED} (a str), got a {type(verdict).__name__}: {verdict!r}."
                        "\n  Hint: return the verdict word alone, a plain str; keep your numbers for the report")


def _check_verdicts(verdicts, where: str = "verdicts") -> dict[str, str]:
    """``verdicts`` checked as the module docstring says; returns a plain ``{letter: verdict}`` copy."""
    if not isinstance(verdicts, dict):
        raise ExerciseError(f"{where}: expected a dict {{letter: verdict}}, one entry per mystery model, "
                            f"got a {type(verdicts).__name__}.")
    if set(verdicts) != set(LETTERS):
        keys = ", ".join(map(repr, verdicts)) or "no keys"
        lower = {str(k).upper() for k in verdicts} == set(LETTERS)
        raise ExerciseError(f"{where}: expected the keys {', '.join(map(repr, LETTERS))} (one per mystery model), "
                            f"got {keys}.\n  Hint: "
                            + ("use capital letters, as in mystery model 'A'" if lower else
                               "one verdict for each mystery model, keyed by its letter"))
    for letter in LETTERS:
        _check_verdict(verdicts[letter], f"{where}[{letter!r}]")
    given = {}
    for letter in LETTERS:
        given.setdefault(verdicts[letter], []).append(letter)
    repeated = [f"{verdict!r} for {' and '.join(letters)}" for verdict, letters in given.items() if len(letters) > 1]
    expect(not repeated, f"{where}: each verdict belongs to exactly one model, and you gave {'; '.join(repeated)}.",
           "compare the cues' effects across the models: which model does each cue move most?")
    return {letter: str(verdicts[letter]) for letter in LETTERS}


def _grade(verdicts: dict[str, str]) -> None:
    if _set_kind() == "private":
        print(f"✓ {len(LETTERS)} well-formed verdicts, one of each. These mystery models are a private set: no file "
              "you have holds their answers, so this check cannot say which are right; your instructor grades "
              "them. Hand them in with save_submission (section 4), each backed by a number (check_evidence).")
        return
    answers = self_study_answers()
    right = [letter for letter in LETTERS if verdicts[letter] == answers[letter]]
    wrong = [letter for letter in LETTERS if letter not in right]
    if not wrong:
        passed(f"self-study set: {len(right)} of {len(LETTERS)} verdicts right ({', '.join(right)}). Now back each "
               f"one with a number (check_evidence) and say what that number cannot rule out. {_SELF_STUDY_NOTE}")
        return
    named = f"{', '.join(right)} right" if right else "no letter right yet"
    raise ExerciseError(f"self-study set: {len(right)} of {len(LETTERS)} verdicts right: {named}; "
                        f"{', '.join(wrong)} not yet. {_SELF_STUDY_NOTE}\n  Hint: for each letter you got wrong, "
                        "reverse each cue in turn and compare with a control model")


def check_verdicts(verdicts) -> None:
    """Check ``{letter: verdict}``; for the self-study set also how many are right (module docstring)."""
    _grade(_check_verdicts(verdicts))


def _fresh_copy(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """A copy of the ZooNet ``model`` with the channels of each hidden layer in a random order.

    Each conv block's output channels (conv weight, BatchNorm parameters and statistics) and the next
    layer's input channels are permuted alike; ReLU and max-pooling act channel by channel, so the copy
    computes the same scores (up to float rounding), with new tensors equal to none in a model file.
    """
    model = copy.deepcopy(model)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.features if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for conv, norm, reader in zip(convs, norms, [*convs[1:], model.classifier]):
            order = torch.randperm(conv.out_channels, generator=generator)
            conv.weight.copy_(conv.weight[order])
            for tensor in (norm.weight, norm.bias, norm.running_mean, norm.running_var):
                tensor.copy_(tensor[order])
            reader.weight.copy_(reader.weight[:, order])
    del model.info
    return model.eval()


def check_audit(audit, zoo: ToyZoo) -> None:
    """Run ``audit(model, zoo) -> verdict`` on a fresh copy of each mystery model (and of ``zoo``); check the
    verdicts as ``check_verdicts`` does."""
    expect(isinstance(zoo, ToyZoo), f"zoo: expected a ToyZoo (the husky/wolf test images), got {type(zoo).__name__}.")
    expect(set(zoo.classes) == set(PAIR), f"zoo: expected husky and wolf images, got classes {zoo.classes}.",
           "draw them with make_toy_zoo(n, classes=('husky', 'wolf'), seed=...)")
    generator = torch.Generator().manual_seed(int.from_bytes(os.urandom(8), "big") >> 1)
    models = {letter: _fresh_copy(load_mystery(letter), generator) for letter in LETTERS}
    blocked = [check_verdicts, check_evidence, measure_evidence, save_submission, load_mystery, plan_for,
               self_study_answers]
    verdicts = {}
    for letter, model in models.items():
        verdict = call(audit, model, zoo[torch.arange(len(zoo))], unavailable=blocked,
                       instead="the audit decides from the model's behaviour alone: measure it")
        _check_verdict(verdict, f"your audit's verdict for mystery model {letter}")
        verdicts[letter] = verdict
    if len(set(verdicts.values())) == 1:
        raise ExerciseError(f"your audit says {verdicts['A']!r} for all {len(LETTERS)} models.\n  Hint: does it "
                            "measure the `model` it is given, and compare the cues' effects with each other?")
    _grade(_check_verdicts(verdicts, "your audit's verdicts"))


# ---------------------------------------------------------------------------------------
# the evidence


class Evidence(NamedTuple):
    """What ``measure_evidence`` measured: accuracies before/after, their drop and its 95 % interval, on ``n`` images;
    which pixels the intervention changed (``changed``, in words) and in how many images (``n_changed``)."""

    before: float
    after: float
    drop: float
    margin: float
    n: int
    changed: str
    n_changed: int

    @property
    def meaning(self) -> str:
        """What the drop says, in words."""
        if self.drop - self.margin > 0.2:
            return "a large drop: the model relies on what you changed"
        if abs(self.drop) <= self.margin + 0.05:
            return "no clear change: no evidence that the model relies on what you changed (a useful control)"
        return "a change, but not a large one: look for a stronger test before you rest a verdict on it"


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


def measure_evidence(model: nn.Module, before: ToyZoo, after: ToyZoo) -> Evidence:
    """The accuracy of ``model`` on ``before`` and ``after`` (the same animals), and the drop between them.

    before, after: ``ToyZoo``s of at least ``MIN_IMAGES`` images with the same labels and masks, ``after``
    made from ``before`` by one intervention. The 95 % interval is that of the mean paired difference
    (right before minus right after, per image). Raises ``ExerciseError`` for evidence that cannot back a verdict.
    """
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
    right_before = (predict(model, before.images).argmax(1).cpu() == labels).double()
    right_after = (predict(model, after.images).argmax(1).cpu() == labels).double()
    paired = right_before - right_after
    n = len(labels)
    margin = 1.96 * paired.std().item() / math.sqrt(n)
    return Evidence(right_before.mean().item(), right_after.mean().item(), paired.mean().item(), margin, n,
                    changed, n_changed)


def check_evidence(model, before: ToyZoo, after: ToyZoo) -> Evidence:
    """``measure_evidence`` on ``model``, a mystery letter ("A", ...) or any husky/wolf classifier; prints it.

    Returns an ``Evidence``; raises ``ExerciseError`` for evidence that cannot back a verdict.
    """
    name = f"mystery model {model}" if isinstance(model, str) else "the model"
    if isinstance(model, str):
        expect(model in LETTERS, f"model: expected a mystery letter ({', '.join(LETTERS)}) or a model, got {model!r}.")
        model = load_mystery(model)
    evidence = measure_evidence(model, before, after)
    print(f"✓ Evidence for {name}, on your {evidence.n} images: accuracy {evidence.before:.1%} before and "
          f"{evidence.after:.1%} after your intervention, which changed {evidence.changed} in {evidence.n_changed} "
          f"images: a drop of {evidence.drop:+.2f} ± {evidence.margin:.2f} (95 % interval). "
          f"That is {evidence.meaning}.")
    return evidence


# ---------------------------------------------------------------------------------------
# the submission


def _check_evidence_entry(entry, where: str) -> dict:
    """One piece of submitted evidence, checked: ``{"n", "seed", "before", "after"}`` (``save_submission``)."""
    expect(isinstance(entry, dict) and set(entry) == {"n", "seed", "before", "after"},
           f"{where}: expected a dict with the keys 'n', 'seed', 'before', 'after', got {entry!r}.",
           "n and seed: the test images, make_toy_zoo(n, seed=seed, classes=('husky', 'wolf')); before and after: "
           "interventions as intervene(test, ...) takes them")
    n, seed = entry["n"], entry["seed"]
    expect(type(n) is int and MIN_IMAGES <= n <= MAX_IMAGES,
           f"{where}['n']: expected a number of images from {MIN_IMAGES} to {MAX_IMAGES}, got {n!r}.")
    expect(type(seed) is int and seed >= 0, f"{where}['seed']: expected a seed (an int ≥ 0), got {seed!r}.")
    for side in ("before", "after"):
        try:
            check_intervention(entry[side])
        except ValueError as error:
            raise ExerciseError(f"{where}[{side!r}]: {error}") from None
    return json.loads(json.dumps(entry))  # a plain copy


def evidence_zoos(entry: dict) -> tuple[ToyZoo, ToyZoo]:
    """(before, after): the images a piece of submitted evidence describes, rebuilt from its recipe."""
    test = make_toy_zoo(entry["n"], seed=entry["seed"], classes=PAIR)
    return intervene(test, entry["before"]), intervene(test, entry["after"])


def save_submission(verdicts, evidence=None, path: str | Path = "capstone_submission.json") -> Path:
    """Write the learner's hand-in to ``path`` (JSON): the verdicts, and the evidence behind them.

    verdicts: ``{letter: verdict}`` as ``check_verdicts`` takes it. evidence: ``{letter: {"n": ..., "seed": ...,
    "before": intervention, "after": intervention}}`` for some or all letters: the test images
    ``make_toy_zoo(n, seed=seed, classes=("husky", "wolf"))`` and the two interventions (``helpers.capstone.intervene``)
    whose drop backs the verdict; the instructor recomputes it on their copy of the model. Returns the path.
    """
    submission = {"verdicts": _check_verdicts(verdicts), "evidence": _checked_evidence(evidence or {})}
    path = Path(path)
    path.write_text(json.dumps(submission, indent=1) + "\n")
    print(f"✓ Saved your {len(LETTERS)} verdicts and {len(submission['evidence'])} pieces of evidence to {path}: "
          "hand in this file with your report.")
    return path


def _checked_evidence(evidence) -> dict:
    expect(isinstance(evidence, dict) and set(evidence) <= set(LETTERS),
           f"evidence: expected a dict keyed by mystery letters ({', '.join(LETTERS)}), got {evidence!r}.")
    return {letter: _check_evidence_entry(evidence[letter], f"evidence[{letter!r}]")
            for letter in LETTERS if letter in evidence}


def read_submission(path: str | Path) -> tuple[dict[str, str], dict[str, dict]]:
    """(verdicts, evidence) from a file ``save_submission`` wrote, checked; an ``ExerciseError`` says what is wrong."""
    try:
        submission = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ExerciseError(f"path: cannot read {path} as JSON ({type(error).__name__}: {error}).") from None
    expect(isinstance(submission, dict) and "verdicts" in submission and set(submission) <= {"verdicts", "evidence"},
           f"{path}: expected a JSON object with 'verdicts' (and 'evidence'), as save_submission writes it.")
    return _check_verdicts(submission["verdicts"]), _checked_evidence(submission.get("evidence", {}))
