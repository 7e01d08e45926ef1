"""The least a weekly run can cost: the usage file's required steps alone, against a bare read.

    uv run python benchmarks/floor.py --inbox DIR [--repeat 3]

DIR is an inbox made by `benchmarks/weekly.py --keep` (or `pilot-readiness generate`). For its
largest usage file this times, in one process (GX imported beforehand, so not counted):
- a bare `polars.read_csv` of the file;
- as built: preparing it as the ingest does (read, type, GX checks row by row for the
  quarantine, price), then staging its rows through ADBC and inserting them into an empty
  warehouse (the SQLite bulk path of `pipelines.warehouse.bulk`) with nothing else in the transaction;
- required pieces alone: the GX suite on the typed rows, and writing the rows into a new SQLite
  file through ADBC in file order with no index (the least it costs to put them in SQLite).

Each is the median of --repeat runs. The as-built sum is the usage part of a weekly run; the
tickets, timesheets, facts, rules and report come on top.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import polars as pl

PILOT = Path(__file__).resolve().parents[1] / "pilots" / "support-reply-drafts.yaml"


def _median_seconds(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import checks.validate
    from flows.ingest import prepare_file
    from models.operating_model import load_operating_model
    from models.warehouse import UsageCall
    from pipelines.prepare import list_inbox
    from pipelines.warehouse.bulk import _write_stage_file, drop_stage, stage_rows, upsert_newest
    from pipelines.warehouse.engine import dispose_engines, transaction

    operating_model = load_operating_model(PILOT)
    usage = [f for f in list_inbox(args.inbox) if f.source == "usage" and f.path.suffix == ".csv"]
    if not usage:
        parser.error(f"no usage CSV under {args.inbox}/usage")
    file = max(usage, key=lambda f: f.path.stat().st_size)
    now = dt.datetime.now(dt.UTC)
    checks.validate.warm_up()

    bare = _median_seconds(lambda: pl.read_csv(file.path), args.repeat)
    prepared = prepare_file(file, operating_model, now)
    prepare = _median_seconds(lambda: prepare_file(file, operating_model, now), args.repeat)
    rows = prepared.valid.drop("__line__")
    constants = {"file_id": 1, "pilot": operating_model.pilot, "exported_at": file.exported_at}

    def store() -> None:
        with tempfile.TemporaryDirectory(prefix="pilot-floor-") as folder:
            url = f"sqlite:///{Path(folder) / 'warehouse.db'}"
            stage = stage_rows(url, UsageCall, rows)
            try:
                with transaction(url, attach=stage) as conn:
                    source = stage.source() if stage else None
                    upsert_newest(conn, UsageCall, rows, source, constants)
            finally:
                if stage is not None:
                    drop_stage(stage)
                dispose_engines()

    def write_rows() -> None:
        with tempfile.TemporaryDirectory(prefix="pilot-floor-") as folder:
            _write_stage_file(Path(folder) / "rows.db", {"rows": (UsageCall, rows, None)})

    stored = _median_seconds(store, args.repeat)
    gx = _median_seconds(
        lambda: checks.validate.run_suite("usage", prepared.valid, now), args.repeat
    )
    written = _median_seconds(write_rows, args.repeat)
    figures = [
        ("bare read", bare),
        ("as built: prepare (read, type, GX, price)", prepare),
        ("as built: stage and insert, empty table", stored),
        ("as built: usage part", prepare + stored),
        ("piece: GX suite on the typed rows", gx),
        ("piece: rows into SQLite (ADBC, no index)", written),
        ("pieces: bare read + GX + rows into SQLite", bare + gx + written),
    ]
    print(f"{file.relative_path}: {rows.height:,} valid rows of {prepared.rows_read:,}")
    for name, seconds in figures:
        print(f"{name:44} {seconds:7.2f} s {seconds / bare:6.1f}x the bare read")


if __name__ == "__main__":
    main()
