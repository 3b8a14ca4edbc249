"""The backend-for-frontend's two decisions: which access token to send, and which browser
requests to trust.

* :func:`token_for_session`: the BFF keeps, in the browser's server-side session, a refresh
  token and the last access token it obtained; it re-uses that access token until shortly
  before it expires, then gets a new one, under a per-session lock (two parallel renewals would
  present one refresh token twice, which chapter 3's reuse detection rightly treats as theft).
  The browser never sees either token.
* :func:`csrf_problem`: ``SameSite`` keeps the cookie off requests from other *sites*, but not
  from other origins of the same site (another port of 127.0.0.1, a sibling subdomain), nor off
  top-level GET links. So every call must also carry the custom header ``X-CSRF: 1`` (a page of
  another origin cannot add it without the BFF's CORS permission, which it never gives) and,
  when the browser says where the request comes from (``Origin``, ``Sec-Fetch-Site``), that
  must be the BFF itself. This is the defence the OAuth "browser-based apps" guidance
  describes for a BFF.

Exercises 09 and 10 ask the learner to write these two; this module is the lab's own copy.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping

import redis

from .clock import LabClock
from .session_records import session_key
from .store import key

#: Re-use a cached access token only while it has more than this many seconds left.
REFRESH_MARGIN = 30
CSRF_HEADER = "X-CSRF"


def token_for_session(
    store: redis.Redis,
    clock: LabClock,
    session_id: str,
    mint: Callable[[], tuple[str, float]],
    *,
    margin: float = REFRESH_MARGIN,
) -> tuple[str, bool]:
    """The access token to send for this session, and whether it was newly obtained.

    The session record may hold ``access_token`` and ``access_exp`` from an earlier call; while
    ``access_exp - now > margin`` that token is re-used. Otherwise ``mint()`` gives a new
    ``(token, exp)``, which is saved in the record for the next calls.
    """

    def cached() -> str | None:
        token, exp = store.hmget(session_key(session_id), "access_token", "access_exp")
        return token if token and exp and float(exp) - clock.now() > margin else None

    token = cached()
    if token:
        return token, False
    with _session_lock(store, session_id):
        token = cached()  # another request may have renewed it while this one waited
        if token:
            return token, False
        token, exp = mint()
        store.hset(session_key(session_id), mapping={"access_token": token, "access_exp": exp})
        return token, True


class _session_lock:
    """A short lock on one session in the store (SET NX), released only by its holder."""

    # Seconds to wait for it; milliseconds it lasts if a holder dies. HOLD outlives the slowest
    # renewal (connect and read timeouts of 10 s each): a lock that expired under a holder still
    # waiting for the provider would let a second request send the same refresh token, and reuse
    # detection would then revoke the user's whole family.
    WAIT, HOLD = 5.0, 30_000

    def __init__(self, store: redis.Redis, session_id: str) -> None:
        self.store, self.name, self.me = store, key("bff-lock", session_id), secrets.token_hex(8)

    def __enter__(self):
        deadline = time.monotonic() + self.WAIT
        while not self.store.set(self.name, self.me, nx=True, px=self.HOLD):
            if time.monotonic() > deadline:
                raise TimeoutError("another request holds this session's token renewal")
            time.sleep(0.005)
        return self

    def __exit__(self, *exc_info) -> None:
        if self.store.get(self.name) == self.me:
            self.store.delete(self.name)


def csrf_problem(headers: Mapping[str, str], own_origin: str) -> str | None:
    """Why this browser request must not be trusted with the session, or None if it may."""
    if headers.get(CSRF_HEADER) != "1":
        return f"the {CSRF_HEADER}: 1 header is missing (this site's own script always sends it)"
    origin = headers.get(
        "Origin"
    )  # browsers leave it off same-origin GETs; when present, it must match
    if origin is not None and origin != own_origin:
        return f"the request comes from another origin ({origin[:80]})"
    if headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return f"the browser says the request is {headers['Sec-Fetch-Site'][:20]}"
    return None
