"""``self_check()``: is this Python ready for the course? Shown in notebook 00.

It checks the Python version, every directly used package against its pin in
``requirements.txt``, that the notebook's kernel runs in the course's environment, and that
the JupyterLab widget extension is installed where this JupyterLab will find it. It also says
which Chromium chapters 07 and 08 will drive (optional: without one, their cells say so).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker

ROOT = Path(__file__).resolve().parents[1]
DIRECT = (
    "jupyterlab",
    "ipywidgets",
    "PyJWT",
    "cryptography",
    "Flask",
    "requests",
    "fakeredis",
    "redis",
    "nbval",
    "pytest",
    "playwright",
)


@dataclass
class SelfCheck:
    """Rows of (ok, what, detail); ``ok`` is True when every row is."""

    rows: list[tuple[bool, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(ok for ok, _, _ in self.rows)

    def text(self) -> str:
        width = max(len(what) for _, what, _ in self.rows)
        lines = [
            f"{'✓' if ok else '✗'} {what:<{width}}  {detail}" for ok, what, detail in self.rows
        ]
        verdict = (
            "Ready for the course."
            if self.ok
            else "Something is missing: see ✗ above, then run `make lab` again."
        )
        return "\n".join(lines + ["", verdict])

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text())


def pinned_versions(requirements: Path = ROOT / "requirements.txt") -> dict[str, str]:
    """``{name (lower case, '-' for '_'): version}`` for every ``name==version`` line whose
    environment marker, if it has one, holds for this Python on this machine."""
    pins = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)\s*(?:;([^#]+))?", line.strip())
        if match and (match[3] is None or Marker(match[3]).evaluate()):
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def supported_pythons(makefile: Path = ROOT / "Makefile") -> list[str]:
    """The Makefile's ``SUPPORTED_PYTHONS``, oldest first, e.g. ``["3.11", "3.12"]``."""
    match = re.search(r"^SUPPORTED_PYTHONS\s*:?=(.*)$", makefile.read_text(), re.M)
    return match[1].split() if match else []


def self_check() -> SelfCheck:
    """Check this environment and return the report (display it to see it)."""
    report = SelfCheck()
    version = ".".join(map(str, sys.version_info[:3]))
    supported = supported_pythons() if (ROOT / "Makefile").is_file() else []
    report.rows.append(
        (
            "%d.%d" % sys.version_info[:2] in supported,
            "Python",
            f"{version} ({supported[0]} to {supported[-1]} supported)"
            if supported
            else f"{version} (no Makefile to say which Pythons are supported)",
        )
    )

    pins = pinned_versions() if (ROOT / "requirements.txt").is_file() else {}
    for name in DIRECT:
        wanted = pins.get(name.lower())
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            report.rows.append((False, name, f"not installed (pinned {wanted})"))
            continue
        report.rows.append(
            (
                wanted in (None, have),
                name,
                have if wanted in (None, have) else f"{have}, pinned {wanted}",
            )
        )

    widgets = Path(
        sys.prefix, "share", "jupyter", "labextensions", "@jupyter-widgets", "jupyterlab-manager"
    )
    report.rows.append(
        (
            widgets.is_dir(),
            "widget front end",
            "JupyterLab extension installed"
            if widgets.is_dir()
            else f"missing {widgets}; reinstall jupyterlab_widgets",
        )
    )
    from .browser.driver import HOW_TO_GET_ONE, find_chromium

    chromium = find_chromium()
    report.rows.append(
        (
            True,  # optional: only chapters 07 and 08 need it, and they say so without one
            "browser (chapters 07, 08)",
            f"Chromium at {chromium}" if chromium else HOW_TO_GET_ONE,
        )
    )
    venv = ROOT / ".venv"
    in_venv = Path(sys.prefix).resolve() == venv.resolve()
    report.rows.append(
        (
            True,
            "kernel environment",
            "the course's .venv"
            if in_venv
            else f"{sys.prefix} (not .venv: fine if the pins match)",
        )
    )
    return report
