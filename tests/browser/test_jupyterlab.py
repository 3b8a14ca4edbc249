"""Notebook 00 in a real JupyterLab, driven by a real browser (Debian's Chromium via Playwright).

This is what ``make lab`` gives a learner: the same command (``python -m labserver open``), opened
at the root URL, must show notebook 00; "Run All" must run it without an error, and the widget
must be alive (the kernel answers a slider move). A second test disables the widget extension
and checks that the same test then fails, so that it can fail.

Skipped when no Chromium is found, unless ``LAB_REQUIRE_BROWSER=1`` (CI sets it).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests


pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    if os.environ.get("LAB_REQUIRE_BROWSER") == "1":
        raise RuntimeError("LAB_REQUIRE_BROWSER=1 but no chromium found (set LAB_CHROMIUM)")
    pytest.skip("no Chromium found: the browser tests run in CI; set LAB_CHROMIUM to run them here",
                allow_module_level=True)

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Nothing but loopback: every other host name resolves to nothing.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "00_start_the_lab.ipynb"
CODE_CELLS = sum(c["cell_type"] == "code" for c in json.loads(NOTEBOOK.read_text())["cells"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """JupyterLab started with the course's own command line, in throwaway Jupyter folders."""

    def __init__(self, home: Path, disable_widgets: bool = False) -> None:
        self.port, self.token = _free_port(), secrets.token_hex(16)
        env = dict(os.environ)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                     "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
            env[name] = str(home / name.lower())
        # The test's own JupyterLab settings: never autosave (Run All would otherwise write fresh
        # outputs into the committed notebook), and render every cell (no lazy windowing).
        settings = home / "jupyterlab_settings_dir" / "@jupyterlab"
        (settings / "docmanager-extension").mkdir(parents=True)
        (settings / "docmanager-extension" / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
        (settings / "notebook-extension").mkdir()
        (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
        if disable_widgets:
            labconfig = home / "jupyter_config_dir" / "labconfig"
            labconfig.mkdir(parents=True)
            (labconfig / "page_config.json").write_text(
                '{"disabledExtensions": {"@jupyter-widgets/jupyterlab-manager": true}}')
        self.log = open(home / "jupyterlab.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labserver", "open", "--no-browser",
             f"--port={self.port}", f"--token={self.token}"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/status", timeout=2,
                                headers={"Authorization": f"token {self.token}"}).ok:
                    return
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"JupyterLab did not start; see {home / 'jupyterlab.log'}")

    def kernel_pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-f", "ipykernel_launcher", "-P", str(self.process.pid)],
                             capture_output=True, text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log.close()


def _run_notebook_00(page, lab: JupyterLab, widget_timeout: int) -> None:
    """Open the root URL, expect notebook 00, run all cells, and move the slider."""
    page.goto(f"{lab.url}/?token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel", timeout=30_000)
    assert "00_start_the_lab.ipynb" in page.url
    page.locator("#jp-main-statusbar").get_by_text("| Idle").wait_for(timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    # Committed outputs are on the page from the start, so wait for proof of a fresh run: the
    # last code cell's prompt shows the count of code cells a fresh kernel has executed.
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    playwright.expect(prompts.nth(CODE_CELLS - 1)).to_have_text(f"[{CODE_CELLS}]:", timeout=120_000)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.all_inner_texts()
    assert page.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0

    label = page.locator(".jp-OutputArea-output .widget-label", has_text="the kernel saw")
    label.wait_for(timeout=widget_timeout)
    assert label.inner_text() == "the kernel saw 3"
    page.locator(".jp-OutputArea-output .widget-slider .noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    page.locator(".jp-OutputArea-output .widget-label", has_text="the kernel saw 4").wait_for(timeout=15_000)
    label.scroll_into_view_if_needed()  # for the screenshot in test-artifacts/


def _browse(tmp_path: Path, disable_widgets: bool) -> None:
    committed = NOTEBOOK.read_bytes()
    lab = JupyterLab(tmp_path, disable_widgets=disable_widgets)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            try:
                # All cells have run when the widget is waited for: 5 s is plenty for the
                # negative control, which must time out.
                _run_notebook_00(page, lab, widget_timeout=5_000 if disable_widgets else 15_000)
            finally:
                ARTIFACTS.mkdir(exist_ok=True)
                name = "nb00-no-widgets" if disable_widgets else "nb00"
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
                # What each output area shows, to diagnose a failure without a browser.
                texts = page.locator(".jp-OutputArea-output").all_inner_texts()
                (ARTIFACTS / f"{name}-outputs.txt").write_text("\n----\n".join(texts))
                shutil.copy(tmp_path / "jupyterlab.log", ARTIFACTS / f"{name}-jupyterlab.log")
                # Shown by pytest only if the test fails: enough to diagnose it from CI's log.
                print("outputs on the page:\n" + "\n----\n".join(t[:300] for t in texts))
                print("JupyterLab log, last lines:\n" + "".join(
                    (tmp_path / "jupyterlab.log").read_text().splitlines(keepends=True)[-25:]))
                browser.close()
        kernels = lab.kernel_pids()
    finally:
        lab.stop()
        assert NOTEBOOK.read_bytes() == committed, "the browser test must not change the notebook"
    for pid in kernels:  # the kernels JupyterLab started are gone with it
        assert not Path(f"/proc/{pid}").exists() or subprocess.run(
            ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True).stdout.strip() in ("", "Z")


def test_make_lab_opens_notebook_00_and_it_runs_with_live_widgets(tmp_path):
    _browse(tmp_path, disable_widgets=False)


def test_the_browser_test_fails_without_the_widget_extension(tmp_path):
    """Negative control: with the widget manager disabled, the widget check must fail."""
    with pytest.raises(playwright.TimeoutError, match="the kernel saw"):
        _browse(tmp_path, disable_widgets=True)
