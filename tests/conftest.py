"""Fixtures for the lab's tests, after Flask's tutorial: ``app``, ``client``, plus ``lab``.

The store is the embedded fakeredis by default. With ``REDIS_URL`` set (CI's second pass, or
you: ``REDIS_URL=redis://127.0.0.1:6379/15 make test``) every fixture uses that real Redis
instead, and the tests marked ``redis`` run too. Only keys starting with ``lab:`` are touched.
"""

from __future__ import annotations

import os

import pytest

from labserver.clock import LabClock

# The lab's heavier modules (Flask, redis-py, fakeredis) are imported inside the fixtures, so
# that an exercise check, which loads this file too, starts in a fraction of a second.

REDIS_URL = os.environ.get("LAB_TEST_REDIS_URL")
NO_REDIS = (
    "REDIS_URL is not set: real-Redis tests run in CI (.ci/run); to run them here, "
    "start redis-server and set REDIS_URL=redis://127.0.0.1:6379/15"
)

#: An epoch second to freeze test clocks at (2027-01-15T08:00:00Z): round, and in the future.
T0 = 1_800_000_000.0


def pytest_sessionstart(session):
    if os.environ.get("LAB_REQUIRE_REDIS") == "1" and not REDIS_URL:
        pytest.exit("LAB_REQUIRE_REDIS=1 but REDIS_URL is not set", returncode=3)
    if REDIS_URL:
        from labserver.store import UNREACHABLE, connect

        try:
            connect(REDIS_URL).ping()
        except UNREACHABLE as exc:
            pytest.exit(f"REDIS_URL={REDIS_URL} is set but unreachable: {exc}", returncode=3)


def pytest_collection_modifyitems(config, items):
    if not REDIS_URL:
        skip = pytest.mark.skip(reason=NO_REDIS)
        for item in items:
            if "redis" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def redis_url():
    """The real Redis under test, or None for the embedded store."""
    return REDIS_URL


@pytest.fixture
def store(redis_url):
    """The store the lab under test uses: a fresh fakeredis, or the real Redis with no lab keys."""
    from labserver.store import connect, delete_lab_keys

    client = connect(redis_url)
    if redis_url:
        delete_lab_keys(client)
    yield client
    if redis_url:
        delete_lab_keys(client)
    client.close()


@pytest.fixture
def clock():
    """A frozen lab clock, so that every time in a test is exact."""
    return LabClock(frozen_at=T0)


@pytest.fixture
def app(store, clock):
    """The lab app (Flask's test mode), on the test's store and clock."""
    from labserver import create_app

    app = create_app({"TESTING": True}, store=store, clock=clock)
    yield app
    assert app.extensions["lab"].crashes == [], "the app answered a request with a 500"


@pytest.fixture
def client(app):
    """Flask's test client for ``app`` (no socket)."""
    return app.test_client()


@pytest.fixture
def lab(redis_url, clock):
    """A real lab server on a loopback port, stopped after the test."""
    from labserver import start_lab
    from labserver.store import connect, delete_lab_keys

    if redis_url:
        delete_lab_keys(connect(redis_url))
    lab = start_lab(redis_url=redis_url or "", clock=clock)
    yield lab
    lab.stop()
    assert lab.crashes == [], "the lab answered a request with a 500"
    if redis_url:
        delete_lab_keys(lab.store)


@pytest.fixture(scope="module")
def fed():
    """Chapter 04's systems, shared by one test module: a lab with its identity provider and
    the orders and billing APIs, on a frozen clock (on Redis when ``REDIS_URL`` is set)."""
    from tests.federation_helpers import run_federation

    yield from run_federation(REDIS_URL)


@pytest.fixture
def no_crashes(fed):
    """After the test, no system of ``fed`` recorded a crash (each would have been a 500)."""
    from tests.federation_helpers import assert_no_crashes

    yield
    assert_no_crashes(fed)


@pytest.fixture
def vlab(redis_url, clock):
    """A lab with the deliberately vulnerable endpoints mounted."""
    from labserver import start_lab

    lab = start_lab(redis_url=redis_url or "", clock=clock, vulnerable=True, replace=False)
    yield lab
    lab.stop()
    assert lab.app.extensions["lab"].crashes == [], "a vulnerable endpoint answered with a 500"


@pytest.fixture
def check_worker(monkeypatch):
    """A warm check worker of this test's own (``labserver.checking``), stopped afterwards."""
    from labserver import checking

    mine = checking._Worker()
    monkeypatch.setattr(checking, "_WORKER", mine)
    monkeypatch.delenv("LAB_CHECK_WORKER", raising=False)
    yield mine
    mine.stop()
