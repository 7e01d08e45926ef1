"""One weekly run per pilot and week at a time.

PostgreSQL: a session advisory lock (released by the server when the holder dies). SQLite and
others: an exclusive `flock` on a lock file beside the warehouse (released by the kernel when the
holding process dies). Either way a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
    folder = _lock_folder(db_url)
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(f"{db_url}|{pilot}|{week}".encode()).hexdigest()[:16]
    with (folder / f"{pilot}-{week}-{name}.lock").open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
