"""The notebooks in a real JupyterLab, driven by a real browser (Debian's Chromium via Playwright).

This is what ``make lab`` gives a learner: JupyterLab started by the same command
(``python -m labserver open``). The tests check that

* the root URL opens notebook 00, "Run All" runs it without an error, and its widget is alive
  (the kernel answers a slider move);
* notebook 02 runs, and its claims editor renders as real widgets: changing a claim and pressing
  "Verify with the lab" shows the lab server's new verdict (a screenshot is kept);
* with the widget front end disabled, both widget checks fail (negative controls), so they can.

JupyterLab runs in a temporary copy of the course (the course as committed, see
labserver/course_copy.py, with this folder's code): whatever it saves stays there, and a
learner's own ``make lab`` saving their notebooks meanwhile changes nothing the test sees.

Skipped when no Chromium is found, unless ``LAB_REQUIRE_BROWSER=1`` (CI sets it). With
``LAB_SCREENSHOTS=<folder>`` the claims editor's screenshot is also saved there (``make
screenshots``
refreshes the one in ``docs/``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")

from labserver.course_copy import here  # noqa: E402

from .conftest import ARTIFACTS  # noqa: E402
from .jupyter_folders import free_port, throwaway_folders  # noqa: E402

NB00 = "00_start_the_lab.ipynb"
NB02 = "02_read_and_verify_jwt_claims.ipynb"


def _code_cells(path: Path) -> int:
    cells = json.loads(path.read_text())["cells"]
    return sum(c["cell_type"] == "code" for c in cells)


class JupyterLab:
    """JupyterLab started with the course's own command in a copy of the course (``course``),
    with throwaway Jupyter folders."""

    def __init__(self, home: Path, course: Path, disable_widgets: bool = False) -> None:
        self.home, self.course = home, course
        self.port, self.token = free_port(), secrets.token_hex(16)
        env = dict(os.environ)
        env.update(throwaway_folders(home))
        # The test's own JupyterLab settings: never autosave (the copy's notebooks then stay as
        # they were copied, which the test checks), and render every cell (no lazy windowing).
        settings = home / "jupyterlab_settings_dir" / "@jupyterlab"
        (settings / "docmanager-extension").mkdir(parents=True)
        (settings / "docmanager-extension" / "plugin.jupyterlab-settings").write_text(
            '{"autosave": false}'
        )
        (settings / "notebook-extension").mkdir()
        (settings / "notebook-extension" / "tracker.jupyterlab-settings").write_text(
            '{"windowingMode": "none"}'
        )
        if disable_widgets:
            labconfig = home / "jupyter_config_dir" / "labconfig"
            labconfig.mkdir(parents=True)
            (labconfig / "page_config.json").write_text(
                '{"disabledExtensions": {"@jupyter-widgets/jupyterlab-manager": true}}'
            )
        self.log_path = home / "jupyterlab.log"
        self.log = open(self.log_path, "w")
        # `python -m labserver` run in the copy is the copy's: JupyterLab's root is the copy.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(course), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labserver",
                "open",
                "--no-browser",
                f"--port={self.port}",
                f"--token={self.token}",
            ],
            cwd=course,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(
                    f"{self.url}/api/status",
                    timeout=2,
                    headers={"Authorization": f"token {self.token}"},
                ).ok:
                    return
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"JupyterLab did not start; see {self.log_path}")

    def kernel_pids(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-f", "ipykernel_launcher", "-P", str(self.process.pid)],
            capture_output=True,
            text=True,
        )
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


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course for JupyterLab; its notebooks must be the same after the tests
    (autosave is off in the test's settings, and nothing else saves them)."""
    copy = here().export(tmp_path_factory.mktemp("course"))
    before = {p: p.read_bytes() for p in (copy / "notebooks").glob("*.ipynb")}
    yield copy
    changed = [p.name for p, data in before.items() if p.read_bytes() != data]
    assert changed == [], f"the test's JupyterLab saved notebooks (is autosave on?): {changed}"


def _jupyterlab(tmp_path_factory, course: Path, disable_widgets: bool):
    lab = JupyterLab(tmp_path_factory.mktemp("jupyterlab"), course, disable_widgets=disable_widgets)
    kernels: list[int] = []
    try:
        yield lab
        kernels = lab.kernel_pids()
    finally:
        lab.stop()
    for pid in kernels:  # the kernels JupyterLab started are gone with it
        state = subprocess.run(
            ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True
        )
        assert state.stdout.strip() in ("", "Z"), f"kernel {pid} outlived JupyterLab"


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory, course):
    yield from _jupyterlab(tmp_path_factory, course, disable_widgets=False)


@pytest.fixture(scope="module")
def jupyterlab_without_widgets(tmp_path_factory, course):
    yield from _jupyterlab(tmp_path_factory, course, disable_widgets=True)


@pytest.fixture
def page(browser, request):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield page
    # Kept for diagnosis: a screenshot, what each output area shows, and JupyterLab's log; the
    # outputs and log tail are printed too, which pytest shows only when the test fails.
    ARTIFACTS.mkdir(exist_ok=True)
    name = request.node.name
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    texts = page.locator(".jp-NotebookPanel:visible .jp-OutputArea-output").all_inner_texts()
    (ARTIFACTS / f"{name}-outputs.txt").write_text("\n----\n".join(texts))
    print("outputs on the page:\n" + "\n----\n".join(t[:300] for t in texts))
    lab = request.node.funcargs.get("jupyterlab") or request.node.funcargs.get(
        "jupyterlab_without_widgets"
    )
    if lab is not None:
        print(
            "JupyterLab log, last lines:\n"
            + "".join(lab.log_path.read_text().splitlines(True)[-25:])
        )
    page.close()


def run_all(page, lab: JupyterLab, notebook: str, url_path: str | None = None):
    """Open ``notebook`` (at ``url_path``, default its own URL in a fresh workspace), run all
    cells, wait until done; return the notebook's panel."""
    reset = "" if url_path else "reset&"  # a notebook's own URL: in a fresh workspace
    page.goto(f"{lab.url}{url_path or '/lab/tree/notebooks/' + notebook}?{reset}token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel", timeout=30_000)
    assert notebook in page.url
    panel = page.locator(".jp-NotebookPanel:visible")
    playwright.expect(page.locator(".lm-TabBar-tab.jp-mod-current")).to_contain_text(notebook[:12])
    # Seen once in CI: the kernel started and its connection opened, and the status bar never
    # left "Connecting" (no "| Idle" in 120 s). A reload makes a new connection, as a learner's
    # reload would; the checks below are unchanged.
    for attempt in (1, 2, 3):
        try:
            page.locator("#jp-main-statusbar").get_by_text("| Idle").wait_for(timeout=60_000)
            break
        except playwright.Error:
            print(f"attempt {attempt}: the kernel was not idle within 60 s; reloading the page")
            if attempt == 3:
                raise
            page.reload()
            page.wait_for_selector(".jp-NotebookPanel", timeout=30_000)
    prompts = panel.locator(".jp-CodeCell .jp-InputArea-prompt")
    # Seen here about one run in five: the status bar says Idle, Run All queues every cell, and
    # the kernel never runs them (the first requests are lost while the kernel's connection is
    # still being set up); running all again on that connection does not help. So: if the first
    # cell has not run within 20 s, restart the kernel and run all (a new connection), as a
    # learner would.
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    for attempt in (1, 2, 3):
        try:
            playwright.expect(prompts.first).to_have_text(re.compile(r"\[\d+\]:"), timeout=20_000)
            break
        except AssertionError:
            print(
                f"attempt {attempt}: the first cell did not run within 20 s; restarting the kernel"
            )
            if attempt == 3:
                raise
            page.keyboard.press("Escape")
            page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
            page.locator(".lm-Menu-item", has_text="Restart Kernel and Run All Cells").click()
            page.locator(".jp-Dialog-button.jp-mod-accept").click()
    # Committed outputs are on the page from the start, so wait for proof of a fresh run: the
    # last code cell's prompt shows the count of code cells a fresh kernel has executed.
    cells = _code_cells(lab.course / "notebooks" / notebook)
    playwright.expect(prompts.nth(cells - 1)).to_have_text(
        re.compile(rf"\[(?:{cells}|{2 * cells})\]:"), timeout=120_000
    )
    errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.all_inner_texts()
    assert panel.locator(".jp-OutputArea-output", has_text="Traceback").count() == 0
    return panel


def check_slider(page, panel, timeout: int) -> None:
    """The round-trip widget of notebook 00: the kernel answers a slider move."""
    label = panel.locator(".jp-OutputArea-output .widget-label", has_text="the kernel saw")
    label.wait_for(timeout=timeout)
    assert label.inner_text() == "the kernel saw 3"
    panel.locator(".jp-OutputArea-output .widget-slider .noUi-handle").focus()
    page.keyboard.press("ArrowRight")
    panel.locator(".jp-OutputArea-output .widget-label", has_text="the kernel saw 4").wait_for(
        timeout=15_000
    )
    label.scroll_into_view_if_needed()


def check_claims_editor(page, panel, timeout: int) -> None:
    """Notebook 02's claims editor: edit the audience, verify, see the server's new verdict."""
    verify = panel.get_by_role("button", name="Verify with the lab")
    verify.wait_for(timeout=timeout)
    # `has` is matched inside each candidate, so it is a page-relative locator, not `verify`.
    editor = (
        panel.locator(".jp-OutputArea-output .widget-vbox")
        .filter(has=page.get_by_role("button", name="Verify with the lab"))
        .first
    )
    editor.scroll_into_view_if_needed()
    verify.click()
    verdict = editor.locator(".widget-html", has_text=re.compile("accepted|invalid_token"))
    playwright.expect(verdict).to_contain_text("✓ 200 accepted", timeout=15_000)

    aud = editor.locator(
        ".widget-text", has=page.locator("label", has_text=re.compile(r"^aud$"))
    ).locator("input")
    aud.fill("https://other-api.test")
    aud.press("Tab")
    playwright.expect(editor.locator(".widget-html", has_text="press")).to_be_visible(
        timeout=15_000
    )
    verify.click()
    playwright.expect(verdict).to_contain_text("wrong audience", timeout=15_000)
    playwright.expect(editor).to_contain_text('"aud": "https://other-api.test"')

    shot = editor.screenshot()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "claims-editor.png").write_bytes(shot)
    if os.environ.get("LAB_SCREENSHOTS"):
        target = Path(os.environ["LAB_SCREENSHOTS"])
        target.mkdir(parents=True, exist_ok=True)
        (target / "claims-editor.png").write_bytes(shot)


def test_make_lab_opens_notebook_00_and_its_widget_is_live(page, jupyterlab):
    panel = run_all(page, jupyterlab, NB00, url_path="/")  # the root URL must lead to notebook 00
    check_slider(page, panel, timeout=15_000)


def test_claims_editor_shows_the_servers_new_verdict(page, jupyterlab):
    panel = run_all(page, jupyterlab, NB02)
    check_claims_editor(page, panel, timeout=15_000)


# Negative controls: everything runs, but with the widget front end disabled, the widget checks
# time out. All cells have run by then, so 5 s is plenty.


def test_without_the_widget_extension_the_slider_check_fails(page, jupyterlab_without_widgets):
    panel = run_all(page, jupyterlab_without_widgets, NB00, url_path="/")
    with pytest.raises(playwright.TimeoutError, match="the kernel saw"):
        check_slider(page, panel, timeout=5_000)


def test_without_the_widget_extension_the_claims_editor_check_fails(
    page, jupyterlab_without_widgets
):
    panel = run_all(page, jupyterlab_without_widgets, NB02)
    with pytest.raises(playwright.TimeoutError, match="Verify with the lab"):
        check_claims_editor(page, panel, timeout=5_000)
