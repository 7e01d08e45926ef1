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
# Prefect's own temporary server (a command run without PREFECT_API_URL) gets as long to answer
# as the session's test server: with several xdist workers the two cores are shared.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PILOT = ROOT / "pilots" / "support-reply-drafts.yaml"
FIXTURES = Path(__file__).parent / "fixtures"
SHARED_SAMPLES = ROOT.parent / "shared" / "samples" / "real"
# Modules that start processes or run many weeks, handed out to the xdist workers first so that
# none of them is left running alone at the end of the session.
LONG_MODULES_FIRST = (
    "tests/flows/test_many_workers.py",
    "tests/flows/test_deployment.py",
    "tests/flows/test_console.py",
    "tests/flows/test_portfolio.py",
    "tests/flows/test_failure_messages.py",
    "tests/flows/test_cli.py",
    "tests/flows/test_faults.py",
    "tests/flows/",
    "tests/checks/test_demo_story.py",
    "tests/pipelines/test_bad_input_corpus.py",
    "tests/pipelines/demo/",
    "tests/pipelines/test_ingest_properties.py",
    "tests/reports/test_report_browser.py",
    "tests/reports/test_email_smtp.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long modules first (in their own order), then the rest as collected."""

    def rank(item: pytest.Item) -> int:
        path = Path(item.path).relative_to(ROOT).as_posix()
        starts = [i for i, prefix in enumerate(LONG_MODULES_FIRST) if path.startswith(prefix)]
        return starts[0] if starts else len(LONG_MODULES_FIRST)

    items.sort(key=rank)


@pytest.fixture(scope="session", autouse=True)
def log_file_outside_the_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every command of the session logs to a file of this test process (each xdist worker its
    own), unless a test names one: the default, `var/reports/logs` under the repository, would
    be one file shared by every worker, with its rotation racing between them."""
    if "PILOT_LOG_FILE" in os.environ:
        yield
        return
    os.environ["PILOT_LOG_FILE"] = str(tmp_path_factory.mktemp("logs") / "pilot-readiness.log")
    yield
    os.environ.pop("PILOT_LOG_FILE", None)


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
