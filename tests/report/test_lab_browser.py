"""JupyterLab in a real browser: serve the repo on 127.0.0.1, open notebooks/explore.ipynb, run all cells, see the widgets.

Skipped, with the reason, where chromium, playwright, jupyterlab or anywidget is missing. The
server gets a random token, a free loopback port, and its own config, runtime and settings
folders (autosave off, no news or update checks), so the user's setup and the repository's
notebook are left untouched (checked at the end). The browser may only reach 127.0.0.1.
Every wait is bounded; the server is shut down through its API, then by signal if need be.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
SERVER_START_S = 120
PAGE_LOAD_MS = 90_000
RUN_ALL_MS = 180_000  # kernel start, load, analyze and first render, on a busy 2-core machine
STEP_MS = 60_000


def _require() -> None:
    for module, what in (
        ("jupyterlab", "jupyterlab (pip install -e '.[lab]')"),
        ("anywidget", "anywidget (plotly's FigureWidget needs it)"),
    ):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{what} is not installed")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings: Path) -> None:
    """User settings for the test server: no autosave (the repo notebook stays as it is), no news or update checks."""
    files = {
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        # every cell in the DOM, whatever the viewport (no virtualised notebook)
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "checkForUpdates": False,
            "fetchNews": "false",
        },
    }
    for rel, body in files.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(body))


@dataclass
class Lab:
    url: str
    token: str
    process: subprocess.Popen[bytes]
    log: Path


def _api(lab: Lab, path: str, method: str = "GET", timeout: float = 5) -> bytes:
    req = urllib.request.Request(
        f"{lab.url}{path}",
        method=method,
        headers={"Authorization": f"token {lab.token}"},
        data=b"" if method == "POST" else None,
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # only ever 127.0.0.1
        return resp.read()


def _stop(lab: Lab) -> None:
    """Shut the server (and its kernels) down through the API; signal its process group if it lingers."""
    if lab.process.poll() is None:
        with contextlib.suppress(OSError, urllib.error.URLError):
            _api(lab, "/api/shutdown", method="POST")
        try:
            lab.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(lab.process.pid, signal.SIGTERM)
            try:
                lab.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(lab.process.pid, signal.SIGKILL)
                lab.process.wait(timeout=10)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    _require()
    port, token = _free_port(), os.urandom(16).hex()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    _write_settings(tmp_path / "settings")
    log = tmp_path / "jupyterlab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        f"--FileCheckpoints.checkpoint_dir={tmp_path / 'checkpoints'}",  # absolute: nothing lands in the repo
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:  # CI and containers run as root
        cmd.append("--allow-root")
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Lab(f"http://127.0.0.1:{port}", token, process, log)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                _api(server, "/api/status", timeout=2)
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within {SERVER_START_S}s:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield server
    finally:
        _stop(server)


def test_explore_notebook_renders_in_jupyterlab(chromium, lab: Lab, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    before = hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest()
    listing = sorted(p.name for p in NOTEBOOK.parent.iterdir())
    blocked: list[str] = []
    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium.path, args=list(chromium.args), headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})

            def only_loopback(route) -> None:
                if urlparse(route.request.url).hostname in ("127.0.0.1", None):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", only_loopback)
            page = context.new_page()
            page.set_default_timeout(STEP_MS)
            page.goto(f"{lab.url}/lab/tree/notebooks/explore.ipynb?token={lab.token}", timeout=PAGE_LOAD_MS)
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", timeout=PAGE_LOAD_MS)
            notebook = page.locator(".jp-NotebookPanel:visible .jp-Notebook")
            expect(notebook).to_be_visible(timeout=PAGE_LOAD_MS)
            cells = len(json.loads(NOTEBOOK.read_text())["cells"])
            expect(page.locator(".jp-NotebookPanel:visible .jp-Cell")).to_have_count(cells)
            # the kernel must be up before the cells are queued, or run-all can race the kernel start
            page.wait_for_function(
                """() => {
                    const w = window.jupyterapp.shell.currentWidget;
                    const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
                    return k && k.status === 'idle';
                }""",
                timeout=PAGE_LOAD_MS,
            )
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

            explorer = page.locator(".pmkit-explorer")
            expect(explorer).to_be_visible(timeout=RUN_ALL_MS)
            expect(explorer.locator(".widget-slider").first).to_be_visible()
            expect(page.locator(".jupyter-widgets").first).to_be_visible()
            expect(explorer.locator("select").first).to_be_visible()
            # the plotly figure is drawn: its SVG, the milestone lines, and markers in the lanes
            expect(explorer.locator(".pmkit-swimlane .main-svg").first).to_be_visible()
            expect(explorer.locator(".pmkit-swimlane .scatterlayer .point").first).to_be_attached()
            expect(explorer.locator(".pmkit-count")).to_contain_text("32,869 of 35,222 events match")
            expect(explorer.locator("table.pmkit-events tbody tr")).to_have_count(200)
            # the printed summary is the stored, nbval-checked one
            expect(page.locator(".jp-OutputArea-output pre").first).to_contain_text("nginx           log        24,466")

            explorer.locator(".pmkit-swimlane").scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "explorer-initial.png"))

            # round trips through the kernel: a milestone's evidence, then a search
            explorer.get_by_role("button", name="detected").click()
            evidence = explorer.locator(".pmkit-evidence")
            expect(evidence).to_contain_text("PaymentsAvailabilityBudgetBurn-firing.json#alerts[0]")
            expect(evidence).to_contain_text("first alert firing or page triggered")
            search = explorer.locator(".widget-text input")
            search.fill("PaymentsAvailabilityBudgetBurn")
            search.press("Enter")
            expect(explorer.locator(".pmkit-count")).not_to_contain_text("33,287", timeout=STEP_MS)
            expect(explorer.locator("table.pmkit-events mark").first).to_be_visible()
            assert page.get_by_text("Error displaying widget").count() == 0
            assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0

            shot = tmp_path / "explore.png"
            explorer.scroll_into_view_if_needed()
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000 and (tmp_path / "explorer-initial.png").stat().st_size > 20_000
        finally:
            browser.close()
    elapsed = time.monotonic() - started
    assert hashlib.sha256(NOTEBOOK.read_bytes()).hexdigest() == before, "the test must not save the repo's notebook"
    assert sorted(p.name for p in NOTEBOOK.parent.iterdir()) == listing, "the test left files in notebooks/"
    print(f"JupyterLab browser test: {elapsed:.1f}s in the browser; blocked non-loopback requests: {blocked}")
