"""``make``'s browser step: use the system's Chromium, or put Playwright's own inside ``.venv``.

    python -m labserver.browser.install

Never fails the build: without a browser, the browser chapter's cells say how to get one and
``make test`` skips them. Nothing is written outside this project's ``.venv``.
"""

from __future__ import annotations

import os
import subprocess
import sys

from .driver import HOW_TO_GET_ONE, PLAYWRIGHT_BROWSERS, find_chromium


def main() -> int:
    found = find_chromium()
    if found:
        print(f"browser: {found}")
        return 0
    print(
        f"browser: none on this system; installing Playwright's Chromium into {PLAYWRIGHT_BROWSERS}"
    )
    env = {**os.environ, "PLAYWRIGHT_BROWSERS_PATH": str(PLAYWRIGHT_BROWSERS)}
    done = subprocess.run(
        [sys.executable, "-m", "playwright", "install", "chromium"], env=env, check=False
    )
    found = find_chromium()
    if done.returncode == 0 and found:
        print(f"browser: {found}")
    else:
        print(f"browser: {HOW_TO_GET_ONE} (the cells of chapters 07 and 08 will say so)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
