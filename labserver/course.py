"""The course map: every chapter, in order, in one place.

Notebook 00's map and every notebook's prev/next links are made from :data:`CHAPTERS`. Cells
that hold them are markdown cells tagged ``course-map``, ``nav-top`` or ``nav-bottom``;
``python -m labserver sync-course`` rewrites them, and a test fails when they are out of date.
A chapter that is not written yet shows as plain text "(coming soon)" instead of a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@dataclass(frozen=True)
class Chapter:
    """One notebook of the course."""

    number: str  # "00" ... "11"
    slug: str  # the file name after the number, a verb phrase
    title: str
    teaches: str  # one line for the course map
    needs_browser: bool = False  # its cells drive Chromium (without one, the tests skip them)

    @property
    def filename(self) -> str:
        return f"{self.number}_{self.slug}.ipynb"

    @property
    def exists(self) -> bool:
        return (NOTEBOOKS / self.filename).is_file()

    def link(self) -> str:
        """A markdown link to the notebook, or its title marked "coming soon"."""
        label = f"{self.number} · {self.title}"
        return f"[{label}]({self.filename})" if self.exists else f"{label} (coming soon)"


CHAPTERS = (
    Chapter(
        "00",
        "start_the_lab",
        "Start the lab",
        "what the course covers, an environment check, the lab server, your first request",
    ),
    Chapter(
        "01",
        "keep_state_in_sessions",
        "Keep state in server-side sessions",
        "opaque IDs in cookies, the store behind them, logout and revocation that act at once",
    ),
    Chapter(
        "02",
        "read_and_verify_jwt_claims",
        "Read and verify JWT claims",
        "signed claims, what 'verified' must mean, a claims editor against a live API",
    ),
    Chapter(
        "03",
        "measure_revocation",
        "Measure revocation",
        "how long a revoked credential keeps working under each strategy, and what it costs",
    ),
    Chapter(
        "04",
        "get_tokens_from_an_identity_provider",
        "Get tokens from an identity provider",
        "an OAuth 2.0 / OpenID Connect provider, two APIs, service-to-service calls, token exchange"
        " and DPoP",
    ),
    Chapter(
        "05",
        "combine_cookies_and_tokens",
        "Combine cookies and tokens",
        "the backend-for-frontend pattern: HttpOnly cookie in the browser, short JWTs to APIs",
    ),
    Chapter(
        "06",
        "debug_tokens_and_cookies",
        "Debug tokens and cookies",
        "an offline decoder, timestamps, a cookie inspector, and the failures people hit",
    ),
    Chapter(
        "07",
        "watch_a_real_browser",
        "Watch a real browser",
        "Chromium in the notebook: what it stores and hides, XSS against localStorage and against"
        " an HttpOnly cookie, three ways to log out",
        needs_browser=True,
    ),
    Chapter(
        "08",
        "test_cookie_rules_in_a_real_browser",
        "Test cookie rules in a real browser",
        "SameSite from another site, CORS preflights, Secure and prefixes, Domain, Path, size,"
        " cookies per host",
        needs_browser=True,
    ),
    Chapter(
        "09",
        "attack_and_harden",
        "Attack and harden",
        "forge tokens against a deliberately weak verifier, then watch the hardened one hold",
    ),
    Chapter(
        "10",
        "measure_scalability",
        "Measure scalability",
        "what each request costs, and what happens with many services and one store",
    ),
    Chapter(
        "11",
        "find_the_flaws_in_a_black_box",
        "Find the flaws in a black box",
        "a capstone: a target with flaws drawn from a seed; probe it, write up findings with"
        " working exploits, get them scored",
    ),
)


#: Old names of notebooks that moved when chapters 04, 07 and 08 were inserted. A copy unpacked over
#: an older one can still hold them (with the learner's runs): the tests skip them and say so.
RENAMED = {
    "04_combine_cookies_and_tokens.ipynb": "05_combine_cookies_and_tokens.ipynb",
    "05_debug_tokens_and_cookies.ipynb": "06_debug_tokens_and_cookies.ipynb",
    "06_attack_and_harden.ipynb": "09_attack_and_harden.ipynb",
    "07_measure_scalability.ipynb": "10_measure_scalability.ipynb",
    "07_attack_and_harden.ipynb": "09_attack_and_harden.ipynb",
    "08_measure_scalability.ipynb": "10_measure_scalability.ipynb",
    "08_attack_and_harden.ipynb": "09_attack_and_harden.ipynb",
    "09_measure_scalability.ipynb": "10_measure_scalability.ipynb",
}


def chapter(number: str) -> Chapter:
    """The chapter numbered ``number`` (e.g. ``"01"``)."""
    return next(c for c in CHAPTERS if c.number == number)


def course_map() -> str:
    """The course map as a markdown table of every chapter (linked once it exists)."""
    rows = ["| # | Chapter | What you do |", "|---|---|---|"]
    rows += [f"| {c.number} | {c.link()} | {c.teaches} |" for c in CHAPTERS]
    return "\n".join(rows)


def nav(number: str) -> str:
    """The prev/next line for chapter ``number``, as markdown."""
    index = [c.number for c in CHAPTERS].index(number)
    parts = []
    if index > 0:
        parts.append(f"← {CHAPTERS[index - 1].link()}")
    parts.append("[Course map](00_start_the_lab.ipynb)")
    if index + 1 < len(CHAPTERS):
        parts.append(f"{CHAPTERS[index + 1].link()} →")
    return "<small>" + " &nbsp;|&nbsp; ".join(parts) + "</small>"


def expected_cells(number: str) -> dict[str, str]:
    """What each tagged cell of chapter ``number``'s notebook must hold."""
    cells = {"nav-top": nav(number), "nav-bottom": nav(number)}
    if number == "00":
        cells["course-map"] = course_map()
    return cells


def out_of_sync(write: bool = False) -> list[str]:
    """Tagged cells that differ from :func:`expected_cells` (rewritten when ``write``)."""
    stale = []
    for c in CHAPTERS:
        if not c.exists:
            continue
        path = NOTEBOOKS / c.filename
        nb = nbformat.read(path, as_version=4)
        expected, changed = expected_cells(c.number), False
        for tag, text in expected.items():
            cells = [cell for cell in nb.cells if tag in cell.get("metadata", {}).get("tags", [])]
            if len(cells) != 1:
                stale.append(
                    f"{c.filename}: needs exactly one markdown cell tagged {tag!r}, has "
                    f"{len(cells)}"
                )
                continue
            if cells[0].source != text:
                stale.append(f"{c.filename}: cell {tag!r} is out of date")
                cells[0].source, changed = text, True
        if write and changed:
            nbformat.write(nb, path)
    return stale
