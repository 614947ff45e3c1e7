"""Course maintenance: stamp the Colab badge and setup cell into notebooks, generate student versions.

    python scripts/course_tools.py stamp      # badge + Colab setup cell at the top of every notebook
    python scripts/course_tools.py student    # notebooks/student/*.ipynb from the solution notebooks
    python scripts/course_tools.py timings    # the learner timings table in INSTRUCTOR_GUIDE.md
    python scripts/course_tools.py check      # exit 1 if any of these is out of date (used by the tests)

The repository address is read from pyproject.toml ([project.urls] Repository), its only home.
The source notebooks are nbgrader source notebooks: ``stamp`` gives each exercise cell (the code
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) and the check cell after it nbgrader's cell
metadata, and ``student`` runs ``nbgrader generate_assignment`` on them (the one way student
versions are made): solutions become ``# YOUR CODE HERE`` + ``raise NotImplementedError()``,
``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` lines are removed, outputs are cleared.
"""
from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
STUDENT = NOTEBOOKS / "student"
PACKAGE = "seeing-what-a-network-sees"


def repository() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"].rstrip("/")


def badge_source(relative_path: str) -> str:
    slug = repository().removeprefix("https://github.com/")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{slug}/blob/main/{relative_path})")


def setup_source() -> str:
    return f'''# Colab only: install the course's helpers. Colab's own torch is kept (never reinstalled).
import sys

if "google.colab" in sys.modules:
    get_ipython().run_line_magic("pip", "install --quiet '{PACKAGE} @ git+{repository()}.git'")
    import torch

    if not torch.cuda.is_available():
        print("Tip: Runtime > Change runtime type > GPU makes the notebooks faster (they also run on the CPU).")'''


def _stamped(cell, role: str) -> bool:
    return cell.get("metadata", {}).get("course") == role


def stamp(notebook, relative_path: str, stem: str):
    """Return a copy of ``notebook`` whose first two cells are the Colab badge and the setup cell, and
    whose exercise cells carry nbgrader's metadata (``grading_metadata``)."""
    notebook = grading_metadata(notebook, stem)
    cells = [c for c in notebook.cells if not (_stamped(c, "colab-badge") or _stamped(c, "colab-setup"))]
    badge = nbformat.v4.new_markdown_cell(badge_source(relative_path), metadata={"course": "colab-badge"}, id="colab-badge")
    setup = nbformat.v4.new_code_cell(setup_source(), metadata={"course": "colab-setup"}, id="colab-setup")
    old_setup = next((c for c in notebook.cells if _stamped(c, "colab-setup")), None)
    if old_setup is not None and old_setup.source == setup.source:  # keep its execution count and outputs
        setup = old_setup
    notebook.cells = [badge, setup] + cells
    return notebook


def _solution_name(source: str, k: int) -> str:
    match = re.search(r"^\s*def (\w+)", source, re.M)
    return match[1].replace("_", "-") if match else f"answer-{k}"


def grading_metadata(notebook, stem: str):
    """Return a copy of ``notebook`` whose exercise cells carry nbgrader's cell metadata.

    A code cell with ``### BEGIN SOLUTION`` is an "autograded answer" (``solution``); the next
    code cell that calls a ``check_…`` function is its "autograder test" (``grade``, locked, worth
    the points it already had, else 1). Every other cell loses stale nbgrader metadata. The ids are
    ``{stem}-{function}`` and ``{stem}-{function}-check``.
    """
    notebook = copy.deepcopy(notebook)
    answer = None
    k = 0
    for cell in notebook.cells:
        old = cell.metadata.pop("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if "### BEGIN SOLUTION" in cell.source:
            k += 1
            answer = f"{stem}-{_solution_name(cell.source, k)}"
            cell.metadata["nbgrader"] = dict(grade=False, grade_id=answer, locked=False, schema_version=3,
                                             solution=True, task=False)
        elif answer is not None and re.search(r"^\s*check_\w+\(", cell.source, re.M):
            cell.metadata["nbgrader"] = dict(grade=True, grade_id=f"{answer}-check", locked=True,
                                             points=old.get("points", 1), schema_version=3, solution=False,
                                             task=False)
            answer = None
    return notebook


def run_nbgrader(*args: str, root: Path) -> None:
    """``nbgrader ARGS`` in the course directory ``root`` (its own gradebook); raise with nbgrader's log if it fails."""
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}",
               f"--CourseDirectory.db_url=sqlite:///{root / 'gradebook.db'}", "--force"]
    # nbgrader runs the `alembic` command of its own environment: put that environment's bin/ first on PATH
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, env={**os.environ, "PATH": path})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def student_versions(paths: list[Path]) -> dict[str, str]:
    """The learner's copies of ``paths``, as file texts, made by ``nbgrader generate_assignment``.

    Solutions become ``# YOUR CODE HERE`` + ``raise NotImplementedError()``, hidden tests are
    removed, outputs cleared, check cells locked and checksummed (so nbgrader can autograde them);
    each copy's Colab badge points at the student copy.
    """
    with tempfile.TemporaryDirectory(prefix="course-nbgrader-") as tmp:
        root = Path(tmp)
        (root / "source" / "course").mkdir(parents=True)
        for path in paths:
            notebook = stamp(nbformat.read(path, as_version=4), f"notebooks/student/{path.name}", path.stem)
            nbformat.write(notebook, root / "source" / "course" / path.name)
        run_nbgrader("generate_assignment", "course", root=root)
        texts = {}
        for path in paths:
            notebook = nbformat.read(root / "release" / "course" / path.name, as_version=4)
            for cell in notebook.cells:
                cell.metadata.pop("execution", None)  # timestamps of the run the outputs came from
            notebook.metadata.pop("widgets", None)
            texts[path.name] = _text(notebook)
        return texts


# ---------------------------------------------------------------------------------------------
# learner timings, estimated from the notebooks themselves

WORDS_PER_MINUTE = 150  # prose with formulas, read carefully
SECONDS_PER_CODE_LINE = 10  # read it, run it, look at what it prints or draws
MINUTES_PER_EXERCISE = 15
DEEP_DIVE = "(optional deep dive)"
#: the 3-hour single-session track: these notebooks' core paths (the course installed beforehand)
THREE_HOUR_TRACK = ("03", "05", "06")
GUIDE = ROOT / "INSTRUCTOR_GUIDE.md"
TIMINGS = re.compile(r"(<!-- timings: made by scripts/course_tools.py timings -->\n).*?(<!-- end of timings -->)", re.S)


def _is_check(cell) -> bool:
    return "check" in cell.metadata.get("tags", []) or cell.metadata.get("course") in ("colab-badge", "colab-setup")


def learner_minutes(notebook) -> dict[str, float]:
    """Estimated learner minutes of a notebook: {"core": …, "deep dives": …, "exercises": count}.

    Prose at WORDS_PER_MINUTE, visible code at SECONDS_PER_CODE_LINE a line (collapsed check cells
    and the Colab cells are skipped), MINUTES_PER_EXERCISE per exercise; a ``## `` section whose
    heading ends with DEEP_DIVE counts as deep dive, everything else as core.
    """
    minutes = {"core": 0.0, "deep dives": 0.0, "exercises": 0}
    part = "core"
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            heading = next((line for line in cell.source.splitlines() if line.startswith("## ")), None)
            if heading is not None:
                part = "deep dives" if heading.rstrip().endswith(DEEP_DIVE) else "core"
            minutes[part] += len(re.findall(r"\w+", cell.source)) / WORDS_PER_MINUTE
        elif cell.cell_type == "code" and not _is_check(cell):
            lines = [line for line in cell.source.splitlines() if line.strip() and not line.strip().startswith("#")]
            minutes[part] += len(lines) * SECONDS_PER_CODE_LINE / 60
            if "### BEGIN SOLUTION" in cell.source:
                minutes[part] += MINUTES_PER_EXERCISE
                minutes["exercises"] += 1
    return minutes


def timings_table() -> str:
    """The markdown table of every notebook's estimated core and deep-dive minutes, and the 3-hour track."""
    rows = ["| notebook | core path | optional deep dives | exercises |", "|---|---|---|---|"]
    total = {"core": 0, "deep dives": 0}
    track = 0
    for path in _sources():
        m = learner_minutes(nbformat.read(path, as_version=4))
        core, deep = round(m["core"] / 5) * 5, round(m["deep dives"] / 5) * 5
        total["core"] += core
        total["deep dives"] += deep
        track += core if path.name[:2] in THREE_HOUR_TRACK else 0
        rows.append(f"| {path.stem} | {core} min | {deep or '—'}{' min' if deep else ''} | {m['exercises']} |")
    rows.append(f"| **all** | **{total['core'] / 60:.1f} h** | **{total['deep dives'] / 60:.1f} h** | |")
    return ("\n".join(rows) + f"\n\n**3-hour single-session track:** the core paths of notebooks "
            f"{', '.join(THREE_HOUR_TRACK)} (saliency, the Clever-Hans case, class models): about {track} min, "
            "with the course installed beforehand (`make lab`, or the Colab badges) and notebook 00's Toy Zoo "
            "section read as homework.\n")


def _sources() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _text(notebook) -> str:
    """The file content ``student`` writes and ``check`` expects (nbformat's JSON plus a final newline)."""
    return nbformat.writes(notebook) + "\n"


def main(command: str) -> int:
    stale = []
    STUDENT.mkdir(exist_ok=True)
    sources = _sources()
    students = student_versions(sources) if command in ("student", "check") else {}
    for path in sources if command != "timings" else []:
        notebook = nbformat.read(path, as_version=4)
        stamped = stamp(notebook, f"notebooks/{path.name}", path.stem)
        target = STUDENT / path.name
        if command == "stamp":
            nbformat.write(stamped, path)
        elif command == "student":
            target.write_text(students[path.name])
        else:
            if _text(stamped) != _text(notebook):
                stale.append(f"{path.name}: Colab badge/setup cell or nbgrader metadata missing or outdated "
                             "(run: python scripts/course_tools.py stamp)")
            if students[path.name] != (target.read_text() if target.exists() else ""):
                stale.append(f"student/{path.name}: out of date (run: python scripts/course_tools.py student)")
    guide = GUIDE.read_text()
    timed = TIMINGS.sub(lambda m: m[1] + timings_table() + m[2], guide)
    if command == "timings":
        GUIDE.write_text(timed)
    elif command == "check" and timed != guide:
        stale.append("INSTRUCTOR_GUIDE.md: the timings table is out of date (run: python scripts/course_tools.py timings)")
    for line in stale:
        print(line)
    return 1 if stale else 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("stamp", "student", "timings", "check"):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
