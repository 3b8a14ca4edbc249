"""The timestamp converter: epoch seconds or milliseconds, or an ISO 8601 date, in every form
a debugging session needs, with what the moment means as a JWT's ``exp``, ``iat`` or ``nbf``."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..timefmt import duration, iso

#: Above this many "seconds", a number is taken to be milliseconds (this many seconds is in 5138).
_MILLISECONDS_FROM = 100_000_000_000
_MICROSECONDS_FROM = 100_000_000_000_000


def relative(when: float, now: float) -> str:
    """``"in 5 min"``, ``"3 h 2 min ago"`` or ``"now"``."""
    delta = when - now
    if abs(delta) < 1:
        return "now"
    return f"in {duration(delta)}" if delta > 0 else f"{duration(delta)} ago"


def local_iso(seconds: float) -> str:
    """The moment in this machine's time zone, ISO 8601 with its UTC offset."""
    return datetime.fromtimestamp(seconds).astimezone().isoformat(timespec="seconds")


@dataclass
class TimestampReport:
    """A moment, read from whatever was pasted, and how to say it."""

    given: str
    seconds: float | None = None
    unit: str = ""  # how the input was read: "seconds", "milliseconds", ...
    lines: list[str] = field(default_factory=list)
    error: str = ""

    def text(self) -> str:
        if self.error:
            return f"{self.given!r}: {self.error}"
        return "\n".join(self.lines)

    def __repr__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text())


def convert(value, now: float | None = None) -> TimestampReport:
    """Read ``value`` (epoch seconds or milliseconds, as a number or text, or an ISO 8601 date)
    and describe the moment: UTC, local time, relative to ``now``, and as a JWT time claim."""
    now = time.time() if now is None else now
    given = str(value).strip()
    report = TimestampReport(given=given)
    if isinstance(value, bool) or given == "":
        report.error = "not a time: give epoch seconds (1700000000), milliseconds, or an ISO date"
        return report
    try:
        number = float(given)
    except ValueError:
        number = None
    if number is not None:
        if number != number or number in (float("inf"), float("-inf")):
            report.error = "not a finite number"
            return report
        if abs(number) >= _MICROSECONDS_FROM:
            report.seconds, report.unit = (
                number / 1_000_000,
                "microseconds (16 or more digits, read as such)",
            )
        elif abs(number) >= _MILLISECONDS_FROM:
            report.seconds, report.unit = (
                number / 1000,
                "milliseconds (12 to 15 digits, read as such: JavaScript's Date.now() has 13)",
            )
        else:
            report.seconds, report.unit = number, "seconds since 1970-01-01 UTC (a JWT NumericDate)"
    else:
        try:
            parsed = datetime.fromisoformat(given.replace("Z", "+00:00"))
        except ValueError:
            parsed = _http_date(given)
            if parsed is None:
                report.error = (
                    "neither a number, an ISO 8601 date such as 2026-11-27T21:33:05Z, nor an HTTP "
                    "date such as Wed, 21 Oct 2015 07:28:00 GMT (a cookie's Expires)"
                )
                return report
        naive = parsed.tzinfo is None
        if naive:
            parsed = parsed.replace(tzinfo=timezone.utc)
        report.seconds = parsed.timestamp()
        report.unit = "an ISO 8601 date" + (" without a time zone, read as UTC" if naive else "")
    try:
        utc, local = iso(report.seconds), local_iso(report.seconds)
    except (OverflowError, OSError, ValueError):
        report.error = "a number of seconds outside any calendar (before year 1 or after 9999)"
        return report
    seconds = report.seconds
    whole = int(seconds)
    past, when = seconds <= now, relative(seconds, now)
    report.lines = [
        f"read as:      {report.unit}",
        f"epoch:        {whole}" + (f" (exactly {seconds})" if seconds != whole else ""),
        f"UTC:          {utc}",
        f"local:        {local}",
        f"relative:     {relative(seconds, now)}",
        f"as exp:       {'expired ' if past else 'expires '}{when}",
        f"as iat:       issued {when}"
        + ("" if past else ", in the future: one of the clocks is wrong"),
        f"as nbf:       {'valid since ' if past else 'not valid yet: becomes valid '}{when}",
    ]
    return report


def _http_date(text: str):
    """An HTTP date (RFC 9110, as in a cookie's Expires), or None."""
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
