"""The ingest's committing thread (`flows.ingest._Commits`): files' transactions run one after
another in file order, beside the caller, with at most one waiting; a failure reaches the
caller, and the scratch files of transactions that never ran are deleted."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from flows.ingest import _Commits, _Ready
from flows.progress import FileProgress
from pipelines.warehouse.engine import Stage, WarehouseError


def _progress(name: str) -> FileProgress:
    return FileProgress(name, "stored", 1, 1)


def _stage(tmp_path: Path, name: str) -> Stage:
    path = tmp_path / f".{name}.stage"
    path.write_bytes(b"rows")
    return Stage(files=(path,), tables=(frozenset({"rows"}),))


def test_transactions_run_in_file_order_on_their_own_thread(tmp_path: Path) -> None:
    """It runs each file's transaction after the one before, on a thread that is not the
    caller's, hands the records back in order, tells the progress after each, and deletes each
    stage once its transaction ran."""
    ran: list[tuple[str, str]] = []
    heard: list[str] = []
    stages = {name: _stage(tmp_path, name) for name in ("a", "b", "c")}

    def store(name: str) -> _Ready:
        def run() -> None:
            time.sleep(0.05 if name == "a" else 0.0)  # a slow first file must still be first
            assert stages[name].files[0].exists()  # the stage lives until its transaction ran
            ran.append((name, threading.current_thread().name))

        return _Ready(run, stages[name])

    with _Commits(background=True, progress=lambda p: heard.append(p.file)) as commits:
        for name in ("a", "b", "c"):
            commits.submit(store(name), _progress(name))
    assert [name for name, _ in ran] == ["a", "b", "c"] == heard
    assert all(thread != threading.current_thread().name for _, thread in ran)
    assert commits.records == [None, None, None]
    assert not any(stage.files[0].exists() for stage in stages.values())


def test_the_caller_goes_on_while_a_transaction_runs_and_waits_behind_two() -> None:
    """It returns from a submit while the transaction before still runs, and holds the caller
    at the third submit until the first transaction is done (one waits at most)."""
    release = threading.Event()
    submitted: list[str] = []

    def blocked() -> None:
        assert release.wait(10)

    def caller(commits: _Commits) -> None:
        for name in ("a", "b", "c"):
            commits.submit(_Ready(blocked if name == "a" else lambda: None), _progress(name))
            submitted.append(name)

    with _Commits(background=True) as commits:
        thread = threading.Thread(target=caller, args=(commits,))
        thread.start()
        time.sleep(0.3)
        assert submitted == ["a", "b"]  # "c" waits until "a" is done
        release.set()
        thread.join(10)
    assert submitted == ["a", "b", "c"]


def test_a_failed_transaction_stops_the_caller() -> None:
    """It raises a transaction's failure (the warehouse down) to the caller at its next
    submit."""

    def down() -> None:
        raise WarehouseError("warehouse sqlite:///w.db failed: disk I/O error")

    with pytest.raises(WarehouseError, match="disk I/O error"), _Commits(True) as commits:
        commits.submit(_Ready(down), _progress("a"))
        commits.submit(_Ready(lambda: None), _progress("b"))
        commits.submit(_Ready(lambda: None), _progress("c"))  # raises: "a" failed


def test_a_stopped_ingest_drops_the_stages_of_transactions_that_never_ran(tmp_path: Path) -> None:
    """It deletes the stage of a waiting transaction without running it when the caller stops
    (a failure while reading the next file), and lets the running one finish."""
    release = threading.Event()
    ran: list[str] = []
    waiting = _stage(tmp_path, "waiting")

    def running() -> None:
        assert release.wait(10)
        ran.append("a")

    timer = threading.Timer(0.3, release.set)
    timer.start()
    with pytest.raises(RuntimeError, match="next file"), _Commits(True) as commits:
        commits.submit(_Ready(running), _progress("a"))
        commits.submit(_Ready(lambda: ran.append("b"), waiting), _progress("b"))
        raise RuntimeError("the next file could not be read")
    timer.join()
    assert ran == ["a"]
    assert not waiting.files[0].exists()


def test_without_a_thread_each_transaction_runs_when_submitted() -> None:
    """It runs each transaction inside the submit when there is no committing thread (a
    warehouse loaded without stages, as PostgreSQL is)."""
    ran: list[str] = []
    with _Commits(background=False) as commits:
        commits.submit(_Ready(lambda: ran.append(threading.current_thread().name)), _progress("a"))
        assert ran == [threading.current_thread().name]
