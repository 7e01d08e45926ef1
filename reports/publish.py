"""Publishing one week: the report files and the email, from stored results only."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl
from sqlalchemy import select

from checks.rules.repeats import seen_before_mask, serious_repeat_mask
from models.operating_model import OperatingModel
from models.results import Week
from models.settings import Settings
from models.warehouse import ChangeEntry, EmailDelivery, ReviewFinding
from pipelines.input_stats import week_quarantine
from pipelines.metrics import stored_metrics
from pipelines.warehouse.engine import transaction
from pipelines.warehouse.reads import read_frame
from reports.charts import cost_trend_png
from reports.email import EmailDeliveryError, build_message, send, write_eml
from reports.operating_model_page import write_operating_model_page
from reports.readiness import stored_readiness, trend
from reports.render import (
    actions,
    generated_at,
    render_html,
    write_atomic,
    write_report_files,
)


@dataclass(frozen=True)
class PublishedWeek:
    """A week's report files (readiness.json is written last, once the email status is known)."""

    folder: Path
    html: Path
    json: Path
    eml: Path
    verdict: str
    doc: dict[str, Any]


class ReportFolderNotWritable(RuntimeError):
    """The report folder cannot be written; the message names the cause and the fix."""

    stage = "output"  # what a run was checking when it found this


_REPORT_FOLDER_FIX = "point --out (or PILOT_OUT_DIR) at a folder this user can write"


def check_report_folder(out_dir: Path) -> None:
    """Make sure reports can be written under `out_dir` before a run does any work: create the
    folder and write and remove a probe file in it. Raises ReportFolderNotWritable."""
    for folder in (out_dir, *out_dir.parents):
        if folder.exists():
            if not folder.is_dir():
                where = "it is" if folder == out_dir else f"{folder} is"
                raise ReportFolderNotWritable(
                    f"cannot write reports to {out_dir}: {where} a file, not a folder; "
                    f"fix: {_REPORT_FOLDER_FIX}, or move the file away"
                )
            break
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-probe-{uuid.uuid4().hex[:12]}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ReportFolderNotWritable(
            f"cannot write reports to {out_dir}: {exc.strerror or exc}; fix: {_REPORT_FOLDER_FIX}"
        ) from exc


def report_url(published: PublishedWeek, base_url: str | None) -> str:
    """Where a reader opens the week's report: under `base_url` (PILOT_REPORT_BASE_URL, the
    report folder as served on the web) as `<pilot>/<week>/readiness.html` when it is set,
    else the file's own file:// address."""
    if not base_url:
        return published.html.resolve().as_uri()
    relative = published.html.relative_to(published.folder.parent.parent)
    return f"{base_url.rstrip('/')}/{quote(relative.as_posix())}"


def _findings(conn: Any, operating_model: OperatingModel, week: Week) -> list[dict[str, Any]]:
    """This week's findings above severity none; serious repeats (`repeat`, the definition of
    `quality.serious_repeat`) and categories seen in earlier weeks (`seen_before`) marked."""
    start, end = week.start, week.end
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
        .where(
            table.c.pilot == operating_model.pilot,
            table.c.reviewed_at < end,
            table.c.severity != "none",
        )
        .order_by(table.c.reviewed_at, table.c.ticket_id),
    )
    if rows.height == 0:
        return []
    rows = rows.with_columns(
        pl.col("reviewed_at").dt.replace_time_zone("UTC")
        if rows.schema["reviewed_at"].time_zone is None
        else pl.col("reviewed_at")
    )
    change = ChangeEntry.__table__
    changes = read_frame(
        conn,
        select(change.c.changed_at, change.c.kind).where(
            change.c.pilot == operating_model.pilot, change.c.changed_at < end
        ),
        schema={"changed_at": pl.Datetime("us", "UTC"), "kind": pl.String},
    )
    earlier = rows.filter(pl.col("reviewed_at") < start)
    week_rows = rows.filter(pl.col("reviewed_at") >= start)
    week_rows = week_rows.with_columns(
        serious_repeat_mask(week_rows, earlier, changes).alias("repeat"),
        seen_before_mask(week_rows, earlier).alias("seen_before"),
    )
    return week_rows.sort(["severity", "ticket_id"], descending=[True, False]).to_dicts()


def publish_week(
    db_url: str, operating_model: OperatingModel, week: Week, out_dir: Path, *, draft: bool = False
) -> PublishedWeek:
    """Write readiness.html, the quarantine CSVs and email.eml from stored results (`draft`: a
    week not yet ended, marked DRAFT everywhere)."""
    pilot = operating_model.pilot
    with transaction(db_url) as conn:
        readiness = stored_readiness(conn, operating_model, week)
        previous = stored_metrics(conn, pilot, week.shift(-1))
        points = trend(conn, pilot, week)
        findings = _findings(conn, operating_model, week)
        quarantine = week_quarantine(conn, pilot, week.label)
    folder = out_dir / pilot / week.label
    chart = cost_trend_png(points, operating_model.costs.max_cost_per_task)
    html = render_html(
        readiness,
        operating_model,
        chart_png=chart,
        previous_metrics=previous,
        findings=findings,
        quarantine=quarantine,
        draft=draft,
    )
    doc = {**readiness.as_json(), **({"draft": True} if draft else {})}
    paths = write_report_files(folder, html, quarantine)
    write_operating_model_page(folder, operating_model)
    message = build_message(
        doc, html, operating_model, chart, actions(readiness.outcomes, operating_model)
    )
    eml = write_eml(message, folder / "email.eml")
    return PublishedWeek(folder, paths["html"], folder / "readiness.json", eml, doc["verdict"], doc)


def stored_email_status(db_url: str, pilot: str, week: str) -> dict[str, Any] | None:
    table = EmailDelivery.__table__
    with transaction(db_url) as conn:
        row = conn.execute(
            select(table.c.status, table.c.error).where(
                table.c.pilot == pilot, table.c.week == week
            )
        ).first()
    return {"status": row.status, "error": row.error} if row else None


def record_email_status(db_url: str, pilot: str, week: str, email: dict[str, Any]) -> None:
    """Remember the week's email outcome (a sent email stays sent)."""
    table = EmailDelivery.__table__
    values = {
        "status": email["status"],
        "error": email["error"],
        "sent_at": dt.datetime.now(dt.UTC) if email["status"] == "sent" else None,
    }
    with transaction(db_url) as conn:
        where = (table.c.pilot == pilot) & (table.c.week == week)
        if conn.execute(select(table.c.status).where(where)).first():
            conn.execute(table.update().where(where).values(values))
        else:
            conn.execute(table.insert().values(pilot=pilot, week=week, **values))


def send_week_email(
    db_url: str,
    published: PublishedWeek,
    settings: Settings,
    *,
    enabled: bool = True,
    resend: bool = False,
) -> dict[str, Any]:
    """Send the week's email.eml unless disabled, not configured or already sent.

    Raises EmailDeliveryError when the server refuses or cannot be reached (callers retry).
    """
    if not enabled:
        return {"status": "disabled", "error": None}
    pilot, week = published.doc["pilot"], published.doc["week"]
    before = stored_email_status(db_url, pilot, week)
    if before and before["status"] == "sent" and not resend:
        return {"status": "sent", "error": None}
    if not settings.smtp_host:
        return {"status": "not_configured", "error": None}
    message = message_from_bytes(published.eml.read_bytes(), policy=default)
    send(message, settings)
    return {"status": "sent", "error": None}


def finish_week(published: PublishedWeek, email: dict[str, Any]) -> Path:
    """Write readiness.json: the stored results plus the email outcome and the time."""
    doc = {**published.doc, "email": email, "generated_at": generated_at()}
    write_atomic(
        published.json, json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    )
    return published.json


def publish_and_send(
    db_url: str,
    operating_model: OperatingModel,
    week: Week,
    out_dir: Path,
    settings: Settings,
    *,
    enabled: bool = True,
    resend: bool = False,
) -> PublishedWeek:
    """Report files, email (one attempt) and readiness.json, outside Prefect."""
    published = publish_week(db_url, operating_model, week, out_dir)
    try:
        email = send_week_email(db_url, published, settings, enabled=enabled, resend=resend)
    except EmailDeliveryError as exc:
        email = {"status": "failed", "error": str(exc)}
    record_email_status(db_url, operating_model.pilot, week.label, email)
    finish_week(published, email)
    return published
