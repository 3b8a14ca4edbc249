"""What the route-by-route fuzz throws at the lab: credentials, bodies, path values, headers.

Each family the lab was once crashed by (issue 13) is here on purpose, as a value the fuzz
sends to every route with every method:

* strings that do not encode: lone surrogates (``"\\ud800"`` in JSON), NUL, non-UTF-8 bytes,
  a UTF-16 body with a BOM;
* numbers JSON has no place for: ``NaN``, ``Infinity``, ``1e999``, 400-digit integers, -1e30;
* deep nesting (5,000 ``[``), repeated keys, huge strings;
* non-ASCII bytes in headers (``Authorization: Basic é``), odd Basic payloads;
* tokens correctly signed with the lab's own key whose claims have odd types or values
  (``exp`` NaN/±inf/±1e30/null/"x", ``nbf: null``, ``sub: ""``, claims named ``active``,
  ``token_type``; no ``jti``), and odd headers (``kid``, ``jwk``) for the vulnerable endpoints.

Values are JSON *text* fragments, so that what no Python ``json.dumps`` would write (a lone
surrogate escape, a repeated key) can still be sent.
"""

from __future__ import annotations

import base64
import json
import random

from labserver import PASSWORDS
from labserver.access_tokens import access_token_claims, issue_access_token

FIELDS = (
    "username",
    "password",
    "display_name",
    "roles",
    "alg",
    "token",
    "grant_type",
    "refresh_token",
    "lifetime",
    "x",
)

#: JSON values as text: each is spliced into bodies as it is.
JSON_ATOMS = (
    '"alice"',
    '"admin"',
    '"wonderland"',
    '"ES256"',
    '"HS256"',
    '"password"',
    '"refresh_token"',
    '["user"]',
    '["user","admin"]',
    '""',
    '"\\ud800"',
    '"\\udfff tail"',
    '"a\\ud83d"',
    '"\\u0000"',
    '"a\\u0000b"',
    '"é ü 日本"',
    '"\\u202e"',
    '"' + "x" * 5000 + '"',
    '"' + "é" * 600 + '"',
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1" + "0" * 400,
    "-1e30",
    "1e30",
    "1e-400",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1.5",
    "300",
    "[]",
    "{}",
    "[null]",
    '[1,"a",{}]',
    '["\\ud800"]',
    "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000,
)


def json_text(pairs: list[tuple[str, str]]) -> bytes:
    """A JSON object as text from (key, value-text) pairs; keys may repeat."""
    return ("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}").encode(
        "utf-8", "surrogatepass"
    )


RAW_BODIES = (
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"\xff\xfe\x00",
    b"\xed\xa0\x80",
    b'{"username": "\xff", "password": "\xfe"}',
    '{"username":"alice","password":"wonderland"}'.encode("utf-16"),  # with a BOM
    '{"username":"alice","password":"wonderland"}'.encode("utf-32"),
    b"\xef\xbb\xbf" + b'{"username":"alice","password":"wonderland"}',  # UTF-8 BOM
    b'{"username":"alice","username":"bob","password":"builder","password":"wonderland"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"token": NaN}',
    b'{"token": "x", "lifetime": Infinity}',
)

FORM_BODIES = (
    b"username=alice&password=wonderland",
    b"username=%ED%A0%80&password=%FF%FE",
    b"token=%ED%A0%80",
    b"token=%FF",
    b"token=" + b"a" * 9000,
    b"username=alice&username=bob",
    b"username=%00&password=%00",
    b"=&&=&%",
    b"token=eyJ.eyJ.x",
)

CONTENT_TYPES = (
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    None,
    "application/json; charset=utf-16",
    "application/json; charset=latin-1",
    "multipart/form-data; boundary=x",
)

#: Path segments for every ``<variable>`` of a route (as sent, percent-encoded).
PATH_VALUES = (
    "alice",
    "admin",
    "mallory",
    "%C3%A9",
    "%ED%A0%80",
    "%FF",
    "%00",
    "x" * 300,
    "..",
    "es256-1",
    "rs256-1",
    "hs256-1",
    "a%2Fb",
    "%F0%9F%98%80",
    "case",
    "samesite-none",
)

ODD_HEADER_VALUES = ("é", "\x80\xff", "日本".encode().decode("latin-1"), "a" * 5000, "\x7f", " ")


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, payload: str) -> str:
    return (
        _b64(json.dumps(header).encode())
        + "."
        + _b64(payload.encode("utf-8", "surrogatepass"))
        + "."
    )


#: In :func:`odd_claim_tokens`: the claim is left out (None stands for JSON null).
ABSENT = object()


def odd_claim_tokens(lab) -> list[str]:
    """Tokens signed with the lab's own current keys whose claims are odd in type or value."""
    config = lab.app.config
    base = access_token_claims(
        "alice",
        issuer=config["TOKEN_ISSUER"],
        audience=config["TOKEN_AUDIENCE"],
        now=lab.clock.now(),
        lifetime=300,
        client_id="fuzz",
        extra={"roles": ["user"], "token_version": 1},
    )
    odd = {
        "exp": [
            float("nan"),
            float("inf"),
            float("-inf"),
            1e30,
            -1e30,
            None,
            ABSENT,
            "x",
            [],
            True,
            10**400,
            10**30,
        ],
        "nbf": [None, ABSENT, float("nan"), float("inf"), -1e30, "x"],
        "iat": [None, ABSENT, float("nan"), float("-inf"), 1e30, "x"],
        "sub": ["", 1, None, ABSENT, ["alice"], "\ud800", "admin", "mallory"],
        "aud": [[config["TOKEN_AUDIENCE"], "other"], [], None, 1, [1]],
        "iss": [None, 1, ["x"]],
        "jti": [ABSENT, None, 1, "", ["x"]],
        "client_id": [ABSENT, None, 1, ""],
        "x-nan": [
            float("nan"),
            [float("inf")],
            {"deep": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]},
        ],
        "roles": ["admin", [1, None], {"a": 1}, ["admin"] * 50],
        "token_version": ["1", None, 1.5, float("nan"), 10**30],
        "active": [False, "yes"],
        "token_type": ["refresh", 1],
        "username": [1],
        "scope": [["a"]],
    }
    tokens = []
    for name, values in odd.items():
        for value in values:
            claims = {**base, name: value}
            if value is ABSENT:
                claims.pop(name)
            for alg in ("ES256", "HS256"):
                try:
                    tokens.append(issue_access_token(lab.keys, claims, alg))
                except (TypeError, ValueError, OverflowError):
                    pass  # PyJWT itself cannot serialize it (e.g. a lone surrogate): never sent
    return tokens


def odd_header_tokens(lab) -> list[str]:
    """Tokens with odd ``kid``, ``jwk``, ``jku``, ``alg`` and ``typ`` headers (for the vulnerable
    endpoints)."""
    claims = access_token_claims(
        "alice",
        issuer=lab.app.config["TOKEN_ISSUER"],
        audience=lab.app.config["TOKEN_AUDIENCE"],
        now=lab.clock.now(),
        lifetime=300,
    )
    payload = json.dumps(claims)
    headers = [
        {"alg": "HS256", "kid": "a\u0000b"},
        {"alg": "HS256", "kid": "x" * 300},
        {"alg": "HS256", "kid": "../../../../dev/null"},
        {"alg": "HS256", "kid": 1},
        {"alg": "HS256", "kid": ["x"]},
        {"alg": "HS256", "kid": "é"},
        {"alg": "RS256", "jwk": "x"},
        {"alg": "RS256", "jwk": 1},
        {"alg": "RS256", "jwk": None},
        {"alg": "RS256", "jwk": []},
        {"alg": "none", "jwk": {"kty": "oct", "alg": "none"}},
        {"alg": "HS256", "jwk": {"kty": "oct", "k": "AAAA"}},
        {"alg": "RS256", "jwk": {"kty": "RSA"}},
        {"alg": "ES256", "jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}},
        {"alg": "RS256", "jku": "x"},
        {"alg": "RS256", "jku": 1},
        {"alg": "RS256", "jku": "http://10.0.0.1/"},
        {"alg": "RS256", "jku": "http://127.0.0.1:1/x"},
        {"alg": ["HS256"]},
        {"alg": None},
        {"alg": "NONE"},
        {"alg": "HS256", "typ": 1},
        {"alg": "HS256", "crit": ["exp"]},
        {"alg": "HS256", "b64": False},
    ]
    tokens = []
    for header in headers:
        tokens.append(_unsigned(header, payload))
        tokens.append(_unsigned(header, payload)[:-1] + ".c2ln")
        tokens.append(_unsigned(header, '{"sub": "\\ud800", "exp": NaN}') + "c2ln")
    # A kid with a lone surrogate, which no encoder would write.
    tokens.append(_b64(b'{"alg":"HS256","kid":"\\ud800"}') + "." + _b64(payload.encode()) + ".c2ln")
    tokens.append(_b64(b'{"alg":"HS256","alg":"none"}') + "." + _b64(payload.encode()) + ".")
    tokens += [
        "a.b.c",
        "..",
        "eyJ.eyJ.",
        "x" * 9000,
        "a.b",
        "\x80.\x80.\x80",
        "e30.e30.",
        _b64(b"[]") + "." + _b64(b"[]") + ".",
        _b64(b"{") + "." + _b64(b"1") + ".",
    ]
    return tokens


def credential_headers(
    lab, sessions: dict[str, dict[str, str]], tokens: dict[str, str]
) -> list[dict[str, str]]:
    """Header sets: none, good and bad Basic, bearer tokens (good and odd), session cookies,
    non-ASCII bytes where a header would carry text."""
    sets: list[dict[str, str]] = [{}]
    sets += [{"Authorization": basic(u, PASSWORDS[u])} for u in ("alice", "admin")]
    sets += [
        {"Authorization": v}
        for v in (
            "Basic é",
            "Basic \x80",
            "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
            "Basic " + base64.b64encode(b"alice").decode(),
            "Basic ====",
            "Basic",
            "Basic " + "A" * 5000,
            basic("alice", "\x00"),
            "Bearer",
            "Bearer é",
            "Bearer a.b.c",
            "Bearer " + "a" * 9000,
            "Bearer x y",
            "Digest é",
            "é",
            "Bearer\x80",
        )
    ]
    sets += [{"Authorization": f"Bearer {t}"} for t in tokens.values()]
    for cookie_header in sessions.values():
        sets.append(cookie_header)
    sets += [
        {"Cookie": v}
        for v in (
            "session=é",
            "session=\x80\xff",
            "bff=é",
            "session=" + "a" * 5000,
            'session="x',
            "session=;session=;",
            "vsession=1",
            "__Host-session=é",
        )
    ]
    sets += [{"X-CSRF-Token": v, **next(iter(sessions.values()))} for v in ODD_HEADER_VALUES[:3]]
    sets += [{"X-CSRF": "1", "Origin": v} for v in ("é", "null", "http://evil.example")]
    sets += [{"User-Agent": v} for v in ODD_HEADER_VALUES[:2]]
    return sets


def token_bodies(tokens: list[str]) -> list[tuple[bytes, str | None]]:
    """Each token in the body fields that carry tokens (revoke, introspect, refresh), as JSON
    and as a form."""
    variants: list[tuple[bytes, str | None]] = []
    for token in tokens:
        variants.append(
            (
                json.dumps(
                    {"token": token, "refresh_token": token, "grant_type": "refresh_token"}
                ).encode(),
                "application/json",
            )
        )
        variants.append((f"token={token}".encode(), "application/x-www-form-urlencoded"))
    return variants


def body_variants(rng: random.Random, count: int) -> list[tuple[bytes, str | None]]:
    """``count`` (body, content type) pairs: JSON objects with odd values, raw and form bodies."""
    variants: list[tuple[bytes, str | None]] = []
    for atom in JSON_ATOMS:  # every atom once, in every field a route might read
        variants.append((json_text([(name, atom) for name in FIELDS]), "application/json"))
    for raw in RAW_BODIES:
        variants.append((raw, "application/json"))
    for form in FORM_BODIES:
        variants.append((form, "application/x-www-form-urlencoded"))
    while len(variants) < count:
        pairs = [(rng.choice(FIELDS), rng.choice(JSON_ATOMS)) for _ in range(rng.randint(0, 6))]
        variants.append((json_text(pairs), rng.choice(CONTENT_TYPES)))
    return variants


def fill_path(rule: str, rng: random.Random) -> str:
    """A URL for ``rule`` with each ``<variable>`` replaced by an odd or ordinary value."""
    out, rest = [], rule
    while "<" in rest:
        head, _, tail = rest.partition("<")
        _, _, rest = tail.partition(">")
        out += [head, rng.choice(PATH_VALUES)]
    return "".join(out) + rest


def unsigned_token(header: dict, claims_text: str) -> str:
    """An unsigned token with ``claims_text`` as its payload, as it is (for forged-claims cases)."""
    return _unsigned(header, claims_text)
