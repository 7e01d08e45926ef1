"""What a weekly run shows in the Prefect UI: artifacts (summary, rule table, report link) under
stable per-pilot keys, and tags for pilot, week and verdict on the flow run."""

from __future__ import annotations

from typing import Any

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from reports.publish import PublishedWeek
from reports.render import VERDICT_WORDS


def artifact_key(pilot: str, suffix: str = "") -> str:
    """Artifact keys allow lowercase letters, digits and dashes only."""
    key = "".join(
        c if c.isalnum() or c == "-" else "-" for c in f"readiness-{pilot}{suffix}".lower()
    )
    return key


def summary_markdown(published: PublishedWeek, email: dict[str, Any]) -> str:
    doc = published.doc
    title, sentence = VERDICT_WORDS[doc["verdict"]]
    m = doc["metrics"]
    because = m.get("unknown_because", {})

    def shown(name: str) -> Any:
        """The metric, or "unknown (why)" when the week cannot give it (never 0 or None)."""
        if m[name] is not None:
            return m[name]
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
        f"| AI tasks | {m['ai_tasks']} |",
        f"| cost per task (USD) | {shown('cost_per_task')} |",
        f"| total cost (USD) | {shown('total_cost')} |",
        f"| error rate | {shown('error_rate')} |",
        f"| correction rate | {shown('correction_rate')} |",
        f"| minutes saved per employee per day | {shown('minutes_saved_per_employee_day')} |",
        "",
        f"Email: {email['status']}. Report: `{published.html}`",
    ]
    return "\n".join(lines)


def publish_artifacts(published: PublishedWeek, email: dict[str, Any]) -> None:
    """Markdown summary, rule table and report link, keyed per pilot so the UI keeps history."""
    doc = published.doc
    pilot, week = doc["pilot"], doc["week"]
    create_markdown_artifact(
        key=artifact_key(pilot),
        markdown=summary_markdown(published, email),
        description=f"Readiness verdict of {pilot} for {week}",
    )
    create_table_artifact(
        key=artifact_key(pilot, "-rules"),
        table=[
            {
                "rule": r["id"],
                "status": r["status"],
                "value": r["value"],
                "threshold": r["threshold"],
                "message": r["message"],
                "owner_role": r["owner_role"],
            }
            for r in doc["rules"]
        ],
        description=f"Stop-rule results of {pilot} for {week}",
    )
    create_link_artifact(
        key=artifact_key(pilot, "-report"),
        link=published.html.resolve().as_uri(),
        link_text=f"readiness.html of {pilot} {week}",
        description=f"The full readiness report of {pilot} for {week}",
    )


def tag_flow_run(pilot: str, week: str, verdict: str) -> None:
    """Add pilot, week and verdict tags to the current flow run."""
    run_id = flow_run.id
    if not run_id:
        return
    with get_client(sync_client=True) as client:
        current = client.read_flow_run(run_id)
        tags = sorted({*current.tags, f"pilot:{pilot}", f"week:{week}", f"verdict:{verdict}"})
        client.update_flow_run(run_id, tags=tags)
