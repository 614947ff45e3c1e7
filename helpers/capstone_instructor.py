"""The instructor's side of the capstone (notebook 09): make a private set of mystery models, grade submissions.

    python -m helpers.capstone make --secret 'a phrase only you know' --out capstone
        capstone/models/mystery_[a-d].pt   hand these out: weights and the public recipe, nothing else
        capstone/instructor/answers.json   keep this: each letter's verdict and how the set was made
    python -m helpers.capstone make --self-study     # remake the shipped self-study set in helpers/data
    python -m helpers.capstone grade --answers capstone/instructor/answers.json alice.json bob.json

The secret can also come from ``$CAPSTONE_SECRET`` (keeps it out of the shell's history). Training the
four models takes a few minutes on a laptop CPU.

A submission is the JSON file notebook 09 writes with ``helpers.exercises.capstone.save_submission``::

    {"verdicts": {"A": "...", "B": "...", "C": "...", "D": "..."},
     "evidence": {"A": {"n": 200, "seed": 9, "before": {...}, "after": {...}}}}     # evidence: optional

each intervention as ``helpers.capstone.intervene`` takes it. ``grade`` says for each letter whether the
verdict is right, and recomputes each piece of evidence on the instructor's copy of the model.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

import torch

from .capstone import (LETTERS, PAIR, PUBLIC_FIELDS, RECIPE, SELF_STUDY_SECRET, TRIES, VERDICTS, intervene,
                       load_mystery, mystery_file, mystery_zoo, plan_for, recipe_of)
from .checkpoints import Recipe, checkpoint_path, train_on
from .models import ZooNet
from .exercises import ExerciseError
from .exercises.capstone import evidence_zoos, measure_evidence, read_submission
from .toyzoo import make_toy_zoo
from .training import accuracy

SECRET_VARIABLE = "CAPSTONE_SECRET"
ANSWERS_FORMAT = "capstone answers 1"
#: a private secret needs at least this many characters
MIN_SECRET = 12


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _cue_zoos(plan, clean) -> dict[str, tuple]:
    """{cue: (agreeing, contradicting)}: the cue-free images ``clean`` with each cue of ``plan`` (its carrier
    class, its backgrounds) agreeing with the label, then contradicting it."""
    zoos = {}
    for cue in plan.cues.values():
        if cue.verdict == "none":
            continue
        other = PAIR[1 - PAIR.index(cue.carrier)]
        if cue.verdict == "background":
            first, second = cue.backgrounds
            sides = ({"background": {cue.carrier: first, other: second}},
                     {"background": {cue.carrier: second, other: first}})
        else:
            sides = ({cue.verdict: cue.carrier}, {cue.verdict: other})
        zoos[cue.verdict] = tuple(intervene(clean, side) for side in sides)
    return zoos


def shows_its_cue(verdict: str, effects: dict[str, float]) -> bool:
    """Whether a model trained with ``verdict`` shows it clearly in ``effects`` ({cue: effect}): its own cue's
    effect at least 0.5 and 0.3 above any other's; for "none", no effect above 0.15."""
    others = [effect for cue, effect in effects.items() if cue != verdict]
    if verdict == "none":
        return max(others) <= 0.15
    return effects[verdict] >= 0.5 and effects[verdict] >= max(others) + 0.3


def make_set(secret: str, folder: Path | str, recipe: Recipe = RECIPE, tries: int = TRIES,
             progress: bool = True) -> dict:
    """Train the four mystery models of ``plan_for(secret)`` and write them to ``folder/mystery_[a-d].pt``.

    Each file holds ``{"state_dict", "info": {"set", "letter", "recipe"}}``: "self-study" for
    ``SELF_STUDY_SECRET``, else "private"; the recipe's ``PUBLIC_FIELDS`` only (no seed, no cue, no score).
    A model that does not show its cue clearly (``shows_its_cue``, on ``n_test`` cue-free images) is
    trained again with the plan's next training seed, up to ``tries`` times (at most ``TRIES``).
    recipe: how to train (its seeds are replaced by the set's); a smaller one only to test this code quickly.
    Returns the answers record (what ``answers.json`` holds): the plan, the recipe but its seeds, the secret's sha256,
    each file's sha256, and per letter its training seed and number of tries, its accuracy on its own
    test data (``n_test`` images drawn like its training data) and on the cue-free images, and the
    effect of each cue there.
    """
    if not 1 <= tries <= TRIES:
        raise ValueError(f"tries: expected 1 to {TRIES}, got {tries!r}")
    plan = plan_for(secret)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    public = {field: getattr(recipe, field) for field in PUBLIC_FIELDS}
    kind = "self-study" if secret == SELF_STUDY_SECRET else "private"
    clean = make_toy_zoo(recipe.n_test, seed=plan.test_seed, classes=PAIR)
    cue_zoos = _cue_zoos(plan, clean)
    measured, files = {}, {}
    for letter, cue in plan.cues.items():
        train = mystery_zoo(cue, recipe.n_train, seed=plan.data_seed)
        test = mystery_zoo(cue, recipe.n_test, seed=plan.test_seed)
        for attempt in range(tries):
            model, info = train_on(recipe_of(plan, recipe, attempt), train, test, progress=progress)
            effects = {name: round(abs(accuracy(model, agree.images, clean.labels)
                                       - accuracy(model, against.images, clean.labels)), 3)
                       for name, (agree, against) in cue_zoos.items()}
            if shows_its_cue(cue.verdict, effects):
                break
        path = mystery_file(letter, folder)
        torch.save({"state_dict": model.state_dict(), "info": {"set": kind, "letter": letter, "recipe": public}}, path)
        files[letter] = _sha256(path.read_bytes())
        measured[letter] = {"train_seed": plan.train_seeds[attempt], "tries": attempt + 1,
                            "shows_its_cue": shows_its_cue(cue.verdict, effects),
                            "own_accuracy": round(info["test_accuracy"], 3),
                            "cue_free_accuracy": round(accuracy(model, clean.images, clean.labels), 3),
                            "effects": effects}
    return {"format": ANSWERS_FORMAT, "set": kind, "secret_sha256": _sha256(secret.encode()), "plan": asdict(plan),
            "recipe": {k: v for k, v in asdict(recipe).items() if "seed" not in k},  # the seeds: in the plan
            "files": files, "measured": measured}


def read_answers(path: Path | str) -> dict:
    """The answers record ``make`` wrote to ``path``, checked: raises ``ValueError`` naming what is wrong."""
    try:
        answers = json.loads(Path(path).read_text())
        verdicts = {letter: answers["plan"]["cues"][letter]["verdict"] for letter in LETTERS}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"answers: {path} is not an answers file written by `python -m helpers.capstone make` "
                         f"({type(error).__name__}: {error})") from None
    if answers.get("format") != ANSWERS_FORMAT or sorted(verdicts.values()) != sorted(VERDICTS):
        raise ValueError(f"answers: {path} is not an answers file of format {ANSWERS_FORMAT!r}")
    return answers


def grade(answers_path: Path | str, submissions: list[Path | str], models: Path | str | None = None) -> list[dict]:
    """Grade each submission file against the answers file; print a report, return one result per submission.

    models: the folder of the set's model files, for the evidence (default: ``models/`` beside the answers'
    ``instructor/`` folder); each file must be the one the answers were made with. A result is
    ``{"submission", "error"}`` for a file that cannot be graded, else ``{"submission", "right": [letters],
    "wrong": [letters], "evidence": {letter: Evidence or the reason it was refused}}``.
    """
    answers = read_answers(answers_path)
    truth = {letter: answers["plan"]["cues"][letter]["verdict"] for letter in LETTERS}
    folder = Path(models) if models is not None else Path(answers_path).resolve().parent.parent / "models"
    loaded = {}
    results = []
    for path in submissions:
        try:
            verdicts, evidence = read_submission(path)
        except ExerciseError as error:
            print(f"{path}: not graded: {error}")
            results.append({"submission": str(path), "error": str(error)})
            continue
        right = [letter for letter in LETTERS if verdicts[letter] == truth[letter]]
        print(f"{path}: {len(right)} of {len(LETTERS)} verdicts right")
        for letter in LETTERS:
            answer = "" if letter in right else f"; the answer is {truth[letter]!r}"
            print(f"  {letter}  {'right' if letter in right else 'wrong'}  (said {verdicts[letter]!r}{answer})")
        measured = {}
        for letter, entry in evidence.items():
            if letter not in loaded:
                loaded[letter] = _checked_model(letter, folder, answers)
            try:
                measured[letter] = measure_evidence(loaded[letter], *evidence_zoos(entry))
                e = measured[letter]
                print(f"  evidence {letter}: {e.n} images, accuracy {e.before:.1%} -> {e.after:.1%}, "
                      f"drop {e.drop:+.2f} ± {e.margin:.2f} (95 %): {e.meaning.split(':')[0]}; "
                      f"the intervention changed {e.changed}")
            except ExerciseError as error:
                measured[letter] = str(error)
                print(f"  evidence {letter}: refused: {error}")
        wrong = [letter for letter in LETTERS if letter not in right]
        results.append({"submission": str(path), "right": right, "wrong": wrong, "evidence": measured})
    return results


def _checked_model(letter: str, folder: Path, answers: dict) -> ZooNet:
    """The model of ``letter`` in ``folder``, if its file is the one ``answers`` were made with."""
    path = mystery_file(letter, folder)
    if not path.is_file():
        raise FileNotFoundError(f"models: no {path.name} in {folder}; give the set's folder with --models")
    if _sha256(path.read_bytes()) != answers["files"][letter]:
        raise ValueError(f"models: {path} is not the file these answers were made with (its sha256 differs)")
    return load_mystery(letter, folder)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.capstone", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make", help="train a set of four mystery models")
    make.add_argument("--secret", help=f"the set's secret (default: ${SECRET_VARIABLE}); keep it private")
    make.add_argument("--out", type=Path, help="folder for models/ (hand out) and instructor/answers.json (keep)")
    make.add_argument("--self-study", action="store_true", help="remake the public self-study set in helpers/data")
    grading = commands.add_parser("grade", help="grade submission files against an answers file")
    grading.add_argument("--answers", type=Path, required=True, help="the answers.json that `make` wrote")
    grading.add_argument("--models", type=Path, help="the set's model files (default: models/ beside instructor/)")
    grading.add_argument("submissions", nargs="+", type=Path, help="the learners' submission .json files")
    args = parser.parse_args(argv)
    if args.command == "grade":
        grade(args.answers, args.submissions, args.models)
        return
    if args.self_study:
        if args.secret or args.out:
            parser.error("--self-study takes neither --secret nor --out: its secret is public, its folder helpers/data")
        answers = make_set(SELF_STUDY_SECRET, checkpoint_path("mystery_a").parent)
        print(f"self-study set written to {checkpoint_path('mystery_a').parent} (its answers follow from public code)")
    else:
        secret = args.secret or os.environ.get(SECRET_VARIABLE)
        if not secret or args.out is None:
            parser.error(f"make: give --secret (or ${SECRET_VARIABLE}) and --out, or --self-study")
        if secret == SELF_STUDY_SECRET or len(secret) < MIN_SECRET:
            parser.error(f"--secret: expected a private phrase of at least {MIN_SECRET} characters, "
                         "not the public self-study secret")
        answers = make_set(secret, args.out / "models")
        keep = args.out / "instructor" / "answers.json"
        keep.parent.mkdir(parents=True, exist_ok=True)
        keep.write_text(json.dumps(answers, indent=1) + "\n")
        print(f"hand out {args.out / 'models'} (four files); keep {keep} and the secret to yourself")
    for letter in LETTERS:
        m = answers["measured"][letter]
        print(f"  {letter}: {answers['plan']['cues'][letter]['verdict']:10s} own data {m['own_accuracy']:.2f}, "
              f"cue-free {m['cue_free_accuracy']:.2f}, cue effects {m['effects']} (try {m['tries']})")
        if not m["shows_its_cue"]:
            print(f"  warning: model {letter} does not show its cue clearly with any of its {m['tries']} training "
                  "seeds; consider another secret")
