"""The environment every test process and every executed notebook runs in.

Shared by ``tests/conftest.py`` (pytest and the nbval kernels) and
``scripts/execute_notebooks.py`` (which refreshes the committed outputs), so the
committed outputs are produced exactly as the tests will check them.
"""
import os
import tempfile
from pathlib import Path

OFFLINE_DIR = Path(__file__).resolve().parent / "offline"


def apply() -> None:
    """Offline guard on PYTHONPATH, an empty torch cache, the CPU, and a headless matplotlib."""
    path = os.environ.get("PYTHONPATH", "")
    if str(OFFLINE_DIR) not in path.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(OFFLINE_DIR), path) if p)
    # an empty torch cache: pretrained weights are never found, so notebooks take the offline path
    os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="course-torch-home-")
    os.environ["COURSE_DEVICE"] = "cpu"
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
