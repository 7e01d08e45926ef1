"""Which weeks a run accepts: ended weeks only (or a DRAFT), ranges in order, gaps named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from flows.cli import app
from models.results import Week
from tests.conftest import EXAMPLE_PILOT

runner = CliRunner()
TZ = "Europe/Berlin"


def _this_week() -> str:
    return Week.last_complete(TZ).shift(1).label


def test_run_refuses_a_week_that_has_not_ended(tmp_path: Path) -> None:
    """It refuses a future week and the current one before doing any work, naming the way out."""
    (tmp_path / "inbox").mkdir()
    for week in ("2027-W10", _this_week()):
        result = runner.invoke(
            app,
            [
                "run",
                "--pilot",
                str(EXAMPLE_PILOT),
                "--inbox",
                str(tmp_path / "inbox"),
                "--week",
                week,
            ],
        )
        assert result.exit_code == 1
        assert f"week {week} has not ended" in result.output
        assert "--allow-partial-week" in result.output
    assert not (tmp_path / "var").exists()


def test_run_refuses_a_backwards_range(tmp_path: Path) -> None:
    """It refuses --weeks that run backwards and --week together with --weeks."""
    inbox = str(tmp_path)
    base = ["run", "--pilot", str(EXAMPLE_PILOT), "--inbox", inbox]
    backwards = runner.invoke(app, [*base, "--weeks", "2026-W46..2026-W40"])
    assert backwards.exit_code == 1 and "backwards" in backwards.output
    both = runner.invoke(app, [*base, "--week", "2026-W46", "--weeks", "2026-W40..2026-W41"])
    assert both.exit_code == 1 and "not both" in both.output


@pytest.fixture(scope="module")
def three_weeks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inbox holding three demo weeks' exports (2026-W44..2026-W46) at once."""
    from pipelines.demo.canonical import generate_inbox

    exports = generate_inbox(tmp_path_factory.mktemp("exports"), weeks=3, seed=5)
    inbox = tmp_path_factory.mktemp("inbox")
    for week in exports.weeks:
        for path in exports.files_by_week[week]:
            target = inbox / path.relative_to(exports.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return inbox


@pytest.mark.usefixtures("prefect_server")
def test_gaps_are_named_and_a_range_fills_them(three_weeks: Path, tmp_path: Path) -> None:
    """It names the weeks never run in the streak's reason, and `--weeks A..B` runs them in
    order so the same week afterwards has no gap."""
    from flows.weekly_readiness import weekly_readiness

    db_url, out = f"sqlite:///{tmp_path / 'w.db'}", tmp_path / "out"
    weekly_readiness(
        pilot=EXAMPLE_PILOT, inbox=three_weeks, week="2026-W46", out_dir=out, db_url=db_url
    )
    doc = json.loads((out / "support-reply-drafts/2026-W46/readiness.json").read_text())
    assert doc["history_gaps"] == ["2026-W44", "2026-W45"]
    streak = next(r for r in doc["rules"] if r["id"] == "expansion.streak")
    assert "2026-W44, 2026-W45 never run" in streak["message"]
    assert "--weeks 2026-W44..2026-W45" in streak["message"]

    result = runner.invoke(
        app,
        [
            "run", "--pilot", str(EXAMPLE_PILOT), "--inbox", str(three_weeks),
            "--weeks", "2026-W44..2026-W46", "--out", str(out), "--db", db_url, "--no-email",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    printed = [line.split(":")[0] for line in result.output.splitlines() if ": " in line]
    assert printed == [
        "support-reply-drafts 2026-W44",
        "support-reply-drafts 2026-W45",
        "support-reply-drafts 2026-W46",
    ]
    doc = json.loads((out / "support-reply-drafts/2026-W46/readiness.json").read_text())
    assert doc["history_gaps"] == []


@pytest.mark.usefixtures("prefect_server")
def test_a_partial_week_gives_a_draft_that_is_not_stored(three_weeks: Path, tmp_path: Path) -> None:
    """It refuses the running week in the flow too, and with allow_partial_week writes a DRAFT
    report under drafts/ that leaves no metrics or verdict in the warehouse."""
    from flows.weekly_readiness import WeekNotEnded, weekly_readiness
    from models.warehouse import RuleResult, WeeklyMetric
    from pipelines.warehouse.engine import transaction

    db_url, out, week = f"sqlite:///{tmp_path / 'w.db'}", tmp_path / "out", _this_week()
    with pytest.raises(WeekNotEnded, match="has not ended"):
        weekly_readiness(
            pilot=EXAMPLE_PILOT, inbox=three_weeks, week=week, out_dir=out, db_url=db_url
        )
    assert not out.exists()  # refused, not failed: no failure alert written
    result = weekly_readiness(
        pilot=EXAMPLE_PILOT,
        inbox=three_weeks,
        week=week,
        out_dir=out,
        db_url=db_url,
        allow_partial_week=True,
    )
    folder = out / "drafts" / "support-reply-drafts" / week
    assert result.report_html == folder / "readiness.html"
    assert "DRAFT" in result.report_html.read_text()
    assert json.loads((folder / "readiness.json").read_text())["draft"] is True
    assert not (out / "support-reply-drafts").exists()
    with transaction(db_url) as conn:
        for table in (WeeklyMetric.__table__, RuleResult.__table__):
            assert conn.execute(select(table).where(table.c.week == week)).first() is None
