"""Runs killed at any stage re-run to the result of an undisturbed run; two runs of the same
pilot and week never work at the same time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import EXAMPLE_PILOT, ROOT

pytestmark = pytest.mark.usefixtures("prefect_server")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two weeks with enough usage rows that every stage takes a moment."""
    from pipelines.demo.canonical import generate_inbox

    exports = generate_inbox(
        tmp_path_factory.mktemp("crash-exports"), weeks=2, seed=17, usage_rows_per_week=40_000
    )
    return exports.root


def week_of(inbox: Path) -> str:
    return sorted(p.stem.split("-", 1)[1] for p in (inbox / "usage").glob("usage-*"))[-1]


def without_time(path: Path) -> dict:
    doc = json.loads(path.read_text())
    doc.pop("generated_at")
    return doc


@pytest.fixture(scope="module")
def undisturbed(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """readiness.json of a run nobody interrupted."""
    from flows.weekly_readiness import weekly_readiness

    folder = tmp_path_factory.mktemp("undisturbed")
    result = weekly_readiness(
        pilot=EXAMPLE_PILOT, inbox=inbox, week=week_of(inbox), out_dir=folder / "out",
        db_url=f"sqlite:///{folder / 'w.db'}",
    )  # fmt: skip
    return without_time(result.report_json)


def start_run(inbox: Path, out: Path, db_url: str) -> subprocess.Popen[str]:
    from prefect.settings import PREFECT_API_URL

    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "run", "--pilot", str(EXAMPLE_PILOT),
         "--inbox", str(inbox), "--week", week_of(inbox), "--out", str(out), "--db", db_url],
        cwd=ROOT,
        env={**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def wait_for_stage(
    db_path: Path, stage: str, process: subprocess.Popen[str], files_loaded: int = 0
) -> bool:
    """Poll the warehouse until the run reaches `stage` with at least `files_loaded` files
    committed (True), or the process ends (False)."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        if db_path.exists():
            try:
                with sqlite3_connect(db_path) as conn:
                    row = conn.execute("SELECT stage FROM run ORDER BY started_at DESC").fetchone()
                    loaded = conn.execute("SELECT count(*) FROM ingested_file").fetchone()[0]
                if row and row[0] == stage and loaded >= files_loaded:
                    return True
            except Exception:
                pass
        time.sleep(0.01)
    return False


def sqlite3_connect(path: Path):
    import sqlite3

    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2)


# ingest: killed between file transactions, after two files were committed (mid-load).
@pytest.mark.parametrize(
    ("stage", "files_loaded"), [("ingest", 2), ("facts-and-rules", 0), ("report", 0)]
)
def test_killed_run_reruns_to_the_undisturbed_result(
    inbox, undisturbed, tmp_path, stage, files_loaded
):
    """It leaves a consistent warehouse when the process is killed during a stage, and a re-run
    writes the same readiness.json as a run that was never interrupted."""
    from flows.weekly_readiness import weekly_readiness
    from pipelines.warehouse.engine import dispose_engines

    db_path, out = tmp_path / "w.db", tmp_path / "out"
    db_url = f"sqlite:///{db_path}"
    process = start_run(inbox, out, db_url)
    reached = wait_for_stage(db_path, stage, process, files_loaded)
    if reached:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=120)
    assert reached and process.returncode == -signal.SIGKILL, f"run ended before {stage}"

    result = weekly_readiness(
        pilot=EXAMPLE_PILOT, inbox=inbox, week=week_of(inbox), out_dir=out, db_url=db_url
    )
    assert without_time(result.report_json) == undisturbed
    engine = create_engine(db_url)
    with engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(text("SELECT status FROM run ORDER BY started_at"))]
        files = conn.execute(
            text("SELECT count(*), count(DISTINCT sha256) FROM ingested_file")
        ).one()
    engine.dispose()
    dispose_engines()
    assert statuses == ["running", "completed"]  # the killed run never got to say it ended
    assert files[0] == files[1]  # no file was loaded twice


@pytest.mark.parametrize("stage", ["ingest", "facts-and-rules"])
def test_a_run_shows_its_stacks_on_sigusr1_and_stops_within_seconds_on_sigterm(
    inbox, tmp_path, stage
):
    """It prints every thread's stack on SIGUSR1 and goes on; on SIGTERM it stops within
    seconds whatever stage it is in, and a re-run completes."""
    from flows.weekly_readiness import weekly_readiness
    from pipelines.warehouse.engine import dispose_engines

    db_path, out = tmp_path / "w.db", tmp_path / "out"
    db_url = f"sqlite:///{db_path}"
    process = start_run(inbox, out, db_url)
    try:
        assert wait_for_stage(db_path, stage, process), f"run ended before {stage}"
        process.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        assert process.poll() is None  # a stack dump does not stop the run
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        process.wait(timeout=30)
        stopped_after = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read() if process.stderr else ""
    assert "most recent call first" in stderr  # faulthandler's stack dump
    assert process.returncode != 0
    assert stopped_after < 10, f"stopped {stopped_after:.1f} s after SIGTERM"
    result = weekly_readiness(
        pilot=EXAMPLE_PILOT, inbox=inbox, week=week_of(inbox), out_dir=out, db_url=db_url
    )
    assert result.report_json.is_file()
    dispose_engines()


def test_second_run_of_the_same_week_stops_while_the_first_works(warehouse_url, tmp_path):
    """It stops a concurrent run of the same pilot and week with a clear message, writes
    nothing, and runs once the first one is done."""
    from flows.weekly_readiness import weekly_readiness
    from pipelines.warehouse.locks import RunInProgress, week_lock
    from pipelines.warehouse.reads import table_counts

    demo = tmp_path / "inbox"
    demo.mkdir()
    week = "2026-W46"
    with week_lock(warehouse_url, "support-reply-drafts", week):
        before = table_counts(warehouse_url)
        with pytest.raises(RunInProgress, match="another run of support-reply-drafts 2026-W46"):
            weekly_readiness(
                pilot=EXAMPLE_PILOT, inbox=demo, week=week, out_dir=tmp_path / "o",
                db_url=warehouse_url,
            )  # fmt: skip
        assert table_counts(warehouse_url) == before
        with week_lock(warehouse_url, "support-reply-drafts", "2026-W45"):
            pass  # another week of the same pilot is not blocked
    result = weekly_readiness(
        pilot=EXAMPLE_PILOT, inbox=demo, week=week, out_dir=tmp_path / "o", db_url=warehouse_url
    )
    assert result.report_json.is_file()
