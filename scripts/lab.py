"""Open the course in JupyterLab: ``make lab`` runs this.

Learners first: it opens the learner's notebooks (``notebooks/student/``: exercises to do, no
outputs). ``--answer-key`` (``make answer-key``) opens the solution notebooks in ``notebooks/``
instead, with their outputs.

Works where people run it: as root (containers, cloud machines) it passes ``--allow-root``, which
Jupyter otherwise demands; with no display to open a browser on (a server, SSH, WSL without a
browser), it passes ``--no-browser`` and Jupyter prints the address to open. Extra arguments go
to ``jupyter lab`` unchanged (e.g. ``make lab ARGS="--port 8890"``).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEARNER = ROOT / "notebooks" / "student"
ANSWER_KEY = ROOT / "notebooks"


def has_display() -> bool:
    """Whether a browser can be opened here: always on macOS and Windows, on Linux only with a display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def lab_command(extra: list[str], answer_key: bool = False) -> list[str]:
    """The ``jupyter lab`` command line for this machine, serving the learner's notebooks or the answer key."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={ANSWER_KEY if answer_key else LEARNER}"]
    if is_root():
        command.append("--allow-root")
    if not has_display():
        command.append("--no-browser")
    return command + extra


def main(extra: list[str]) -> None:
    answer_key = "--answer-key" in extra
    command = lab_command([a for a in extra if a != "--answer-key"], answer_key)
    if not has_display():
        print("No display to open a browser on: open the http://127.0.0.1:… address printed below "
              "(with its token) in a browser on this machine, or forward the port.", flush=True)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
