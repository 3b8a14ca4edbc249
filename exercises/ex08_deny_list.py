"""Exercise 08 · A deny list whose entries expire with the tokens they deny.

To revoke one access token before its ``exp``, the API keeps a deny list and checks it on every
request. Each entry only needs to live as long as the API would still accept the token: its
remaining lifetime plus the API's leeway (an API with 30 s of leeway accepts a token until 30 s
after ``exp``). After that the token is refused anyway. So store each entry with that TTL, and
the list never holds more than the tokens still alive. ``jti`` values are unique per issuer, so
entries are keyed by both (given: ``deny_key``).

``clock`` is a LabClock; ``store`` follows its time, so a TTL runs out when lab time passes.

Check your work in the notebook with ``check("ex08")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex08_deny_list.py --impl exercises``.
"""

import math  # noqa: F401  (math.ceil rounds up)


def deny_key(issuer: str, jti: str) -> str:
    """Where the deny-list entry of one token lives (given)."""
    return f"lab:ex08:deny:{issuer}:{jti}"


def deny(store, clock, claims, leeway=0):
    """Deny the token with these (verified) claims until ``exp + leeway``.

    Store a key at ``deny_key(claims["iss"], claims["jti"])`` whose TTL is
    ``exp + leeway - clock.now()`` in whole seconds, rounded up. A token that can no longer be
    accepted (that time is already past) adds nothing. Return True if an entry was stored.
    """
    raise NotImplementedError(
        "remaining = claims['exp'] + leeway - clock.now(); store.set(key, value, ex=seconds) "
        "stores with a TTL"
    )


def is_denied(store, claims):
    """True when the token with these claims is on the deny list."""
    raise NotImplementedError("return a bool: bool(store.exists(key)) (exists gives 1 or 0)")
