"""The nbgrader round trip on every notebook, and what its marks hold against (INSTRUCTOR_GUIDE.md, "Grading with
nbgrader").

One course directory and gradebook: ``nbgrader generate_assignment`` makes the learner's version of notebooks 00-09
(as ``scripts/course_tools.py student`` does), then ``nbgrader autograde`` grades two submissions of each:

* ``honest``: the answer key's solutions, each also raising warnings (``warnings.warn``, and the common
  ``torch.tensor(tensor)`` UserWarning): full marks, the warnings shown on stdout (nbgrader gives a grade cell with
  output on stderr no points, so no grade cell may have any);
* ``cheat``: the learner's version with, in each exercise cell, the one-line replacement of the check
  (``helpers.exercises.<module>.check_... = lambda *args, **kwargs: print("✓ Correct!")``), after the stub or, in 03
  and 04, after a Captum one-liner: no marks. Each grade cell's hidden test imports the check afresh, which fails the
  stub ("NotImplementedError") and refuses Captum ("switched off"); the replacement never prints.

Both submissions end at each notebook's last check cell: the cells after it cannot change a mark, and leaving them out
about halves the time autograde takes to run every notebook twice. nbgrader comes from the registry as the
``grading`` extra (in ``dev``).
"""
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course_tools  # noqa: E402

api = pytest.importorskip("nbgrader.api", reason="nbgrader is the optional 'grading' extra")

ASSIGNMENT = "course"
NOTEBOOKS = [path.stem for path in course_tools._sources()]
#: the exercises where a library call would do the whole exercise: the cheat calls Captum there
CAPTUM = {
    "my_saliency_map": ("from captum.attr import Saliency\n\n\n"
                        "def my_saliency_map(model, images, target):\n"
                        "    return Saliency(model).attribute(images.clone().requires_grad_(True), target=target, "
                        "abs=True).amax(1)\n"),
    "my_integrated_gradients": ("from captum.attr import IntegratedGradients\n\n\n"
                                "def my_integrated_gradients(model, image, target, baseline, steps):\n"
                                "    return IntegratedGradients(model).attribute(image[None], baselines=baseline[None],"
                                " target=target, n_steps=steps, method='riemann_middle')[0]\n"),
}
WARNS = ('warnings.warn(f"an honest warning ({next(_honest)})"); '
         "torch.tensor(torch.ones(1))  # UserWarning: copy construct from a tensor")


def _role(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _honest(source: str) -> str:
    """The answer key's solution cell as a learner would hand it in, warning whenever each function runs."""
    lines = ["import itertools, warnings", "_honest = itertools.count()"]
    for line in source.splitlines():
        if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
            if "BEGIN" in line:
                lines.append(line.replace("### BEGIN SOLUTION", WARNS))
            continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def _cheat(released: str, check_cell: str) -> str:
    """The learner's stub (or, where a library would do it, a Captum one-liner) plus the one-line replacement of the
    check that ``check_cell`` imports."""
    module, check = re.search(r"from helpers\.exercises\.(\w+) import (check_\w+)", check_cell).groups()
    start = next((code for name, code in CAPTUM.items() if f"def {name}(" in released), released)
    return (f"{start}\nimport helpers.exercises.{module}; "
            f'helpers.exercises.{module}.{check} = lambda *args, **kwargs: print("✓ Correct!")\n')


def _outputs(cell) -> tuple[str, str, str]:
    """A cell's (stdout, stderr, error) text."""
    text = {"stdout": "", "stderr": "", "error": ""}
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            text[output.name] += output.text
        elif output.output_type == "error":
            text["error"] += f"{output.ename}: {output.evalue}"
    return text["stdout"], text["stderr"], text["error"]


def autograde(root: Path, notebooks: list[str]) -> tuple[dict, dict]:
    """Autograde the ``honest`` and ``cheat`` submissions of ``notebooks`` in the course directory ``root``.

    Returns {student: {notebook: (score, max_score, the autograded notebook)}} and {notebook: the released one}.
    """
    source = root / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for name in notebooks:
        shutil.copy(ROOT / "notebooks" / f"{name}.ipynb", source)
    course_tools.run_nbgrader("generate_assignment", ASSIGNMENT, root=root)
    released = {name: nbformat.read(root / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
                for name in notebooks}
    for student in ("honest", "cheat"):
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        for name in notebooks:
            key = nbformat.read(source / f"{name}.ipynb", as_version=4)
            notebook = nbformat.read(root / "release" / ASSIGNMENT / f"{name}.ipynb", as_version=4)
            for i, cell in enumerate(notebook.cells):
                if _role(cell).get("solution"):
                    check_cell = next(c.source for c in notebook.cells[i + 1:] if _role(c).get("grade"))
                    cell.source = (_honest(key.cells[i].source) if student == "honest"
                                   else _cheat(cell.source, check_cell))
            last = max(i for i, cell in enumerate(notebook.cells) if _role(cell).get("grade"))
            notebook.cells = notebook.cells[:last + 1]  # what follows the last check cannot change a mark
            nbformat.write(notebook, folder / f"{name}.ipynb")
    course_tools.run_nbgrader("autograde", ASSIGNMENT, "--create", "--Execute.timeout=600", root=root)
    results = {}
    with api.Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in ("honest", "cheat"):
            results[student] = {}
            for name in notebooks:
                marks = gradebook.find_submission_notebook(name, ASSIGNMENT, student)
                notebook = nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{name}.ipynb", as_version=4)
                results[student][name] = (marks.score, marks.max_score, notebook)
    return results, released


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return autograde(tmp_path_factory.mktemp("course"), NOTEBOOKS)


def _exercises(notebook) -> list[tuple]:
    """(answer cell, its grade cell) pairs."""
    cells = notebook.cells
    answers = [i for i, cell in enumerate(cells) if _role(cell).get("solution")]
    return [(cells[i], next(c for c in cells[i + 1:] if _role(c).get("grade"))) for i in answers]


@pytest.mark.slow
@pytest.mark.notebook
def test_generate_assignment_turns_each_solution_into_a_stub_and_removes_the_hidden_tests(graded):
    _, released = graded
    for name, notebook in released.items():
        exercises = _exercises(notebook)
        assert exercises and len([c for c in notebook.cells if _role(c).get("grade")]) == len(exercises), name
        for answer, check in exercises:
            assert "raise NotImplementedError()" in answer.source and "BEGIN SOLUTION" not in answer.source, name
            assert _role(check)["locked"] and "check_" in check.source, name
            assert "HIDDEN" not in check.source and "sys.modules" not in check.source, name


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_an_honest_solution_that_warns_gets_full_marks_its_warnings_on_stdout(graded, name):
    score, max_score, notebook = graded[0]["honest"][name]
    assert max_score >= 1 and score == max_score, (name, score, max_score)
    for _, check in _exercises(notebook):
        out, err, error = _outputs(check)
        assert "✓ Correct!" in out and "an honest warning" in out and not err and not error, (name, out, err, error)


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_replacing_the_check_from_the_learners_cell_gets_no_marks(graded, name):
    score, max_score, notebook = graded[0]["cheat"][name]
    assert max_score >= 1 and score == 0, (name, score, max_score)
    for answer, check in _exercises(notebook):
        out, _, error = _outputs(check)
        assert "✓ Correct!" not in out, (name, out)  # the replacement never ran: the real check did
        if "captum" in answer.source:
            assert "captum" in error and "switched off in this exercise" in error, (name, error)
        else:
            assert "NotImplementedError" in error, (name, error)


def test_every_exercise_is_an_autograded_answer_followed_by_its_test():
    for path in course_tools._sources():
        cells = nbformat.read(path, as_version=4).cells
        roles = [_role(c) for c in cells]
        answers = [i for i, r in enumerate(roles) if r.get("solution")]
        assert answers, path.name
        for i in answers:
            assert "### BEGIN SOLUTION" in cells[i].source
            later = [j for j in range(i + 1, len(cells)) if roles[j]]
            assert later and roles[later[0]].get("grade") and roles[later[0]]["points"] >= 1, (path.name, i)
            check = cells[later[0]]
            assert check.source.startswith(course_tools.HIDDEN_TESTS), (path.name, i)  # stamped by course_tools
            # ... and it protects a check the cell imports itself, after it
            assert re.search(r"^from helpers\.exercises\.\w+ import .*check_", check.source, re.M), (path.name, i)
            assert not any(o.get("name") == "stderr" or o.output_type == "error" for o in check.get("outputs", [])), \
                (path.name, i)  # the answer key's own run: no stderr, no error in a grade cell
        assert len({r["grade_id"] for r in roles if r}) == sum(1 for r in roles if r), path.name


def test_stamp_puts_its_hidden_test_at_the_top_of_a_check_cell_once_and_keeps_the_authors():
    notebook = nbformat.v4.new_notebook()
    check = ("from helpers.exercises.x import check_f\n\ncheck_f(f)\n"
             "### BEGIN HIDDEN TESTS\nassert f(1) == 2\n### END HIDDEN TESTS")
    answer = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION"
    notebook.cells = [nbformat.v4.new_code_cell(answer), nbformat.v4.new_code_cell(check)]
    once = course_tools.grading_metadata(notebook, "99_x")
    assert once.cells[1].source == course_tools.HIDDEN_TESTS + check
    assert course_tools.grading_metadata(once, "99_x").cells[1].source == once.cells[1].source
