"""Package discovery (everything else is in pyproject.toml).

Every ``helpers`` subpackage is found automatically, so a new one cannot be left out of the
wheel; the course's checkpoints in ``data/`` are installed as ``helpers.data``.
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["helpers", "helpers.*"]) + ["helpers.data"],
    package_dir={"helpers.data": "data"},
)
