"""Chapter 10: API instances that verify at the edge, and the multi-service experiment."""

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from labserver.users import PASSWORDS


@pytest.fixture
def fleet(lab):
    from labserver.experiments.services import start_fleet

    with start_fleet(lab, instances=3, min_interval=30) as fleet:
        yield fleet
    for instance in fleet.instances:
        assert instance.app.extensions["lab"].crashes == []


@pytest.fixture
def phases(fleet):
    from labserver.experiments.services import run

    return {(p.mode, p.phase): p for p in run(fleet, requests=12)}


def token_for(lab, user="alice"):
    return (
        lab.client()
        .post("/oauth/token", json={"username": user, "password": PASSWORDS[user]})
        .json()["access_token"]
    )


def test_each_instance_is_its_own_app_on_its_own_port(fleet):
    ports = {i.url for i in fleet.instances} | {fleet.issuer.url}
    assert len(ports) == 4
    assert [i.app.config["SERVICE_NAME"] for i in fleet.instances] == ["api-1", "api-2", "api-3"]
    assert all(i.store is fleet.issuer.store for i in fleet.instances)


def test_requests_are_spread_over_every_instance(fleet):
    from labserver.experiments.services import run

    run(fleet, requests=9)
    assert all(len(i.request_log) > 0 for i in fleet.instances)


def test_session_mode_reads_the_store_on_every_request(phases):
    up = phases[("session", "store up")]
    assert up.statuses == {200: 12}
    assert up.store_reads_per_request >= 1


def test_jwt_mode_never_reads_the_store(phases):
    for (mode, phase), p in phases.items():
        if mode == "jwt":
            assert p.store_reads_per_request == 0, phase
    assert phases[("jwt", "store up")].statuses == {200: 12}


def test_with_the_store_down_sessions_fail_closed_and_tokens_keep_working(phases):
    assert phases[("session", "store down")].statuses == {503: 12}
    assert phases[("jwt", "store down")].statuses == {200: 12}
    assert phases[("jwt", "store down: a new login at the issuer")].statuses == {503: 1}


def test_tokens_outlive_a_store_outage_only_until_they_expire(phases):
    later = next(
        p
        for (mode, name), p in phases.items()
        if name.startswith("store down, ") and "later" in name
    )
    assert later.statuses == {401: 12}


def test_a_key_rotated_at_once_is_refused_until_the_rate_limit_window_ends(phases):
    assert phases[("jwt", "store up")].jwks_fetches == 3  # first use: one fetch per instance
    within = phases[("jwt", "key rotated at once, within the window")]
    assert within.statuses == {401: 12} and within.jwks_fetches == 0
    after = phases[("jwt", "key rotated at once, after the window")]
    assert after.statuses == {200: 12} and after.jwks_fetches == 3


def test_a_key_published_ahead_is_known_before_its_first_token(phases):
    refreshed = phases[("jwt", "next key published, copies refreshed by age")]
    assert refreshed.statuses == {200: 12} and refreshed.jwks_fetches == 3
    used = phases[("jwt", "next key used after being published")]
    assert used.statuses == {200: 12} and used.jwks_fetches == 0


def test_made_up_kids_cost_one_fetch_per_instance_per_window(phases):
    spray = phases[("jwt", "made-up kids sprayed, in one window")]
    assert spray.statuses == {401: 12}
    assert spray.jwks_fetches == 3


def test_one_fetch_per_window_however_many_unknown_kids(fleet, lab):
    instance = fleet.instances[0]
    http = lab.client()
    claims = jwt.decode(token_for(lab), options={"verify_signature": False})
    for window in range(3):
        for n in range(5):
            forged = jwt.encode(
                claims,
                ec.generate_private_key(ec.SECP256R1()),
                algorithm="ES256",
                headers={"kid": f"x-{window}-{n}", "typ": "at+jwt"},
            )
            assert (
                http.get(
                    f"{instance.url}/edge/me", headers={"Authorization": f"Bearer {forged}"}
                ).status_code
                == 401
            )
        lab.clock.advance(30)
    keys = http.get(f"{instance.url}/edge/keys").json()
    assert keys["fetches"] == 3 and keys["skipped_by_rate_limit"] == 12


def test_edge_verification_applies_every_rule(fleet, lab):
    instance = fleet.instances[1]
    http = lab.client()
    good = token_for(lab)
    assert (
        http.get(f"{instance.url}/edge/me", headers={"Authorization": f"Bearer {good}"}).json()[
            "instance"
        ]
        == "api-2"
    )
    lab.clock.advance(3600)
    expired = http.get(f"{instance.url}/edge/me", headers={"Authorization": f"Bearer {good}"})
    assert expired.status_code == 401 and expired.json()["error_description"].startswith("expired")
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer x.y.z", "Basic YTpi", "Bearer " + "a" * 9000]
)
def test_edge_refuses_garbage_with_4xx(fleet, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = fleet.instances[0].http.get("/edge/me", headers=headers)
    assert answer.status_code in (400, 401) and answer.json()["error"]


def test_an_unreachable_issuer_is_a_503_not_a_guess(lab, clock):
    from labserver import start_lab

    orphan = start_lab(
        {"EDGE_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json"},
        store=lab.store,
        clock=clock,
        replace=False,
    )
    try:
        answer = orphan.http.get("/edge/me", headers={"Authorization": f"Bearer {token_for(lab)}"})
        assert (
            answer.status_code == 503 and "cannot be fetched" in answer.json()["error_description"]
        )
    finally:
        orphan.stop()


def test_known_keys_survive_an_issuer_outage(fleet, lab):
    instance = fleet.instances[0]
    token = token_for(lab)
    assert (
        instance.http.get("/edge/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    remote = instance.app.extensions["lab.edge"]
    remote.jwks_url = "http://127.0.0.1:9/gone"  # the issuer disappears
    lab.clock.advance(60)
    assert remote.get("unknown-kid") is None and remote.last_error
    assert (
        instance.http.get("/edge/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_the_default_lab_has_no_edge_endpoints(lab):
    assert lab.http.get("/edge/me").status_code == 404


def test_the_table_has_a_row_per_phase(fleet):
    from labserver.experiments.services import run, table

    text = table(run(fleet, requests=3))
    assert text.count("\n") == 1 + 11 and "store trips/req" in text


def _serve_jwks(lab, body):
    """A URL on ``lab`` answering ``body`` (uploads need the vulnerable endpoints: a lab of its
    own)."""
    return lab.client().post("/vulnerable/uploads", json=body).json()["url"]


@pytest.mark.parametrize(
    "body",
    [
        {"keys": []},
        {"keys": "x"},
        {"keys": [1, "a", None]},
        {"nokeys": 1},
        {"keys": [{"kid": "k", "alg": "ES256", "kty": "RSA", "n": "AQAB", "e": "AQAB"}]},
        {"keys": [{"kid": "k", "alg": "ES256", "kty": "EC", "crv": "P-256", "x": "!", "y": "!"}]},
        {"keys": [{"kid": "k", "alg": "HS256", "kty": "oct", "k": "c2VjcmV0"}]},
    ],
)
def test_a_garbage_key_set_is_a_clean_refusal_never_a_crash(clock, body):
    from labserver import start_lab

    host = start_lab(vulnerable=True, clock=clock, replace=False, redis_url="")
    try:
        url = _serve_jwks(host, body)
        api = start_lab({"EDGE_JWKS_URL": url}, clock=clock, replace=False, redis_url="")
        try:
            token = token_for(host)
            answer = api.http.get("/edge/me", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code in (401, 503), answer.text
            assert api.app.extensions["lab"].crashes == []
        finally:
            api.stop()
    finally:
        host.stop()


def test_a_key_marked_for_encryption_is_not_used_to_verify():
    from labserver.remote_keys import _public_key

    jwk = {
        "kid": "k",
        "alg": "ES256",
        "kty": "EC",
        "crv": "P-256",
        "use": "enc",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    }
    assert _public_key(jwk) is None
    assert _public_key({**jwk, "use": "sig"}) is not None


def test_a_non_string_kid_is_malformed_not_a_crash(lab):
    import base64
    import json

    part = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()  # noqa: E731
    token = f"{part({'alg': 'ES256', 'kid': ['a'], 'typ': 'at+jwt'})}.{part({'sub': 'a'})}.c2ln"
    answer = lab.http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and answer.json()["error_description"].startswith("malformed")


def test_a_retired_key_disappears_from_the_instances_after_max_age(fleet, lab):
    instance = fleet.instances[0]
    old = token_for(lab)
    assert (
        instance.http.get("/edge/me", headers={"Authorization": f"Bearer {old}"}).status_code == 200
    )
    lab.keys.rotate("ES256")
    lab.keys.retire("es256-1")
    lab.clock.advance(60)  # within max age: the instance's copy still has es256-1
    assert (
        instance.http.get("/edge/me", headers={"Authorization": f"Bearer {old}"}).status_code == 200
    )
    lab.clock.advance(240)  # max age reached: the next request refreshes the copy
    answer = instance.http.get("/edge/me", headers={"Authorization": f"Bearer {old}"})
    assert answer.status_code == 401 and "unknown key" in answer.json()["error_description"]


def test_a_known_kid_does_not_wait_for_another_threads_fetch(lab):
    import threading

    from labserver.remote_keys import RemoteKeySet

    keys = RemoteKeySet(f"{lab.url}/.well-known/jwks.json", clock=lab.clock)
    assert keys.get("es256-1") is not None
    keys._fetch_lock.acquire()  # as if another thread were fetching, for as long as it likes
    try:
        found = []
        worker = threading.Thread(target=lambda: found.append(keys.get("es256-1")))
        worker.start()
        worker.join(timeout=5)
        assert found and found[0].kid == "es256-1"
    finally:
        keys._fetch_lock.release()
