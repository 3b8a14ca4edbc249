"""What every browser test needs: Debian's Chromium, driven by Python Playwright.

No browser can be downloaded here (``playwright install`` would fail), so the tests use the
Chromium of the system (``chromium``, or ``LAB_CHROMIUM=/path``). Without one they skip with a
message, except when ``LAB_REQUIRE_BROWSER=1`` (CI), where that is an error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = (
    os.environ.get("LAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Nothing but loopback: every other host name resolves to nothing.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM:
        return
    if os.environ.get("LAB_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError("LAB_REQUIRE_BROWSER=1 but no chromium found (set LAB_CHROMIUM)")
    skip = pytest.mark.skip(
        reason="no Chromium found: the browser tests run in CI; "
        "install Debian's chromium or set LAB_CHROMIUM to run them here"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def playwright_api():
    return pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="session")
def browser(playwright_api):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
