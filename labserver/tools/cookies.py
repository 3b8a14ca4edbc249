"""The cookie inspector: what a ``Set-Cookie`` header asks of a browser, and why a browser might
refuse it, or never send it back.

The header is parsed by the standard library (``http.cookies.SimpleCookie``); the checks are the
rules browsers apply (RFC 6265 and its update, "RFC 6265bis": prefixes, SameSite, size).
"""

from __future__ import annotations

import email.utils
import re
import time
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

#: Browsers drop a cookie whose name and value together exceed this (RFC 6265bis, section 5.6).
MAX_NAME_VALUE_BYTES = 4096

_EXPLAIN = {
    "path": "sent only with requests whose path starts with {value!r}",
    "domain": "sent to {value!r} and all its subdomains (without Domain: only to the exact host that set it)",
    "expires": "kept until {value} (without Expires or Max-Age: until the browser closes)",
    "max-age": "kept for {value} s from now (Max-Age wins over Expires)",
    "secure": "sent only over HTTPS (browsers also allow it on http://localhost)",
    "httponly": "hidden from page scripts: document.cookie does not show it",
    "samesite": "SameSite={value}: {samesite}",
}
_NEWER_ATTRIBUTES = (
    (r";\s*Partitioned\s*(?=;|$)", "Partitioned (CHIPS): stored separately for each top-level site that embeds it"),
    (r";\s*Priority=(\w+)\s*(?=;|$)", "Priority={value}: a Chrome-only hint for which cookies to evict first"),
)
_SAMESITE = {
    "strict": "never sent on requests started by another site",
    "lax": "sent on top-level GET navigations from other sites, not on their POSTs or sub-requests",
    "none": "sent on every cross-site request, which browsers allow only with Secure",
}


@dataclass
class CookieReport:
    """One cookie: its attributes explained, and problems (the browser will not store or send it)."""

    given: str
    name: str = ""
    value_bytes: int = 0
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


def inspect(header: str, *, url: str | None = None, api_url: str | None = None) -> CookieReport:
    """Explain one ``Set-Cookie`` header (with or without the ``Set-Cookie:`` name).

    ``url``: the address of the response that sets it (for Secure and Domain checks);
    ``api_url``: an address the cookie is meant to be sent to (for Path and Domain checks).
    Never raises: garbage gets a report saying why.
    """
    if not isinstance(header, str):
        return CookieReport(given=repr(header), error=f"expected text, got {type(header).__name__}")
    text = header.strip()
    if text.lower().startswith("set-cookie:"):
        text = text.split(":", 1)[1].strip()
    report = CookieReport(given=header)
    if not text or "=" not in text.split(";", 1)[0]:
        report.error = "expected name=value, then attributes separated by ';'"
        return report
    # Newer attributes the standard library's parser does not know yet: explained here, and
    # taken out before it parses the rest.
    newer = []
    for pattern, meaning in _NEWER_ATTRIBUTES:
        found = re.search(pattern, text)
        if found:
            newer.append(meaning.format(value=found.group(1) if found.groups() else ""))
            text = text[:found.start()] + text[found.end():]
    jar = SimpleCookie()
    try:
        jar.load(text)
    except CookieError as exc:
        report.error = f"the standard library's cookie parser refuses it ({exc})"
        return report
    if len(jar) != 1:
        report.error = ("no cookie could be read from it (a name with spaces or special characters?)"
                        if not jar else
                        f"found {len(jar)} name=value pairs ({', '.join(jar)}): a Set-Cookie header sets one "
                        "cookie, and an attribute browsers do not know is ignored by them")
        return report
    morsel = next(iter(jar.values()))
    report.name = morsel.key
    report.attributes.extend(newer)
    report.value_bytes = len(morsel.key.encode()) + len(morsel.value.encode())
    for attribute in ("path", "domain", "expires", "max-age", "secure", "httponly", "samesite"):
        value = morsel[attribute]
        if value:
            report.attributes.append(_EXPLAIN[attribute].format(
                value=value, samesite=_SAMESITE.get(str(value).lower(), "not a value browsers know")))
    _check(report, morsel, url, api_url)
    return report


def _split(report: CookieReport, url: str | None, label: str):
    """``urlsplit(url)``, or None with a problem noted when the URL cannot be read."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - raises ValueError for a broken IPv6 literal
    except ValueError as exc:
        report.problems.append(f"the {label} {url!r} is not a URL this inspector can read ({exc})")
        return None
    return parts


def default_path(url_path: str) -> str:
    """RFC 6265 section 5.1.4: the path a cookie set without Path gets, from the setting URL's path."""
    if not url_path.startswith("/") or url_path.count("/") == 1:
        return "/"
    return url_path[:url_path.rindex("/")]


def _check(report: CookieReport, morsel, url: str | None, api_url: str | None) -> None:
    secure, samesite = bool(morsel["secure"]), str(morsel["samesite"]).lower()
    path, domain = morsel["path"], str(morsel["domain"]).lstrip(".").lower()
    where = _split(report, url, "url")
    host = (where.hostname or "").lower() if where else ""
    if not path and where is not None:
        path = default_path(where.path or "/")
        if path != "/":
            report.warnings.append(f"no Path: browsers give it the folder of the URL that set it, {path}, "
                                   "so it is not sent to other folders; set Path=/ if that is meant")

    if report.value_bytes > MAX_NAME_VALUE_BYTES:
        report.problems.append(f"name and value are {report.value_bytes} bytes: browsers drop a cookie over "
                               f"{MAX_NAME_VALUE_BYTES} bytes, silently")
    if samesite == "none" and not secure:
        report.problems.append("SameSite=None without Secure: browsers reject the cookie")
    if samesite and samesite not in _SAMESITE:
        report.warnings.append(f"SameSite={morsel['samesite']} is not Strict, Lax or None: browsers treat it as Lax")
    if not samesite:
        report.warnings.append("no SameSite: Chrome and Edge treat it as Lax, Firefox and Safari as None; "
                               "say which you mean")
    if secure and where and where.scheme == "http" and host not in ("localhost", "127.0.0.1", "::1"):
        report.problems.append(f"Secure, but set over plain http://{host}: browsers ignore it there, "
                               "so the next request arrives without it (a login loop)")
    if report.name.startswith("__Secure-") and not secure:
        report.problems.append("the __Secure- prefix requires Secure: browsers reject the cookie")
    if report.name.startswith("__Host-"):
        broken = [rule for rule, ok in (("Secure", secure), ("Path=/", morsel["path"] == "/"),
                                        ("no Domain", not morsel["domain"])) if not ok]
        if broken:
            report.problems.append(f"the __Host- prefix requires Secure, Path=/ and no Domain; this one lacks "
                                   f"{', '.join(broken)}: browsers reject the cookie")
    if domain and host and not (host == domain or host.endswith("." + domain)):
        report.problems.append(f"Domain={morsel['domain']} does not match the host {host!r} that sets it: "
                               "browsers reject the cookie")
    target = _split(report, api_url, "api_url")
    if target is not None:
        target_host = (target.hostname or "").lower()
        target_path = target.path or "/"
        if path and not _path_matches(target_path, path):
            report.problems.append(f"Path={path} does not cover {target_path}: the cookie is not sent there")
        expected = domain or host
        if expected and target_host and not (target_host == expected or (domain and target_host.endswith("." + domain))):
            report.problems.append(f"the cookie belongs to {expected!r}, so it is not sent to {target_host!r}")
        if secure and target.scheme == "http" and target_host not in ("localhost", "127.0.0.1", "::1"):
            report.problems.append(f"Secure: never sent to plain http://{target_host}")
    name_lower = report.name.lower()
    if any(word in name_lower for word in ("session", "sid", "auth", "token")) and not morsel["httponly"]:
        report.warnings.append("this looks like a session cookie without HttpOnly: page scripts (and XSS) can read it")
    max_age = str(morsel["max-age"]).strip()
    if max_age and re.fullmatch(r"-?\d+", max_age) and int(max_age) <= 0:
        report.warnings.append(f"Max-Age={max_age}: this header deletes the cookie")
    elif morsel["expires"] and not max_age:
        try:
            expires = email.utils.parsedate_to_datetime(str(morsel["expires"]))
        except (TypeError, ValueError, IndexError):
            report.warnings.append(f"Expires={morsel['expires']} is not an HTTP date: browsers ignore it")
        else:
            if expires.tzinfo is not None and expires.timestamp() <= time.time():
                report.warnings.append("Expires is in the past: this header deletes the cookie")


def _path_matches(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 section 5.1.4: does a cookie with ``cookie_path`` go with ``request_path``?"""
    if request_path == cookie_path:
        return True
    if request_path.startswith(cookie_path):
        return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"
    return False
