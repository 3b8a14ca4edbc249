"""Chapter 9's token in a URL: it leaks through the access log, and the attacker replays it.

    >>> leak = url_leak(Attacker(lab))   # lab = start_lab(vulnerable=True)
    >>> print(leak)                      # the log lines the attacker read, tokens abbreviated
    >>> token_in_url(Attacker(lab))      # the same, as the battery's AttackResult

The victim's app calls ``/vulnerable/url-token/me?access_token=...`` (RFC 6750 section 2.3, which
says it "SHOULD NOT"). The attacker is anyone who reads the server's logs (an operator, a log
service, a leaked log file: ``/vulnerable/url-token/access-log`` stands for them); the log line
holds the whole token, which the attacker replays. Against the hardened lab the victim's same
request to ``/api/me`` is refused with a 400, and the log holds only the token's first
characters, which the attacker replays in vain. No browser is involved: the ``Referer`` leak is
:mod:`labserver.browser.referer`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from ..requestlog import abbreviate
from .attacks import Attacker, AttackResult

VULNERABLE_PATH = "/vulnerable/url-token/me"
HARDENED_PATH = "/api/me"
LOG_PATH = "/vulnerable/url-token/access-log?n=50"
RULE = (
    "RFC 6750 section 2.3, RFC 9700 section 4.3.2: a token goes in the Authorization header, "
    "never in a URL (logs and Referer keep URLs)"
)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


def shorten(text: str) -> str:
    """``text`` with every JWT in it abbreviated (a notebook prints no whole token)."""
    return _JWT.sub(lambda m: abbreviate(m.group()), text)


def _verdict(status: int, body: dict) -> str:
    if status == 200:
        return f"accepted: sub {body.get('sub')!r}, roles {body.get('roles')}"
    return f"{status} {body.get('error_description', body.get('error', ''))}"


def _token_in(line: str) -> str:
    """The access_token in the query of an access-log line ``METHOD URL STATUS``, or ""."""
    parts = line.split(" ")
    query = urlsplit(parts[1]).query if len(parts) == 3 else ""
    return parse_qs(query).get("access_token", [""])[0]


def _from_log(attacker: Attacker, path: str) -> tuple[str, str]:
    """The newest line of the lab's access log for ``path`` with an access_token, and that
    token as the log holds it; ``("", "")`` if there is none."""
    lines = attacker.client().get(LOG_PATH).json()["lines"]
    for line in reversed(lines):
        parts = line.split(" ")
        if len(parts) == 3 and urlsplit(parts[1]).path == path and _token_in(line):
            return line, _token_in(line)
    return "", ""


@dataclass(frozen=True)
class UrlLeak:
    """What the victim's request, the access log and the attacker's replay did, on each side."""

    vulnerable_status: int  # the victim's request with the token in the URL
    vulnerable_line: str  # the log line the attacker found (the whole token in it)
    stolen_whole: bool  # the token read from the log is the victim's, all of it
    replay: tuple[int, dict]  # the attacker's request with the stolen token
    hardened: tuple[int, dict]  # the victim's same request to the hardened API
    hardened_line: str  # its log line, the token abbreviated
    hardened_replay: tuple[int, dict]  # the attacker's request with what that log kept

    def result(self) -> AttackResult:
        """This leak as a row of the battery."""
        stolen = self.replay[0] == 200 and self.replay[1].get("sub") == "alice"
        refused = self.hardened[0] == 400 and self.hardened_replay[0] == 401
        return AttackResult(
            attack="token in a URL",
            vulnerable=f"{_verdict(*self.replay)} (the token read from the access log)",
            hardened=f"{_verdict(*self.hardened)}; the log kept {self.kept!r}",
            rule=RULE,
            vulnerable_accepted=stolen and self.stolen_whole,
            hardened_refused=refused,
        )

    @property
    def kept(self) -> str:
        """What the hardened lab's log kept of the token ("" if it logged no token)."""
        return _token_in(self.hardened_line)

    def _held(self, whole: bool, kept: str) -> str:
        if whole:
            return "the log holds the whole token"
        return f"the log holds {len(kept.rstrip('…'))} characters of it" if kept else "no token"

    def __str__(self) -> str:
        return "\n".join(
            [
                "alice's app sends her token in the URL; the attacker reads the lab's access log",
                f"vulnerable: {shorten(self.vulnerable_line)}",
                f"            {self._held(self.stolen_whole, self.vulnerable_line)}; "
                f"replayed: {_verdict(*self.replay)}",
                f"hardened:   {shorten(self.hardened_line)}",
                f"            {_verdict(*self.hardened)}",
                f"            {self._held(False, self.kept)}; "
                f"replayed: {_verdict(*self.hardened_replay)}",
            ]
        )

    def __repr__(self) -> str:
        return str(self)


def _json(response) -> dict:
    return response.json() if response.headers.get("Content-Type") == "application/json" else {}


def url_leak(attacker: Attacker) -> UrlLeak:
    """Run the leak against the vulnerable endpoint and the hardened lab (see the module)."""
    victim_token = attacker.token("alice")  # alice's own, as her app holds it
    victim = attacker.client()
    first = victim.get(VULNERABLE_PATH, params={"access_token": victim_token})
    line, stolen = _from_log(attacker, VULNERABLE_PATH)
    replay = attacker.client().get(VULNERABLE_PATH, params={"access_token": stolen})

    second = victim.get(HARDENED_PATH, params={"access_token": victim_token})
    hardened_line, kept = _from_log(attacker, HARDENED_PATH)
    # all the log kept is the token's first characters (and an ellipsis, which is not sent)
    hardened_replay = attacker.call(HARDENED_PATH, kept.rstrip("…") or "nothing-was-logged")
    return UrlLeak(
        vulnerable_status=first.status_code,
        vulnerable_line=line,
        stolen_whole=stolen == victim_token,
        replay=(replay.status_code, _json(replay)),
        hardened=(second.status_code, _json(second)),
        hardened_line=hardened_line,
        hardened_replay=hardened_replay,
    )


def token_in_url(attacker: Attacker) -> AttackResult:
    """The battery's row: the token in a URL, read from the access log and replayed."""
    return url_leak(attacker).result()
