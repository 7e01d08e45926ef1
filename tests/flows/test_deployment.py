"""The scheduled way of running: a real `prefect server start` (on PostgreSQL when the test
database is configured), `prefect deploy --all` from prefect.yaml, a process worker, a run with
a week parameter, and a retry after a late failure that reuses the week's results."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.conftest import ROOT

DEPLOYMENT = "weekly-readiness/support-reply-drafts"
PREFECT = [sys.executable, "-m", "prefect"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def prefect_env(tmp_path_factory: pytest.TempPathFactory):
    """A Prefect server of our own, with its database on PostgreSQL when available."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        # The worker and `serve` look for runs to start every second instead of every ten:
        # each run the tests trigger would otherwise wait up to ten seconds to be picked up.
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    pg_base, database = os.environ.get("PILOT_TEST_POSTGRES_URL"), None
    if pg_base:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        database = f"prefect_test_{uuid.uuid4().hex[:8]}"
        admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        server_db = make_url(pg_base).set(drivername="postgresql+asyncpg", database=database)
        with create_engine(make_url(pg_base).set(database=database)).connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            conn.commit()
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = server_db.render_as_string(
            hide_password=False
        )
    server = subprocess.Popen(
        [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{env['PREFECT_API_URL']}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        os.killpg(server.pid, signal.SIGTERM)
        pytest.fail("prefect server start did not answer /api/health within 120 s")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        yield env, workers, database
    finally:
        for process in [*workers, server]:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        if database:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            admin.dispose()


def prefect(env: dict[str, str], *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PREFECT, "--no-prompt", *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


async def _flow_run(env: dict[str, str], run_id: str):
    """The flow run, its task runs and its artifacts, from the server's API."""
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async with PrefectClient(api=env["PREFECT_API_URL"]) as client:
        run = await client.read_flow_run(run_id)
        only = FlowRunFilter(id=FlowRunFilterId(any_=[run.id]))
        tasks = await client.read_task_runs(flow_run_filter=only)
        artifacts = await client.read_artifacts(flow_run_filter=only)
    return run, tasks, artifacts


def test_deploy_run_with_week_and_retry_reuses_the_weeks_results(prefect_env, tmp_path):
    """It deploys from prefect.yaml, runs a week through a worker with its artifacts, and a
    retry after a late failure completes with the week's facts and rules cached and no file
    loaded twice."""
    from pipelines.demo.canonical import generate_inbox

    env, workers, database = prefect_env
    exports = generate_inbox(tmp_path / "inbox", weeks=2, seed=31)
    week = exports.weeks[-1]

    created = prefect(env, "work-pool", "create", "local", "--type", "process")
    assert created.returncode == 0, created.stderr
    deployed = prefect(env, "deploy", "--all")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert f"Deployment '{DEPLOYMENT}' successfully created" in deployed.stdout.replace("\n", " ")
    workers.append(
        subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", "local", "--type", "process"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    )

    # The report folder itself is checked before ingest; a file where the week's folder goes
    # fails the report stage only, after ingest and facts.
    blocker = tmp_path / "out" / "support-reply-drafts" / week
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the week's report folder should be: the report stage fails")
    params = [
        "--param", f'week="{week}"',
        "--param", f"inbox={exports.root}",
        "--param", f"out_dir={tmp_path / 'out'}",
        "--param", f"db_url=sqlite:///{tmp_path / 'w.db'}",
    ]  # fmt: skip
    failed = prefect(env, "deployment", "run", DEPLOYMENT, *params, "--watch")
    run_id = re.search(r"UUID: ([0-9a-f-]{36})", failed.stdout)[1]
    run, tasks, _ = asyncio.run(_flow_run(env, run_id))
    assert run.name == f"support-reply-drafts-{week}" and run.state.type.value == "FAILED", (
        failed.stdout[-2000:]
    )
    assert {t.name.split("-")[0]: t.state.type.value for t in tasks}["ingest"] == "COMPLETED"

    blocker.unlink()
    retried = prefect(env, "flow-run", "retry", str(run.id))
    assert retried.returncode == 0, retried.stdout + retried.stderr
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        again, tasks, artifacts = asyncio.run(_flow_run(env, run_id))
        if again.state.is_final():
            break
        time.sleep(1)
    assert again.id == run.id and again.state.type.value == "COMPLETED"
    states = {}
    for t in sorted(tasks, key=lambda t: t.expected_start_time):
        states[t.name.split("-")[0]] = t.state.name
    assert states["ingest"] == "Completed"  # it finds every file already stored
    assert states["facts"] == "Cached", "\n".join(
        f"{t.name} {t.state.name} {t.expected_start_time} {t.state.message}" for t in tasks
    )
    assert states["report"] == "Completed"
    assert {a.key for a in artifacts} >= {
        "readiness-support-reply-drafts",
        "readiness-support-reply-drafts-rules",
        "readiness-support-reply-drafts-report",
    }
    assert (tmp_path / "out" / "support-reply-drafts" / week / "readiness.json").is_file()
    assert {"pilot:support-reply-drafts", f"week:{week}"} <= set(again.tags)
    with sqlite3.connect(tmp_path / "w.db") as conn:
        files, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT sha256) FROM ingested_file"
        ).fetchone()
    assert files == distinct > 0
    if database:  # the server kept its state in PostgreSQL
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        url = make_url(os.environ["PILOT_TEST_POSTGRES_URL"]).set(database=database)
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM flow_run")).scalar() >= 1
        engine.dispose()


def test_serve_schedules_every_pilot_and_runs_a_triggered_week(prefect_env, tmp_path):
    """It serves a Monday 07:00 schedule in each pilot's timezone from one process and runs a
    week triggered with a week parameter."""
    from prefect.client.orchestration import PrefectClient

    from pipelines.demo.canonical import generate_inbox

    env, workers, _ = prefect_env
    pilots = tmp_path / "pilots"
    pilots.mkdir()
    text = (ROOT / "pilots" / "support-reply-drafts.yaml").read_text()
    (pilots / "served-pilot.yaml").write_text(
        text.replace("pilot: support-reply-drafts", "pilot: served-pilot").replace(
            "timezone: Europe/Berlin", "timezone: America/New_York"
        )
    )
    exports = generate_inbox(tmp_path / "inbox-root" / "served-pilot", weeks=2, seed=41)
    serve = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--pilots", str(pilots),
         "--inbox-root", str(tmp_path / "inbox-root")],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    workers.append(serve)

    async def deployment():
        async with PrefectClient(api=env["PREFECT_API_URL"]) as client:
            return await client.read_deployment_by_name("weekly-readiness/served-pilot")

    deadline, found = time.monotonic() + 120, None
    while time.monotonic() < deadline and found is None:
        try:
            found = asyncio.run(deployment())
        except Exception:
            time.sleep(1)
    assert found is not None, "serve did not register the deployment"
    schedule = found.schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("0 7 * * 1", "America/New_York")
    assert found.parameters["inbox"] == str(tmp_path / "inbox-root" / "served-pilot")

    week = exports.weeks[-1]
    ran = prefect(
        env, "deployment", "run", "weekly-readiness/served-pilot",
        "--param", f'week="{week}"', "--param", f"out_dir={tmp_path / 'out'}",
        "--param", f"db_url=sqlite:///{tmp_path / 'w.db'}", "--watch",
    )  # fmt: skip
    assert "Completed" in ran.stdout, ran.stdout[-2000:]
    assert (tmp_path / "out" / "served-pilot" / week / "readiness.json").is_file()
