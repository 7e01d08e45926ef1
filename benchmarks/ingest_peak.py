"""The ingest stage alone on a kept benchmark inbox: seconds and peak RSS of one fresh process.

    uv run python benchmarks/ingest_peak.py /tmp/bench5m/inbox-u5000000-t500000-ts100000-r1000-c10

The inbox is one `benchmarks/weekly.py --keep DIR` generated. The files are ingested into a new
SQLite warehouse (a temporary folder) the way the flow's ingest task does (`ingest_inbox`), with
the process's RSS sampled every 20 ms; the run's other stages are left out, so the figure is the
ingest's own (`weekly.py` reports the whole run's peak, which a later stage may set).
`PILOT_INGEST_SLICE_ROWS` sets the slice size of large files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from weekly import PILOT, PeakRss, _usage_weeks


def main() -> None:
    """Ingest the inbox once and print the seconds, the peak RSS and each file's counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inbox", type=Path, help="an inbox kept by benchmarks/weekly.py --keep")
    args = parser.parse_args()

    from flows.ingest import ingest_inbox
    from models.operating_model import load_operating_model
    from models.results import Week

    model = load_operating_model(PILOT)
    [week] = [Week.parse(w, model.timezone) for w in _usage_weeks(args.inbox)]
    with tempfile.TemporaryDirectory(prefix="pilot-ingest-") as folder, PeakRss() as peak:
        start = time.perf_counter()
        files = ingest_inbox(f"sqlite:///{Path(folder) / 'w.db'}", model, args.inbox, week)
        seconds = time.perf_counter() - start
    for f in files:
        print(f"{f.path}: {f.rows_read:,} read, {f.rows_loaded:,} loaded, "
              f"{f.rows_quarantined:,} quarantined, {f.rows_duplicate:,} duplicate")  # fmt: skip
    print(f"ingest {seconds:.1f} s, peak RSS {peak.peak / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
