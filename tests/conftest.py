"""Shared fixtures: the example operating model, warehouses (SQLite always, PostgreSQL when
PILOT_TEST_POSTGRES_URL is set) and one Prefect test server for the whole session."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PILOT = ROOT / "pilots" / "support-reply-drafts.yaml"
FIXTURES = Path(__file__).parent / "fixtures"
SHARED_SAMPLES = ROOT.parent / "shared" / "samples" / "real"


@pytest.fixture(scope="session")
def example_model():
    from models.operating_model import load_operating_model

    return load_operating_model(EXAMPLE_PILOT)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    from pipelines.warehouse.engine import dispose_engines

    yield f"sqlite:///{(tmp_path / 'warehouse.db').as_posix()}"
    dispose_engines()


def _postgres_base() -> str | None:
    return os.environ.get("PILOT_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty schema-less database on the real PostgreSQL server (dropped afterwards)."""
    base = _postgres_base()
    if not base:
        pytest.skip(
            "PILOT_TEST_POSTGRES_URL is not set (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from pipelines.warehouse.engine import dispose_engines

    name = f"pilot_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each warehouse test runs on SQLite and on the real PostgreSQL server."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """One real Prefect test server for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


def run_process(
    args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run a command of the product in its own process; when it outlives `timeout`, ask it for
    every thread's stack (SIGUSR1, `flows/process.py`) before killing it, and fail the test
    with those stacks, so a hang explains itself."""
    import signal

    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)
        try:
            stdout, stderr = process.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        pytest.fail(
            f"{' '.join(args[:4])}... still ran after {timeout:.0f} s; its threads were at:\n"
            + stderr[-20_000:]
        )
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
