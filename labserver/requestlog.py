"""The lab's request log: what reached the server, and which credential came with it.

werkzeug's own access log would print from the server thread into whichever notebook cell
happens to be running; the lab silences it and records requests here instead, so a notebook
can show them on purpose (``lab.request_log.show()``).

Like the credential column, the path never holds a whole credential: the values of the query
parameters in :data:`REDACTED_PARAMETERS` are abbreviated (:func:`redact_query`), except under
the prefixes a deliberately vulnerable chapter asks to log in full
(:meth:`RequestLog.keep_full_urls_under`), as an ordinary access log does.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote_plus

from werkzeug.datastructures import Authorization
from werkzeug.sansio.http import parse_cookie

from .store import counting_round_trips

#: How much of a secret value the log shows; enough to tell two credentials apart.
_VISIBLE = 8
#: Arrival order across every log in this process (chapter 04 merges several services' logs).
_ARRIVALS = itertools.count(1)


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the lab saw it."""

    number: int
    time: float  # lab-clock seconds
    service: str
    method: str
    path: str
    status: int
    credential: str  # e.g. "cookie session=Xq3v9…", "Bearer eyJhbGci…", "Basic alice", "-"
    credential_bytes: int  # size of the Cookie and Authorization headers the client sent
    store_round_trips: int  # store commands (or whole pipelines) made to answer it
    arrived: int = 0  # arrival order among all services' requests in this process
    agent: str = ""  # the client's User-Agent (the lab's clients name themselves)
    cookies: tuple[str, ...] = ()  # the names of the cookies that came with it, in order (a
    # name twice if two cookies of that name came, e.g. with different paths)
    #: A browser's ``Sec-Fetch-Site``: same-origin, same-site, cross-site, none; "" if absent
    fetch_site: str = ""


#: Query parameters whose values the log abbreviates: credentials of RFC 6749, 6750, 7009, 7521,
#: 7636 and 8693, and a password, should any client put one in a URL. Not the authorization
#: ``code``: it travels in the redirect's URL by design (one use, minutes, bound to its PKCE
#: verifier), and chapter 04 shows it going through the browser in this log.
REDACTED_PARAMETERS = frozenset(
    (
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "code_verifier",
        "token",
        "password",
        "client_assertion",
        "assertion",
        "subject_token",
        "actor_token",
    )
)


def redact_query(query: str) -> str:
    """``query`` (as sent, percent-encoded) with the values of :data:`REDACTED_PARAMETERS`
    abbreviated; names are compared decoded, as the app reads them (``access%5Ftoken`` too)."""
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and unquote_plus(name, errors="replace") in REDACTED_PARAMETERS:
            part = f"{name}={abbreviate(value)}"
        parts.append(part)
    return "&".join(parts)


def abbreviate(secret: str) -> str:
    """The first few characters of ``secret`` and an ellipsis (whole if it is short)."""
    return secret if len(secret) <= _VISIBLE else secret[:_VISIBLE] + "…"


def credential_bytes(environ: dict) -> int:
    """Bytes of credential the client sent: its ``Cookie`` and ``Authorization`` header lines."""
    size = 0
    for name, header in (("Cookie", "HTTP_COOKIE"), ("Authorization", "HTTP_AUTHORIZATION")):
        if environ.get(header):
            size += len(f"{name}: ".encode()) + len(environ[header].encode("latin-1", "replace"))
    return size


def cookie_pairs(environ: dict) -> list[tuple[str, str]]:
    """The (name, value) pairs of the request's ``Cookie`` header, in order, duplicates kept.
    Bytes that are not UTF-8 become U+FFFD (werkzeug's own parser raises on them)."""
    header = environ.get("HTTP_COOKIE", "")
    text = header.encode("latin-1", "replace").decode("utf-8", "replace")
    return parse_cookie(text, cls=list)  # a list keeps the header's order; a MultiDict groups names


def describe_credential(environ: dict, cookies: list[tuple[str, str]] | None = None) -> str:
    """Which credential a request presented, abbreviated so the log never holds a whole one.
    ``cookies``: the request's :func:`cookie_pairs`, if already parsed."""
    shown = []
    header = environ.get("HTTP_AUTHORIZATION")
    if header:
        auth = Authorization.from_header(header)
        if auth is None:
            shown.append("Authorization (unparsable)")
        elif auth.type == "basic":
            shown.append(f"Basic {auth.username}")
        elif auth.token:
            shown.append(f"{auth.type.capitalize()} {abbreviate(auth.token)}")
        else:
            shown.append(f"Authorization {auth.type}")
    for name, value in cookie_pairs(environ) if cookies is None else cookies:
        shown.append(f"cookie {name}={abbreviate(value)}")
    return ", ".join(shown) or "-"


class RequestLog:
    """The last ``maxlen`` requests the lab answered, newest last; thread-safe."""

    def __init__(self, clock_now: Callable[[], float], service: str = "lab", maxlen: int = 1000):
        self._now = clock_now
        self.service = service
        self._entries: deque[LoggedRequest] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._count = 0
        self._full_urls_under: tuple[str, ...] = ()

    def keep_full_urls_under(self, prefix: str) -> None:
        """Log the query of paths under ``prefix`` as it came, credentials included: what an
        ordinary access log does (chapter 9's token-in-a-URL endpoints show the consequence)."""
        self._full_urls_under += (prefix,)

    def arrived(self) -> int:
        """A number for a request that has just arrived: requests are numbered in arrival
        order, so a request that the server makes while answering another (a BFF calling the
        API) comes right after it."""
        with self._lock:
            self._count += 1
            return self._count

    def record(
        self,
        environ: dict,
        status: int,
        store_round_trips: int = 0,
        number: int | None = None,
        arrived: int | None = None,
    ) -> None:
        """Add one request (called by :meth:`middleware` for every response)."""
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        if query:
            full = any(
                path == p or path.startswith(p.rstrip("/") + "/") for p in self._full_urls_under
            )
            path += "?" + (query if full else redact_query(query))
        number = self.arrived() if number is None else number
        arrived = next(_ARRIVALS) if arrived is None else arrived
        cookies = cookie_pairs(environ)  # parsed once, for the credential and the names
        entry = LoggedRequest(
            number=number,
            time=self._now(),
            service=self.service,
            method=environ.get("REQUEST_METHOD", "?"),
            path=path,
            status=status,
            credential=describe_credential(environ, cookies),
            credential_bytes=credential_bytes(environ),
            store_round_trips=store_round_trips,
            arrived=arrived,
            agent=environ.get("HTTP_USER_AGENT", "")[:60],
            cookies=tuple(name for name, _ in cookies),
            fetch_site=environ.get("HTTP_SEC_FETCH_SITE", "")[:20],
        )
        with self._lock:
            self._entries.append(entry)

    def middleware(self, wsgi_app: Callable) -> Callable:
        """Wrap a WSGI app so that every response it starts is recorded here."""

        def logged_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
            number, arrived = self.arrived(), next(_ARRIVALS)
            with counting_round_trips() as round_trips:

                def recording_start_response(status: str, headers, exc_info=None):
                    try:
                        self.record(
                            environ, int(status.split(" ", 1)[0]), round_trips[0], number, arrived
                        )
                    except Exception:  # a log must never break a response
                        pass
                    return start_response(status, headers, exc_info)

                return wsgi_app(environ, recording_start_response)

        return logged_app

    @property
    def entries(self) -> list[LoggedRequest]:
        """A copy of the answered requests, in the order they arrived."""
        with self._lock:
            return sorted(self._entries, key=lambda r: r.number)

    def last(self, n: int = 1) -> list[LoggedRequest]:
        """The ``n`` most recently arrived of the answered requests, in arrival order."""
        return self.entries[-n:] if n > 0 else []

    def clear(self) -> None:
        """Forget every recorded request (numbering goes on)."""
        with self._lock:
            self._entries.clear()

    def table(self, n: int = 10) -> str:
        """The newest ``n`` requests as an aligned text table.

        ``store``: store round trips the server made to answer; ``bytes``: size of the
        credential headers (Cookie, Authorization) the client sent.
        """
        rows = self.last(n)
        if not rows:
            return "(no requests yet)"
        width = max(len(f"{r.method} {r.path}") for r in rows)
        lines = [f"{'#':>4}  {'request':<{width}}  status  store  bytes  credential presented"]
        for r in rows:
            lines.append(
                f"{r.number:>4}  {r.method + ' ' + r.path:<{width}}  {r.status:>6}  "
                f"{r.store_round_trips:>5}  {r.credential_bytes:>5}  {r.credential}"
            )
        return "\n".join(lines)

    def show(self, n: int = 10) -> None:
        """Print :meth:`table` (the notebooks' way of showing what crossed the wire)."""
        print(self.table(n))

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"<RequestLog: {len(self)} requests recorded; .show() prints the newest>"
