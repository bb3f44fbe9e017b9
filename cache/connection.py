"""Opening a DuckDB cache file that another process may hold: wait for it, or explain in one line.

DuckDB lets one process hold a database file at a time (one writer, or any number of read-only readers);
a second process gets an IO error about a conflicting lock. Here it polls instead (every 5-10 ms) until
`timeout` seconds have passed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb

from cache.errors import CacheError

READER_LOCK_TIMEOUT = 60.0
WRITER_LOCK_TIMEOUT = 600.0
POLL_MAX = 0.01  # a waiting process tries the file at least this often (seconds)


def resolve_lock_timeout(explicit: float | None, read_only: bool) -> float:
    """Seconds to wait for a file another process holds: --, else $EVONAS_LOCK_TIMEOUT, else 60 (readers)
    or 600 (the writer: a run must outwait a long report rather than die in the middle)."""
    if explicit is not None:
        return max(0.0, float(explicit))
    env = os.environ.get("EVONAS_LOCK_TIMEOUT")
    if env:
        try:
            return max(0.0, float(env))
        except ValueError:
            raise CacheError(f"EVONAS_LOCK_TIMEOUT={env[:40]!r} is not a number of seconds") from None
    return READER_LOCK_TIMEOUT if read_only else WRITER_LOCK_TIMEOUT


def _is_lock_error(exc: duckdb.Error) -> bool:
    text = str(exc).lower()
    return "lock" in text and ("conflicting" in text or "could not set" in text)


def explain(exc: duckdb.Error, path: Path) -> CacheError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    lowered = text.lower()
    if "lock" in lowered:
        return CacheError(f"cache {path} is locked by another process (a run in progress?): {text}")
    if "not a valid duckdb" in lowered or "corrupt" in lowered or "magic" in lowered or "serializ" in lowered:
        return CacheError(
            f"cache {path} is not a readable DuckDB database (corrupt or another format): {text}"
        )
    return CacheError(f"cache {path}: {text}")


def connect_waiting(path: Path, read_only: bool, timeout: float) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, polling while another process holds the file, for up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not _is_lock_error(exc):
                raise explain(exc, path) from exc
            if time.monotonic() + delay > deadline:
                raise CacheError(
                    f"cache {path} is held by another process (a run or a reader) and stayed so "
                    f"for {timeout:.0f} s; set EVONAS_LOCK_TIMEOUT to wait longer"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, POLL_MAX)
