"""What a weekly run shows in the Prefect UI, read back from the Prefect API: figures rounded
as a person reads them and the report linked through PILOT_REPORT_BASE_URL when it is set."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PILOT

PILOT = "support-reply-drafts"
MONEY = re.compile(r"^-?[\d,]+\.\d\d USD$")
PERCENT = re.compile(r"^-?\d+\.\d%$")


def test_figures_are_rounded_to_cents_percent_with_one_decimal_and_at_most_one_decimal():
    """It shows dollars in cents, shares as percentages with one decimal and counts whole."""
    from flows.monitoring import money_text, number_text, percent_text, rule_figure

    assert money_text(273.3094) == "273.31 USD"
    assert money_text(1234.5) == "1,234.50 USD"
    assert percent_text(0.0345) == "3.5%"
    assert number_text(29.0) == "29" and number_text(30.78) == "30.8"
    assert rule_figure("cost.per_task", 0.5981) == "0.60 USD"
    assert rule_figure("quality.error_rate", 0.06904) == "6.9%"
    assert rule_figure("review.sample_size", 20.0) == "20"
    assert rule_figure("quality.error_rate", None) is None


async def _artifacts_of_newest_run(week: str):
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterName,
    )

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[f"{PILOT}-{week}"]))
        )
        newest = max(runs, key=lambda r: r.created)
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[newest.id]))
        )
    return newest, {a.key: a for a in artifacts}


@pytest.mark.usefixtures("prefect_server")
def test_artifacts_round_figures_and_link_through_the_report_base_url(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
):
    """It publishes a summary and a rule table whose money has two decimals and whose shares are
    percentages with one decimal, and a report link under PILOT_REPORT_BASE_URL, as read back
    from the Prefect API; the completed run is tagged with pilot, week and verdict."""
    from flows.weekly_readiness import weekly_readiness
    from pipelines.demo.canonical import generate_inbox

    exports = generate_inbox(tmp_path / "exports", weeks=1, seed=29)
    week = exports.weeks[-1]
    shutil.copytree(exports.root, tmp_path / "inbox")
    monkeypatch.setenv("PILOT_REPORT_BASE_URL", "https://reports.example.com/pilots/")
    result = weekly_readiness(
        pilot=EXAMPLE_PILOT, inbox=tmp_path / "inbox", week=week,
        out_dir=tmp_path / "out", db_url=sqlite_url, send_email=False,
    )  # fmt: skip
    doc = json.loads(result.report_json.read_text())
    run, by_key = asyncio.run(_artifacts_of_newest_run(week))
    assert {f"pilot:{PILOT}", f"week:{week}", f"verdict:{doc['verdict']}"} <= set(run.tags)

    link = by_key[f"readiness-{PILOT}-report"]
    url = f"https://reports.example.com/pilots/{PILOT}/{week}/readiness.html"
    assert f"({url})" in link.data
    assert "file://" not in link.data

    summary = by_key[f"readiness-{PILOT}"].data
    assert f"[readiness.html]({url})" in summary
    cells = dict(re.findall(r"^\| ([A-Za-z ]+) \| (.+) \|$", summary, flags=re.MULTILINE))
    metrics = doc["metrics"]
    assert MONEY.match(cells["total cost"]) and MONEY.match(cells["cost per task"])
    assert cells["total cost"] == f"{metrics['total_cost']:,.2f} USD"
    assert PERCENT.match(cells["error rate"]) and PERCENT.match(cells["correction rate"])
    assert cells["error rate"] == f"{metrics['error_rate']:.1%}"

    table = by_key[f"readiness-{PILOT}-rules"].data
    rows = {r["rule"]: r for r in (json.loads(table) if isinstance(table, str) else table)}
    assert MONEY.match(rows["cost.per_task"]["threshold"])
    assert PERCENT.match(rows["quality.error_rate"]["threshold"])
    for rule in doc["rules"]:
        value = rows[rule["id"]]["value"]
        if value is not None:  # no figure of any rule carries more than two decimals
            assert not re.search(r"\.\d{3}", value), (rule["id"], value)
