"""Checks for exercise 02: ``logout_everywhere``."""


def add_session(impl, store, sid, user):
    store.hset(impl.session_key(sid), mapping={"user": user, "created": 0, "last_seen": 0})
    store.sadd(impl.user_sessions_key(user), sid)


def test_every_session_of_the_user_is_deleted(impl, store):
    """All of the user's sessions are deleted."""
    for sid in ("laptop", "phone", "tablet"):
        add_session(impl, store, sid, "alice")
    impl.logout_everywhere(store, "alice")
    left = [sid for sid in ("laptop", "phone", "tablet") if store.exists(impl.session_key(sid))]
    assert left == [], "delete the record session_key(id) of every ID in the user's set"


def test_other_users_keep_their_sessions(impl, store):
    """Other users' sessions are untouched."""
    add_session(impl, store, "a1", "alice")
    add_session(impl, store, "b1", "bob")
    impl.logout_everywhere(store, "alice")
    assert store.exists(impl.session_key("b1")), "only the IDs in alice's own set may be deleted"
    assert store.smembers(impl.user_sessions_key("bob")) == {"b1"}, "leave bob's set alone"


def test_the_set_of_ids_is_deleted_too(impl, store):
    """The user's set of session IDs is gone afterwards."""
    add_session(impl, store, "a1", "alice")
    impl.logout_everywhere(store, "alice")
    assert not store.exists(impl.user_sessions_key("alice")), (
        "also delete user_sessions_key(username), or it keeps listing dead IDs"
    )


def test_returns_how_many_sessions_ended(impl, store):
    """It returns how many sessions actually ended (expired ones do not count)."""
    add_session(impl, store, "a1", "alice")
    add_session(impl, store, "a2", "alice")
    store.sadd(impl.user_sessions_key("alice"), "expired-long-ago")  # its record is gone
    assert impl.logout_everywhere(store, "alice") == 2, (
        "count the records that existed: store.delete(*keys) returns exactly that"
    )


def test_a_user_without_sessions_is_fine(impl, store):
    """A user with no sessions gives 0 and no error."""
    assert impl.logout_everywhere(store, "nobody") == 0, (
        "store.delete() with no keys is an error in Redis: skip it when the set is empty"
    )
