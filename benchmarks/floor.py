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
tickets, timesheets, facts, rules and report come on top. `benchmarks/weekly.py` measures the
pieces (`measure_floor(..., as_built=False)`) for its own inbox and divides its runs by them.
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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Floor:
    """The floor of one inbox's usage file, in seconds (medians): the required pieces and, when
    measured, the steps as built."""

    file: str
    valid_rows: int
    rows_read: int
    bare_read_s: float
    gx_s: float
    rows_into_sqlite_s: float
    prepare_s: float | None = None
    stage_and_insert_s: float | None = None

    @property
    def floor_s(self) -> float:
        """Bare read + the GX suite + the rows into a new SQLite file: what every design pays."""
        return self.bare_read_s + self.gx_s + self.rows_into_sqlite_s

    def figures(self) -> list[tuple[str, float]]:
        rows = [("bare read", self.bare_read_s)]
        if self.prepare_s is not None and self.stage_and_insert_s is not None:
            rows += [
                ("as built: prepare (read, type, GX, price)", self.prepare_s),
                ("as built: stage and insert, empty table", self.stage_and_insert_s),
                ("as built: usage part", self.prepare_s + self.stage_and_insert_s),
            ]
        return [
            *rows,
            ("piece: GX suite on the typed rows", self.gx_s),
            ("piece: rows into SQLite (ADBC, no index)", self.rows_into_sqlite_s),
            ("pieces: bare read + GX + rows into SQLite", self.floor_s),
        ]


def measure_floor(inbox: Path, repeat: int, as_built: bool = True) -> Floor:
    """Time the floor of the largest usage CSV under `inbox`/usage (and, with `as_built`, the
    ingest's own steps for it). Raises ValueError when the inbox has no usage CSV."""
    import checks.validate
    from flows.ingest import prepare_file
    from models.operating_model import load_operating_model
    from models.warehouse import UsageCall
    from pipelines.prepare import list_inbox
    from pipelines.warehouse.bulk import _write_stage_file, drop_stage, stage_rows, upsert_newest
    from pipelines.warehouse.engine import dispose_engines, transaction

    operating_model = load_operating_model(PILOT)
    usage = [f for f in list_inbox(inbox) if f.source == "usage" and f.path.suffix == ".csv"]
    if not usage:
        raise ValueError(f"no usage CSV under {inbox}/usage")
    file = max(usage, key=lambda f: f.path.stat().st_size)
    now = dt.datetime.now(dt.UTC)
    checks.validate.warm_up()

    bare = _median_seconds(lambda: pl.read_csv(file.path), repeat)
    prepared = prepare_file(file, operating_model, now)
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

    prepare = stored = None
    if as_built:
        prepare = _median_seconds(lambda: prepare_file(file, operating_model, now), repeat)
        stored = _median_seconds(store, repeat)
    gx = _median_seconds(lambda: checks.validate.run_suite("usage", prepared.valid, now), repeat)
    written = _median_seconds(write_rows, repeat)
    return Floor(
        file=str(file.relative_path),
        valid_rows=rows.height,
        rows_read=prepared.rows_read,
        bare_read_s=bare,
        gx_s=gx,
        rows_into_sqlite_s=written,
        prepare_s=prepare,
        stage_and_insert_s=stored,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        floor = measure_floor(args.inbox, args.repeat)
    except ValueError as exc:
        parser.error(str(exc))
    print(f"{floor.file}: {floor.valid_rows:,} valid rows of {floor.rows_read:,}")
    for name, seconds in floor.figures():
        print(f"{name:44} {seconds:7.2f} s {seconds / floor.bare_read_s:6.1f}x the bare read")


if __name__ == "__main__":
    main()
