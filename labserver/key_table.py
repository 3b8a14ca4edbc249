"""Chapter 9: HMAC secrets in an SQLite key table, found two ways: by pasting the ``kid`` into
the SQL text (the mistake), and by a parameterised query over the kids the server owns.

WebGoat's final JWT challenge: the server finds the secret a token names with ::

    SELECT secret FROM keys WHERE kid = '<the kid from the token's header>'

so whoever writes the token writes the end of the query. With
``kid = x' UNION SELECT 'known-secret' --`` the query returns ``known-secret``, a secret the
attacker chose, and a token HMAC-signed with it verifies.

The table is an in-memory SQLite database (the standard library's :mod:`sqlite3`), one per app,
switched to read-only (``PRAGMA query_only``) once filled: an injected query can read, never
write. Each query also runs under a step budget and a length limit, so that an injected runaway
(a recursive CTE, a gigabyte ``randomblob``) ends in an SQL error instead of holding a thread.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

#: Longest string or blob a query may make (bytes), and longest SQL text (characters).
MAX_VALUE, MAX_SQL = 64 * 1024, 4096
#: A query is stopped after MAX_STEPS progress-handler calls, one every PROGRESS_EVERY SQLite VM
#: steps, or once it has run MAX_SECONDS: one step may be one slow function call (a LIKE over 64
#: KiB, a printf that counts to a billion), so a few steps a row can run for minutes.
PROGRESS_EVERY, MAX_STEPS, MAX_SECONDS = 10, 200_000, 0.5
#: Longest LIKE or GLOB pattern (SQLite's default, 50,000, makes one LIKE take a second).
MAX_PATTERN = 256


class KeyTable:
    """The key table ``keys (kid TEXT PRIMARY KEY, secret BLOB)``, read-only once created."""

    def __init__(self, keys: dict[str, bytes]) -> None:
        self.kids = frozenset(keys)
        self._lock = threading.Lock()  # one connection, shared by the server's threads
        self._steps, self._deadline = 0, 0.0
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute("CREATE TABLE keys (kid TEXT PRIMARY KEY, secret BLOB NOT NULL)")
        db.executemany("INSERT INTO keys VALUES (?, ?)", keys.items())
        db.commit()
        db.execute("PRAGMA query_only = ON")
        db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE)
        db.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL)
        db.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        db.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_PATTERN)
        db.set_progress_handler(self._over_budget, PROGRESS_EVERY)
        self._db = db

    @classmethod
    def random(cls, kid: str = "kid-sql-1") -> KeyTable:
        """A table holding one key: ``kid`` with 32 random bytes (RFC 7518 section 3.2)."""
        return cls({kid: secrets.token_bytes(32)})

    def _over_budget(self) -> bool:
        self._steps += 1
        # True stops the query: OperationalError "interrupted"
        return self._steps > MAX_STEPS or time.monotonic() > self._deadline

    def _first(self, sql: str, parameters: tuple = ()) -> Any:
        with self._lock:
            self._steps, self._deadline = 0, time.monotonic() + MAX_SECONDS
            row = self._db.execute(sql, parameters).fetchone()
        return None if row is None else row[0]

    @staticmethod
    def concatenated_sql(kid: str) -> str:
        """The query :meth:`vulnerable_lookup` runs for ``kid``: the kid pasted into the text."""
        return "SELECT secret FROM keys WHERE kid = '" + kid + "'"

    def vulnerable_lookup(self, kid: str) -> Any:
        """THE MISTAKE: the first column of the first row of :meth:`concatenated_sql`, whatever
        it is (None if no row). Raises ``sqlite3.Error`` (or ``ValueError`` for text SQLite
        cannot take) when the kid breaks the SQL."""
        return self._first(self.concatenated_sql(kid))

    def hardened_lookup(self, kid: Any) -> bytes | None:
        """The secret of ``kid`` if it is one of this server's own kids (the key ring is
        consulted first: no query runs for any other value), found by a parameterised query;
        else None. Never raises for a kid."""
        if not isinstance(kid, str) or kid not in self.kids:
            return None
        return self._first("SELECT secret FROM keys WHERE kid = ?", (kid,))

    def side_by_side(self, kid: str) -> Lookups:
        """What each lookup makes of ``kid``, described without revealing a secret."""
        try:
            found = self.vulnerable_lookup(kid)
            vulnerable = self._described(found)
        except (sqlite3.Error, ValueError) as exc:
            vulnerable = f"SQL error: {type(exc).__name__}: {exc}"
        # The parameterised query alone, even for a kid the key ring would stop first: the whole
        # kid is one value to compare, never SQL.
        try:
            found = self._first("SELECT secret FROM keys WHERE kid = ?", (kid,))
            hardened = self._described(found)
        except (sqlite3.Error, ValueError) as exc:  # e.g. a lone surrogate, which SQLite refuses
            hardened = f"refused before the query: {type(exc).__name__}: {exc}"
        if kid not in self.kids:
            hardened += "; and the key ring has no such kid, so the lab never even asks"
        return Lookups(kid, self.concatenated_sql(kid), vulnerable, hardened)

    def _described(self, value: Any) -> str:
        if value is None:
            return "None: no such row"
        with self._lock:
            self._steps, self._deadline = 0, time.monotonic() + MAX_SECONDS
            owner = self._db.execute("SELECT kid FROM keys WHERE secret = ?", (value,)).fetchone()
        if owner:
            return f"the secret of {owner[0]!r} ({len(value)} random bytes)"
        return f"{value!r:.60} (a {type(value).__name__} the query made up)"


@dataclass(frozen=True)
class Lookups:
    """One kid, the SQL the vulnerable lookup builds from it, and what each lookup returned."""

    kid: str
    sql: str
    vulnerable: str
    hardened: str

    def __str__(self) -> str:
        return (
            f"kid {self.kid!r}\n"
            f"    concatenated:  {self.sql}\n"
            f"                   -> {self.vulnerable}\n"
            f"    parameterised: SELECT secret FROM keys WHERE kid = ?  (the kid is one value)\n"
            f"                   -> {self.hardened}"
        )
