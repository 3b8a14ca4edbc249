"""Chapter 08: CORS and the custom-header CSRF defence, in Chromium.

    >>> result = cors_experiment(lab, lab.browser())
    >>> print(result)            # per fetch: the preflight, the request, its cookies, the script
    >>> result.data["cross-site bff + header"]

A browser signs in to chapter 05's BFF (its form, an ``HttpOnly``, ``SameSite=Lax`` cookie) and
to chapter 1's session endpoint. The attacker's page (``http://localhost:Q``, another site) then
``fetch``\\ es the lab with ``credentials: "include"``:

* with the header the lab requires (``X-CSRF: 1``, ``X-CSRF-Token``), which no HTML form can
  send, the browser first asks a CORS preflight (``OPTIONS``). The lab has no CORS policy (Flask
  answers ``OPTIONS`` itself, with no ``Access-Control-Allow-Origin``), so the real request is
  never sent and the script gets a network error;
* without it, the request is *simple* and is sent, but SameSite keeps the session cookie off
  (401), and the answer, lacking ``Access-Control-Allow-Origin``, is unreadable anyway.

From ``http://127.0.0.1:Q`` (the same site, another origin) SameSite lets the cookie through:
the header is what stops the request there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..users import PASSWORDS

#: (row, sender, method, lab path, header the script adds or "")
ROWS = (
    ("cross-site bff + header", "cross-site", "GET", "/bff/api/me", "X-CSRF"),
    ("cross-site bff", "cross-site", "GET", "/bff/api/me", ""),
    ("cross-site session + header", "cross-site", "POST", "/session/profile", "X-CSRF-Token"),
    ("cross-site session", "cross-site", "POST", "/session/profile", ""),
    ("same-site bff + header", "same-site", "GET", "/bff/api/me", "X-CSRF"),
    ("same-site bff", "same-site", "GET", "/bff/api/me", ""),
)
_SENDERS = {
    "cross-site": "from localhost (another site)",
    "same-site": "from 127.0.0.1, another port (the same site, another origin)",
}


@dataclass(frozen=True)
class Fetch:
    """What one cross-origin ``fetch`` did, as the lab's log and the page's script saw it."""

    method: str
    path: str
    header: str  # the custom header the script added, or ""
    preflight: int | None  # status of the OPTIONS the lab received, None if none was asked
    arrived: int | None  # status of the request itself, None if it never reached the lab
    cookies: tuple[str, ...]  # the names of the cookies the request carried, sorted
    script: str  # what the page's script saw: "read <status>" or "blocked"

    @property
    def request(self) -> str:
        return f"{self.method} {self.path}" + (f" + {self.header}" if self.header else "")


@dataclass(frozen=True)
class CorsResult:
    """The fetches by row, and the lab's own answer to a preflight; ``str()`` is the table."""

    fetches: dict[str, Fetch]
    preflight_status: int  # the lab's answer to the preflight, asked again from Python
    preflight_allow_origin: str  # its Access-Control-Allow-Origin, "" if none
    seconds: float = field(default=0.0, compare=False)  # never printed

    @property
    def data(self) -> dict[str, dict]:
        """``data[row]``: the :class:`Fetch` as a dict, for tests."""
        return {row: {**vars(f), "cookies": list(f.cookies)} for row, f in self.fetches.items()}

    def __str__(self) -> str:
        width = max(len(f.request) for f in self.fetches.values()) + 2
        lines = [
            'Cross-origin fetch(..., {credentials: "include"}) from the attacker\'s page',
            f"  {'fetch':<{width}}{'preflight':<13}{'real request':<14}{'cookies':<14}script saw",
        ]
        sender = None
        for row, s, *_ in ROWS:
            if row not in self.fetches:
                continue
            if s != sender:
                sender = s
                lines.append(_SENDERS[s])
            f = self.fetches[row]
            preflight = "none" if f.preflight is None else f"OPTIONS {f.preflight}"
            arrived = "never sent" if f.arrived is None else f"{f.method} {f.arrived}"
            cookies = "-" if f.arrived is None else (", ".join(f.cookies) or "none")
            lines.append(
                f"  {f.request:<{width}}{preflight:<13}{arrived:<14}{cookies:<14}{f.script}"
            )
        allow = self.preflight_allow_origin
        granted = f"Access-Control-Allow-Origin: {allow}" if allow else "no CORS headers"
        lines.append(
            f"The lab's answer to that preflight, asked again from Python: "
            f"{self.preflight_status}, {granted}"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def _log_in(lab, browser) -> None:
    """Sign in as alice to the BFF and to chapter 1's session endpoint, from a page of the lab
    (its script posts both logins, as the BFF's form and a single-page app would)."""
    tab = browser.open("/browser/arrived")
    try:
        statuses = tab.run(
            """async password => {
                 const form = new URLSearchParams({username: "alice", password});
                 const bff = await fetch("/bff/login", {method: "POST", body: form});
                 const session = await fetch("/session/login", {method: "POST",
                   headers: {"Content-Type": "application/json"},
                   body: JSON.stringify({username: "alice", password})});
                 return [bff.status, session.status];
               }""",
            PASSWORDS["alice"],
        )
        if statuses != [200, 200]:
            raise RuntimeError(f"the logins answered {statuses} (BFF, chapter 1)")
    finally:
        tab.close()


def _fetch(lab, tab, sender: str, method: str, path: str, header: str) -> Fetch:
    origin = lab.attacker.url
    if sender == "same-site":
        origin = origin.replace("localhost", "127.0.0.1")
    after = lab.request_log.entries[-1].number if len(lab.request_log) else 0
    query = f"to={lab.url}{path}&method={method}" + (f"&header={header}" if header else "")
    tab.goto(f"{origin}/send/fetch?{query}")
    script = tab.wait_for_title("^(read|blocked)")
    # The script's promise settles after the browser got its last answer: all is logged now.
    arrived = [e for e in lab.request_log.entries if e.number > after and e.path == path]
    options = [e for e in arrived if e.method == "OPTIONS"]
    sent = [e for e in arrived if e.method == method]
    return Fetch(
        method,
        path,
        header,
        options[0].status if options else None,
        sent[0].status if sent else None,
        tuple(sorted(sent[0].cookies)) if sent else (),
        script,
    )


def _ask_preflight(lab) -> tuple[int, str]:
    """The lab's answer to the preflight Chromium sends for the BFF's API with ``X-CSRF``."""
    answer = lab.client().options(
        "/bff/api/me",
        headers={
            "Origin": lab.attacker.url,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-csrf",
        },
    )
    return answer.status_code, answer.headers.get("Access-Control-Allow-Origin", "")


def cors_experiment(lab, browser=None) -> CorsResult:
    """Sign in in ``browser`` (default: a new profile, closed after), then make the attacker's
    pages fetch the lab with and without the custom CSRF headers; what each fetch did."""
    start = time.perf_counter()
    own = browser is None
    browser = browser or lab.browser()
    try:
        _log_in(lab, browser)
        tab = browser.open(lab.attacker.url + "/")
        try:
            fetches = {row: _fetch(lab, tab, *rest) for row, *rest in ROWS}
        finally:
            tab.close()
    finally:
        if own:
            browser.close()
    status, allow_origin = _ask_preflight(lab)
    return CorsResult(fetches, status, allow_origin, time.perf_counter() - start)
