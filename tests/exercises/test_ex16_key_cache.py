"""Checks for exercise 16: a JWKS cache with a rate limit for unknown kids and a maximum age."""

import pytest


class Issuer:
    """A fake issuer: the keys it publishes, and how often it was asked."""

    def __init__(self, keys):
        self.keys = dict(keys)
        self.calls = 0
        self.down = False

    def __call__(self):
        self.calls += 1
        if self.down:
            raise OSError("the issuer is unreachable")
        return dict(self.keys)


@pytest.fixture
def issuer():
    return Issuer({"k1": "key one"})


@pytest.fixture
def cache(impl, issuer, clock):
    return impl.KeyCache(issuer, clock, min_interval=30, max_age=300)


def test_the_first_get_fetches(cache, issuer):
    """The first get fetches the keys and finds the kid."""
    assert cache.get("k1") == "key one", "fetch() returns {kid: key}; return the key for kid"
    assert issuer.calls == 1, "exactly one fetch for the first get"


def test_a_known_kid_costs_no_fetch(cache, issuer, clock):
    """A known kid is answered from the copy."""
    cache.get("k1")
    for _ in range(5):
        clock.advance(10)
        assert cache.get("k1") == "key one"
    assert issuer.calls == 1, "a known kid in a fresh copy must not fetch"


def test_an_unknown_kid_fetches_once_per_window(cache, issuer, clock):
    """Unknown kids fetch at most once per min_interval."""
    cache.get("k1")
    clock.advance(30)
    assert cache.get("made-up-1") is None
    assert issuer.calls == 2, "an unknown kid, 30 s after the last fetch: fetch again"
    for n in range(50):
        assert cache.get(f"made-up-{n + 2}") is None
    assert issuer.calls == 2, (
        "more unknown kids within 30 s of the last fetch: no fetch (the rate limit)"
    )


def test_a_new_key_is_found_after_the_window(cache, issuer, clock):
    """A key the issuer adds is found by the first unknown-kid get after the window."""
    cache.get("k1")
    issuer.keys["k2"] = "key two"
    clock.advance(10)
    assert cache.get("k2") is None, "10 s after the last fetch: still within the window, no fetch"
    clock.advance(20)
    assert cache.get("k2") == "key two", "30 s after the last fetch, an unknown kid fetches"
    assert issuer.calls == 2


def test_an_old_copy_is_refreshed_and_retired_keys_disappear(cache, issuer, clock):
    """A copy older than max_age is fetched again, even for a known kid."""
    cache.get("k1")
    issuer.keys = {"k2": "key two"}  # k1 retired
    clock.advance(299)
    assert cache.get("k1") == "key one", "younger than max_age: the copy is used as it is"
    clock.advance(1)
    assert cache.get("k1") is None, "300 s old: fetch again, and k1 is gone"
    assert issuer.calls == 2


def test_an_unreachable_issuer_leaves_the_known_keys(cache, issuer, clock):
    """A failed fetch keeps the keys already known."""
    cache.get("k1")
    issuer.down = True
    clock.advance(300)
    assert cache.get("k1") == "key one", "catch OSError from fetch() and keep the old keys"
    assert issuer.calls == 2, "the failed fetch counts (it was made)"
    assert cache.get("k1") == "key one"
    assert issuer.calls == 2, "after a failed fetch, wait: the rate limit applies to failures too"


def test_an_unreachable_issuer_at_the_start_is_no_crash(impl, clock):
    """If the very first fetch fails, get answers None."""
    down = Issuer({})
    down.down = True
    assert impl.KeyCache(down, clock).get("k1") is None, "no keys known and none fetched: None"
