"""Exercise 16 · A verifier's copy of the issuer's keys: fresh, and hard to abuse.

An API that verifies tokens at the edge keeps a copy of its issuer's public keys (the JWKS,
chapter 10). Write the cache that decides when to fetch them:

* the first ``get`` fetches;
* a known kid is answered from the copy, without fetching;
* an unknown kid fetches again (the issuer may have a new key), but at most once per
  ``min_interval`` seconds: anyone can send tokens with made-up kids, and each must not cost
  the issuer a request;
* a copy older than ``max_age`` seconds is fetched again on the next ``get``, even for a known
  kid (so retired keys disappear and keys published ahead arrive);
* a failed fetch (``fetch()`` raises ``OSError``) keeps the keys already known.

``fetch()`` returns a dict ``{kid: key}``; ``clock.now()`` gives the time in seconds (the lab
clock; the tests freeze and advance it). Count every call of ``fetch`` as a fetch, failed or not.

Check your work in the notebook with ``check("ex16")``, or from a terminal with
``.venv/bin/python -m pytest tests/exercises/test_ex16_key_cache.py --impl exercises``.
"""


class KeyCache:
    def __init__(self, fetch, clock, *, min_interval=30, max_age=300):
        self.fetch = fetch
        self.clock = clock
        self.min_interval = min_interval
        self.max_age = max_age

    def get(self, kid):
        """The key named ``kid``, or None when the issuer does not publish it (as far as the
        rules above let this cache find out)."""
        raise NotImplementedError(
            "keep the keys and the time of the last fetch; fetch when there is no copy, when the "
            "copy is "
            "older than max_age, or when kid is unknown and the last fetch is min_interval or "
            "more ago"
        )
