"""Route by route, method by method: no input the fuzz can make gets a 5xx or a crash.

Every route of a lab with every blueprint mounted (the vulnerable ones and the edge included) is
sent, with every method it has, every credential of :mod:`tests.fuzzing` and a seeded sample of
its bodies. The fuzz goes through Flask's test client (the lab's own code path, thousands of
requests in seconds), against a lab that also listens on a real port, so that the BFF's calls
to the API and the edge's JWKS fetches are real HTTP. A route added later is fuzzed too: the
list comes from the app's URL map.

The test fails on any 5xx except the 502/503 the lab gives on purpose (store down, the API or
the JWKS unreachable) and on any entry in ``lab.crashes``.
"""

from __future__ import annotations

import json
import random
import zlib

import pytest

from labserver import PASSWORDS, start_lab
from tests.fuzzing import (
    basic,
    body_variants,
    credential_headers,
    fill_path,
    forged_odd_claim_tokens,
    odd_claim_tokens,
    odd_header_tokens,
    refresh_bodies,
    sql_and_x5c_header_tokens,
    token_bodies,
    url_token_queries,
)

SEED = 13
BODIES_PER_ROUTE = 90


@pytest.fixture(scope="module")
def issuer(clock_module):
    lab = start_lab(redis_url="", clock=clock_module, replace=False)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def clock_module():
    from labserver.clock import LabClock
    from tests.conftest import T0

    return LabClock(frozen_at=T0)


def app_rules(config: dict) -> list[tuple[str, str]]:
    """Every (route, method) of an app made with ``config``, HEAD and OPTIONS aside."""
    from labserver import create_app

    app = create_app(config)
    return sorted(
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        if rule.endpoint != "static"
    )


RULES = app_rules({"VULNERABLE_ENDPOINTS": True, "EDGE_JWKS_URL": "http://127.0.0.1:9/jwks.json"})


def _login_headers(lab) -> dict[str, dict[str, str]]:
    client = lab.app.test_client()
    session = client.post(
        "/session/login", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    assert session.status_code == 200
    cookie = session.headers["Set-Cookie"].split(";")[0]
    csrf = session.get_json()["csrf_token"]
    bff = client.post("/bff/login", json={"username": "admin", "password": PASSWORDS["admin"]})
    assert bff.status_code == 200
    return {
        "session": {"Cookie": cookie, "X-CSRF-Token": csrf},
        "bff": {"Cookie": bff.headers["Set-Cookie"].split(";")[0], "X-CSRF": "1"},
    }


def _tokens(lab, forged: bool = False) -> dict[str, str]:
    """Good tokens, odd ones, and (``forged``) odd claims signed the ways only vulnerable
    endpoints accept: elsewhere they are just tokens of an unknown key, which the odd headers
    already cover."""
    tokens = {}
    for user in ("alice", "admin"):
        answer = lab.app.test_client().post(
            "/oauth/token", json={"username": user, "password": PASSWORDS[user]}
        )
        tokens[user] = answer.get_json()["access_token"]
    odd = odd_claim_tokens(lab) + odd_header_tokens(lab)
    odd += forged_odd_claim_tokens(lab) + sql_and_x5c_header_tokens(lab) if forged else []
    for i, token in enumerate(odd):
        tokens[f"odd{i}"] = token
    return tokens


def _acceptable(status: int, body: dict | None) -> bool:
    if status < 500:
        return True
    # On purpose: the BFF's API or the edge's issuer could not be reached or answered badly.
    return (
        status in (502, 503)
        and body is not None
        and body.get("error") in ("bad_gateway", "service_unavailable", "store_unavailable")
    )


@pytest.mark.parametrize(("rule", "method"), RULES, ids=[f"{m} {r}" for r, m in RULES])
def test_no_input_gets_a_5xx(issuer, clock_module, rule, method):
    rng = random.Random(SEED * 1_000_003 + zlib.crc32(f"{method} {rule}".encode()))
    config = {"EDGE_JWKS_URL": issuer.url + "/.well-known/jwks.json"}
    lab = start_lab(config, redis_url="", clock=clock_module, replace=False, vulnerable=True)
    try:
        minted_by = issuer if rule.startswith("/edge/") else lab
        forged = rule.startswith("/vulnerable/")
        sessions, tokens = _login_headers(lab), _tokens(minted_by, forged)
        credentials = credential_headers(lab, sessions, tokens)
        bodies = body_variants(rng, BODIES_PER_ROUTE)
        good = [
            {},
            {"Authorization": f"Bearer {tokens['admin']}"},
            sessions["session"],
            sessions["bff"],
        ]
        cases = [(headers, rng.choice(bodies)) for headers in credentials]
        cases += [(good[i % len(good)], body) for i, body in enumerate(bodies)]
        if method == "POST":  # tokens where the body carries one (revoke, introspect, refresh)
            cases += [(good[1], body) for body in token_bodies(list(tokens.values()))]
            grants = [tokens["alice"], tokens["admin"], *list(tokens.values())[2:40:3]]
            cases += [(good[0], body) for body in refresh_bodies(lab, grants)]
        client = lab.app.test_client(use_cookies=False)
        failures = []
        for headers, (body, content_type) in cases:
            path = fill_path(rule, rng)
            sent = {**headers, **({"Content-Type": content_type} if content_type else {})}
            response = client.open(path, method=method, headers=sent, data=body)
            parsed = response.get_json(silent=True) if response.is_json else None
            if not _acceptable(response.status_code, parsed):
                failures.append(
                    f"{response.status_code} {method} {path} {sent!r:.200} {body[:80]!r}"
                )
            if response.status_code >= 400:
                assert parsed is not None and set(parsed) >= {"error", "error_description"}, (
                    f"{response.status_code} without the lab's JSON error body: {method} {path}"
                )
        assert not failures, (
            f"{len(failures)} of {len(cases)} answers were 5xx, e.g.:\n" + "\n".join(failures[:5])
        )
        assert lab.crashes == [], f"{len(lab.crashes)} crashes, e.g. {lab.crashes[:3]}"
    finally:
        lab.stop()
    assert issuer.crashes == []


RAW_HEADERS = (
    b"Authorization: Basic \xc3\xa9",
    b"Authorization: Bearer \xff\xfe",
    b"Cookie: session=\xff; bff=\xc3",
    b"X-CSRF-Token: \xc3\xa9\r\nX-CSRF: 1\r\nOrigin: \xff",
    b"Content-Type: application/json; charset=\xff",
)


def raw_status(
    url: str,
    method: str,
    path: bytes,
    header: bytes,
    body: bytes = b"{}",
    content_type: bytes = b"",
) -> int:
    """The status a server at ``url`` answers to one hand-written HTTP/1.1 request carrying the
    raw ``header`` line(s) (bytes no HTTP client library would send)."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(url)
    raw = (
        method.encode()
        + b" "
        + path
        + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + header
        + (b"\r\nContent-Type: " + content_type if content_type else b"")
        + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        + body
    )
    with socket.create_connection((address.hostname, address.port), timeout=10) as s:
        s.sendall(raw)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return int(answer.split(b" ")[1])


def test_non_ascii_header_bytes_over_real_http(issuer, clock_module):
    """The bytes a browser or an attacker may send in headers, through the real HTTP server
    (which decodes headers as latin-1) to every route."""
    lab = start_lab(redis_url="", clock=clock_module, replace=False, vulnerable=True)
    statuses = []
    try:
        rng = random.Random(SEED)
        for rule, method in RULES:
            if rule.startswith("/edge/"):
                continue
            for header in RAW_HEADERS:
                path = fill_path(rule, rng).encode()
                statuses.append((raw_status(lab.url, method, path, header), method, path))
    finally:
        lab.stop()
    server_errors = [s for s in statuses if s[0] >= 500]
    assert len(statuses) > 200 and not server_errors, server_errors[:5]
    assert lab.crashes == []


# ---- chapter 04: the identity provider and the APIs that trust it ------------------------------

FEDERATION_ROLES = ("identity-provider", "orders", "billing")
OAUTH_FORMS_PER_ROUTE = 120
CORE_BODIES_PER_ROUTE = 20
API_ROUTES = ("/orders", "/orders/<order_id>/pay", "/charges", "/invoices")


FEDERATION_RULES = [
    (role, rule, method)
    for role in FEDERATION_ROLES
    for rule, method in app_rules({"APP_ROLE": role, "IDP_APIS": {"orders": "http://127.0.0.1:9"}})
]


def _federation_tokens(fed) -> tuple[dict[str, str], str]:
    """Good tokens of every kind the provider issues, odd ones signed with its key, and a
    DPoP-bound access token."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from labserver.oauth.native_app import NativeApp

    app = NativeApp(fed.idp)
    user = app.login("alice", PASSWORDS["alice"])
    bound = app.login("bob", PASSWORDS["bob"], dpop_key=ec.generate_private_key(ec.SECP256R1()))
    service = fed.idp.http.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "billing:read billing:charge"},
        auth=("orders-service", "orders-to-billing-secret"),
    ).json()
    tokens = {
        "access": user["access_token"],
        "id": user["id_token"],
        "refresh": user["refresh_token"],
        "service": service["access_token"],
        "bound": bound["access_token"],
    }
    for audience in ("orders", "billing"):
        odd = odd_claim_tokens(fed.idp, issuer=fed.idp.url, audience=audience)
        for i, token in enumerate(odd):
            tokens[f"odd-{audience}-{i}"] = token
    for i, token in enumerate(odd_header_tokens(fed.idp)):
        tokens[f"odd-header-{i}"] = token
    return tokens, bound["access_token"]


def _federation_acceptable(response, rule: str) -> bool:
    if response.status_code >= 500:
        parsed = response.get_json(silent=True) if response.is_json else None
        return _acceptable(response.status_code, parsed)
    if response.status_code >= 400 and not response.is_json:
        # The provider's login page (a person reads it) is the one HTML answer: 401 for a
        # wrong password.
        return rule == "/oauth2/authorize" and response.status_code == 401
    if response.status_code >= 400:
        parsed = response.get_json(silent=True)
        return parsed is not None and "error" in parsed
    return True


@pytest.mark.parametrize(
    ("role", "rule", "method"),
    FEDERATION_RULES,
    ids=[f"{r} {m} {u}" for r, u, m in FEDERATION_RULES],
)
def test_no_input_to_the_identity_provider_or_its_apis_gets_a_5xx(role, rule, method):
    from labserver.clock import LabClock
    from tests.fuzzing import (
        authorize_queries,
        client_assertions,
        oauth_credential_headers,
        oauth_form_bodies,
    )

    rng = random.Random(SEED * 1_000_003 + zlib.crc32(f"{role} {method} {rule}".encode()))
    lab = start_lab(redis_url="", clock=LabClock.frozen(), identity_provider=True, replace=False)
    try:
        system = {"identity-provider": lab.idp, "orders": lab.orders, "billing": lab.billing}[role]
        tokens, bound = _federation_tokens(lab)
        no_session = {"none": {}}
        credentials = credential_headers(system, no_session, tokens)
        credentials += oauth_credential_headers(tokens, bound)
        good = [
            {},
            {"Authorization": f"Bearer {tokens['access']}"},
            {"Authorization": f"Bearer {tokens['service']}"},
        ]
        if rule.startswith("/oauth2/"):  # the provider's own: every OAuth form, client auth
            bodies = body_variants(rng, BODIES_PER_ROUTE) + oauth_form_bodies(
                rng,
                rng.sample(list(tokens.values()), 40),
                client_assertions(lab.idp, lab.federation.reports_key),
                OAUTH_FORMS_PER_ROUTE,
            )
            bodies += token_bodies(rng.sample(list(tokens.values()), 20))
            good.append({"Authorization": basic("orders-service", "orders-to-billing-secret")})
        elif role != "identity-provider" and rule in API_ROUTES:
            bodies = body_variants(rng, BODIES_PER_ROUTE)
        else:  # the core routes every app has (fuzzed at length in the lab's role above)
            bodies = body_variants(rng, CORE_BODIES_PER_ROUTE)
        queries = authorize_queries(rng, 60) if rule == "/oauth2/authorize" else [""]
        cases = [(headers, rng.choice(bodies)) for headers in credentials]
        cases += [(good[i % len(good)], body) for i, body in enumerate(bodies)]
        client = system.app.test_client(use_cookies=False)
        failures = []
        for headers, (body, content_type) in cases:
            path = fill_path(rule, rng)
            query = rng.choice(queries)
            if query:
                path += "?" + query
            sent = {**headers, **({"Content-Type": content_type} if content_type else {})}
            response = client.open(path, method=method, headers=sent, data=body)
            if not _federation_acceptable(response, rule):
                failures.append(
                    f"{response.status_code} {method} {path[:200]} {sent!r:.200} {body[:80]!r}"
                    f" -> {response.get_data()[:200]!r}"
                )
        assert not failures, (
            f"{len(failures)} of {len(cases)} answers were 5xx or not the lab's JSON errors, "
            "e.g.:\n" + "\n".join(failures[:5])
        )
    finally:
        lab.stop()
    for system in (lab, lab.idp, lab.orders, lab.billing):
        assert system.crashes == [], f"{len(system.crashes)} crashes, e.g. {system.crashes[:3]}"


def test_non_ascii_header_bytes_reach_the_provider_and_its_apis_over_real_http():
    """As :func:`test_non_ascii_header_bytes_over_real_http`, for chapter 04's three apps."""
    from labserver.clock import LabClock

    lab = start_lab(redis_url="", clock=LabClock.frozen(), identity_provider=True, replace=False)
    systems = {"identity-provider": lab.idp, "orders": lab.orders, "billing": lab.billing}
    extra = (b"DPoP: \xff\xfe", b"Authorization: DPoP \xc3\xa9\r\nDPoP: \xc3")
    form = b"application/x-www-form-urlencoded"
    statuses = []
    try:
        rng = random.Random(SEED)
        for role, rule, method in FEDERATION_RULES:
            for header in RAW_HEADERS + extra:
                path = fill_path(rule, rng).encode()
                status = raw_status(systems[role].url, method, path, header, b"a=", form)
                statuses.append((status, role, method, path))
    finally:
        lab.stop()
    server_errors = [s for s in statuses if s[0] >= 500]
    assert len(statuses) > 150 and not server_errors, server_errors[:5]
    for system in (lab, lab.idp, lab.orders, lab.billing):
        assert system.crashes == []


# ---- chapters 07, 08: the attacker's site-------------------------------------------------------

ATTACKER_KINDS = ("link", "form", "frame", "fetch", "%FF", "%ED%A0%80", "x" * 3000, "")
#: ``to`` values as query text (percent escapes are sent as they are).
ATTACKER_TO = (
    "http://127.0.0.1:5000/browser/arrived",
    "http://localhost/",
    "https://127.0.0.1/a?b=c#d",
    "%ED%A0%80",  # a lone surrogate, UTF-8 encoded (no valid UTF-8 holds one)
    "http://127.0.0.1/%ED%A0%80",
    "http://127.0.0.1/%ED%B0%80%ED%A0%BD",
    "%FF%FE",
    "http://127.0.0.1/%C3",
    "http://local%FFhost/",
    "http://127.0.0.1/%C3%A9",
    "http://127.0.0.1/" + "a" * 5000,
    "http://127.0.0.1/" + "%41" * 30000,
    "http://[::1]/",
    "http://[::1",
    "http://[::1]:99999/",
    "http://[127.0.0.1]/",
    "http://[zz]/",
    "http://[::ffff:127.0.0.1]/",
    "http://127.0.0.1:99999/",
    "http://127.0.0.1:-1/",
    "http://localhost:abc/",
    "http://127.0.0.1:/",
    "http://127.0.0.1:0/",
    "http://127.0.0.1:1%00/",
    "http://127.0.0.1:" + "9" * 400 + "/",
    "",
    "%00",
    "javascript:alert(1)",
    "data:text/html,x",
    "http://evil.example%5C@127.0.0.1/",
    "http://evil.example@127.0.0.1/",
    "http://127.0.0.1%09.evil.example/",
    "http://127.0.0.1/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
    "http://127.0.0.1/%3C/script%3E%3C!--",
    "http://127.0.0.1/%E2%80%AE",
    "http://127.0.0.1/%0D%0ASet-Cookie:%20x=1",
)
#: Pointing the browser elsewhere than loopback, however hidden: always refused.
ATTACKER_TO_REFUSED = (
    "http://evil.example%5C@127.0.0.1/",  # Chromium reads the backslash as "/": evil.example
    "http://evil.example@127.0.0.1/",
    "http://127.0.0.1%09.evil.example/",
    "http://[::1]/",
    "javascript:alert(1)",
    "data:text/html,x",
    "http://127.0.0.1/" + "%41" * 30000,
)
ATTACKER_METHODS = ("GET", "POST", "get", "PUT", "%FF", "%ED%A0%80", "GET%00", "x" * 5000, "")
ATTACKER_HEADERS = (
    "X-CSRF",
    "X-CSRF-Token",
    "",
    "%FF",
    "%ED%A0%80",
    "a" * 5000,
    "X%20CSRF",
    "X-CSRF%0D%0AX:%201",
    "1abc",
    "Cookie",
    "%3C/script%3E",
)


ATTACKER_RULES = app_rules({"APP_ROLE": "attacker"})


def _attacker_queries(rng: random.Random, count: int) -> list[str]:
    queries = [f"to={to}" for to in ATTACKER_TO]
    queries += ["", "to=a&to=http://127.0.0.1/", "method=POST", "%FF=%FF", "to"]
    for _ in range(count):
        parts = [f"to={rng.choice(ATTACKER_TO)}"]
        if rng.random() < 0.7:
            parts.append(f"method={rng.choice(ATTACKER_METHODS)}")
        if rng.random() < 0.7:
            parts.append(f"header={rng.choice(ATTACKER_HEADERS)}")
        rng.shuffle(parts)
        queries.append("&".join(parts))
    return queries


def _not_a_lab_answer(response, request: str) -> str | None:
    """Why ``response`` breaks the rule (a 5xx, or a 4xx without the lab's JSON error body),
    or None."""
    parsed = response.get_json(silent=True) if response.is_json else None
    if response.status_code >= 500:
        return f"{response.status_code} {request}"
    if response.status_code >= 400 and not (
        parsed is not None and set(parsed) >= {"error", "error_description"}
    ):
        return f"{response.status_code} not the lab's JSON error: {request}"
    return None


@pytest.mark.parametrize(
    ("rule", "method"), ATTACKER_RULES, ids=[f"attacker {m} {r}" for r, m in ATTACKER_RULES]
)
def test_no_input_to_the_attacker_site_gets_a_5xx(rule, method):
    """The attacker's pages take URLs, methods and header names from the query: odd ones are
    a 4xx with the lab's JSON error body, and a URL that would lead the browser off loopback
    is refused."""
    from labserver import create_app

    rng = random.Random(SEED * 1_000_003 + zlib.crc32(f"attacker {method} {rule}".encode()))
    app = create_app({"APP_ROLE": "attacker", "SEED_DEMO_USERS": False})
    client = app.test_client(use_cookies=False)
    queries = _attacker_queries(rng, 150)
    bodies = body_variants(rng, BODIES_PER_ROUTE) if method == "POST" else [(b"", None)]
    failures = []
    for i, query in enumerate(queries):
        path = rule.replace("<kind>", ATTACKER_KINDS[i % len(ATTACKER_KINDS)])
        body, content_type = bodies[i % len(bodies)]
        headers = {"Content-Type": content_type} if content_type else {}
        response = client.open(path, method=method, query_string=query, data=body, headers=headers)
        if problem := _not_a_lab_answer(response, f"{method} {path[:80]}?{query[:200]}"):
            failures.append(problem)
    if rule == "/send/<kind>":
        for kind in ("link", "form", "frame", "fetch"):
            for to in ATTACKER_TO_REFUSED:
                status = client.get(f"/send/{kind}", query_string=f"to={to}").status_code
                if status != 400:
                    failures.append(f"{status}: /send/{kind} let through to={to[:100]}")
    assert not failures, f"{len(failures)} of {len(queries)}, e.g.:\n" + "\n".join(failures[:5])
    assert app.extensions["lab"].crashes == []


def test_non_ascii_bytes_reach_the_attacker_site_over_real_http():
    """Raw bytes in the query and headers, through the real HTTP server, to every route."""
    lab = start_lab({"APP_ROLE": "attacker", "SEED_DEMO_USERS": False}, redis_url="", replace=False)
    queries = (b"to=http://127.0.0.1/\xff\xfe", b"to=\xed\xa0\x80&header=\xc3", b"method=\xff")
    statuses = []
    try:
        for rule, method in ATTACKER_RULES:
            for header in RAW_HEADERS:
                for query in queries:
                    path = rule.replace("<kind>", "fetch").encode() + b"?" + query
                    statuses.append((raw_status(lab.url, method, path, header), method, path))
    finally:
        lab.stop()
    server_errors = [s for s in statuses if s[0] >= 500]
    assert len(statuses) > 50 and not server_errors, server_errors[:5]
    assert lab.crashes == []


# ---- chapter 9: the token in a URL, whose routes read the query --------------------------------

URL_TOKEN_RULES = [(r, m) for r, m in RULES if r.startswith("/vulnerable/url-token/")]


def test_no_query_to_the_url_token_routes_gets_a_5xx(clock_module):
    """Good and odd tokens, URLs, policies and counts in the query of each route: a 4xx with
    the lab's JSON error body, or the route's answer; and every other route of the lab refuses
    a token in its query with a 400."""
    rng = random.Random(SEED * 1_000_003 + zlib.crc32(b"url-token"))
    lab = start_lab(redis_url="", clock=clock_module, replace=False, vulnerable=True)
    try:
        tokens = [t for t in _tokens(lab).values()][:12]
        queries = url_token_queries(rng, tokens, 300)
        client = lab.app.test_client(use_cookies=False)
        failures, statuses = [], set()
        assert len(URL_TOKEN_RULES) == 3, URL_TOKEN_RULES
        for rule, method in URL_TOKEN_RULES:
            for query in queries:
                response = client.open(rule, method=method, query_string=query)
                statuses.add((rule, response.status_code))
                if problem := _not_a_lab_answer(response, f"{method} {rule}?{query[:200]}"):
                    failures.append(problem)
        for rule, method in RULES:
            if rule in dict(URL_TOKEN_RULES) or rule.startswith("/edge/"):
                continue
            path = fill_path(rule, rng)
            response = client.open(path, method=method, query_string="access_token=x")
            if response.status_code != 400:
                failures.append(f"{response.status_code}: {method} {path}?access_token=x")
        assert not failures, f"{len(failures)}, e.g.:\n" + "\n".join(failures[:5])
        # the fuzz reached each route's success as well as its refusals
        assert {(r, 200) for r, _ in URL_TOKEN_RULES} <= statuses, sorted(statuses)
        assert lab.crashes == [], lab.crashes[:3]
    finally:
        lab.stop()


def test_raw_query_bytes_reach_the_url_token_routes_over_real_http(clock_module):
    """Non-UTF-8 and odd bytes in the query, through the real HTTP server."""
    lab = start_lab(redis_url="", clock=clock_module, replace=False, vulnerable=True)
    queries = (
        b"access_token=\xff\xfe",
        b"access_token=\xed\xa0\x80&embed=http://127.0.0.1/\xff",
        b"referrer_policy=\xc3&access_token=e30.e30.",
        b"n=\xff",
        b"n=\xd9\xa3",
        b"\xff=\xff&access_token",
        b"access_token=%FF%FE%ED%A0%80&embed=%C3%A9",
    )
    statuses = []
    try:
        for rule, method in URL_TOKEN_RULES:
            for header in RAW_HEADERS:
                for query in queries:
                    path = rule.encode() + b"?" + query
                    statuses.append((raw_status(lab.url, method, path, header), method, path))
        for query in queries:  # the hardened API refuses or ignores each, never a 5xx
            statuses.append(
                (raw_status(lab.url, "GET", b"/api/me?" + query, b"X: 1"), "GET", query)
            )
    finally:
        lab.stop()
    server_errors = [s for s in statuses if s[0] >= 500]
    assert len(statuses) > 100 and not server_errors, server_errors[:5]
    assert lab.crashes == []


# ---- chapter 11: the capstone's black box --------------------------------------------------------

#: Every flaw of the catalogue is on in one of the first three layouts; the last is hardened.
CAPSTONE_LAYOUTS = (
    {
        "/login": "predictable-session",
        "/token": "weak-secret",
        "/api/profile": "no-verify",
        "/api/orders": "alg-none",
        "/api/admin/report": "jwk-header",
    },
    {
        "/login": "session-fixation",
        "/api/profile": "jku",
        "/api/orders": "kid-path",
        "/api/admin/report": "alg-confusion",
    },
    {
        "/token/refresh": "unbound-refresh",
        "/api/profile": "kid-sql",
        "/api/orders": "token-in-url",
        "/api/admin/report": "x5c",
    },
    None,
)
CAPSTONE_RULES = app_rules({"APP_ROLE": "capstone"})
#: kids that break the kid-sql flaw's query, or make it return what is no secret.
SQL_KIDS = (
    "x' UNION SELECT 'known-secret' --",
    "'",
    "x'; DROP TABLE keys; --",
    "x' UNION SELECT NULL --",
    "x' UNION SELECT 42 --",
    "x' UNION SELECT 1.5 --",
    "x' UNION SELECT x'00' --",
    "x' UNION SELECT '' --",
    "x' UNION SELECT randomblob(1000000000) --",
    "x' UNION SELECT * FROM (WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) "
    "SELECT n FROM r) --",
    "x' UNION SELECT load_extension('x') --",
    "x' ATTACH DATABASE 'x' AS y --",
    "\ud800",
    "x" * 5000,
)
#: x5c values that are no certificate chain.
ODD_X5C = ("x", [], [1], ["!!"], ["eA=="], ["eA"], [{}], ["MIIB" * 3000], [None] * 10)


def _capstone_tokens(target) -> dict[str, str]:
    """The capstone's own tokens, odd claims signed with its keys, odd headers, and forgeries
    of every flaw with odd twists (jku files that are no key sets, kids that are odd paths)."""
    import types
    import warnings

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.warnings import InsecureKeyLengthWarning

    from labserver.capstone.verify import AUDIENCE, ISSUER
    from labserver.forge import encode_unsigned, hs256_with_key_bytes
    from labserver.x5c import self_made_chain

    state = target.app.extensions["capstone"]
    shim = types.SimpleNamespace(
        keys=types.SimpleNamespace(current=lambda alg: getattr(state, alg.lower())),
        app=types.SimpleNamespace(config={"TOKEN_ISSUER": ISSUER, "TOKEN_AUDIENCE": AUDIENCE}),
        clock=target.clock,
    )
    http = target.client()
    tokens = {}
    for alg in ("ES256", "RS256", "HS256"):
        answer = http.post("/token", json={"username": "bob", "password": "builder", "alg": alg})
        tokens[alg] = answer.json()["access_token"]
    with warnings.catch_warnings():  # a drawn weak secret is short: on purpose
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        odd = odd_claim_tokens(shim, issuer=ISSUER, audience=AUDIENCE)
    odd += odd_header_tokens(shim)
    claims = jwt.decode(tokens["ES256"], options={"verify_signature": False})
    bearer = {"Authorization": f"Bearer {tokens['ES256']}"}
    key = ec.generate_private_key(ec.SECP256R1())
    for body in ({"keys": "x"}, {"keys": [{"kid": "k", "kty": "EC"}]}, {"keys": [1]}, {}):
        url = http.post("/api/files", json=body, headers=bearer).json()["url"]
        odd.append(jwt.encode(claims, key, "ES256", headers={"kid": "k", "jku": url}))
        odd.append(jwt.encode(claims, key, "ES256", headers={"kid": "k", "jku": url + "x"}))
    for kid in ("../pages", "../keys", "..", "/etc/passwd", "../../x", "keys/../..", "é/\u202e"):
        odd.append(hs256_with_key_bytes({"kid": kid}, claims, b""))
    odd.append(hs256_with_key_bytes({"kid": "rs256-1"}, claims, b"x"))
    for kid in SQL_KIDS:  # the kid-sql flaw's query, broken or made to return odd things
        odd.append(hs256_with_key_bytes({"kid": kid}, claims, b"known-secret"))
    leaf_key, chain = self_made_chain(claims["iat"])
    for x5c in ODD_X5C + (chain, chain[:1], chain[::-1], chain * 3, [chain[1]]):
        odd.append(jwt.encode(claims, leaf_key, "ES256", headers={"x5c": x5c}))
    odd.append(encode_unsigned({"alg": "none", "kid": "rs256-1"}, {**claims, "exp": "x"}))
    tokens.update({f"odd{i}": token for i, token in enumerate(odd)})
    return tokens


@pytest.fixture(scope="module")
def capstones():
    from labserver.capstone import start_capstone
    from labserver.clock import LabClock

    started = []
    try:
        for layout in CAPSTONE_LAYOUTS:
            target = start_capstone(
                13, clock=LabClock.frozen(), hardened=layout is None, flaws=layout
            )
            started.append(target)
        yield [(target, _capstone_tokens(target)) for target in started]
    finally:
        for target in started:
            target.stop()


def _capstone_cases(target, tokens, rng) -> list[tuple[dict, tuple[bytes, str | None]]]:
    http = target.client()
    sid = http.post("/login", json={"username": "bob", "password": "builder"}).cookies["sid"]
    anonymous = target.client().get("/cart").cookies["sid"]
    sessions = {
        "bob": {"Cookie": f"sid={sid}"},
        "anonymous": {"Cookie": f"sid={anonymous}"},
        "counter": {"Cookie": "sid=1000"},
        "odd": {"Cookie": "sid=" + "%FF" * 100},
    }
    credentials = credential_headers(target, sessions, tokens)
    bodies = body_variants(rng, BODIES_PER_ROUTE) + token_bodies(
        rng.sample(list(tokens.values()), 20)
    )
    for alg in ("ES256", "HS256", "none", None, ["HS256"], "x" * 5000):
        body = {"username": "bob", "password": "builder", "alg": alg}
        bodies.append((json.dumps(body).encode(), "application/json"))
    # refreshes: live refresh tokens with carol's leaked token, odd tokens and odd values
    leaked = target.app.extensions["capstone"].leaked_token
    login = {"username": "bob", "password": "builder"}
    for old in [leaked, tokens["HS256"], *rng.sample(list(tokens.values()), 6), 42, None, ""]:
        refresh = http.post("/token", json=login).json()["refresh_token"]
        body = {"refresh_token": refresh, "access_token": old}
        bodies.append((json.dumps(body).encode(), "application/json"))
    good = [{}, {"Authorization": f"Bearer {tokens['ES256']}"}, sessions["bob"]]
    cases = [(headers, rng.choice(bodies)) for headers in credentials]
    return cases + [(good[i % len(good)], body) for i, body in enumerate(bodies)]


def _capstone_queries(tokens, rng) -> list[str]:
    """Query strings with access tokens: genuine, odd, twice, empty, with other parameters."""
    some = rng.sample(list(tokens.values()), 4)
    queries = [f"?access_token={t}" for t in (tokens["ES256"], *some)]
    return queries + [
        f"?access_token={tokens['ES256']}&access_token=x",
        "?access_token=",
        "?access_token=%FF%FE",
        "?access_token=x&n=5",
        f"?refresh_token={tokens['ES256']}",
        "?n=0",
        "?n=-1",
        "?n=99999999999999999999",
        "?n=%D9%A3",
        "?n=200",
    ]


def good_headers(tokens) -> list[dict]:
    return [{}, {"Authorization": f"Bearer {tokens['ES256']}"}]


def _lab_error_body(response) -> bool:
    parsed = response.get_json(silent=True) if response.is_json else None
    return parsed is not None and set(parsed) >= {"error", "error_description"}


@pytest.mark.parametrize(
    ("rule", "method"), CAPSTONE_RULES, ids=[f"capstone {m} {r}" for r, m in CAPSTONE_RULES]
)
def test_no_input_to_the_capstone_gets_a_5xx(capstones, rule, method):
    """Every route of the capstone, with every flaw of the catalogue on (two layouts) and in the
    hardened build: a 4xx with the lab's JSON error body, never a 5xx."""
    rng = random.Random(SEED * 1_000_003 + zlib.crc32(f"capstone {method} {rule}".encode()))
    failures, sent_count = [], 0
    for target, tokens in capstones:
        client = target.app.test_client(use_cookies=False)
        for headers, (body, content_type) in _capstone_cases(target, tokens, rng):
            path = fill_path(rule, rng)
            sent = {**headers, **({"Content-Type": content_type} if content_type else {})}
            response = client.open(path, method=method, headers=sent, data=body)
            parsed = response.get_json(silent=True) if response.is_json else None
            sent_count += 1
            if response.status_code >= 500 or (
                response.status_code >= 400
                and not (parsed is not None and set(parsed) >= {"error", "error_description"})
            ):
                failures.append(f"{response.status_code} {method} {path[:80]} {sent!r:.200}")
        for query in _capstone_queries(tokens, rng):  # a token in the URL, as carol sends hers
            path = fill_path(rule, rng) + query
            response = client.open(path, method=method, headers=rng.choice(good_headers(tokens)))
            sent_count += 1
            if response.status_code >= 500 or (
                response.status_code >= 400 and not _lab_error_body(response)
            ):
                failures.append(f"{response.status_code} {method} {path[:80]}")
        assert target.crashes == [], f"{len(target.crashes)} crashes, e.g. {target.crashes[:3]}"
    assert sent_count > 300 and not failures, (
        f"{len(failures)} of {sent_count}, e.g.:\n" + "\n".join(failures[:5])
    )


def test_non_ascii_bytes_reach_the_capstone_over_real_http(capstones):
    """Raw bytes in headers, through the real HTTP server, to every route of the capstone."""
    statuses = []
    rng = random.Random(SEED)
    extra = (b"Cookie: sid=\xff\xfe", b"Authorization: Bearer e30.\xc3\xa9.x")
    for target, _ in capstones:
        for rule, method in CAPSTONE_RULES:
            for header in RAW_HEADERS + extra:
                path = fill_path(rule, rng).encode()
                statuses.append((raw_status(target.url, method, path, header), method, path))
        assert target.crashes == []
    server_errors = [s for s in statuses if s[0] >= 500]
    assert len(statuses) > 200 and not server_errors, server_errors[:5]
