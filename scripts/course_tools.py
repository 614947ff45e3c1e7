"""Course maintenance: stamp the Colab badge and setup cell into notebooks, generate student versions.

    python scripts/course_tools.py stamp      # badge + Colab setup cell at the top of every notebook
    python scripts/course_tools.py student    # notebooks/student/*.ipynb from the solution notebooks
    python scripts/course_tools.py timings    # the learner timings table in INSTRUCTOR_GUIDE.md
    python scripts/course_tools.py check      # exit 1 if any of these is out of date (used by the tests)

The repository address is read from pyproject.toml ([project.urls] Repository), its only home.
The source notebooks are nbgrader source notebooks: ``stamp`` gives each exercise cell (the code
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) and the check cell after it nbgrader's cell
metadata, and the check cell its hidden test (``HIDDEN_TESTS``); ``student`` runs ``nbgrader
generate_assignment`` on them (the one way student versions are made): solutions become
``# YOUR CODE HERE`` + ``raise NotImplementedError()``, ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN
TESTS`` lines are removed, outputs are cleared.
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
from typing import NamedTuple

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


#: the hidden test at the top of every check cell (nbgrader removes it from the learner's version): under
#: ``nbgrader autograde`` the cell's own ``from helpers.exercises.… import check_…`` then loads the check
#: afresh from its file, so no rebinding of ``helpers.exercises`` in the learner's cells (one line
#: replacing a check) can pass it
HIDDEN_TESTS = """### BEGIN HIDDEN TESTS
import sys  # grading: the check below is imported afresh from its file, whatever the cells above did to it
for _module in [name for name in sys.modules if name == "helpers.exercises" or name.startswith("helpers.exercises.")]:
    del sys.modules[_module]
### END HIDDEN TESTS
"""
_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", re.S)


def grading_metadata(notebook, stem: str):
    """Return a copy of ``notebook`` whose exercise cells carry nbgrader's cell metadata.

    A code cell with ``### BEGIN SOLUTION`` is an "autograded answer" (``solution``); the next
    code cell that calls a ``check_…`` function is its "autograder test" (``grade``, locked, worth
    the points it already had, else 1), which starts with ``HIDDEN_TESTS`` (``stamp`` owns the
    hidden test at the top of a check cell; write your own below the check) and should import its
    check itself. Every other cell loses stale nbgrader metadata. The ids are
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
            stamped = _HIDDEN.match(cell.source)  # the one stamped at the top before, maybe an older version
            cell.source = HIDDEN_TESTS + cell.source[stamped.end() if stamped else 0:]
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

class Pace(NamedTuple):
    """How fast a learner works through a notebook."""

    words_per_minute: float  # prose with formulas
    seconds_per_code_line: float  # read it, run it, look at what it prints or draws
    exercise_minutes: tuple[float, float]  # an exercise: (a fixed part, minutes per line of the solution)


#: a quick reader and a careful one (a teacher's estimate for dense mathematical prose: 90 words a minute)
PACES = {"quick": Pace(150, 10, (5, 2.5)), "careful": Pace(90, 12, (10, 4.5))}
#: time outside the notebook: the capstone's written report (its notebook asks for one), quick and careful
REPORT_MINUTES = {"09": (30, 60)}
DEEP_DIVE = "(optional deep dive)"
#: the short track: these notebooks' core paths, in order; 03 and 06 lean on 01 (templates) and 02 (the
#: gradient as a local linear model), so the track keeps them (the course installed beforehand)
SHORT_TRACK = ("01", "02", "03", "06")
#: the most minutes a core path's reading (prose and code, without the exercise) may take at the quick pace
CORE_READING_MINUTES = 45
GUIDE = ROOT / "INSTRUCTOR_GUIDE.md"
TIMINGS = re.compile(r"(<!-- timings: made by scripts/course_tools.py timings -->\n).*?(<!-- end of timings -->)", re.S)


def _is_check(cell) -> bool:
    return "check" in cell.metadata.get("tags", []) or cell.metadata.get("course") in ("colab-badge", "colab-setup")


def exercise_minutes(solution: str, pace: Pace) -> float:
    """Minutes for one exercise at ``pace``: a fixed part plus a part per line of the answer key's solution."""
    lines = [line for line in solution.splitlines() if line.strip() and not line.strip().startswith("#")]
    fixed, per_line = pace.exercise_minutes
    return fixed + per_line * len(lines)


def learner_minutes(notebook, pace: str = "quick") -> dict[str, float]:
    """Estimated learner minutes of a notebook at a pace of ``PACES``: {"core", "deep dives", "exercises",
    "core reading"}.

    Prose at the pace's words a minute, visible code at its seconds a line (collapsed check cells, hidden
    tests and the Colab cells are skipped), each exercise by ``exercise_minutes``; a ``## `` section whose
    heading ends with DEEP_DIVE counts as deep dive, everything else as core. "core reading" is the core
    without its exercises (what a learner reads and runs); "exercises" counts them.
    """
    speed = PACES[pace]
    minutes = {"core": 0.0, "deep dives": 0.0, "exercises": 0, "core reading": 0.0}
    part = "core"
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            heading = next((line for line in cell.source.splitlines() if line.startswith("## ")), None)
            if heading is not None:
                part = "deep dives" if heading.rstrip().endswith(DEEP_DIVE) else "core"
            reading = len(re.findall(r"\w+", cell.source)) / speed.words_per_minute
        elif cell.cell_type == "code" and not _is_check(cell):
            visible = _HIDDEN.sub("", cell.source)  # a learner never sees the hidden tests
            lines = [line for line in visible.splitlines() if line.strip() and not line.strip().startswith("#")]
            reading = len(lines) * speed.seconds_per_code_line / 60
            if "### BEGIN SOLUTION" in cell.source:
                solution = cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
                minutes[part] += exercise_minutes(solution, speed)
                minutes["exercises"] += 1
        else:
            continue
        minutes[part] += reading
        if part == "core":
            minutes["core reading"] += reading
    return minutes


def _span(low: float, high: float) -> str:
    return f"{low} min" if low == high else f"{low}–{high} min"


def timings_table() -> str:
    """The markdown table of every notebook's core and deep-dive minutes, quick to careful, and the short track."""
    rows = ["| notebook | core path: reading | core path with its exercises | optional deep dives | exercises |",
            "|---|---|---|---|---|"]
    total = {key: [0, 0] for key in ("core", "deep dives")}
    track, over = [0, 0], []
    for path in _sources():
        notebook, number = nbformat.read(path, as_version=4), path.name[:2]
        quick, careful = learner_minutes(notebook, "quick"), learner_minutes(notebook, "careful")
        report = REPORT_MINUTES.get(number, (0, 0))
        core = [round((m["core"] + r) / 5) * 5 for m, r in zip((quick, careful), report)]
        deep = [round(m["deep dives"] / 5) * 5 for m in (quick, careful)]
        for key, value in (("core", core), ("deep dives", deep)):
            total[key] = [t + v for t, v in zip(total[key], value)]
        if number in SHORT_TRACK:
            track = [t + c for t, c in zip(track, core)]
        if core[1] > 60:
            over.append(number)
        extra = " (with the report)" if report[0] else ""
        rows.append(f"| {path.stem} | {round(quick['core reading'] / 5) * 5} min | {_span(*core)}{extra} | "
                    f"{_span(*deep) if deep[1] else '—'} | {quick['exercises']} |")
    rows.append(f"| **all** | | **{total['core'][0] / 60:.1f}–{total['core'][1] / 60:.1f} h** | "
                f"**{total['deep dives'][0] / 60:.1f}–{total['deep dives'][1] / 60:.1f} h** | |")
    return ("\n".join(rows) + f"\n\nThe reading of every core path takes at most {CORE_READING_MINUTES} minutes at the quick "
            "pace (tested), leaving a quarter of an hour for its exercise; with its "
            f"exercises at the careful pace these take longer than an hour: {', '.join(over) or 'none'}.\n\n"
            f"**Short track:** the core paths of notebooks {', '.join(SHORT_TRACK)} (linear templates, the local linear "
            f"model, saliency, class models; 03 and 06 lean on 01 and 02): {track[0] / 60:.1f}–{track[1] / 60:.1f} h, "
            "two sessions, with the course installed beforehand (`make lab`, or the Colab badges) and notebook 00's "
            "Toy Zoo section read as homework.\n")


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
