"""Kids whose injected SQL held the key table (and a server thread) for as
long as the attacker liked, in a few VM steps each of which is one slow function call."""

from __future__ import annotations

import sqlite3

import pytest

from labserver.key_table import KeyTable

#: 64,000 characters, all 'a' (within the table's 64 KiB value limit).
TEXT = "replace(hex(zeroblob(32000)),'0','a')"


def _rows(expression: str, rows: int) -> str:
    """A kid that evaluates ``expression`` (of the row number n) once for each of ``rows``."""
    return (
        f"x' UNION SELECT count({expression}) FROM (WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL "
        f"SELECT n + 1 FROM r WHERE n < {rows}) SELECT n FROM r) --"
    )


@pytest.mark.parametrize(
    "kid",
    [
        # each LIKE compares a 100-character pattern at 64,000 places: 400 of them took 2.3 s
        _rows(
            f"nullif(substr({TEXT}, n) LIKE '%'||replace(hex(zeroblob(50)),'0','a')||'b', 0)", 400
        ),
        # each printf counts to a billion before it gives up: 4 of them took 6 s
        _rows("printf('%.*c', 1000000000, n)", 4),
    ],
    ids=["many-likes", "many-printfs"],
)
def test_a_query_of_few_slow_steps_is_interrupted(kid):
    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        KeyTable.random().vulnerable_lookup(kid)


def test_a_long_like_pattern_is_refused():
    """A LIKE of a 20,000-character pattern over 64,000 characters takes a second by itself."""
    kid = f"x' UNION SELECT {TEXT} LIKE '%'||substr({TEXT}, 1, 20000)||'b' --"
    with pytest.raises(sqlite3.OperationalError, match="too complex"):
        KeyTable.random().vulnerable_lookup(kid)
