"""Benchmark of one weekly run at scale: seconds, rows per second and peak memory per stage.

    uv run python benchmarks/weekly.py --usage-rows 1000000 [--db URL] [--repeat 3] [--keep DIR]

Generates (or reuses, with --keep) a one-week inbox of N usage rows, then runs the stages of the
weekly flow on a fresh warehouse: ingest (read, check, price, load), facts, rules, report. Also
times a bare `polars.read_csv` of the same usage file, and a re-run of the week with no new files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import polars as pl
import psutil

PILOT = Path(__file__).resolve().parents[1] / "pilots" / "support-reply-drafts.yaml"


class PeakRss:
    """Samples this process's RSS every 20 ms and keeps the peak."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed(fn: Callable[[], Any]) -> tuple[float, int, Any]:
    with PeakRss() as rss:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return seconds, rss.peak, result


def fresh_db(url: str | None, folder: Path, run: int) -> str:
    if url is None:
        path = folder / f"bench-{run}.db"
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"pilot_bench_{run}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--usage-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--db", help="server URL to create benchmark databases on (default: SQLite files)"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--keep", type=Path, help="folder to keep (and reuse) the generated inbox in"
    )
    args = parser.parse_args()

    from checks.verdict import store_week_verdict
    from models.db import dispose_engines
    from models.load import ingest_inbox
    from models.operating_model import load_operating_model
    from models.settings import Settings
    from pipelines.demo_data import generate_inbox
    from pipelines.metrics import store_week_metrics
    from reports.publish import publish_and_send

    work = args.keep or Path(tempfile.mkdtemp(prefix="pilot-bench-"))
    inbox = work / f"inbox-{args.usage_rows}"
    if not (inbox / "usage").is_dir():
        seconds, peak, generated = timed(
            lambda: generate_inbox(inbox, weeks=1, usage_rows_per_week=args.usage_rows)
        )
        print(
            f"generate: {seconds:.1f} s for {sum(generated.rows.values()):,} rows, peak {peak / 2**20:,.0f} MiB"
        )
    week = sorted(p.stem.split("-", 1)[1] for p in (inbox / "usage").iterdir())[0]
    usage_files = sorted((inbox / "usage").iterdir())
    model = load_operating_model(PILOT)
    figures: dict[str, list[tuple[float, int]]] = {}
    for run in range(args.repeat):
        db_url = fresh_db(args.db, work, run)
        out = work / f"reports-{run}"
        bare, peak, _ = timed(lambda: [pl.read_csv(f) for f in usage_files if f.suffix == ".csv"])
        figures.setdefault("bare polars.read_csv", []).append((bare, peak))
        stages = [
            ("ingest", partial(ingest_inbox, db_url, model, inbox, week)),
            ("facts", partial(store_week_metrics, db_url, model, week)),
            ("rules", partial(store_week_verdict, db_url, model, week)),
            (
                "report",
                partial(publish_and_send, db_url, model, week, out, Settings(smtp_host=None)),
            ),
        ]
        total = 0.0
        for name, fn in stages:
            seconds, peak, _ = timed(fn)
            total += seconds
            figures.setdefault(name, []).append((seconds, peak))
        figures.setdefault("whole run", []).append((total, max(p for _, p in figures["ingest"])))
        rerun = 0.0
        for _name, fn in stages:
            seconds, _peak, _ = timed(fn)
            rerun += seconds
        figures.setdefault("re-run, no new files", []).append((rerun, 0))
        dispose_engines()
        shutil.rmtree(out, ignore_errors=True)

    print(
        f"\nweek {week}, {args.usage_rows:,} usage rows, warehouse {'PostgreSQL' if args.db else 'SQLite'}, "
        f"median of {args.repeat}"
    )
    print(f"{'stage':24} {'seconds':>9} {'usage rows/s':>14} {'peak RSS MiB':>13}")
    for name, values in figures.items():
        seconds = statistics.median(v[0] for v in values)
        peak = max(v[1] for v in values)
        rate = f"{args.usage_rows / seconds:,.0f}" if seconds else "-"
        print(f"{name:24} {seconds:9.2f} {rate:>14} {peak / 2**20:13,.0f}")
    whole = statistics.median(v[0] for v in figures["whole run"])
    bare = statistics.median(v[0] for v in figures["bare polars.read_csv"])
    rerun = statistics.median(v[0] for v in figures["re-run, no new files"])
    print(f"\nwhole run / bare read: {whole / bare:.1f}x; re-run / first run: {rerun / whole:.1%}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
