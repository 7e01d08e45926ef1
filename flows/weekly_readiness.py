"""The `weekly-readiness` Prefect flow: one pilot, one week, one thin task per stage.

Stages pass their results to the next as return values. A week whose state is unchanged reuses
its results through Prefect's task cache (`facts-and-rules`, keyed by `pipelines/week_state.py`);
failures are recorded and alerted by the flow's state hooks.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE
from prefect.client.schemas.objects import FlowRun, State
from prefect.logging.loggers import flow_run_logger
from prefect.runtime import flow_run
from sqlalchemy import select

from checks.verdict import forget_week_results, store_week_verdict
from flows.ingest import ingest_inbox
from flows.monitoring import publish_artifacts, tag_flow_run
from flows.pilot import load_pilot
from flows.process import current_log_file
from flows.progress import watcher
from models.operating_model import OperatingModel, load_operating_model
from models.results import Week
from models.settings import Settings
from models.warehouse import Run
from pipelines.metrics import store_week_metrics
from pipelines.remote_inbox import is_remote, mirror_inbox
from pipelines.warehouse.engine import (
    WarehouseError,
    checkpoint_and_truncate,
    make_engine,
    transaction,
    with_password,
)
from pipelines.warehouse.locks import RunInProgress, week_lock
from pipelines.week_state import WeekState, code_digest, week_state
from reports.email import failure_alert, send, write_eml
from reports.publish import (
    PublishedWeek,
    ReportFolderNotWritable,
    check_report_folder,
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
    week: Week
    verdict: str
    report_html: Path
    report_json: Path
    email_status: str


class WeekNotEnded(ValueError):
    """A run asked for a week that has not ended in the pilot's timezone."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse does not open before any work starts; the message says why and the fix."""

    stage = "warehouse"


class InboxMissing(FileNotFoundError):
    """The pilot's inbox folder does not exist; the message says where and the fix."""

    stage = "inbox"


# Failures a run checks for before it ingests anything: the cause and the fix are in their
# message, so a person reads one line (the traceback goes to the log file only).
EXPECTED_FAILURES: tuple[type[BaseException], ...] = (
    WarehouseUnavailable,
    ReportFolderNotWritable,
    InboxMissing,
    WeekNotEnded,
)

INBOX_FOLDERS = "usage/, tickets/, timesheets/, reviews/, changes/"


def inbox_missing_message(inbox: str | Path) -> str:
    """Why a run cannot read `inbox`, and the fix."""
    return (
        f"inbox {inbox} does not exist or is not a folder; fix: create it (with the subfolders "
        f"{INBOX_FOLDERS}) or point --inbox at the folder the exports are delivered to"
    )


def open_warehouse(db_url: str) -> None:
    """Open (and create or migrate) the warehouse before any work, so an unreachable database
    stops the run with the fix instead of after a long ingest. Raises WarehouseUnavailable."""
    try:
        make_engine(db_url)
    except WarehouseError as exc:
        if "locked" in str(exc):
            fix = (
                "another program holds the SQLite file: wait until it finishes, or raise "
                "PILOT_DB_BUSY_TIMEOUT_SECONDS"
            )
        else:
            fix = (
                "start the database server, or point --db (or PILOT_DB_URL) at a warehouse "
                "that answers"
            )
        raise WarehouseUnavailable(f"{exc}; fix: {fix}") from exc


def resolve_week(operating_model: OperatingModel, week: str | None) -> Week:
    """The requested week, else the last complete ISO week, in the pilot's timezone;
    ValueError when the requested label is not an ISO week."""
    if week is None:
        return Week.last_complete(operating_model.timezone)
    return Week.parse(week, operating_model.timezone)


def _run_name() -> str:
    params = flow_run.parameters
    pilot = Path(str(params.get("pilot", "pilot")))
    try:
        operating_model = load_pilot(pilot)
    except ValueError:
        return f"{pilot.stem}-{params.get('week') or 'last-week'}"
    return f"{operating_model.pilot}-{params.get('week') or Week.last_complete(operating_model.timezone)}"


@task(name="ingest", cache_policy=NO_CACHE)
def ingest_task(
    db_url: str, operating_model: OperatingModel, inbox: Path, week: Week
) -> dict[str, dict[str, int]]:
    files = ingest_inbox(db_url, operating_model, inbox, week, progress=watcher().file_progress)
    watcher().ingested(files)
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
                "rows_skipped": 0,
            },
        )
        entry["files"] += 1
        entry["refused"] += f.status == "refused"
        for key in (
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
            "rows_duplicate",
            "rows_skipped",
        ):
            entry[key] += getattr(f, key)
        if f.status == "refused":
            logger.warning("refused %s: %s", f.path, f.reason)
    for source, c in sorted(counts.items()):
        logger.info(
            "%s: %s new file(s), %s read, %s loaded, %s quarantined, %s duplicate, %s skipped, "
            "%s refused",
            source,
            c["files"],
            c["rows_read"],
            c["rows_loaded"],
            c["rows_quarantined"],
            c["rows_duplicate"],
            c["rows_skipped"],
            c["refused"],
        )
    if not files:
        logger.info("no new files in %s", inbox)
    return counts


# The modules whose code computes a week's facts, metrics and rules (with every project module
# they import): part of the key under which a week's results are reused.
RESULT_MODULES = ("pipelines.metrics", "checks.verdict")


@task(name="week-state", cache_policy=NO_CACHE)
def week_state_task(db_url: str, operating_model: OperatingModel, week: Week) -> WeekState:
    with transaction(db_url) as conn:
        return week_state(conn, operating_model, week.label, code_digest(*RESULT_MODULES))


# A week's results are reused (the task ends "Cached") when its inputs are equal: the warehouse
# URL, the operating model, the week, the week's state key and this task's own code.
@task(name="facts-and-rules", cache_policy=INPUTS + TASK_SOURCE, persist_result=True)
def facts_and_rules_task(
    db_url: str, operating_model: OperatingModel, week: Week, week_key: str
) -> str:
    week_facts = store_week_metrics(db_url, operating_model, week)
    verdict, results = store_week_verdict(db_url, operating_model, week, week_facts)
    failing = [r.id for r in results if r.status == "fail"]
    get_run_logger().info("verdict %s; failing rules: %s", verdict, ", ".join(failing) or "none")
    return verdict


@task(name="report", cache_policy=NO_CACHE)
def report_task(
    db_url: str, operating_model: OperatingModel, week: Week, out_dir: Path
) -> PublishedWeek:
    published = publish_week(db_url, operating_model, week, out_dir)
    get_run_logger().info("report written to %s", published.html)
    return published


@task(name="email", cache_policy=NO_CACHE)
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


@task(name="readiness-json", cache_policy=NO_CACHE)
def finish_task(db_url: str, published: PublishedWeek, email: dict[str, Any]) -> Path:
    record_email_status(db_url, published.doc["pilot"], published.doc["week"], email)
    return finish_week(published, email)


@task(name="artifacts", cache_policy=NO_CACHE)
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


def warehouse_url(db_url: str | None, settings: Settings) -> str:
    """The warehouse URL a run opens: the `db_url` parameter (or PILOT_DB_URL) with the password
    of PILOT_DB_PASSWORD added inside the run. A parameter never carries the password: Prefect
    stores flow parameters and shows them in its UI and API."""
    password = settings.db_password.get_secret_value() if settings.db_password else None
    return with_password(db_url or settings.db_url, password)


def failure_text(exc: BaseException) -> str:
    """A failure as one line for a person: an expected failure's own message (it holds the
    cause and the fix), any other exception with its type."""
    if isinstance(exc, EXPECTED_FAILURES):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _failed_run(flow: Any, run: FlowRun, state: State) -> None:
    """Flow state hook (failed or crashed run): tag the run with its pilot and week, record the
    failure in the warehouse's run table with the stage it reached, log the command that
    re-runs the week with the run's options, and alert the technical owner and backup whenever
    the pilot file can be read. Best effort: a hook never raises."""
    logger = flow_run_logger(run, flow)
    exc = _exception(state)
    if isinstance(exc, RunInProgress):
        return  # another run of the week is working: nothing failed, nothing to record
    if isinstance(exc, WeekNotEnded):
        # Asked too early: nothing ran and nothing is wrong with the pilot's data.
        logger.warning("%s", _error_text(state))
        return
    params = run.parameters
    error = failure_text(exc) if exc is not None else _error_text(state)
    try:
        settings = Settings()
        # Read leniently: an alert goes out whenever the pilot file can be read at all.
        operating_model = load_operating_model(Path(params["pilot"]))
    except Exception as problem:  # the run failed on the pilot file itself: nobody to alert
        logger.error("run failed: %s; no alert sent (%s)", error, problem)
        return
    try:
        label = resolve_week(operating_model, params.get("week")).label
    except ValueError:
        label = str(params.get("week"))
    try:
        tag_flow_run(operating_model.pilot, label, run_id=run.id)
    except Exception as problem:
        logger.warning("could not tag the failed run: %s", problem)
    db_url = warehouse_url(params.get("db_url"), settings)
    out_dir = Path(params.get("out_dir") or settings.out_dir)
    # A failure found before any work names its stage; otherwise the run table knows it.
    stage = getattr(exc, "stage", None) or "start"
    if not isinstance(exc, WarehouseUnavailable):  # (nothing to record it in)
        try:
            stage = _recorded_stage(db_url, str(run.id)) or stage
            _record_run(
                db_url,
                {
                    "id": str(run.id),
                    "pilot": operating_model.pilot,
                    "week": label,
                    "started_at": dt.datetime.now(dt.UTC),
                    "status": "failed",
                    "stage": stage,
                    "error": error[:2000],
                    "finished_at": dt.datetime.now(dt.UTC),
                },
            )
        except Exception as problem:
            logger.error("could not record the failed run: %s", problem)
    command = rerun_command(
        Path(params["pilot"]),
        str(params.get("inbox")),
        label,
        out_dir=Path(params["out_dir"]) if params.get("out_dir") else None,
        # With the password (masked in the command) when the run had one.
        db_url=db_url if params.get("db_url") else None,
        send_email=params.get("send_email", True),
        resend=params.get("resend", False),
        allow_partial_week=params.get("allow_partial_week", False),
    )
    logger.error("run failed at stage %s: %s; re-run with: %s", stage, error, command)
    alert_failure(operating_model, label, stage, error, command, out_dir, settings, logger)


@flow(
    name="weekly-readiness",
    flow_run_name=_run_name,
    log_prints=True,
    on_failure=[_failed_run],
    on_crashed=[_failed_run],
)
def weekly_readiness(
    pilot: Path,
    inbox: str | Path,
    week: str | None = None,
    out_dir: Path | None = None,
    db_url: str | None = None,
    send_email: bool = True,
    resend: bool = False,
    allow_partial_week: bool = False,
) -> WeeklyRunResult:
    """Ingest, check, load, compute facts, evaluate rules, publish and email one week.

    `db_url` is given without its password (PILOT_DB_PASSWORD supplies it inside the run).
    A week that has not ended is refused (WeekNotEnded); with `allow_partial_week` it gives a
    DRAFT report under `<out_dir>/drafts/`, sends no email and leaves no verdict in history.
    Only one run per pilot and week works at a time; a second one stops with RunInProgress
    (or waits up to PILOT_RUN_LOCK_WAIT_SECONDS). A failed or crashed run is recorded and
    alerted by the flow's state hooks.
    """
    settings = Settings()
    operating_model = load_pilot(pilot)
    run_week = resolve_week(operating_model, week)
    # Tagged now, not at the end: a run that fails or crashes must be found by its week too.
    try:
        tag_flow_run(operating_model.pilot, run_week.label)
    except Exception as exc:  # the UI's filter, not the week's result, depends on it
        get_run_logger().warning("could not tag the run with its pilot and week: %s", exc)
    draft = not run_week.has_ended()
    if draft and not allow_partial_week:
        raise WeekNotEnded(run_week.not_ended_message())
    db_url = warehouse_url(db_url, settings)
    out_dir = Path(out_dir or settings.out_dir)
    # Before any work: the report folder can be written, the warehouse opens, the inbox exists.
    check_report_folder(out_dir / "drafts" if draft else out_dir)
    open_warehouse(db_url)
    if not is_remote(str(inbox)) and not Path(inbox).is_dir():
        raise InboxMissing(inbox_missing_message(inbox))
    with week_lock(db_url, operating_model.pilot, run_week.label, settings.run_lock_wait_seconds):
        if draft:
            return _draft_week(operating_model, str(inbox), run_week, out_dir, db_url, settings)
        return _run_week(
            operating_model, str(inbox), run_week, out_dir, db_url, settings, send_email, resend
        )


def _local_inbox(inbox_location: str, operating_model: OperatingModel, settings: Settings) -> Path:
    """The inbox as a local folder: a remote one (s3://...) mirrored first."""
    inbox = Path(inbox_location)
    if is_remote(inbox_location):
        inbox = mirror_inbox(inbox_location, settings.inbox_cache_dir / operating_model.pilot)
        get_run_logger().info("mirrored %s to %s", inbox_location, inbox)
    if not inbox.is_dir():
        raise InboxMissing(inbox_missing_message(inbox))
    return inbox


def _draft_week(
    operating_model: OperatingModel,
    inbox_location: str,
    week: Week,
    out_dir: Path,
    db_url: str,
    settings: Settings,
) -> WeeklyRunResult:
    """A week not yet ended, as far as its data goes: the report marked DRAFT under
    `<out_dir>/drafts/`, no email, and the week's metrics and verdict removed again so history
    and green streaks never see it."""
    logger = get_run_logger()
    ingest_task(
        db_url, operating_model, _local_inbox(inbox_location, operating_model, settings), week
    )
    try:
        week_facts = store_week_metrics(db_url, operating_model, week)
        verdict, _ = store_week_verdict(db_url, operating_model, week, week_facts)
        published = publish_week(db_url, operating_model, week, out_dir / "drafts", draft=True)
        path = finish_week(published, {"status": "disabled", "error": None})
    finally:
        forget_week_results(db_url, operating_model.pilot, week)
    logger.warning("DRAFT of %s (week not ended) written to %s; not stored", week, published.html)
    return WeeklyRunResult(operating_model.pilot, week, verdict, published.html, path, "disabled")


def _run_week(
    operating_model: OperatingModel,
    inbox_location: str,
    week: Week,
    out_dir: Path,
    db_url: str,
    settings: Settings,
    send_email: bool,
    resend: bool,
) -> WeeklyRunResult:
    run = {
        "id": str(flow_run.id or uuid.uuid4()),
        "pilot": operating_model.pilot,
        "week": week.label,
        "started_at": dt.datetime.now(dt.UTC),
        "status": "running",
        "stage": "ingest",
    }
    logger = get_run_logger()

    def stage(name: str) -> None:
        # Stored as it starts, so the warehouse shows where a run is, or where a killed run
        # stopped, without the Prefect server (a temporary one is gone with its process).
        run["stage"] = name
        _record_run(db_url, run)
        watcher().stage(name)

    stage("ingest")
    inbox = _local_inbox(inbox_location, operating_model, settings)
    ingest_task(db_url, operating_model, inbox, week)
    stage("facts-and-rules")
    state = week_state_task(db_url, operating_model, week)
    # Results cached for this key are reused only while the warehouse still holds them.
    verdict = facts_and_rules_task.with_options(refresh_cache=not state.results_stored)(
        db_url, operating_model, week, state.key
    )
    stage("report")
    published = report_task(db_url, operating_model, week, out_dir)
    stage("email")
    email_state = email_task.with_options(
        retries=settings.smtp_retries,
        retry_delay_seconds=[
            settings.smtp_retry_delay_seconds * 2**i for i in range(max(settings.smtp_retries, 1))
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
    tag_flow_run(operating_model.pilot, week.label, verdict)
    _record_run(
        db_url,
        {**run, "status": "completed", "stage": None, "finished_at": dt.datetime.now(dt.UTC)},
    )
    checkpoint_and_truncate(db_url)  # the SQLite file alone now holds the completed week
    return WeeklyRunResult(
        operating_model.pilot, week, verdict, published.html, published.json, email["status"]
    )


def _recorded_stage(db_url: str, run_id: str) -> str | None:
    """The stage the run table holds for a run (where it failed), if the run got that far."""
    table = Run.__table__
    with transaction(db_url) as conn:
        return conn.execute(select(table.c.stage).where(table.c.id == run_id)).scalar()


def _exception(state: Any) -> BaseException | None:
    """The exception a failed or crashed state holds, if it holds one."""
    try:
        outcome = state.result(raise_on_failure=False)
    except BaseException as exc:
        outcome = exc
    return outcome if isinstance(outcome, BaseException) else None


def _error_text(state: Any) -> str:
    exc = _exception(state)
    if exc is not None:
        return f"{type(exc).__name__}: {exc}"[:2000]
    return (state.message or "the run did not complete")[:2000]


def alert_failure(
    operating_model: OperatingModel,
    week: str,
    stage: str,
    error: str,
    command: str,
    out_dir: Path,
    settings: Settings,
    logger: Any,
) -> None:
    """Best effort: email the technical owner and backup, or without an SMTP host write the
    alert beside the week's report (beside the log file when the report folder is the problem)."""
    message = failure_alert(operating_model, week, stage, error, command)
    try:
        if settings.smtp_host:
            send(message, settings)
            logger.info("failure alert sent to %s", message["To"])
            return
        name = "failure-alert.eml"
        try:
            path = write_eml(message, out_dir / operating_model.pilot / week / name)
        except OSError:
            log_file = current_log_file() or settings.log_file_for()
            folder = log_file.parent / "failure-alerts"
            path = write_eml(message, folder / f"{operating_model.pilot}-{week}-{name}")
        logger.info("no SMTP host configured: failure alert written to %s", path)
    except Exception as exc:
        logger.warning("failure alert not delivered: %s", exc)
