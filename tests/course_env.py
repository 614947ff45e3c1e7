"""The environment every test process and every executed notebook runs in.

Shared by ``conftest.py`` (pytest and the nbval kernels), ``scripts/execute_notebooks.py`` (which
refreshes the committed outputs) and ``scripts/numerics.py`` (the notebooks under other numerics),
so the committed outputs are produced as the tests run them.

It does not pin CPU kernels or thread counts: the notebooks' claims are checked by their own
asserts, whose margins hold under any numerics, and nbval compares only the outputs of cells
tagged ``nbval-check-output`` (deterministic ones), so nothing depends on the digits one CPU
prints (see CONTRIBUTING.md, "Notebook tests").
"""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

OFFLINE_DIR = Path(__file__).resolve().parent / "offline"
IPYTHON_DIR = Path(__file__).resolve().parent / "ipython"


def apply() -> None:
    """Offline guard on PYTHONPATH, an empty torch cache, the CPU unless set, and the kernels' IPython profile."""
    path = os.environ.get("PYTHONPATH", "")
    if str(OFFLINE_DIR) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(OFFLINE_DIR), path) if p)
    # an empty torch cache: pretrained weights are never found, so notebooks take the offline path
    # (tests/test_pretrained_branch.py puts stand-in weights into a cache of its own)
    torch_home = tempfile.mkdtemp(prefix="course-torch-home-")
    atexit.register(shutil.rmtree, torch_home, ignore_errors=True)
    os.environ["TORCH_HOME"] = torch_home
    # the CPU, unless the caller chose a device (scripts/numerics.py's GPU set-up sets cuda)
    os.environ.setdefault("COURSE_DEVICE", "cpu")
    # kernels: honour a trailing ";" under nbval too (see ipython/profile_default/startup/)
    os.environ["IPYTHONDIR"] = str(IPYTHON_DIR)
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
