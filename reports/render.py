"""Report files of one pilot and week: readiness.html, readiness.json and quarantine/<source>.csv."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from checks.actions import action_order, urgency
from checks.completeness import completeness
from checks.rules.catalog import SAMPLE_TOO_SMALL
from checks.validate import reason_kind
from models.operating_model import SOURCES, OperatingModel
from models.results import RuleOutcome, WeeklyMetrics
from pipelines.intervals import rate_with_interval
from reports.change_section import change_rows
from reports.people import comparison_rows, per_task_rows
from reports.readiness import WeekReadiness, owners

TEMPLATES = Path(__file__).parent / "templates"

VERDICT_WORDS = {
    "ready": (
        "READY TO EXPAND",
        "Every stop rule passed and the pilot has been green long enough to expand.",
    ),
    "pause_expansion": (
        "PAUSE EXPANSION",
        "Keep the pilot running as it is, but do not add teams or volume until the reasons below are fixed.",
    ),
    "pause_pilot": (
        "PAUSE PILOT",
        "Stop using AI drafts now and hand the work back to people until the stop authority restarts it.",
    ),
}


def ticket_link(operating_model: OperatingModel, ticket_id: str) -> str | None:
    """The help-desk address of a ticket, when the operating model gives a pattern."""
    pattern = operating_model.report.ticket_url
    return pattern.replace("{ticket_id}", quote(str(ticket_id), safe="")) if pattern else None


def findings_matrix(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of this week's findings by category (rows) and severity (columns)."""
    severities = ["low", "medium", "stop_now"]
    rows: dict[str, dict[str, int]] = {}
    for f in findings:
        row = rows.setdefault(f["category"] or "uncategorised", dict.fromkeys(severities, 0))
        if f["severity"] in row:
            row[f["severity"]] += 1
    return {"severities": severities, "rows": dict(sorted(rows.items()))}


def _num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.1f}"
    return f"{value:,}"


def _money(value: Any) -> str:
    return "n/a" if value is None else f"{value:,.2f} USD"


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1%}"


# The volumes in the order a reader thinks about them: now, with the next team, a busy month.
VOLUME_ORDER = ("current", "next_team", "busy_month")
VOLUME_WORDS = {"current": "now", "next_team": "with the next team", "busy_month": "busy month"}
# Metrics that are shares: their changes read in percentage points.
SHARES = ("error_rate", "correction_rate", "stop_now_share")


def shown(metrics: dict[str, Any], name: str, fmt: Any) -> str:
    """A metric as the report shows it: "unknown (no timesheets this week)" in place of a
    number the week cannot give, and "(partial)" after one computed from a partial source."""
    return shown_part(metrics, name, metrics.get(name), fmt)


def shown_part(metrics: dict[str, Any], name: str, value: Any, fmt: Any) -> str:
    """A part of a metric (a volume's cost) shown like the metric `name` it belongs to."""
    if value is None:
        because = metrics.get("unknown_because", {}).get(name)
        text = f"unknown ({because})" if because else "unknown"
        # Marked so that a number column lets the words wrap on a phone.
        return Markup('<span class="unknown">{}</span>').format(text)
    text = fmt(value)
    return f"{text} (partial)" if name in metrics.get("partial", {}) else text


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        num=_num,
        money=_money,
        pct=_pct,
        shown=shown,
        shown_part=shown_part,
        rate_ci=rate_with_interval,
        volume_order=VOLUME_ORDER,
        volume_words=VOLUME_WORDS,
    )
    # issue 22: AI next to the manual process, the per-task table
    env.globals.update(comparison_rows=comparison_rows, per_task_rows=per_task_rows)
    return env


def due_text(due: dt.datetime | None) -> str | None:
    """A due date-time as people read it, in the pilot's timezone: `Mon 2026-10-26 04:00 CET`."""
    return None if due is None else f"{due:%a %Y-%m-%d %H:%M} {due.tzname()}"


def action_text(rule: RuleOutcome) -> str:
    """What to do about a rule: its catalog action; for a rule that could not be measured, that
    it needs its missing input; for a rate on too small a sample, more reviews."""
    if rule.status == "unknown":
        why = rule.message[:1].upper() + rule.message[1:]
        return f"{why}: deliver what is missing, then re-run the week."
    if rule.status == "warn" and SAMPLE_TOO_SMALL in rule.message:
        return "Review more outputs: the sample is too small to be sure of the rate."
    return rule.action


def actions(outcomes: list[RuleOutcome], operating_model: OperatingModel) -> list[dict[str, Any]]:
    """One line per rule that asks for something, most urgent first (pause the pilot, block
    expansion, warn): what to do, who does it, by when, and whether it decides the verdict."""
    who = owners(operating_model)
    lines = []
    for rule in action_order(outcomes):
        person = who.get(rule.owner_role, {})
        lines.append(
            {
                "id": rule.id,
                "status": rule.status,
                "urgency": urgency(rule),
                "action": action_text(rule),
                # The restart row to add is what a paused pilot's owner needs verbatim.
                "detail": rule.evidence[0] if rule.id == "pilot.paused" and rule.evidence else None,
                "role": rule.owner_role,
                "person": person.get("name"),
                "email": person.get("email"),
                "backup": person.get("backup"),
                "backup_email": person.get("backup_email"),
                "due": rule.due.isoformat() if rule.due else None,
                "due_text": due_text(rule.due),
                "decides_verdict": rule.decides_verdict,
                "message": rule.message,
            }
        )
    return lines


KEY_FIGURES = (
    ("cost_per_task", "Cost per AI task", _money),
    ("total_cost", "Total cost", _money),
    ("ai_tasks", "AI tasks", _num),
    ("error_rate", "Error rate", _pct),
    ("correction_rate", "Correction rate", _pct),
    ("minutes_saved_per_employee_day", "Minutes saved per employee per day", _num),
    ("reviewed", "Outputs reviewed", _num),
)


def change(key: str, now: Any, before: Any) -> str:
    """The change from last week: shares in percentage points ("+3.4 pp"), other figures in
    per cent of last week's value; "n/a" when either is unknown."""
    if not isinstance(now, (int, float)) or not isinstance(before, (int, float)):
        return "n/a"
    diff = now - before
    if key in SHARES:
        return f"{diff * 100:+.1f} pp"
    return f"{diff / before:+.0%}" if before else f"{diff:+g}"


def key_figures(metrics: WeeklyMetrics, previous: WeeklyMetrics | None) -> list[dict[str, str]]:
    """The key figures of the week beside the previous week's, with the change; a figure the
    week cannot give reads "unknown (why)"."""
    now_doc = metrics.as_json()
    before_doc = previous.as_json() if previous else {}
    rows = []
    for key, label, fmt in KEY_FIGURES:
        now = getattr(metrics, key)
        before = getattr(previous, key) if previous else None
        rows.append(
            {
                "label": label,
                "value": shown(now_doc, key, fmt),
                # Last week's reasons speak of "this week": theirs, not this one.
                "previous": Markup(shown(before_doc, key, fmt).replace("this week", "that week"))
                if previous
                else fmt(None),
                "delta": change(key, now, before),
            }
        )
    return rows


def render_html(
    readiness: WeekReadiness,
    operating_model: OperatingModel,
    *,
    chart_png: bytes | None,
    previous_metrics: WeeklyMetrics | None,
    findings: list[dict[str, Any]],
    quarantine: list[dict[str, Any]],
    draft: bool = False,
) -> str:
    """The one-page report a manager reads (self-contained: styles inline, chart embedded);
    `draft` marks a week that has not ended."""
    doc = readiness.as_json()
    title, sentence = VERDICT_WORDS[doc["verdict"]]
    # Counted by kind: rows with the same problem are one line whatever values they hold.
    reasons = Counter(reason_kind(reason) for row in quarantine for reason in row["reasons"])
    return (
        _env()
        .get_template("readiness.html.j2")
        .render(
            doc={**doc, "verdict_title": title, "verdict_sentence": sentence},
            operating_model=operating_model,
            week_start=readiness.week.monday.isoformat(),
            week_end=readiness.week.sunday.isoformat(),
            rules=readiness.outcomes,
            failing=[
                r
                for r in action_order(readiness.outcomes)
                if r.status == "fail" and urgency(r) != "warn"
            ],
            # Unknown rules hold the verdict back too (never a pass): they are reasons as well.
            unknown=[r for r in readiness.outcomes if r.status == "unknown"],
            actions=actions(readiness.outcomes, operating_model),
            key_figures=key_figures(readiness.metrics, previous_metrics),
            chart=base64.b64encode(chart_png).decode("ascii") if chart_png else None,
            findings=findings,
            matrix=findings_matrix(findings),
            ticket_link=lambda ticket_id: ticket_link(operating_model, ticket_id),
            owners=owners(operating_model),
            completeness=completeness(operating_model),
            quarantine_reasons=sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
            draft=draft,
            # issue 20: what each change did
            changes=change_rows(doc.get("change_effects", [])),
        )
    )


def safe_cell(value: Any) -> str:
    """A CSV cell that spreadsheets will not run as a formula."""
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def quarantine_csv(rows: list[dict[str, Any]]) -> str:
    """Quarantined rows of one source: file, line, reasons and the raw row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "line", "reasons", "raw_row"])
    for row in rows:
        writer.writerow(
            [
                safe_cell(row["path"]),
                row["line"],
                safe_cell("; ".join(row["reasons"])),
                safe_cell(json.dumps(row["raw"], ensure_ascii=False)),
            ]
        )
    return buffer.getvalue()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file so readers never see half of it (temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk must not leave half files behind
        raise


def write_report_files(
    folder: Path, html: str, quarantine: list[dict[str, Any]]
) -> dict[str, Path]:
    """readiness.html and one quarantine CSV per source."""
    for source in SOURCES:
        rows = [r for r in quarantine if r["source"] == source]
        write_atomic(folder / "quarantine" / f"{source}.csv", quarantine_csv(rows))
    html_path = folder / "readiness.html"
    write_atomic(html_path, html)
    return {"html": html_path}


def generated_at() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
