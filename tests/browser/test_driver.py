"""The notebooks' browser driver: one Chromium per process, reused by re-run cells, and no
Chromium process left once the lab stops, the profile closes, or the kernel is restarted
(gracefully or killed). Processes are counted, zombies excluded (they linger briefly)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from labserver import start_lab
from labserver.browser import driver

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


#: Chromium processes of this test process that the driver did not start (another test file's
#: session-wide browser fixture, say): not counted.
_NOT_THE_DRIVERS: set[int] = set()


def chromium_below(pid: int) -> set[int]:
    """PIDs of live Chromium processes descended from ``pid`` (other than those above)."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return set()
    return {p.pid for p in children if _is_live_chromium(p)} - _NOT_THE_DRIVERS


def browsers_below(pid: int) -> set[int]:
    """PIDs of the Chromium *browser* processes below ``pid`` (not their renderers, which come
    and go with pages)."""
    found = set()
    for child in chromium_below(pid):
        try:
            if "chrom" not in psutil.Process(child).parent().name():
                found.add(child)
        except (psutil.NoSuchProcess, AttributeError):
            pass
    return found


def _is_live_chromium(process: psutil.Process) -> bool:
    try:
        return "chrom" in process.name() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone(pids: set[int], timeout: float = 15.0) -> set[int]:
    """Those of ``pids`` still alive after waiting up to ``timeout`` seconds for them to exit."""
    deadline = time.monotonic() + timeout
    while True:
        alive = set()
        for pid in pids:
            try:
                if _is_live_chromium(psutil.Process(pid)):
                    alive.add(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


@pytest.fixture(autouse=True)
def no_browser_before_or_after():
    driver.stop()
    _NOT_THE_DRIVERS.clear()
    _NOT_THE_DRIVERS.update(chromium_below(os.getpid()))
    yield
    driver.stop()


def test_rerunning_the_cell_reuses_one_chromium_and_stopping_the_lab_ends_it():
    lab = start_lab(redis_url="", replace=False)
    try:
        first = lab.browser()
        first.open("/health")
        browsers = browsers_below(os.getpid())
        assert len(browsers) == 1, "one Chromium was started"
        again = lab.browser()  # the cell run a second time
        again.open("/health")
        assert browsers_below(os.getpid()) == browsers, "the same Chromium serves the re-run"
        running = chromium_below(os.getpid())
    finally:
        lab.stop()
    assert gone(running) == set(), "no Chromium outlives the lab"


def test_replacing_the_lab_hands_the_browser_over():
    """Re-running a notebook's first cell replaces the lab: the old lab's stop must not leave
    the new lab without a browser, nor leave the old one's Chromium behind."""
    old = start_lab(redis_url="")
    old.browser().open("/health")
    new = start_lab(redis_url="")  # replaces (stops) the old lab
    try:
        assert new.browser().open("/health").url.endswith("/health")
        assert len(browsers_below(os.getpid())) == 1
        running = chromium_below(os.getpid())
    finally:
        new.stop()
    assert gone(running) == set()


def test_a_profile_that_allows_third_party_cookies_is_a_second_chromium_closed_with_it():
    with start_lab(redis_url="", replace=False) as lab:
        lab.browser().open("/health")
        shared = browsers_below(os.getpid())
        profile = lab.browser(third_party_cookies=True)
        profile.open("/health")
        both = browsers_below(os.getpid())
        assert len(both - shared) == 1, "its own Chromium"
        everything = chromium_below(os.getpid())
        profile.close()
        assert gone(both - shared) == set()
    assert gone(everything) == set()


def _kernel():
    from jupyter_client import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(ROOT), env={**os.environ, "PYTHONPATH": str(ROOT)})
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, client


def _run(client, code: str) -> tuple[str, list[dict]]:
    """Run ``code`` in the kernel: its stdout, and any error messages."""
    out, errors = [], []
    msg_id = client.execute(code)
    while True:
        msg = client.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind == "error":
            errors.append(content)
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(out), errors


OPEN_A_PAGE = """
from labserver import start_lab
lab = start_lab()
browser = lab.browser()
print(browser.open("/health").url.endswith("/health"))
"""


@pytest.mark.parametrize("how", ["graceful", "killed"])
def test_a_kernel_restart_leaves_no_chromium(how):
    manager, client = _kernel()
    try:
        out, errors = _run(client, OPEN_A_PAGE)
        assert (out.strip(), errors) == ("True", [])
        out, errors = _run(client, OPEN_A_PAGE)  # the same cell again
        assert (out.strip(), errors) == ("True", [])
        kernel_pid = manager.provisioner.process.pid
        running = chromium_below(kernel_pid)
        assert running, "the kernel started a Chromium"
        manager.restart_kernel(now=how == "killed")
        assert gone(running) == set(), f"Chromium left behind after a {how} restart"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_without_a_chromium_a_cell_prints_one_line_not_a_traceback(tmp_path):
    """No LAB_CHROMIUM, no chromium on PATH, no Playwright browser in the venv."""
    from jupyter_client import KernelManager

    env = {
        k: v for k, v in os.environ.items() if k not in ("LAB_CHROMIUM", "PLAYWRIGHT_BROWSERS_PATH")
    }
    env.update(PATH=str(Path(sys.executable).parent), PYTHONPATH=str(ROOT))
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(ROOT), env=env)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        _run(
            client,
            "import labserver.browser.driver as d; d.PLAYWRIGHT_BROWSERS = d.Path('/nonexistent')",
        )
        out, errors = _run(client, OPEN_A_PAGE)
        assert errors == [], "no traceback"
        assert out.count("\n") == 1 and "install Chromium" in out, out
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_job_that_calls_the_driver_is_an_error_not_a_deadlock():
    """The driver's thread runs one job at a time: a job waiting on another job waits forever
    (until the call times out, and the thread with it)."""
    with start_lab(redis_url="", replace=False) as lab:
        the_driver = lab.browser()._driver
        with pytest.raises(RuntimeError, match="a browser job called the driver"):
            the_driver.call(lambda p, b: the_driver.call(lambda p, b: 1))
        assert the_driver.call(lambda p, b: 2) == 2, "the thread is free again"


def test_a_script_whose_promise_never_settles_is_an_error_and_the_browser_stays_usable(
    monkeypatch,
):
    from playwright.sync_api import Error

    from labserver.browser import control

    monkeypatch.setattr(control, "SCRIPT_TIMEOUT_MS", 300)
    with start_lab(redis_url="", replace=False) as lab:
        tab = lab.browser().open("/health")
        with pytest.raises(Error, match="did not settle within 300 ms"):
            tab.run("new Promise(() => {})")
        with pytest.raises(Error, match="did not settle"):
            tab.run("() => new Promise(() => {})")
        assert tab.run("1 + 1") == 2, "the browser's thread is not stuck"


def test_run_evaluates_scripts_as_playwright_does():
    """Expressions, function expressions with an argument, promises, statements, errors."""
    from playwright.sync_api import Error

    with start_lab(redis_url="", replace=False) as lab:
        tab = lab.browser().open("/health")
        assert tab.run("x => x * 2", 21) == 42
        assert tab.run("function (x) { return x + 1 }", 1) == 2
        assert tab.run("  async function named(x) { return [x] }", "a") == ["a"]
        assert tab.run("async () => 7") == 7
        assert tab.run("Promise.resolve({a: 1})") == {"a": 1}
        assert tab.run("let a = 1; a + 1") == 2
        assert tab.run("document.location.pathname") == "/health"
        assert tab.run("undefined") is None
        with pytest.raises(Error, match="boom"):
            tab.run("() => { throw new Error('boom') }")


@pytest.mark.parametrize("executable", ["not-there", "/bin/false"])
def test_a_chromium_that_does_not_start_is_one_line_not_a_playwright_traceback(
    executable, monkeypatch, tmp_path
):
    """LAB_CHROMIUM pointing nowhere, or at something that exits at once (a broken install):
    ``lab.browser()`` says so as :class:`BrowserUnavailable`, which a notebook shows in one
    line, rather than raising Playwright's own error."""
    from labserver.browser.control import UnavailableBrowser

    path = executable if executable.startswith("/") else str(tmp_path / executable)
    monkeypatch.setenv("LAB_CHROMIUM", path)
    with start_lab(redis_url="", replace=False) as lab:
        browser = lab.browser()
        assert isinstance(browser, UnavailableBrowser)
        assert "did not start" in browser.reason and "install Chromium" in browser.reason
        with pytest.raises(driver.BrowserUnavailable):
            browser.open("/health")


def test_a_closed_profile_or_tab_says_so_and_keeps_no_playwright_object():
    from labserver.browser import control

    with start_lab(redis_url="", replace=False) as lab:
        lab.browser().close()  # the driver is running: what follows is counted from here
        kept = len(control._objects)
        with lab.browser() as browser:
            tab = browser.open("/health")
            closed = browser.open("/health")
            closed.close()
            with pytest.raises(RuntimeError, match="this tab is closed"):
                closed.run("1")
        assert len(control._objects) == kept, "a re-run cell would pile up pages"
        with pytest.raises(RuntimeError, match="this browser profile is closed"):
            browser.open("/health")
        with pytest.raises(RuntimeError, match="closed"):
            tab.run("1")


def test_a_chromium_that_died_is_replaced_by_the_next_cell():
    """Chromium killed (out of memory, or by hand): the next use says so in one line, and the
    cell run again gets a new Chromium, rather than every call failing until a kernel restart."""
    with start_lab(redis_url="", replace=False) as lab:
        first = lab.browser()
        first.open("/health")
        (dead,) = browsers_below(os.getpid())
        psutil.Process(dead).kill()
        assert gone({dead}) == set()
        with pytest.raises(driver.BrowserUnavailable, match="stopped"):
            first.open("/health")
        again = lab.browser()  # the cell, run again
        assert again.open("/health").url.endswith("/health")
        running = chromium_below(os.getpid())
        assert dead not in running
    assert gone(running) == set()


def test_a_lab_path_whose_query_holds_a_url_is_still_a_path_of_the_lab():
    from types import SimpleNamespace

    from labserver.browser.control import LabBrowser

    profile = SimpleNamespace(lab=SimpleNamespace(url="http://127.0.0.1:5000"))
    assert LabBrowser.url(profile, "/login?next=http://127.0.0.1:5000/bff/") == (
        "http://127.0.0.1:5000/login?next=http://127.0.0.1:5000/bff/"
    )
    assert LabBrowser.url(profile, "http://localhost:1/x") == "http://localhost:1/x"
