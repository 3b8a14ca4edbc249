"""The JWT decoder: take a token apart, offline, and say what is wrong with it.

Decoding is done by PyJWT (``PyJWS.decode_complete`` without verification, which splits the
three parts and base64url-decodes them); nothing here parses base64 or JSON by hand. The report
is labelled NOT VERIFIED unless a key is given, and then says which rule failed, if any.
"""

from __future__ import annotations

import json
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import jwt

from ..timefmt import duration
from .timestamps import local_iso, relative, utc_iso

TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")
_SENSITIVE_NAME = re.compile(r"pass(word)?|passwd|secret|ssn|social.?security|card|cvv|cvc|pin\b|private", re.I)
_DIGITS = re.compile(r"\b(?:\d[ -]?){13,19}\b")


def _luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, d in enumerate(map(int, digits)):
        if i % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _looks_like_card(value: Any) -> bool:
    for match in _DIGITS.findall(str(value)):
        digits = re.sub(r"\D", "", match)
        if 13 <= len(digits) <= 19 and _luhn(digits):
            return True
    return False


@dataclass
class DecodedToken:
    """What a token says (unverified unless ``verified`` is set), and what looks wrong."""

    given: str
    token: str = ""
    header: dict | None = None
    payload: Any = None  # a dict of claims, or the payload's text when it is not JSON
    signature_bytes: int = 0
    times: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str = ""
    verification: str = ""  # "" when no key was given
    verified: bool = False

    def text(self) -> str:
        if self.error:
            lines = [f"not a JWT: {self.error}"]
            lines += [f"  ! {w}" for w in self.warnings]
            return "\n".join(lines)
        label = "VERIFIED" if self.verified else "NOT VERIFIED: anyone can write these claims"
        lines = [f"header   {json.dumps(self.header, indent=None)}",
                 "payload  " + (json.dumps(self.payload, indent=1).replace("\n", "\n         ")
                                if isinstance(self.payload, dict) else repr(self.payload)),
                 f"signature {self.signature_bytes} bytes",
                 f"[{label}]"]
        if self.times:
            lines += ["times"] + [f"  {t}" for t in self.times]
        if self.verification:
            lines.append(f"verification: {self.verification}")
        if self.warnings:
            lines += ["warnings"] + [f"  ! {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text())


def clean(text: str) -> tuple[str, list[str]]:
    """The token inside what was pasted, and what had to be removed to find it."""
    notes = []
    token = text.strip()
    if token != text:
        notes.append("removed white space around the token (pasted with a newline?)")
    if token.lower().startswith("authorization:"):
        token = token.split(":", 1)[1].strip()
        notes.append("removed an 'Authorization:' header name")
    if token[:7].lower() == "bearer ":
        token = token[7:].strip()
        notes.append("removed a 'Bearer ' prefix: that belongs in the header, not in the token "
                     "(left in, PyJWT fails to read the header: 'Invalid header padding' or similar)")
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        token = token[1:-1]
        notes.append("removed quotes around the token")
    if re.search(r"\s", token):
        token = re.sub(r"\s+", "", token)
        notes.append("removed white space inside the token (a line break from copying?)")
    return token, notes


def decode(text: str, *, now: float | None = None, key: Any = None, audience: str | None = None,
           issuer: str | None = None, leeway: float = 0) -> DecodedToken:
    """Decode ``text`` without trusting it; with ``key`` (an HMAC secret, a PEM public key, a
    JWK dict or a JWKS dict), also verify it and say which rule fails. Never raises."""
    now = time.time() if now is None else now
    if not isinstance(text, str):
        return DecodedToken(given=repr(text), error=f"expected text, got {type(text).__name__}")
    token, notes = clean(text)
    report = DecodedToken(given=text, token=token, warnings=list(notes))
    if token.count(".") != 2:
        report.error = (f"a JWT is three base64url parts separated by two dots; this has "
                        f"{token.count('.') + 1} part(s)")
        return report
    try:
        decoded = jwt.PyJWS().decode_complete(token, options={"verify_signature": False})
    except jwt.DecodeError as exc:
        report.error = f"PyJWT cannot read it: {exc}"
        return report
    except Exception as exc:  # anything PyJWT did not expect is still the token's fault
        report.error = f"PyJWT cannot read it: {type(exc).__name__}: {exc}"
        return report
    report.header = decoded["header"]
    report.signature_bytes = len(decoded["signature"])
    try:
        report.payload = json.loads(decoded["payload"])
    except (ValueError, UnicodeDecodeError):
        report.payload = decoded["payload"].decode("utf-8", "replace")
        report.warnings.append("the payload is not JSON: this is a JWS, but not a JWT")
    try:
        _describe_times(report, now)
        _warn(report)
        if key is not None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                _verify(report, key, audience=audience, issuer=issuer, leeway=leeway, now=now)
            report.warnings.extend(f"PyJWT warns: {w.message}" for w in caught)
    except Exception as exc:  # noqa: BLE001 - a decoder explains, it never crashes on input
        report.warnings.append(f"the decoder could not finish its checks: {type(exc).__name__}: {exc}")
    return report


def _describe_times(report: DecodedToken, now: float) -> None:
    claims = report.payload if isinstance(report.payload, dict) else {}
    meaning = {"iat": "issued", "nbf": "valid from", "exp": "expires", "auth_time": "user authenticated"}
    past = {"exp": "expired"}
    for name in TIME_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            report.warnings.append(f"{name} is {value!r}: it must be a number of seconds since 1970")
            continue
        try:
            if value > 100_000_000_000:
                report.warnings.append(f"{name} looks like milliseconds (12 or more digits): JWT times are "
                                       "seconds, so a verifier reads it as thousands of years away")
                value = value / 1000
            word = past.get(name, meaning[name]) if value <= now else meaning[name]
            report.times.append(f"{name:<9} {word + ' ' + relative(value, now):<30} "
                                f"UTC {utc_iso(value)}   local {local_iso(value)}")
        except (OverflowError, OSError, ValueError):
            report.warnings.append(f"{name} = {value} is outside any calendar")
            continue
    exp, iat = claims.get("exp"), claims.get("iat")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool) and exp <= now:
        try:
            report.warnings.append(f"expired {relative(exp, now)}")
        except (OverflowError, OSError, ValueError):
            report.warnings.append(f"exp = {exp} is outside any calendar")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (exp, iat)) and exp - iat > 24 * 3600:
        report.warnings.append(f"lives {duration(exp - iat)}: over a day is long for an access token")


def _warn(report: DecodedToken) -> None:
    header = report.header or {}
    claims = report.payload if isinstance(report.payload, dict) else {}
    alg = str(header.get("alg", ""))
    if alg.strip().lower() == "none":
        report.warnings.append("alg is 'none': an unsigned token, which no verifier may accept")
    for risky in ("jku", "jwk", "x5u", "x5c"):
        if risky in header:
            report.warnings.append(f"the header carries '{risky}': a verifier must never take its key from the token")
    if not isinstance(report.payload, dict):
        return
    if "exp" not in claims:
        report.warnings.append("no exp: the token never expires")
    for name in ("iss", "aud"):
        if name not in claims:
            report.warnings.append(f"no {name}: a verifier cannot check {'who issued it' if name == 'iss' else 'whom it is for'}")
    if "sub" in claims and not isinstance(claims["sub"], str):
        report.warnings.append(f"sub is {type(claims['sub']).__name__}, not a string (RFC 7519; PyJWT refuses it)")
    for name, value in claims.items():
        if _SENSITIVE_NAME.search(name):
            report.warnings.append(f"claim {name!r} looks sensitive: anyone holding the token can read it")
        elif _looks_like_card(value):
            report.warnings.append(f"claim {name!r} holds what looks like a card number: tokens are not secret")


def _verify(report: DecodedToken, key: Any, *, audience, issuer, leeway, now) -> None:
    header = report.header or {}
    alg = header.get("alg")
    try:
        verifying_key, key_alg, described = _key_from(key, header)
    except (ValueError, TypeError, KeyError, AttributeError, jwt.PyJWKError, jwt.InvalidKeyError) as exc:
        missing = f"it lacks the member {exc}" if isinstance(exc, KeyError) else str(exc)
        report.verification = f"the key given cannot be used: {missing}"
        return
    if not isinstance(alg, str) or alg.strip().lower() == "none":
        report.verification = "algorithm not allowed: the token is unsigned (alg none)"
        return
    if key_alg and alg != key_alg:
        report.verification = f"algorithm not allowed: the token says {alg}, the key is for {key_alg}"
        return
    try:
        jwt.PyJWS().decode_complete(report.token, verifying_key, algorithms=[alg])
    except jwt.InvalidSignatureError:
        hint = ""
        if isinstance(key, str) and _verifies_as_base64(report.token, key, alg):
            hint = (" -- but it verifies when the secret is base64url-decoded first: the issuer "
                    "treats the secret as base64, this code as text")
        report.verification = f"bad signature: not signed by {described}{hint}"
        return
    except jwt.InvalidAlgorithmError as exc:
        report.verification = f"algorithm not allowed: {exc}"
        return
    except (jwt.InvalidKeyError, jwt.InvalidTokenError, TypeError, ValueError) as exc:
        report.verification = f"the key does not fit the token's algorithm {alg}: {exc}"
        return
    problems = _claim_problems(report.payload, now=now, audience=audience, issuer=issuer, leeway=leeway)
    if problems:
        report.verification = f"signature OK ({described}), but: " + "; ".join(problems)
    else:
        report.verified = True
        report.verification = f"signature OK ({described}), and every time{' and audience' if audience else ''} rule holds"


def _verifies_as_base64(token: str, secret: str, alg: str) -> bool:
    from jwt.utils import base64url_decode

    try:
        raw = base64url_decode(secret.encode())
        with warnings.catch_warnings():  # a probe: its short-key warning is not the user's
            warnings.simplefilter("ignore")
            jwt.PyJWS().decode_complete(token, raw, algorithms=[alg])
        return True
    except Exception:  # any failure simply means "no, not that either"
        return False


def _key_from(key: Any, header: dict) -> tuple[Any, str | None, str]:
    """(key object, the algorithm it is for or None, a description) from what was given."""
    if isinstance(key, dict) and "keys" in key:
        if not isinstance(key["keys"], list) or not all(isinstance(k, dict) for k in key["keys"]):
            raise ValueError('a JWKS is {"keys": [JWK objects]}; this one holds something else')
        kid = header.get("kid")
        matches = [k for k in key["keys"] if k.get("kid") == kid] if kid else key["keys"]
        if not matches:
            raise ValueError(f"the JWKS has no key with kid {kid!r}" if kid else "the JWKS is empty")
        if len(matches) > 1:
            raise ValueError("the token names no kid, and the JWKS has several keys")
        key = matches[0]
    if isinstance(key, dict):
        jwk = jwt.PyJWK(key)
        return jwk.key, key.get("alg") or jwk.algorithm_name, f"the JWK {key.get('kid', '(no kid)')}"
    if isinstance(key, str) and "-----BEGIN" in key:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        public = load_pem_public_key(key.encode())
        return public, None, f"the {type(public).__name__} from the PEM"
    if isinstance(key, (str, bytes)):
        secret = key.encode() if isinstance(key, str) else key
        return secret, None, f"the {len(secret)}-byte secret"
    return key, None, f"the {type(key).__name__} given"


def _claim_problems(claims: Any, *, now: float, audience, issuer, leeway) -> list[str]:
    if not isinstance(claims, dict):
        return []
    problems = []
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if isinstance(exp, (int, float)) and exp <= now - leeway:
        problems.append(f"expired {relative(exp, now)}")
    if isinstance(nbf, (int, float)) and nbf > now + leeway:
        problems.append(f"not yet valid (nbf {relative(nbf, now)})")
    if audience is not None:
        aud = claims.get("aud")
        ok = aud == audience or (isinstance(aud, list) and audience in aud)
        if not ok:
            problems.append(f"wrong audience: {aud!r}, expected {audience!r}")
    if audience is None and "aud" in claims:
        problems.append(f"it has aud {claims['aud']!r} and no audience was given to check it "
                        "(PyJWT refuses that: pass audience=)")
    if issuer is not None and claims.get("iss") != issuer:
        problems.append(f"wrong issuer: {claims.get('iss')!r}, expected {issuer!r}")
    if "sub" in claims and not isinstance(claims["sub"], str):
        problems.append(f"sub is {claims['sub']!r}: PyJWT requires a string")
    iat = claims.get("iat")
    if isinstance(iat, (int, float)) and not isinstance(iat, bool) and iat > now + leeway:
        problems.append(f"issued in the future (iat {relative(iat, now)})")
    return problems
