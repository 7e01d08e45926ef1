"""Warehouse connections: the engine of a database URL, its schema migrations, transactions,
and the background write-ahead-log checkpoints of SQLite.

The only module that opens database connections. Works on SQLite (the embedded default) and
PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import SQLModel

from models.warehouse import MIGRATIONS_DIR
from pipelines.threads import join_or_warn
from pipelines.warehouse.usage_summary_sql import refresh_sql, refresh_task_sql

_ENGINES: dict[str, Engine] = {}
# SQLite page size of new warehouse and staging files. A large load writes every page twice
# (write-ahead log, then checkpoint), one system call per page: 64 KiB pages (SQLite's largest)
# write a large load markedly faster than the 4 KiB default.
PAGE_BYTES = 65_536
# Alembic keeps its running migration in module globals: one migration per process at a time.
_MIGRATING = threading.Lock()


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or written; the message never shows a password."""


def redacted(url: str) -> str:
    """A database URL safe to print (password masked)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split(":", 1)[0] + "://..."


def without_password(url: str) -> tuple[str, str | None]:
    """The URL without its password, and the password (None when it has none). A flow receives
    the first: Prefect stores and shows a flow's parameters."""
    try:
        parsed = make_url(url)
    except Exception:
        return url, None
    if parsed.password is None:
        return url, None
    # (`URL.set(password=None)` leaves the password as it is.)
    public = parsed._replace(password=None).render_as_string(hide_password=False)
    return public, str(parsed.password)


def with_password(url: str, password: str | None) -> str:
    """The URL with the password added, unless it has one or there is none to add."""
    if password is None:
        return url
    try:
        parsed = make_url(url)
    except Exception:
        return url
    if parsed.password is not None or parsed.username is None:
        return url
    return parsed.set(password=password).render_as_string(hide_password=False)


def reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__


def _wal_mode(cursor: Any, busy_seconds: float) -> None:
    """Switch a SQLite file to WAL. Two processes opening a new file at once may find it busy,
    and SQLite does not wait for that lock: retry until the busy timeout."""
    deadline = time.monotonic() + busy_seconds
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def stage_file_name(database: Path, pid: int) -> str:
    """The name of a staging file beside the warehouse: hidden, and carrying the process id of
    the run that writes it, so a later run can tell a killed run's leftover from a live load."""
    return f".{database.name}.stage-{pid}-{uuid.uuid4().hex[:12]}"


def remove_stale_stages(database: Path) -> list[Path]:
    """Delete the staging files a killed run left beside the warehouse (those of a process that
    no longer runs, and unnamed ones older than an hour); return them."""
    removed = []
    for path in database.parent.glob(f".{database.name}.stage-*"):
        match = re.fullmatch(rf"\.{re.escape(database.name)}\.stage-(\d+)-[0-9a-f]+", path.name)
        try:
            if match is not None:
                if _process_runs(int(match.group(1))):
                    continue
            elif time.time() - path.stat().st_mtime < 3600:
                continue  # a stage of an older version, perhaps still loading
            path.unlink()
            removed.append(path)
        except OSError:
            continue  # gone meanwhile, or not ours to remove
    if removed:
        logging.getLogger(__name__).warning(
            "removed %d staging file(s) a killed run left beside %s", len(removed), database
        )
    return removed


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def checkpoint_and_truncate(url: str) -> None:
    """After a completed run: copy SQLite's write-ahead log into the database file and empty
    it, so the `.db` file alone holds everything (a backup copying only it loses nothing).
    Best effort: a reader of another run may keep part of the log until its own end."""
    if make_url(url).get_backend_name() != "sqlite":
        return
    finish_checkpoints()
    try:
        with make_engine(url).connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    except SQLAlchemyError as exc:
        logging.getLogger(__name__).warning("WAL checkpoint failed: %s", reason(exc))


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when that file does not exist (opening it would create an
    empty warehouse); None for other databases, in-memory SQLite and files that exist."""
    try:
        parsed = make_url(url)
    except Exception:
        return None  # make_engine names the bad URL
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def make_engine(url: str) -> Engine:
    """An engine for a SQLAlchemy URL; SQLite files get WAL and their folder created.

    Raises WarehouseError (with the URL's password masked) when the database cannot be used.
    """
    if url in _ENGINES:
        return _ENGINES[url]
    try:
        parsed = make_url(url)
    except Exception:
        raise WarehouseError(f"not a database URL: {redacted(url)}") from None
    try:
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                remove_stale_stages(Path(parsed.database))
            busy_seconds = float(os.environ.get("PILOT_DB_BUSY_TIMEOUT_SECONDS", "60"))
            engine = create_engine(url, connect_args={"timeout": busy_seconds})

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                # Applies to a new file only (before its first table); a no-op on others.
                cursor.execute(f"PRAGMA page_size={PAGE_BYTES}")
                _wal_mode(cursor, busy_seconds)
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA temp_store=MEMORY")  # staging tables of bulk upserts
                cursor.close()

        else:
            # A server that does not answer fails the run within a bound instead of hanging it.
            connect_args = (
                {"connect_timeout": int(os.environ.get("PILOT_DB_CONNECT_TIMEOUT_SECONDS", "30"))}
                if parsed.get_driver_name() in ("psycopg", "psycopg2")
                and "connect_timeout" not in parsed.query
                else {}
            )
            engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        migrate(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise WarehouseError(f"cannot open the warehouse {redacted(url)}: {reason(exc)}") from None
    _ENGINES[url] = engine
    return engine


def migrate(engine: Engine) -> None:
    """Upgrade the warehouse schema to the newest migration (`alembic upgrade head`).

    A warehouse made by `create_all` before migrations existed (tables but no alembic_version)
    gets any table it lacks and is stamped at head instead. All of it runs in one transaction
    that holds a write lock (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory lock), so
    processes opening the same new warehouse at once do not race.
    Raises WarehouseError when the warehouse is at a revision this code does not know.
    """
    logging.getLogger("alembic").setLevel(logging.WARNING)  # alembic logs at INFO on import
    from alembic import command
    from alembic.config import Config
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    try:
        with _MIGRATING, engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                key = "hashtext('pilot-readiness schema ' || current_database())"
                conn.execute(text(f"SELECT pg_advisory_xact_lock({key})"))
            elif conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            config.attributes["connection"] = conn
            tables = set(inspect(conn).get_table_names())
            if "alembic_version" not in tables and tables & set(SQLModel.metadata.tables):
                SQLModel.metadata.create_all(conn)
                _resummarize_usage(conn)  # the migrations would have filled it
                command.stamp(config, "head")
            else:
                command.upgrade(config, "head")
    except CommandError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise WarehouseError(f"cannot migrate the warehouse {where}: {reason(exc)}") from None


def _resummarize_usage(conn: Connection) -> None:
    for table, sql in (("usage_summary", refresh_sql), ("usage_task_summary", refresh_task_sql)):
        conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql(sql(conn.dialect.name, "1 = 1"))


def dispose_engines() -> None:
    """Close every pooled connection (tests and CLI exit)."""
    finish_checkpoints()
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


@contextmanager
def transaction(url: str, attach: Stage | None = None) -> Iterator[Connection]:
    """One database transaction: committed when the block ends, rolled back on error.

    `attach` (SQLite) holds rows staged by `stage_rows`, readable inside as `attach.source()`.
    Database failures surface as WarehouseError naming the (password-masked) warehouse.
    """
    engine = make_engine(url)
    try:
        if attach is None:
            with engine.begin() as conn:
                yield conn
            return
        with engine.connect() as conn:
            # ATTACH cannot run inside a transaction: attach first, then begin.
            for i, path in enumerate(attach.files):
                conn.exec_driver_sql(f"ATTACH DATABASE ? AS {Stage.schema(i)}", (str(path),))
            # A large load's commit would copy the whole write-ahead log into the database
            # before returning (seconds for millions of rows): a background thread does it.
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
            conn.commit()
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.rollback()
                for i in range(len(attach.files)):
                    conn.exec_driver_sql(f"DETACH DATABASE {Stage.schema(i)}")
                conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")
                conn.commit()
            checkpoint_in_background(engine)
    except OperationalError as exc:
        raise WarehouseError(f"warehouse {redacted(url)} failed: {reason(exc)}") from None


_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default
_CHECKPOINTS: list[threading.Thread] = []


def checkpoint_in_background(engine: Engine) -> None:
    """Copy the write-ahead log into the SQLite file in a thread of its own (PASSIVE: readers and
    writers go on meanwhile). `finish_checkpoints` waits for it."""

    def run() -> None:
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except SQLAlchemyError as exc:  # the next commit's automatic checkpoint does it then
            logging.getLogger(__name__).warning("background checkpoint failed: %s", reason(exc))

    thread = threading.Thread(target=run, name="wal-checkpoint", daemon=True)
    thread.start()
    _CHECKPOINTS.append(thread)


def finish_checkpoints() -> None:
    """Wait for the background checkpoints started so far."""
    while _CHECKPOINTS:
        join_or_warn(_CHECKPOINTS.pop())


@dataclass(frozen=True)
class Stage:
    """Rows staged in scratch SQLite files beside the warehouse (`stage_rows`); a transaction
    that attaches them (`transaction(url, attach=stage)`) reads each table as `source(name)`."""

    files: tuple[Path, ...]
    tables: tuple[frozenset[str], ...]  # the tables each file holds

    @staticmethod
    def schema(index: int) -> str:
        """The name the stage's file `index` is attached under in a transaction."""
        return f"staged{index}"

    def schemas_holding(self, name: str) -> list[str]:
        """The attached schemas whose file holds (a part of) the staged table `name`."""
        return [self.schema(i) for i, held in enumerate(self.tables) if name in held]

    def source(self, name: str = "rows") -> str:
        """The staged table `name` as SQL to select from (its parts joined with UNION ALL)."""
        parts = [f'"{schema}"."{name}"' for schema in self.schemas_holding(name)]
        if len(parts) == 1:
            return parts[0]
        return "(" + " UNION ALL ".join(f"SELECT * FROM {p}" for p in parts) + ")"
