"""The capstone (notebook 09): the mystery checkpoints, their hidden shortcuts, the grader; the answers stay hidden.

No test writes down which letter has which cue: the truth comes from the grader's own salted hashes
(``info["capstone"]``), found by trying the four verdicts, as a determined student could.
"""
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import helpers
import helpers.exercises.capstone as grader
from helpers import (BACKGROUNDS, accuracy, load_model, make_toy_zoo, paint_background, predict, swap_backgrounds)
from helpers.capstone import (DEFAULT_SALT, LETTERS, PAIR, SALT_VARIABLE, VERDICTS, _planted, answer_hash,
                              answer_record, current_salt, mystery_name, mystery_zoo, nonce)
from helpers.checkpoints import MYSTERIES, RECIPES, Recipe
from helpers.exercises import HelperUnavailable, NotDoneYet
from helpers.exercises.capstone import check_audit, check_evidence, check_verdicts
from helpers.toyzoo import add_corner_mark, tint_animals

ROOT = Path(__file__).resolve().parents[1]
WOLF = PAIR.index("wolf")


def _truth() -> dict[str, str]:
    """{letter: right verdict}, by trying each verdict against the checkpoint's salted hash."""
    truth = {}
    for letter in LETTERS:
        record = load_model(mystery_name(letter)).info["capstone"]
        truth[letter] = next(v for v in VERDICTS if answer_hash(record["nonce"], letter, v) == record["answer"])
    return truth


@pytest.fixture(scope="module")
def truth():
    return _truth()


@pytest.fixture(scope="module")
def mysteries():
    return {letter: load_model(mystery_name(letter)) for letter in LETTERS}


@pytest.fixture(scope="module")
def test_zoo():
    return make_toy_zoo(300, seed=31, classes=PAIR)  # no cue: every background equally likely, no mark, no tint


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
# the checkpoints


def test_the_mystery_recipes_are_one_recipe():
    """Nothing in a recipe tells the letters apart: their cues come from the salt and the name alone."""
    assert list(MYSTERIES) == [mystery_name(letter) for letter in LETTERS]
    assert all(name in RECIPES for name in MYSTERIES)
    recipes = {RECIPES[name] for name in MYSTERIES}
    assert recipes == {Recipe(classes=PAIR, data_seed=21, test_seed=22)}


def test_the_checkpoints_were_trained_with_the_current_salt():
    for letter in LETTERS:
        assert load_model(mystery_name(letter)).info["capstone"] == answer_record(letter), (
            f"{mystery_name(letter)} was trained with another salt: set ${SALT_VARIABLE} as when it was trained")


def test_the_checkpoints_keep_their_accuracy_on_their_own_data(mysteries):
    """Each model is accurate on data drawn like its training data (the recipe's test seed), cue included."""
    for letter, model in mysteries.items():
        recipe = RECIPES[mystery_name(letter)]
        own = mystery_zoo(letter, 600, seed=recipe.test_seed)
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


def test_the_mystery_data_carry_their_cue(truth):
    """The planted data: the cue on about 95 % of one class and 5 % of the other; none for the clean letter."""
    for letter in LETTERS:
        zoo = mystery_zoo(letter, 800, seed=5)
        plain = make_toy_zoo(800, seed=5, classes=PAIR)
        assert torch.equal(zoo.labels, plain.labels) and torch.equal(zoo.masks, plain.masks)
        if truth[letter] == "none":
            assert torch.equal(zoo.images, plain.images)
        elif truth[letter] == "background":
            per_class = [torch.bincount(zoo.backgrounds[zoo.labels == k], minlength=len(BACKGROUNDS)).float()
                         for k in range(2)]
            assert all(abs(counts.max() / counts.sum() - 0.95) < 0.04 for counts in per_class)
            assert per_class[0].argmax() != per_class[1].argmax()
        else:
            cued = (zoo.images != plain.images).flatten(1).any(1)
            shares = sorted(cued[zoo.labels == k].float().mean().item() for k in range(2))
            assert abs(shares[0] - 0.05) < 0.04 and abs(shares[1] - 0.95) < 0.04, (letter, shares)


# ---------------------------------------------------------------------------------------
# the grader: check_verdicts


def test_right_verdicts_pass(truth, capsys):
    check_verdicts(dict(truth))
    out = capsys.readouterr().out
    assert out.startswith("✓ Correct! 4 of 4 verdicts right")
    assert not any(verdict in out for verdict in VERDICTS)


@pytest.mark.parametrize("swap", [("A", "B"), ("C", "D"), ("A", "D")])
def test_wrong_verdicts_are_named_by_letter_without_their_answer(truth, swap, expect_failure):
    given = dict(truth)
    given[swap[0]], given[swap[1]] = truth[swap[1]], truth[swap[0]]
    message = expect_failure(lambda g, _: check_verdicts(g), given, None,
                             words=["2 of 4 verdicts right", f"{swap[0]}, {swap[1]} not yet"])
    assert not any(re.search(rf"\b{verdict}\b", message) for verdict in VERDICTS), message


def test_all_wrong_and_repeated_verdicts(truth, expect_failure):
    shifted = {letter: truth[LETTERS[(i + 1) % 4]] for i, letter in enumerate(LETTERS)}
    expect_failure(lambda g, _: check_verdicts(g), shifted, None, words=["0 of 4", "no letter right yet"])
    wrong_one = next(v for v in VERDICTS if v != truth["A"])
    same = {letter: wrong_one for letter in LETTERS}
    message = expect_failure(lambda g, _: check_verdicts(g), same, None,
                             words=["1 of 4", "each verdict belongs to exactly one model"])
    assert "not yet" in message


@pytest.mark.parametrize("make, words", [  # each built from the right verdicts, so no test text states them
    (lambda t: list(t.values()), ["verdicts: expected a dict", "got a list"]),
    (lambda t: {k.lower(): v for k, v in t.items()}, ["expected the keys 'A', 'B', 'C', 'D'", "capital letters"]),
    (lambda t: {k: v for k, v in t.items() if k != "D"}, ["expected the keys", "one verdict for each mystery model"]),
    (lambda t: {**t, "C": "color"}, ["verdicts['C']", "'background', 'mark', 'colour', 'none'",
                                      "did you mean 'colour'?"]),
    (lambda t: {**t, "A": "None"}, ["verdicts['A']", "did you mean 'none'?"]),
    (lambda t: {**t, "B": "snow"}, ["got 'snow'", "did you mean 'background'?"]),
    (lambda t: {**t, "A": 0.9}, ["verdicts['A']", "got a float"]),
])
def test_bad_verdicts_get_a_clear_error(make, words, truth, expect_failure):
    expect_failure(lambda v, _: check_verdicts(v), make(truth), None, words=words)


# ---------------------------------------------------------------------------------------
# the grader: check_audit


def test_the_reference_audit_gets_every_verdict_right(test_zoo, capsys):
    check_audit(reference_audit, test_zoo)
    assert capsys.readouterr().out.startswith("✓ Correct! 4 of 4 verdicts right")


def test_the_audit_sees_weights_only_and_a_copy_of_the_zoo(test_zoo, mysteries):
    seen = []

    def spy(model, zoo):
        seen.append((hasattr(model, "info"), zoo is test_zoo, model.state_dict()))
        zoo.images.zero_()  # an audit that spoils its images spoils only its own copy
        return "none"

    with pytest.raises(helpers.exercises.ExerciseError):
        check_audit(spy, test_zoo)
    assert [s[:2] for s in seen] == [(False, False)] * 4
    for (_, _, weights), model in zip(seen, mysteries.values()):
        assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert test_zoo.images.max() > 0


def not_implemented(model, zoo):
    raise NotImplementedError


def audit_asking_the_grader(model, zoo):
    helpers.exercises.capstone.check_verdicts({letter: "none" for letter in LETTERS})


def audit_asking_the_grader_by_name(model, zoo):
    check_verdicts({letter: "none" for letter in LETTERS})


def audit_trying_hashes(model, zoo):
    return helpers.capstone.answer_hash("0", "A", "none")


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
    (audit_trying_hashes, HelperUnavailable, ["answer_hash", "switched off"]),
    (audit_ignoring_the_model, None, ["'background' for all 4 models", "`model`"]),
    (audit_returning_numbers, None, ["verdict for mystery model A", "got a dict", "verdict word alone"]),
    (audit_capitalized, None, ["verdict for mystery model", "did you mean"]),
    (audit_by_accuracy_alone, None, ["2 of 4 verdicts right", "not yet"]),
])
def test_audit_mistakes_are_explained(audit, error, words, test_zoo, expect_failure):
    message = expect_failure(check_audit, audit, test_zoo, words=words)
    if error is not None:
        with pytest.raises(error):
            check_audit(audit, test_zoo)
    assert not re.search(r"right verdict|should be", message)


def test_the_grader_is_restored_after_the_audit(test_zoo):
    originals = (grader.check_verdicts, grader.check_evidence, helpers.capstone.answer_hash)
    with pytest.raises(HelperUnavailable):
        check_audit(audit_asking_the_grader, test_zoo)
    assert (grader.check_verdicts, grader.check_evidence, helpers.capstone.answer_hash) == originals
    assert globals()["check_verdicts"] is grader.check_verdicts


def test_check_audit_wants_husky_and_wolf_images(expect_failure):
    expect_failure(check_audit, reference_audit, make_toy_zoo(4, size=16, seed=0), words=["husky and wolf"])
    expect_failure(check_audit, reference_audit, torch.rand(4, 3, 64, 64), words=["zoo: expected a ToyZoo"])


# ---------------------------------------------------------------------------------------
# the grader: check_evidence


def test_evidence_on_the_known_biased_model(test_zoo, capsys):
    agrees = swap_backgrounds(test_zoo, seed=1, background={"husky": "grass", "wolf": "snow"})
    contradicts = swap_backgrounds(test_zoo, seed=1, background={"husky": "snow", "wolf": "grass"})
    evidence = check_evidence(load_model("huskywolf_biased"), agrees, contradicts)
    out = capsys.readouterr().out
    assert evidence.drop - evidence.margin > 0.7 and evidence.n == 300
    assert "only the background" in out and "a large drop" in out
    control = check_evidence(load_model("huskywolf_fixed"), agrees, contradicts)
    assert abs(control.drop) < 0.1 and "no clear change" in capsys.readouterr().out


def test_evidence_names_what_changed_and_recomputes_by_letter(test_zoo, capsys, monkeypatch):
    def no_answers():
        raise AssertionError("check_evidence must not read the answers")

    monkeypatch.setattr(grader, "_answers", no_answers)  # it measures; it never consults the right verdicts
    for before, after, words in (
        (add_corner_mark(test_zoo, {"wolf": 1.0}), add_corner_mark(test_zoo, {"husky": 1.0}), "top-left corner"),
        (tint_animals(test_zoo, {"wolf": 1.0}), tint_animals(test_zoo, {"husky": 1.0}), "only the animals"),
    ):
        evidence = check_evidence("A", before, after)
        out = capsys.readouterr().out
        assert words in out and "mystery model A" in out
        model = load_model("mystery_a")
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


# ---------------------------------------------------------------------------------------
# reshuffling with a private salt


def test_the_salt_deals_out_a_permutation_and_the_grader_follows_the_checkpoints(monkeypatch, tmp_path, capsys):
    assert current_salt() == DEFAULT_SALT or SALT_VARIABLE in __import__("os").environ
    monkeypatch.setenv(SALT_VARIABLE, "an instructor's secret")
    assert current_salt() == "an instructor's secret"
    deals = {salt: [_planted(letter, salt) for letter in LETTERS] for salt in ("s1", "s2", "s3", "s4", "s5")}
    assert all(sorted(deal) == sorted(VERDICTS) for deal in deals.values())
    assert len({tuple(deal) for deal in deals.values()}) > 1  # other salts, other answers
    assert nonce("s1") != nonce("s2") and len(nonce("s1")) == 16
    # checkpoints "trained" with the private salt: the grader reads their hashes and needs no salt
    for letter in LETTERS:
        record = {"state_dict": {}, "info": {"capstone": answer_record(letter)}}
        torch.save(record, tmp_path / f"{mystery_name(letter)}.pt")
    monkeypatch.setattr(grader, "checkpoint_path", lambda name: tmp_path / f"{name}.pt")
    private = {letter: _planted(letter, "an instructor's secret") for letter in LETTERS}
    check_verdicts(private)
    assert capsys.readouterr().out.startswith("✓ Correct! 4 of 4")


def test_training_records_the_hashes_and_plants_the_salted_cue(monkeypatch):
    from helpers import checkpoints

    seen = []
    monkeypatch.setattr(checkpoints, "train_classifier", lambda model, images, labels, **kw: seen.append(images) or
                        {"loss": [0.0]})
    monkeypatch.setitem(RECIPES, "mystery_b", replace(RECIPES["mystery_b"], n_train=40, n_test=8))
    monkeypatch.setenv(SALT_VARIABLE, "another secret")
    _, info = checkpoints.train_recipe("mystery_b", progress=False)
    assert info["capstone"] == answer_record("B", "another secret")
    assert torch.equal(seen[0], mystery_zoo("B", 40, seed=RECIPES["mystery_b"].data_seed, salt="another secret").images)


# ---------------------------------------------------------------------------------------
# the answers are not readable


def _strings(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def test_the_checkpoints_info_holds_no_cue(mysteries):
    for letter, model in mysteries.items():
        assert set(model.info) == {"recipe", "capstone"}  # no score or timing that could hint at the cue
        text = " ".join(_strings(model.info)).lower()
        assert not any(verdict in text for verdict in (*VERDICTS, "color", "tint", "snow", "grass")), letter


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


def test_no_committed_text_states_the_answers(truth):
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
