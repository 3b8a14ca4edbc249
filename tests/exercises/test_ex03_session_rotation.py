"""Checks for exercise 03: ``login`` issues a new session ID (no session fixation)."""

import pytest

from labserver.session_records import create_session, lookup_session

TIMEOUTS = {"idle_timeout": 900, "absolute_timeout": 8 * 3600}


@pytest.fixture(params=["anonymous", "the attacker's own"])
def planted_id(request, store, clock):
    """A session ID the attacker knows, planted in the victim's browser: a pre-login session of
    the site's (anonymous: no user yet, the textbook case), or the attacker's own login."""
    owner = "" if request.param == "anonymous" else "attacker"
    return create_session(store, clock, owner, ttl=8 * 3600 + 60)


def test_login_gives_a_session_for_the_user(impl, store, clock):
    """Login without a cookie gives a live session of the user."""
    session_id = impl.login(store, clock, "alice")
    record = lookup_session(store, clock, session_id, **TIMEOUTS)
    assert record is not None and record["user"] == "alice", (
        "create the session with create_session(store, clock, username, ttl=TTL) and return its ID"
    )


def test_login_never_reuses_the_presented_id(impl, store, clock, planted_id):
    """The ID after login is never the one the browser came with."""
    known = planted_id
    assert impl.login(store, clock, "alice", known) != known, (
        "session fixation: an ID the attacker knows must not become alice's session; make a new one"
    )


def test_the_planted_id_does_not_become_the_victims_session(impl, store, clock, planted_id):
    """The attacker's copy of the old ID does not give them alice's session."""
    known = planted_id
    victims = impl.login(store, clock, "alice", known)
    record = lookup_session(store, clock, known, **TIMEOUTS)
    shared = known == victims or (record is not None and record["user"] == "alice")
    what_the_attacker_gets = "alice's session" if shared else "nothing of alice's"
    assert what_the_attacker_gets == "nothing of alice's", (
        "session fixation: once alice logs in, the ID the attacker planted must not be, or lead "
        "to, her session"
    )


def test_the_presented_session_is_deleted(impl, store, clock, planted_id):
    """The session the browser came with is deleted at login."""
    known = planted_id
    impl.login(store, clock, "alice", known)
    assert lookup_session(store, clock, known, **TIMEOUTS) is None, (
        "delete_session(store, presented_session_id): a login ends any earlier session"
    )


def test_an_unknown_presented_id_is_harmless(impl, store, clock):
    """A made-up presented ID is simply ignored."""
    session_id = impl.login(store, clock, "alice", "made-up-by-the-attacker")
    assert session_id != "made-up-by-the-attacker", "an unknown ID must not be adopted either"
    assert lookup_session(store, clock, session_id, **TIMEOUTS)["user"] == "alice"
