"""Course maintenance: stamp the Colab badge and setup cell into notebooks, generate student versions.

    python scripts/course_tools.py stamp      # badge + Colab setup cell at the top of every notebook
    python scripts/course_tools.py student    # notebooks/student/*.ipynb from the solution notebooks
    python scripts/course_tools.py check      # exit 1 if either is out of date (used by the tests)

The repository address is read from pyproject.toml ([project.urls] Repository), its only home.
Student versions: the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
``# YOUR CODE HERE`` + ``raise NotImplementedError()``, lines between ``### BEGIN HIDDEN TESTS`` and
``### END HIDDEN TESTS`` are removed, and all outputs are cleared (the nbgrader conventions).
"""
from __future__ import annotations

import copy
import re
import sys
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


def stamp(notebook, relative_path: str):
    """Return a copy of ``notebook`` whose first two cells are the Colab badge and the setup cell."""
    notebook = copy.deepcopy(notebook)
    cells = [c for c in notebook.cells if not (_stamped(c, "colab-badge") or _stamped(c, "colab-setup"))]
    badge = nbformat.v4.new_markdown_cell(badge_source(relative_path), metadata={"course": "colab-badge"}, id="colab-badge")
    setup = nbformat.v4.new_code_cell(setup_source(), metadata={"course": "colab-setup"}, id="colab-setup")
    old_setup = next((c for c in notebook.cells if _stamped(c, "colab-setup")), None)
    if old_setup is not None and old_setup.source == setup.source:  # keep its execution count and outputs
        setup = old_setup
    notebook.cells = [badge, setup] + cells
    return notebook


SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.S | re.M)
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)", re.S | re.M)


def student_version(notebook, relative_path: str):
    """The learner's copy: solutions replaced by a stub, hidden tests removed, outputs cleared."""
    notebook = stamp(notebook, relative_path)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            source = SOLUTION.sub(lambda m: f"{m[1]}# YOUR CODE HERE\n{m[1]}raise NotImplementedError()\n", cell.source)
            cell.source = HIDDEN.sub("", source).rstrip("\n")
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)  # timestamps of the run the outputs came from
    notebook.metadata.pop("widgets", None)
    return notebook


def _sources() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def _text(notebook) -> str:
    """The file content ``student`` writes and ``check`` expects (nbformat's JSON plus a final newline)."""
    return nbformat.writes(notebook) + "\n"


def main(command: str) -> int:
    stale = []
    STUDENT.mkdir(exist_ok=True)
    for path in _sources():
        notebook = nbformat.read(path, as_version=4)
        stamped = stamp(notebook, f"notebooks/{path.name}")
        student = student_version(notebook, f"notebooks/student/{path.name}")
        target = STUDENT / path.name
        current_student = target.read_text() if target.exists() else ""
        if command == "stamp":
            nbformat.write(stamped, path)
        elif command == "student":
            target.write_text(_text(student))
        else:
            if [c.source for c in stamped.cells] != [c.source for c in notebook.cells]:
                stale.append(f"{path.name}: Colab badge/setup cell missing or outdated (run: python scripts/course_tools.py stamp)")
            if _text(student) != current_student:
                stale.append(f"student/{path.name}: out of date (run: python scripts/course_tools.py student)")
    for line in stale:
        print(line)
    return 1 if stale else 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in ("stamp", "student", "check"):
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
