"""A notebook runs alone, as in Colab: helpers installed non-editably, the notebook in an empty folder."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def test_notebook_runs_alone_with_a_regular_install(tmp_path):
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(ROOT)], check=True, cwd=tmp_path)
    # the installed copy carries its data: the cached checkpoints
    assert sorted(p.name for p in (site / "helpers" / "data").glob("*.pt")) == sorted(p.name for p in (ROOT / "data").glob("*.pt"))

    alone = tmp_path / "empty"
    alone.mkdir()
    shutil.copy(ROOT / "notebooks" / "00_setup.ipynb", alone)
    notebook = nbformat.read(alone / "00_setup.ipynb", as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import helpers\nprint(helpers.__file__)"))
    env_path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(site), env_path])
    try:
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(alone)}}).execute()
    finally:
        os.environ["PYTHONPATH"] = env_path
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    assert printed.strip().startswith(str(site)), printed  # the installed copy, not the repository's
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    assert sorted(p.name for p in alone.iterdir()) == ["00_setup.ipynb"]  # it wrote nothing beside itself
