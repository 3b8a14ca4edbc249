"""Chapter 9's token in a URL, without a browser: the access log leaks it from the vulnerable
endpoint and the attacker's replay is accepted; the hardened lab refuses a credential in the
query with a 400, abbreviates it in its log, and its pages send a strict Referrer-Policy."""

from __future__ import annotations

import pytest

from labserver.users import PASSWORDS


@pytest.fixture
def vlab(redis_url, clock):
    """A lab with the deliberately vulnerable endpoints mounted."""
    from labserver import start_lab

    lab = start_lab(redis_url=redis_url or "", clock=clock, vulnerable=True, replace=False)
    yield lab
    lab.stop()
    assert lab.crashes == [], "an endpoint answered with a 500"


def _token(lab, user: str = "alice") -> str:
    answer = lab.client().post("/oauth/token", json={"username": user, "password": PASSWORDS[user]})
    return answer.json()["access_token"]


# --- the battery's row ----------------------------------------------------------------------


def test_the_token_read_from_the_access_log_is_replayed_and_the_hardened_lab_holds(vlab):
    from labserver.experiments.attacks import Attacker
    from labserver.experiments.url_leak import token_in_url, url_leak

    leak = url_leak(Attacker(vlab))
    assert leak.vulnerable_status == 200 and leak.stolen_whole
    assert leak.vulnerable_line.startswith("GET /vulnerable/url-token/me?access_token=eyJ")
    assert leak.replay[0] == 200 and leak.replay[1]["sub"] == "alice"
    assert leak.hardened[0] == 400 and leak.hardened[1]["error"] == "invalid_request"
    assert "RFC 6750 section 2.3" in leak.hardened[1]["error_description"]
    assert leak.kept == "eyJhbGci…"
    assert leak.hardened_replay[0] == 401

    row = token_in_url(Attacker(vlab))
    assert row.attack == "token in a URL"
    assert row.vulnerable_accepted and row.hardened_refused
    assert row.vulnerable.startswith("accepted: sub 'alice'")
    assert row.hardened.startswith("400 access_token in the URL is refused")
    assert "RFC 6750 section 2.3" in row.rule


def test_the_printed_leak_holds_no_whole_token_and_no_port(vlab):
    from labserver.experiments.attacks import Attacker
    from labserver.experiments.url_leak import url_leak

    text = str(url_leak(Attacker(vlab)))
    assert "the log holds the whole token" in text and "holds 8 characters of it" in text
    assert "eyJhbGci…" in text and ".eyJ" not in text
    assert vlab.url.rsplit(":", 1)[1] not in text


def test_the_battery_row_also_runs_against_a_base_url(vlab):
    from labserver.experiments.attacks import Attacker
    from labserver.experiments.url_leak import token_in_url

    row = token_in_url(Attacker(vlab.url))
    assert row.vulnerable_accepted and row.hardened_refused


def test_the_row_says_broken_when_the_hardened_lab_takes_the_token_from_the_query(
    vlab, monkeypatch
):
    """Mutation: no refusal; the hardened API ignores the query (401), not the 400 asked for."""
    from labserver import url_tokens
    from labserver.experiments.attacks import Attacker
    from labserver.experiments.url_leak import token_in_url

    monkeypatch.setattr(url_tokens, "REFUSED_PARAMETERS", ())
    row = token_in_url(Attacker(vlab))
    assert not row.hardened_refused, row.hardened
    assert row.hardened.startswith("401")


def test_the_row_says_broken_when_the_log_keeps_whole_tokens(vlab, monkeypatch):
    """Mutation: the log redacts nothing; the attacker replays the whole token it read."""
    from labserver import requestlog
    from labserver.experiments.attacks import Attacker
    from labserver.experiments.url_leak import url_leak

    monkeypatch.setattr(requestlog, "REDACTED_PARAMETERS", frozenset())
    leak = url_leak(Attacker(vlab))
    assert leak.hardened_replay[0] == 200
    assert not leak.result().hardened_refused


# --- the vulnerable endpoints ---------------------------------------------------------------


def test_the_vulnerable_api_verifies_the_token_it_reads_from_the_query(vlab):
    http = vlab.client()
    token = _token(vlab)
    me = http.get("/vulnerable/url-token/me", params={"access_token": token})
    assert me.status_code == 200 and me.json()["sub"] == "alice"
    assert "DELIBERATELY VULNERABLE" in me.headers["X-Lab-Warning"]
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    bad = http.get("/vulnerable/url-token/me", params={"access_token": tampered})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"
    assert http.get("/vulnerable/url-token/me").status_code == 401
    twice = http.get(f"/vulnerable/url-token/me?access_token={token}&access_token={token}")
    assert twice.status_code == 400
    both = http.get(
        "/vulnerable/url-token/me",
        params={"access_token": token},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert both.status_code == 400 and "one way only" in both.json()["error_description"]


def test_the_vulnerable_page_sends_the_policy_asked_for_and_only_loopback_images(vlab):
    http = vlab.client()
    token = _token(vlab)
    page = "/vulnerable/url-token/page"
    lax = http.get(page, params={"access_token": token, "embed": vlab.url + "/pixel.gif"})
    assert lax.status_code == 200 and lax.headers["Content-Type"].startswith("text/html")
    assert lax.headers["Referrer-Policy"] == "unsafe-url"
    assert "alice's account" in lax.text and 'src="' + vlab.url + '/pixel.gif"' in lax.text
    unset = http.get(page, params={"access_token": token, "referrer_policy": "unset"})
    assert "Referrer-Policy" not in unset.headers, "unset: the browser's default decides"
    for query in (
        {"access_token": token, "referrer_policy": "lax"},
        {"access_token": token, "embed": "http://example.com/pixel.gif"},
        {"access_token": token, "embed": "javascript:alert(1)"},
    ):
        answer = http.get(page, params=query)
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_request", query
    assert http.get(page).status_code == 401


def test_the_access_log_window_shows_whole_urls_only_under_the_vulnerable_prefix(vlab):
    http = vlab.client()
    token = _token(vlab)
    http.get("/vulnerable/url-token/me", params={"access_token": token})
    http.get("/health", params={"access_token": token, "page": "2"})
    lines = http.get("/vulnerable/url-token/access-log", params={"n": 2}).json()["lines"]
    assert lines == [
        f"GET /vulnerable/url-token/me?access_token={token} 200",
        "GET /health?access_token=eyJhbGci…&page=2 400",
    ]
    for n in ("0", "201", "x", "-1", "1.5", "٣"):
        answer = http.get("/vulnerable/url-token/access-log", params={"n": n})
        assert answer.status_code == 400, n


# --- the hardened lab -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["access_token", "refresh_token", "id_token", "client_secret", "access%5Ftoken"]
)
@pytest.mark.parametrize("path", ["/api/me", "/whoami", "/session/me", "/bff/api/me", "/nowhere"])
def test_every_route_refuses_a_credential_in_the_query(client, name, path):
    answer = client.get(f"{path}?{name}=eyJ.x.y")
    assert answer.status_code == 400, answer.get_json()
    body = answer.get_json()
    assert body["error"] == "invalid_request"
    assert "RFC 6750 section 2.3" in body["error_description"]
    assert body["error_description"].startswith(name.replace("%5F", "_") + " in the URL")


def test_other_query_parameters_and_the_authorization_code_are_not_refused(client):
    assert client.get("/health?code=abc&state=x&page=2").status_code == 200
    assert client.get("/health?Access_Token=x&token_type=bearer").status_code == 200


def test_the_other_apps_of_the_lab_refuse_it_too():
    from labserver import create_app

    for role in ("identity-provider", "orders", "billing"):
        app = create_app({"APP_ROLE": role, "TESTING": True})
        answer = app.test_client().get("/health?access_token=x")
        assert answer.status_code == 400, role
    attacker = create_app({"APP_ROLE": "attacker", "SEED_DEMO_USERS": False})
    assert attacker.test_client().get("/loot?access_token=x").status_code == 200


def test_the_request_log_abbreviates_credentials_in_the_query():
    from labserver.requestlog import redact_query

    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    assert redact_query(f"page=2&access_token={token}&x") == "page=2&access_token=eyJhbGci…&x"
    assert redact_query("access%5Ftoken=abcdefghijk") == "access%5Ftoken=abcdefgh…"
    assert redact_query("refresh_token=0123456789&code=0123456789&state=s") == (
        "refresh_token=01234567…&code=0123456789&state=s"  # the code travels in URLs by design
    )
    assert redact_query("access_token&=&&%FF=%FE%ED%A0%80") == "access_token&=&&%FF=%FE%ED%A0%80"
    assert redact_query("token=" + "\xff\xfe" * 5) == "token=\xff\xfe\xff\xfe\xff\xfe\xff\xfe…"
    assert redact_query("") == ""


def test_the_lab_log_never_holds_a_whole_token_from_a_query(lab):
    token = _token(lab)
    lab.http.get("/api/me", params={"access_token": token})
    logged = lab.request_log.last(1)[0]
    assert logged.path == "/api/me?access_token=eyJhbGci…" and logged.status == 400
    assert token not in "".join(e.path for e in lab.request_log)


def _html_routes(app) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    )


def test_every_html_page_of_the_lab_sends_a_strict_referrer_policy(vlab):
    """Every GET route without a variable; each HTML answer but the vulnerable page's own."""
    client = vlab.app.test_client()
    pages = []
    for path in _html_routes(vlab.app):
        if path.startswith("/vulnerable/url-token/"):
            continue
        answer = client.get(path)
        if answer.mimetype == "text/html":
            pages.append(path)
            assert answer.headers.get("Referrer-Policy") == "same-origin", path
    assert {"/bff/", "/browser/arrived", "/browser/spa/"} <= set(pages)


def test_the_identity_providers_login_page_sends_it_too(fed):
    from urllib.parse import urlencode

    query = {
        "response_type": "code",
        "client_id": "bff",
        "redirect_uri": fed.idp.app.config["IDP_BFF_REDIRECT_URI"],
        "scope": "openid",
        "state": "s",
        "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    page = fed.idp.http.get("/oauth2/authorize?" + urlencode(query))
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Referrer-Policy"] == "same-origin"


def test_only_html_without_a_policy_of_its_own_gets_the_labs(app):
    from flask import Response

    from labserver.url_tokens import strict_referrer_policy

    with app.test_request_context("/"):
        page = strict_referrer_policy(Response("<p>x</p>", mimetype="text/html"))
        kept = Response("<p>x</p>", mimetype="text/html", headers={"Referrer-Policy": "origin"})
        data = strict_referrer_policy(Response("{}", mimetype="application/json"))
        assert page.headers["Referrer-Policy"] == "same-origin"
        assert strict_referrer_policy(kept).headers["Referrer-Policy"] == "origin"
        assert "Referrer-Policy" not in data.headers


# --- the attacker's pixel -------------------------------------------------------------------


def test_the_attackers_pixel_keeps_the_referer_it_came_with():
    from labserver import create_app

    app = create_app({"APP_ROLE": "attacker", "SEED_DEMO_USERS": False})
    client = app.test_client()
    pixel = client.get("/pixel.gif", headers={"Referer": "http://127.0.0.1:1/p?access_token=x"})
    assert pixel.status_code == 200 and pixel.mimetype == "image/gif"
    assert pixel.data.startswith(b"GIF89a") and pixel.headers["Cache-Control"] == "no-store"
    client.get("/pixel.gif")
    seen = client.get("/loot").get_json()["pixel"]
    assert [p["referer"] for p in seen] == ["http://127.0.0.1:1/p?access_token=x", "-"]
    assert client.get("/loot").get_json()["loot"] == []
