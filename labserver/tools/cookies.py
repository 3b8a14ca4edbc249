"""The cookie inspector: what a ``Set-Cookie`` header asks of a browser, and why a browser might
refuse it, or never send it back.

The header is read the way browsers read it: RFC 6265 section 5.2, which is deliberately lenient
(a value with spaces or quotes, an attribute nobody knows, an unreadable date: each is stored,
ignored or skipped, never an error). The checks are the rules browsers then apply (RFC 6265 and
its update, "RFC 6265bis": prefixes, SameSite, size). Where the lenient reading stores something
the strict grammar for servers (section 4.1.1) forbids, the report says what a Python server
(werkzeug, as in Flask, and ``http.cookies``) reads back when the browser returns it.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from werkzeug.sansio.http import parse_cookie  # what Flask's request.cookies uses

#: Browsers drop a cookie whose name and value together exceed this (RFC 6265bis, section 5.6).
MAX_NAME_VALUE_BYTES = 4096

_EXPLAIN = {
    "path": "sent only with requests whose path starts with {value!r}",
    "domain": "sent to {value!r} and all its subdomains "
    "(without Domain: only to the exact host that set it)",
    "expires": "kept until {value} (without Expires or Max-Age: until the browser closes)",
    "max-age": "kept for {value} s from now (Max-Age wins over Expires)",
    "secure": "sent only over HTTPS (browsers also allow it on http://localhost)",
    "httponly": "hidden from page scripts: document.cookie does not show it",
    "samesite": "SameSite={value}: {samesite}",
    "partitioned": "Partitioned (CHIPS): stored separately for each top-level site that embeds it",
    "priority": "Priority={value}: a Chrome-only hint for which cookies to evict first",
}
_SAMESITE = {
    "strict": "never sent on requests started by another site",
    "lax": "sent on top-level GET navigations from other sites, not on their POSTs or sub-requests",
    "none": "sent on every cross-site request, which browsers allow only with Secure",
}
# RFC 6265 section 4.1.1: what a server should put in a cookie's name (a token) and value.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_OCTETS = r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*"
_COOKIE_VALUE = re.compile(f'{_OCTETS}|"{_OCTETS}"')
# RFC 6265bis section 5.6: a header holding one of these control characters is ignored entirely.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass
class CookieReport:
    """One cookie: its attributes explained, and problems (a browser will not store or send it)."""

    given: str
    name: str = ""
    value: str = ""
    value_bytes: int = 0  # of name and value together, as browsers count them
    attributes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when a browser would store the cookie and send it where it is needed."""
        return not self.error and not self.problems

    def text(self) -> str:
        if self.error:
            return f"not a Set-Cookie header: {self.error}"
        lines = [f"cookie {self.name!r} ({self.value_bytes} bytes of name and value)"]
        lines += [f"  {a}" for a in self.attributes]
        lines += [f"  ✗ {p}" for p in self.problems]
        lines += [f"  ! {w}" for w in self.warnings]
        if not self.problems:
            lines.append("  ✓ a browser would store this cookie and send it back as described")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text())


@dataclass
class Cookie:
    """A ``Set-Cookie`` header as a browser stores it: RFC 6265 section 5.2, the last attribute of
    each name winning (section 5.3). Attributes a browser ignores are listed in ``ignored``."""

    name: str
    value: str
    path: str | None = None  # None: no usable Path, so the browser uses the default path
    domain: str = ""  # lower case, without a leading dot; "" for a host-only cookie
    expires: datetime | None = None
    max_age: int | None = None
    secure: bool = False
    httponly: bool = False
    samesite: str = ""  # as written
    partitioned: bool = False
    priority: str = ""
    ignored: list[str] = field(default_factory=list)  # why each ignored attribute was ignored


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_DELIMITER = re.compile(r"[\x09\x20-\x2f\x3b-\x40\x5b-\x60\x7b-\x7e]+")
_DATE_TIME = re.compile(r"([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[^0-9].*)?", re.S)
_DATE_DAY = re.compile(r"([0-9]{1,2})(?:[^0-9].*)?", re.S)
_DATE_YEAR = re.compile(r"([0-9]{2,4})(?:[^0-9].*)?", re.S)


def cookie_date(text: str) -> datetime | None:
    """A cookie's ``Expires`` date read by RFC 6265 section 5.1.1 (the algorithm browsers use:
    it finds a time, a day, a month and a year among the words, in any order), or None."""
    time_of_day = day = month = year = None
    for word in _DATE_DELIMITER.split(text):
        if not word:
            continue
        if time_of_day is None and (found := _DATE_TIME.fullmatch(word)):
            time_of_day = tuple(int(n) for n in found.groups())
        elif day is None and (found := _DATE_DAY.fullmatch(word)):
            day = int(found.group(1))
        elif month is None and word[:3].lower() in _MONTHS:
            month = _MONTHS.index(word[:3].lower()) + 1
        elif year is None and (found := _DATE_YEAR.fullmatch(word)):
            year = int(found.group(1))
    if None in (time_of_day, day, month, year):
        return None
    year += 1900 if 70 <= year <= 99 else 2000 if year <= 69 else 0
    hour, minute, second = time_of_day
    if not 1 <= day <= 31 or year < 1601 or hour > 23 or minute > 59 or second > 59:
        return None
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:  # a day the month does not have, such as 30 February
        return None


def parse_set_cookie(text: str) -> Cookie | str:
    """Read a ``Set-Cookie`` value as a browser does (RFC 6265 section 5.2), or say why a browser
    ignores the whole header."""
    if _CONTROL.search(text):
        return (
            "it holds a control character (a line break? paste one Set-Cookie header at a "
            "time): browsers ignore the whole header (RFC 6265bis, section 5.6)"
        )
    pair, _, rest = text.partition(";")
    if "=" not in pair:
        return (
            f"no '=' in {pair.strip()!r}: RFC 6265 browsers ignore the header; newer ones "
            "(RFC 6265bis) store a cookie with an empty name, which no server reads by name. "
            "Write name=value"
        )
    name, _, value = pair.partition("=")
    name, value = name.strip(" \t"), value.strip(" \t")
    if not name:
        return (
            "an empty name ('=value'): RFC 6265 browsers ignore the header; newer ones "
            "(RFC 6265bis) store a nameless cookie, which no server reads by name. "
            "Write name=value"
        )
    cookie = Cookie(name, value)
    for av in rest.split(";") if rest else []:
        key, has_value, raw = av.partition("=")
        key, raw = key.strip(" \t"), raw.strip(" \t")
        if key:
            _attribute(cookie, key, raw, av.strip(" \t"), bool(has_value))
    return cookie


def _attribute(cookie: Cookie, key: str, raw: str, written: str, has_value: bool) -> None:
    """Apply one attribute to ``cookie``, as RFC 6265 section 5.2.1 to 5.2.6 say (and 6265bis for
    SameSite); a later attribute of the same name replaces an earlier one."""
    lower = key.lower()
    if lower == "expires":
        date = cookie_date(raw)
        if date is None:
            cookie.ignored.append(
                f"Expires={raw} is not a date browsers can read (RFC 6265 "
                "section 5.1.1): they ignore it, so without Max-Age this is a "
                "session cookie, kept until the browser closes"
            )
        else:
            cookie.expires = date
    elif lower == "max-age":
        if re.fullmatch(r"-?[0-9]+", raw):
            cookie.max_age = int(raw)
        else:
            cookie.ignored.append(
                f"Max-Age={raw} is not a whole number of seconds: browsers ignore it"
            )
    elif lower == "domain":
        if raw:
            cookie.domain = raw.lstrip(".").lower()
        else:
            cookie.ignored.append(
                "Domain= is empty: browsers ignore it (the cookie stays host-only)"
            )
    elif lower == "path":
        if raw.startswith("/"):
            cookie.path = raw
        else:
            cookie.path = None
            cookie.ignored.append(
                f"Path={raw} does not start with '/': browsers ignore it and "
                "use the default path (the folder of the URL that set it)"
            )
    elif lower == "secure":
        cookie.secure = True
    elif lower == "httponly":
        cookie.httponly = True
    elif lower == "samesite":
        cookie.samesite = raw
    elif lower == "partitioned":
        cookie.partitioned = True
    elif lower == "priority":
        cookie.priority = raw
    elif has_value:
        cookie.ignored.append(
            f"{written!r} is not an attribute browsers know (its name is "
            f"{key!r}): they ignore it. A Set-Cookie header sets one cookie; "
            "send one header per cookie"
        )
    else:
        cookie.ignored.append(f"{key!r} is not an attribute browsers know: they ignore it")


def inspect(header: str, *, url: str | None = None, api_url: str | None = None) -> CookieReport:
    """Explain one ``Set-Cookie`` header (with or without the ``Set-Cookie:`` name).

    ``url``: the address of the response that sets it (for Secure and Domain checks);
    ``api_url``: an address the cookie is meant to be sent to (for Path and Domain checks).
    Never raises: garbage gets a report saying why.
    """
    if not isinstance(header, str):
        return CookieReport(given=repr(header), error=f"expected text, got {type(header).__name__}")
    text = header.strip()
    report = CookieReport(given=header)
    if re.match(r"cookie\s*:", text, re.I):
        report.error = (
            "this is a request header (Cookie:), which a browser sends: it carries "
            "only the name=value pairs of cookies already stored, with no attributes. "
            "Paste the response's Set-Cookie header instead (one per cookie)"
        )
        return report
    if re.match(r"set-cookie\s*:", text, re.I):
        text = text.split(":", 1)[1].strip()
    if not text:
        report.error = "expected name=value, then attributes separated by ';'"
        return report
    cookie = parse_set_cookie(text)
    if isinstance(cookie, str):
        report.error = cookie
        return report
    report.name, report.value = cookie.name, cookie.value
    report.value_bytes = len(f"{cookie.name}{cookie.value}".encode("utf-8", "replace"))
    _explain(report, cookie)
    report.warnings.extend(cookie.ignored)
    _grammar(report, cookie)
    _check(report, cookie, url, api_url)
    return report


def _explain(report: CookieReport, cookie: Cookie) -> None:
    shown = {
        "path": cookie.path,
        "domain": cookie.domain,
        "expires": cookie.expires and cookie.expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "max-age": cookie.max_age,
        "secure": cookie.secure,
        "httponly": cookie.httponly,
        "samesite": cookie.samesite,
        "partitioned": cookie.partitioned,
        "priority": cookie.priority,
    }
    for attribute, value in shown.items():
        if value or (attribute == "max-age" and value is not None):
            samesite = _SAMESITE.get(str(value).lower(), "not a value browsers know")
            report.attributes.append(_EXPLAIN[attribute].format(value=value, samesite=samesite))


def _grammar(report: CookieReport, cookie: Cookie) -> None:
    """Warn when the cookie is outside the grammar servers must send (RFC 6265 section 4.1.1),
    with what Python servers read back when the browser returns it."""
    bad_name = not _TOKEN.fullmatch(cookie.name)
    bad_value = not _COOKIE_VALUE.fullmatch(cookie.value)
    if not (bad_name or bad_value):
        return
    sent = f"{cookie.name}={cookie.value}"
    back = parse_cookie(sent)
    werkzeug = repr(back[cookie.name]) if cookie.name in back else "nothing"
    jar = SimpleCookie()
    try:
        jar.load(sent)
        stdlib = repr(jar[cookie.name].value) if cookie.name in jar else "nothing"
    except CookieError:
        stdlib = "nothing"
    what = "name and value" if bad_name and bad_value else "name" if bad_name else "value"
    report.warnings.append(
        f"the {what} is outside RFC 6265 section 4.1.1 (no spaces, double quotes, commas, "
        "semicolons, backslashes or non-ASCII): browsers store it anyway and send back "
        f"'Cookie: {sent}', from which werkzeug (Flask's request.cookies) reads {werkzeug} and "
        f"Python's http.cookies reads {stdlib}; encode the value (base64url, or URL-encoding)"
    )


def _split(report: CookieReport, url: str | None, label: str):
    """``urlsplit(url)``, or None with a problem noted unless ``url`` is http(s) with a host."""
    if not url:
        return None
    example = (
        "such as https://app.example.com/login"
        if label == "URL that sets it"
        else "such as https://app.example.com/api/me"
    )
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname  # raises ValueError for a broken IPv6 literal
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        report.problems.append(
            f"the {label}, {url!r}, is not a URL this inspector can read ({exc})"
        )
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        report.problems.append(
            f"the {label}, {url!r}, is not a URL this inspector can read: "
            f"it needs http:// or https:// and a host, {example}"
        )
        return None
    return parts


def _port(parts) -> int:
    return parts.port or (443 if parts.scheme.lower() == "https" else 80)


def default_path(url_path: str) -> str:
    """RFC 6265 section 5.1.4: the path a cookie without Path gets, from the setting URL's."""
    if not url_path.startswith("/") or url_path.count("/") == 1:
        return "/"
    return url_path[: url_path.rindex("/")]


_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check(report: CookieReport, cookie: Cookie, url: str | None, api_url: str | None) -> None:
    secure, samesite = cookie.secure, cookie.samesite.lower()
    path, domain = cookie.path, cookie.domain
    where = _split(report, url, "URL that sets it")
    host = (where.hostname or "").lower() if where else ""
    if not path and where is not None:
        path = default_path(where.path or "/")
        if path != "/":
            report.warnings.append(
                f"no Path: browsers give it the folder of the URL that set "
                f"it, {path}, so it is not sent to other folders; set Path=/ "
                "if that is meant"
            )

    if report.value_bytes > MAX_NAME_VALUE_BYTES:
        report.problems.append(
            f"name and value are {report.value_bytes} bytes: browsers drop a "
            f"cookie over {MAX_NAME_VALUE_BYTES} bytes, silently"
        )
    if samesite == "none" and not secure:
        report.problems.append("SameSite=None without Secure: browsers reject the cookie")
    if samesite and samesite not in _SAMESITE:
        report.warnings.append(
            f"SameSite={cookie.samesite} is not Strict, Lax or None: browsers treat it as Lax"
        )
    if not samesite:
        report.warnings.append(
            "no SameSite: Chrome and Edge treat it as Lax, Firefox and Safari "
            "as None; say which you mean"
        )
    if secure and where and where.scheme.lower() == "http" and host not in _LOOPBACK:
        report.problems.append(
            f"Secure, but set over plain http://{host}: browsers ignore it "
            "there, so the next request arrives without it (a login loop)"
        )
    if report.name.startswith("__Secure-") and not secure:
        report.problems.append("the __Secure- prefix requires Secure: browsers reject the cookie")
    # A Domain equal to the IP address that sets it reaches that address alone (an IP address
    # has no subdomains): Chromium keeps such a cookie host-only, and lets a __Host- cookie have
    # it (RFC 6265bis since httpwg/http-extensions#3513).
    ip_host_only = bool(domain) and domain == host and _is_ip_address(host)
    if ip_host_only:
        report.attributes = [
            f"Domain={domain} is the IP address that sets it, which has no subdomains: the "
            f"cookie stays host-only, sent to {host} alone"
            if a.startswith("sent to ") and "subdomains" in a
            else a
            for a in report.attributes
        ]
    if report.name.startswith("__Host-"):
        broken = [
            rule
            for rule, ok in (
                ("Secure", secure),
                ("Path=/", cookie.path == "/"),
                ("no Domain", not cookie.domain or ip_host_only),
            )
            if not ok
        ]
        if broken:
            report.problems.append(
                "the __Host- prefix requires Secure, Path=/ and no Domain; "
                f"this one lacks {', '.join(broken)}: browsers reject the "
                "cookie"
            )
    if domain and host and not (host == domain or host.endswith("." + domain)):
        report.problems.append(
            f"Domain={domain} does not match the host {host!r} that sets it: "
            "browsers reject the cookie"
        )
    target = _split(report, api_url, "URL it is sent to")
    if target is not None:
        _check_target(report, cookie, target, where, path)
    session_like = any(word in report.name.lower() for word in ("session", "sid", "auth", "token"))
    if session_like and not cookie.httponly:
        report.warnings.append(
            "this looks like a session cookie without HttpOnly: page scripts (and XSS) can read it"
        )
    if cookie.max_age is not None and cookie.max_age <= 0:
        report.warnings.append(f"Max-Age={cookie.max_age}: this header deletes the cookie")
    elif cookie.max_age is None and cookie.expires and cookie.expires.timestamp() <= time.time():
        report.warnings.append("Expires is in the past: this header deletes the cookie")


def _check_target(report: CookieReport, cookie: Cookie, target, where, path: str | None) -> None:
    """Would the cookie go with a request to ``target``?"""
    host = (where.hostname or "").lower() if where else ""
    target_host, target_path = (target.hostname or "").lower(), target.path or "/"
    if path and not _path_matches(target_path, path):
        report.problems.append(
            f"Path={path} does not cover {target_path}: the cookie is not sent there"
        )
    domain = cookie.domain
    expected = domain or host
    if (
        expected
        and target_host
        and not (target_host == expected or (domain and target_host.endswith("." + domain)))
    ):
        report.problems.append(
            f"the cookie belongs to {expected!r}, so it is not sent to {target_host!r}"
        )
    if cookie.secure and target.scheme.lower() == "http" and target_host not in _LOOPBACK:
        report.problems.append(f"Secure: never sent to plain http://{target_host}")
    if where is not None and target_host == host and _port(target) != _port(where):
        scripts = (
            "HttpOnly keeps it from their pages' scripts"
            if cookie.httponly
            else "their pages' scripts can read it too: it is not HttpOnly"
        )
        report.warnings.append(
            f"sent to {host}:{_port(target)} too, though {host}:{_port(where)} set it: cookies "
            "are per host, not per port (RFC 6265 section 8.5), so every server on this host "
            f"gets it; {scripts}"
        )


def _path_matches(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 section 5.1.4: does a cookie with ``cookie_path`` go with ``request_path``?"""
    if request_path == cookie_path:
        return True
    if request_path.startswith(cookie_path):
        return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    return False
