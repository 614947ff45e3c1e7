"""The explorers in a real browser: JupyterLab on loopback, notebook 08 run in headless Chromium.

Slow (a minute or two) and it needs Chromium, so it only runs when ``COURSE_BROWSER_TEST=1`` is set;
``scripts/browser_test.sh`` sets it and installs what is missing (see tests/browser/README.md).

What it does: copy notebook 08 into a temporary folder, start JupyterLab there on 127.0.0.1 with a
random token and temporary config, runtime, settings and workspace folders; open the notebook in
headless Chromium (Playwright driving the system's Chromium, fresh profile), *Run All Cells*, wait
for the last cell, then check that both explorers rendered (dropdowns, image, status line), click
through them (a method, an upload of a text file and of a PNG, a class-model run with its progress
bar), take screenshots and check they are not blank, and shut JupyterLab down.
"""
from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

if os.environ.get("COURSE_BROWSER_TEST") != "1":
    pytest.skip("browser test: run scripts/browser_test.sh (it sets COURSE_BROWSER_TEST=1)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs: pip install playwright")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "08_interactive_explorers.ipynb"
CHROMIUM = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("COURSE_BROWSER_ARTIFACTS", ROOT / "build" / "browser-test"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-proxy-server"]
RUN_TIMEOUT_MS = 300_000

if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set COURSE_CHROMIUM)", allow_module_level=True)

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never through a proxy


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _api(base: str, token: str, path: str, method: str = "GET"):
    request = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with _NO_PROXY.open(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


class Lab:
    """A JupyterLab server on 127.0.0.1 whose every file (config, runtime, settings, notebook) is in ``folder``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        notebooks = folder / "notebooks"
        notebooks.mkdir()
        shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)  # autosave writes to this copy, never to the repository
        settings = folder / "settings"
        news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        news.parent.mkdir(parents=True)
        news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))  # no news toast over the page
        tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
        tracker.parent.mkdir(parents=True)
        tracker.write_text(json.dumps({"windowingMode": "none"}))  # every cell stays rendered, for the screenshots
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(folder / "config"), "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
               "JUPYTER_DATA_DIR": str(folder / "data"), "IPYTHONDIR": str(folder / "ipython"),
               "JUPYTER_PLATFORM_DIRS": "1"}
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                   f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={notebooks}",
                   f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={folder / 'workspaces'}",
                   "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                   "--LabApp.extension_manager=readonly", "--ServerApp.terminals_enabled=False"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI often run as root
            command.append("--allow-root")
        self.log = open(folder / "jupyterlab.log", "w")
        self.process = subprocess.Popen(command, cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                _api(self.base, self.token, "/api/status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_text()}")

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={self.token}"

    def log_text(self) -> str:
        self.log.flush()
        return (self.folder / "jupyterlab.log").read_text()[-4000:]

    def stop(self) -> None:
        try:
            _api(self.base, self.token, "/api/shutdown", method="POST")
            self.process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGTERM)  # the server's own process group, started above
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def lab():
    folder = Path(tempfile.mkdtemp(prefix="course-browser-test-"))
    server = Lab(folder)
    try:
        yield server
    finally:
        server.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / "jupyterlab.log", ARTIFACTS / "jupyterlab.log")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def page(lab):
    profile = Path(tempfile.mkdtemp(prefix="course-chromium-profile-"))  # a fresh --user-data-dir
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000}, device_scale_factor=1)
        try:
            tab = context.pages[0] if context.pages else context.new_page()
            messages = []
            tab.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
            tab.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
            tab.set_default_timeout(60_000)
            yield tab
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "browser-console.log").write_text("\n".join(messages))
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def _not_blank(path: Path, min_colours: int = 50) -> tuple[float, int]:
    """(standard deviation of the pixel values, number of distinct colours) of a screenshot."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(path).convert("RGB"))
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    spread = float(pixels.std())
    assert spread > 10 and colours >= min_colours, f"{path.name} looks blank: std {spread:.1f}, {colours} colours"
    return spread, colours


def _png_bytes() -> bytes:
    import numpy as np
    from PIL import Image

    ramp = np.zeros((48, 80, 3), np.uint8)
    ramp[..., 0] = np.linspace(0, 255, 80, dtype=np.uint8)
    ramp[12:36, 30:50] = (20, 160, 40)
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, "PNG")
    return buffer.getvalue()


def _image_loaded(element) -> bool:
    return element.locator("img").first.evaluate("img => img.complete && img.naturalWidth > 0")


def test_notebook_08_runs_in_jupyterlab_and_its_widgets_render_and_respond(lab, page):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(lab.url(f"/lab/tree/{NOTEBOOK.name}"))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the kernel is up and idle
        sessions = _api(lab.base, lab.token, "/api/sessions")
        if sessions and sessions[0]["kernel"]["execution_state"] == "idle":
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the notebook's kernel did not start:\n{lab.log_text()}")

    # Run → Run All Cells, as a learner would
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.get_by_text("saliency map for class 'fish' on 'Toy Zoo: fish'").first.wait_for(timeout=RUN_TIMEOUT_MS)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.inner_text()
    assert page.get_by_text("Error displaying widget").count() == 0
    assert page.get_by_text("✓ Correct!").count() == 1

    # the saliency explorer rendered: three dropdowns, the upload button, the map image, the status line
    explorer = page.locator(".course-saliency-explorer").first
    explorer.scroll_into_view_if_needed()
    explorer.wait_for(state="visible")
    assert explorer.locator(".widget-dropdown").count() == 3
    assert explorer.locator(".widget-dropdown select").nth(0).input_value() == "Toy Zoo: fish"
    assert explorer.locator(".widget-upload").count() == 1
    assert _image_loaded(explorer)
    status = explorer.locator(".course-status")
    assert "on 'Toy Zoo: fish'" in status.inner_text()

    # a click in the browser reaches the kernel and comes back: another method, then uploads
    before = explorer.locator("img").first.get_attribute("src")
    explorer.locator(".widget-dropdown select").nth(2).select_option("grad-cam")
    # (the status says "computing the … map …" while the kernel works; the finished map adds the prediction)
    sync_api.expect(status).to_contain_text("grad-cam map for class 'fish' on 'Toy Zoo: fish'. The model predicts",
                                            timeout=60_000)
    sync_api.expect(explorer.locator("img").first).not_to_have_attribute("src", before or "", timeout=60_000)
    upload_button = explorer.locator(".widget-upload")

    def upload(name: str, mime: str, content: bytes) -> None:  # click the button, pick the file in the dialog
        with page.expect_file_chooser() as chooser:
            upload_button.click()
        chooser.value.set_files({"name": name, "mimeType": mime, "buffer": content})

    upload("notes.txt", "text/plain", b"not a picture\n")
    sync_api.expect(status).to_contain_text("Could not use 'notes.txt': this is a text file", timeout=60_000)
    upload("ramp.png", "image/png", _png_bytes())
    sync_api.expect(status).to_contain_text("on 'upload: ramp.png'. The model predicts", timeout=60_000)
    assert "computing" not in status.inner_text()
    assert explorer.locator(".widget-dropdown select").nth(0).input_value() == "upload: ramp.png"
    explorer.screenshot(path=str(ARTIFACTS / "saliency_explorer.png"))
    _not_blank(ARTIFACTS / "saliency_explorer.png")

    # the class-model explorer: switch the objective, press Run, a progress bar shows while it runs
    cm = page.locator(".course-class-model-explorer").first
    cm.scroll_into_view_if_needed()
    assert _image_loaded(cm) and cm.locator(".widget-toggle-buttons").count() == 1
    page.evaluate("""element => {
        window.__courseSawProgress = false;
        new MutationObserver(() => {
            if (element.querySelector('.widget-hprogress')) window.__courseSawProgress = true;
        }).observe(element, {childList: true, subtree: true});
    }""", cm.element_handle())
    cm.get_by_role("button", name="log_softmax", exact=True).click()
    cm.locator("button.widget-button", has_text="Run").click()
    cm_status = cm.locator(".course-status")
    sync_api.expect(cm_status).to_contain_text("'goose' by log_softmax ascent", timeout=RUN_TIMEOUT_MS)
    assert page.evaluate("window.__courseSawProgress"), "no progress bar appeared during the run"
    assert cm.locator(".widget-hprogress").count() == 0  # and it is gone afterwards
    cm.screenshot(path=str(ARTIFACTS / "class_model_explorer.png"))
    _not_blank(ARTIFACTS / "class_model_explorer.png")

    # the whole page, with the saliency explorer in view: the widget's part of it must not be blank
    explorer.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    box = explorer.bounding_box()
    viewport = page.viewport_size
    assert box and box["y"] >= 0 and box["y"] + 100 <= viewport["height"], f"explorer not in view: {box}"
    page.screenshot(path=str(ARTIFACTS / "jupyterlab.png"))
    _not_blank(ARTIFACTS / "jupyterlab.png")
    from PIL import Image

    with Image.open(ARTIFACTS / "jupyterlab.png") as shot:
        bottom = min(box["y"] + box["height"], viewport["height"])
        shot.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["width"]), int(bottom))).save(
            ARTIFACTS / "jupyterlab_explorer_region.png")
    _not_blank(ARTIFACTS / "jupyterlab_explorer_region.png", min_colours=200)
