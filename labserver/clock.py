"""The lab clock: the one source of "now" for every time decision the lab makes.

Token ``iat``/``nbf``/``exp``, session idle and absolute timeouts, deny-list lifetimes: all of
them read :meth:`LabClock.now`. A notebook calls :meth:`LabClock.advance` to show an expiry
at once instead of sleeping; tests use a frozen clock so that boundaries are exact.

Libraries that read the wall clock themselves (PyJWT's exp/nbf checks, Redis TTLs) do not see
this clock; the chapters that use them say in a comment how they bring the two together.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

from .timefmt import iso


class LabClock:
    """Wall-clock time plus an offset that only moves forward, or a frozen time.

    ``LabClock()`` ticks with the wall clock; ``LabClock(frozen_at=t)`` stands still at the
    epoch second ``t`` until advanced. Either way ``advance(seconds)`` moves it forward.
    Safe to share between the lab's server threads and the notebook.
    """

    def __init__(self, *, frozen_at: float | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at = frozen_at

    @classmethod
    def frozen(cls) -> LabClock:
        """A clock standing still at the current wall-clock second, until advanced.

        Token times are whole seconds; with a still clock, "expired 30 s ago" is exact.
        """
        return cls(frozen_at=float(int(time.time())))

    def now(self) -> float:
        """Lab time in epoch seconds (a float, like :func:`time.time`)."""
        base = time.time() if self._frozen_at is None else self._frozen_at
        return base + self._offset

    def advance(self, seconds: float) -> float:
        """Move lab time forward by ``seconds`` and return the new lab time.

        Time never runs backwards in the lab: a negative step raises ``ValueError``.
        To show a token "from the future", give it a future ``nbf`` instead.
        """
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
            raise TypeError(f"advance() takes a number of seconds, not {type(seconds).__name__}")
        if seconds < 0:
            raise ValueError("the lab clock only moves forward; advance() needs seconds >= 0")
        with self._lock:
            self._offset += seconds
        return self.now()

    def advance_to(self, when: float) -> float:
        """Move lab time forward to the epoch second ``when`` (``ValueError`` if it is past)."""
        return self.advance(when - self.now())

    @property
    def offset(self) -> float:
        """How far lab time is ahead of where it started (seconds)."""
        return self._offset

    @property
    def is_frozen(self) -> bool:
        """True when the clock stands still between calls to :meth:`advance`."""
        return self._frozen_at is not None

    def datetime(self) -> datetime:
        """Lab time as an aware UTC :class:`~datetime.datetime`."""
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def isoformat(self) -> str:
        """Lab time as ISO 8601 UTC to the second, e.g. ``2026-11-27T21:33:05Z``."""
        return iso(self.now())

    def __repr__(self) -> str:
        mode = "frozen" if self.is_frozen else "ticking"
        return f"LabClock({self.isoformat()}, {mode}, advanced {self._offset:+g} s)"
