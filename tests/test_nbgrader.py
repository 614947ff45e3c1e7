"""The nbgrader round trip: the source notebooks are nbgrader source notebooks.

``nbgrader generate_assignment`` makes the learner's version of notebook 00 (as
``scripts/course_tools.py student`` does for every notebook), and ``nbgrader autograde`` gives the
solution full marks and the untouched learner's version zero. nbgrader comes from the registry
as the ``grading`` extra (in ``dev``).
"""
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course_tools  # noqa: E402

api = pytest.importorskip("nbgrader.api", reason="nbgrader is the optional 'grading' extra")

NOTEBOOK = "00_setup"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Scores {student: (score, max_score)} after autograding a solution and a stub submission."""
    root = tmp_path_factory.mktemp("course")
    (root / "source" / NOTEBOOK).mkdir(parents=True)
    shutil.copy(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb", root / "source" / NOTEBOOK)
    course_tools.run_nbgrader("generate_assignment", NOTEBOOK, root=root)
    released = root / "release" / NOTEBOOK / f"{NOTEBOOK}.ipynb"
    submissions = {"solution": root / "source" / NOTEBOOK / f"{NOTEBOOK}.ipynb", "stub": released}
    for student, notebook in submissions.items():
        (root / "submitted" / student / NOTEBOOK).mkdir(parents=True)
        shutil.copy(notebook, root / "submitted" / student / NOTEBOOK)
    course_tools.run_nbgrader("autograde", NOTEBOOK, "--create", root=root)
    with api.Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {student: (gradebook.find_submission(NOTEBOOK, student).score,
                            gradebook.find_submission(NOTEBOOK, student).max_score) for student in submissions}
    return scores, nbformat.read(released, as_version=4)


def test_generate_assignment_turns_the_solution_into_a_stub(graded):
    _, released = graded
    answers = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("solution")]
    checks = [c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert answers and len(checks) == len(answers)
    assert all("raise NotImplementedError()" in c.source and "BEGIN SOLUTION" not in c.source for c in answers)
    assert all(c.metadata["nbgrader"]["locked"] and "check_" in c.source for c in checks)


def test_autograde_gives_the_solution_full_marks_and_the_stub_zero(graded):
    scores, _ = graded
    score, max_score = scores["solution"]
    assert max_score >= 1 and score == max_score, scores
    assert scores["stub"] == (0, max_score), scores


def test_every_exercise_is_an_autograded_answer_followed_by_its_test():
    for path in course_tools._sources():
        cells = nbformat.read(path, as_version=4).cells
        roles = [c.metadata.get("nbgrader", {}) for c in cells]
        answers = [i for i, r in enumerate(roles) if r.get("solution")]
        assert answers, path.name
        for i in answers:
            assert "### BEGIN SOLUTION" in cells[i].source
            later = [j for j in range(i + 1, len(cells)) if roles[j]]
            assert later and roles[later[0]].get("grade") and roles[later[0]]["points"] >= 1, (path.name, i)
        assert len({r["grade_id"] for r in roles if r}) == sum(1 for r in roles if r), path.name
