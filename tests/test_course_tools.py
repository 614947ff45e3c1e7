"""Student versions are up to date; every notebook carries the Colab badge and setup cell."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import course_tools  # noqa: E402


@pytest.mark.slow
def test_student_versions_and_colab_cells_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "course_tools.py"), "check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_notebook_has_exercises_with_solutions_and_a_student_stub():
    for path in course_tools._sources():
        source = path.read_text()
        assert "### BEGIN SOLUTION" in source and "### END SOLUTION" in source, path.name
        student = nbformat.read(course_tools.STUDENT / path.name, as_version=4)
        code = "\n".join(c.source for c in student.cells if c.cell_type == "code")
        assert "### BEGIN SOLUTION" not in code and "raise NotImplementedError()" in code, path.name
        assert "BEGIN HIDDEN TESTS" not in code
        assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")


@pytest.mark.slow
def test_solution_blocks_become_stubs_with_the_same_indentation(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n\nprint('done')", id="a"),
        nbformat.v4.new_code_cell("check_f(f)\n### BEGIN HIDDEN TESTS\nassert f(1) == 2\n### END HIDDEN TESTS", id="b")]
    nbformat.write(notebook, tmp_path / "99_x.ipynb")
    student = nbformat.reads(course_tools.student_versions([tmp_path / "99_x.ipynb"])["99_x.ipynb"], as_version=4)
    assert student.cells[-2].source == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint('done')"
    assert student.cells[-2].metadata["nbgrader"]["grade_id"] == "99_x-f"
    assert student.cells[-1].source == "check_f(f)" and student.cells[-1].metadata["nbgrader"]["grade"]
    assert "notebooks/student/99_x.ipynb" in student.cells[0].source


def test_the_repository_address_lives_in_one_place():
    address = course_tools.repository()
    assert address.startswith("https://github.com/")
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()  # no git, or no repository: a loud error, not a pass
    assert "pyproject.toml" in tracked, tracked[:5]
    holders = [f for f in tracked if not f.endswith(".ipynb") and address in (ROOT / f).read_text(errors="ignore")]
    assert holders == ["pyproject.toml"], holders
    for path in course_tools._sources():
        first = json.loads(path.read_text())["cells"][:2]
        assert first[0]["metadata"].get("course") == "colab-badge" and address.removeprefix("https://github.com/") in "".join(first[0]["source"])
        assert "google.colab" in "".join(first[1]["source"]) and "--no-deps" not in "".join(first[1]["source"])


def test_every_core_path_reads_within_its_budget_and_the_short_track_keeps_what_it_leans_on():
    minutes = {path.name[:2]: course_tools.learner_minutes(nbformat.read(path, as_version=4))
               for path in course_tools._sources()}
    over = {n: round(m["core reading"], 1) for n, m in minutes.items() if m["core reading"] > course_tools.CORE_READING_MINUTES}
    assert not over, f"core paths whose reading takes over {course_tools.CORE_READING_MINUTES} min: {over}"
    assert {"01", "02"} <= set(course_tools.SHORT_TRACK)  # 03 and 06 lean on them
    careful = course_tools.learner_minutes(nbformat.read(course_tools._sources()[6], as_version=4), "careful")
    assert careful["core"] > minutes["06"]["core"]  # the careful pace is slower


def test_learner_minutes_count_prose_visible_code_and_exercises_but_not_check_cells():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("## 1. Core\n" + "word " * 148),  # 150 words: 1 min
        nbformat.v4.new_code_cell("a = 1\n# a comment\n\nb = 2"),  # 2 lines: 20 s
        nbformat.v4.new_code_cell("# Check: a is one\nassert a == 1", metadata={"tags": ["check"]}),
        nbformat.v4.new_markdown_cell(f"## 2. More {course_tools.DEEP_DIVE}\n" + "word " * 145),
        nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION"),
    ]
    m = course_tools.learner_minutes(notebook)  # the quick pace: 150 words a minute, 10 s a line
    assert m["core"] == m["core reading"] == pytest.approx(1 + 20 / 60)
    exercise = course_tools.exercise_minutes("    pass\n", course_tools.PACES["quick"])
    assert exercise == pytest.approx(5 + 2.5)  # a fixed part and one line of solution
    assert m["deep dives"] == pytest.approx(1 + exercise + 2 * 10 / 60) and m["exercises"] == 1
    careful = course_tools.learner_minutes(notebook, "careful")  # 90 words a minute, 12 s a line
    assert careful["core"] == pytest.approx(150 / 90 + 2 * 12 / 60)
