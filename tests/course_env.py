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
    # the same code paths on any x86 CPU with AVX2, so that a rerun on another machine should print
    # the same digits: PyTorch's own kernels, oneDNN (convolutions) and MKL (matrix products, in
    # its conditional-numerical-reproducibility mode) are capped at AVX2, on a fixed number of
    # threads (reductions split across threads add in a different order). Without this, an
    # AVX-512 CPU and an AVX2 CPU disagree in the last digit, and a few hundred steps of training
    # or gradient ascent turn that into a visible difference. Each of the three caps changes
    # notebook 06's output on an AVX-512 machine; identical output on a second CPU model is
    # expected from what MKL and oneDNN document, not yet observed.
    os.environ["ATEN_CPU_CAPABILITY"] = "avx2"
    os.environ["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    os.environ["MKL_CBWR"] = "AVX2"
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "2"
    # kernels: honour a trailing ";" under nbval too (see ipython/profile_default/startup/)
    os.environ["IPYTHONDIR"] = str(IPYTHON_DIR)
    os.environ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
