"""Benchmark of one weekly run at scale: seconds, usage rows per second and peak memory per stage.

    uv run python benchmarks/weekly.py --usage-rows 1000000 [--tickets N] [--timesheet-entries N]
        [--reviews N] [--changes N] [--db URL] [--repeat 3] [--keep DIR] [--shuffle] [--cli]

Generates (or reuses, with --keep) a one-week inbox (issue 7's "large week" is --usage-rows
5000000: 500,000 tickets, 100,000 timesheet entries, 1,000 reviews, 10 changes; the defaults
scale tickets and timesheets with the usage rows), then runs the stages of the weekly flow on a
fresh warehouse, as `flows/weekly_readiness.py` runs them but without Prefect: ingest (read,
check, price, load), facts, rules, report (report files, email, readiness.json). Also times a
bare read of every inbox file with polars (`read_csv`, `read_ndjson`, `read_json` for a JSON
array) in the same run (in a child process, so the whole files it holds do not set the peak of
the stages), and a re-run of the week with no new files.

With --shuffle the inbox is the shape of several gateway pods' logs merged: each ticket's model
calls at random times over the rest of the week, the usage rows in random order, 200 agents.
With --cli each run also times the real `pilot-readiness run` command in a fresh process (its
imports, Great Expectations' start and Prefect included) against a Prefect server this benchmark
starts on a free port, on a fresh warehouse; its peak RSS is the child's.

Every invocation also measures the floor of `benchmarks/floor.py` for the same inbox (bare read
of the usage file + the GX suite on its typed rows + its rows written into a new SQLite file)
and prints each whole run over it.

The last line, `BENCH {...}`, holds every figure as JSON: compare two sizes (e.g. 1M and 5M
usage rows) to see whether the run grows linearly. With --repeat N every time is the median of
N runs and every peak RSS the maximum.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from models.results import Week

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import polars as pl
import psutil
from floor import measure_floor

PILOT = Path(__file__).resolve().parents[1] / "pilots" / "support-reply-drafts.yaml"
SOURCES = ("usage", "tickets", "timesheets", "reviews", "changes")
BARE = "bare read (polars)"
WHOLE = "whole run"
RERUN = "re-run, no new files"
CLI = "pilot-readiness run (CLI)"
SHUFFLED_AGENTS = 200


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
        self.peak = max(self.peak, self.process.memory_info().rss)


class WeekResults:
    """The facts and rules stages as the flow runs them: the facts hand their result to the
    rules, and a week whose state key is unchanged (and whose results are stored) is reused,
    as the flow's task cache does (`flows/weekly_readiness.py`)."""

    def __init__(self, db_url: str, operating_model: Any, week: Week) -> None:
        self.db_url, self.operating_model, self.week = db_url, operating_model, week
        self.key: str | None = None
        self.week_facts: Any = None

    def _state(self) -> Any:
        from flows.weekly_readiness import RESULT_MODULES
        from pipelines.warehouse.engine import transaction
        from pipelines.week_state import code_digest, week_state

        with transaction(self.db_url) as conn:
            return week_state(
                conn, self.operating_model, self.week.label, code_digest(*RESULT_MODULES)
            )

    def facts(self) -> Any:
        from pipelines.metrics import store_week_metrics

        state = self._state()
        if state.key == self.key and state.results_stored:
            self.week_facts = None  # reused: nothing to compute
            return None
        self.key = state.key
        self.week_facts = store_week_metrics(self.db_url, self.operating_model, self.week)
        return self.week_facts

    def rules(self) -> Any:
        from checks.verdict import store_week_verdict

        if self.week_facts is None:
            return None
        result = store_week_verdict(self.db_url, self.operating_model, self.week, self.week_facts)
        self.week_facts = None
        return result


def timed(fn: Callable[[], Any]) -> tuple[float, int, Any]:
    with PeakRss() as rss:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return seconds, rss.peak, result


def fresh_db(url: str | None, folder: Path, run: int | str, copy_of: str | None = None) -> str:
    """A new benchmark warehouse: empty, or a copy of the warehouse `copy_of` (no connection to
    it may be open)."""
    if url is None:
        path = folder / f"bench-{run}.db"
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        if copy_of is not None:
            shutil.copyfile(copy_of.removeprefix("sqlite:///"), path)
        return f"sqlite:///{path}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"pilot_bench_{os.getpid()}_{run}"  # several benchmarks may share the server
    template = f' TEMPLATE "{make_url(copy_of).database}"' if copy_of else ""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"{template}'))
    admin.dispose()
    _CREATED.append(name)
    return make_url(url).set(database=name).render_as_string(hide_password=False)


_CREATED: list[str] = []  # the server databases this benchmark made


def drop_created(url: str) -> None:
    """Drop the databases `fresh_db` made on the server at `url`."""
    from sqlalchemy import create_engine, text

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in _CREATED:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def inbox_files(inbox: Path) -> list[Path]:
    """Every file the run reads: the files under `<inbox>/<source>/`, as the ingest lists them."""
    return sorted(
        p
        for source in SOURCES
        if (inbox / source).is_dir()
        for p in (inbox / source).rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )


def bare_read(files: list[Path]) -> dict[str, int]:
    """Each file read by polars alone, no checks: rows per file (-1: polars cannot read it)."""
    rows = {}
    for path in files:
        try:
            if path.suffix == ".csv":
                with path.open("rb") as fh:
                    header = fh.readline()
                frame = pl.read_csv(path, separator=";" if b";" in header else ",")
            elif path.suffix == ".jsonl":
                frame = pl.read_ndjson(path)
            elif path.suffix == ".json":
                with path.open("rb") as fh:
                    array = fh.read(64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"[")
                frame = pl.read_json(path) if array else pl.read_ndjson(path)
            else:
                frame = pl.read_parquet(path)
            rows[path.name] = frame.height
        except (pl.exceptions.PolarsError, OSError, ValueError):
            rows[path.name] = -1  # e.g. the deliberately unreadable export; the run refuses it
    return rows


def bare_read_apart(files: list[Path]) -> tuple[float, int, dict[str, int]]:
    """`bare_read` timed in a child process: its seconds, its peak RSS and the rows per file.
    Apart, so the whole files it holds do not set the peak of the run's stages that follow."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(timed, partial(bare_read, files)).result()


def _usage_weeks(inbox: Path) -> list[str]:
    """The weeks of an inbox's usage files (`usage-2026-W46.csv`), oldest first."""
    return sorted({p.stem.split("-", 1)[1] for p in (inbox / "usage").iterdir()})


def _generated(
    inbox: Path,
    history: Path | None,
    sizes: dict[str, int],
    history_weeks: int,
    shuffle: bool = False,
) -> dict[str, Any] | None:
    """Generate the timed week's inbox (and the weeks before it, in `history`) unless complete
    ones are there; the generation figures, if made. The weeks are generated together, as
    consecutive weeks of one pilot (tickets numbered on, the weekend before re-exported), then
    each file goes to the inbox of the week it was exported for."""
    from pipelines.demo.canonical import generate_inbox

    complete = inbox.with_name(f"{inbox.name}.complete")  # beside it: the ingest must not see it
    if complete.exists():
        print(f"reusing {inbox}" + (f" and {history}" if history else ""))
        return None
    whole = inbox.with_name(f"{inbox.name}.weeks")
    for folder in (inbox, whole, history):
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)  # an interrupted generation
    seconds, peak, result = timed(
        lambda: generate_inbox(
            whole,
            weeks=1 + history_weeks,
            usage_rows_per_week=sizes["usage_rows"],
            tickets_per_week=sizes["tickets"],
            timesheet_entries_per_week=sizes["timesheet_entries"],
            reviews_per_week=sizes["reviews"],
            changes_total=sizes["changes"],
            agents=SHUFFLED_AGENTS if shuffle else None,
            spread_calls=shuffle,
        )
    )
    for week, paths in result.files_by_week.items():
        folder = inbox if week == result.weeks[-1] else history
        assert folder is not None
        for path in paths:
            moved = folder / path.relative_to(whole)
            moved.parent.mkdir(parents=True, exist_ok=True)
            path.rename(moved)  # keeps the export time (modification time)
    shutil.rmtree(whole)
    complete.touch()
    print(
        f"generate: {seconds:.1f} s for {sum(result.rows.values()):,} rows in "
        f"{len(result.weeks)} week(s) ({', '.join(f'{s} {n:,}' for s, n in result.rows.items())}),"
        f" peak {peak / 2**20:,.0f} MiB"
    )
    return {"seconds": round(seconds, 3), "peak_rss_mib": round(peak / 2**20)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def prefect_server(folder: Path) -> Iterator[dict[str, str]]:
    """A Prefect server on a free loopback port (its own PREFECT_HOME under `folder`), stopped
    at the end; yields the environment a child process needs to use it."""
    home = Path(tempfile.mkdtemp(prefix="prefect-home-", dir=folder))
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
    }
    server_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
    prefect = Path(sys.executable).with_name("prefect")
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{env['PREFECT_API_URL']}/health", timeout=5):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the Prefect server did not start; see {home / 'server.log'}"
                    ) from None
                time.sleep(0.5)
        yield env
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
        shutil.rmtree(home, ignore_errors=True)


def cli_run(
    env: dict[str, str], inbox: Path, week: Week, db_url: str, out: Path
) -> tuple[float, int]:
    """`pilot-readiness run` of the week in a fresh process: wall seconds and the child's peak
    RSS in bytes. Raises RuntimeError (with its output's end) when the command fails."""
    command = [
        str(Path(sys.executable).with_name("pilot-readiness")),
        "run",
        "--pilot",
        str(PILOT),
        "--inbox",
        str(inbox),
        "--week",
        week.label,
        "--db",
        db_url,
        "--out",
        str(out),
        "--no-email",
    ]
    start = time.perf_counter()
    child = subprocess.Popen(
        command, env=env, cwd=out.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        tail = output.decode(errors="replace")[-4000:]
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}:\n{tail}")
    return seconds, usage.ru_maxrss * 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--usage-rows", type=int, default=1_000_000)
    parser.add_argument("--tickets", type=int, help="tickets in the week (default: usage / 10)")
    parser.add_argument(
        "--timesheet-entries", type=int, help="timesheet entries (default: usage / 50)"
    )
    parser.add_argument("--reviews", type=int, default=1000, help="reviews in the week")
    parser.add_argument("--changes", type=int, default=10, help="entries of the change log")
    parser.add_argument(
        "--db", help="server URL to create benchmark databases on (default: SQLite files)"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--history-weeks",
        type=int,
        default=0,
        help="weeks of the same size the warehouse already holds before the timed week "
        "(ingested, with their facts and rules, before timing; default 0: an empty warehouse)",
    )
    parser.add_argument(
        "--keep", type=Path, help="folder to keep (and reuse) the generated inbox in"
    )
    parser.add_argument(
        "--shuffle",
        action="store_true",
        help="usage rows in random time order, each ticket's calls spread over the week, "
        f"{SHUFFLED_AGENTS} agents (several gateway pods' logs merged)",
    )
    parser.add_argument(
        "--cli",
        action="store_true",
        help="also time `pilot-readiness run` in a fresh process against a Prefect server",
    )
    args = parser.parse_args()
    sizes = {
        "usage_rows": args.usage_rows,
        "tickets": args.tickets if args.tickets is not None else max(args.usage_rows // 10, 1),
        "timesheet_entries": args.timesheet_entries
        if args.timesheet_entries is not None
        else args.usage_rows // 50,
        "reviews": args.reviews,
        "changes": args.changes,
    }
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.history_weeks < 0:
        parser.error("--history-weeks must be >= 0")

    from checks.verdict import store_week_verdict
    from flows.ingest import ingest_inbox
    from models.operating_model import load_operating_model
    from models.results import Week
    from models.settings import Settings
    from pipelines.metrics import store_week_metrics
    from pipelines.warehouse.engine import dispose_engines
    from reports.publish import publish_and_send

    work = args.keep or Path(tempfile.mkdtemp(prefix="pilot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    name = "inbox-u{usage_rows}-t{tickets}-ts{timesheet_entries}-r{reviews}-c{changes}".format(
        **sizes
    )
    if args.shuffle:
        name += f"-shuffled-a{SHUFFLED_AGENTS}"
    if args.history_weeks:
        name += f"-after{args.history_weeks}"
    inbox = work / name
    history = work / f"{name}-history" if args.history_weeks else None
    generated = _generated(inbox, history, sizes, args.history_weeks, args.shuffle)
    operating_model = load_operating_model(PILOT)
    [week] = [Week.parse(w, operating_model.timezone) for w in _usage_weeks(inbox)]
    files = inbox_files(inbox)
    usage_rows = sizes["usage_rows"]
    history_url = None
    if history is not None:
        # The weeks before are stored once, in a warehouse that every run starts from a copy of.
        history_url = fresh_db(args.db, work, "history")
        start = time.perf_counter()
        for label in _usage_weeks(history):
            past = Week.parse(label, operating_model.timezone)
            ingest_inbox(history_url, operating_model, history, past)
            store_week_metrics(history_url, operating_model, past)
            store_week_verdict(history_url, operating_model, past)
        dispose_engines()
        print(
            f"history: {args.history_weeks} week(s) stored in {time.perf_counter() - start:.1f} s"
        )

    # Per run: stage -> (seconds, peak RSS bytes); ratios per run.
    runs: list[dict[str, tuple[float, int]]] = []
    ratios: dict[str, list[float]] = {"whole_over_bare": [], "rerun_share": []}
    ingest_counts: dict[str, dict[str, int]] = {}
    with ExitStack() as stack:
        cli_env = stack.enter_context(prefect_server(work)) if args.cli else None
        for run in range(args.repeat):
            db_url = fresh_db(args.db, work, run, copy_of=history_url)
            out = work / f"reports-{run}"
            figures: dict[str, tuple[float, int]] = {}
            seconds, peak, bare_rows = bare_read_apart(files)
            figures[BARE] = (seconds, peak)
            week_results = WeekResults(db_url, operating_model, week)
            stages = [
                ("ingest", partial(ingest_inbox, db_url, operating_model, inbox, week)),
                ("facts", week_results.facts),
                ("rules", week_results.rules),
                (
                    "report",
                    partial(
                        publish_and_send,
                        db_url,
                        operating_model,
                        week,
                        out,
                        Settings(smtp_host=None),
                    ),
                ),
            ]
            for stage, fn in stages:
                seconds, peak, result = timed(fn)
                figures[stage] = (seconds, peak)
                if stage == "ingest" and run == 0:
                    for f in result:
                        entry = ingest_counts.setdefault(
                            f.source, {"files": 0, "refused": 0, "read": 0, "loaded": 0}
                        )
                        entry["files"] += 1
                        entry["refused"] += f.status == "refused"
                        entry["read"] += f.rows_read
                        entry["loaded"] += f.rows_loaded
                        entry["quarantined"] = entry.get("quarantined", 0) + f.rows_quarantined
                        entry["duplicate"] = entry.get("duplicate", 0) + f.rows_duplicate
            figures[WHOLE] = (
                sum(figures[s][0] for s, _ in stages),
                max(figures[s][1] for s, _ in stages),
            )
            rerun_seconds, rerun_peak = 0.0, 0
            for _stage, fn in stages:
                seconds, peak, _ = timed(fn)
                rerun_seconds += seconds
                rerun_peak = max(rerun_peak, peak)
            figures[RERUN] = (rerun_seconds, rerun_peak)
            ratios["whole_over_bare"].append(figures[WHOLE][0] / figures[BARE][0])
            ratios["rerun_share"].append(figures[RERUN][0] / figures[WHOLE][0])
            dispose_engines()
            shutil.rmtree(out, ignore_errors=True)
            if cli_env is not None:
                # A fresh warehouse, as for the stages above; the command runs the same week.
                cli_db = fresh_db(args.db, work, f"cli{run}", copy_of=history_url)
                figures[CLI] = cli_run(cli_env, inbox, week, cli_db, out)
                print(
                    f"run {run + 1}: CLI {figures[CLI][0]:.2f} s, peak {figures[CLI][1] / 2**20:,.0f} MiB"
                )
                shutil.rmtree(out, ignore_errors=True)
            runs.append(figures)
    floor = measure_floor(inbox, args.repeat, as_built=False)
    dispose_engines()
    if args.db:
        drop_created(args.db)

    print(
        f"\nweek {week}: {usage_rows:,} usage rows, {sizes['tickets']:,} tickets, "
        f"{sizes['timesheet_entries']:,} timesheet entries, {sizes['reviews']:,} reviews, "
        f"{sizes['changes']:,} changes; warehouse {'PostgreSQL' if args.db else 'SQLite'}; "
        f"median of {args.repeat} (peak RSS: max)"
    )
    unreadable = [n for n, r in bare_rows.items() if r < 0]
    print(
        f"bare read: {len(files)} files, {sum(r for r in bare_rows.values() if r > 0):,} rows"
        + (f" ({', '.join(unreadable)} unreadable)" if unreadable else "")
    )
    for source, c in sorted(ingest_counts.items()):
        print(
            f"ingest {source}: {c['files']} file(s), {c['read']:,} read, {c['loaded']:,} loaded, "
            f"{c['quarantined']:,} quarantined, {c['duplicate']:,} duplicate, "
            f"{c['refused']} refused"
        )
    print(f"\n{'stage':24} {'seconds':>9} {'usage rows/s':>14} {'peak RSS MiB':>13}")
    stages_out: dict[str, dict[str, float | None]] = {}
    for stage in runs[0]:
        seconds = statistics.median(r[stage][0] for r in runs)
        peak = max(r[stage][1] for r in runs)
        rate = usage_rows / seconds if seconds else None
        stages_out[stage] = {
            "seconds": round(seconds, 3),
            "usage_rows_per_s": round(rate) if rate is not None else None,
            "peak_rss_mib": round(peak / 2**20),
        }
        shown = f"{rate:,.0f}" if rate is not None else "-"
        print(f"{stage:24} {seconds:9.2f} {shown:>14} {peak / 2**20:13,.0f}")
    whole_over_bare = statistics.median(ratios["whole_over_bare"])
    rerun_share = statistics.median(ratios["rerun_share"])
    print(f"\nwhole run / bare read: {whole_over_bare:.1f}x; re-run / first run: {rerun_share:.1%}")
    whole_s = statistics.median(r[WHOLE][0] for r in runs)
    cli_s = statistics.median(r[CLI][0] for r in runs) if CLI in runs[0] else 0.0
    # The floor: what any design pays for the usage file (see benchmarks/floor.py).
    print(
        f"floor of {floor.file}: {floor.floor_s:.2f} s (bare read {floor.bare_read_s:.2f} + "
        f"GX {floor.gx_s:.2f} + rows into SQLite {floor.rows_into_sqlite_s:.2f}); "
        f"whole run / floor {whole_s / floor.floor_s:.2f}x"
        + (f"; CLI run / floor {cli_s / floor.floor_s:.2f}x" if CLI in stages_out else "")
    )
    # Every run's figure beside the median: this machine's speed varies from run to run.
    each = [round(r[WHOLE][0], 2) for r in runs]
    peaks = [round(r[WHOLE][1] / 2**20) for r in runs]
    print(f"whole run, each: {', '.join(f'{s:.2f} s' for s in each)}")
    print(f"peak RSS, each: {', '.join(f'{p:,} MiB' for p in peaks)}")
    bench = {
        "week": str(week),
        **sizes,
        "warehouse": "postgresql" if args.db else "sqlite",
        "repeat": args.repeat,
        "history_weeks": args.history_weeks,
        "generate": generated,
        "bare_read_files": len(files),
        "ingest": ingest_counts,
        "stages": stages_out,
        "whole_run_each_s": each,
        "peak_rss_each_mib": peaks,
        "whole_over_bare": round(whole_over_bare, 3),
        "whole_over_bare_each": [round(x, 2) for x in ratios["whole_over_bare"]],
        "rerun_share": round(rerun_share, 4),
        "shuffle": args.shuffle,
        "floor": {
            "file": floor.file,
            "bare_read_s": round(floor.bare_read_s, 3),
            "gx_s": round(floor.gx_s, 3),
            "rows_into_sqlite_s": round(floor.rows_into_sqlite_s, 3),
            "floor_s": round(floor.floor_s, 3),
        },
        "whole_over_floor": round(whole_s / floor.floor_s, 3),
    }
    if CLI in stages_out:
        bench["cli_each_s"] = [round(r[CLI][0], 2) for r in runs]
        bench["cli_peak_rss_each_mib"] = [round(r[CLI][1] / 2**20) for r in runs]
        bench["cli_over_floor"] = round(cli_s / floor.floor_s, 3)
    print("BENCH " + json.dumps(bench, sort_keys=False))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
