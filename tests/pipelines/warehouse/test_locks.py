"""The pilot-and-week lock held by another process: waits, gives up, outlives no killed holder."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pipelines.warehouse.locks import RunInProgress, week_lock
from tests.conftest import ROOT

WEEK = "2026-W46"
HOLDER = """
import sys, time
from pipelines.warehouse.locks import week_lock
with week_lock(sys.argv[1], "p1", sys.argv[2]):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
"""


@contextmanager
def held_elsewhere(url: str, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of p1 and WEEK for `seconds` once this enters."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, WEEK, str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_a_run_waits_for_the_holder_to_finish(warehouse_url: str) -> None:
    """It waits while another process holds the week and takes the lock once that one ends."""
    with held_elsewhere(warehouse_url, seconds=1.5):
        start = time.monotonic()
        with week_lock(warehouse_url, "p1", WEEK, wait_seconds=60):
            waited = time.monotonic() - start
    assert 0.5 < waited < 30


def test_a_run_gives_up_after_its_wait(warehouse_url: str) -> None:
    """It raises RunInProgress, naming the pilot, week and wait, once it has waited in vain."""
    with held_elsewhere(warehouse_url, seconds=60):
        start = time.monotonic()
        with (
            pytest.raises(RunInProgress, match=r"another run of p1 2026-W46 .*waited 0.5 s"),
            week_lock(warehouse_url, "p1", WEEK, wait_seconds=0.5),
        ):
            pass
        assert time.monotonic() - start >= 0.5
        with week_lock(warehouse_url, "p1", "2026-W45"):
            pass  # another week is not held


def test_a_killed_holder_leaves_no_lock_behind(warehouse_url: str) -> None:
    """It takes the lock at once after the process holding it was killed."""
    with held_elsewhere(warehouse_url, seconds=60) as holder:
        holder.kill()
        holder.wait()
        with week_lock(warehouse_url, "p1", WEEK):
            pass
