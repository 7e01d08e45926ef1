"""What a weekly run tells the person watching it while it runs: each stage as it starts, the
files the ingest stored, and how far each file's rows have got.

The command line listens (`flows/console.py`) for the run it started in this process; anywhere
else (a deployment's worker, a test calling the flow) nobody listens and every call does
nothing. Plain calls, not Prefect events: the console needs them at once and in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from models.warehouse import IngestedFile

# checking: the file's rows are read and being checked; storing: checked, going into the
# warehouse; stored: in the warehouse (or refused, with the rows that were read).
IngestStep = Literal["checking", "storing", "stored"]


@dataclass(frozen=True)
class FileProgress:
    """How far one inbox file's ingest has got: `rows_done` of its `rows_total` rows through
    `step` (`rows_done` only grows within a step)."""

    file: str  # the file's path inside the inbox
    step: IngestStep
    rows_done: int
    rows_total: int


# What the ingest calls as a file's rows move on (from the thread that moved them).
OnFileProgress = Callable[[FileProgress], None]


class RunWatcher:
    """Whoever watches a weekly run in this process; this base class ignores everything."""

    def stage(self, name: str) -> None:
        """The run's stage `name` (ingest, facts-and-rules, report, ...) starts now."""

    def ingested(self, files: Sequence[IngestedFile]) -> None:
        """The ingest stored (or refused) these new files."""

    def file_progress(self, progress: FileProgress) -> None:
        """A file's rows moved on (called from the ingest's threads)."""


_NOBODY = RunWatcher()
_watcher: RunWatcher = _NOBODY


def watcher() -> RunWatcher:
    """The watcher of runs in this process (one that ignores everything when nobody watches)."""
    return _watcher


@contextmanager
def watching(run_watcher: RunWatcher) -> Iterator[RunWatcher]:
    """Let `run_watcher` hear the runs of this process until the block ends."""
    global _watcher
    before, _watcher = _watcher, run_watcher
    try:
        yield run_watcher
    finally:
        _watcher = before
