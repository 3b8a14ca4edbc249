"""Checks for exercise 09: the BFF's cached swap of a session for an access token."""


class Issuer:
    """A stand-in for the token endpoint: counts how often it is asked; tokens live 300 s."""

    def __init__(self, clock, lifetime=300):
        self.clock, self.lifetime, self.calls = clock, lifetime, 0

    def __call__(self):
        self.calls += 1
        return f"token-{self.calls}", self.clock.now() + self.lifetime


def start(store, impl, sid="s1"):
    store.hset(impl.session_key(sid), mapping={"user": "alice"})


def test_the_first_call_gets_a_token(impl, store, clock):
    """With nothing cached, a new token is obtained."""
    start(store, impl)
    mint = Issuer(clock)
    result = impl.token_for_session(store, clock, "s1", mint)
    assert result == ("token-1", True), "return (token, True) after calling mint()"


def test_the_token_is_saved_in_the_session(impl, store, clock):
    """The new token and its expiry are saved in the session record."""
    start(store, impl)
    impl.token_for_session(store, clock, "s1", Issuer(clock))
    record = store.hgetall(impl.session_key("s1"))
    assert record.get("access_token") == "token-1", "hset access_token in the session record"
    assert float(record.get("access_exp", 0)) == clock.now() + 300, (
        "hset access_exp (the exp mint gave)"
    )
    assert record["user"] == "alice", "keep the record's other fields"


def test_a_cached_token_is_reused(impl, store, clock):
    """While it has time left, the cached token is re-used and no new one is obtained."""
    start(store, impl)
    mint = Issuer(clock)
    impl.token_for_session(store, clock, "s1", mint)
    clock.advance(200)
    assert impl.token_for_session(store, clock, "s1", mint) == ("token-1", False), (
        "100 s left, more than the 30 s margin: return the cached token with False"
    )
    assert mint.calls == 1, "do not call mint() when the cached token is still good"


def test_a_token_just_over_the_margin_is_reused(impl, store, clock):
    """With 31 s left (margin 30), the cached token is still re-used."""
    start(store, impl)
    mint = Issuer(clock)
    impl.token_for_session(store, clock, "s1", mint)
    clock.advance(269)  # 31 s left
    assert impl.token_for_session(store, clock, "s1", mint) == ("token-1", False), (
        "re-use while exp - now > margin: 31 > 30"
    )


def test_a_token_close_to_expiry_is_replaced(impl, store, clock):
    """A cached token with the margin or less left is replaced."""
    start(store, impl)
    mint = Issuer(clock)
    impl.token_for_session(store, clock, "s1", mint)
    clock.advance(270)  # 30 s left: not more than the margin
    assert impl.token_for_session(store, clock, "s1", mint) == ("token-2", True), (
        "re-use only while exp - now > margin; at 30 s left, get a new one"
    )


def test_an_expired_token_is_never_sent(impl, store, clock):
    """A cached token past its exp is never returned."""
    start(store, impl)
    mint = Issuer(clock)
    impl.token_for_session(store, clock, "s1", mint)
    clock.advance(3600)
    token, fresh = impl.token_for_session(store, clock, "s1", mint)
    assert fresh and token == "token-2", "compare access_exp with clock.now(), as a float"


def test_each_session_has_its_own_cache(impl, store, clock):
    """Two sessions do not share a token."""
    start(store, impl, "s1")
    start(store, impl, "s2")
    mint = Issuer(clock)
    first = impl.token_for_session(store, clock, "s1", mint)[0]
    second = impl.token_for_session(store, clock, "s2", mint)[0]
    assert first != second, "read and write the cache in session_key(session_id), per session"


def test_a_zero_margin_reuses_until_expiry(impl, store, clock):
    """With margin 0, the token is re-used until its very last second."""
    start(store, impl)
    mint = Issuer(clock)
    impl.token_for_session(store, clock, "s1", mint, margin=0)
    clock.advance(299)
    assert impl.token_for_session(store, clock, "s1", mint, margin=0)[1] is False, (
        "1 s left > 0: re-use"
    )


def test_the_margin_is_a_parameter(impl, store, clock):
    """A larger margin replaces the token sooner."""
    start(store, impl)
    mint = Issuer(clock)
    impl.token_for_session(store, clock, "s1", mint)
    clock.advance(200)
    assert impl.token_for_session(store, clock, "s1", mint, margin=120)[1] is True, (
        "use the margin argument, not a fixed 30"
    )
