"""What a person reads on the console while `run` and `demo` work.

- One line per week: the verdict, what the ingest stored (and quarantined, or refused), the
  time of each stage and the total. Refused files follow on their own lines with the reason.
- While a week runs in a terminal (standard error is a TTY): a spinner naming the stage, and a
  bar for each large file (rows checked per second, time left). Nothing of it in a pipe.
- Logs: Prefect's INFO lines (and the product's own) go to the log file (PILOT_LOG_FILE) and,
  for flow and task runs, to the Prefect API. The console shows warnings and errors from
  outside the runs; with `--verbose` it shows every INFO line as well.
- The demo's last lines: the newest week's verdict in words, the reasons the report gives, and
  the report's path (`--open` opens it in the browser).
"""

from __future__ import annotations

import json
import logging
import sys
import time
import webbrowser
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flows.progress import FileProgress, RunWatcher, watching
from models.warehouse import IngestedFile

# Loggers of flow and task runs: their lines reach the console only with --verbose (the week's
# line says what they say); they always go to the log file and the Prefect API.
RUN_LOGGERS = ("prefect.flow_runs", "prefect.task_runs")

# The same layout as Prefect's own console lines (its logging.yml "standard" formatter).
_PREFECT_LINE = {
    "format": "%(asctime)s.%(msecs)03d | %(levelname)-7s | %(name)s - %(message)s",
    "flow_run_fmt": "%(asctime)s.%(msecs)03d | %(levelname)-7s | Flow run %(flow_run_name)r - %(message)s",
    "task_run_fmt": "%(asctime)s.%(msecs)03d | %(levelname)-7s | Task run %(task_run_name)r - %(message)s",
    "datefmt": "%H:%M:%S",
}


class ConsoleLogHandler(logging.StreamHandler):
    """Log lines on whatever `sys.stderr` is when they are written: a live progress display
    (which redirects it) prints them above itself, a test runner captures them."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass  # always the current sys.stderr

    def filter(self, record: logging.LogRecord) -> bool:
        if self.verbose:
            return record.levelno >= logging.INFO and super().filter(record)
        if any(record.name == n or record.name.startswith(f"{n}.") for n in RUN_LOGGERS):
            return False
        return record.levelno >= logging.WARNING and super().filter(record)


def _silent(_record: logging.LogRecord) -> bool:
    return False


_handler: ConsoleLogHandler | None = None


def route_logs(verbose: bool, out_dir: Path | None = None) -> None:
    """Set where log lines go for this command: Prefect's logging configured first (so that it
    adds no console handler of its own later), its console handlers silenced, and one console
    handler of ours, quiet unless `verbose`. The log file (`flows.process.install`) keeps
    every INFO line either way."""
    global _handler
    from prefect.logging.configuration import ensure_logging_setup
    from prefect.logging.formatters import PrefectFormatter

    from flows.process import install
    from models.settings import Settings

    ensure_logging_setup()
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    for handler in root.handlers:
        if (
            isinstance(handler, logging.StreamHandler)
            and not isinstance(handler, logging.FileHandler)
            and not type(handler).__module__.startswith("_pytest")
            and _silent not in handler.filters
        ):
            handler.addFilter(_silent)
    _handler = ConsoleLogHandler(verbose)
    _handler.setFormatter(PrefectFormatter(**_PREFECT_LINE))
    root.addHandler(_handler)
    # Console lines without tracebacks; the log file under the output folder keeps them.
    install(Settings().log_file_for(out_dir))


# Stages shown on a week's line, by the name the flow gives them.
SHOWN_STAGES = {"ingest": "ingest", "facts-and-rules": "facts+rules", "report": "report"}
EMAIL_WORDS = {
    "sent": "email sent",
    "not_configured": "email not sent (no SMTP host)",
    "disabled": "no email",
    "failed": "email FAILED",
}
# Files from this many rows on get their own progress bar in a terminal.
BAR_MIN_ROWS = 100_000


class WeekWatch(RunWatcher):
    """What one week's run told the console: when each stage started, the files it ingested;
    in a terminal it also draws the stage and the large files' progress as they go."""

    def __init__(self, label: str, live: Any | None = None) -> None:
        self.label = label
        self.started = time.monotonic()
        self.ended: float | None = None
        self.stages: list[tuple[str, float]] = []
        self.files: list[IngestedFile] = []
        self._live = live  # a rich Progress, or None in a pipe
        self._week_task: Any = None
        self._file_tasks: dict[str, Any] = {}
        if live is not None:
            self._week_task = live.add_task(f"{label} starting", total=None)

    def stage(self, name: str) -> None:
        self.stages.append((name, time.monotonic()))
        if self._live is not None:
            self._live.update(self._week_task, description=f"{self.label} {name}")

    def ingested(self, files: Sequence[IngestedFile]) -> None:
        self.files = list(files)

    def file_progress(self, progress: FileProgress) -> None:
        if self._live is None or progress.rows_total < BAR_MIN_ROWS:
            return
        task = self._file_tasks.get(progress.file)
        if task is not None and progress.step != "checking":
            self._live.remove_task(task)
        description = f"  {progress.file} {progress.step}"
        if progress.step == "checking":
            if task is None:
                task = self._file_tasks[progress.file] = self._live.add_task(
                    description, total=progress.rows_total
                )
            self._live.update(task, completed=progress.rows_done)
        elif progress.step == "storing":
            # No row count while the rows go in: the bar pulses until they are stored.
            self._file_tasks[progress.file] = self._live.add_task(description, total=None)
        else:
            self._file_tasks.pop(progress.file, None)

    def stage_seconds(self) -> list[tuple[str, float]]:
        """Each stage's duration: until the next stage started, the last one until the end."""
        end = self.ended if self.ended is not None else time.monotonic()
        starts = [*self.stages, ("", end)]
        return [(name, starts[i + 1][1] - start) for i, (name, start) in enumerate(self.stages)]

    def total_seconds(self) -> float:
        return (self.ended if self.ended is not None else time.monotonic()) - self.started


def _progress_display() -> Any | None:
    """A live display on standard error, only when it is a terminal."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console

    return progress_display(Console(stderr=True))


def progress_display(console: Any, get_time: Callable[[], float] | None = None) -> Any:
    """The live display drawn on `console` (a rich Console): per line a spinner, what runs,
    a bar, rows done of the rows, rows per second, time left and time taken. `get_time` is
    the clock the speeds are measured with (rich's default: the monotonic clock)."""
    from rich.progress import (
        BarColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    class Rows(ProgressColumn):
        def render(self, task: Any) -> Text:
            if task.total is None:
                return Text("")
            return Text(f"{task.completed:,.0f}/{task.total:,.0f} rows")

    def rows_per_second(task: Any) -> float | None:
        # Over the whole step so far: a file's rows move on in large slices, too few for
        # rich's own moving estimate.
        if task.total is None or not task.completed or not task.elapsed:
            return None
        return task.completed / task.elapsed

    class RowsPerSecond(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = rows_per_second(task)
            return Text(f"{speed:,.0f} rows/s" if speed else "")

    class TimeLeft(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = rows_per_second(task)
            if not speed:
                return Text("")
            left = int((task.total - task.completed) / speed)
            return Text(f"{left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d} left")

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        Rows(),
        RowsPerSecond(),
        TimeLeft(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        get_time=get_time,
    )


@contextmanager
def watch_week(label: str | None) -> Iterator[WeekWatch]:
    """Watch the weekly run started inside the block (`label` None: the last complete week)."""
    display = _progress_display()
    watch = WeekWatch(label or "last week", display)
    try:
        if display is not None:
            display.start()
        with watching(watch):
            yield watch
    finally:
        watch.ended = time.monotonic()
        if display is not None:
            display.stop()


@contextmanager
def working(what: str) -> Iterator[None]:
    """A spinner saying what the command is doing, in a terminal only (nothing in a pipe)."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(what):
        yield


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def ingest_words(files: Sequence[IngestedFile]) -> str:
    """What the ingest stored: rows loaded and, when there are any, the rows quarantined,
    duplicate or skipped and the files refused or left for the next run."""
    if not files:
        return "no new files"
    loaded = sum(f.rows_loaded for f in files)
    extra = [
        f"{count:,} {what}"
        for count, what in (
            (sum(f.rows_quarantined for f in files), "quarantined"),
            (sum(f.rows_duplicate for f in files), "duplicate"),
            (sum(f.rows_skipped for f in files), "skipped"),
        )
        if count
    ]
    refused = sum(f.status == "refused" for f in files)
    deferred = sum(f.status == "deferred" for f in files)
    if refused:
        extra.append(f"{refused} file{'s' if refused > 1 else ''} refused")
    if deferred:
        extra.append(f"{deferred} file{'s' if deferred > 1 else ''} left for the next run")
    count = f"{len(files)} file{'s' if len(files) > 1 else ''}"
    return f"{count}, {loaded:,} rows" + (f" ({', '.join(extra)})" if extra else "")


def week_lines(
    watch: WeekWatch, verdict: str, email_status: str, draft: bool, pilot: str | None = None
) -> list[str]:
    """The week's line (`<pilot> <week>: <verdict>  ingest ... · facts+rules ... · total`),
    then one line per refused file with the reason."""
    times = dict(watch.stage_seconds())
    parts = [f"ingest {ingest_words(watch.files)}"]
    if "ingest" in times:
        parts[0] += f" {_seconds(times['ingest'])}"
    parts += [
        f"{shown} {_seconds(times[name])}"
        for name, shown in SHOWN_STAGES.items()
        if name != "ingest" and name in times
    ]
    if "email" in times:
        parts.append(f"{EMAIL_WORDS.get(email_status, f'email {email_status}')}")
    parts.append(f"total {_seconds(watch.total_seconds())}")
    shown_verdict = f"{verdict} (DRAFT, not stored)" if draft else verdict
    who = f"{pilot} " if pilot else ""
    lines = [f"{who}{watch.label}: {shown_verdict:<15}  " + " · ".join(parts)]
    lines += [f"  refused {f.path}: {f.reason}" for f in watch.files if f.status == "refused"]
    return lines


def verdict_lines(report_json: Path) -> list[str]:
    """A week's verdict in the report's words, then its reasons as the report gives them:
    the failing rules (those that pause the pilot first), then the rules not known."""
    from reports.render import VERDICT_WORDS

    doc = json.loads(report_json.read_text(encoding="utf-8"))
    title, sentence = VERDICT_WORDS[doc["verdict"]]
    lines = [f"{doc['week']}: {title}. {sentence}"]
    rules: list[dict[str, Any]] = doc["rules"]
    failing = [r for r in rules if r["status"] == "fail" and r["on_fail"] != "warn"]
    failing.sort(key=lambda r: r["on_fail"] != "pause_pilot")  # stable: catalog order within
    unknown = [r for r in rules if r["status"] == "unknown"]
    for heading, group in (("why", failing), ("not known", unknown)):
        for rule in group:
            decides = " (decides the verdict)" if rule.get("decides_verdict") else ""
            lines.append(f"  {heading}: {rule['id']}{decides}: {rule['message']}")
    return lines


def open_report(report_html: Path) -> bool:
    """Open the report in the user's browser (the BROWSER variable chooses it); False when no
    browser could be started."""
    return webbrowser.open(report_html.resolve().as_uri())
