"""How the capstone's bearer endpoints verify a token: the hardened way, or with one flaw.

A flawed verifier is the hardened one with one more way in, tried first (:data:`TOKEN_FLAWS`,
keyed by the catalogue's ids): an endpoint with the ``alg-none`` flaw still verifies signed
tokens properly, and also takes unsigned ones. So every endpoint works for genuine tokens, and
only probing tells which one is wrong. Every verifier keeps the claim rules (iss, aud, sub, exp
against the lab clock). Signatures are PyJWT's, except where a flaw needs a key PyJWT rightly
refuses (an empty file, a PEM as an HMAC secret): there its HMAC implementation is called
directly, as old libraries did.
"""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_decode
from jwt.warnings import InsecureKeyLengthWarning

from .. import strict_json, x5c
from ..access_tokens import numeric_date_problem
from ..key_table import KeyTable
from ..keys import SigningKey

ISSUER, AUDIENCE = "capstone", "capstone-api"
MAX_TOKEN_LENGTH = 8 * 1024
_NO_CLAIM_CHECKS = {
    "verify_aud": False,
    "verify_iss": False,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}


class Refused(Exception):
    """The token broke a rule; the message says which (an ``error_description``)."""


@dataclass
class Verifier:
    """One target's verifiers: its keys by kid, its folder (keys/ and pages/), its clock, its
    own URL (the only place a jku may point to), and its HMAC secrets as an SQLite key table
    (:class:`~labserver.key_table.KeyTable`, which the ``kid-sql`` flaw queries)."""

    keys: dict[str, SigningKey]
    sandbox: Path
    now: Callable[[], float]
    own_url: Callable[[], str | None] = lambda: None
    tls_cert: Callable[[], str | None] = lambda: None
    key_table: KeyTable | None = field(default=None)

    def __post_init__(self) -> None:
        if self.key_table is None:
            hmac_keys = {k.kid: k.signing_key for k in self.keys.values() if k.alg == "HS256"}
            self.key_table = KeyTable(hmac_keys)

    def verify(self, token: str, flaw: str | None = None) -> dict:
        """The claims of ``token`` as an endpoint with ``flaw`` (None: hardened) trusts them,
        or :class:`Refused`."""
        header = read_header(token)
        claims = TOKEN_FLAWS[flaw](self, token, header) if flaw in TOKEN_FLAWS else None
        return claims if claims is not None else self.correctly(token, header)

    def correctly(self, token: str, header: dict) -> dict:
        """The hardened verifier: no unsigned token, the key from this server's own set by kid,
        one algorithm per key, PyJWT's signature check, then the claims."""
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none":
            raise Refused(
                f"algorithm not allowed: {str(alg)[:20]!r} (an unsigned token is never accepted)"
            )
        if "x5c" in header:
            raise Refused(_untrusted_chain(header["x5c"]))
        kid = header.get("kid")
        signer = self.keys.get(kid) if isinstance(kid, str) else None
        if signer is None:
            raise Refused(
                f"unknown key: kid {str(kid)[:60]!r} is not one of this server's keys "
                f"({', '.join(self.keys)}); a key the token brings (jwk, jku) is never used"
            )
        if alg != signer.alg:
            raise Refused(
                f"algorithm not allowed: kid {signer.kid!r} is an {signer.alg} key and the "
                f"token says {alg[:20]!r} (one algorithm per key)"
            )
        return self.decode(token, signer.verifying_key, signer.alg)

    def even_if_expired(self, token: str) -> dict:
        """The hardened verifier's claims for ``token``, every rule kept but expiry: judged at
        the moment it expired if it has (a refresh names the token it replaces)."""
        header = read_header(token)
        try:
            exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
        except (jwt.PyJWTError, ValueError, AttributeError) as exc:
            raise Refused(f"malformed: {str(exc)[:100]}") from None
        problem = numeric_date_problem("exp", exp)
        if problem:
            raise Refused(problem)
        return replace(self, now=lambda: min(self.now(), exp - 1)).correctly(token, header)

    def decode(self, token: str, key, alg: str) -> dict:
        """PyJWT's signature check with ``key`` and ``alg`` only, then :meth:`checked`."""
        with warnings.catch_warnings():  # a weak or forged key may be short: not news here
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            try:
                claims = jwt.decode(token, key, algorithms=[alg], options=_NO_CLAIM_CHECKS)
            except jwt.InvalidSignatureError:
                raise Refused("bad signature: it does not verify with that key") from None
            except (jwt.PyJWTError, ValueError, TypeError) as exc:
                raise Refused(f"malformed: {str(exc)[:100]}") from None
        return self.checked(claims)

    def checked(self, claims: dict) -> dict:
        """The claim rules every verifier keeps, flawed or not: iss, aud, sub, exp."""
        problem = strict_json.problem(claims)
        if problem:
            raise Refused(f"malformed: the payload is not strict JSON: {problem}")
        if claims.get("iss") != ISSUER:
            raise Refused(f"wrong issuer: iss must be {ISSUER!r}")
        aud = claims.get("aud")
        if aud != AUDIENCE and not (isinstance(aud, list) and AUDIENCE in aud):
            raise Refused(f"wrong audience: aud must be {AUDIENCE!r}")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise Refused("invalid claim: sub must be a non-empty string")
        exp = claims.get("exp")
        problem = numeric_date_problem("exp", exp)
        if problem or exp <= self.now():
            raise Refused(problem or "expired: exp has passed")
        return claims

    def unverified(self, token: str) -> dict:
        """The claims, with no signature check, then :meth:`checked`."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError) as exc:
            raise Refused(f"malformed: {str(exc)[:100]}") from None
        return self.checked(claims)


def read_header(token: str) -> dict:
    """The token's header, unverified (strict JSON, at most 8 KiB of token), or Refused."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise Refused("malformed: longer than 8 KiB")
    try:
        header = jwt.get_unverified_header(token)
    except (jwt.PyJWTError, ValueError) as exc:
        raise Refused(f"malformed: {str(exc)[:100]}") from None
    problem = strict_json.problem(header)
    if problem:
        raise Refused(f"malformed: the header is not strict JSON: {problem}")
    return header


def _untrusted_chain(chain) -> str:
    """Why the hardened verifier refuses a token that brings an ``x5c`` chain."""
    try:
        root = x5c.named(x5c.certificates(chain)[-1])
    except x5c.ChainProblem as exc:
        return f"no usable x5c chain: {str(exc)[:120]}"
    return (
        f"untrusted certificate chain: its root {root} is not a trust anchor of this server "
        "(RFC 5280 path validation starts from one; this server holds none, and verifies with "
        "its own keys by kid)"
    )


def _hs256_valid(token: str, secret: bytes) -> bool:
    signing_input, _, signature = token.rpartition(".")
    try:
        return HMACAlgorithm(HMACAlgorithm.SHA256).verify(
            signing_input.encode(), secret, base64url_decode(signature.encode())
        )
    except (ValueError, TypeError):
        return False


def _no_verify(v: Verifier, token: str, header: dict) -> dict | None:
    return v.unverified(token)


def _alg_none(v: Verifier, token: str, header: dict) -> dict | None:
    return v.unverified(token) if str(header.get("alg", "")).lower() == "none" else None


def _jwk_header(v: Verifier, token: str, header: dict) -> dict | None:
    if "jwk" not in header:
        return None
    if not isinstance(header["jwk"], dict):
        raise Refused("malformed: the jwk header must be a JSON object (a JWK)")
    try:
        embedded = jwt.PyJWK(header["jwk"])
    except (KeyError, TypeError, ValueError, NotImplementedError, jwt.PyJWTError) as exc:
        raise Refused(f"no usable jwk header: {str(exc)[:100] or type(exc).__name__}") from None
    return v.decode(token, embedded.key, embedded.algorithm_name)


_FETCH_ERRORS = (
    StopIteration,
    KeyError,
    TypeError,
    ValueError,
    AttributeError,
    NotImplementedError,
    jwt.PyJWTError,
    requests.RequestException,
)


def _jku(v: Verifier, token: str, header: dict) -> dict | None:
    if "jku" not in header:
        return None
    url, own = header["jku"], v.own_url() or ""
    if not isinstance(url, str) or not own or not url.startswith(own + "/"):
        raise Refused("no usable jku: this server fetches key sets from its own URLs only")
    try:
        with requests.Session() as http:
            http.trust_env = False  # loopback, never through a proxy
            key_set = http.get(url, timeout=5, verify=v.tls_cert() or True).json()
        jwk = next(k for k in key_set["keys"] if k.get("kid") == header.get("kid"))
        fetched = jwt.PyJWK(jwk)
    except _FETCH_ERRORS as exc:
        raise Refused(f"no usable key at the jku URL: {str(exc)[:100]}") from None
    return v.decode(token, fetched.key, fetched.algorithm_name)


def _kid_path(v: Verifier, token: str, header: dict) -> dict | None:
    if header.get("alg") != "HS256":
        return None
    kid = header.get("kid")
    if not isinstance(kid, str) or "\x00" in kid or len(kid) > 200 or strict_json.problem(kid):
        raise Refused("unknown key: the kid is not a usable file name")
    try:  # the flaw: the path is not checked; the sandbox only keeps this lab's own folder safe
        path = (v.sandbox / "keys" / kid).resolve()
        usable = path.is_relative_to(v.sandbox.resolve()) and path.is_file()
    except (OSError, ValueError):
        usable = False
    if not usable:
        raise Refused(f"unknown key: no key file {kid[:60]!r}")
    if not _hs256_valid(token, path.read_bytes()):
        raise Refused("bad signature: it does not verify with that key")
    return v.unverified(token)


def _alg_confusion(v: Verifier, token: str, header: dict) -> dict | None:
    signer = v.keys.get(header.get("kid")) if isinstance(header.get("kid"), str) else None
    if header.get("alg") != "HS256" or signer is None or signer.alg != "RS256":
        return None
    pem = signer.verifying_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if not _hs256_valid(token, pem):
        raise Refused("bad signature: it does not verify with that key")
    return v.unverified(token)


def _kid_sql(v: Verifier, token: str, header: dict) -> dict | None:
    if header.get("alg") != "HS256":
        return None
    kid = header.get("kid")
    if not isinstance(kid, str) or strict_json.problem(kid):
        raise Refused("unknown key: the kid must be a string (a key name in the key table)")
    try:  # the flaw: the kid is pasted into the SQL text (labserver.key_table)
        secret = v.key_table.vulnerable_lookup(kid)
    except (sqlite3.Error, sqlite3.Warning, ValueError) as exc:
        raise Refused(f"unknown key: the key lookup failed: {type(exc).__name__}") from None
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, bytes) or not secret:
        raise Refused(f"unknown key: no key {kid[:60]!r} in the key table")
    if not _hs256_valid(token, secret):
        raise Refused("bad signature: it does not verify with that key")
    return v.unverified(token)


def _x5c(v: Verifier, token: str, header: dict) -> dict | None:
    if "x5c" not in header:
        return None
    try:  # the flaw: the chain hangs together, but its root is never checked against an anchor
        leaf = x5c.unanchored_leaf(header["x5c"], v.now())
        public_key, alg = x5c.algorithm_for(leaf)
    except x5c.ChainProblem as exc:
        raise Refused(f"no usable x5c chain: {str(exc)[:120]}") from None
    return v.decode(token, public_key, alg)


#: Each token flaw's own way in: claims, or None ("not my kind of token": the hardened
#: verifier decides), or Refused.
TOKEN_FLAWS: dict[str, Callable[[Verifier, str, dict], dict | None]] = {
    "no-verify": _no_verify,
    "alg-none": _alg_none,
    "jwk-header": _jwk_header,
    "jku": _jku,
    "kid-path": _kid_path,
    "alg-confusion": _alg_confusion,
    "kid-sql": _kid_sql,
    "x5c": _x5c,
}
