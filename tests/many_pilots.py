"""Many pilots on many workers, as parts a test and `benchmarks/many_pilots.py` both start:
operating-model files for several pilots, their inboxes on an S3 API served on loopback by moto,
process workers of one Prefect work pool, and the two ways of running a week of every pilot
(concurrently as deployment runs on the workers, or one after another in this process).

Credentials of the S3 server live only in environment variables (AWS_ACCESS_KEY_ID, ...), as a
deployment would give them to its workers; nothing here writes them to a file.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PILOT = ROOT / "pilots" / "support-reply-drafts.yaml"
EXAMPLE_ID = "support-reply-drafts"
# Fields of readiness.json that say when and where a run happened, not what it found.
RUN_SPECIFIC = ("generated_at", "email")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class PilotSetup:
    """One pilot of the set: its id, operating-model file and local inbox folder."""

    pilot: str
    model_file: Path
    inbox: Path


def write_pilots(
    folder: Path, inbox_root: Path, count: int, *, usage_rows_per_week: int | None = None
) -> list[PilotSetup]:
    """`count` operating models copied from the example pilot with ids pilot-1 ... pilot-N
    (files in `folder`) and one generated one-week inbox each under `inbox_root/<pilot>`, each
    from its own seed so no two pilots hold the same rows."""
    from pipelines.demo.canonical import generate_inbox

    text = EXAMPLE_PILOT.read_text(encoding="utf-8")
    assert f"\npilot: {EXAMPLE_ID}\n" in text, "the example pilot's id line moved"
    folder.mkdir(parents=True, exist_ok=True)
    pilots = []
    for number in range(1, count + 1):
        pilot = f"pilot-{number}"
        model_file = folder / f"{pilot}.yaml"
        model_file.write_text(
            text.replace(f"\npilot: {EXAMPLE_ID}\n", f"\npilot: {pilot}\n", 1), encoding="utf-8"
        )
        generate_inbox(
            inbox_root / pilot, weeks=1, seed=100 + number, usage_rows_per_week=usage_rows_per_week
        )
        pilots.append(PilotSetup(pilot, model_file, inbox_root / pilot))
    return pilots


@dataclass(frozen=True)
class S3Server:
    """A running S3 API on loopback: its bucket and the environment that reaches it."""

    bucket: str
    env: dict[str, str]

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{key}".rstrip("/")


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on a free loopback port with one new, empty bucket; this process's
    environment points AWS clients at it (restored afterwards)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 request otherwise
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto keeps its buckets per process, not per server: a bucket of its own for each use.
    bucket = f"pilot-inboxes-{uuid.uuid4().hex[:8]}"
    env = {
        "AWS_ACCESS_KEY_ID": "moto-access-key",
        "AWS_SECRET_ACCESS_KEY": "moto-secret-key",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        import fsspec

        fs = fsspec.filesystem("s3", skip_instance_cache=True)
        fs.mkdir(bucket)
        yield S3Server(bucket, env)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        server.stop()


def upload_inboxes(s3: S3Server, inbox_root: Path, prefix: str = "inboxes") -> str:
    """Copy every pilot's inbox folder under `s3://<bucket>/<prefix>/`; return that URL."""
    import fsspec

    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    for path in sorted(p for p in inbox_root.rglob("*") if p.is_file()):
        fs.put_file(str(path), f"{s3.bucket}/{prefix}/{path.relative_to(inbox_root).as_posix()}")
    return s3.url(prefix)


@contextmanager
def postgres_databases(base_url: str, count: int) -> Iterator[list[str]]:
    """`count` fresh, empty databases on the PostgreSQL server of `base_url`, dropped after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    names = [f"many_pilots_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield [
            make_url(base_url).set(database=name).render_as_string(hide_password=False)
            for name in names
        ]
    finally:
        from pipelines.warehouse.engine import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Worker:
    """A `prefect worker start` process and the folder its flow runs mirror inboxes into."""

    name: str
    process: subprocess.Popen[bytes]
    inbox_cache: Path
    log: Path


@contextmanager
def process_workers(
    pool: str, count: int, env: dict[str, str], home: Path, *, limit: int | None = None
) -> Iterator[list[Worker]]:
    """`count` process workers of `pool`, each its own process with its own inbox cache
    (PILOT_INBOX_CACHE_DIR) and log file under `home`; each runs at most `limit` flow runs
    at a time. Stopped (SIGTERM to each worker's process group) afterwards."""
    workers: list[Worker] = []
    try:
        for number in range(1, count + 1):
            name = f"worker-{number}"
            cache = home / name / "inbox-cache"
            log = home / name / "worker.log"
            cache.mkdir(parents=True)
            limit_args = ["--limit", str(limit)] if limit else []
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool,
                     "--type", "process", "--name", name, *limit_args],
                    env={**env, "PILOT_INBOX_CACHE_DIR": str(cache)},
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            workers.append(Worker(name, process, cache, log))
        yield workers
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                os.killpg(worker.process.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.process.pid, signal.SIGKILL)
                worker.process.wait()


def worker_env(api_url: str, prefect_home: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a worker process (and so of its flow runs): the Prefect API, a
    Prefect home of its own, a one-second poll, and `extra` (warehouse, reports, S3)."""
    return {
        **os.environ,
        "PREFECT_API_URL": api_url,
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "GX_ANALYTICS_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_HEARTBEAT_SECONDS": "5",
        **extra,
    }


def deploy_pilots(pilots_dir: Path, inbox_root: str, pool: str) -> list[str]:
    """The process work pool `pool` (created when missing) and one deployment per pilot of
    `pilots_dir` on it, started in the repository folder; their `flow/deployment` names."""
    from flows.deployments import deploy, ensure_work_pool, pilot_deployments

    ensure_work_pool(pool)
    deploy(pilots_dir, inbox_root, pool, working_dir=ROOT)
    return [d.full_name for d in pilot_deployments(pilots_dir, inbox_root, pool)]


@dataclass(frozen=True)
class FinishedRun:
    """A flow run as the API holds it once it ended: deployment, state and its message, and its
    seconds from creation to running (queue, process start, imports) and running to its end
    (None when unknown)."""

    deployment: str
    flow_run_id: str
    state: str
    message: str | None
    start_seconds: float | None = None
    run_seconds: float | None = None


def run_concurrently(
    deployments: list[str], week: str, timeout_seconds: float
) -> list[FinishedRun]:
    """Start one run of each deployment for `week` at once, wait until all of them ended."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    started = {
        name: run_deployment(name, parameters={"week": week}, timeout=0, as_subflow=False).id
        for name in deployments
    }
    deadline = time.monotonic() + timeout_seconds
    finished: dict[str, FinishedRun] = {}
    with get_client(sync_client=True) as client:
        while len(finished) < len(started) and time.monotonic() < deadline:
            for name, run_id in started.items():
                if name in finished:
                    continue
                run = client.read_flow_run(run_id)
                if run.state is not None and run.state.is_final():
                    finished[name] = FinishedRun(
                        name,
                        str(run_id),
                        run.state.type.value,
                        run.state.message,
                        _seconds(run.created, run.start_time),
                        _seconds(run.start_time, run.end_time),
                    )
            time.sleep(0.5)
        for name, run_id in started.items():
            if name not in finished:
                run = client.read_flow_run(run_id)
                state = run.state.type.value if run.state else "unknown"
                finished[name] = FinishedRun(name, str(run_id), f"not ended ({state})", None)
    return [finished[name] for name in deployments]


def _seconds(start: Any, end: Any) -> float | None:
    return (end - start).total_seconds() if start and end else None


def run_serially(pilots: list[PilotSetup], week: str, db_url: str, out_dir: Path) -> None:
    """The same week of every pilot, one after another in this process, from the local inboxes
    (the Prefect API of the current settings records the runs)."""
    from flows.weekly_readiness import weekly_readiness

    for setup in pilots:
        weekly_readiness(
            pilot=setup.model_file, inbox=str(setup.inbox), week=week, out_dir=out_dir,
            db_url=db_url,
        )  # fmt: skip


def readiness_documents(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Every readiness.json under `out_dir` by pilot and week ("pilot-1 2026-W46"), without the
    run-specific fields, the email's status kept."""
    documents = {}
    for path in sorted(out_dir.rglob("readiness.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        kept = {key: value for key, value in doc.items() if key not in RUN_SPECIFIC}
        kept["email_status"] = doc.get("email", {}).get("status")
        documents[f"{doc['pilot']} {doc['week']}"] = kept
    return documents


def mirrored_pilots(worker: Worker) -> set[str]:
    """The pilots whose inbox this worker's flow runs mirrored from object storage."""
    if not worker.inbox_cache.is_dir():
        return set()
    return {p.name for p in worker.inbox_cache.iterdir() if p.is_dir() and p.name[0] != "."}
