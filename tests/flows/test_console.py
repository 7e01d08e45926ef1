"""What a person reads on the console: one line per week, quiet Prefect logs (in the log file,
on the console only with --verbose), the newest verdict with its reasons, --open, and the
ingest's progress as a large file's rows are checked."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from flows.console import WeekWatch, verdict_lines, week_lines
from tests.conftest import EXAMPLE_PILOT, FIXTURES, ROOT, run_process

VERDICT = r"(ready|pause_expansion|pause_pilot)"
SECONDS = r"\d+\.\d s"
# The demo's week line: verdict, what the ingest stored, each stage's time and the total.
WEEK_LINE = re.compile(
    rf"^(?P<week>\d{{4}}-W\d\d): (?P<verdict>{VERDICT})\s+"
    rf"ingest (?P<files>\d+) files, (?P<rows>[\d,]+) rows( \((?P<extra>[^)]*)\))? {SECONDS}"
    rf" · facts\+rules {SECONDS} · report {SECONDS} · email [^·]+ · total {SECONDS}$"
)


def _command(args: list[str], env: dict[str, str]) -> SimpleNamespace:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), **env}
    return run_process([sys.executable, "-m", "flows.cli", *args], env=env, cwd=ROOT, timeout=400)


@pytest.fixture(scope="module")
def demo(prefect_server, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Two demo weeks run as a user runs them, output in pipes, with --open and a BROWSER
    that writes the address it is given to a file (how `webbrowser` starts a browser)."""
    tmp = tmp_path_factory.mktemp("console")
    browser = tmp / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {tmp / "opened.txt"}\n')
    browser.chmod(0o755)
    log = tmp / "log" / "pilot-readiness.log"
    out = tmp / "demo"
    done = _command(
        ["demo", "--out", str(out), "--weeks", "2", "--seed", "3", "--open"],
        {"PILOT_LOG_FILE": str(log), "BROWSER": str(browser)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    wal = out / "warehouse.db-wal"
    reports = out / "reports" / "support-reply-drafts"
    return SimpleNamespace(
        tmp=tmp, out=out, log=log, stdout=done.stdout, stderr=done.stderr, opened=tmp / "opened.txt",
        # What the demo left, before later tests of the module run commands on its folder.
        wal_bytes=wal.stat().st_size if wal.exists() else 0,
        documents={week.name: _without_time(week / "readiness.json") for week in reports.iterdir()},
    )  # fmt: skip


def _without_time(path: Path) -> dict:
    doc = json.loads(path.read_text())
    doc.pop("generated_at")
    return doc


def _readiness(out: Path, week: str) -> dict:
    path = out / "reports" / "support-reply-drafts" / week / "readiness.json"
    return json.loads(path.read_text())


def test_the_demo_prints_one_line_per_week_with_verdict_counts_and_times(demo) -> None:
    """It prints one line per week with the week's verdict, the files and rows ingested (with
    the quarantined rows and refused files) and each stage's time, then each refused file."""
    lines = demo.stdout.splitlines()
    weeks = [m for line in lines if (m := WEEK_LINE.match(line))]
    assert [m["week"] for m in weeks] == ["2026-W45", "2026-W46"], demo.stdout
    for match in weeks:
        doc = _readiness(demo.out, match["week"])
        assert match["verdict"] == doc["verdict"]
        loaded = sum(source["rows_loaded"] for source in doc["inputs"].values())
        assert int(match["rows"].replace(",", "")) == loaded
    w46 = _readiness(demo.out, "2026-W46")["inputs"]
    quarantined = sum(source["rows_quarantined"] for source in w46.values())
    assert f"{quarantined} quarantined" in weeks[1]["extra"]
    assert "1 file refused" in weeks[1]["extra"]
    refused = lines[lines.index(weeks[1].string) + 1]
    assert refused.startswith("  refused tickets/") and "a ZIP archive" in refused


def test_the_console_in_a_pipe_has_no_prefect_info_lines_and_no_progress_frames(demo) -> None:
    """Without --verbose, no Prefect INFO line and no progress-bar frame reaches the console."""
    console = demo.stdout + demo.stderr
    assert "| INFO" not in console and "Beginning flow run" not in console
    assert "Finished in state" not in console
    assert "\r" not in console and "\x1b[" not in console  # no bar redrawn, no colour codes


def test_the_log_file_receives_prefect_info_lines(demo) -> None:
    """The log file holds Prefect's INFO lines of every flow and task run, once each."""
    text = demo.log.read_text()
    begun = re.findall(r"INFO prefect\.flow_runs: Beginning flow run '(\S+)'", text)
    assert begun == ["support-reply-drafts-2026-W45", "support-reply-drafts-2026-W46"]
    assert re.search(r"INFO prefect\.task_runs: verdict pause_expansion; failing rules:", text)


def test_the_demo_ends_with_the_newest_verdict_its_reasons_and_the_report(demo) -> None:
    """It ends with the newest week's verdict in words, each failing rule that holds it back
    with the report's message, the report's path and the history command."""
    lines = demo.stdout.strip().splitlines()
    doc = _readiness(demo.out, "2026-W46")
    start = lines.index("") + 1
    *summary, report_line, history_line = lines[start:]
    assert summary[0].startswith("2026-W46: PAUSE EXPANSION. Keep the pilot running")
    failing = [r for r in doc["rules"] if r["status"] == "fail" and r["on_fail"] != "warn"]
    assert failing
    assert summary[1:] == [
        f"  why: {r['id']}{' (decides the verdict)' if r['decides_verdict'] else ''}: "
        f"{r['message']}"
        for r in failing
    ]
    report = demo.out / "reports" / "support-reply-drafts" / "2026-W46" / "readiness.html"
    assert report_line == f"report: {report}"
    assert history_line.startswith("every week's verdict: uv run pilot-readiness history")


def test_open_hands_the_newest_report_to_the_browser(demo) -> None:
    """--open gives the newest report's file address to the browser BROWSER names."""
    report = demo.out / "reports" / "support-reply-drafts" / "2026-W46" / "readiness.html"
    assert demo.opened.read_text() == report.resolve().as_uri()


def test_verbose_run_prints_prefect_info_lines(demo) -> None:
    """With --verbose, `run` prints Prefect's INFO lines on standard error; its week line says
    a re-run found no new files."""
    ran = _command(
        [
            "run", "--pilot", str(EXAMPLE_PILOT), "--inbox", str(demo.out / "inbox"),
            "--week", "2026-W46", "--out", str(demo.out / "reports"),
            "--db", f"sqlite:///{(demo.out / 'warehouse.db').as_posix()}", "--no-email", "--verbose",
        ],
        {"PILOT_LOG_FILE": str(demo.tmp / "log" / "verbose.log")},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert re.search(
        r"\| INFO    \| Flow run 'support-reply-drafts-2026-W46' - Beginning", ran.stderr
    )
    assert re.search(r"\| INFO    \| Task run 'facts-and-rules-\w+' - ", ran.stderr)
    first = ran.stdout.splitlines()[0]
    assert first.startswith("support-reply-drafts 2026-W46: pause_expansion  ingest no new files")
    assert " · no email · total " in first


def test_the_ingest_reports_growing_row_counts_through_a_multi_slice_file(
    tmp_path: Path, example_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It reports a file's rows checked slice by slice (growing to the file's rows), then
    storing and stored; a small file reports its rows checked at once."""
    import checks.validate
    from flows.ingest import ingest_inbox
    from models.results import Week

    monkeypatch.setattr(checks.validate, "SLICE_ROWS", 100)
    inbox = tmp_path / "inbox"
    header = "request_id,timestamp,model,input_tokens,output_tokens,cost_usd,status\n"
    (inbox / "usage").mkdir(parents=True)
    rows = [f"r{i},2026-10-05T10:00:00Z,gpt-4o,100,{i % 50},0.5,ok\n" for i in range(350)]
    (inbox / "usage" / "big.csv").write_text(header + "".join(rows))
    small = [f"s{i},2026-10-06T10:00:00Z,gpt-4o,100,{i % 50},0.5,ok\n" for i in range(40)]
    (inbox / "usage" / "small.csv").write_text(header + "".join(small))
    events = []
    ingest_inbox(
        f"sqlite:///{tmp_path / 'w.db'}",
        example_model,
        inbox,
        Week.parse("2026-W41", "Europe/Berlin"),
        progress=events.append,
    )
    big = [(e.step, e.rows_done, e.rows_total) for e in events if e.file == "usage/big.csv"]
    assert big == [
        ("checking", 0, 350),
        ("checking", 100, 350),
        ("checking", 200, 350),
        ("checking", 300, 350),
        ("checking", 350, 350),
        ("storing", 0, 350),
        ("stored", 350, 350),
    ]
    small = [(e.step, e.rows_done) for e in events if e.file == "usage/small.csv"]
    assert small == [("checking", 0), ("checking", 40), ("storing", 0), ("stored", 40)]


def _file(path: str, status: str = "loaded", reason: str | None = None, **rows: int):
    from models.warehouse import IngestedFile

    counts = {"rows_loaded": 0, "rows_quarantined": 0, "rows_duplicate": 0, "rows_skipped": 0}
    return IngestedFile(path=path, status=status, reason=reason, **{**counts, **rows})


def test_a_week_line_names_each_stage_and_follows_with_each_refused_file() -> None:
    """A week's line gives the verdict, the files and rows with the quarantined and refused
    counts, each shown stage's time, the email outcome and the total; each refused file
    follows with its reason."""
    watch = WeekWatch("2026-W43")
    watch.started = 100.0
    watch.stages = [
        ("ingest", 101.0),
        ("facts-and-rules", 103.5),
        ("report", 104.0),
        ("email", 105.25),
        ("readiness-json", 105.5),
    ]
    watch.ended = 106.0
    watch.files = [
        _file("usage/u.csv", rows_loaded=1200, rows_quarantined=5, rows_duplicate=1),
        _file("tickets/t.csv", rows_loaded=300),
        _file("tickets/t.zip", "refused", "an archive (zip), not a CSV file"),
    ]
    lines = week_lines(watch, "pause_pilot", "sent", draft=False, pilot="p")
    assert lines == [
        "p 2026-W43: pause_pilot      ingest 3 files, 1,500 rows (5 quarantined, 1 duplicate, "
        "1 file refused) 2.5 s · facts+rules 0.5 s · report 1.2 s · email sent · total 6.0 s",
        "  refused tickets/t.zip: an archive (zip), not a CSV file",
    ]


def test_the_verdict_lines_give_the_reasons_as_the_report_does() -> None:
    """The pause-pilot week of the demo lists its failing rules, those that pause the pilot
    first, then the rules not known this week, with the report's messages."""
    report = FIXTURES / "demo-golden" / "2026-W43.json"
    doc = json.loads(report.read_text())
    lines = verdict_lines(report)
    assert lines[0].startswith("2026-W43: PAUSE PILOT. Stop using AI drafts now")
    why = [line.split(": ", 2)[1].split()[0] for line in lines if line.startswith("  why:")]
    assert why[:2] == ["quality.stop_now", "scope.excluded_category"]
    assert sorted(why) == sorted(
        r["id"] for r in doc["rules"] if r["status"] == "fail" and r["on_fail"] != "warn"
    )
    unknown = [line for line in lines if line.startswith("  not known:")]
    assert len(unknown) == sum(r["status"] == "unknown" for r in doc["rules"])
    stop_now = next(r for r in doc["rules"] if r["id"] == "quality.stop_now")
    assert f"  why: quality.stop_now (decides the verdict): {stop_now['message']}" in lines


def test_a_large_file_gets_a_bar_with_rows_per_second_and_time_left() -> None:
    """In a terminal a large file's bar shows its rows checked, the rows per second and the
    time left; a small file gets no bar, and a stored file's bar goes away."""
    import io

    from rich.console import Console

    from flows.console import progress_display
    from flows.progress import FileProgress

    clock = [0.0]
    screen = Console(file=io.StringIO(), force_terminal=True, width=160, color_system=None)
    display = progress_display(screen, get_time=lambda: clock[0])
    watch = WeekWatch("2026-W46", display)
    watch.stage("ingest")
    watch.file_progress(FileProgress("usage/big.csv", "checking", 0, 4_000_000))
    watch.file_progress(FileProgress("tickets/small.csv", "checking", 0, 500))
    clock[0] = 2.0
    watch.file_progress(FileProgress("usage/big.csv", "checking", 1_000_000, 4_000_000))

    def drawn() -> str:
        screen.file = io.StringIO()
        screen.print(display.get_renderable())
        return screen.file.getvalue()

    lines = drawn().splitlines()
    assert "2026-W46 ingest" in lines[0]
    assert len(lines) == 2, lines  # the week, then the large file only
    assert "usage/big.csv checking" in lines[1]
    assert "1,000,000/4,000,000 rows" in lines[1]
    assert "500,000 rows/s" in lines[1]
    assert "0:00:06 left" in lines[1]  # 3M rows left at 0.5M rows a second
    watch.file_progress(FileProgress("usage/big.csv", "storing", 0, 4_000_000))
    assert "usage/big.csv storing" in drawn().splitlines()[1]
    watch.file_progress(FileProgress("usage/big.csv", "stored", 4_000_000, 4_000_000))
    assert len(drawn().splitlines()) == 1


@pytest.mark.usefixtures("prefect_server")
def test_portfolio_prints_each_completed_pilots_verdict_then_the_page(tmp_path: Path) -> None:
    """`portfolio` prints one line per completed pilot with its week and verdict, then the
    index page's path, and no Prefect INFO line."""
    from typer.testing import CliRunner

    from flows.cli import app
    from pipelines.demo.canonical import generate_inbox

    pilots, inbox_root, out = tmp_path / "pilots", tmp_path / "inbox", tmp_path / "reports"
    pilots.mkdir()
    (pilots / "support-reply-drafts.yaml").write_text(EXAMPLE_PILOT.read_text())
    generate_inbox(inbox_root / "support-reply-drafts", weeks=1, seed=3)
    result = CliRunner().invoke(
        app,
        [
            "portfolio", "--pilots", str(pilots), "--inbox-root", str(inbox_root),
            "--week", "2026-W46", "--out", str(out),
            "--db", f"sqlite:///{(tmp_path / 'w.db').as_posix()}", "--no-email",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    verdict = json.loads(
        (out / "support-reply-drafts" / "2026-W46" / "readiness.json").read_text()
    )["verdict"]
    assert result.stdout.splitlines() == [
        f"support-reply-drafts 2026-W46: {verdict}",
        str(out / "index.html"),
    ]
    assert "| INFO" not in result.output


def test_the_log_file_follows_the_output_folder_unless_pilot_log_file_names_one(
    tmp_path: Path,
) -> None:
    """Without PILOT_LOG_FILE, a command's log lines go to logs/pilot-readiness.log under its
    output folder (and no longer to the default one); an output folder that is a file keeps
    them in the default folder; PILOT_LOG_FILE wins over both."""
    script = (
        "import logging, sys\n"
        "from pathlib import Path\n"
        "from flows.cli import _every_command\n"
        "from flows.console import route_logs\n"
        "_every_command()\n"
        "logging.getLogger('prefect.flow_runs').warning('before the out folder is known')\n"
        "route_logs(False, Path(sys.argv[1]))\n"
        "logging.getLogger('prefect.flow_runs').info('after the out folder is known')\n"
    )
    (tmp_path / "a-file").write_text("not a folder")
    env = {k: v for k, v in os.environ.items() if k != "PILOT_LOG_FILE"}
    env["PILOT_OUT_DIR"] = str(tmp_path / "default")
    for out in ("out", "a-file"):
        done = run_process(
            [sys.executable, "-c", script, str(tmp_path / out)], env=env, cwd=ROOT, timeout=120
        )
        assert done.returncode == 0, done.stderr
    default_log = (tmp_path / "default" / "logs" / "pilot-readiness.log").read_text()
    out_log = (tmp_path / "out" / "logs" / "pilot-readiness.log").read_text()
    assert "after the out folder is known" in out_log
    assert "before the out folder is known" not in out_log
    assert default_log.count("before the out folder is known") == 2
    assert default_log.count("after the out folder is known") == 1  # the a-file run's
    named = tmp_path / "named.log"
    done = run_process(
        [sys.executable, "-c", script, str(tmp_path / "out2")],
        env={**env, "PILOT_LOG_FILE": str(named)},
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert named.read_text().count("out folder is known") == 2
    assert not (tmp_path / "out2").exists()


def test_demo_writes_every_week_and_a_second_demo_changes_nothing(demo) -> None:
    """It runs each demo week, prints the newest report, and a second demo gives the same JSON."""
    from typer.testing import CliRunner

    from flows.cli import app

    assert demo.wal_bytes == 0  # a completed run leaves everything in the .db file
    *_, report_line, history_line = demo.stdout.strip().splitlines()
    newest = Path(report_line.removeprefix("report: "))
    weeks = sorted(demo.documents)
    assert len(weeks) == 2
    assert newest == demo.out / "reports" / "support-reply-drafts" / weeks[-1] / "readiness.html"
    for week in weeks:
        assert (demo.out / "reports" / "support-reply-drafts" / week / "readiness.html").is_file()

    # Last in the module: the second demo rewrites the folder the other tests read.
    second = _command(["demo", "--out", str(demo.out), "--weeks", "2", "--seed", "3"], {})
    assert second.returncode == 0, second.stderr
    for week in weeks:
        again = _without_time(
            demo.out / "reports" / "support-reply-drafts" / week / "readiness.json"
        )
        assert again == demo.documents[week]

    # The demo ends with the exact `history` command for its warehouse, which lists its weeks.
    prefix, command = history_line.split(": ", 1)
    assert prefix == "every week's verdict"
    words = shlex.split(command)
    assert words[:4] == ["uv", "run", "pilot-readiness", "history"]
    assert words[words.index("--db") + 1] == f"sqlite:///{(demo.out / 'warehouse.db').as_posix()}"
    history = CliRunner().invoke(app, words[3:])
    assert history.exit_code == 0
    assert [line.split()[0] for line in history.stdout.strip().splitlines()] == weeks
