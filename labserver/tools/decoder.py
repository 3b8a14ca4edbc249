"""The JWT decoder: take a token apart, offline, and say what is wrong with it.

Decoding is done by PyJWT (``PyJWS.decode_complete`` without verification, which splits the
three parts and base64url-decodes them); nothing here parses base64 or JSON by hand. The report
is labelled NOT VERIFIED unless a key is given, and then says which rule failed, if any.
"""

from __future__ import annotations

import json
import math
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import jwt

from .. import strict_json
from ..access_tokens import MAX_NUMERIC_DATE, MIN_NUMERIC_DATE
from ..timefmt import duration, iso
from .timestamps import local_iso, relative

TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")
#: The NumericDates a calendar can show: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_PARTS = ("header", "payload", "signature")
_SHAPE = (
    "A JWT is three base64url parts, header.payload.signature, whose first two are JSON "
    "objects: so it starts with 'eyJ' (base64url for '{\"'), and so does its second part"
)
_SENSITIVE_NAME = re.compile(
    r"pass(word)?|passwd|secret|ssn|social.?security|card|cvv|cvc|pin\b|private", re.I
)
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
        lines = [
            f"header   {json.dumps(self.header, indent=None)}",
            "payload  "
            + (
                json.dumps(self.payload, indent=1).replace("\n", "\n         ")
                if isinstance(self.payload, dict)
                else repr(self.payload)
            ),
            f"signature {self.signature_bytes} bytes",
            f"[{label}]",
        ]
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
        notes.append(
            "removed a 'Bearer ' prefix: that belongs in the header, not in the token "
            "(left in, PyJWT fails to read the header: 'Invalid header padding' or "
            "similar)"
        )
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        token = token[1:-1]
        notes.append("removed quotes around the token")
    if re.search(r"\s", token):
        token = re.sub(r"\s+", "", token)
        notes.append("removed white space inside the token (a line break from copying?)")
    return token, notes


def decode(
    text: str,
    *,
    now: float | None = None,
    key: Any = None,
    audience: str | None = None,
    issuer: str | None = None,
    leeway: float = 0,
) -> DecodedToken:
    """Decode ``text`` without trusting it; with ``key`` (an HMAC secret, a PEM public key, a
    JWK dict or a JWKS dict), also verify it and say which rule fails. Never raises."""
    now = time.time() if now is None else now
    if not isinstance(text, str):
        return DecodedToken(given=repr(text), error=f"expected text, got {type(text).__name__}")
    token, notes = clean(text)
    report = DecodedToken(given=text, token=token, warnings=list(notes))
    if token.count(".") != 2:
        report.error = (
            f"a JWT is three base64url parts separated by two dots; this has "
            f"{token.count('.') + 1} part(s)"
        )
        return report
    try:
        decoded = jwt.PyJWS().decode_complete(token, options={"verify_signature": False})
    except jwt.DecodeError as exc:
        report.error = _unreadable(token, str(exc))
        return report
    except Exception as exc:  # anything PyJWT did not expect is still the token's fault
        report.error = _unreadable(token, f"{type(exc).__name__}: {exc}")
        return report
    report.header = decoded["header"]
    report.signature_bytes = len(decoded["signature"])
    report.payload = _read_payload(decoded["payload"], report.warnings)
    try:
        _describe_times(report, now)
        _warn(report)
        if key is not None:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                _verify(report, key, audience=audience, issuer=issuer, leeway=leeway, now=now)
            report.warnings.extend(f"PyJWT warns: {w.message}" for w in caught)
    except Exception as exc:  # noqa: BLE001 - a decoder explains, it never crashes on input
        report.warnings.append(
            f"the decoder could not finish its checks: {type(exc).__name__}: {exc}"
        )
    return report


def _read_payload(raw: bytes, notes: list[str]) -> Any:
    """The payload as JSON: strictly (RFC 8259) if it can be; else as Python's lenient parser
    (and PyJWT) would read it, with a note saying why a strict parser would not."""
    try:
        return strict_json.loads(raw)
    except strict_json.NotStrictJSON as exc:
        strict_says = str(exc)
    text = raw.decode("utf-8", "replace")
    if "nested" not in strict_says:
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            pass
        else:
            notes.append(
                f"the payload is not strict JSON ({strict_says}): Python's json and PyJWT "
                "read it anyway, stricter parsers refuse it or read it differently"
            )
            return value
    notes.append(f"the payload is not usable JSON ({strict_says}): this is a JWS, but not a JWT")
    return text if len(text) <= 200 else text[:200] + "..."


def _unreadable(token: str, pyjwt_says: str) -> str:
    """PyJWT's complaint about ``token``, with which part is wrong and how, and what a JWT is."""
    for index, (name, part) in enumerate(zip(_PARTS, token.split("."), strict=True)):
        problem = _part_problem(part, json_object=index < 2)
        if problem:
            shown = part if len(part) <= 24 else part[:20] + "..."
            return (
                f"PyJWT cannot read it: {pyjwt_says}. That is: the {name} (part {index + 1} "
                f"of 3, {shown!r}) {problem}. {_SHAPE}"
            )
    return f"PyJWT cannot read it: {pyjwt_says}. {_SHAPE}"


def _part_problem(part: str, *, json_object: bool) -> str:
    """What is wrong with one dot-separated part, or "" when it reads as PyJWT needs."""
    from jwt.utils import base64url_decode

    if not part:
        return "is empty" if json_object else ""
    foreign = sorted(set(re.sub(r"[A-Za-z0-9_-]", "", part.rstrip("="))))
    if foreign:
        hint = (
            " ('+' and '/' are base64, not base64url, which uses '-' and '_')"
            if set(foreign) & {"+", "/"}
            else ""
        )
        return f"holds characters base64url does not use: {', '.join(map(repr, foreign))}{hint}"
    if len(part.rstrip("=")) % 4 == 1:
        size = len(part.rstrip("="))
        return (
            f"is {size} character{'s' if size > 1 else ''} long, which no base64url text can "
            "be (1 more than a multiple of 4): a character is missing or extra (cut off when "
            "copying?)"
        )
    if not json_object:
        return ""
    try:
        raw = base64url_decode(part.encode())
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "decodes to bytes that are not UTF-8 text, so not to JSON"
    except ValueError as exc:
        return f"is not base64url ({exc})"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return f"decodes to {text[:40]!r}, which is not JSON"
    if not isinstance(value, dict):
        return f"decodes to JSON ({text[:40]!r}), but not to a JSON object {{...}}"
    return ""


def numeric_date_problem(name: str, value: Any) -> str:
    """Why ``value`` cannot be the NumericDate ``name`` (RFC 7519 section 2: a JSON number of
    seconds since 1970), in one sentence; "" when it can. Beyond year 9999 and before year 1 is
    refused too: no calendar holds it, and a verifier that compares it as a number is misled."""
    kind = _bad_kind(value)
    if not kind:
        return ""
    start = f"{name} is not a valid NumericDate ({kind})"
    forever = ", and a naive verifier finds that the token never expires" if name == "exp" else ""
    if kind == "NaN":
        never = {
            "exp": "never finds the token expired",
            "nbf": "never holds the token back",
            "iat": "never finds it issued in the future",
        }.get(name, "decides nothing from it")
        return (
            f"{start}: not a number, and not even JSON (RFC 8259 has no NaN; Python's json "
            "reads it anyway). Every comparison with NaN is false, so a naive verifier "
            f"{never}"
        )
    if kind.endswith("Infinity"):
        return f"{start}: not JSON (RFC 8259 has no Infinity; Python's json reads it anyway)" + (
            forever if kind == "Infinity" else ""
        )
    if kind.startswith(("after", "before")):
        if MAX_NUMERIC_DATE < value <= MAX_NUMERIC_DATE * 1000:
            return (
                f"{start}: {_shown(value)} looks like milliseconds (12 or more digits). JWT "
                "times are seconds, so a verifier reads it as thousands of years away"
            )
        return f"{start}: read as seconds since 1970, {_shown(value)} is outside any calendar" + (
            forever if kind.startswith("after") else ""
        )
    lenient = (
        ", though PyJWT reads a numeric string as a number anyway"
        if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value)
        else ""
    )
    return f"{start}: a JSON number of seconds since 1970 belongs here{lenient}"


def _bad_kind(value: Any) -> str:
    """What is wrong with a NumericDate, in a few words; "" when nothing is."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, dict)):
        return "an array" if isinstance(value, list) else "an object"
    if not isinstance(value, (int, float)):
        return type(value).__name__
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value > MAX_NUMERIC_DATE:
        return "after year 9999"
    if value < MIN_NUMERIC_DATE:
        return "before year 1"
    return ""


def _shown(value: Any) -> str:
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"a {len(str(abs(value)))}-digit number"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _valid_time(claims: dict, name: str) -> bool:
    return name in claims and not numeric_date_problem(name, claims[name])


def _describe_times(report: DecodedToken, now: float) -> None:
    claims = report.payload if isinstance(report.payload, dict) else {}
    meaning = {
        "iat": "issued",
        "nbf": "valid from",
        "exp": "expires",
        "auth_time": "user authenticated",
    }
    past = {"exp": "expired"}
    for name in TIME_CLAIMS:
        if name not in claims:
            continue
        value, problem = claims[name], numeric_date_problem(name, claims[name])
        if problem and "milliseconds" not in problem:
            report.warnings.append(problem)
            continue
        if problem:  # milliseconds: shown as the moment they were probably meant to be
            report.warnings.append(problem)
            value = value / 1000
        elif value > 100_000_000_000:
            report.warnings.append(
                f"{name} looks like milliseconds (12 or more digits): JWT "
                "times are seconds, so a verifier reads it as thousands of "
                "years away"
            )
            value = value / 1000
        word = past.get(name, meaning[name]) if value <= now else meaning[name]
        report.times.append(
            f"{name:<9} {word + ' ' + relative(value, now):<30} "
            f"UTC {iso(value)}   local {local_iso(value)}"
        )
    if _valid_time(claims, "exp") and claims["exp"] <= now:
        report.warnings.append(f"expired {relative(claims['exp'], now)}")
    if _valid_time(claims, "exp") and _valid_time(claims, "iat"):
        lifetime = claims["exp"] - claims["iat"]
        if lifetime > 24 * 3600:
            report.warnings.append(
                f"lives {duration(lifetime)}: over a day is long for an access token"
            )


def _warn(report: DecodedToken) -> None:
    header = report.header or {}
    claims = report.payload if isinstance(report.payload, dict) else {}
    alg = str(header.get("alg", ""))
    if alg.strip().lower() == "none":
        report.warnings.append("alg is 'none': an unsigned token, which no verifier may accept")
    for risky in ("jku", "jwk", "x5u", "x5c"):
        if risky in header:
            report.warnings.append(
                f"the header carries '{risky}': a verifier must never take its key from the token"
            )
    if not isinstance(report.payload, dict):
        return
    if "exp" not in claims:
        report.warnings.append("no exp: the token never expires")
    for name in ("iss", "aud"):
        if name not in claims:
            what = "who issued it" if name == "iss" else "whom it is for"
            report.warnings.append(f"no {name}: a verifier cannot check {what}")
    if "sub" in claims and not isinstance(claims["sub"], str):
        report.warnings.append(
            f"sub is {type(claims['sub']).__name__}, not a string (RFC 7519; PyJWT refuses it)"
        )
    for name, value in claims.items():
        if _SENSITIVE_NAME.search(name):
            report.warnings.append(
                f"claim {name!r} looks sensitive: anyone holding the token can read it"
            )
        elif _looks_like_card(value):
            report.warnings.append(
                f"claim {name!r} holds what looks like a card number: tokens are not secret"
            )


def _verify(report: DecodedToken, key: Any, *, audience, issuer, leeway, now) -> None:
    header = report.header or {}
    alg = header.get("alg")
    try:
        verifying_key, key_alg, described = _key_from(key, header)
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        jwt.PyJWKError,
        jwt.InvalidKeyError,
    ) as exc:
        missing = f"it lacks the member {exc}" if isinstance(exc, KeyError) else str(exc)
        report.verification = f"the key given cannot be used: {missing}"
        return
    if not isinstance(alg, str) or alg.strip().lower() == "none":
        report.verification = "algorithm not allowed: the token is unsigned (alg none)"
        return
    if key_alg and alg != key_alg:
        report.verification = (
            f"algorithm not allowed: the token says {alg}, the key is for {key_alg}"
        )
        return
    try:
        jwt.PyJWS().decode_complete(report.token, verifying_key, algorithms=[alg])
    except jwt.InvalidSignatureError:
        hint = ""
        if isinstance(key, str) and _verifies_as_base64(report.token, key, alg):
            hint = (
                " -- but it verifies when the secret is base64url-decoded first: the issuer "
                "treats the secret as base64, this code as text"
            )
        report.verification = f"bad signature: not signed by {described}{hint}"
        return
    except jwt.InvalidAlgorithmError as exc:
        report.verification = f"algorithm not allowed: {exc}"
        return
    except (jwt.InvalidKeyError, jwt.InvalidTokenError, TypeError, ValueError) as exc:
        report.verification = f"the key does not fit the token's algorithm {alg}: {exc}"
        return
    problems = _claim_problems(
        report.payload, now=now, audience=audience, issuer=issuer, leeway=leeway
    )
    if problems:
        report.verification = f"signature OK ({described}), but: " + "; ".join(problems)
    else:
        report.verified = True
        rules = "time and audience rule" if audience else "time rule"
        report.verification = f"signature OK ({described}), and every {rules} holds"


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
            raise ValueError(
                f"the JWKS has no key with kid {kid!r}" if kid else "the JWKS is empty"
            )
        if len(matches) > 1:
            raise ValueError("the token names no kid, and the JWKS has several keys")
        key = matches[0]
    if isinstance(key, dict):
        jwk = jwt.PyJWK(key)
        described = f"the JWK {key.get('kid', '(no kid)')}"
        return jwk.key, key.get("alg") or jwk.algorithm_name, described
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
    times = ("exp", "nbf", "iat")
    problems = [
        numeric_date_problem(name, claims[name]).split(":")[0]
        for name in times
        if name in claims and not _valid_time(claims, name)
    ]
    exp, nbf, iat = (claims[name] if _valid_time(claims, name) else None for name in times)
    if exp is not None and exp <= now - leeway:
        problems.append(f"expired {relative(exp, now)}")
    if nbf is not None and nbf > now + leeway:
        problems.append(f"not yet valid (nbf {relative(nbf, now)})")
    if audience is not None:
        aud = claims.get("aud")
        ok = aud == audience or (isinstance(aud, list) and audience in aud)
        if not ok:
            problems.append(f"wrong audience: {aud!r}, expected {audience!r}")
    if audience is None and "aud" in claims:
        problems.append(
            f"it has aud {claims['aud']!r} and no audience was given to check it "
            "(PyJWT refuses that: pass audience=)"
        )
    if issuer is not None and claims.get("iss") != issuer:
        problems.append(f"wrong issuer: {claims.get('iss')!r}, expected {issuer!r}")
    if "sub" in claims and not isinstance(claims["sub"], str):
        problems.append(f"sub is {claims['sub']!r}: PyJWT requires a string")
    if iat is not None and iat > now + leeway:
        problems.append(f"issued in the future (iat {relative(iat, now)})")
    return problems
