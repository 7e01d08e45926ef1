"""Benchmark: a week of several pilots on two Prefect workers against the same weeks one after
another (wall seconds).

    PILOT_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        uv run python benchmarks/many_pilots.py [--pilots 4] [--workers 2] [--usage-rows N]

Builds what `tests/flows/test_many_workers.py` builds (pilots copied from the example pilot, each
with a one-week inbox of its own seed, uploaded to moto's S3 server on loopback, one process
work pool, a Prefect test server, a fresh PostgreSQL warehouse per way of running) and times,
from the first run's start to the last run's end, with the workers already polling:

- `workers`: every pilot's deployment run at once on `--workers` workers (each takes at most
  `ceil(pilots / workers)` runs at a time);
- `one worker, one run at a time`: the same deployment runs through one worker that takes one
  run at a time (the same path: a process per run, the inbox mirrored from S3);
- `in-process, one after another`: the weeks run in this process from the local inboxes, as the
  test's serial reference does.

The last line, `BENCH {...}`, holds the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from tests.many_pilots import (
    deploy_pilots,
    postgres_databases,
    process_workers,
    run_concurrently,
    run_serially,
    s3_server,
    upload_inboxes,
    worker_env,
    write_pilots,
)

WEEK = "2026-W46"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pilots", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--usage-rows", type=int, default=None, help="usage rows per pilot (default ~1,250)"
    )
    args = parser.parse_args()
    base = os.environ.get("PILOT_TEST_POSTGRES_URL")
    if not base:
        sys.exit("set PILOT_TEST_POSTGRES_URL (the pilots share a PostgreSQL warehouse)")

    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    figures: dict[str, float | int | list[float] | None] = {
        "load_average_at_start": list(os.getloadavg()),
        "pilots": args.pilots,
        "workers": args.workers,
        "usage_rows_per_pilot": args.usage_rows,
    }
    with (
        tempfile.TemporaryDirectory(prefix="many-pilots-") as tmp,
        prefect_test_harness(server_startup_timeout=120),
        s3_server() as s3,
        postgres_databases(base, 3) as (parallel_db, one_worker_db, serial_db),
    ):
        root = Path(tmp)
        pilots = write_pilots(
            root / "pilots", root / "inboxes", args.pilots, usage_rows_per_week=args.usage_rows
        )
        inbox_root = upload_inboxes(s3, root / "inboxes")

        def on_workers(name: str, count: int, limit: int, db_url: str) -> float:
            pool = name.replace(" ", "-").replace(",", "")
            deployments = deploy_pilots(root / "pilots", inbox_root, pool)
            env = worker_env(
                PREFECT_API_URL.value(),
                root / f"{pool}-prefect-home",
                {**s3.env, "PILOT_DB_URL": db_url, "PILOT_OUT_DIR": str(root / f"out-{pool}")},
            )
            with process_workers(pool, count, env, root / f"{pool}-workers", limit=limit):
                start = time.perf_counter()
                finished = run_concurrently(deployments, WEEK, timeout_seconds=1800)
                seconds = time.perf_counter() - start
            failed = [run for run in finished if run.state != "COMPLETED"]
            if failed:
                sys.exit(f"{name}: runs did not complete: {failed}")
            starts = [run.start_seconds for run in finished if run.start_seconds is not None]
            runs = [run.run_seconds for run in finished if run.run_seconds is not None]
            key = pool.replace("-", "_")
            figures[f"{key}_median_start_s"] = statistics.median(starts) if starts else None
            figures[f"{key}_median_run_s"] = statistics.median(runs) if runs else None
            print(
                f"{name}: {seconds:.1f} s (per run, median: "
                f"{figures[f'{key}_median_start_s']} s from creation to running, "
                f"{figures[f'{key}_median_run_s']} s running)",
                flush=True,
            )
            return seconds

        limit = math.ceil(args.pilots / args.workers)
        figures["workers_s"] = on_workers(
            f"{args.workers} workers", args.workers, limit, parallel_db
        )
        figures["one_worker_serial_s"] = on_workers(
            "one worker, one run at a time", 1, 1, one_worker_db
        )
        start = time.perf_counter()
        run_serially(pilots, WEEK, serial_db, root / "out-serial")
        figures["in_process_serial_s"] = time.perf_counter() - start
        print(f"in-process, one after another: {figures['in_process_serial_s']:.1f} s")
    figures["load_average_at_end"] = list(os.getloadavg())
    print("BENCH " + json.dumps(figures))


if __name__ == "__main__":
    main()
