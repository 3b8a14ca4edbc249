"""Chapter 06's cookie casebook, replayed in Chromium next to the inspector's verdict.

    >>> print(casebook_in_chromium(lab.browser()))

Each case of :data:`~labserver.chapters.casebook.COOKIE_CASES` is set by the lab's
``/casebook/cookie/<case>`` in a browser with an empty jar; then the browser loads
``/casebook/api/echo`` (where the cookie is needed) and ``/casebook/app/echo``. The inspector
reads the very ``Set-Cookie`` line Chromium received, told the URL that set it and the API's.
They agree when the inspector's "a browser would store it and send it to the API" is what
Chromium did.

Over loopback Chromium keeps a ``Secure`` cookie set over plain http (``127.0.0.1`` is a secure
context), so that case is also replayed on ``http://app.example.test``, a host that resolves
nowhere here: the lab's own server, as the browser's proxy, answers for it
(:func:`~labserver.browser.scoping.visit`), and nothing leaves the machine.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..chapters.casebook import COOKIE_CASES
from ..tools.cookies import inspect
from .control import LabBrowser
from .scoping import CLEAR, NOT_LOOPBACK, carried, log_mark, visit

API, APP = "/casebook/api/echo", "/casebook/app/echo"
#: The cases replayed on NOT_LOOPBACK too: where being on loopback changes the outcome.
ALSO_OFF_LOOPBACK = ("secure-over-http",)


@dataclass(frozen=True)
class CaseInChromium:
    """One case: what the inspector predicted and what Chromium did."""

    case: str
    host: str  # the host that set the cookie ("127.0.0.1" or NOT_LOOPBACK)
    mistake: str
    inspector_ok: bool  # "a browser would store it and send it back as described"
    inspector_says: str  # its first problem, or that it sees none
    stored: bool
    refused_because: tuple[str, ...]  # Chromium's blockedReasons, if it refused the cookie
    sent_to: tuple[str, ...]  # of API and APP, where the cookie arrived (loopback only)
    secure_context: bool

    @property
    def chromium_ok(self) -> bool:
        """Chromium stored the cookie and sent it to the API."""
        return self.stored and API in self.sent_to

    @property
    def agree(self) -> bool:
        return self.inspector_ok == self.chromium_ok

    def chromium_says(self) -> str:
        if not self.stored:
            return "refused: " + ", ".join(self.refused_because or ("(no reason given)",))
        if API in self.sent_to:
            return "stored, sent to the API"
        return "stored, not sent to the API" + (" (but to app/)" if APP in self.sent_to else "")


@dataclass
class CasebookInChromium:
    """:func:`casebook_in_chromium`'s result: a table (``print`` it) and data for tests."""

    cases: list[CaseInChromium]

    def case(self, name: str, host: str = "127.0.0.1") -> CaseInChromium:
        return next(c for c in self.cases if c.case == name and c.host == host)

    @property
    def all_agree(self) -> bool:
        return all(c.agree for c in self.cases)

    def __str__(self) -> str:
        labels = [f"{c.case} ({c.host})" for c in self.cases]
        width = max(len(label) for label in [*labels, "case (set by, over plain http)"])
        verdicts = ["ok" if c.inspector_ok else "problem" for c in self.cases]
        said = [c.chromium_says() for c in self.cases]
        chromium_width = max(len(s) for s in said)
        title = "case (set by, over plain http)"
        head = f"{title:<{width}}  inspector  {'Chromium':<{chromium_width}}"
        lines = [f"{head}  agree"]
        for label, verdict, chromium, c in zip(labels, verdicts, said, self.cases, strict=True):
            agree = "yes" if c.agree else "NO"
            lines.append(f"{label:<{width}}  {verdict:<9}  {chromium:<{chromium_width}}  {agree}")
            if not c.inspector_ok:
                lines += textwrap.wrap(
                    f"inspector: {c.inspector_says}",
                    width=98,
                    initial_indent="  ",
                    subsequent_indent="    ",
                )
        secure = sorted({(c.host, c.secure_context) for c in self.cases})
        shown = ", ".join(f"{h}: {'yes' if s else 'no'}" for h, s in secure)
        lines.append(f"isSecureContext over plain http: {shown}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def _steps(base: str, case: str) -> list[str]:
    """Empty the jar, set ``case``'s cookie from ``base``, load the API's echo (and the app's,
    for the case whose Path is the app's)."""
    echoes = [API, APP] if COOKIE_CASES[case][2].get("path", "/") != "/" else [API]
    return [CLEAR, f"{base}/casebook/cookie/{case}"] + [base + echo for echo in echoes]


def casebook_in_chromium(browser: LabBrowser) -> CasebookInChromium:
    """Replay each cookie case in Chromium and put the inspector's verdict next to it."""
    lab = browser.lab
    runs = {"127.0.0.1": list(COOKIE_CASES), NOT_LOOPBACK: list(ALSO_OFF_LOOPBACK)}
    cases = []
    for host, names in runs.items():
        proxy = lab.url if host == NOT_LOOPBACK else None
        base = f"http://{host}" + ("" if proxy else f":{urlsplit(lab.url).port}")
        mark = log_mark(lab)
        pages = iter(visit(browser, [s for c in names for s in _steps(base, c)], proxy=proxy).pages)
        urls = [step for case in names for step in _steps(base, case) if step != CLEAR]
        arrivals = iter(carried(lab, mark, urls))
        for case in names:
            setting, *echoes = [next(pages) for step in _steps(base, case) if step != CLEAR]
            next(arrivals)  # the request that set the cookie
            paths = [urlsplit(echo.url).path for echo in echoes]
            sent = tuple(path for path in paths if "prefs" in next(arrivals))
            (header,) = setting.set_cookie  # the one line Chromium received
            report = inspect(header, url=setting.url, api_url=base + API)
            cases.append(
                CaseInChromium(
                    case,
                    host,
                    COOKIE_CASES[case][3],
                    report.ok,
                    report.problems[0] if report.problems else "no problem",
                    "prefs" in setting.jar,
                    setting.refused.get("prefs", ()),
                    sent,
                    setting.secure_context,
                )
            )
    return CasebookInChromium(cases)
