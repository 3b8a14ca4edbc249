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
  ``token_type``; no ``jti``), and odd headers (``kid``, ``jwk``) for the vulnerable endpoints;
  the same odd claims signed the ways two vulnerable endpoints accept (a secret injected through
  ``kid``, a self-made ``x5c`` chain), so that their claim checks are reached; kids that break
  SQL and ``x5c`` values that are no chain;
* refresh requests with live refresh tokens paired with good, expired and odd access tokens.

Values are JSON *text* fragments, so that what no Python ``json.dumps`` would write (a lone
surrogate escape, a repeated key) can still be sent.
"""

from __future__ import annotations

import base64
import json
import random
import warnings

import jwt
from jwt.warnings import InsecureKeyLengthWarning

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
    "access_token",
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


def lab_claims(lab, subject: str = "alice", *, now: float | None = None, **options) -> dict:
    """The claims of an access token of ``lab`` for ``subject`` (the lab's issuer and audience,
    issued ``now``, by default the lab clock's, for 300 s unless ``lifetime`` says otherwise)."""
    config = lab.app.config
    return access_token_claims(
        subject,
        issuer=config["TOKEN_ISSUER"],
        audience=config["TOKEN_AUDIENCE"],
        now=lab.clock.now() if now is None else now,
        **{"lifetime": 300, **options},
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


def odd_claim_tokens(
    lab, *, issuer: str | None = None, audience: str | None = None, signers=None
) -> list[str]:
    """Tokens signed with the lab's own current keys whose claims are odd in type or value
    (``issuer``/``audience``: other than the lab's, e.g. chapter 04's provider and an API).
    ``signers``: functions from claims to a token, instead of the lab's ES256 and HS256 keys."""
    config = lab.app.config
    audience = audience or config["TOKEN_AUDIENCE"]
    base = access_token_claims(
        "alice",
        issuer=issuer or config["TOKEN_ISSUER"],
        audience=audience,
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
        "aud": [[audience, "other"], [], None, 1, [1]],
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
        "scope": [["a"], 1, None, "orders:read " * 500, "\ud800"],
        "act": [1, "x", [], {"sub": 1}, {"act": {"act": {}}}, None],
        "cnf": [1, "x", {}, {"jkt": 1}, {"jkt": ""}, None, {"jkt": "x" * 5000}],
    }
    tokens = []
    for name, values in odd.items():
        for value in values:
            claims = {**base, name: value}
            if value is ABSENT:
                claims.pop(name)
            for sign in signers or [
                lambda c: issue_access_token(lab.keys, c, "ES256"),
                lambda c: issue_access_token(lab.keys, c, "HS256"),
            ]:
                try:
                    tokens.append(sign(claims))
                except (TypeError, ValueError, OverflowError):
                    pass  # PyJWT itself cannot serialize it (e.g. a lone surrogate): never sent
    return tokens


#: A kid that makes the kid-sql endpoint's key query return this secret (see key_table).
INJECTED_KID, INJECTED_SECRET = "x' UNION SELECT 'fuzz-secret' --", "fuzz-secret"


def forged_odd_claim_tokens(lab) -> list[str]:
    """The odd claims of :func:`odd_claim_tokens`, signed the ways two vulnerable endpoints
    accept: HS256 with a secret injected through ``kid``, and ES256 with a self-made ``x5c``
    chain. Correctly signed for those endpoints, so that their claim checks are what answers."""
    from labserver.x5c import self_made_chain

    leaf_key, chain = self_made_chain(lab.clock.now())

    def injected(claims: dict) -> str:
        headers = {"typ": "at+jwt", "kid": INJECTED_KID}
        return jwt.encode(claims, INJECTED_SECRET, algorithm="HS256", headers=headers)

    def x5c(claims: dict) -> str:
        headers = {"typ": "at+jwt", "x5c": chain}
        return jwt.encode(claims, leaf_key, algorithm="ES256", headers=headers)

    with warnings.catch_warnings():  # the injected secret is short: the point, not news
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return odd_claim_tokens(lab, signers=[injected, x5c])


def odd_header_tokens(lab) -> list[str]:
    """Tokens with odd ``kid``, ``jwk``, ``jku``, ``alg`` and ``typ`` headers (for the vulnerable
    endpoints)."""
    claims = lab_claims(lab)
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


def sql_and_x5c_header_tokens(lab) -> list[str]:
    """Tokens whose ``kid`` breaks the kid-sql endpoint's SQL (or makes it return what is no
    secret), or whose ``x5c`` is no certificate chain (for those two vulnerable endpoints)."""
    claims = lab_claims(lab)
    payload = json.dumps(claims)
    headers = [
        # kids that break the kid-sql endpoint's SQL, or make it return what is no secret
        {"alg": "HS256", "kid": "x'"},
        {"alg": "HS256", "kid": "x'; DROP TABLE keys; --"},
        {"alg": "HS256", "kid": "x' UNION SELECT NULL --"},
        {"alg": "HS256", "kid": "x' UNION SELECT 1.5 --"},
        {"alg": "HS256", "kid": "x' UNION SELECT x'00ff' --"},
        {"alg": "HS256", "kid": "x' UNION SELECT '' --"},
        {"alg": "HS256", "kid": "x' UNION SELECT secret FROM keys --"},
        {"alg": "HS256", "kid": "x' UNION SELECT randomblob(1000000000) --"},
        {"alg": "HS256", "kid": "x' UNION SELECT zeroblob(1000000000) --"},
        {
            "alg": "HS256",
            "kid": "x' UNION SELECT * FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL "
            "SELECT n + 1 FROM c) SELECT n FROM c) --",
        },
        {"alg": "HS256", "kid": "x' UNION SELECT load_extension('x') --"},
        {"alg": "RS256", "kid": "x' UNION SELECT 'a' --"},
        # x5c values that are no certificate chain
        {"alg": "ES256", "x5c": "x"},
        {"alg": "ES256", "x5c": 1},
        {"alg": "ES256", "x5c": None},
        {"alg": "ES256", "x5c": []},
        {"alg": "ES256", "x5c": {}},
        {"alg": "ES256", "x5c": [1, None]},
        {"alg": "ES256", "x5c": ["!!!"]},
        {"alg": "ES256", "x5c": ["AAAA"]},
        {"alg": "ES256", "x5c": ["-_-_"]},
        {"alg": "ES256", "x5c": ["MIIB"]},
        {"alg": "ES256", "x5c": ["A" * 20000]},
        {"alg": "ES256", "x5c": ["AAAA"] * 50},
        {"alg": "ES256", "x5c": [base64.b64encode(b"0\x03\x02\x01\x01").decode()]},
        {"alg": "ES256", "x5c": self_made_chain_value(lab)},
        {"alg": "RS256", "x5c": self_made_chain_value(lab)},
        {"alg": "ES256", "x5c": self_made_chain_value(lab)[::-1]},
        {"alg": "ES256", "x5c": self_made_chain_value(lab, 100 * 365 * 86400)},
    ]
    tokens = []
    for header in headers:
        tokens.append(_unsigned(header, payload))
        tokens.append(_unsigned(header, payload)[:-1] + ".c2ln")
    return tokens


def self_made_chain_value(lab, shift: float = 0) -> list[str]:
    """An x5c value (leaf first), valid around lab time plus ``shift`` seconds."""
    from labserver.x5c import self_made_chain

    return self_made_chain(lab.clock.now() + shift)[1]


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
    # A proxy's prefix (cookie paths, the BFF's origins), odd or with an odd scheme beside it.
    proxied = {"X-Forwarded-Prefix": "/user/alice/proxy/1", "X-Forwarded-Proto": "é"}
    sets += [{"X-Forwarded-Prefix": v} for v in ("é", "/a;Domain=x")] + [proxied]
    # ... with each session (its cookie path, its clearing, the BFF's CSRF check), and with odd
    # Host values the BFF then builds an origin of (IPv6, userinfo, non-ASCII, none, a list).
    for cookie in sessions.values():
        sets += [{**cookie, "X-Forwarded-Prefix": v} for v in ("/user/alice/proxy/1", "/%ZZ/..")]
    odd_hosts = [
        ("[::1]:1", "null"),
        ("a@hub.example", "http://[::1]:1"),
        ("hüb.example", "https://hüb.example"),
        ("", "http://"),
        ("hub.example, evil.example", "é"),
    ]
    bff = next(reversed(sessions.values()))
    scheme = {"X-Forwarded-Prefix": "/p", "X-Forwarded-Proto": "https, http"}
    sets += [{**bff, **scheme, "Host": host, "Origin": origin} for host, origin in odd_hosts]
    return sets


def token_bodies(tokens: list[str]) -> list[tuple[bytes, str | None]]:
    """Each token in the body fields that carry tokens (revoke, introspect, refresh), as JSON
    and as a form."""
    variants: list[tuple[bytes, str | None]] = []
    for token in tokens:
        variants.append(
            (
                json.dumps(
                    {
                        "token": token,
                        "refresh_token": token,
                        "access_token": token,
                        "grant_type": "refresh_token",
                    }
                ).encode(),
                "application/json",
            )
        )
        variants.append((f"token={token}".encode(), "application/x-www-form-urlencoded"))
    return variants


def refresh_bodies(lab, access_tokens: list[str]) -> list[tuple[bytes, str | None]]:
    """Refresh-grant bodies with live refresh tokens of the lab (each used until a refresh
    spends it, then again: reuse), paired with each of ``access_tokens`` and with an expired
    access token the lab signed."""
    from labserver.refresh_tokens import issue_refresh_token

    expired = lab_claims(lab, now=lab.clock.now() - 3600)
    tokens = [issue_access_token(lab.keys, expired), *access_tokens]
    refresh = [issue_refresh_token(lab.store, lab.clock, user) for user in ("bob", "alice")]
    return [
        (
            json.dumps(
                {"grant_type": "refresh_token", "refresh_token": r, "access_token": t}
            ).encode(),
            "application/json",
        )
        for r in refresh
        for t in tokens
    ]


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


# ---- chapter 04: the identity provider (OAuth forms, queries, headers) ------------------------

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

GRANT_TYPES = (
    "",
    "password",
    "authorization_code",
    "refresh_token",
    "client_credentials",
    TOKEN_EXCHANGE,
    "implicit",
    "CLIENT_CREDENTIALS",
    "client_credentials ",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:device_code",
    "%C3%A9",
    "%FF",
    "%00",
    "a" * 9000,
)

#: Form values for every OAuth parameter: odd, huge, non-UTF-8, NUL, ordinary.
FORM_VALUES = (
    "x",
    "",
    "%FF",
    "%ED%A0%80",
    "%00",
    "%C3%A9",
    "a" * 9000,
    "orders:read",
    "billing:read billing:charge",
    "orders:read billing:read",
    "openid",
    "mobile-app",
    "orders-service",
    "reports-job",
    "http://127.0.0.1:9/callback",
    "http://127.0.0.1:99999/callback",
    "javascript:alert(1)",
    "http://[::1/",
    "urn:ietf:params:oauth:token-type:access_token",
    "urn:ietf:params:oauth:token-type:id_token",
    "S256",
    "plain",
    "+",
    "%20%20",
)

OAUTH_FIELDS = (
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "subject_token",
    "subject_token_type",
    "requested_token_type",
    "actor_token",
    "actor_token_type",
    "audience",
    "resource",
    "token",
    "token_type_hint",
    "client_assertion",
    "client_assertion_type",
    "username",
    "password",
    "decision",
)


def _form(pairs: list[tuple[str, str]]) -> bytes:
    """A form body from (name, already-encoded value) pairs; names may repeat."""
    return "&".join(f"{k}={v}" for k, v in pairs).encode("latin-1")


def client_assertions(idp, reports_key) -> list[str]:
    """Client assertions for ``reports-job``: garbage, unsigned, signed by a key the provider
    does not know, and signed by its own key with odd claims."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    now = int(idp.clock.now())
    good = {"iss": "reports-job", "sub": "reports-job", "aud": idp.url, "exp": now + 60}
    odd = [
        {"exp": float("nan")},
        {"exp": float("inf")},
        {"exp": 10**400},
        {"exp": None},
        {"exp": "x"},
        {"exp": [now + 60]},
        {"aud": None},
        {"aud": 1},
        {"aud": [1, None]},
        {"aud": [idp.url] * 500},
        {"iss": 1, "sub": 1},
        {"iss": None},
        {"sub": ["reports-job"]},
        {"jti": 1},
        {"jti": None},
        {"jti": {"a": 1}},
        {"jti": "x" * 5000},
        {"iat": "x"},
        {"nbf": float("nan")},
        {"iss": "mobile-app", "sub": "mobile-app"},
        {"iss": "nobody", "sub": "nobody"},
    ]
    assertions = ["x", "a.b.c", "e30.e30.", "..", "%FF", "x" * 9000]
    payload = json.dumps({**good, "jti": "j"})
    for header in ({"alg": "none"}, {"alg": "HS256", "kid": "reports-job-1"}, {"alg": 1}, {}):
        assertions.append(_unsigned(header, payload))
        assertions.append(_unsigned(header, payload)[:-1] + ".c2ln")
    other = ec.generate_private_key(ec.SECP256R1())
    for key, kid in ((reports_key, "reports-job-1"), (other, "reports-job-1"), (reports_key, 1)):
        for change in odd:
            claims = {**good, "jti": f"j{len(assertions)}", **change}
            claims = {k: v for k, v in claims.items() if v is not None}
            try:
                assertions.append(jwt.encode(claims, key, "ES256", headers={"kid": kid}))
            except (TypeError, ValueError, OverflowError, jwt.PyJWTError):
                pass
    assertions.append(jwt.encode({**good, "jti": "ok"}, reports_key, "ES256"))
    return assertions


def oauth_form_bodies(
    rng: random.Random, tokens: list[str], assertions: list[str], count: int
) -> list[tuple[bytes, str | None]]:
    """Form bodies an OAuth endpoint reads: every grant type, tokens in every token field,
    client assertions, repeated and huge parameters, then ``count`` random mixes."""
    from urllib.parse import quote

    forms: list[bytes] = []
    for grant in GRANT_TYPES:
        forms.append(_form([("grant_type", grant)]))
        forms.append(_form([("grant_type", grant), ("client_id", "mobile-app")]))
        forms.append(_form([("grant_type", grant), ("scope", rng.choice(FORM_VALUES))]))
    forms += [
        _form([("grant_type", "client_credentials"), ("grant_type", "refresh_token")]),
        _form([("grant_type", "client_credentials"), ("scope", "a"), ("scope", "b")]),
        _form([("grant_type", "client_credentials"), ("scope", "orders:read%20" * 2000)]),
        _form([("grant_type", "client_credentials"), ("scope", "%FF")]),
        _form([("grant_type", "authorization_code"), ("code", "a" * 9000)]),
        _form([("grant_type", "authorization_code"), ("code", "%FF"), ("client_id", "%FF")]),
        _form([("grant_type", "authorization_code"), ("code", "x"), ("code_verifier", "%00")]),
        _form([("grant_type", "refresh_token"), ("refresh_token", "%ED%A0%80")]),
        _form([("token", "%FF"), ("token_type_hint", "%FF")]),
        _form([("token", "x"), ("token_type_hint", "x")]),
        _form([("token", "x"), ("token", "y")]),
        # The login and consent form of the authorization endpoint.
        _form([("username", "alice"), ("password", "wonderland"), ("decision", "allow")]),
        _form([("username", "alice"), ("password", "wonderland"), ("decision", "deny")]),
        _form([("username", "%FF"), ("password", "%ED%A0%80"), ("decision", "allow")]),
        _form([("username", "a" * 9000), ("password", "a" * 9000), ("decision", "allow")]),
        _form([("username", "alice"), ("password", "%00"), ("decision", "allow")]),
        _form([("username", "alice"), ("decision", "allow")]),
        _form([("decision", "allow"), ("decision", "deny")]),
        _form([("decision", "allow")]),
        b"grant_type",
        b"=&=",
        b"%",
        b"grant_type=client_credentials&&&&",
        b"\xff\xfe=\xfd",
    ]
    for token in tokens:
        quoted = quote(token, safe="")
        for grant, field in (
            ("refresh_token", "refresh_token"),
            (TOKEN_EXCHANGE, "subject_token"),
            ("authorization_code", "code"),
            ("", "token"),
        ):
            pairs = [(field, quoted), ("client_id", "mobile-app")]
            if grant:
                pairs.insert(0, ("grant_type", grant))
            if grant == TOKEN_EXCHANGE:
                pairs += [
                    ("subject_token_type", "urn:ietf:params:oauth:token-type:access_token"),
                    ("audience", rng.choice(("billing", "orders", "%FF", ""))),
                    ("scope", rng.choice(FORM_VALUES)),
                ]
            forms.append(_form(pairs))
        forms.append(
            _form([("token", quoted), ("token_type_hint", rng.choice(("access_token", "x")))])
        )
    for assertion in assertions:
        forms.append(
            _form(
                [
                    ("grant_type", rng.choice(("client_credentials", TOKEN_EXCHANGE))),
                    ("client_assertion_type", JWT_BEARER),
                    ("client_assertion", quote(assertion, safe="%")),
                    ("scope", rng.choice(("orders:read", "billing:read", "x"))),
                    ("client_id", rng.choice(("reports-job", "mobile-app", "%FF", ""))),
                ]
            )
        )
        forms.append(
            _form([("token", "x"), ("client_assertion_type", JWT_BEARER)])
            + b"&client_assertion="
            + quote(assertion, safe="").encode()
        )
    forms.append(_form([("client_assertion_type", "x"), ("client_assertion", "x")]))
    forms.append(_form([("client_assertion_type", "%FF"), ("client_assertion", "%FF")]))
    for _ in range(count):
        pairs = [
            (rng.choice(OAUTH_FIELDS), rng.choice(FORM_VALUES)) for _ in range(rng.randint(1, 8))
        ]
        forms.append(_form(pairs))
    content_types = ("application/x-www-form-urlencoded",) * 6 + (
        "application/x-www-form-urlencoded; charset=latin-1",
        "application/json",
        None,
        "multipart/form-data; boundary=x",
    )
    return [(form, rng.choice(content_types)) for form in forms]


def authorize_queries(rng: random.Random, count: int) -> list[str]:
    """Query strings for the authorization endpoint: a valid request, each parameter missing
    or odd in turn, repeated parameters, then ``count`` random mixes."""
    valid = [
        ("response_type", "code"),
        ("client_id", "mobile-app"),
        ("redirect_uri", "http%3A%2F%2F127.0.0.1%3A9%2Fcallback"),
        ("scope", "openid%20orders%3Aread"),
        ("state", "s"),
        ("nonce", "n"),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ("code_challenge_method", "S256"),
    ]
    queries = [_form(valid).decode("latin-1")]
    for i, (name, _) in enumerate(valid):
        queries.append(_form(valid[:i] + valid[i + 1 :]).decode("latin-1"))
        for value in rng.sample(FORM_VALUES, 6):
            queries.append(_form([*valid[:i], (name, value), *valid[i + 1 :]]).decode("latin-1"))
        queries.append(_form([*valid, (name, "again")]).decode("latin-1"))
    queries += [
        _form([*valid, ("request", "e30.e30."), ("request_uri", "urn:x")]).decode("latin-1"),
        _form([*valid, ("prompt", "none"), ("max_age", "-1")]).decode("latin-1"),
        _form([*valid, ("response_mode", "fragment"), ("claims", "{")]).decode("latin-1"),
        _form([*valid, ("max_age", "%FF"), ("display", "a" * 3000)]).decode("latin-1"),
        "",
        "%",
        "=&=",
        "client_id",
    ]
    for _ in range(count):
        pairs = [
            (
                rng.choice(
                    OAUTH_FIELDS
                    + ("response_type", "state", "nonce", "code_challenge", "code_challenge_method")
                ),
                rng.choice(FORM_VALUES),
            )
            for _ in range(rng.randint(1, 8))
        ]
        queries.append(_form(pairs).decode("latin-1"))
    return queries


def oauth_credential_headers(tokens: dict[str, str], bound_token: str) -> list[dict[str, str]]:
    """Header sets for the provider and its APIs: client Basic credentials (good, wrong,
    odd encodings), tokens, and DPoP headers (garbage, and with a DPoP-bound token)."""

    def b64(raw: bytes) -> str:
        return "Basic " + base64.b64encode(raw).decode()

    sets: list[dict[str, str]] = [
        {"Authorization": basic("orders-service", "orders-to-billing-secret")},
        {"Authorization": basic("bff", "bff-confidential-secret")},
        {"Authorization": basic("mobile-app", "x")},
        {"Authorization": basic("reports-job", "x")},
        {"Authorization": basic("orders-service", "wrong")},
        {"Authorization": basic("orders-service", "é")},
        {"Authorization": basic("é", "é")},
        {"Authorization": basic("orders%2Dservice", "orders-to-billing-secret")},
        {"Authorization": basic("%FF", "%ED%A0%80")},
        {"Authorization": b64(b"orders-service:\xe9")},
        {"Authorization": b64(b"\xff\xfe:\xfd")},
        {"Authorization": b64(b"orders-service")},
        {"Authorization": b64(b":")},
        {"Authorization": b64(b"\x00:\x00")},
        {"Authorization": "Basic é"},
        {"Authorization": "Basic b3JkZXJz"},  # base64 without padding
        {"Authorization": "Basic " + "A" * 9000},
        {"Authorization": "basic " + base64.b64encode(b"bff:bff-confidential-secret").decode()},
    ]
    for value in ("x", "a.b.c", "e30.e30.", "é", "", "x" * 9000, "\x80\xff", "a.b.c, d.e.f"):
        sets.append({"DPoP": value})
        sets.append({"DPoP": value, "Authorization": f"DPoP {bound_token}"})
        sets.append(
            {
                "DPoP": value,
                **{"Authorization": basic("orders-service", "orders-to-billing-secret")},
            }
        )
    sets += [{"Authorization": f"DPoP {t}"} for t in list(tokens.values())[:20]]
    sets += [{"Authorization": f"DPoP {bound_token}"}, {"Authorization": f"Bearer {bound_token}"}]
    return sets


# ---- chapter 9: the token in a URL (queries of /vulnerable/url-token/) -------------------------

#: Values for ``access_token``, as sent (percent-encoded); the lab's own tokens are added.
URL_TOKEN_VALUES = (
    "",
    "x",
    "a.b.c",
    "e30.e30.",
    "eyJ.eyJ.x",
    "%FF%FE",
    "%ED%A0%80",
    "%00",
    "%C3%A9",
    "a" * 9000,
    "e30.e30." + "A" * 9000,
    "%2E%2E%2E",
    "+",
    "%",
    "%%%",
)
#: Values for ``embed`` besides the attacker site's own URLs: off loopback, or hidden.
URL_TOKEN_EMBEDS = (
    "http://localhost:9/pixel.gif",
    "http://127.0.0.1:9/pixel.gif?row=1",
    "http%3A%2F%2Flocalhost%3A9%2Fpixel.gif",
    "http://example.com/pixel.gif",
    "http://evil.example%5C@127.0.0.1/",
    "javascript:alert(1)",
    "http://127.0.0.1/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
    "http://[::1",
    "%FF",
    "%ED%A0%80",
    "",
    "http://127.0.0.1/" + "%41" * 3000,
)
URL_TOKEN_POLICIES = (
    "unsafe-url",
    "unset",
    "no-referrer",
    "strict-origin-when-cross-origin",
    "",
    "UNSAFE-URL",
    "unsafe-url,no-referrer",
    "%FF",
    "%00",
    "a" * 3000,
)
URL_TOKEN_COUNTS = ("1", "20", "200", "201", "0", "-1", "1e3", "%FF", "%D9%A3", "9" * 400, "")


def url_token_queries(rng: random.Random, tokens: list[str], count: int) -> list[str]:
    """Query strings for ``/vulnerable/url-token/``: good and odd tokens, repeated or missing
    parameters, odd ``embed``, ``referrer_policy`` and ``n``, non-UTF-8 bytes (as ``%FF``), then
    ``count`` random mixes."""
    values = URL_TOKEN_VALUES + tuple(tokens)
    queries = [f"access_token={v}" for v in values]
    queries += [f"access_token={tokens[0]}&embed={e}" for e in URL_TOKEN_EMBEDS]
    queries += [f"access_token={tokens[0]}&referrer_policy={p}" for p in URL_TOKEN_POLICIES]
    queries += [f"n={n}" for n in URL_TOKEN_COUNTS]
    queries += [
        "",
        "access_token",
        "access_token=&access_token=",
        f"access_token={tokens[0]}&access_token={tokens[0]}",
        f"access%5Ftoken={tokens[0]}",
        "%FF=%FF&access_token=%FF",
        "=&&=&%",
        "n=1&n=2",
        "embed&referrer_policy",
    ]
    names = ("access_token", "embed", "referrer_policy", "n", "x")
    pools = (values, URL_TOKEN_EMBEDS, URL_TOKEN_POLICIES, URL_TOKEN_COUNTS, ("1",))
    for _ in range(count):
        parts = []
        for name, pool in zip(names, pools, strict=True):
            if rng.random() < 0.6:
                parts.append(f"{name}={rng.choice(pool)}")
        rng.shuffle(parts)
        queries.append("&".join(parts))
    return queries
