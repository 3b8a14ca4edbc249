"""Sender-constrained tokens: DPoP proofs (RFC 9449), checked rule by rule.

A bearer token works for whoever holds it: copied out of a log, a proxy or a browser's storage,
it is as good in a thief's hands as in the client's. DPoP binds the token to a key pair that the
client keeps. The identity provider writes the public key's thumbprint into the token
(``cnf.jkt``, RFC 7638), and the client sends a fresh *proof* with every request: a small JWT,
signed with the private key, that names this one request::

    header   {"typ": "dpop+jwt", "alg": "ES256", "jwk": {<the client's public key>}}
    payload  {"jti": <unique>, "htm": "GET", "htu": "https://orders.../orders", "iat": <now>,
              "ath": <base64url(sha256(access token))>}

A stolen bound token is useless without the private key, and a stolen proof is good for one
request, once, for about a minute.

Authlib, the library behind the lab's identity provider, has no DPoP support, so the proof
check is written here, on PyJWT and cryptography. Hand-writing it is the lesson: each rule in
the table is one item of RFC 9449 section 4.3, and each one left out is an attack that works.

:func:`verify_proof` checks, in this order, and stops at the first rule that fails
(``DPoPError.rule``; ``DPoPError.error`` is the OAuth error code to answer with):

=====================  =========================================================================
rule                   refused when
=====================  =========================================================================
malformed              not one compact JWS of three base64url parts, longer than 8 KiB, a header
                       or payload that is not a strict-JSON object, or ``crit`` extensions
                       that PyJWT does not support
wrong_type             ``typ`` is not ``dpop+jwt``
algorithm_not_allowed  ``alg`` is not one of ALGORITHMS (never ``none``, never HS*)
missing_key            no ``jwk`` header, or one that is not an object
private_key            the ``jwk`` holds private members (``d``, ``p``, ``q``, ``k``...)
key_not_for_algorithm  the ``jwk``'s key type (or curve) is not the one ``alg`` signs with
invalid_key            the ``jwk`` cannot be read as a key, or is an RSA key under 2048 bits
bad_signature          the signature does not verify with the header's own ``jwk``
missing_claim          ``jti``, ``htm``, ``htu`` or ``iat`` absent; ``ath`` absent with a token
invalid_claim          one of them of the wrong type, ``jti`` empty or longer than 256
wrong_method           ``htm`` is not this request's method (case-sensitive)
wrong_url              ``htu`` is not this request's URL (both normalised, query and fragment
                       ignored: :func:`normalize_htu`)
too_old                ``iat`` is earlier than now - max_age - leeway
issued_in_the_future   ``iat`` is later than now + leeway
wrong_access_token     ``ath`` is not the hash of the access token presented with it
key_not_bound          the proof's key is not the one the token is bound to (``cnf.jkt``)
missing_nonce          the server asked for a nonce and the proof has none (``use_dpop_nonce``)
wrong_nonce            the proof's nonce is not the server's (``use_dpop_nonce``)
replayed               this ``jti`` was already used (checked last: a bad proof burns no jti)
=====================  =========================================================================
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.utils import base64url_decode, base64url_encode

from .. import http_errors, strict_json
from ..access_tokens import _shown, numeric_date_problem

PROOF_TYPE = "dpop+jwt"
#: Asymmetric only: a proof is checked with the key it carries, so a shared secret makes no sense.
ALGORITHMS = ("ES256", "EdDSA", "RS256", "PS256")
MAX_PROOF_LENGTH = 8 * 1024
MAX_JTI_LENGTH = 256
MAX_URL_LENGTH = 2048
MIN_RSA_BITS = 2048

#: RFC 7638 section 3.2: the members a thumbprint hashes, per key type.
THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
#: Members that only a private (or symmetric) JWK has (RFC 7518 section 6, RFC 8037 section 2).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
#: What each algorithm's key must be: its kty, and its curves (None: any, i.e. RSA).
KEY_FOR_ALGORITHM = {
    "ES256": ("EC", ("P-256",)),
    "EdDSA": ("OKP", ("Ed25519", "Ed448")),
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
}

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_CURVE_NAME = re.compile(r"[A-Za-z0-9._-]{1,32}")
# RFC 3986 section 2: the characters a URI may hold (unreserved, reserved, and "%").
_URI_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_PERCENT = re.compile(r"%(.{0,2})")
_HOST = re.compile(r"[a-z0-9._~!$&'()*+,;=-]+")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Every printable ASCII character: quote() leaves these alone and percent-encodes the rest
# (an IRI's non-ASCII characters, as UTF-8: RFC 3987 section 3.1).
_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))


class DPoPError(Exception):
    """A proof (or a key, or a URL) failed one rule. ``rule`` is its code (see the module's
    table), ``description`` says exactly what was wrong, ``error`` is the OAuth error code to
    answer with (``invalid_dpop_proof``, ``invalid_token`` or ``use_dpop_nonce``)."""

    def __init__(self, rule: str, description: str, *, error: str = "invalid_dpop_proof") -> None:
        super().__init__(f"{rule.replace('_', ' ')}: {description}")
        self.rule = rule
        self.description = description
        self.error = error

    def __str__(self) -> str:
        return self.args[0]

    def challenge(self) -> str:
        """This error as a ``WWW-Authenticate`` value (see :func:`dpop_challenge`)."""
        return dpop_challenge(self.error, self.description)


@dataclass(frozen=True)
class VerifiedProof:
    """A proof that passed every rule: its key's thumbprint, its jti, claims and header."""

    jkt: str
    jti: str
    claims: dict
    header: dict


def jwk_thumbprint(jwk: dict) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url without padding: the hash of
    its required members only, in lexicographic order, with no whitespace."""
    if not isinstance(jwk, dict):
        raise DPoPError("invalid_key", f"a JWK is a JSON object, not {_shown(jwk)}")
    _refuse_private(jwk)
    kty = jwk.get("kty")
    if not isinstance(kty, str) or kty not in THUMBPRINT_MEMBERS:
        raise DPoPError(
            "invalid_key", f"kty must be one of EC, OKP, RSA (public keys), not {_shown(kty)}"
        )
    members = {}
    for name in THUMBPRINT_MEMBERS[kty]:
        value = jwk.get(name)
        pattern = _BASE64URL if name in ("x", "y", "n", "e") else _CURVE_NAME
        if not isinstance(value, str) or not value or not pattern.fullmatch(value):
            raise DPoPError(
                "invalid_key",
                f"a {kty} JWK needs {name!r} as a "
                f"{'curve name' if name == 'crv' else 'base64url string'}, not {_shown(value)}",
            )
        members[name] = value
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode("ascii")).digest())


def _refuse_private(jwk: dict) -> None:
    private = [name for name in PRIVATE_MEMBERS if name in jwk]
    if private:
        raise DPoPError(
            "private_key",
            f"the jwk holds the private member(s) {', '.join(private)}: a proof carries only "
            "the public key (and a private key sent in the clear is no secret any more)",
        )


def access_token_hash(access_token: str) -> str:
    """``ath``: base64url(SHA-256(the ASCII access token)), RFC 9449 section 4.2."""
    if not isinstance(access_token, str) or not access_token.isascii():
        raise DPoPError(
            "invalid_access_token", f"an access token is ASCII text, not {_shown(access_token)}"
        )
    return _b64(hashlib.sha256(access_token.encode("ascii")).digest())


def normalize_htu(url: str) -> str:
    """``url`` as a proof's ``htu`` is compared (RFC 9449 section 4.3 item 9): without query
    and fragment, normalised as RFC 3986 sections 6.2.2 and 6.2.3 say (scheme and host in
    lower case, percent-escapes of unreserved characters decoded and the others in upper case,
    dot segments removed, the default port dropped, an empty path made "/")."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise DPoPError(
            "invalid_url",
            f"a URL is a string of 1 to {MAX_URL_LENGTH} characters, not {_shown(url)}",
        )
    base = re.split(r"[?#]", url, maxsplit=1)[0]
    if re.search(r"[\x00-\x20\x7f-\x9f]", base):
        raise DPoPError("invalid_url", f"{_shown(url)} holds a space or a control character")
    try:  # an IRI (werkzeug's request.url is one) becomes a URI: non-ASCII as %-escaped UTF-8
        base = quote(base, safe=_PRINTABLE_ASCII)
    except UnicodeEncodeError:
        raise DPoPError("invalid_url", f"{_shown(url)} is not encodable text") from None
    if not _URI_CHARACTERS.fullmatch(base):
        raise DPoPError("invalid_url", f"{_shown(url)} holds characters a URI cannot (RFC 3986)")
    try:
        parts = urlsplit(base)
        port = parts.port
    except ValueError as exc:  # a bad port, or an unclosed IPv6 bracket
        raise DPoPError("invalid_url", f"{_shown(url)} cannot be read ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise DPoPError("invalid_url", f"the URL must be http or https, not {_shown(url)}")
    if "@" in parts.netloc:
        raise DPoPError("invalid_url", f"the URL must not hold a user name: {_shown(url)}")
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal: urlsplit took the brackets off
        if not re.fullmatch(r"[0-9a-f:.]+", host):
            raise DPoPError("invalid_url", f"{_shown(url)} holds an unreadable IPv6 address")
        host = f"[{host}]"
    elif not _HOST.fullmatch(host):
        raise DPoPError("invalid_url", f"the URL has no valid host: {_shown(url)}")
    authority = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _remove_dot_segments(_normalize_percent(parts.path, url)) or "/"
    return f"{scheme}://{authority}{path}"


def _normalize_percent(path: str, url: str) -> str:
    def fix(match: re.Match) -> str:
        digits = match.group(1)
        if not re.fullmatch(r"[0-9A-Fa-f]{2}", digits):
            raise DPoPError("invalid_url", f"{_shown(url)} holds a % that is not an escape")
        char = chr(int(digits, 16))
        return char if char in _UNRESERVED else "%" + digits.upper()

    return _PERCENT.sub(fix, path)


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 section 5.2.4, as written there.
    output: list[str] = []
    while path:
        if path.startswith("../"):
            path = path[3:]
        elif path.startswith("./"):
            path = path[2:]
        elif path.startswith("/./"):
            path = path[2:]
        elif path == "/.":
            path = "/"
        elif path.startswith("/../"):
            path = path[3:]
            if output:
                output.pop()
        elif path == "/..":
            path = "/"
            if output:
                output.pop()
        elif path in (".", ".."):
            path = ""
        else:
            end = path.find("/", 1)
            end = len(path) if end == -1 else end
            output.append(path[:end])
            path = path[end:]
    return "".join(output)


def make_proof(
    private_key: Any,
    htm: str,
    htu: str,
    *,
    iat: float,
    jti: str | None = None,
    access_token: str | None = None,
    nonce: str | None = None,
) -> str:
    """A DPoP proof for one request (the client's side), signed with ``private_key``: an EC
    P-256 key signs ES256, an Ed25519 key EdDSA, an RSA key PS256. ``access_token`` adds its
    ``ath``; ``nonce`` the server's nonce; ``jti`` defaults to 128 random bits."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(
        private_key.curve, ec.SECP256R1
    ):
        alg, exporter = "ES256", ECAlgorithm
    elif isinstance(private_key, (ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey)):
        alg, exporter = "EdDSA", OKPAlgorithm
    elif isinstance(private_key, rsa.RSAPrivateKey):
        alg, exporter = "PS256", RSAAlgorithm
    else:
        raise TypeError(
            "make_proof signs with an EC P-256, Ed25519 or RSA private key, "
            f"not {type(private_key).__name__}"
        )
    public_jwk = exporter.to_jwk(private_key.public_key(), as_dict=True)
    claims = {
        "jti": jti if jti is not None else secrets.token_urlsafe(16),
        "htm": htm,
        "htu": normalize_htu(htu),
        "iat": int(iat) if float(iat).is_integer() else iat,
    }
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    return jwt.encode(
        claims, private_key, algorithm=alg, headers={"typ": PROOF_TYPE, "jwk": public_jwk}
    )


class ReplayCache:
    """The jtis already used, in the lab's store (any redis-py client): one key per jti that
    expires when a proof carrying it could no longer be accepted anyway."""

    def __init__(self, store, prefix: str = "lab:dpop-jti:") -> None:
        self.store = store
        self.prefix = prefix

    def first_use(self, jti: str, until: float, now: float) -> bool:
        """Record ``jti`` until lab time ``until``; True the first time, False on a replay.

        One atomic ``SET NX PX``: of two requests racing with one proof, exactly one wins. The
        expiry is relative (``until - now``), so it holds on lab time in the embedded store and
        on real time in a real Redis. A store that cannot be reached raises (fail closed)."""
        milliseconds = max(1, math.ceil((until - now) * 1000))
        return bool(self.store.set(self.prefix + jti, repr(until), nx=True, px=milliseconds))


def proof_from_headers(values: list[str]) -> str:
    """The request's one DPoP header value (RFC 9449 section 4.3 item 1), from all of them
    (e.g. werkzeug's ``request.headers.getlist("DPoP")``)."""
    if len(values) != 1:
        raise DPoPError(
            "missing_proof" if not values else "malformed",
            "the request carries no DPoP header"
            if not values
            else f"the request carries {len(values)} DPoP headers, and exactly one is allowed",
        )
    return values[0]


def verify_proof(
    proof: str,
    *,
    htm: str,
    htu: str,
    now: float,
    replay: ReplayCache | None,
    access_token: str | None = None,
    expected_jkt: str | None = None,
    max_age: float = 60,
    leeway: float = 5,
    nonce: str | None = None,
) -> VerifiedProof:
    """Check every rule of RFC 9449 section 4.3 (see the module's table) for a request with
    method ``htm`` to URL ``htu`` at lab time ``now``; return the verified proof or raise
    :class:`DPoPError` naming the first rule that failed.

    With ``access_token`` (a resource server) the proof must carry its ``ath``; with
    ``expected_jkt`` (the token's ``cnf.jkt``) it must be signed by that key; with ``nonce``
    it must carry that nonce. ``replay`` None skips the jti check (only for showing a replay).
    """
    header, claims = _read(proof)
    alg = _check_header(header)
    jwk = header["jwk"]
    jkt = jwk_thumbprint(jwk)
    key = _key(jwk, alg)
    try:
        jwt.PyJWS().decode_complete(proof, key, algorithms=[alg])
    except jwt.InvalidSignatureError:
        raise DPoPError(
            "bad_signature",
            "the signature does not verify with the proof's own jwk: the proof was changed "
            "after signing, or signed with another key",
        ) from None
    except jwt.PyJWTError as exc:
        raise DPoPError("malformed", f"the JWS cannot be read ({_shown(str(exc))})") from None

    _check_claims(claims, access_token)
    if claims["htm"] != htm:
        raise DPoPError(
            "wrong_method",
            f"the proof is for {_shown(claims['htm'])}, but this request is {_shown(htm)} "
            "(htm is compared exactly, case-sensitive)",
        )
    expected_url, signed_url = normalize_htu(htu), _claimed_url(claims["htu"])
    if signed_url != expected_url:
        raise DPoPError(
            "wrong_url",
            f"the proof is for {_shown(signed_url)}, but this request is to {_shown(expected_url)} "
            "(query and fragment ignored)",
        )
    _check_time(claims["iat"], now, max_age, leeway)
    if access_token is not None and claims["ath"] != access_token_hash(access_token):
        raise DPoPError(
            "wrong_access_token",
            "ath is not the hash of the access token sent with the proof: the proof was made "
            "for another token",
        )
    if expected_jkt is not None and jkt != expected_jkt:
        raise DPoPError(
            "key_not_bound",
            f"the token is bound to key {_shown(expected_jkt)} (cnf.jkt), but the proof is "
            f"signed by key {jkt}: whoever sent the token does not hold its private key",
            error="invalid_token",
        )
    if nonce is not None:
        if "nonce" not in claims:
            raise DPoPError(
                "missing_nonce", "the server requires a nonce in the proof", error="use_dpop_nonce"
            )
        if claims["nonce"] != nonce:
            raise DPoPError(
                "wrong_nonce",
                "the proof's nonce is not the one this server gave",
                error="use_dpop_nonce",
            )
    if replay is not None and not replay.first_use(
        claims["jti"], until=claims["iat"] + max_age + leeway, now=now
    ):
        raise DPoPError(
            "replayed",
            "this proof's jti was already used: a proof is good for one request",
        )
    return VerifiedProof(jkt=jkt, jti=claims["jti"], claims=claims, header=header)


def _read(proof: Any) -> tuple[dict, dict]:
    """The header and payload of a compact JWS, each a strict-JSON object, or ``malformed``."""
    if not isinstance(proof, str) or len(proof) > MAX_PROOF_LENGTH:
        raise DPoPError(
            "malformed", f"a proof is a compact JWS of at most {MAX_PROOF_LENGTH} characters"
        )
    parts = proof.split(".")
    if len(parts) != 3 or not all(_BASE64URL.fullmatch(part) for part in parts):
        raise DPoPError(
            "malformed", "a proof is exactly one JWS: three base64url parts separated by dots"
        )
    objects = []
    for name, part in zip(("header", "payload"), parts[:2], strict=True):
        try:
            value = strict_json.loads(base64url_decode(part.encode("ascii")))
        except (strict_json.NotStrictJSON, ValueError) as exc:
            raise DPoPError("malformed", f"the {name} is not strict JSON: {exc}") from None
        if not isinstance(value, dict):
            raise DPoPError("malformed", f"the {name} must be a JSON object, not {_shown(value)}")
        objects.append(value)
    return objects[0], objects[1]


def _check_header(header: dict) -> str:
    """typ, alg, and the jwk's presence and kind; returns the algorithm."""
    typ = header.get("typ")
    if typ != PROOF_TYPE:
        raise DPoPError(
            "wrong_type", f"typ must be {PROOF_TYPE!r} (a DPoP proof), not {_shown(typ)}"
        )
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise DPoPError(
            "algorithm_not_allowed",
            f"alg must be one of {', '.join(ALGORITHMS)} (asymmetric), not {_shown(alg)}",
        )
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise DPoPError(
            "missing_key",
            f"the header must carry the public key as a jwk object, not {_shown(jwk)}",
        )
    kty, curves = KEY_FOR_ALGORITHM[alg]
    _refuse_private(jwk)
    if jwk.get("kty") != kty or (curves is not None and jwk.get("crv") not in curves):
        found = jwk.get("kty") if curves is None else (jwk.get("kty"), jwk.get("crv"))
        wanted = kty if curves is None else f"{kty} on {' or '.join(curves)}"
        raise DPoPError(
            "key_not_for_algorithm", f"{alg} needs a {wanted} key, and the jwk is {_shown(found)}"
        )
    return alg


def _key(jwk: dict, alg: str) -> Any:
    """The jwk as a cryptography public key for ``alg`` (PyJWK), or ``invalid_key``."""
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise DPoPError(
            "invalid_key", f"the jwk is not a usable key ({_shown(str(exc))})"
        ) from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise DPoPError(
            "invalid_key",
            f"the RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are needed",
        )
    return key


def _check_claims(claims: dict, access_token: str | None) -> None:
    required = ("jti", "htm", "htu", "iat") + (("ath",) if access_token is not None else ())
    for name in required:
        if name not in claims:
            raise DPoPError("missing_claim", f"the claim {name!r} is required")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise DPoPError(
            "invalid_claim",
            f"jti must be a string of 1 to {MAX_JTI_LENGTH} characters, not {_shown(jti)}",
        )
    for name in ("htm", "htu") + (("ath",) if access_token is not None else ()):
        if not isinstance(claims[name], str) or not claims[name]:
            raise DPoPError(
                "invalid_claim", f"{name} must be a non-empty string, not {_shown(claims[name])}"
            )
    problem = numeric_date_problem("iat", claims["iat"])
    if problem:
        raise DPoPError("invalid_claim", problem)


def _claimed_url(htu: str) -> str:
    try:
        return normalize_htu(htu)
    except DPoPError as exc:
        raise DPoPError("invalid_claim", f"htu is not a usable URL: {exc.description}") from None


def _check_time(iat: float, now: float, max_age: float, leeway: float) -> None:
    if iat < now - max_age - leeway:
        raise DPoPError(
            "too_old",
            f"the proof was made {now - iat:g} s ago, and one is accepted for {max_age:g} s "
            f"(leeway {leeway:g} s): make a fresh proof for each request",
        )
    if iat > now + leeway:
        raise DPoPError(
            "issued_in_the_future",
            f"iat is {iat - now:g} s in the future (leeway {leeway:g} s)",
        )


def dpop_challenge(
    error: str | None = None, description: str | None = None, algs: tuple[str, ...] = ALGORITHMS
) -> str:
    """A ``WWW-Authenticate`` value for the DPoP scheme (RFC 9449 section 7.1), e.g.
    ``DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_dpop_proof", error_description="..."``;
    the description keeps to RFC 6750's characters (others become "?")."""
    return http_errors.challenge("DPoP", f'algs="{" ".join(algs)}"', error, description)


def _b64(data: bytes) -> str:
    return base64url_encode(data).decode("ascii")
