"""Checks for exercise 08: a deny list whose entries expire with their tokens."""

import pytest

from labserver.store import connect

ISS = "https://issuer.jwt-lab.test"


@pytest.fixture
def lab_store(clock):
    """An embedded store that keeps the test's lab time."""
    return connect(clock=clock)


def claims(clock, jti="t1", lifetime=300, iss=ISS):
    now = int(clock.now())
    return {"iss": iss, "jti": jti, "sub": "alice", "iat": now, "exp": now + lifetime}


def test_a_denied_token_is_denied(impl, lab_store, clock):
    """A token put on the list is found there (is_denied returns True)."""
    token = claims(clock)
    impl.deny(lab_store, clock, token)
    assert impl.is_denied(lab_store, token) is True, "return a bool: bool(store.exists(key))"


def test_other_tokens_are_not_denied(impl, lab_store, clock):
    """Another jti is not denied."""
    impl.deny(lab_store, clock, claims(clock, "t1"))
    assert impl.is_denied(lab_store, claims(clock, "t2")) is False, "key each entry by its own jti"


def test_entries_are_keyed_by_issuer_too(impl, lab_store, clock):
    """The same jti from another issuer is not denied."""
    impl.deny(lab_store, clock, claims(clock, "t1"))
    assert (
        impl.is_denied(lab_store, claims(clock, "t1", iss="https://other-issuer.test")) is False
    ), "use deny_key(claims['iss'], claims['jti'])"


def test_the_entry_lives_as_long_as_the_token(impl, lab_store, clock):
    """The entry's TTL is the token's remaining lifetime."""
    token = claims(clock, lifetime=300)
    clock.advance(100)
    impl.deny(lab_store, clock, token)
    ttl = lab_store.ttl(impl.deny_key(ISS, "t1"))
    assert ttl == 200, f"TTL {ttl}: set ex=exp - now (rounded up), here 300 - 100 = 200"


def test_the_entry_covers_the_leeway(impl, lab_store, clock):
    """With a leeway, the entry lives until exp + leeway."""
    token = claims(clock, lifetime=300)
    impl.deny(lab_store, clock, token, leeway=30)
    ttl = lab_store.ttl(impl.deny_key(ISS, "t1"))
    assert ttl == 330, f"TTL {ttl}: add the leeway, the API still accepts the token 30 s after exp"


def test_the_entry_goes_when_the_token_would_have_expired(impl, lab_store, clock):
    """After the token's exp the entry is gone by itself."""
    token = claims(clock, lifetime=300)
    impl.deny(lab_store, clock, token)
    clock.advance(301)
    assert lab_store.exists(impl.deny_key(ISS, "t1")) == 0, "the TTL must end with the token's exp"


def test_the_ttl_is_rounded_up(impl, lab_store, clock):
    """With a clock between seconds, the entry never leaves before the token could pass."""
    token = claims(clock, lifetime=300)
    clock.advance(0.6)  # 299.4 s of lifetime left
    impl.deny(lab_store, clock, token)
    clock.advance(299.3)
    assert impl.is_denied(lab_store, token) is True, (
        "the token is still valid 0.1 s longer: round the TTL up (math.ceil), never down"
    )


def test_an_expired_token_adds_nothing(impl, lab_store, clock):
    """Denying an already expired token stores nothing."""
    token = claims(clock, lifetime=60)
    clock.advance(120)
    assert impl.deny(lab_store, clock, token) is False, "return False when exp is already past"
    assert lab_store.keys("lab:ex08:*") == [], "store nothing for a token that is dead anyway"


def test_the_list_holds_only_live_tokens(impl, lab_store, clock):
    """100 revocations later, the list holds only the tokens still alive."""
    for i in range(100):  # one revoked token per minute, each with a 5 min lifetime
        impl.deny(lab_store, clock, claims(clock, f"t{i}", lifetime=300))
        clock.advance(60)
    size = len(lab_store.keys("lab:ex08:deny:*"))
    assert size <= 5, f"{size} entries: expired tokens must leave the list by themselves (TTL)"
