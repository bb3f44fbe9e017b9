"""A DuckDB cache file held as briefly as possible: open (waiting for it), schema, transactions, idle.

DuckDB lets one process hold a database file at a time (one writer, or any number of read-only readers).
So that `evonas cache stats|query` and `evonas report` work while a run writes, the writer holds the file
only while it works with it: it calls `idle()` before anything long (a training, the wait for a worker)
and the next statement opens the file again (about 40 ms on the measured machine, against seconds per
training). A reader or writer that finds the file held waits for it (polling, up to `lock_timeout`
seconds) instead of failing at once. Transactions keep the file open to their end.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from cache.connection import connect_waiting, explain, resolve_lock_timeout
from cache.errors import CacheError
from cache.schema import prepare

READER_WINDOW = 0.02  # a writer that let go of the file takes it back no sooner than this (seconds)


class Database:
    """One cache file: its connection (opened again after `idle()`), schema check and transactions."""

    def __init__(
        self, path: str | os.PathLike, read_only: bool = False, lock_timeout: float | None = None
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.lock_timeout = resolve_lock_timeout(lock_timeout, read_only)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._depth = 0
        self._checked = False
        self._idle_since: float | None = None
        self._opened_at = 0.0
        if read_only and not self.path.exists():
            raise CacheError(f"cache {self.path} does not exist")
        if self.path.exists() and self.path.is_dir():
            raise CacheError(f"cache {self.path} is a directory, not a DuckDB file")
        self.con  # open now: a bad file is reported here, not at the first query  # noqa: B018

    # --- lifecycle ---
    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The open connection (opened again, waiting for the file if need be, after `idle()`)."""
        if self._con is None:
            self._con = self._connect()
            self._opened_at = time.monotonic()
        return self._con

    def _connect(self) -> duckdb.DuckDBPyConnection:
        if self._idle_since is not None:  # leave waiting readers a window before taking the file back
            time.sleep(max(0.0, self._idle_since + READER_WINDOW - time.monotonic()))
            self._idle_since = None
        con = connect_waiting(self.path, self.read_only, self.lock_timeout)
        if not self._checked:
            try:
                prepare(con, self.path, self.read_only)
            except duckdb.Error as exc:
                con.close()
                raise explain(exc, self.path) from exc
            except BaseException:
                con.close()
                raise
            self._checked = True
        return con

    def idle(self, min_interval: float = 0.0) -> None:
        """Let other processes at the file until the next statement (no-op inside a transaction).

        With `min_interval`, only if the file has been held that long: a fast loop of writes then lets go
        of it about once per interval instead of paying a reopen per write.
        """
        if self._depth or self._con is None:
            return
        if min_interval and time.monotonic() - self._opened_at < min_interval:
            return
        self._con.close()
        self._con = None
        if not self.read_only:
            self._idle_since = time.monotonic()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # --- statements ---
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all (nested uses join the outer transaction)."""
        self.writable()
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        con = self.con
        con.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            con.execute("ROLLBACK")
            raise
        self._depth = 0
        con.execute("COMMIT")

    def writable(self) -> None:
        """Raise CacheError unless the file was opened for writing."""
        if self.read_only:
            raise CacheError(f"cache {self.path} was opened read-only")

    _writable = writable  # the name callers inside cache/ used before the split

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run raw SQL (for `evonas cache query --sql` and reports)."""
        try:
            return self.con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise CacheError(f"query failed: {str(exc).splitlines()[0]}") from exc

    def execute_untrusted(self, sql: str) -> duckdb.DuckDBPyConnection:
        """Run user SQL (`evonas cache query --sql`) on a read-only cache with no file or network access.

        `enable_external_access = false` refuses COPY ... TO, read_csv/read_parquet/glob, ATTACH, INSTALL
        and EXPORT DATABASE; `lock_configuration` keeps the SQL from setting anything back. Both hold for
        the rest of this connection's life, so call it last, on a cache opened for the query.
        """
        if not self.read_only:
            raise CacheError(f"cache {self.path}: untrusted SQL runs only on a cache opened read-only")
        con = self.con
        try:
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            return con.execute(sql)
        except duckdb.Error as exc:
            raise CacheError(f"query failed: {str(exc).splitlines()[0]}") from exc
