"""Checks for exercise 06: refresh-token rotation with reuse detection."""

import pytest


def rejected(impl, store, token, hint):
    """``rotate`` must raise RefreshRejected for ``token``; otherwise fail with ``hint``, showing
    what came back ("a new token", or what was raised)."""
    try:
        impl.rotate(store, token)
        came_back = "a new token"
    except NotImplementedError:
        raise
    except impl.RefreshRejected:
        return
    except Exception as exc:  # noqa: BLE001
        came_back = type(exc).__name__
    assert came_back == "RefreshRejected", hint


def test_rotation_gives_a_new_token(impl, store):
    """Using a refresh token gives a new, different one."""
    old = impl.issue(store, "alice")
    new = impl.rotate(store, old)
    assert isinstance(new, str) and new != old, "return issue(store, user, family): a fresh token"


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_the_new_token_works_in_turn(impl, store, user):
    """The new token can be used once in its turn, and so on, for the same user."""
    token = impl.issue(store, user)
    for _ in range(3):
        token = impl.rotate(store, token)
    assert store.hget(impl.token_key(token), "user") == user, (
        "keep the token's own user along the chain"
    )


def test_the_new_token_is_in_the_same_family(impl, store):
    """The successor belongs to the same family."""
    old = impl.issue(store, "alice")
    new = impl.rotate(store, old)
    assert store.hget(impl.token_key(new), "family") == store.hget(impl.token_key(old), "family"), (
        "pass the old token's family to issue(): rotation keeps the family"
    )


def test_a_used_token_is_refused(impl, store):
    """A token that was already used is refused."""
    old = impl.issue(store, "alice")
    impl.rotate(store, old)
    rejected(
        impl,
        store,
        old,
        "a refresh token is used once: mark it used, and refuse it when it comes back",
    )


def test_reuse_revokes_the_family_so_both_parties_are_locked_out(impl, store):
    """Reuse of an old token revokes the family: the thief's and the victim's next refresh fail."""
    stolen = impl.issue(store, "alice")
    victims_current = impl.rotate(store, stolen)  # the victim refreshed first
    rejected(impl, store, stolen, "the thief replays the used token: refuse it")
    rejected(
        impl,
        store,
        victims_current,
        "on reuse, revoke the whole family: the victim's newer token must fail too, since the "
        "server cannot tell who is who",
    )


def test_other_families_are_untouched(impl, store):
    """Reuse in one family does not affect another family."""
    mine = impl.issue(store, "alice")
    other = impl.issue(store, "alice")  # a second device: a second family
    impl.rotate(store, mine)
    with pytest.raises(impl.RefreshRejected):
        impl.rotate(store, mine)
    assert impl.rotate(store, other), "only revoke the reused token's own family"


def test_unknown_token_is_refused(impl, store):
    """A token the server never issued is refused."""
    rejected(impl, store, "made-up", "hgetall of an unknown key is {}: raise RefreshRejected")


def test_the_store_never_holds_a_token_in_clear(impl, store):
    """After rotations, no key and no value in the store is a token itself."""
    first = impl.issue(store, "alice")
    second = impl.rotate(store, first)
    dump = " ".join(
        list(store.keys("*")) + [v for k in store.keys("*") for v in store.hgetall(k).values()]
    )
    assert first not in dump and second not in dump, (
        "store records under token_key(token) (a hash) only"
    )


class RacingStore:
    """A store that, the first time the token's record is read, lets a second request rotate
    the same token before the first one continues: two refreshes at the same moment."""

    def __init__(self, store, impl, token):
        self._store, self._impl, self._token, self.raced = store, impl, token, None

    def __getattr__(self, name):
        return getattr(self._store, name)

    def hgetall(self, key):
        record = self._store.hgetall(key)
        if self.raced is None and key == self._impl.token_key(self._token):
            self.raced = "started"
            try:
                self.raced = self._impl.rotate(self._store, self._token)  # the other request
            except self._impl.RefreshRejected:
                self.raced = "refused"
        return record


def test_two_refreshes_at_once_cannot_both_succeed(impl, store):
    """Two requests rotating the same token at once do not both get a working successor."""
    token = impl.issue(store, "alice")
    racing = RacingStore(store, impl, token)
    try:
        first = impl.rotate(racing, token)
    except impl.RefreshRejected:
        first = None
    winners = [t for t in (first, racing.raced) if t not in (None, "started", "refused")]
    still_usable = []
    for successor in winners:
        try:
            impl.rotate(store, successor)
            still_usable.append(successor)
        except impl.RefreshRejected:
            pass
    assert len(still_usable) <= 1, (
        "read-then-set lets both through: mark the token used with one atomic store command that "
        "tells you whether you were first"
    )
