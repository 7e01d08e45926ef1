"""Failures that explain themselves (issue 19): an unreachable warehouse, a file as `--out` and
a missing inbox stop the run before ingest with one line naming the cause and the fix (the
traceback in the log file), the failure alert reaches a real SMTP server, the printed re-run
command runs as printed, and failed or crashed runs carry their pilot and week tags in Prefect."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import EXAMPLE_PILOT, ROOT, run_process

PILOT = "support-reply-drafts"


def free_port() -> int:
    """A port nothing listens on (aiosmtpd cannot start on port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@pytest.fixture
def smtp() -> Controller:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    controller.mailbox = mailbox
    yield controller
    controller.stop()


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory):
    from pipelines.demo.canonical import generate_inbox

    return generate_inbox(tmp_path_factory.mktemp("failure-exports"), weeks=2, seed=19)


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command in its own process, as a user runs it, against the session's Prefect."""
    from prefect.settings import PREFECT_API_URL

    environment = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), **env}
    return run_process(
        [sys.executable, "-m", "flows.cli", *args], env=environment, cwd=ROOT, timeout=300
    )


def smtp_env(controller: Controller, tmp_path: Path) -> dict[str, str]:
    return {
        "PILOT_SMTP_HOST": "127.0.0.1",
        "PILOT_SMTP_PORT": str(controller.port),
        "PILOT_LOG_FILE": str(tmp_path / "log" / "pilot-readiness.log"),
    }


def rerun_line(stderr: str) -> list[str]:
    """The printed re-run command as the words a shell would pass."""
    [line] = [line for line in stderr.splitlines() if line.startswith("re-run with: ")]
    return shlex.split(line.removeprefix("re-run with: "))


@pytest.mark.usefixtures("prefect_server")
def test_unreachable_postgres_says_cause_and_fix_in_one_line_and_alerts_the_owner(
    exports, tmp_path, smtp
):
    """It stops a run whose PostgreSQL warehouse refuses connections with one line naming the
    masked URL, the refusal and the fix, keeps the traceback for the log file, and emails the
    technical owner an alert for stage `warehouse` with the full re-run command."""
    port = free_port()  # nothing listens there: the server refuses the connection
    db = f"postgresql+psycopg://pilot:Pw-9xk-secret@127.0.0.1:{port}/warehouse"
    result = cli(
        "run", "--pilot", str(EXAMPLE_PILOT), "--inbox", str(exports.root),
        "--week", exports.weeks[-1], "--out", str(tmp_path / "out"), "--db", db, "--no-email",
        **smtp_env(smtp, tmp_path),
    )  # fmt: skip
    assert result.returncode == 1
    console = result.stdout + result.stderr
    assert "Traceback" not in console, console[-3000:]
    assert "Pw-9xk-secret" not in console
    masked = f"postgresql+psycopg://pilot:***@127.0.0.1:{port}/warehouse"
    [cause] = [line for line in result.stderr.splitlines() if line.startswith("run failed: ")]
    assert cause.startswith(f"run failed: cannot open the warehouse {masked}: ")
    assert "Connection refused" in cause
    assert cause.endswith(
        "fix: start the database server, or point --db (or PILOT_DB_URL) at a warehouse that "
        "answers"
    )
    words = rerun_line(result.stderr)
    assert words[words.index("--db") + 1] == masked
    assert words[words.index("--out") + 1] == str(tmp_path / "out")
    assert "--no-email" in words and words[words.index("--week") + 1] == exports.weeks[-1]
    log = (tmp_path / "log" / "pilot-readiness.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "WarehouseUnavailable" in log and "Pw-9xk-secret" not in log

    [alert] = smtp.mailbox.messages
    assert alert["Subject"] == f"[RUN FAILED] {PILOT} {exports.weeks[-1]} at stage warehouse"
    assert alert["To"] == "sam@example.com, jo@example.com"
    body = alert.get_content()
    assert "Connection refused" in body and "fix: start the database server" in body
    assert f"--db '{masked}'" in body and "Pw-9xk-secret" not in body


@pytest.mark.usefixtures("prefect_server")
@pytest.mark.parametrize("warehouse", ["sqlite", "postgresql"])
def test_a_file_as_out_stops_before_ingest_and_the_printed_rerun_command_completes(
    exports, tmp_path, smtp, warehouse, request
):
    """It refuses a file given as `--out` before reading the inbox (nothing ingested), with the
    cause and the fix on one line and an alert for stage `output`; once the file is moved away,
    the printed re-run command, run word for word, completes every week of the range with the
    same options (on PostgreSQL with the password masked and read from PILOT_DB_PASSWORD)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from pipelines.warehouse.engine import dispose_engines, transaction

    env = smtp_env(smtp, tmp_path)
    if warehouse == "sqlite":
        db = db_url = f"sqlite:///{(tmp_path / 'w.db').as_posix()}"
    else:
        db_url = request.getfixturevalue("postgres_url")
        # Local servers here trust loopback connections, so any password is accepted.
        db = make_url(db_url).set(password="Pw-4r-rerun").render_as_string(hide_password=False)
    out = tmp_path / "out"
    out.write_text("a file where the report folder should be")
    weeks = f"{exports.weeks[0]}..{exports.weeks[-1]}"
    result = cli(
        "run", "--pilot", str(EXAMPLE_PILOT), "--inbox", str(exports.root), "--weeks", weeks,
        "--out", str(out), "--db", db, "--no-email", **env,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    assert (
        f"run failed: cannot write reports to {out}: it is a file, not a folder; fix: point "
        "--out (or PILOT_OUT_DIR) at a folder this user can write, or move the file away"
    ) in result.stderr
    # Checked before ingest: no file was read; the run table holds the failure and its stage.
    with transaction(db_url) as conn:
        ingested = conn.execute(text("SELECT count(*) FROM ingested_file")).scalar()
        runs = conn.execute(text("SELECT week, status, stage FROM run")).all()
    assert ingested == 0
    assert [tuple(r) for r in runs] == [(exports.weeks[0], "failed", "output")]
    [alert] = smtp.mailbox.messages
    assert alert["Subject"] == f"[RUN FAILED] {PILOT} {exports.weeks[0]} at stage output"

    words = rerun_line(result.stderr)
    assert words[:2] == ["pilot-readiness", "run"]
    assert words[words.index("--weeks") + 1] == weeks
    assert words[words.index("--out") + 1] == str(out) and "--no-email" in words
    assert "Pw-4r-rerun" not in " ".join(words)
    out.unlink()
    again = cli(*words[1:], **env, PILOT_DB_PASSWORD="Pw-4r-rerun")
    assert again.returncode == 0, again.stderr[-3000:]
    for week in exports.weeks:
        assert (out / PILOT / week / "readiness.json").is_file()
    assert len(smtp.mailbox.messages) == 1  # --no-email kept: only the earlier alert
    dispose_engines()


def test_a_missing_inbox_names_the_fix_without_starting_anything(tmp_path, monkeypatch):
    """It exits 1 before any run with the missing inbox, the folders it must hold and the
    option to point elsewhere, creates no warehouse, and writes the failure alert (no SMTP
    host) with the re-run command beside the week's report."""
    import email.policy
    from email import message_from_bytes

    from typer.testing import CliRunner

    from flows.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PILOT_SMTP_HOST", raising=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "run", "--pilot", str(EXAMPLE_PILOT), "--inbox", "nowhere", "--week", "2026-W40",
            "--out", str(out), "--no-email",
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert (
        "inbox nowhere does not exist or is not a folder; fix: create it (with the subfolders "
        "usage/, tickets/, timesheets/, reviews/, changes/) or point --inbox at the folder the "
        "exports are delivered to"
    ) in result.stderr
    assert not (tmp_path / "var" / "warehouse.db").exists()
    raw = (out / PILOT / "2026-W40" / "failure-alert.eml").read_bytes()
    alert = message_from_bytes(raw, policy=email.policy.default)
    assert alert["Subject"] == f"[RUN FAILED] {PILOT} 2026-W40 at stage inbox"
    text = alert.get_body(("plain",)).get_content()
    assert "inbox nowhere does not exist" in text
    assert "--inbox nowhere --week 2026-W40" in text


def test_a_masked_db_password_without_pilot_db_password_says_how_to_give_it(tmp_path, monkeypatch):
    """It refuses a `--db` whose password is the mask *** when PILOT_DB_PASSWORD is unset,
    naming the variable to set."""
    from typer.testing import CliRunner

    from flows.cli import app

    monkeypatch.delenv("PILOT_DB_PASSWORD", raising=False)
    (tmp_path / "inbox").mkdir()
    result = CliRunner().invoke(
        app,
        [
            "run", "--pilot", str(EXAMPLE_PILOT), "--inbox", str(tmp_path / "inbox"),
            "--week", "2026-W40", "--db", "postgresql+psycopg://pilot:***@127.0.0.1:9/w",
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "the --db password is masked (***); fix: set PILOT_DB_PASSWORD" in result.stderr


async def _newest_run(name: str):
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
        )
    return max(runs, key=lambda r: r.created)


@pytest.mark.usefixtures("prefect_server")
def test_a_failed_run_carries_its_pilot_and_week_tags_and_alerts_for_a_missing_inbox(
    exports, tmp_path, sqlite_url
):
    """It fails a run whose inbox is missing (as a scheduled run meets it) with the fix, tags
    the failed flow run `pilot:` and `week:` as read back from Prefect, and writes the alert
    for stage `inbox` beside the report when no SMTP host is set."""
    from flows.weekly_readiness import InboxMissing, weekly_readiness

    week = exports.weeks[0]
    with pytest.raises(InboxMissing, match="fix: create it"):
        weekly_readiness(
            pilot=EXAMPLE_PILOT, inbox=tmp_path / "no-inbox", week=week,
            out_dir=tmp_path / "out", db_url=sqlite_url,
        )  # fmt: skip
    run = asyncio.run(_newest_run(f"{PILOT}-{week}"))
    assert run.state.type.value == "FAILED"
    assert {f"pilot:{PILOT}", f"week:{week}"} <= set(run.tags)
    alert = (tmp_path / "out" / PILOT / week / "failure-alert.eml").read_bytes()
    message = message_from_bytes(alert, policy=default)
    assert message["Subject"] == f"[RUN FAILED] {PILOT} {week} at stage inbox"


@pytest.mark.usefixtures("prefect_server")
def test_a_run_crashed_by_sigterm_carries_its_pilot_and_week_tags(tmp_path):
    """It leaves a run stopped by SIGTERM during ingest as a finished (crashed, not running)
    flow run that still carries its `pilot:` and `week:` tags in Prefect."""
    from prefect.settings import PREFECT_API_URL

    from pipelines.demo.canonical import generate_inbox

    exports = generate_inbox(tmp_path / "exports", weeks=1, seed=23, usage_rows_per_week=40_000)
    week = exports.weeks[-1]
    db_path = tmp_path / "w.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", "--pilot", str(EXAMPLE_PILOT),
         "--inbox", str(exports.root), "--week", week, "--out", str(tmp_path / "out"),
         "--db", f"sqlite:///{db_path}", "--no-email"],
        cwd=ROOT,
        env={**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        reached = False
        while not reached and time.monotonic() < deadline and process.poll() is None:
            try:
                with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0.2) as conn:
                    row = conn.execute("SELECT stage FROM run").fetchone()
                reached = row is not None and row[0] == "ingest"
            except sqlite3.Error:
                pass
            time.sleep(0.05)
        assert reached, "the run ended before ingest"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode != 0
    run = asyncio.run(_newest_run(f"{PILOT}-{week}"))
    # Prefect records the run as crashed, or as failed when the signal lands while its engine
    # is starting a task ("Task run is not set"); never as still running.
    assert run.state.type.value in {"CRASHED", "FAILED"}, run.state
    assert {f"pilot:{PILOT}", f"week:{week}"} <= set(run.tags)


def test_the_rerun_command_parses_back_to_every_option_of_the_failed_run():
    """It prints a command that the `run` command parses back to the same pilot, inbox, week
    range, report folder, masked warehouse URL and every flag."""
    import typer.main

    from flows.cli import app
    from reports.rerun import rerun_command

    command = rerun_command(
        Path("pilots/a b.yaml"),
        "s3://bucket/inbox",
        "2026-W40",
        weeks="2026-W40..2026-W42",
        out_dir=Path("reports folder"),
        db_url="postgresql+psycopg://pilot:S3cret@db.example.com:5432/warehouse",
        send_email=False,
        resend=True,
        allow_partial_week=True,
        verbose=True,
    )
    words = shlex.split(command)
    assert words[:2] == ["pilot-readiness", "run"] and "S3cret" not in command
    group = typer.main.get_command(app)
    run = group.get_command(group.make_context("pilot-readiness", ["run", "--help"]), "run")
    params = run.make_context("run", words[2:]).params
    assert params == {
        "pilot": Path("pilots/a b.yaml"),
        "inbox": "s3://bucket/inbox",
        "week": None,
        "weeks": "2026-W40..2026-W42",
        "out": Path("reports folder"),
        "db": "postgresql+psycopg://pilot:***@db.example.com:5432/warehouse",
        "email": False,
        "resend": True,
        "allow_partial_week": True,
        "verbose": True,
    }
