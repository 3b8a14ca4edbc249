"""Times and durations in words, the same way everywhere in the lab's answers."""

from __future__ import annotations

import math
from datetime import datetime, timezone


def iso(seconds: float) -> str:
    """Epoch seconds as ISO 8601 UTC to the second: ``2026-11-27T21:33:05Z``; a value no date
    has (NaN, infinite, before year 1 or after 9999) is said in words instead of raising."""
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return f"no date ({seconds!r} s is outside the years 1 to 9999)"


def duration(seconds: float) -> str:
    """``3725`` → ``"1 h 2 min 5 s"``; ``900`` → ``"15 min"``: short, exact to the second up to
    two days; longer spans in days (``"12 days 3 h"``) or years (``"2.3 years"``)."""
    if not math.isfinite(seconds):
        return "forever" if math.isinf(seconds) else "an undefined time (NaN)"
    seconds = int(round(abs(seconds)))
    if seconds >= 2 * 365 * 86400:
        return f"{seconds / (365.25 * 86400):.1f} years"
    if seconds >= 2 * 86400:
        days, hours = divmod(seconds, 86400)
        return f"{days} days" + (f" {hours // 3600} h" if hours >= 3600 else "")
    parts = []
    for unit, size in (("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size} {unit}")
            seconds %= size
    return " ".join(parts)
