"""The environment every test process and every executed notebook runs in.

Shared by ``tests/conftest.py`` (pytest and the nbval kernels) and
``scripts/execute_notebooks.py`` (which refreshes the committed outputs), so the
committed outputs are produced exactly as the tests will check them.
"""
import atexit
import os
import shutil
import tempfile
from pathlib import Path

OFFLINE_DIR = Path(__file__).resolve().parent / "offline"
IPYTHON_DIR = Path(__file__).resolve().parent / "ipython"


def apply() -> None:
    """Offline guard on PYTHONPATH, an empty torch cache, the CPU, and the kernels' IPython profile."""
    path = os.environ.get("PYTHONPATH", "")
    if str(OFFLINE_DIR) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(OFFLINE_DIR), path) if p)
    # an empty torch cache: pretrained weights are never found, so notebooks take the offline path
    torch_home = tempfile.mkdtemp(prefix="course-torch-home-")
    atexit.register(shutil.rmtree, torch_home, ignore_errors=True)
    os.environ["TORCH_HOME"] = torch_home
    os.environ["COURSE_DEVICE"] = "cpu"
    # kernels: honour a trailing ";" under nbval too (see ipython/profile_default/startup/)
    os.environ["IPYTHONDIR"] = str(IPYTHON_DIR)
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
