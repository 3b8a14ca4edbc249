"""Access tokens: issuing them, and verifying every trust rule with a precise reason.

The claims layer over :mod:`labserver.keys` (the keys) and PyJWT (the signatures). A token the
lab issues is a JWT access token in the shape of RFC 9068::

    header   {"alg": "ES256", "typ": "at+jwt", "kid": "es256-1"}
    payload  {"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "client_id", "roles",
              "token_version"}

:func:`verify_access_token` checks, in this order, and stops at the first rule that fails:

=====================  ========================================================================
rule                   refused when
=====================  ========================================================================
malformed              not three base64url parts of JSON, or longer than 8 KiB; or JSON that
                       only Python reads (NaN, Infinity, a lone surrogate: RFC 8259)
algorithm_not_allowed  ``alg`` is ``none`` (any spelling), or not the one algorithm of the key
unknown_key            no ``kid``, or a ``kid`` not in the lab's own key set (never, or retired);
                       a key the token brings itself (``jwk``, ``jku``, ``x5u``, ``x5c``) is
                       never used, and the reason says so when a token brings one
wrong_type             ``typ`` is not ``at+jwt`` (RFC 9068; RFC 8725 section 3.11)
bad_signature          the signature does not verify with that key (tampered, or another key)
missing_claim          ``exp``, ``iat``, ``sub``, ``jti``, ``client_id`` (RFC 9068 section 2.2), or
                       ``iss``/``aud``, absent
wrong_issuer           ``iss`` is not exactly the lab's issuer
wrong_audience         ``aud`` is not this API, nor a list that contains it (RFC 9068 section 4,
                       RFC 7519 section 4.1.3)
invalid_claim          a claim of the wrong type or value: ``sub``, ``jti`` or ``client_id`` not
                       a non-empty string; ``exp``, ``nbf`` or ``iat`` not a NumericDate (a
                       finite number of seconds since 1970, within the years 1 to 9999: NaN or
                       Infinity would make a token that never expires, as every comparison
                       with NaN is false)
expired                ``exp`` <= now - leeway
not_yet_valid          ``nbf`` > now + leeway
issued_in_the_future   ``iat`` > now + leeway
=====================  ========================================================================

Time is the lab clock's. PyJWT compares ``exp``/``nbf``/``iat`` with the wall clock, which a
notebook may have left behind with ``lab.clock.advance()``, so PyJWT's own time checks are
switched off and the three comparisons above are made here, against the lab clock, with the
same semantics as PyJWT's (same boundaries, same leeway). Signatures, ``iss``, ``aud`` and
required claims are PyJWT's work, never re-implemented.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.utils import base64url_decode

from . import strict_json
from .keys import KeyRing, SigningKey
from .timefmt import duration, iso

MAX_TOKEN_LENGTH = 8 * 1024
TOKEN_TYPE = "at+jwt"
#: The NumericDates the lab accepts: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z (past those,
#: no calendar date exists; the offline decoder uses the same range).
MIN_NUMERIC_DATE, MAX_NUMERIC_DATE = -62_135_596_800, 253_402_300_799
TIME_CLAIMS = ("exp", "nbf", "iat")
#: Claims that must be non-empty strings when present (and are required: see TokenPolicy).
STRING_CLAIMS = ("sub", "jti", "client_id")
#: Header parameters that carry a key or point to one (RFC 7515 sections 4.1.2, 4.1.3, 4.1.5 and
#: 4.1.6): the verifier never uses them; its keys are its own.
BROUGHT_KEY_HEADERS = ("jwk", "jku", "x5u", "x5c")


@dataclass(frozen=True)
class TokenPolicy:
    """What this API requires of a token it accepts."""

    issuer: str
    audience: str
    leeway: float = 30.0  # seconds of clock skew tolerated between issuer and API
    required: tuple[str, ...] = ("exp", "iat", "sub", "jti", "client_id")


class TokenRejected(Exception):
    """A token failed one rule. ``rule`` is its code (see the table above); ``description``
    says what exactly was wrong, in words fit for ``error_description``."""

    def __init__(self, rule: str, description: str) -> None:
        super().__init__(f"{rule.replace('_', ' ')}: {description}")
        self.rule = rule
        self.description = description

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class VerifiedToken:
    """A token that passed every rule: its header, its claims, and the key that verified it."""

    header: dict
    claims: dict
    key: SigningKey


def access_token_claims(
    subject: str,
    *,
    issuer: str,
    audience: str,
    now: float,
    lifetime: int,
    client_id: str = "jwt-lab",
    extra: dict[str, Any] | None = None,
) -> dict:
    """The claims of an access token for ``subject`` issued at ``now`` (RFC 9068's set)."""
    issued = int(now)
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime),
        "jti": secrets.token_urlsafe(32),
        "client_id": client_id,
        **(extra or {}),
    }


def issue_access_token(keys: KeyRing, claims: dict, alg: str = "ES256") -> str:
    """Sign ``claims`` with the current ``alg`` key; the header names the key and the type."""
    key = keys.current(alg)
    return jwt.encode(
        claims, key.signing_key, algorithm=key.alg, headers={"typ": TOKEN_TYPE, "kid": key.kid}
    )


def verify_signature(token: str, key: SigningKey) -> tuple[dict, bytes]:
    """The signing layer alone: check ``token``'s signature with ``key`` (and only ``key``'s
    algorithm); return the header and the payload bytes. No claim is looked at."""
    decoded = jwt.PyJWS().decode_complete(token, key.verifying_key, algorithms=[key.alg])
    return decoded["header"], decoded["payload"]


def verify_access_token(
    token: str, keys: KeyRing, policy: TokenPolicy, now: float
) -> VerifiedToken:
    """Check every trust rule (see the module's table); return the verified token or raise
    :class:`TokenRejected` naming the first rule that failed."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise TokenRejected(
            "malformed", "expected three base64url parts separated by dots, at most 8 KiB"
        )
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:  # DecodeError, or e.g. a kid that is not a string
        raise TokenRejected("malformed", f"the header cannot be read ({exc})") from None
    key = _key_for(header, keys)
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != TOKEN_TYPE:
        raise TokenRejected(
            "wrong_type", f"typ must be {TOKEN_TYPE!r} (an access token), not {typ!r}"
        )

    try:
        claims = jwt.decode(
            token,
            key.verifying_key,
            algorithms=[key.alg],
            issuer=policy.issuer,
            audience=policy.audience,
            # Time claims are checked below against the lab clock (see the module docstring).
            options={
                "require": list(policy.required),
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise TokenRejected(
            "bad_signature",
            f"the signature does not match key {key.kid}: the token was "
            "changed after signing, or signed with another key" + _brought_keys(header),
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRejected("missing_claim", f"the claim {exc.claim!r} is required") from None
    except jwt.InvalidIssuerError:
        got = _unverified_claims(token).get("iss")
        raise TokenRejected(
            "wrong_issuer", f"iss must be {policy.issuer!r}, not {_shown(got)}"
        ) from None
    except jwt.InvalidAudienceError:
        got = _unverified_claims(token).get("aud")
        raise TokenRejected(
            "wrong_audience",
            f"aud must be {policy.audience!r} or a list that contains it, not {_shown(got)}",
        ) from None
    except jwt.DecodeError as exc:
        raise TokenRejected("malformed", f"the payload cannot be read ({exc})") from None
    except jwt.InvalidTokenError as exc:
        raise TokenRejected("invalid_claim", str(exc)) from None

    _check_claim_values(claims)
    _check_strict_json(token)
    _check_times(claims, policy, now)
    return VerifiedToken(header=header, claims=claims, key=key)


def _check_strict_json(token: str) -> None:
    """Header and payload must be JSON as RFC 8259 has it, read again strictly: PyJWT's parser
    accepts NaN, lone surrogates, UTF-16 and repeated keys (``{"sub": "alice", "sub": "admin"}``
    means admin to one parser and alice to another)."""
    for name, part in zip(("header", "payload"), token.split(".")[:2], strict=True):
        try:
            strict_json.loads(base64url_decode(part.encode("ascii")))
        except (strict_json.NotStrictJSON, ValueError) as exc:
            raise TokenRejected("malformed", f"the {name} is not strict JSON: {exc}") from None


def numeric_date_problem(name: str, value: Any) -> str | None:
    """Why ``value`` is not a usable NumericDate for claim ``name`` (RFC 7519 section 2), or
    None: a finite number of seconds since 1970, within the years 1 to 9999. (The decoder in
    :mod:`labserver.tools.decoder` explains the same rule at length.)"""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{name} must be a number of seconds (a NumericDate), not {_shown(value)}"
    if not (MIN_NUMERIC_DATE <= value <= MAX_NUMERIC_DATE):  # also false for NaN
        return (
            f"{name} must be a finite NumericDate within the years 1 to 9999, not {_shown(value)}"
        )
    return None


def _check_claim_values(claims: dict) -> None:
    for name in STRING_CLAIMS:
        if name in claims and not (isinstance(claims[name], str) and claims[name]):
            raise TokenRejected(
                "invalid_claim", f"{name} must be a non-empty string, not {_shown(claims[name])}"
            )
    for name in TIME_CLAIMS:
        problem = numeric_date_problem(name, claims[name]) if name in claims else None
        if problem:
            raise TokenRejected("invalid_claim", problem)


def _shown(value: Any) -> str:
    """``value`` quoted for an error message: short, and printable whatever it holds."""
    text = repr(value).encode("utf-8", "backslashreplace").decode()
    return text if len(text) <= 60 else text[:57] + "..."


def _key_for(header: dict, keys: KeyRing) -> SigningKey:
    """The published key this header names, if its algorithm is that key's one algorithm."""
    alg = header.get("alg")
    if not isinstance(alg, str):
        raise TokenRejected("malformed", "the header has no alg")
    if alg.strip().lower() == "none":
        raise TokenRejected(
            "algorithm_not_allowed", f"alg {alg!r}: an unsigned token is never accepted"
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected(
            "unknown_key", "the header has no kid, so no key can be chosen" + _brought_keys(header)
        )
    key = keys.get(kid)
    if key is None:
        raise TokenRejected(
            "unknown_key",
            f"kid {kid[:40]!r} is not in this server's key set (retired, or never its own)"
            + _brought_keys(header),
        )
    if alg != key.alg:
        raise TokenRejected(
            "algorithm_not_allowed",
            f"the header says {alg[:20]!r}, but key {kid} only verifies {key.alg}",
        )
    return key


def _brought_keys(header: dict) -> str:
    """For a reason: the key headers the token carries, and that none of them was used."""
    brought = [name for name in BROUGHT_KEY_HEADERS if name in header]
    if not brought:
        return ""
    names = " and ".join(brought) + (" header" if len(brought) == 1 else " headers")
    return f"; the key the token brings in its {names} is never used, only this server's own"


def _check_times(claims: dict, policy: TokenPolicy, now: float) -> None:
    # Types and ranges were checked by _check_claim_values: plain comparisons are safe here.
    leeway = policy.leeway
    if claims["exp"] <= now - leeway:
        raise TokenRejected(
            "expired",
            f"the token expired {duration(now - claims['exp'])} ago, at "
            f"{iso(claims['exp'])} (leeway {leeway:g} s)",
        )
    if "nbf" in claims and claims["nbf"] > now + leeway:
        raise TokenRejected(
            "not_yet_valid",
            f"the token is not valid before {iso(claims['nbf'])}, "
            f"{duration(claims['nbf'] - now)} from now (leeway {leeway:g} s)",
        )
    if claims["iat"] > now + leeway:
        raise TokenRejected(
            "issued_in_the_future",
            f"iat is {duration(claims['iat'] - now)} in the future (leeway {leeway:g} s)",
        )


def _unverified_claims(token: str) -> dict:
    # Only called after PyJWT has verified the signature, to quote a wrong iss/aud back.
    return jwt.decode(token, options={"verify_signature": False})
