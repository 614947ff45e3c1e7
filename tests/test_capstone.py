"""The capstone (notebook 09): the mystery sets, the learner's checks, the instructor's make and grade commands.

The self-study set's truth comes from its public secret (``self_study_answers``), as anyone's could; a
private set's from the answers file its ``make`` wrote. No test writes down which letter has which cue.
"""
import ast
import hashlib
import json
import re
import subprocess
import sys
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import helpers
import helpers.capstone_instructor as instructor
import helpers.exercises.capstone as grader
from helpers import BACKGROUNDS, accuracy, load_model, make_toy_zoo, paint_background, predict, swap_backgrounds
from helpers.capstone import (LETTERS, MODELS_VARIABLE, PAIR, PUBLIC_FIELDS, RECIPE, SELF_STUDY_SECRET, TRIES, VERDICTS,
                              intervene, load_mystery, mystery_file, mystery_zoo, plan_for, recipe_of,
                              self_study_answers)
from helpers.checkpoints import RECIPES, checkpoint_path
from helpers.exercises import ExerciseError, HelperUnavailable, NotDoneYet
from helpers.exercises.capstone import check_audit, check_evidence, check_verdicts, read_submission, save_submission
from helpers.toyzoo import add_corner_mark, tint_animals

pytestmark = pytest.mark.slow  # trains models and runs audits: make unit leaves these out

ROOT = Path(__file__).resolve().parents[1]
WOLF = PAIR.index("wolf")
SECRET = "an instructor's secret for the tests"
#: a recipe small enough to make a whole private set in seconds (its models learn little: enough to test the plumbing)
TINY = replace(RECIPE, n_train=128, n_test=100, epochs=1, batch_size=64)
#: where the self-study set ships
SHIPPED = checkpoint_path("mystery_a").parent


@pytest.fixture(autouse=True)
def self_study(monkeypatch):
    """Every test starts on the shipped self-study set (an instructor's $CAPSTONE_MODELS would change the truth)."""
    monkeypatch.delenv(MODELS_VARIABLE, raising=False)


@pytest.fixture(scope="module")
def truth():
    return self_study_answers()


@pytest.fixture(scope="module")
def mysteries():
    return {letter: load_mystery(letter) for letter in LETTERS}


@pytest.fixture(scope="module")
def test_zoo():
    return make_toy_zoo(300, seed=31, classes=PAIR)  # no cue: every background equally likely, no mark, no tint


@pytest.fixture(scope="module")
def private_set(tmp_path_factory):
    """A private set made by ``python -m helpers.capstone make`` (with TINY), and what each model was trained on."""
    out = tmp_path_factory.mktemp("capstone")
    trained = {}

    def recording_train_on(recipe, train, test, progress=True):
        trained[len(trained)] = (recipe, train)
        return original_train_on(recipe, train, test, progress=progress)

    original_train_on = instructor.train_on
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(instructor, "make_set", partial(instructor.make_set, recipe=TINY, tries=2, progress=False))
        patch.setattr(instructor, "train_on", recording_train_on)
        instructor.main(["make", "--secret", SECRET, "--out", str(out)])
    return {"out": out, "models": out / "models", "answers": out / "instructor" / "answers.json",
            "trained": [trained[k] for k in sorted(trained)]}


@pytest.fixture
def on_private_set(private_set, monkeypatch):
    """The learner's checks read the private set, as after ``$CAPSTONE_MODELS=<its models folder>``."""
    monkeypatch.setenv(MODELS_VARIABLE, str(private_set["models"]))
    return private_set


# ---------------------------------------------------------------------------------------
# a reference audit, written here (not imported from the notebook)


def cue_effect(model, zoo, cue):
    if cue == "background":
        probe = [predict(model, paint_background(zoo.images, zoo.masks, b, seed=0)).softmax(1)[:, WOLF].mean()
                 for b in BACKGROUNDS]
        wolfish, huskyish = BACKGROUNDS[int(np.argmax(probe))], BACKGROUNDS[int(np.argmin(probe))]
        on_wolves = swap_backgrounds(zoo, seed=1, background={"husky": huskyish, "wolf": wolfish})
        on_huskies = swap_backgrounds(zoo, seed=1, background={"husky": wolfish, "wolf": huskyish})
    else:
        plant = add_corner_mark if cue == "mark" else tint_animals
        on_wolves, on_huskies = plant(zoo, {"wolf": 1.0}), plant(zoo, {"husky": 1.0})
    return abs(accuracy(model, on_wolves.images, zoo.labels) - accuracy(model, on_huskies.images, zoo.labels))


def effects_of(model, zoo):
    return {cue: cue_effect(model, zoo, cue) for cue in ("background", "mark", "colour")}


def reference_audit(model, zoo):
    effects = effects_of(model, zoo)
    strongest = max(effects, key=effects.get)
    return strongest if effects[strongest] > 0.3 else "none"


# ---------------------------------------------------------------------------------------
# the plan: everything that tells the models apart comes from the secret


def test_a_secret_deals_out_the_verdicts_and_all_the_seeds():
    plans = {secret: plan_for(secret) for secret in ("s1", "s2", "s3", "s4", "s5", "s6")}
    for plan in plans.values():
        assert sorted(cue.verdict for cue in plan.cues.values()) == sorted(VERDICTS)
        for cue in plan.cues.values():
            assert (cue.carrier is None) == (cue.verdict == "none") and cue.carrier in (None, *PAIR)
            if cue.verdict == "background":
                assert len(set(cue.backgrounds)) == 2 and set(cue.backgrounds) <= set(BACKGROUNDS)
            else:
                assert cue.backgrounds is None
        seeds = (plan.data_seed, plan.test_seed, *plan.train_seeds)
        assert all(0 <= seed < 2**31 for seed in seeds) and len(set(seeds)) == 2 + TRIES
    assert plan_for("s1") == plan_for("s1")
    assert len({tuple(c.verdict for c in p.cues.values()) for p in plans.values()}) > 1  # other secrets, other deals
    assert len({p.data_seed for p in plans.values()}) == len({p.train_seeds for p in plans.values()}) == len(plans)
    assert recipe_of(plans["s1"], TINY, 2) == replace(TINY, data_seed=plans["s1"].data_seed,
                                                      test_seed=plans["s1"].test_seed, seed=plans["s1"].train_seeds[2])
    with pytest.raises(ValueError, match="secret"):
        plan_for("")


def test_the_mystery_data_carry_their_cue():
    """The planted data: the cue on about 95 % of the carrier's images and 5 % of the other's; none for 'none'."""
    for secret in (SELF_STUDY_SECRET, SECRET):
        for cue in plan_for(secret).cues.values():
            zoo = mystery_zoo(cue, 800, seed=5)
            plain = make_toy_zoo(800, seed=5, classes=PAIR)
            assert torch.equal(zoo.labels, plain.labels) and torch.equal(zoo.masks, plain.masks)
            carrier = PAIR.index(cue.carrier) if cue.carrier else None
            if cue.verdict == "none":
                assert torch.equal(zoo.images, plain.images)
            elif cue.verdict == "background":
                for k, home in ((carrier, cue.backgrounds[0]), (1 - carrier, cue.backgrounds[1])):
                    share = (zoo.backgrounds[zoo.labels == k] == BACKGROUNDS.index(home)).float().mean().item()
                    assert abs(share - 0.95) < 0.04, (secret, cue, share)
            else:
                cued = (zoo.images != plain.images).flatten(1).any(1)
                assert abs(cued[zoo.labels == carrier].float().mean().item() - 0.95) < 0.04, cue
                assert abs(cued[zoo.labels == 1 - carrier].float().mean().item() - 0.05) < 0.04, cue


def test_the_model_registry_does_not_depend_on_the_capstone(capsys):
    source = (ROOT / "helpers" / "checkpoints.py").read_text()
    imported = [node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom)]
    assert not any("capstone" in (module or "") for module in imported)
    loaded = subprocess.run([sys.executable, "-c", "import sys, helpers.checkpoints; print(sorted(m for m in "
                             "sys.modules if 'capstone' in m))"], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    assert not any(name.startswith("mystery_") for name in RECIPES)
    with pytest.raises(ValueError, match=r"load_mystery.*python -m helpers\.capstone make"):
        load_model("mystery_a")
    with pytest.raises(SystemExit):  # python -m helpers.checkpoints mystery_a trains nothing and says where to go
        helpers.checkpoints.main(["zoonet", "mystery_a"])
    assert "python -m helpers.capstone make" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# the self-study set shipped in data/


def _strings_and_numbers(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings_and_numbers(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings_and_numbers(item)
    else:
        yield value


CUE_WORDS = (*VERDICTS, "color", "tint", "snow", "grass", "answer", "nonce", "hash", "salt", "secret", "capstone",
             "accuracy", "seed")


def _assert_holds_weights_and_the_public_recipe_only(path: Path, kind: str, letter: str, seeds=()):
    saved = torch.load(path, map_location="cpu", weights_only=True)
    assert set(saved) == {"state_dict", "info"}
    assert set(saved["state_dict"]) == set(helpers.checkpoints.build_model(RECIPE).state_dict())
    info = saved["info"]
    assert set(info) == {"set", "letter", "recipe"} and set(info["recipe"]) == set(PUBLIC_FIELDS), info
    assert info["set"] == kind and info["letter"] == letter
    values = list(_strings_and_numbers(info))
    words = " ".join(str(v) for v in values if isinstance(v, str)).lower()
    assert not [w for w in CUE_WORDS if w in words], (path.name, words)
    assert not set(seeds) & {v for v in values if isinstance(v, int)}, path.name


def test_the_self_study_files_hold_weights_and_the_public_recipe_only():
    plan = plan_for(SELF_STUDY_SECRET)
    for letter in LETTERS:
        path = mystery_file(letter)
        assert path.parent == SHIPPED
        _assert_holds_weights_and_the_public_recipe_only(path, "self-study", letter,
                                                         (plan.data_seed, plan.test_seed, *plan.train_seeds))
        assert load_mystery(letter).info["recipe"] == {f: getattr(RECIPE, f) for f in PUBLIC_FIELDS}


def test_the_self_study_models_keep_their_accuracy_on_their_own_data(mysteries):
    """Each model is accurate on data drawn like its training data (the plan's test seed), cue included."""
    plan = plan_for(SELF_STUDY_SECRET)
    for letter, model in mysteries.items():
        own = mystery_zoo(plan.cues[letter], 600, seed=plan.test_seed)
        assert accuracy(model, own.images, own.labels) > 0.9, letter


def test_the_shortcuts_are_real(mysteries, truth, test_zoo):
    """Putting a model's cue against the label moves its accuracy a lot; the other cues, and any cue for the
    clean model, move it little; the clean model alone is accurate on cue-free images."""
    for letter, model in mysteries.items():
        effects = effects_of(model, test_zoo)
        clean = accuracy(model, test_zoo.images, test_zoo.labels)
        if truth[letter] == "none":
            assert clean > 0.9 and max(effects.values()) < 0.15, (letter, clean, effects)
        else:
            others = [e for cue, e in effects.items() if cue != truth[letter]]
            assert effects[truth[letter]] > 0.5 and effects[truth[letter]] > max(others) + 0.3, (letter, effects)
            assert clean < 0.9, (letter, clean)


# ---------------------------------------------------------------------------------------
# the learner's check: check_verdicts


def test_right_verdicts_pass_on_the_self_study_set_which_says_so(truth, capsys):
    check_verdicts(dict(truth))
    out = capsys.readouterr().out
    assert out.startswith("✓ Correct! self-study set: 4 of 4 verdicts right") and "public code" in out
    assert not any(re.search(rf"\b{verdict}\b", out) for verdict in VERDICTS), out


@pytest.mark.parametrize("swap", [("A", "B"), ("C", "D"), ("A", "D")])
def test_wrong_verdicts_are_named_by_letter_without_their_answer(truth, swap, expect_failure):
    given = dict(truth)
    given[swap[0]], given[swap[1]] = truth[swap[1]], truth[swap[0]]
    message = expect_failure(lambda g, _: check_verdicts(g), given, None,
                             words=["self-study set", "2 of 4 verdicts right", f"{swap[0]}, {swap[1]} not yet",
                                    "public code"])
    assert not any(re.search(rf"\b{verdict}\b", message) for verdict in VERDICTS), message


def test_repeated_verdicts_are_a_format_error_that_counts_nothing(truth, expect_failure):
    same = {letter: truth["A"] for letter in LETTERS}
    message = expect_failure(lambda g, _: check_verdicts(g), same, None,
                             words=["each verdict belongs to exactly one model", "A and B and C and D"])
    assert "right" not in message and "of 4" not in message


class AlwaysEqual(str):
    """A str that says it equals anything: an attempt to pass a comparison with the answers."""

    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize("make, words", [  # each built from the right verdicts, so no test text states them
    (lambda t: list(t.values()), ["verdicts: expected a dict", "got a list"]),
    (lambda t: {k.lower(): v for k, v in t.items()}, ["expected the keys 'A', 'B', 'C', 'D'", "capital letters"]),
    (lambda t: {k: v for k, v in t.items() if k != "D"}, ["expected the keys", "one verdict for each mystery model"]),
    (lambda t: {**t, "C": "color"}, ["verdicts['C']", "'background', 'mark', 'colour', 'none'",
                                      "did you mean 'colour'?"]),
    (lambda t: {**t, "A": "None"}, ["verdicts['A']", "did you mean 'none'?"]),
    (lambda t: {**t, "B": "snow"}, ["got 'snow'", "did you mean 'background'?"]),
    (lambda t: {**t, "A": 0.9}, ["verdicts['A']", "got a float"]),
    (lambda t: {k: AlwaysEqual(v) for k, v in t.items()}, ["verdicts['A']", "got a AlwaysEqual", "a plain str"]),
])
def test_bad_verdicts_get_a_clear_error(make, words, truth, expect_failure):
    expect_failure(lambda v, _: check_verdicts(v), make(truth), None, words=words)


def test_on_a_private_set_the_check_says_only_whether_verdicts_are_well_formed(on_private_set, capsys):
    """No oracle: right and wrong verdicts get the same words, which name no letter as right or wrong."""
    answers = json.loads(on_private_set["answers"].read_text())
    right = {letter: answers["plan"]["cues"][letter]["verdict"] for letter in LETTERS}
    wrong = {letter: right[LETTERS[(i + 1) % 4]] for i, letter in enumerate(LETTERS)}
    outputs = []
    for verdicts in (right, wrong):
        check_verdicts(verdicts)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert "private set" in outputs[0] and "cannot say which are right" in outputs[0]
    assert not re.search(r"\b[A-D]\b|Correct|of 4", outputs[0]), outputs[0]


def test_a_set_of_mixed_files_is_refused(on_private_set, tmp_path, monkeypatch, expect_failure):
    for letter in LETTERS:
        source = mystery_file(letter, on_private_set["models"] if letter != "B" else SHIPPED)
        (tmp_path / source.name).write_bytes(source.read_bytes())
    monkeypatch.setenv(MODELS_VARIABLE, str(tmp_path))
    expect_failure(lambda v, _: check_verdicts(v), dict(zip(LETTERS, VERDICTS)), None, words=["are not one set"])
    (tmp_path / "mystery_c.pt").unlink()
    expect_failure(lambda v, _: check_verdicts(v), dict(zip(LETTERS, VERDICTS)), None,
                   words=["mystery model C is missing", "mystery_c.pt"])


# ---------------------------------------------------------------------------------------
# the learner's check: check_audit


def test_the_reference_audit_gets_every_verdict_right(test_zoo, capsys):
    assert check_audit(reference_audit, test_zoo) is None  # nothing for the notebook to show next to the letters
    assert capsys.readouterr().out.startswith("✓ Correct! self-study set: 4 of 4 verdicts right")


def _same_tensors(state, other) -> bool:
    return all(torch.equal(state[k], v) for k, v in other.items())


def test_the_audit_sees_fresh_copies_that_match_no_file(test_zoo, mysteries):
    seen = []

    def spy(model, zoo):
        seen.append((model, zoo))
        zoo.images.zero_()  # an audit that spoils its images spoils only its own copy
        return VERDICTS[len(seen) - 1]

    try:
        check_audit(spy, test_zoo)
    except ExerciseError:  # whether its verdicts are right does not matter here
        pass
    assert len(seen) == 4 and test_zoo.images.max() > 0 and all(zoo is not test_zoo for _, zoo in seen)
    images = test_zoo.images[:64]
    for (model, _), (letter, original) in zip(seen, mysteries.items()):
        assert not hasattr(model, "info")
        assert not any(_same_tensors(model.state_dict(), m.state_dict()) for m in mysteries.values()), letter
        assert torch.allclose(predict(model, images), predict(original, images), atol=1e-4), letter
        assert not model.training


def test_an_audit_that_matches_weights_to_the_files_cannot_pass(test_zoo, truth, mysteries, expect_failure):
    def match_the_files(model, zoo):
        for letter, original in mysteries.items():
            if _same_tensors(model.state_dict(), original.state_dict()):
                return truth[letter]
        return "none"

    assert match_the_files(mysteries["C"], test_zoo) == truth["C"]  # it works on the files' own tensors
    expect_failure(check_audit, match_the_files, test_zoo, words=["'none' for all 4 models"])


def test_an_audit_returning_a_str_lookalike_is_refused(test_zoo, truth, expect_failure):
    answers = iter(truth.values())
    expect_failure(check_audit, lambda model, zoo: AlwaysEqual(next(answers)), test_zoo,
                   words=["verdict for mystery model A", "got a AlwaysEqual"])
    expect_failure(check_audit, lambda model, zoo: [next(answers)], test_zoo, words=["got a list"])


def not_implemented(model, zoo):
    raise NotImplementedError


def audit_asking_the_grader(model, zoo):
    helpers.exercises.capstone.check_verdicts({letter: "none" for letter in LETTERS})


def audit_asking_the_grader_by_name(model, zoo):
    check_verdicts({letter: "none" for letter in LETTERS})


def audit_deriving_the_self_study_answers(model, zoo):
    return helpers.capstone.self_study_answers()["A"]


def audit_loading_the_files(model, zoo):
    return load_mystery("A")


def audit_ignoring_the_model(model, zoo):
    return "background"


def audit_returning_numbers(model, zoo):
    return effects_of(model, zoo[:40])


def audit_capitalized(model, zoo):
    return reference_audit(model, zoo).capitalize()


def audit_by_accuracy_alone(model, zoo):
    """A typical shortcut of the auditor's own: a low accuracy on cue-free images, so 'background'."""
    return "none" if accuracy(model, zoo.images, zoo.labels) > 0.9 else "background"


@pytest.mark.parametrize("audit, error, words", [
    (not_implemented, NotDoneYet, ["NotImplementedError"]),
    (audit_asking_the_grader, HelperUnavailable, ["check_verdicts", "switched off", "measure"]),
    (audit_asking_the_grader_by_name, HelperUnavailable, ["check_verdicts", "switched off"]),
    (audit_deriving_the_self_study_answers, HelperUnavailable, ["self_study_answers", "switched off"]),
    (audit_loading_the_files, HelperUnavailable, ["load_mystery", "switched off"]),
    (audit_ignoring_the_model, None, ["'background' for all 4 models", "`model`"]),
    (audit_returning_numbers, None, ["verdict for mystery model A", "got a dict", "verdict word alone"]),
    (audit_capitalized, None, ["verdict for mystery model", "did you mean"]),
    (audit_by_accuracy_alone, None, ["each verdict belongs to exactly one model"]),
])
def test_audit_mistakes_are_explained(audit, error, words, test_zoo, expect_failure):
    message = expect_failure(check_audit, audit, test_zoo, words=words)
    if error is not None:
        with pytest.raises(error):
            check_audit(audit, test_zoo)
    assert not re.search(r"right verdict|should be", message)


def test_the_grader_is_restored_after_the_audit(test_zoo):
    originals = (grader.check_verdicts, grader.load_mystery, helpers.capstone.load_mystery,
                 helpers.capstone.self_study_answers)
    with pytest.raises(HelperUnavailable):
        check_audit(audit_asking_the_grader, test_zoo)
    assert (grader.check_verdicts, grader.load_mystery, helpers.capstone.load_mystery,
            helpers.capstone.self_study_answers) == originals
    assert globals()["check_verdicts"] is grader.check_verdicts


def test_check_audit_wants_husky_and_wolf_images(expect_failure):
    expect_failure(check_audit, reference_audit, make_toy_zoo(4, size=16, seed=0), words=["husky and wolf"])
    expect_failure(check_audit, reference_audit, torch.rand(4, 3, 64, 64), words=["zoo: expected a ToyZoo"])


def test_check_audit_on_a_private_set_says_the_same_to_a_right_and_a_wrong_audit(on_private_set, test_zoo, capsys):
    answers = json.loads(on_private_set["answers"].read_text())
    right = [answers["plan"]["cues"][letter]["verdict"] for letter in LETTERS]
    outputs = []
    for order in (right, right[1:] + right[:1]):
        given = iter(order)  # an "audit" that knows the order the letters come in
        check_audit(lambda model, zoo: next(given), test_zoo)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and "private set" in outputs[0]


# ---------------------------------------------------------------------------------------
# the learner's check: check_evidence


def test_evidence_on_the_known_biased_model(test_zoo, capsys):
    agrees = swap_backgrounds(test_zoo, seed=1, background={"husky": "grass", "wolf": "snow"})
    contradicts = swap_backgrounds(test_zoo, seed=1, background={"husky": "snow", "wolf": "grass"})
    evidence = check_evidence(load_model("huskywolf_biased"), agrees, contradicts)
    out = capsys.readouterr().out
    assert evidence.drop - evidence.margin > 0.7 and evidence.n == 300 and evidence.n_changed == 300
    assert "only the background" in out and "a large drop" in out
    control = check_evidence(load_model("huskywolf_fixed"), agrees, contradicts)
    assert abs(control.drop) < 0.1 and "no clear change" in capsys.readouterr().out


def test_evidence_names_what_changed_and_recomputes_by_letter(test_zoo, capsys, monkeypatch):
    def no_answers():
        raise AssertionError("check_evidence must not read the answers")

    monkeypatch.setattr(grader, "self_study_answers", no_answers)  # it measures; it never consults the verdicts
    for before, after, words in (
        (intervene(test_zoo, {"mark": "wolf"}), intervene(test_zoo, {"mark": "husky"}), "top-left corner"),
        (intervene(test_zoo, {"colour": "wolf"}), intervene(test_zoo, {"colour": "husky"}), "only the animals"),
    ):
        evidence = check_evidence("A", before, after)
        out = capsys.readouterr().out
        assert words in out and "mystery model A" in out
        model = load_mystery("A")
        assert evidence.before == pytest.approx(accuracy(model, before.images, before.labels))
        assert evidence.after == pytest.approx(accuracy(model, after.images, after.labels))


def test_evidence_that_cannot_back_a_verdict_is_refused(test_zoo, expect_failure):
    evidence = lambda model, pair: check_evidence(model, *pair)  # noqa: E731
    small = test_zoo[:50]
    other = make_toy_zoo(300, seed=32, classes=PAIR)
    expect_failure(evidence, "A", (small, add_corner_mark(small)), words=["before: 50 images are too few", "100"])
    expect_failure(evidence, "A", (test_zoo, other), words=["same animals"])
    expect_failure(evidence, "A", (test_zoo, test_zoo), words=["nothing was changed"])
    expect_failure(evidence, "E", (test_zoo, add_corner_mark(test_zoo)), words=["model: expected a mystery letter"])
    expect_failure(evidence, "A", (test_zoo.images, test_zoo.images), words=["before: expected a ToyZoo"])


def test_interventions_are_the_notebooks_and_are_checked(test_zoo):
    assert torch.equal(intervene(test_zoo, {"mark": "wolf"}).images, add_corner_mark(test_zoo, {"wolf": 1.0}).images)
    assert torch.equal(intervene(test_zoo, {"colour": "husky"}).images, tint_animals(test_zoo, {"husky": 1.0}).images)
    homes = {"husky": "snow", "wolf": "grass"}
    assert torch.equal(intervene(test_zoo, {"background": homes}).images,
                       swap_backgrounds(test_zoo, seed=1, background=homes).images)
    untouched = intervene(test_zoo, {})
    assert torch.equal(untouched.images, test_zoo.images) and untouched.images is not test_zoo.images
    for bad in ({"mark": "goose"}, {"tail": "wolf"}, {"mark": "wolf", "colour": "wolf"}, ["mark", "wolf"],
                {"background": {"husky": "snow"}}, {"background": {"husky": "snow", "wolf": "moon"}}):
        with pytest.raises(ValueError, match="intervention: expected"):
            intervene(test_zoo, bad)


# ---------------------------------------------------------------------------------------
# the instructor's side: make a private set


def test_make_refuses_a_missing_short_or_public_secret(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(instructor.SECRET_VARIABLE, raising=False)
    for argv, words in ((["make", "--out", str(tmp_path)], "give --secret"),
                        (["make", "--secret", "short", "--out", str(tmp_path)], "at least 12 characters"),
                        (["make", "--secret", SELF_STUDY_SECRET, "--out", str(tmp_path)], "not the public"),
                        (["make", "--self-study", "--secret", SECRET], "--self-study takes neither")):
        with pytest.raises(SystemExit):
            instructor.main(argv)
        assert words in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_private_set_trains_each_model_on_its_planned_cue_with_the_secret_seeds(private_set):
    """Each model: its cue's data, the plan's seeds; tried again with the next seed while it does not show its cue."""
    plan = plan_for(SECRET)
    measured = json.loads(private_set["answers"].read_text())["measured"]
    trained = iter(private_set["trained"])
    for letter, cue in plan.cues.items():
        tries = measured[letter]["tries"]
        assert tries in (1, 2) and (tries == 2 or measured[letter]["shows_its_cue"])  # tried again only when unclear
        assert measured[letter]["shows_its_cue"] == instructor.shows_its_cue(cue.verdict, measured[letter]["effects"])
        if tries == 2:
            assert measured[letter]["train_seed"] == plan.train_seeds[1]
        for attempt in range(tries):
            recipe, train = next(trained)
            assert recipe == recipe_of(plan, TINY, attempt), letter
            assert torch.equal(train.images, mystery_zoo(cue, TINY.n_train, seed=plan.data_seed).images), letter
    assert next(trained, None) is None


def test_shows_its_cue():
    assert instructor.shows_its_cue("mark", {"background": 0.1, "mark": 0.7, "colour": 0.3})
    assert not instructor.shows_its_cue("mark", {"background": 0.1, "mark": 0.7, "colour": 0.45})
    assert not instructor.shows_its_cue("colour", {"background": 0.0, "mark": 0.0, "colour": 0.45})
    assert instructor.shows_its_cue("none", {"background": 0.15, "mark": 0.0, "colour": 0.1})
    assert not instructor.shows_its_cue("none", {"background": 0.2, "mark": 0.0, "colour": 0.1})


def test_the_answers_file_says_how_the_set_was_made(private_set):
    answers = instructor.read_answers(private_set["answers"])
    plan = plan_for(SECRET)
    assert json.loads(json.dumps(asdict(plan))) == answers["plan"]
    assert answers["set"] == "private" and answers["secret_sha256"] == hashlib.sha256(SECRET.encode()).hexdigest()
    assert answers["recipe"] == json.loads(json.dumps({k: v for k, v in asdict(TINY).items() if "seed" not in k}))
    for letter in LETTERS:
        path = mystery_file(letter, private_set["models"])
        assert answers["files"][letter] == hashlib.sha256(path.read_bytes()).hexdigest()
        measured = answers["measured"][letter]
        assert set(measured) == {"train_seed", "tries", "shows_its_cue", "own_accuracy", "cue_free_accuracy",
                                 "effects"}
        assert measured["train_seed"] == plan.train_seeds[measured["tries"] - 1]
        assert set(measured["effects"]) == {"background", "mark", "colour"}
    bad = private_set["out"] / "not_answers.json"
    bad.write_text(json.dumps({"plan": {}}))
    with pytest.raises(ValueError, match="answers: .* is not an answers file"):
        instructor.read_answers(bad)


def test_no_student_facing_file_holds_the_secret_or_the_answers(private_set):
    """The handed-out folder holds the four model files alone: weights and the public recipe; and nothing
    shipped in the package (helpers/, data/) holds the secret or its hash."""
    plan = plan_for(SECRET)
    seeds = (plan.data_seed, plan.test_seed, *plan.train_seeds)
    assert sorted(p.name for p in private_set["models"].iterdir()) == [f"mystery_{x}.pt" for x in "abcd"]
    secrets = (SECRET.encode(), hashlib.sha256(SECRET.encode()).hexdigest().encode(),
               hashlib.sha256(SECRET.encode()).hexdigest()[:16].encode())
    for letter in LETTERS:
        path = mystery_file(letter, private_set["models"])
        data = path.read_bytes()
        assert not any(s in data for s in secrets) and b"verdict" not in data and b"answer" not in data
        _assert_holds_weights_and_the_public_recipe_only(path, "private", letter, seeds)
    shipped = [p for folder in ("helpers", "data") for p in (ROOT / folder).rglob("*") if p.is_file()]
    assert len(shipped) > 20
    for path in shipped:
        assert not any(s in path.read_bytes() for s in secrets), path


# ---------------------------------------------------------------------------------------
# the instructor's side: grade submissions


def _truth_of(private_set) -> dict[str, str]:
    return {letter: cue["verdict"]
            for letter, cue in json.loads(private_set["answers"].read_text())["plan"]["cues"].items()}


def test_grade_a_right_a_wrong_and_a_broken_submission(private_set, tmp_path, capsys):
    truth = _truth_of(private_set)
    evidence = {"A": {"n": 120, "seed": 3, "before": {}, "after": {"mark": "wolf"}},
                "C": {"n": 120, "seed": 3, "before": {"colour": "wolf"}, "after": {"colour": "wolf"}}}
    right = save_submission(truth, evidence, tmp_path / "right.json")
    swapped = {**truth, "B": truth["D"], "D": truth["B"]}
    wrong = save_submission(swapped, None, tmp_path / "wrong.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"verdicts": {"A": "mark"}}')
    capsys.readouterr()
    instructor.main(["grade", "--answers", str(private_set["answers"]), str(right), str(wrong), str(broken)])
    out = capsys.readouterr().out
    assert f"{right}: 4 of 4 verdicts right" in out and f"{wrong}: 2 of 4 verdicts right" in out
    assert re.search(r"^  B  wrong", out, re.M) and re.search(r"^  D  wrong", out, re.M)
    assert re.search(r"^  evidence A: 120 images", out, re.M)
    assert re.search(r"^  evidence C: refused: .*nothing was changed", out, re.M)
    assert f"{broken}: not graded" in out and "expected the keys" in out

    results = instructor.grade(private_set["answers"], [right, wrong])
    assert results[0]["right"] == list(LETTERS) and results[1]["wrong"] == ["B", "D"]
    measured = results[0]["evidence"]["A"]
    model = load_mystery("A", private_set["models"])
    test = make_toy_zoo(120, seed=3, classes=PAIR)
    assert measured.n == 120 and "top-left corner" in measured.changed
    assert measured.before == pytest.approx(accuracy(model, test.images, test.labels))
    assert measured.after == pytest.approx(accuracy(model, add_corner_mark(test, {"wolf": 1.0}).images, test.labels))


def test_grade_refuses_model_files_that_are_not_the_sets(private_set, tmp_path):
    truth = _truth_of(private_set)
    submission = save_submission(truth, {"B": {"n": 100, "seed": 0, "before": {}, "after": {"mark": "husky"}}},
                                 tmp_path / "s.json")
    for letter in LETTERS:  # the self-study files in place of the set's
        (tmp_path / mystery_file(letter).name).write_bytes(mystery_file(letter, SHIPPED).read_bytes())
    with pytest.raises(ValueError, match="models: .*mystery_b.pt is not the file these answers were made with"):
        instructor.grade(private_set["answers"], [submission], models=tmp_path)


@pytest.mark.parametrize("evidence, words", [
    ({"E": {}}, ["evidence: expected a dict keyed by mystery letters"]),
    ({"A": {"n": 200, "seed": 9}}, ["evidence['A']: expected a dict with the keys"]),
    ({"A": {"n": 20, "seed": 9, "before": {}, "after": {}}}, ["evidence['A']['n']", "from 100"]),
    ({"A": {"n": 200, "seed": -1, "before": {}, "after": {}}}, ["evidence['A']['seed']"]),
    ({"A": {"n": 200, "seed": 9, "before": {}, "after": {"mark": "goose"}}}, ["evidence['A']['after']: intervention"]),
])
def test_a_submission_with_bad_evidence_is_not_written(evidence, words, truth, tmp_path, expect_failure):
    path = tmp_path / "s.json"
    expect_failure(lambda e, _: save_submission(truth, e, path), evidence, None, words=words)
    assert not path.exists()


def test_a_submission_reads_back_as_written(truth, tmp_path, capsys):
    evidence = {"D": {"n": 150, "seed": 4, "before": {"background": {"husky": "sky", "wolf": "sand"}}, "after": {}}}
    path = save_submission(truth, evidence, tmp_path / "s.json")
    assert "hand in this file" in capsys.readouterr().out
    assert read_submission(path) == (truth, evidence)
    path.write_text("not json")
    with pytest.raises(ExerciseError, match="cannot read"):
        read_submission(path)


# ---------------------------------------------------------------------------------------
# the answers are not readable in the repository


def _text_files():
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split("\n")
    for name in filter(None, listed):
        path = ROOT / name
        if path.is_file() and path.suffix not in (".pt", ".png", ".whl"):
            try:
                yield name, path.read_text()
            except UnicodeDecodeError:
                continue


def _statements(letter: str, verdict: str) -> re.Pattern:
    """The pair in plain form: 'X: verdict', "'X': 'verdict'", 'mystery_x is verdict', 'verdict -> X', a table row."""
    who = rf"(?:mystery[_ ]{letter.lower()}|\b{letter}\b)"
    link = r"""["']?\s*(?:[:=]|->|→|=>|\bis\b|\bhas\b|\bhas a\b|\buses\b|\bused\b|\|)\s*["'(]?\s*(?:the\s+)?"""
    return re.compile(rf"{who}{link}{verdict}\b|\b{verdict}{link}{who}")


def test_no_committed_text_states_the_self_study_answers(truth):
    patterns = {letter: _statements(letter, verdict) for letter, verdict in truth.items()}
    for name, text in _text_files():
        if name.endswith(".ipynb"):
            notebook = nbformat.reads(text, as_version=4)
            parts = [c.source for c in notebook.cells]
            for cell in notebook.cells:
                for output in cell.get("outputs", []):
                    parts.append(output.get("text", "") + output.get("data", {}).get("text/plain", ""))
            text = "\n".join(parts)
        for letter, pattern in patterns.items():
            found = pattern.search(text)
            assert found is None, f"{name} states the answer for {letter}: ...{text[found.start():found.end()]}..."


def test_notebook_09_outputs_put_no_verdict_next_to_a_letter():
    notebook = nbformat.read(ROOT / "notebooks" / "09_capstone_audit.ipynb", as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") + output.get("data", {}).get("text/plain", "")
            for line in text.splitlines():
                if re.search(r"\b[A-D]\b", line):
                    assert not re.search(rf"\b({'|'.join(VERDICTS)})\b", line), line


def test_the_statement_patterns_catch_plain_forms():
    """The search above finds a letter and a verdict in plain form (made-up letter X), and not mere neighbours."""
    pattern = _statements("X", "mark")
    for text in ('"X": "mark"', "X: mark", "mystery_x is mark", "mark -> X", "| X | mark |", "X = 'mark'",
                 "model X uses the mark", "mark → mystery_x"):
        assert pattern.search(text), text
    for text in ("(N, X) mark", "X and the mark", "Grade X marks", "remark: X"):
        assert not pattern.search(text), text

