"""Exercise 16 · A verifier's copy of the issuer's keys: fresh, and hard to abuse (solution)."""


class KeyCache:
    def __init__(self, fetch, clock, *, min_interval=30, max_age=300):
        self.fetch = fetch
        self.clock = clock
        self.min_interval = min_interval
        self.max_age = max_age
        self.keys = {}
        self.last_fetch = None

    def get(self, kid):
        """The key named ``kid``, or None when the issuer does not publish it."""
        now = self.clock.now()
        stale = self.last_fetch is None or now - self.last_fetch >= self.max_age
        if kid in self.keys and not stale:
            return self.keys[kid]
        may_fetch = stale or now - self.last_fetch >= self.min_interval
        if may_fetch:
            self.last_fetch = now
            try:
                self.keys = dict(self.fetch())
            except OSError:
                pass  # the issuer is unreachable: keep what we had
        return self.keys.get(kid)
