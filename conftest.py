"""Test-suite setup for unit tests and nbval alike (so it lives at the root, above tests/ and notebooks/).

Offline guard (also for the notebook kernels), an empty torch cache, the CPU; see tests/course_env.py.
"""
import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))

import course_env  # noqa: E402

course_env.apply()  # kernels started by nbval inherit this environment
_spec = importlib.util.spec_from_file_location("course_offline_guard", course_env.OFFLINE_DIR / "sitecustomize.py")
offline_guard = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(offline_guard)  # and the guard for this very process


def pytest_collection_modifyitems(items):
    """nbval's items (one per notebook cell) are notebook tests: ``make unit`` leaves them out."""
    import pytest

    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebook)
