"""What a weekly run shows in the Prefect UI: artifacts (summary, rule table, report link) under
stable per-pilot keys, and tags for pilot, week and verdict on the flow run.

Figures are shown as a person reads them: money in cents, shares as percentages with one
decimal, other figures with at most one decimal.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from models.settings import Settings
from reports.publish import PublishedWeek, report_url
from reports.render import VERDICT_WORDS


def artifact_key(pilot: str, suffix: str = "") -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    key = "".join(
        c if c.isalnum() or c == "-" else "-" for c in f"readiness-{pilot}{suffix}".lower()
    )
    return key


# Rules whose value and threshold are US dollars, and those that are shares (0.1 = 10%).
MONEY_RULES = frozenset(
    {"cost.monthly_cap", "cost.spend_alert", "cost.per_task", "volume.busy_month"}
)
SHARE_RULES = frozenset(
    {
        "data.quarantine_ratio",
        "cost.per_task_rise",
        "quality.error_rate",
        "quality.correction_rate",
        "reliability.model_failures",
        "handoff.response_time",
    }
)


def money_text(value_usd: float) -> str:
    """US dollars rounded to cents: 273.3094 -> "273.31 USD"."""
    return f"{value_usd:,.2f} USD"


def percent_text(share: float) -> str:
    """A share as a percentage with one decimal: 0.0345 -> "3.5%"."""
    return f"{share:.1%}"


def number_text(value: float | int) -> str:
    """A count as a whole number, any other figure with at most one decimal."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def rule_figure(rule_id: str, value: float | None) -> str | None:
    """A rule's value or threshold in its unit (None stays None: not known)."""
    if value is None:
        return None
    if rule_id in MONEY_RULES:
        return money_text(value)
    if rule_id in SHARE_RULES:
        return percent_text(value)
    return number_text(value)


def summary_markdown(published: PublishedWeek, email: dict[str, Any], link: str) -> str:
    """The week's verdict, failing rules and key metrics (rounded), with a link to the report."""
    doc = published.doc
    title, sentence = VERDICT_WORDS[doc["verdict"]]
    m = doc["metrics"]
    because = m.get("unknown_because", {})

    def shown(name: str, fmt: Any = number_text) -> str:
        """The metric, or "unknown (why)" when the week cannot give it (never 0 or None)."""
        if m[name] is not None:
            return fmt(m[name])
        return f"unknown ({because[name]})" if name in because else "unknown"

    failing = [r for r in doc["rules"] if r["status"] == "fail"]
    lines = [
        f"# {title}: {doc['pilot']} {doc['week']}",
        "",
        sentence,
        "",
        "## Reasons" if failing else "No rule failed.",
        *[f"- **{r['id']}**: {r['message']}" for r in failing],
        "",
        "## Key metrics",
        "",
        "| metric | value |",
        "|---|---|",
        f"| AI tasks | {shown('ai_tasks')} |",
        f"| cost per task | {shown('cost_per_task', money_text)} |",
        f"| total cost | {shown('total_cost', money_text)} |",
        f"| error rate | {shown('error_rate', percent_text)} |",
        f"| correction rate | {shown('correction_rate', percent_text)} |",
        f"| minutes saved per employee per day | {shown('minutes_saved_per_employee_day')} |",
        "",
        f"Email: {email['status']}. Report: [readiness.html]({link})",
    ]
    return "\n".join(lines)


def publish_artifacts(
    published: PublishedWeek, email: dict[str, Any], settings: Settings | None = None
) -> None:
    """Markdown summary, rule table and report link, keyed per pilot so the UI keeps history.
    The link goes through PILOT_REPORT_BASE_URL when it is set, else to the report's file."""
    doc = published.doc
    pilot, week = doc["pilot"], doc["week"]
    link = report_url(published, (settings or Settings()).report_base_url)
    create_markdown_artifact(
        key=artifact_key(pilot),
        markdown=summary_markdown(published, email, link),
        description=f"Readiness verdict of {pilot} for {week}",
    )
    create_table_artifact(
        key=artifact_key(pilot, "-rules"),
        table=[
            {
                "rule": r["id"],
                "status": r["status"],
                "value": rule_figure(r["id"], r["value"]),
                "threshold": rule_figure(r["id"], r["threshold"]),
                "message": r["message"],
                "owner_role": r["owner_role"],
            }
            for r in doc["rules"]
        ],
        description=f"Stop-rule results of {pilot} for {week}",
    )
    create_link_artifact(
        key=artifact_key(pilot, "-report"),
        link=link,
        link_text=f"readiness.html of {pilot} {week}",
        description=f"The full readiness report of {pilot} for {week}",
    )


def tag_flow_run(
    pilot: str,
    week: str | None = None,
    verdict: str | None = None,
    *,
    run_id: UUID | str | None = None,
) -> None:
    """Add `pilot:<id>`, `week:<label>` and (once known) `verdict:<verdict>` tags to a flow run:
    `run_id`, else the current one. The UI's runs page filters by them."""
    run_id = run_id or flow_run.id
    if not run_id:
        return
    wanted = {f"pilot:{pilot}"}
    if week:
        wanted.add(f"week:{week}")
    if verdict:
        wanted.add(f"verdict:{verdict}")
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(run_id)
        if wanted <= set(current.tags):
            return
        client.update_flow_run(run_id, tags=sorted({*current.tags, *wanted}))
