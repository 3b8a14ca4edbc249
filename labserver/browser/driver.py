"""One headless Chromium per process, driven by Playwright on a thread of its own.

Playwright's sync API refuses to run inside a running asyncio loop, which is where every
notebook cell runs (ipykernel's), and a Playwright object may only be used from the thread that
made it. So one daemon thread owns Playwright and the browser; a cell hands it a function of the
browser (:meth:`Driver.call`) and gets plain data back. Re-running a cell reuses the browser.
The browser stops when the last lab using it stops, and at interpreter exit; Playwright's
driver process also kills it if the kernel dies.

The browser is found the way the tests find it: ``$LAB_CHROMIUM``, then the system's
``chromium``, then a Chromium that ``playwright install`` put inside this project's ``.venv``.
"""

from __future__ import annotations

import atexit
import os
import queue
import shutil
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

#: Where ``make`` puts Playwright's own Chromium when the system has none (inside the project).
PLAYWRIGHT_BROWSERS = Path(sys.prefix) / "playwright-browsers"

#: Flags that keep Chromium quiet and offline: nothing but loopback resolves.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
)

#: Seconds one call may take before the cell gets an error instead of hanging.
CALL_TIMEOUT = 60.0

HOW_TO_GET_ONE = (
    "no browser: install Chromium (Debian: apt-get install chromium), or set LAB_CHROMIUM to "
    "one, or run `make browser` to put Playwright's Chromium in .venv"
)


DIED = "Chromium has stopped (it crashed, or was killed); run the cell again to start another"


class BrowserUnavailable(RuntimeError):
    """No Chromium to drive (or Playwright missing); the message says how to get one."""


def find_chromium() -> str | None:
    """The Chromium executable to use, or None: ``$LAB_CHROMIUM``, the system's, or
    Playwright's own under :data:`PLAYWRIGHT_BROWSERS`."""
    found = (
        os.environ.get("LAB_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if found:
        return found
    for candidate in sorted(PLAYWRIGHT_BROWSERS.glob("chromium*/chrome-linux*/chrome")):
        return str(candidate)
    for candidate in sorted(PLAYWRIGHT_BROWSERS.glob("chromium*/chrome-mac*/**/Chromium")):
        return str(candidate)
    return None


def launch_options() -> dict[str, Any]:
    """Keyword arguments for ``playwright.chromium.launch`` (tests use them too)."""
    executable = find_chromium()
    if executable is None:
        raise BrowserUnavailable(HOW_TO_GET_ONE)
    return {"executable_path": executable, "args": list(CHROMIUM_ARGS)}


class Driver:
    """The thread that owns Playwright and one Chromium. Use :func:`driver`."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._ready: Future = Future()
        self.version = ""
        self._died = False
        self._thread = threading.Thread(target=self._run, name="lab browser", daemon=True)
        self._thread.start()
        try:
            self._ready.result(timeout=CALL_TIMEOUT)  # raises what the start raised
        except TimeoutError:
            self._jobs.put(None)  # if it starts after all, it stops at once
            raise BrowserUnavailable(
                f"Chromium did not start within {CALL_TIMEOUT:g} s; {HOW_TO_GET_ONE}"
            ) from None

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._died

    def _run(self) -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            self._ready.set_exception(BrowserUnavailable("Playwright is not installed: make setup"))
            return
        try:
            with sync_playwright() as playwright:
                options = launch_options()
                try:
                    browser = playwright.chromium.launch(**options)
                except Exception as exc:  # a Chromium that is there but does not run
                    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise BrowserUnavailable(
                        f"{options['executable_path']} did not start ({why}); {HOW_TO_GET_ONE}"
                    ) from None
                self.version = browser.version
                self._ready.set_result(None)
                self._serve(playwright, browser)
                if browser.is_connected():
                    browser.close()
        except BaseException as exc:  # noqa: BLE001 - reported to the caller that waits
            if not self._ready.done():
                self._ready.set_exception(exc)

    def _serve(self, playwright, browser) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, future = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(playwright, browser))
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    if not browser.is_connected():  # Chromium died: end, so that the next
                        self._died = True  # cell starts another
                        future.set_exception(BrowserUnavailable(DIED))
                        return
                    future.set_exception(exc)

    def call(self, fn: Callable[[Any, Any], Any], timeout: float = CALL_TIMEOUT) -> Any:
        """Run ``fn(playwright, browser)`` on the browser's thread; return its (plain) result."""
        if threading.current_thread() is self._thread:
            # The job would wait for itself: the thread runs one job at a time.
            raise RuntimeError(
                "a browser job called the driver: use the playwright and browser it was given"
            )
        if not self.alive:
            raise BrowserUnavailable("the browser has stopped; start it again")
        future: Future = Future()
        self._jobs.put((fn, future))
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()  # if it has not started, it never will
            raise TimeoutError(f"the browser did not finish the job within {timeout:g} s") from None

    def stop(self) -> None:
        """Close the browser and end the thread (waits for the job that runs, if any)."""
        if self.alive:
            self._jobs.put(None)
            self._thread.join(timeout=CALL_TIMEOUT)


def explain_in_notebooks() -> None:
    """In IPython, show a :class:`BrowserUnavailable` as its one line, not a traceback."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def one_line(shell, etype, value, tb, tb_offset=None):
        print(f"{etype.__name__}: {value}")

    shell.set_custom_exc((BrowserUnavailable,), one_line)


_driver: Driver | None = None
_lock = threading.Lock()
_users: set[int] = set()


def driver(user: object | None = None) -> Driver:
    """The process's browser driver, started on first use. ``user`` (e.g. a lab) keeps it
    running until :func:`release` is called with it."""
    global _driver
    with _lock:
        if _driver is None or not _driver.alive:
            _driver = Driver()
        if user is not None:
            _users.add(id(user))
        return _driver


def release(user: object) -> None:
    """``user`` no longer needs the browser; the last one to go stops it."""
    global _driver
    with _lock:
        _users.discard(id(user))
        if _users or _driver is None:
            return
        stopping, _driver = _driver, None
    stopping.stop()


def stop() -> None:
    """Stop the browser now, whoever uses it (at exit, and in tests)."""
    global _driver
    with _lock:
        _users.clear()
        stopping, _driver = _driver, None
    if stopping is not None:
        stopping.stop()


atexit.register(stop)
