"""Every notebook runs as in Colab, and under other numerics: the wheel installed into a fresh venv with
only the core dependencies (no dev extras, no editable install anywhere on its path), each notebook
alone in an empty folder, its kernel on PyTorch's CPU kernels without SIMD (``FOREIGN``, a set-up of
``scripts/numerics.py``). Its asserts must hold there, and the cells tagged ``nbval-check-output``
must print what the committed notebook printed. (Two checks in one run of each notebook: ``make test``
runs every notebook once under nbval, once here, and once more under nbgrader.) Also: the wheel holds
exactly the package's source tree and data.

The venv lives outside the repository, in the user's cache folder (``$XDG_CACHE_HOME`` or
``~/.cache``, then ``seeing-what-a-network-sees/venv-colab``), and is kept between runs (rebuilt
when the dependencies change; the wheel is reinstalled every run). Installing needs the package
registries, so pip runs without the offline guard; the notebooks then run with it, like every other
notebook in the test suite.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import numerics  # noqa: E402

pytestmark = pytest.mark.notebook
VENV = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "seeing-what-a-network-sees" / "venv-colab"
#: the numeric set-up the notebooks run under here (scripts/numerics.py list)
FOREIGN = "aten-default"
#: files a notebook writes beside itself on purpose: the capstone's hand-in file
WRITES = {"09_capstone_audit": ["capstone_submission.json"]}
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KERNEL = "course-colab-like"


def _bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def _pip_env() -> dict:
    """The environment without the offline guard (pip needs the registry) and without the repository."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(ROOT)], check=True, env=_pip_env(), capture_output=True)
    return next(out.glob("*.whl"))


def test_the_wheel_holds_the_source_tree_and_the_data(wheel):
    with zipfile.ZipFile(wheel) as archive:
        packaged = {n for n in archive.namelist() if ".dist-info/" not in n}
    source = {p.relative_to(ROOT).as_posix() for p in (ROOT / "helpers").rglob("*.py")}
    data = {f"helpers/data/{p.name}" for p in (ROOT / "data").iterdir()
            if p.suffix in (".py", ".pt", ".json", ".md")}
    assert packaged == source | data
    assert "helpers/exercises/__init__.py" in packaged  # the subpackage an explicit list once left out


def _requirements_key() -> str:
    text = (ROOT / "pyproject.toml").read_text() + (ROOT / "constraints.txt").read_text()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def colab_venv(wheel, tmp_path_factory) -> Path:
    stamp = VENV / ".requirements"
    key = _requirements_key()
    env = _pip_env()
    if not (stamp.exists() and stamp.read_text() == key and _bin("python").exists()):
        shutil.rmtree(VENV, ignore_errors=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(VENV)], check=True, env=env)
        # core dependencies only (what Colab's setup cell installs), plus the kernel Colab has
        subprocess.run([str(_bin("python")), "-m", "pip", "install", "--quiet", "-c", str(ROOT / "constraints.txt"),
                        str(wheel), "ipykernel"], check=True, env=env)
        stamp.write_text(key)
    subprocess.run([str(_bin("python")), "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps",
                    str(wheel)], check=True, env=env)
    kernels = tmp_path_factory.mktemp("kernels")
    subprocess.run([str(_bin("python")), "-m", "ipykernel", "install", "--prefix", str(kernels), "--name", KERNEL],
                   check=True, env=env, capture_output=True)
    return kernels / "share" / "jupyter"


def test_the_venv_has_only_the_core_dependencies(colab_venv):
    listed = subprocess.run([str(_bin("python")), "-m", "pip", "list", "--format=freeze"], capture_output=True,
                            text=True, check=True, env=_pip_env()).stdout.lower()
    names = {line.split("==")[0] for line in listed.split()}
    assert {"seeing-what-a-network-sees", "torch", "captum", "ipywidgets"} <= names
    assert not names & {"pytest", "nbval", "jupyterlab", "nbconvert"}, names  # no dev extras
    editable = subprocess.run([str(_bin("python")), "-m", "pip", "list", "--editable"], capture_output=True,
                              text=True, env=_pip_env()).stdout
    assert "seeing" not in editable.lower()
    site = subprocess.run([str(_bin("python")), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    for pth in Path(site).glob("*.pth"):
        assert str(ROOT) not in pth.read_text(), pth  # nothing points back into the checkout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_alone_from_the_wheel(path, colab_venv, tmp_path, monkeypatch):
    alone = tmp_path / "empty"
    alone.mkdir()
    shutil.copy(path, alone)
    notebook = nbformat.read(alone / path.name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import helpers\nprint(helpers.__file__)"))
    monkeypatch.setenv("JUPYTER_PATH", str(colab_venv))
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "tests" / "offline"))  # the offline guard, nothing else
    for variable, value in numerics.SETUPS[FOREIGN][1].items():
        monkeypatch.setenv(variable, value)
    NotebookClient(notebook, timeout=600, kernel_name=KERNEL, resources={"metadata": {"path": str(alone)}}).execute()
    printed = "".join(o.get("text", "") for o in notebook.cells[-1].outputs).strip()
    assert printed.startswith(str(VENV)), printed  # the installed copy, not the repository's
    # it wrote nothing beside itself but what it writes on purpose
    assert sorted(p.name for p in alone.iterdir()) == sorted([path.name, *WRITES.get(path.stem, [])])
    committed, sanitizers = nbformat.read(path, as_version=4), numerics._sanitizers()
    for index, (old, new) in enumerate(zip(committed.cells, notebook.cells)):
        if old.cell_type == "code" and numerics.is_checked(old):  # what nbval compares, under other numerics
            assert numerics.cell_text(new, sanitizers) == numerics.cell_text(old, sanitizers), (path.name, index)
