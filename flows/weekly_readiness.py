"""The `weekly-readiness` Prefect flow: one pilot, one week, one thin task per stage."""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run
from sqlalchemy import func, select

from checks.verdict import store_week_verdict
from flows.ingest import ingest_inbox
from flows.monitoring import publish_artifacts, tag_flow_run
from flows.pilot import load_pilot
from models.operating_model import OperatingModel
from models.settings import Settings
from models.warehouse import Run
from pipelines.metrics import store_week_metrics
from pipelines.remote_inbox import is_remote, mirror_inbox
from pipelines.warehouse.engine import transaction
from pipelines.warehouse.locks import week_lock
from pipelines.weeks import last_complete_week, parse_week
from reports.email import failure_alert, send, write_eml
from reports.publish import (
    PublishedWeek,
    finish_week,
    publish_week,
    record_email_status,
    send_week_email,
)
from reports.rerun import rerun_command


@dataclass(frozen=True)
class WeeklyRunResult:
    """What one completed weekly run produced."""

    pilot: str
    week: str
    verdict: str
    report_html: Path
    report_json: Path
    email_status: str


def resolve_week(operating_model: OperatingModel, week: str | None) -> str:
    """The requested week, else the last complete ISO week in the pilot's timezone."""
    if week is None:
        return last_complete_week(operating_model.timezone)
    parse_week(week)
    return week


def _run_name() -> str:
    params = flow_run.parameters
    pilot = Path(str(params.get("pilot", "pilot")))
    try:
        operating_model = load_pilot(pilot)
    except ValueError:
        return f"{pilot.stem}-{params.get('week') or 'last-week'}"
    return f"{operating_model.pilot}-{params.get('week') or last_complete_week(operating_model.timezone)}"


def ingest_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    """Ingestion is reused when nothing it depends on changed: the code, the warehouse (its first
    run marks it; a new database gets a new mark), the pilot, the week and every inbox file
    (path, size, modification time). A new or re-exported file means a new key."""
    db_url, model, inbox = (
        parameters["db_url"],
        parameters["operating_model"],
        Path(parameters["inbox"]),
    )
    files = sorted(
        (p.relative_to(inbox).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
        for p in inbox.rglob("*")
        if p.is_file()
    )
    table = Run.__table__
    with transaction(db_url) as conn:
        first_run = conn.execute(
            select(func.min(table.c.started_at)).where(table.c.pilot == model.pilot)
        ).scalar()
    payload = json.dumps(
        [inspect.getsource(ingest_inbox), db_url, model.model_dump(mode="json"),
         parameters["week"], files, str(first_run)],
        sort_keys=True,
    )  # fmt: skip
    return "ingest-" + hashlib.sha256(payload.encode()).hexdigest()


@task(name="ingest", persist_result=True)
def ingest_task(
    db_url: str, operating_model: OperatingModel, inbox: Path, week: str
) -> dict[str, dict[str, int]]:
    files = ingest_inbox(db_url, operating_model, inbox, week)
    logger = get_run_logger()
    counts: dict[str, dict[str, int]] = {}
    for f in files:
        entry = counts.setdefault(
            f.source,
            {
                "files": 0,
                "refused": 0,
                "rows_read": 0,
                "rows_loaded": 0,
                "rows_quarantined": 0,
                "rows_duplicate": 0,
            },
        )
        entry["files"] += 1
        entry["refused"] += f.status == "refused"
        for key in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate"):
            entry[key] += getattr(f, key)
        if f.status == "refused":
            logger.warning("refused %s: %s", f.path, f.reason)
    for source, c in sorted(counts.items()):
        logger.info(
            "%s: %s new file(s), %s read, %s loaded, %s quarantined, %s duplicate, %s refused",
            source,
            c["files"],
            c["rows_read"],
            c["rows_loaded"],
            c["rows_quarantined"],
            c["rows_duplicate"],
            c["refused"],
        )
    if not files:
        logger.info("no new files in %s", inbox)
    return counts


@task(name="facts")
def facts_task(db_url: str, operating_model: OperatingModel, week: str) -> dict:
    return store_week_metrics(db_url, operating_model, week)


@task(name="rules")
def rules_task(db_url: str, operating_model: OperatingModel, week: str) -> str:
    verdict, results = store_week_verdict(db_url, operating_model, week)
    failing = [r.id for r in results if r.status == "fail"]
    get_run_logger().info("verdict %s; failing rules: %s", verdict, ", ".join(failing) or "none")
    return verdict


@task(name="report")
def report_task(
    db_url: str, operating_model: OperatingModel, week: str, out_dir: Path
) -> PublishedWeek:
    published = publish_week(db_url, operating_model, week, out_dir)
    get_run_logger().info("report written to %s", published.html)
    return published


@task(name="email")
def email_task(
    db_url: str, published: PublishedWeek, send_email: bool, resend: bool
) -> dict[str, Any]:
    email = send_week_email(db_url, published, Settings(), enabled=send_email, resend=resend)
    logger = get_run_logger()
    if email["status"] == "not_configured":
        logger.info("no SMTP host configured (PILOT_SMTP_HOST): email written to %s", published.eml)
    elif email["status"] == "sent":
        logger.info("email sent (or already sent earlier) to the report recipients")
    return email


@task(name="readiness-json")
def finish_task(db_url: str, published: PublishedWeek, email: dict[str, Any]) -> Path:
    record_email_status(db_url, published.doc["pilot"], published.doc["week"], email)
    return finish_week(published, email)


@task(name="artifacts")
def artifacts_task(published: PublishedWeek, email: dict[str, Any]) -> None:
    publish_artifacts(published, email)


def _record_run(db_url: str, run: dict) -> None:
    table = Run.__table__
    with transaction(db_url) as conn:
        # A retried flow run keeps its id; its first start stays (the ingest cache key uses it).
        changes = {k: v for k, v in run.items() if k != "started_at"}
        updated = conn.execute(
            table.update().where(table.c.id == run["id"]).values(changes)
        ).rowcount
        if not updated:
            conn.execute(table.insert().values(run))


@flow(name="weekly-readiness", flow_run_name=_run_name, log_prints=True)
def weekly_readiness(
    pilot: Path,
    inbox: str | Path,
    week: str | None = None,
    out_dir: Path | None = None,
    db_url: str | None = None,
    send_email: bool = True,
    resend: bool = False,
) -> WeeklyRunResult:
    """Ingest, check, load, compute facts, evaluate rules, publish and email one week.

    Only one run per pilot and week works at a time; a second one stops with RunInProgress
    (or waits up to PILOT_RUN_LOCK_WAIT_SECONDS).
    """
    settings = Settings()
    operating_model = load_pilot(pilot)
    week = resolve_week(operating_model, week)
    db_url = db_url or settings.db_url
    out_dir = Path(out_dir or settings.out_dir)
    with week_lock(db_url, operating_model.pilot, week, settings.run_lock_wait_seconds):
        return _run_week(
            operating_model,
            Path(pilot),
            str(inbox),
            week,
            out_dir,
            db_url,
            settings,
            send_email,
            resend,
        )


def _run_week(
    operating_model: OperatingModel,
    pilot: Path,
    inbox_location: str,
    week: str,
    out_dir: Path,
    db_url: str,
    settings: Settings,
    send_email: bool,
    resend: bool,
) -> WeeklyRunResult:
    run = {
        "id": str(flow_run.id or uuid.uuid4()),
        "pilot": operating_model.pilot,
        "week": week,
        "started_at": dt.datetime.now(dt.UTC),
        "status": "running",
        "stage": "ingest",
    }
    logger = get_run_logger()

    def stage(name: str) -> None:
        # Stored as it starts, so the warehouse (and a watcher) sees where a run is or stopped.
        run["stage"] = name
        _record_run(db_url, run)

    try:
        stage("ingest")
        inbox = Path(inbox_location)
        if is_remote(inbox_location):
            inbox = mirror_inbox(inbox_location, settings.inbox_cache_dir / operating_model.pilot)
            logger.info("mirrored %s to %s", inbox_location, inbox)
        if not inbox.is_dir():
            raise FileNotFoundError(f"inbox {inbox} does not exist or is not a folder")
        ingest_task.with_options(cache_key_fn=ingest_cache_key)(
            db_url, operating_model, inbox, week
        )
        stage("facts")
        facts_task(db_url, operating_model, week)
        stage("rules")
        verdict = rules_task(db_url, operating_model, week)
        stage("report")
        published = report_task(db_url, operating_model, week, out_dir)
        stage("email")
        email_state = email_task.with_options(
            retries=settings.smtp_retries,
            retry_delay_seconds=[
                settings.smtp_retry_delay_seconds * 2**i
                for i in range(max(settings.smtp_retries, 1))
            ],
        )(db_url, published, send_email, resend, return_state=True)
        if email_state.is_completed():
            email = email_state.result()
        else:
            email = {"status": "failed", "error": _error_text(email_state)}
            logger.warning("email not sent after retries: %s", email["error"])
        stage("readiness-json")
        finish_task(db_url, published, email)
        stage("artifacts")
        artifacts_task(published, email)
        tag_flow_run(operating_model.pilot, week, verdict)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        command = rerun_command(pilot, inbox_location, week)
        logger.error("run failed at stage %s: %s; re-run with: %s", run["stage"], error, command)
        _alert_failure(operating_model, week, run["stage"], error, command, out_dir, settings)
        try:
            _record_run(
                db_url,
                {**run, "status": "failed", "error": error, "finished_at": dt.datetime.now(dt.UTC)},
            )
        except Exception as record_exc:
            logger.error("could not record the failed run: %s", record_exc)
        raise
    _record_run(
        db_url,
        {**run, "status": "completed", "stage": None, "finished_at": dt.datetime.now(dt.UTC)},
    )
    return WeeklyRunResult(
        operating_model.pilot, week, verdict, published.html, published.json, email["status"]
    )


def _error_text(state: Any) -> str:
    try:
        state.result()
    except Exception as exc:
        return str(exc)
    return state.message or "email task did not complete"


def _alert_failure(
    operating_model: OperatingModel,
    week: str,
    stage: str,
    error: str,
    command: str,
    out_dir: Path,
    settings: Settings,
) -> None:
    """Best effort: email the technical owner and backup (or write the alert beside the report)."""
    logger = get_run_logger()
    message = failure_alert(operating_model, week, stage, error, command)
    try:
        if settings.smtp_host:
            send(message, settings)
            logger.info("failure alert sent to %s", message["To"])
        else:
            path = write_eml(message, out_dir / operating_model.pilot / week / "failure-alert.eml")
            logger.info("no SMTP host configured: failure alert written to %s", path)
    except Exception as exc:
        logger.warning("failure alert not delivered: %s", exc)
