"""``make``'s browser step (labserver/browser/install.py) never fails the build."""

from __future__ import annotations

import subprocess

from labserver.browser import install


def test_a_system_chromium_is_used_and_nothing_is_downloaded(monkeypatch, capsys):
    monkeypatch.setattr(install, "find_chromium", lambda: "/usr/bin/chromium")
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    assert install.main() == 0
    assert capsys.readouterr().out == "browser: /usr/bin/chromium\n"


def test_a_failed_download_says_how_to_get_a_browser_and_does_not_fail(monkeypatch, capsys):
    calls = []

    def offline(command, env, check):
        calls.append((command, env["PLAYWRIGHT_BROWSERS_PATH"]))
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(install, "find_chromium", lambda: None)
    monkeypatch.setattr(subprocess, "run", offline)
    assert install.main() == 0
    ((command, into),) = calls
    assert command[-3:] == ["playwright", "install", "chromium"]
    assert into == str(install.PLAYWRIGHT_BROWSERS), "into the project's .venv, nowhere else"
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"browser: {install.HOW_TO_GET_ONE} (the cells of chapters 07 and 08 will say so)"
    )
