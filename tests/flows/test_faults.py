"""Faults around a weekly run: warehouse down or locked, a full disk, Prefect's API down, and an
SMTP server that refuses. Each fails cleanly, says why, writes nothing half, and a re-run works."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PILOT, ROOT, run_process


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory):
    from pipelines.demo.canonical import generate_inbox

    return generate_inbox(tmp_path_factory.mktemp("fault-exports"), weeks=2, seed=13)


def deliver(exports, inbox: Path, week: str) -> None:
    for path in exports.files_by_week[week]:
        target = inbox / path.relative_to(exports.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_process(
        [sys.executable, "-m", "flows.cli", *args], env={**os.environ, **env}, cwd=ROOT, timeout=300
    )


def test_prefect_api_down_at_start_says_how_to_fix_it(tmp_path):
    """It exits 1 before any work with how to start Prefect or fall back to a local server."""
    (tmp_path / "inbox").mkdir()
    result = cli(
        "run", "--pilot", str(EXAMPLE_PILOT), "--inbox", str(tmp_path / "inbox"),
        PREFECT_API_URL="http://127.0.0.1:9/api",
    )  # fmt: skip
    assert result.returncode == 1
    assert "Prefect API at http://127.0.0.1:9/api is not reachable" in result.stderr
    assert "prefect server start" in result.stderr and "unset PREFECT_API_URL" in result.stderr


@pytest.mark.usefixtures("prefect_server")
def test_unreachable_warehouse_exits_1_without_showing_its_password(exports, tmp_path):
    """It exits 1 naming the warehouse with its password masked."""
    from prefect.settings import PREFECT_API_URL

    deliver(exports, tmp_path / "inbox", exports.weeks[0])
    result = cli(
        "run", "--pilot", str(EXAMPLE_PILOT), "--inbox", str(tmp_path / "inbox"),
        "--week", exports.weeks[0], "--out", str(tmp_path / "out"),
        "--db", "postgresql+psycopg://pilot:Secr3t-db-pw@127.0.0.1:9/warehouse",
        PREFECT_API_URL=PREFECT_API_URL.value(),
        PILOT_LOG_FILE=str(tmp_path / "log" / "pilot-readiness.log"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "cannot open the warehouse postgresql+psycopg://pilot:***@127.0.0.1:9/warehouse" in (
        result.stderr
    )
    assert "Secr3t-db-pw" not in result.stdout + result.stderr
    assert f"--week {exports.weeks[0]}" in result.stderr  # the re-run command
    # An expected fault: its cause and fix on the console, its traceback in the log file only.
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    log = Path(tmp_path / "log" / "pilot-readiness.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "Secr3t-db-pw" not in log


@pytest.mark.usefixtures("prefect_server")
def test_locked_warehouse_fails_cleanly_and_a_rerun_completes(exports, tmp_path, monkeypatch):
    """It fails with a clear lock error, writes nothing of the week, and completes once free."""
    from flows.weekly_readiness import weekly_readiness
    from pipelines.warehouse.engine import WarehouseError, dispose_engines
    from pipelines.warehouse.reads import table_counts

    monkeypatch.setenv("PILOT_DB_BUSY_TIMEOUT_SECONDS", "1")
    db_path = tmp_path / "locked.db"
    db_url = f"sqlite:///{db_path}"
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    first, second = exports.weeks
    deliver(exports, inbox, first)
    weekly_readiness(pilot=EXAMPLE_PILOT, inbox=inbox, week=first, out_dir=out, db_url=db_url)
    before = table_counts(db_url)

    deliver(exports, inbox, second)
    holder = sqlite3.connect(db_path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(WarehouseError, match="database is locked"):
            weekly_readiness(
                pilot=EXAMPLE_PILOT, inbox=inbox, week=second, out_dir=out, db_url=db_url
            )
    finally:
        holder.rollback()
        holder.close()
    assert table_counts(db_url) == before
    assert not (out / "support-reply-drafts" / second / "readiness.json").exists()

    result = weekly_readiness(
        pilot=EXAMPLE_PILOT, inbox=inbox, week=second, out_dir=out, db_url=db_url
    )
    assert result.report_json.is_file()
    dispose_engines()


@pytest.mark.usefixtures("prefect_server")
def test_full_disk_while_writing_the_report_fails_cleanly_and_rerun_completes(
    exports, tmp_path, sqlite_url, monkeypatch
):
    """It records the failed report stage, leaves no half-written file, and a re-run completes."""
    from sqlalchemy import select

    import reports.render
    from flows.weekly_readiness import weekly_readiness
    from models.warehouse import Run
    from pipelines.warehouse.engine import transaction

    real_write = reports.render.write_atomic

    def full_disk(path: Path, data: str | bytes) -> None:
        if path.name == "readiness.html":
            with path.with_name(f".{path.name}.tmp").open("wb") as handle:
                handle.write(b"<html><head>")  # the disk fills part-way through
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError:
                path.with_name(f".{path.name}.tmp").unlink()
                raise
        real_write(path, data)

    week = exports.weeks[0]
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    deliver(exports, inbox, week)
    monkeypatch.setattr(reports.render, "write_atomic", full_disk)
    with pytest.raises(OSError, match="No space left"):
        weekly_readiness(
            pilot=EXAMPLE_PILOT, inbox=inbox, week=week, out_dir=out, db_url=sqlite_url
        )
    folder = out / "support-reply-drafts" / week
    assert not (folder / "readiness.html").exists() and not (folder / "readiness.json").exists()
    assert not list(folder.glob(".*.tmp"))
    with transaction(sqlite_url) as conn:
        runs = conn.execute(select(Run.__table__)).mappings().all()
    assert [(r["status"], r["stage"]) for r in runs] == [("failed", "report")]

    monkeypatch.setattr(reports.render, "write_atomic", real_write)
    result = weekly_readiness(
        pilot=EXAMPLE_PILOT, inbox=inbox, week=week, out_dir=out, db_url=sqlite_url
    )
    assert json.loads(result.report_json.read_text())["week"] == week


def test_write_atomic_removes_its_temp_file_when_writing_fails(tmp_path):
    """It leaves neither the target nor a temp file when the data cannot be written."""
    from reports.render import write_atomic

    class Unwritable:
        pass

    with pytest.raises(TypeError):
        write_atomic(tmp_path / "readiness.json", Unwritable())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_smtp_server_refusing_the_message_is_a_delivery_error(example_model):
    """It turns a 554 refusal into a delivery error with the server's words."""
    import socket

    from aiosmtpd.controller import Controller

    from models.settings import Settings
    from reports.email import EmailDeliveryError, failure_alert, send

    class Refuse:
        async def handle_DATA(self, server, session, envelope):
            return "554 5.7.1 Message rejected by policy"

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Refuse(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with pytest.raises(EmailDeliveryError, match="rejected by policy"):
            send(
                failure_alert(example_model, "2026-W47", "facts", "x", "cmd"),
                Settings(smtp_host="127.0.0.1", smtp_port=port),
            )
    finally:
        controller.stop()


def test_links_out_of_the_inbox_are_refused_unread(tmp_path, example_model, sqlite_url):
    """It refuses a symlink that points outside the inbox without reading it."""
    from flows.ingest import ingest_inbox
    from models.results import Week

    secret = tmp_path / "secret.csv"
    secret.write_text("request_id,timestamp,model,input_tokens,output_tokens,status\n")
    (tmp_path / "inbox" / "usage").mkdir(parents=True)
    (tmp_path / "inbox" / "usage" / "leak.csv").symlink_to(secret)
    week = Week.parse("2026-W47", example_model.timezone)
    files = ingest_inbox(sqlite_url, example_model, tmp_path / "inbox", week)
    assert [(f.path, f.status, f.reason) for f in files] == [
        ("usage/leak.csv", "refused", "links to a file outside the inbox; not read")
    ]


@pytest.mark.usefixtures("prefect_server")
def test_a_warehouse_password_in_db_reaches_no_prefect_parameter_log_artifact_or_row(
    exports, tmp_path, postgres_url
):
    """It runs a week with `--db` holding a password on the real PostgreSQL warehouse, and the
    password is in no flow-run parameter, log line, artifact or row of Prefect's database."""
    import asyncio

    from prefect import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_DATABASE_CONNECTION_URL
    from sqlalchemy.engine import make_url

    password = "Db-pass-7f3kq9-not-in-prefect"
    url = make_url(postgres_url).set(username="postgres", password=password)
    deliver(exports, tmp_path / "inbox", exports.weeks[0])
    result = cli(
        "run", "--pilot", str(EXAMPLE_PILOT), "--inbox", str(tmp_path / "inbox"),
        "--week", exports.weeks[0], "--out", str(tmp_path / "out"), "--no-email",
        "--db", url.render_as_string(hide_password=False),
        PREFECT_API_URL=PREFECT_API_URL.value(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert password not in result.stdout + result.stderr

    async def read_back():
        async with get_client() as client:
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    name=FlowRunFilterName(any_=[f"support-reply-drafts-{exports.weeks[0]}"])
                )
            )
            newest = max(runs, key=lambda r: r.created)
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[newest.id])), limit=200
            )
            artifacts = await client.read_artifacts()
            return newest, logs, artifacts

    run, logs, artifacts = asyncio.run(read_back())
    public = url._replace(password=None).render_as_string(hide_password=False)
    assert run.parameters["db_url"] == public
    assert logs and password not in " ".join(log.message for log in logs)
    assert password not in " ".join(str(a.data) + str(a.description) for a in artifacts)
    database = Path(make_url(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).database)
    stored = [p for p in database.parent.glob(database.name + "*") if p.is_file()]
    assert stored and not any(password.encode() in p.read_bytes() for p in stored)


def _stopped(pid: int) -> bool:
    """Whether a process has ended (gone, or a zombie nobody has reaped yet)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "\nState:\tZ" in status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_the_temporary_prefect_server_stops_when_the_process_that_started_it_is_killed(tmp_path):
    """It starts Prefect's temporary server as a child that stops within seconds of its parent
    being killed outright (SIGKILL), instead of staying orphaned and listening."""
    import signal
    import time

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    script = (
        "import time\n"
        "from flows.prefect_server import start_temporary_server\n"
        "print(start_temporary_server(), flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )
    try:
        api = parent.stdout.readline().strip()
        assert api.startswith("http://127.0.0.1:"), api
        assert httpx.get(f"{api}/health", timeout=5).status_code == 200
        children = [
            int(pid)
            for pid in Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
        ]
        assert children
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all(_stopped(pid) for pid in children):
        time.sleep(0.2)
    assert all(_stopped(pid) for pid in children)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{api}/health", timeout=2)
