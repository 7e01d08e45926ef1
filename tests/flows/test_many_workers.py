"""Many pilots on many workers: four pilots' deployments on one process work pool served by two
workers, inboxes on a real S3 API (moto on loopback), one shared PostgreSQL warehouse; every
pilot's readiness document must equal the one of a serial, in-process run of the same week."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.many_pilots import (
    deploy_pilots,
    mirrored_pilots,
    postgres_databases,
    process_workers,
    readiness_documents,
    run_concurrently,
    run_serially,
    s3_server,
    upload_inboxes,
    worker_env,
    write_pilots,
)

WEEK = "2026-W46"  # the newest week `generate_inbox` writes
PILOTS = 4
WORKERS = 2


@pytest.fixture
def two_warehouses() -> Iterator[list[str]]:
    """Two fresh PostgreSQL databases: the shared warehouse of the workers, and the serial
    run's (skips the test when PostgreSQL is not configured)."""
    base = os.environ.get("PILOT_TEST_POSTGRES_URL")
    if not base:
        pytest.skip(
            "PILOT_TEST_POSTGRES_URL is not set: the pilots share a PostgreSQL warehouse "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    with postgres_databases(base, 2) as urls:
        yield urls


def test_four_pilots_on_two_workers_equal_a_serial_run(
    two_warehouses: list[str], prefect_server, tmp_path: Path
) -> None:
    """It runs a week of four pilots at once on two workers of one pool, with inboxes on S3 and
    one PostgreSQL warehouse, spreads the pilots over both workers, and every pilot's
    readiness.json equals the one of the same weeks run one after another in-process."""
    from prefect.settings import PREFECT_API_URL

    from flows.deployments import ensure_work_pool

    concurrent_db, serial_db = two_warehouses
    pool = f"pool-{tmp_path.name}"[:60]
    with s3_server() as s3:
        env = worker_env(
            PREFECT_API_URL.value(),
            tmp_path / "prefect-home",
            {
                **s3.env,
                "PILOT_DB_URL": concurrent_db,
                "PILOT_OUT_DIR": str(tmp_path / "out-concurrent"),
            },
        )
        ensure_work_pool(pool)
        # The workers start up while the pilots, their inboxes and deployments are made.
        with process_workers(pool, WORKERS, env, tmp_path / "workers", limit=2) as workers:
            pilots = write_pilots(tmp_path / "pilots", tmp_path / "inboxes", PILOTS)
            inbox_root = upload_inboxes(s3, tmp_path / "inboxes")
            deployments = deploy_pilots(tmp_path / "pilots", inbox_root, pool)
            assert deployments == [f"weekly-readiness/{p.pilot}" for p in pilots]
            finished = run_concurrently(deployments, WEEK, timeout_seconds=240)
            logs = "\n".join(w.log.read_text(errors="replace")[-3000:] for w in workers)
        assert [run.state for run in finished] == ["COMPLETED"] * PILOTS, f"{finished}\n{logs}"

    # Each worker mirrored the inboxes of the runs it took; together all four, none twice.
    taken = [mirrored_pilots(worker) for worker in workers]
    assert all(taken), f"a worker ran no pilot: {taken}"
    assert sorted(p for pilots_taken in taken for p in pilots_taken) == [p.pilot for p in pilots]

    run_serially(pilots, WEEK, serial_db, tmp_path / "out-serial")
    concurrent = readiness_documents(tmp_path / "out-concurrent")
    serial = readiness_documents(tmp_path / "out-serial")
    assert sorted(serial) == [f"{p.pilot} {WEEK}" for p in pilots]
    assert sorted(concurrent) == sorted(serial)
    for key, document in serial.items():
        assert concurrent[key] == document, key
    # The pilots' own rows, not one pilot's rows four times.
    assert len({str(doc["metrics"]) for doc in serial.values()}) == PILOTS
