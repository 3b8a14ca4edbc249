"""Scoring the capstone: each finding is replayed against the running target.

    >>> lab.capstone.score([Finding("/api/orders", "alg-none", forged_token)])

A :class:`Finding` names an endpoint, a flaw of the catalogue and an exploit: a forged bearer
token (for the token flaws: it must be accepted with the role ``admin``), a :class:`Request`
(for the session flaws: it must open the victim carol's session; for ``unbound-refresh``: a
refresh that gives a token of carol's), or carol's own token, read where it leaked (for
``token-in-url``: one her dashboard sent in a URL). A finding scores +1 when its
exploit works *and* the flaw is the one on that endpoint; any other claim costs 1 (the total
never goes below 0); a claim made twice counts once. The report never says more than the
learner could see by sending the exploit themselves, so it is no oracle for where flaws are.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt

from .catalogue import BEARER_PLACES, FLAWS, PLACES

#: Where a forged token for a flaw of the token endpoint itself (the weak secret) is replayed.
ADMIN_PATH = "/api/admin/report"


@dataclass(frozen=True)
class Request:
    """A request the scorer sends to the target as it is (paths of the target only)."""

    method: str = "GET"
    path: str = "/account"
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass(frozen=True)
class Finding:
    """A claim: ``flaw`` (a catalogue id) sits on ``endpoint``, shown by ``exploit``."""

    endpoint: str
    flaw: str
    exploit: str | Request


@dataclass(frozen=True)
class Line:
    """One finding's verdict."""

    points: int  # +1, -1, or 0 for a repeated claim
    endpoint: str
    flaw: str
    verdict: str


@dataclass
class ScoreReport:
    """The findings' verdicts, line by line, and the total."""

    seed: int | str
    flaws: int  # how many the target has
    lines: list[Line] = field(default_factory=list)
    hints_used: int = 0
    error: str = ""

    @property
    def found(self) -> int:
        return sum(line.points > 0 for line in self.lines)

    @property
    def false_claims(self) -> int:
        return sum(line.points < 0 for line in self.lines)

    @property
    def score(self) -> int:
        """Flaws found minus false claims, never below 0."""
        return max(0, sum(line.points for line in self.lines))

    @property
    def full_marks(self) -> bool:
        return self.score == self.flaws and self.false_claims == 0 and not self.error

    def text(self) -> str:
        head = (
            f"capstone · seed {self.seed!r} · found {self.found} of {self.flaws} flaws · "
            f"{self.false_claims} false claims · score {self.score} of {self.flaws} · "
            f"hints used: {self.hints_used}"
        )
        lines = [head]
        if self.error:
            lines.append(f"  {self.error}")
        for line in self.lines:
            lines.append(f"  {line.points:+d}  {line.endpoint:<18} {line.flaw:<20} {line.verdict}")
        if not self.lines:
            lines.append("  (no findings)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text())


def _answer(response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return f"{response.status_code} {body.get('error_description', body.get('error', ''))}"[:120]


def _refused_correctly(facts: dict, token: str) -> bool:
    """Would the target's hardened verifier refuse ``token`` (a forgery, not a key's work)?"""
    from .verify import Refused

    try:
        facts["verifier"].verify(token)
    except Refused:
        return True
    return False


def _token_problem(finding: Finding, target, facts: dict) -> str | None:
    token = finding.exploit
    if not isinstance(token, str) or token.count(".") != 2:
        return "not an exploit: this flaw's exploit is a forged token (a str)"
    if hashlib.sha256(token.encode()).hexdigest() in facts["issued"]:
        return "not a forgery: the target issued this very token"
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError):
        return "not an exploit: the token's header cannot be read"
    alg, flaw = str(header.get("alg", "")), finding.flaw
    if flaw == "weak-secret":
        secret = (facts["weak_secret"] or "").encode()
        signing_input, _, signature = token.rpartition(".")
        expected = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        try:
            signed = secret and hmac.compare_digest(
                jwt.utils.base64url_decode(signature.encode()), expected
            )
        except (ValueError, TypeError):
            signed = False
        if alg != "HS256" or not signed:
            return "not an exploit of weak-secret: the token is not HS256 with the cracked secret"
    elif not _refused_correctly(facts, token):
        return "not a forgery: the hardened verifier accepts it too (a genuine key signed it)"
    needs = {
        "alg-none": (alg.lower() == "none", "its alg is not none"),
        "jwk-header": ("jwk" in header, "its header has no jwk"),
        "jku": ("jku" in header, "its header has no jku"),
        "kid-path": (
            alg == "HS256" and header.get("kid") not in (None, "hs256-1", "rs256-1", "es256-1"),
            "it is not HS256 with a kid that is a path",
        ),
        "alg-confusion": (
            alg == "HS256" and header.get("kid") == facts["rsa_kid"],
            "it is not HS256 under the RSA key's kid",
        ),
        "kid-sql": (
            alg == "HS256" and "'" in str(header.get("kid", "")),
            "it is not HS256 with a kid that ends the key query's quoted string",
        ),
        "x5c": ("x5c" in header, "its header has no x5c"),
    }
    ok, why = needs.get(flaw, (True, ""))
    return None if ok else f"not an exploit of {flaw}: {why}"


def _stolen_problem(finding: Finding, facts: dict) -> str | None:
    token = finding.exploit
    if not isinstance(token, str) or token.count(".") != 2:
        return "not an exploit: this flaw's exploit is the token you read from the log (a str)"
    if hashlib.sha256(token.encode()).hexdigest() not in facts["url_tokens"]:
        return f"not an exploit of {finding.flaw}: no URL of {facts['victim']}'s held this token"
    return None


def _send(target, req: Request, http=None):
    http = http or target.lab.client()
    return http.request(
        req.method, req.path, headers=dict(req.headers), cookies=dict(req.cookies), json=req.json
    )


def _replay(finding: Finding, target, facts: dict) -> tuple[bool, str]:
    """(does the exploit work, what the target answered)."""
    kind = FLAWS[finding.flaw].exploit
    if kind in ("token", "stolen"):
        path = (
            finding.endpoint
            if kind == "token" and finding.endpoint in BEARER_PLACES
            else ADMIN_PATH
        )
        response = target.lab.client().get(
            path, headers={"Authorization": f"Bearer {finding.exploit}"}
        )
        body = response.json() if response.status_code == 200 else {}
        roles = body.get("roles") if isinstance(body.get("roles"), list) else []
        if response.status_code == 200 and "admin" in roles:
            return True, f"accepted by {path} with roles {roles}"
        if response.status_code == 200:
            return False, f"accepted by {path}, but without the role admin: {roles}"
        return False, f"{path} answered {_answer(response)}"
    req = finding.exploit
    if kind == "refresh":
        return _refreshed(target, req, facts)
    if kind == "fixation":
        victim = target.lab.client("carol's browser")
        for name, value in req.cookies.items():
            victim.cookies.set(name, value)
        victim.post(
            "/login", json={"username": facts["victim"], "password": facts["victim_password"]}
        )
    response = _send(target, req)
    user = response.json().get("user") if response.status_code == 200 else None
    if kind == "session" and req.cookies.get("sid") != facts["victim_session"]:
        return False, "not the victim's session (carol logged in before you)"
    if user == facts["victim"]:
        return True, f"{req.method} {req.path} opened {user}'s session"
    return False, f"{req.method} {req.path} answered {_answer(response)}"


def _refreshed(target, req: Request, facts: dict) -> tuple[bool, str]:
    """Does the refresh request give a genuine token of the victim's, with the role admin?"""
    from .verify import Refused

    response = _send(target, req)
    if response.status_code != 200:
        return False, f"{req.method} {req.path} answered {_answer(response)}"
    try:
        claims = facts["verifier"].verify(response.json()["access_token"])
    except (Refused, KeyError, TypeError, ValueError):
        return False, f"{req.method} {req.path} gave no token this target accepts"
    roles = claims.get("roles") if isinstance(claims.get("roles"), list) else []
    if claims["sub"] != facts["victim"] or "admin" not in roles:
        return False, f"{req.method} {req.path} gave a token of {claims['sub'][:40]!r}, {roles}"
    return True, f"{req.method} {req.path} gave a token of {claims['sub']}'s with roles {roles}"


def _refresh_problem(finding: Finding) -> str | None:
    req = finding.exploit
    if not isinstance(req, Request):
        return "not an exploit: this flaw's exploit is a Request (a refresh to send)"
    body = req.json if isinstance(req.json, dict) else {}
    if (req.method, req.path) != ("POST", "/token/refresh") or not all(
        isinstance(body.get(name), str) for name in ("refresh_token", "access_token")
    ):
        return (
            "not an exploit: the request is a POST /token/refresh with a refresh_token and an "
            "access_token"
        )
    return None


def _request_problem(finding: Finding) -> str | None:
    req = finding.exploit
    if FLAWS[finding.flaw].exploit == "refresh":
        return _refresh_problem(finding)
    if not isinstance(req, Request):
        return "not an exploit: this flaw's exploit is a Request (a session ID to send)"
    if not req.path.startswith("/") or req.path.startswith("//") or not req.cookies.get("sid"):
        return "not an exploit: the request needs a path of the target and a sid cookie"
    if not isinstance(req.method, str) or req.method.upper() != "GET":
        # The scorer changes nothing on the target: a POST /logout with carol's session ID
        # would end it and spoil the findings after it.
        return "not an exploit: a session exploit is a GET that reads a page (e.g. GET /account)"
    return None


def _verdict(finding: Finding, target, facts: dict, truth: dict[str, str]) -> tuple[int, str]:
    if finding.flaw not in FLAWS:
        return -1, f"no flaw of the catalogue is called {finding.flaw!r}"
    if finding.endpoint not in PLACES:
        return -1, f"not an endpoint a flaw can sit on ({', '.join(PLACES)})"
    if finding.endpoint not in FLAWS[finding.flaw].places:
        return -1, f"{finding.flaw} cannot sit on {finding.endpoint}"
    if FLAWS[finding.flaw].exploit == "token":
        problem = _token_problem(finding, target, facts)
    elif FLAWS[finding.flaw].exploit == "stolen":
        problem = _stolen_problem(finding, facts)
    else:
        problem = _request_problem(finding)
    if problem:
        return -1, problem
    works, answer = _replay(finding, target, facts)
    if not works:
        return -1, f"the exploit does not work: {answer}"
    if truth.get(finding.endpoint) != finding.flaw:
        return -1, f"the exploit works ({answer}), but by another flaw than {finding.flaw}"
    return 1, f"the exploit works: {answer}"


def score(findings: list[Finding] | Callable, target) -> ScoreReport:
    """Replay each finding against ``target`` (a running
    :class:`~labserver.capstone.target.CapstoneTarget`) and return the report. ``findings`` may
    also be a function ``findings(target)``; if it raises, the report says so (score 0)."""
    description = target.description
    report = ScoreReport(description.seed, len(description.flaws), hints_used=target.hints_used)
    if callable(findings):
        try:
            findings = findings(target)
        except Exception as exc:  # noqa: BLE001 - a score cell must never show a traceback
            report.error = f"findings() raised {type(exc).__name__}: {str(exc)[:200]}"
            return report
    if not isinstance(findings, (list, tuple)):
        report.error = f"findings must be a list of Finding, not {type(findings).__name__}"
        return report
    facts, seen = target.facts(), set()
    for finding in findings:
        if not isinstance(finding, Finding):
            report.lines.append(Line(-1, "?", "?", f"not a Finding: {type(finding).__name__}"))
            continue
        if not isinstance(finding.endpoint, str) or not isinstance(finding.flaw, str):
            report.lines.append(Line(-1, "?", "?", "a Finding's endpoint and flaw are str"))
            continue
        claim = (finding.endpoint, finding.flaw)
        if claim in seen:
            report.lines.append(Line(0, *map(str, claim), "claimed again above: counted once"))
            continue
        seen.add(claim)
        try:
            points, verdict = _verdict(finding, target, facts, description.flaws)
        # RecursionError: a deeply nested Request.json cannot even be encoded
        except (ValueError, TypeError, AttributeError, OSError, RecursionError) as exc:
            points, verdict = -1, f"the exploit could not be replayed: {type(exc).__name__}"
        report.lines.append(
            Line(points, str(finding.endpoint)[:40], str(finding.flaw)[:40], verdict)
        )
    return report
