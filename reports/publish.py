"""Publishing one week: the report files and the email, from stored results only."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import select

from models.db import read_frame, transaction
from models.operating_model import OperatingModel
from models.settings import Settings
from models.warehouse import ReviewFinding
from pipelines.input_stats import week_quarantine
from pipelines.weeks import shift_week, week_bounds_utc
from reports.email import build_message, deliver, write_eml
from reports.readiness import readiness_document, stored_week, trend
from reports.render import generated_at, render_html, write_report_files


@dataclass(frozen=True)
class PublishedWeek:
    folder: Path
    html: Path
    json: Path
    verdict: str
    email: dict[str, Any]


def _findings(conn: Any, model: OperatingModel, week: str) -> list[dict[str, Any]]:
    """This week's findings above severity none, repeats marked."""
    start, end = week_bounds_utc(week, model.timezone)
    table = ReviewFinding.__table__
    rows = read_frame(
        conn,
        select(
            table.c.ticket_id,
            table.c.reviewer,
            table.c.reviewed_at,
            table.c.severity,
            table.c.category,
            table.c.note,
            table.c.fix,
        )
        .where(table.c.pilot == model.pilot, table.c.reviewed_at < end, table.c.severity != "none")
        .order_by(table.c.reviewed_at, table.c.ticket_id),
    )
    if rows.height == 0:
        return []
    rows = rows.with_columns(
        pl.col("reviewed_at").dt.replace_time_zone("UTC")
        if rows.schema["reviewed_at"].time_zone is None
        else pl.col("reviewed_at")
    )
    earlier = set(
        rows.filter(pl.col("reviewed_at") < start).get_column("category").drop_nulls().to_list()
    )
    week_rows = rows.filter(pl.col("reviewed_at") >= start)
    return [
        {**r, "repeat": r["category"] in earlier and r["severity"] in ("medium", "stop_now")}
        for r in week_rows.sort(["severity", "ticket_id"], descending=[True, False]).to_dicts()
    ]


def publish_week(
    db_url: str,
    model: OperatingModel,
    week: str,
    out_dir: Path,
    settings: Settings,
    *,
    send_email: bool = True,
) -> PublishedWeek:
    """Write readiness.html/json, quarantine CSVs and email.eml; send the email if configured."""
    with transaction(db_url) as conn:
        doc = readiness_document(conn, model, week)
        previous = stored_week(conn, model.pilot, shift_week(week, -1))
        points = trend(conn, model.pilot, week)
        findings = _findings(conn, model, week)
        quarantine = week_quarantine(conn, model.pilot, week)
    folder = out_dir / model.pilot / week
    html = render_html(
        doc,
        model,
        trend=points,
        previous_metrics=json.loads(previous["metrics_json"]) if previous else None,
        findings=findings,
        quarantine=quarantine,
    )
    message = build_message(doc, html, model)
    write_eml(message, folder)
    email = deliver(message, settings) if send_email else {"status": "disabled", "error": None}
    doc = {**doc, "email": email, "generated_at": generated_at()}
    paths = write_report_files(folder, doc, html, quarantine)
    return PublishedWeek(folder, paths["html"], paths["json"], doc["verdict"], email)
