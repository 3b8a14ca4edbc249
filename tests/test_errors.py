"""Bad input gets a clear 4xx JSON error, never a 500; a missing store fails closed with 503.

Two layers: a table of known-bad requests over real HTTP (so that the HTTP server's own
refusals are covered too), and hypothesis throwing generated garbage at every route.
"""

import base64
import json
import socket
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labserver import PASSWORDS

ADMIN = ("admin", PASSWORDS["admin"])
JSON = {"Content-Type": "application/json"}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


ADMIN_HEADER = {"Authorization": basic(*ADMIN)}

# (description, method, path, extra request kwargs, expected status, expected error code)
BAD_REQUESTS = [
    ("unknown route", "GET", "/no/such/route", {}, 404, "not_found"),
    ("wrong method", "DELETE", "/health", {}, 405, "method_not_allowed"),
    ("no credential", "GET", "/whoami", {}, 401, "authentication_required"),
    (
        "wrong password",
        "GET",
        "/whoami",
        {"headers": {"Authorization": basic("alice", "nope")}},
        401,
        "invalid_credentials",
    ),
    (
        "unknown user",
        "GET",
        "/whoami",
        {"headers": {"Authorization": basic("mallory", "x")}},
        401,
        "invalid_credentials",
    ),
    (
        "Basic not base64",
        "GET",
        "/whoami",
        {"headers": {"Authorization": "Basic !!!not-base64"}},
        400,
        "invalid_request",
    ),
    (
        "Basic without colon",
        "GET",
        "/whoami",
        {"headers": {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}},
        401,
        "invalid_credentials",
    ),
    (
        "unsupported scheme",
        "GET",
        "/whoami",
        {"headers": {"Authorization": "Digest abc"}},
        401,
        "authentication_required",
    ),
    (
        "empty Authorization",
        "GET",
        "/whoami",
        {"headers": {"Authorization": ""}},
        401,
        "authentication_required",
    ),
    (
        "garbage cookies",
        "GET",
        "/whoami",
        {"headers": {"Cookie": '=;;;\x7f session="unterminated'}},
        401,
        "authentication_required",
    ),
    (
        "not an admin",
        "GET",
        "/admin/users",
        {"headers": {"Authorization": basic("bob", PASSWORDS["bob"])}},
        403,
        "forbidden",
    ),
    (
        "body not JSON",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": {**ADMIN_HEADER, **JSON}, "data": b"{roles: [user"},
        400,
        "invalid_request",
    ),
    (
        "body not UTF-8",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": {**ADMIN_HEADER, **JSON}, "data": b'{"roles": ["\xff\xfe"]}'},
        400,
        "invalid_request",
    ),
    (
        "form instead of JSON",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": ADMIN_HEADER, "data": {"roles": "user"}},
        400,
        "invalid_request",
    ),
    (
        "JSON list, not object",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": ADMIN_HEADER, "json": ["user"]},
        400,
        "invalid_request",
    ),
    (
        "missing field",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": ADMIN_HEADER, "json": {}},
        400,
        "invalid_request",
    ),
    (
        "wrong type",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": ADMIN_HEADER, "json": {"roles": "user"}},
        400,
        "invalid_request",
    ),
    (
        "unknown role",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": ADMIN_HEADER, "json": {"roles": ["superuser"]}},
        400,
        "invalid_request",
    ),
    (
        "too many items",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": ADMIN_HEADER, "json": {"roles": ["user"] * 1000}},
        400,
        "invalid_request",
    ),
    (
        "deeply nested JSON",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": {**ADMIN_HEADER, **JSON}, "data": b"[" * 30000 + b"]" * 30000},
        400,
        "invalid_request",
    ),
    (
        "roles of unknown user",
        "PUT",
        "/admin/users/mallory/roles",
        {"headers": ADMIN_HEADER, "json": {"roles": ["user"]}},
        404,
        "not_found",
    ),
    (
        "oversized body",
        "PUT",
        "/admin/users/alice/roles",
        {"headers": {**ADMIN_HEADER, **JSON}, "data": b" " * (65 * 1024)},
        413,
        "request_entity_too_large",
    ),
]


def assert_lab_error(response, status, error):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert isinstance(body["error_description"], str) and body["error_description"]


@pytest.mark.parametrize(
    ("what", "method", "path", "kwargs", "status", "error"),
    BAD_REQUESTS,
    ids=[row[0] for row in BAD_REQUESTS],
)
def test_bad_request_gets_a_json_error(lab, what, method, path, kwargs, status, error):
    response = lab.http.request(method, path, **kwargs)
    assert_lab_error(response, status, error)


def test_401_without_credential_carries_a_challenge(lab):
    response = lab.http.get("/whoami")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="jwt-lab", Bearer realm="jwt-lab"'


@pytest.mark.parametrize("path", ["/whoami", "/session/me"])
def test_a_browser_gets_no_basic_challenge_so_no_login_dialog(lab, path):
    """A browser answers ``WWW-Authenticate: Basic`` with a login dialog (and a page's fetch
    waits on it); its requests carry ``Sec-Fetch-Mode``, and get the other challenges only."""
    response = lab.http.get(
        path, headers={"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="jwt-lab"'


def test_405_names_the_allowed_methods(lab):
    response = lab.http.delete("/health")
    assert "GET" in response.headers["Allow"]
    assert "GET" in response.json()["error_description"]


def _raw_exchange(url: str, raw: bytes) -> bytes:
    """Send raw bytes to the lab and read the answer (for requests `requests` cannot make)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as s:
        s.sendall(raw)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize(
    ("what", "raw", "status"),
    [
        ("request line too long", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
        ("header too long", b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
        ("bad HTTP version", b"GET /health HTTP/9.x\r\n\r\n", 400),
        ("not HTTP at all", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello tls\r\n\r\n", 400),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_http_server_refusals_are_json_too(lab, what, raw, status):
    answer = _raw_exchange(lab.url, raw)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == str(status).encode()
    assert b"Content-Type: application/json" in head
    parsed = json.loads(body)
    assert set(parsed) == {"error", "error_description"}
    assert lab.http.get("/health").ok, "the server keeps serving after a bad request"


def test_store_outage_fails_closed_with_503(lab):
    with lab.store_outage():
        for method, path, kwargs in [
            ("GET", "/health/store", {}),
            ("GET", "/whoami", {"auth": ("alice", PASSWORDS["alice"])}),
            ("GET", "/admin/users", {"auth": ADMIN}),
            ("PUT", "/admin/users/alice/roles", {"auth": ADMIN, "json": {"roles": ["user"]}}),
        ]:
            response = lab.http.request(method, path, **kwargs)
            assert_lab_error(response, 503, "store_unavailable")
            assert response.headers["Retry-After"] == "1"
        assert lab.http.get("/health").status_code == 200, "liveness does not need the store"
    assert lab.http.get("/health/store").status_code == 200, "the store is back after the outage"


# --- generated garbage, through Flask's test client (fast), against every route ---
# Wider than it was: it missed the lone surrogates, NaN and non-ASCII header bytes of issue 13.
# The route-by-route fuzz (tests/test_fuzz.py) sends each of those families on purpose; this
# one lets hypothesis combine them.

from tests.fuzzing import JSON_ATOMS, json_text  # noqa: E402

ROUTES = [
    "/",
    "/health",
    "/health/store",
    "/whoami",
    "/admin/users",
    "/session/login",
    "/session/profile",
    "/oauth/token",
    "/oauth/revoke",
    "/oauth/introspect",
    "/bff/login",
    "/bff/api/me",
    "/api/me",
    "/admin/users/alice/roles",
    "/admin/users/%00/roles",
    "/admin/users/" + "x" * 300 + "/roles",
    "/admin/users/alice/sessions/%C3%A9",
    "/admin/keys/%ED%A0%80",
]
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=200)
json_values = st.recursive(
    st.sampled_from(JSON_ATOMS)
    | st.builds(json.dumps, st.text(max_size=20))
    | st.builds(str, st.integers()),
    lambda children: (
        st.builds(lambda items: "[" + ",".join(items) + "]", st.lists(children, max_size=4))
        | st.builds(
            lambda pairs: json_text(pairs).decode("utf-8", "surrogatepass"),
            st.lists(
                st.tuples(
                    st.sampled_from(["username", "password", "token", "roles", "x"]), children
                ),
                max_size=4,
            ),
        )
    ),
    max_leaves=8,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    path=st.sampled_from(ROUTES),
    authorization=st.one_of(
        st.none(),
        header_text,
        st.builds(lambda u, p: basic(u, p), st.text(max_size=30), st.text(max_size=30)),
        st.just(basic(*ADMIN)),
        st.builds(lambda t: "Basic " + t, header_text),
    ),
    cookie=st.one_of(st.none(), header_text),
    content_type=st.sampled_from(
        [None, "application/json", "text/plain", "application/x-www-form-urlencoded"]
    ),
    body=st.one_of(
        st.binary(max_size=300),
        st.builds(lambda v: v.encode("utf-8", "surrogatepass"), json_values),
    ),
)
def test_generated_garbage_never_gets_a_500(
    client, method, path, authorization, cookie, content_type, body
):
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    if cookie is not None:
        headers["Cookie"] = cookie
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.open(path, method=method, headers=headers, data=body)
    assert response.status_code < 500, response.get_json()
    if response.status_code >= 400:
        assert set(response.get_json()) == {"error", "error_description"}


# --- inputs that once turned into a 500 (issue 13), each answered with a precise 400 ---

SURROGATE_LOGIN = b'{"username":"alice","password":"\\ud800"}'


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/session/login", SURROGATE_LOGIN, "surrogate"),
        ("/oauth/token", SURROGATE_LOGIN, "surrogate"),
        ("/bff/login", SURROGATE_LOGIN, "surrogate"),
        ("/oauth/revoke", b'{"token":"\\udfff"}', "surrogate"),
        (
            "/session/login",
            '{"username":"alice","password":"wonderland"}'.encode("utf-16"),
            "UTF-8",
        ),
        ("/session/login", b'{"username":"alice","password":"x","password":"wonderland"}', "twice"),
        ("/oauth/token", b'{"username":"alice","password":"wonderland","lifetime":NaN}', "NaN"),
        (
            "/oauth/token",
            b'{"username":"alice","password":"wonderland","lifetime":1e999}',
            "too large",
        ),
        ("/session/login", b"[" * 5000 + b"]" * 5000, "nested"),
    ],
)
def test_json_only_python_reads_is_refused(lab, path, body, says):
    response = lab.http.post(path, data=body, headers=JSON)
    assert_lab_error(response, 400, "invalid_request")
    assert says in response.json()["error_description"]


@pytest.mark.parametrize("header", ["Basic é", "Basic \x80abc", "Basic " + "é" * 10])
def test_basic_with_non_ascii_bytes_is_a_bad_request(client, header):
    for path in ("/whoami", "/admin/users", "/api/me", "/session/me"):
        response = client.get(path, headers={"Authorization": header})
        assert response.status_code == 400, (path, response.get_json())


def test_basic_with_non_ascii_bytes_over_real_http(lab):
    raw = (
        b"GET /whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xc3\xa9\r\n"
        b"Connection: close\r\n\r\n"
    )
    assert _raw_exchange(lab.url, raw).split(b" ")[1] == b"400"


def test_a_form_field_sent_twice_is_refused(lab):
    response = lab.http.post(
        "/oauth/revoke",
        data=b"token=a&token=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_lab_error(response, 400, "invalid_request")
    assert "RFC 6749" in response.json()["error_description"]


def test_admin_session_revoke_with_a_non_ascii_handle_is_a_404(lab):
    lab.http.post("/session/login", json={"username": "alice", "password": PASSWORDS["alice"]})
    response = lab.http.delete("/admin/users/alice/sessions/%C3%A9", auth=ADMIN)
    assert_lab_error(response, 404, "not_found")


@pytest.mark.parametrize("body", [b'{"x": NaN}', b"[" * 5000 + b"]" * 5000, b'{"a":1,"a":2}'])
def test_bff_proxy_refuses_bodies_that_are_not_json(lab, body):
    login = lab.http.post("/bff/login", json={"username": "alice", "password": PASSWORDS["alice"]})
    assert login.ok
    response = lab.http.post(
        "/bff/api/account/delete", data=body, headers={**JSON, "X-CSRF": "1", "Origin": lab.url}
    )
    assert_lab_error(response, 400, "invalid_request")
    assert lab.http.get("/bff/me", headers={"X-CSRF": "1"}).ok, "the account was not touched"


@pytest.mark.parametrize("path", ["/bff", "/bff/api//me", "//health"])
def test_werkzeugs_own_redirects_answer_json_too(client, path):
    response = client.get(path)
    assert response.status_code in (301, 302, 307, 308, 404), response.status_code
    assert response.is_json and response.get_json(), response.data[:80]


def test_a_crash_outside_a_view_is_recorded_as_a_crash(store, clock):
    """Flask hands an exception from an after_request hook to the 500 handler, not to the
    handler of Exception: the lab records it in lab.crashes all the same. (Not in TESTING mode,
    where Flask re-raises it instead.)"""
    from labserver import create_app

    app = create_app(store=store, clock=clock)

    @app.after_request
    def broken(response):
        raise RuntimeError("boom")

    response = app.test_client().get("/health")
    assert response.status_code == 500 and response.get_json()["error"] == "server_error"
    crashes = app.extensions["lab"].crashes
    assert len(crashes) == 1 and crashes[0].startswith("RuntimeError at ")
