"""Chapter 08: which cookies Chromium keeps, and where it sends them (scoping).

    >>> browser = lab.browser()
    >>> print(cookie_scoping(browser))     # Secure, prefixes, Domain, Path, size, on both hosts
    >>> print(cookies_per_host(browser))   # a cookie of another port shows on the lab's page

Each experiment loads pages of the lab in ``browser`` (its cookie jar is emptied first) and
reads three witnesses: what Chromium stored (DevTools), why it refused a ``Set-Cookie`` line
(DevTools' ``blockedReasons``, which neither the page nor the server ever sees), and which
cookies each request carried (the lab's request log). The tables print no port and no time.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from werkzeug.wrappers import Request, Response

from ..chapters.browser_pages import SCOPE_COOKIES
from ..server import ServerThread
from .control import TIMEOUT_MS, LabBrowser, StoredCookie

#: The two names of the lab's host: different hosts (and sites) for Chromium.
HOSTS = ("127.0.0.1", "localhost")
#: A host name that is not loopback and resolves nowhere here: the lab answers for it as the
#: browser's proxy (see :func:`visit`), so it shows what plain http means off loopback.
NOT_LOOPBACK = "app.example.test"
#: The pages whose requests show where a cookie goes (``inside/`` is under one cookie's Path).
SETTER, ARRIVED, INSIDE = "/browser/scope/set", "/browser/arrived", "/browser/scope/inside/"


@dataclass(frozen=True)
class Visit:
    """One page load in Chromium, as the browser saw it."""

    url: str
    status: int | None
    set_cookie: tuple[str, ...]  # the Set-Cookie lines of the response, as Chromium got them
    refused: dict[str, tuple[str, ...]]  # cookie name -> Chromium's reasons for not storing it
    secure_context: bool  # the page's isSecureContext
    document_cookie: str
    jar: tuple[str, ...]  # the names of the cookies the browser held after this load
    read: Any = None  # what visit()'s ``read`` script returned on this page


@dataclass(frozen=True)
class Visits:
    """:func:`visit`'s result: each page load, and the cookies the browser then held."""

    pages: list[Visit]
    cookies: list[StoredCookie]


#: A step of :func:`visit` that empties the cookie jar instead of loading a page.
CLEAR = "clear the cookie jar"


def visit(
    browser: LabBrowser, urls: Iterable[str], *, proxy: str | None = None, read: str | None = None
) -> Visits:
    """Load each of ``urls`` in turn in one tab of ``browser``, and say what Chromium did with
    each response's cookies (and what the script ``read`` returns on each page, once loaded).
    A step :data:`CLEAR` empties the jar instead. All of it is one job of the browser's
    thread, so a run of many steps costs little more than its page loads.

    ``proxy``: instead, use a new profile (an empty jar, thrown away after) whose every request
    goes to this HTTP proxy. The lab's own server serves as one for a host name that resolves
    nowhere here, such as ``http://app.example.test``: werkzeug answers an absolute-form
    request line (``GET http://app.example.test/path``) as a request for ``/path``, so Chromium
    gets the lab's real response, over a socket, from a host that is not loopback."""
    urls = [u if u == CLEAR else browser.url(u) for u in urls]

    def run(own, b):
        context = b.new_context(proxy={"server": proxy}) if proxy else own
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        devtools = context.new_cdp_session(page)
        documents: list[tuple[str, str]] = []  # (request ID, URL) of each page load
        extra: dict[str, dict] = {}  # request ID -> Network.responseReceivedExtraInfo
        devtools.on(
            "Network.requestWillBeSent",
            lambda e: (
                e.get("type") == "Document"
                and documents.append((e["requestId"], e["request"]["url"]))
            ),
        )
        devtools.on(
            "Network.responseReceivedExtraInfo", lambda e: extra.setdefault(e["requestId"], e)
        )
        devtools.send("Network.enable")
        try:
            pages = []
            for url in urls:
                if url == CLEAR:
                    context.clear_cookies()
                    continue
                response = page.goto(url)
                ids = [request_id for request_id, loaded in documents if loaded == url]
                info = extra.get(ids[-1], {}) if ids else {}
                jar = devtools.send("Network.getAllCookies")["cookies"]
                seen = _visit(url, response, info, page, tuple(c["name"] for c in jar))
                pages.append(replace(seen, read=page.evaluate(read)) if read else seen)
            jar = devtools.send("Network.getAllCookies")["cookies"]
        finally:
            devtools.detach()
            (context if proxy else page).close()
        return pages, jar

    pages, jar = browser.call(run)
    return Visits(pages, [StoredCookie.from_devtools(c) for c in jar])


def _set_cookie_lines(info: dict) -> tuple[str, ...]:
    headers = {k.lower(): v for k, v in info.get("headers", {}).items()}
    return tuple(line for line in headers.get("set-cookie", "").split("\n") if line)


def _visit(url: str, response, info: dict, page, jar: tuple[str, ...]) -> Visit:
    refused: dict[str, tuple[str, ...]] = {}
    for blocked in info.get("blockedCookies", []):
        name = blocked["cookieLine"].split("=", 1)[0].strip()
        refused[name] = tuple(blocked["blockedReasons"])
    return Visit(
        url,
        response.status if response else None,
        _set_cookie_lines(info),
        refused,
        page.evaluate("isSecureContext"),
        page.evaluate("document.cookie"),
        jar,
    )


def log_mark(lab) -> int:
    """The arrival number of the lab's latest request (0 if none): pass it to
    :func:`carried`."""
    entries = lab.request_log.entries
    return entries[-1].arrived if entries else 0


def carried(lab, mark: int, urls: Iterable[str]) -> list[tuple[str, ...]]:
    """For each of ``urls`` loaded in this order after ``mark``, the names of the cookies its
    request carried, from the lab's request log (each URL's is the next request of its path)."""
    log = iter([e for e in lab.request_log.entries if e.arrived > mark])
    paths = [urlsplit(url).path for url in urls]
    return [next((e.cookies for e in log if e.path == path), ()) for path in paths]


# --- Secure, prefixes, Domain, Path and size, on 127.0.0.1 and on localhost -----------------


@dataclass(frozen=True)
class HostOutcome:
    """What one cookie became on one host."""

    stored: bool
    refused_because: tuple[str, ...]  # Chromium's blockedReasons, when not stored
    sent_to: tuple[str, ...]  # of ARRIVED and INSIDE, the pages whose request carried it
    host_only: bool = False  # stored for this exact host only (DevTools: no leading dot)

    def cell(self) -> str:
        if not self.stored:
            return "refused: " + ", ".join(self.refused_because or ("(no reason given)",))
        pages = {(ARRIVED, INSIDE): "every path", (INSIDE,): "inside/ only", (): "no page"}
        return "kept, sent to " + pages.get(self.sent_to, ", ".join(self.sent_to))


@dataclass(frozen=True)
class ScopeRow:
    name: str
    line: str  # the Set-Cookie line
    what: str
    on: dict[str, HostOutcome]  # host -> outcome


@dataclass
class CookieScoping:
    """:func:`cookie_scoping`'s result: a table (``print`` it) and data for tests."""

    rows: list[ScopeRow]
    secure_context: dict[str, bool]  # host -> isSecureContext of a lab page over plain http
    status: dict[str, int | None]  # host -> the status of the response that set the cookies
    chromium: str = ""
    stored: dict[str, list[StoredCookie]] = field(default_factory=dict)  # host -> cookies

    def row(self, name: str) -> ScopeRow:
        return next(r for r in self.rows if r.name == name)

    def __str__(self) -> str:
        width = max(len(r.name) for r in self.rows)
        cells = {r.name: {h: r.on[h].cell() for h in HOSTS} for r in self.rows}
        widths = {h: max(len(f"set by {h}"), *(len(c[h]) for c in cells.values())) for h in HOSTS}
        head = [f"{'cookie':<{width}}"] + [f"{'set by ' + h:<{widths[h]}}" for h in HOSTS]
        lines = ["  ".join(head + ["what it tests"]).rstrip()]
        for r in self.rows:
            line = [f"{r.name:<{width}}"] + [f"{cells[r.name][h]:<{widths[h]}}" for h in HOSTS]
            lines.append("  ".join(line + [r.what]))
        off = f"http://{NOT_LOOPBACK} (not loopback; the lab answers as the proxy)"
        lines.append(f"the same from {off}:")
        for r in self.rows:
            if r.on[NOT_LOOPBACK].cell() != r.on[HOSTS[0]].cell():
                lines.append(f"  {r.name:<{width}}  {r.on[NOT_LOOPBACK].cell()}")
        lines.append("  (every other cookie as on 127.0.0.1)")
        every = (*HOSTS, NOT_LOOPBACK)
        secure = ", ".join(f"{h}: {'yes' if self.secure_context[h] else 'no'}" for h in every)
        status = ", ".join(f"{h}: {self.status[h]}" for h in every)
        host_only = [
            f"{r.name} on {h}"
            for r in self.rows
            if "domain=" in r.line.lower()
            for h in (*HOSTS, NOT_LOOPBACK)
            if r.on[h].stored and r.on[h].host_only
        ]
        lines.append(f"isSecureContext over plain http: {secure}")
        lines.append(f"status of the responses that set them: {status} (the server is never told)")
        lines.append(
            f"host-only despite their Domain (sent to that exact host only): "
            f"{', '.join(host_only) or 'none'}"
        )
        lines += [
            "Chromium's reasons: InvalidPrefix: the prefix's rules are broken; InvalidDomain: the",
            "  Domain does not cover the host; SecureOnly: Secure over http, off loopback;",
            "  NameValuePairExceedsMaxSize: over 4096 bytes of name and value.",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def _name(line: str) -> str:
    return line.split("=", 1)[0]


def cookie_scoping(browser: LabBrowser) -> CookieScoping:
    """Set :data:`~labserver.chapters.browser_pages.SCOPE_COOKIES` from ``127.0.0.1`` and from
    ``localhost`` (the same lab server under its two names), then load a page outside and one
    inside the ``Path`` one cookie is scoped to: which cookies Chromium kept, why it refused
    the others, and which each request carried."""
    lab = browser.lab
    port = urlsplit(lab.url).port
    loopback = [f"http://{host}:{port}" for host in HOSTS]
    runs = [(HOSTS, loopback, None), ((NOT_LOOPBACK,), [f"http://{NOT_LOOPBACK}"], lab.url)]
    outcomes: dict[str, dict[str, HostOutcome]] = {_name(line): {} for line, _ in SCOPE_COOKIES}
    secure_context, status, stored = {}, {}, {}
    for hosts, bases, proxy in runs:
        urls = [base + page for base in bases for page in (SETTER, ARRIVED, INSIDE)]
        mark = log_mark(lab)
        visits = visit(browser, [CLEAR, *urls], proxy=proxy)
        arrivals = iter(carried(lab, mark, urls))
        pages = iter(visits.pages)
        for host in hosts:
            setting, *_ = next(pages), next(pages), next(pages)
            _, *sent_with_pages = next(arrivals), next(arrivals), next(arrivals)
            sent_with = dict(zip((ARRIVED, INSIDE), sent_with_pages, strict=True))
            stored[host] = [c for c in visits.cookies if c.domain.lstrip(".") == host]
            kept = {c.name: not c.domain.startswith(".") for c in stored[host]}
            secure_context[host], status[host] = setting.secure_context, setting.status
            for name in outcomes:
                sent = tuple(page for page in (ARRIVED, INSIDE) if name in sent_with[page])
                refused, host_only = setting.refused.get(name, ()), kept.get(name, False)
                outcomes[name][host] = HostOutcome(name in kept, refused, sent, host_only)
    rows = [ScopeRow(_name(ln), ln, what, outcomes[_name(ln)]) for ln, what in SCOPE_COOKIES]
    return CookieScoping(rows, secure_context, status, browser.version, stored)


# --- cookies are per host, not per port ------------------------------------------------------

#: The cookie JupyterLab (Tornado) sets for its own CSRF check: Path=/, readable by scripts.
XSRF = "_xsrf"


def jupyter_like_app(environ, start_response):
    """A stand-in for JupyterLab on another port: its page sets an ``_xsrf`` cookie the way
    Jupyter's server does (``Path=/``, no ``HttpOnly``: its own script must read it)."""
    request = Request(environ)
    response = Response(
        "<!doctype html><title>JupyterLab (a stand-in)</title><p>JupyterLab's page</p>",
        mimetype="text/html",
    )
    if request.path == "/":
        response.set_cookie(XSRF, f"2|{secrets.token_hex(4)}|{secrets.token_hex(16)}", path="/")
    return response(environ, start_response)


@dataclass(frozen=True)
class PageView:
    """What one page of the lab saw of the other port's cookie."""

    where: str  # e.g. "http://127.0.0.1:<lab port>/bff/"
    document_cookie_names: tuple[str, ...]
    request_carried: tuple[str, ...]
    page_says: str


@dataclass
class PerHost:
    """:func:`cookies_per_host`'s result."""

    stored: StoredCookie  # the _xsrf cookie as Chromium keeps it
    set_by_other_port: bool  # DevTools' sourcePort is the stand-in's, not the lab's
    views: list[PageView]

    def __str__(self) -> str:
        c = self.stored
        lines = [
            f"{c.name} set by a JupyterLab stand-in at http://127.0.0.1:<other port>/ "
            f"({c.attributes}; set by the other port: {'yes' if self.set_by_other_port else 'no'})"
        ]
        for v in self.views:
            seen = ", ".join(v.document_cookie_names) or "nothing"
            carried = ", ".join(v.request_carried) or "no cookie"
            lines.append(f"{v.where}: document.cookie shows {seen}; the request carried {carried}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def cookies_per_host(browser: LabBrowser, path: str = "/bff/") -> PerHost:
    """Let a server on another port of ``127.0.0.1`` (a JupyterLab stand-in) set ``_xsrf``,
    then open the lab's ``path`` (chapter 05's BFF page by default) on ``127.0.0.1`` and on
    ``localhost``: what the page's script sees and what its request carried."""
    lab = browser.lab
    port = urlsplit(lab.url).port
    pages = [f"http://{host}:{port}{path}" for host in HOSTS]
    other = ServerThread(jupyter_like_app)
    try:
        mark = log_mark(lab)
        note = "document.getElementById('cookie-note')?.textContent ?? ''"
        visits = visit(browser, [CLEAR, other.url + "/", *pages], read=note)
    finally:
        other.stop()
    other_port = urlsplit(other.url).port
    (xsrf,) = [c for c in visits.cookies if c.name == XSRF]
    views = []
    for host, seen, sent in zip(HOSTS, visits.pages[1:], carried(lab, mark, pages), strict=True):
        names = tuple(p.split("=", 1)[0] for p in seen.document_cookie.split("; ") if p)
        views.append(PageView(f"http://{host}:<lab port>{path}", names, sent, seen.read))
    return PerHost(xsrf, xsrf.set_by_port == other_port != port, views)
