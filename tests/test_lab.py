"""``make lab`` serves the course: as root, headless, the server lists the learner's notebooks; then it stops."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import lab  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_command_fits_the_machine(monkeypatch):
    monkeypatch.setattr(lab, "is_root", lambda: True)
    monkeypatch.setattr(lab, "has_display", lambda: False)
    command = lab.lab_command([])
    assert "--allow-root" in command and "--no-browser" in command
    monkeypatch.setattr(lab, "is_root", lambda: False)
    monkeypatch.setattr(lab, "has_display", lambda: True)
    command = lab.lab_command(["--port", "9999"])
    assert "--allow-root" not in command and "--no-browser" not in command and command[-2:] == ["--port", "9999"]
    assert f"--ServerApp.root_dir={lab.LEARNER}" in command
    assert f"--ServerApp.root_dir={lab.ANSWER_KEY}" in lab.lab_command([], answer_key=True)


@pytest.mark.slow
def test_make_lab_serves_the_notebooks(tmp_path):
    port, token = free_port(), "course-test-token"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")  # no server files left in the user's runtime dir
    args = f"--port={port} --ServerApp.ip=127.0.0.1 --IdentityProvider.token={token} --ServerApp.port_retries=0"
    server = subprocess.Popen(["make", "--no-print-directory", "-o", ".venv/.installed", "lab", f"ARGS={args}", f"PY={sys.executable}"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        listing, deadline = None, time.monotonic() + 90
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as r:
                    listing = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        assert listing is not None, f"the server did not answer:\n{server.stdout.read() if server.poll() is not None else ''}"
        names = {item["name"] for item in listing["content"]}
        assert "00_setup.ipynb" in names and "student" not in names, names  # the learner's folder, not the answer key
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/00_setup.ipynb?token={token}", timeout=5) as r:
            cells = json.load(r)["content"]["cells"]
        assert any("raise NotImplementedError()" in "".join(c["source"]) for c in cells)
        assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code")
    finally:
        server.terminate()
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    # (as root, Jupyter would have refused to start without --allow-root: the server answering shows it was passed)
    assert "No display to open a browser on" in output
