"""One weekly run per pilot and week at a time.

PostgreSQL: a session advisory lock (released by the server when the holder dies). SQLite and
others: an operating-system lock (`filelock`: `flock` on Unix) on a lock file beside the
warehouse, released by the kernel when the holding process dies. Either way a killed run never
leaves a stale lock behind.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import text
from sqlalchemy.engine import make_url

from pipelines.warehouse.engine import make_engine


class RunInProgress(RuntimeError):
    """Another run of the same pilot and week holds the lock."""


def _lock_key(pilot: str, week: str) -> int:
    digest = hashlib.sha256(f"pilot-readiness|{pilot}|{week}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _lock_folder(db_url: str) -> Path:
    parsed = make_url(db_url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database).resolve().parent / "locks"
    return Path(tempfile.gettempdir()) / "pilot-readiness-locks"


@contextmanager
def week_lock(db_url: str, pilot: str, week: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the pilot-and-week lock; wait up to `wait_seconds`, then raise RunInProgress."""
    deadline = time.monotonic() + wait_seconds
    busy = RunInProgress(
        f"another run of {pilot} {week} is in progress (waited {wait_seconds:g} s); "
        "it was left alone: re-run this week when it has finished"
    )
    engine = make_engine(db_url)
    if engine.dialect.name == "postgresql":
        key = _lock_key(pilot, week)
        with engine.connect() as conn:
            while not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                if time.monotonic() >= deadline:
                    raise busy
                time.sleep(0.2)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    name = hashlib.sha256(f"{db_url}|{pilot}|{week}".encode()).hexdigest()[:16]
    # The lock file stays on release, and a file system without OS locks is an error rather
    # than a lock file that a killed run would leave behind.
    lock = FileLock(
        _lock_folder(db_url) / f"{pilot}-{week}-{name}.lock",
        preserve_lock_file=True,
        poll_interval=0.2,
    )
    try:
        lock.acquire(timeout=max(deadline - time.monotonic(), 0.0))
    except Timeout:
        raise busy from None
    try:
        yield
    finally:
        lock.release()
