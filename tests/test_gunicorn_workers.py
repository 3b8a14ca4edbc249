"""``serve --workers 3``: the lab under gunicorn, three processes on one real Redis, over HTTP.

Sessions work across workers through the shared store; JWTs verify in every worker with the
keys the master made before forking; a SIGKILLed worker loses nothing stored; and each worker
keeps its own copy of an issuer's JWKS, with its own rate limit. Each response names its worker
in ``X-Lab-Worker-Pid``. The server (``labserver.experiments.processes.Fleet``) runs in its own
process group, killed whole at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from labserver.experiments.processes import ROOT, Fleet, with_kid, worker
from labserver.users import PASSWORDS

pytestmark = pytest.mark.skipif(os.name != "posix", reason="gunicorn runs on POSIX systems only")


@pytest.fixture
def fleet(redis_url, store):
    """Three gunicorn workers on the test's real Redis (``store`` empties its lab keys)."""
    fleet = Fleet(redis_url, 3, env={"LAB_REFRESH_TOKENS": "true"})
    yield fleet
    fleet.stop()


def token(fleet: Fleet, alg: str = "ES256", **extra) -> requests.Response:
    body = {"username": "alice", "password": PASSWORDS["alice"], "alg": alg, **extra}
    response = fleet.post("/oauth/token", json=body)
    assert response.status_code == 200, response.text
    return response


@pytest.mark.redis
def test_requests_are_served_by_several_worker_processes(fleet):
    answers = fleet.until(lambda: fleet.get("/health"), lambda a: len(a) >= 2, "two workers")
    assert all(r.json() == {"status": "ok"} for r in answers.values())
    assert set(answers) <= fleet.workers()  # the master's children; it only supervises


@pytest.mark.redis
def test_a_session_made_by_one_worker_is_accepted_by_another(fleet):
    login = fleet.post("/session/login", json={"username": "bob", "password": PASSWORDS["bob"]})
    assert login.status_code == 200, login.text
    answers = fleet.until(
        lambda: fleet.get("/session/me", cookies=login.cookies),
        lambda a: set(a) - {worker(login)},
        "another worker",
    )
    for response in answers.values():
        assert response.status_code == 200, response.text
        assert response.json()["username"] == "bob"


@pytest.mark.redis
def test_without_a_cookie_no_worker_knows_the_caller(fleet):
    # The check above could pass for a fleet that accepts anything: it does not.
    assert fleet.get("/session/me").status_code == 401
    forged = {"session": "not-a-session-any-worker-made"}
    answers = fleet.until(
        lambda: fleet.get("/session/me", cookies=forged), lambda a: len(a) >= 2, "two workers"
    )
    assert {r.status_code for r in answers.values()} == {401}


@pytest.mark.redis
@pytest.mark.parametrize("alg", ["HS256", "RS256", "ES256", "EdDSA"])
def test_a_jwt_issued_by_one_worker_is_accepted_by_every_worker(fleet, alg):
    # RS256 keys are otherwise made on first use, which after the fork would be once per worker.
    issued = token(fleet, alg)
    bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
    answers = fleet.every(lambda: fleet.get("/api/me", headers=bearer))
    assert len(answers) == 3
    for response in answers.values():
        assert response.status_code == 200, response.text
        assert response.json()["verified_with"]["alg"] == alg


@pytest.mark.redis
def test_key_rotation_is_refused_because_it_would_split_the_workers(fleet):
    for method, path in (("POST", "/admin/keys/rotate"), ("DELETE", "/admin/keys/es256-1")):
        response = requests.request(method, fleet.url + path, json={"alg": "ES256"}, timeout=10)
        assert response.status_code == 409
        assert "rotating or retiring a key in one worker" in response.json()["error_description"]


@pytest.mark.redis
def test_sigkill_of_a_worker_loses_nothing_stored(fleet):
    login = fleet.post("/session/login", json={"username": "bob", "password": PASSWORDS["bob"]})
    refresh = fleet.until(
        lambda: token(fleet), lambda a: worker(login) in a, "the worker that made the session"
    )[worker(login)].json()["refresh_token"]
    victim = worker(login)  # it made both the session and the refresh token
    assert len(fleet.workers()) == 3
    replacements = fleet.kill(victim)  # SIGKILL; returns once a replacement answers
    assert replacements and victim not in fleet.workers()
    answers = fleet.until(
        lambda: fleet.get("/session/me", cookies=login.cookies),
        lambda a: replacements & set(a),
        "the replacement worker",
    )
    assert victim not in answers
    assert {r.status_code for r in answers.values()} == {200}
    refreshed = fleet.post(
        "/oauth/token", json={"grant_type": "refresh_token", "refresh_token": refresh}
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] != refresh  # rotated, as on any worker


@pytest.mark.redis
def test_each_worker_keeps_its_own_copy_of_the_jwks_and_its_own_rate_limit(redis_url, store):
    from labserver import start_lab

    issuer = start_lab(redis_url="", replace=False)  # another service, with its own keys
    edge = None
    try:
        edge = Fleet(
            redis_url,
            3,
            "--jwks-url",
            issuer.url + "/.well-known/jwks.json",
            env={"LAB_EDGE_JWKS_MIN_INTERVAL": "3600"},
        )
        access = issuer.http.post(
            "/oauth/token", json={"username": "alice", "password": PASSWORDS["alice"]}
        ).json()["access_token"]
        answers = edge.every(
            lambda: edge.get("/edge/me", headers={"Authorization": f"Bearer {access}"})
        )
        assert len(answers) == 3 and {r.status_code for r in answers.values()} == {200}

        # A made-up kid: a fetch, if the rate limit allows. It is sent once, to one worker.
        unknown = with_kid(access, "made-up")
        refused = edge.get("/edge/me", headers={"Authorization": f"Bearer {unknown}"})
        assert refused.status_code == 401

        keys = edge.every(lambda: edge.get("/edge/keys"))
        counts = {
            p: (r.json()["fetches"], r.json()["skipped_by_rate_limit"]) for p, r in keys.items()
        }
        # One JWKS fetch per worker: the issuer serves the fleet's size, not one.
        assert {fetches for fetches, _ in counts.values()} == {1}
        # Only the worker that saw the made-up kid has counted it against its rate limit.
        assert counts[worker(refused)][1] == 1
        assert [skipped for p, (_, skipped) in counts.items() if p != worker(refused)] == [0, 0]
    finally:
        if edge is not None:
            edge.stop()
        issuer.stop()


def test_several_workers_need_a_real_redis():
    run = subprocess.run(
        [sys.executable, "-m", "labserver", "serve", "--port", "0", "--workers", "2"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "needs REDIS_URL" in run.stderr and "embedded store" in run.stderr


def test_the_worker_count_is_a_whole_number_of_at_least_one():
    run = subprocess.run(
        [sys.executable, "-m", "labserver", "serve", "--port", "0", "--workers", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "--workers: must be a whole number of at least 1, not '0'" in run.stderr


@pytest.mark.redis
def test_the_wsgi_app_makes_every_key_before_gunicorn_forks(redis_url):
    # With gunicorn --preload, this runs in the master: RSA too, or each worker makes its own.
    from labserver.wsgi import make_app

    keys = make_app({"REDIS_URL": redis_url}).extensions["lab"].keys
    assert all(keys.get(kid)._material is not None for kid in keys.kids)
