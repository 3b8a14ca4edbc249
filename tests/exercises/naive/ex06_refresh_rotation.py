"""A check-then-set rotation: exercise 06's suite must catch its race.

Not an exercise: tests/test_exercise_harness.py runs the ex06 suite against this file.
"""

from solutions.ex06_refresh_rotation import RefreshRejected, family_key, issue, token_key  # noqa: F401


def rotate(store, token):
    record = store.hgetall(token_key(token))
    if not record:
        raise RefreshRejected("unknown refresh token")
    if store.hget(family_key(record["family"]), "revoked") == "1":
        raise RefreshRejected("the family is revoked")
    if record["used"] == "1":
        store.hset(family_key(record["family"]), "revoked", 1)
        raise RefreshRejected("reuse detected: the family is revoked")
    store.hset(token_key(token), "used", 1)  # read, then write: two callers can both get here
    return issue(store, record["user"], record["family"])
