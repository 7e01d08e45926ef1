"""The `pilot-readiness` command line: init, model, drill, demo, run, check, generate, serve and history."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from flows import init_wizard

# Quiet, offline defaults for the embedded setup; an explicit environment still wins.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

app = typer.Typer(
    help="Weekly readiness verdicts for AI pilots.", no_args_is_help=True, add_completion=False
)

DEFAULT_PILOT = Path("pilots/support-reply-drafts.yaml")


@app.callback()
def _every_command() -> None:
    # Stack dumps (SIGUSR1, crashes), SIGTERM within seconds, tracebacks to the log file.
    from flows.process import install
    from models.settings import Settings

    install(Settings().log_file_for())


SOURCE_NAMES = ("usage", "tickets", "timesheets", "reviews", "changes")


OutDir = Annotated[
    Path | None, typer.Option(help="Report folder (default PILOT_OUT_DIR or var/reports).")
]
DbUrl = Annotated[
    str | None,
    typer.Option(help="Warehouse URL (default PILOT_DB_URL or sqlite:///var/warehouse.db)."),
]
Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        help="Also print Prefect's INFO lines (they always go to the log file: PILOT_LOG_FILE, "
        "default <output folder>/logs/pilot-readiness.log).",
    ),
]


def _flow_db_url(db: str | None) -> str | None:
    """`--db` as a flow receives it: without its password, which goes to PILOT_DB_PASSWORD of
    this process (the flow runs here and adds it back). Prefect stores flow parameters."""
    if db is None:
        return None
    from pipelines.warehouse.engine import without_password

    public, password = without_password(db)
    if password is not None:
        os.environ["PILOT_DB_PASSWORD"] = password
    return public


def _fail(message: str, exc: BaseException | None = None) -> None:
    """Print the cause (and fix) on one line; the traceback of `exc` goes to the log file."""
    if exc is not None:
        from flows.process import log_exception

        log_exception(message, exc)
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _check_prefect_api() -> None:
    """Stop early, with the fix, when a configured Prefect API does not answer. (Before any
    flow runs: Prefect's console handlers get the formatter without tracebacks here.)"""
    import httpx
    from prefect.settings import PREFECT_API_URL

    from flows.process import install

    install(None)

    url = PREFECT_API_URL.value()
    if not url:
        # Prefect's temporary local server, started now so that it dies with this process.
        from flows.prefect_server import start_temporary_server

        start_temporary_server()
        return
    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=5)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        _fail(
            f"the Prefect API at {url} is not reachable ({type(exc).__name__}). Start it with "
            "`uv run prefect server start --host 127.0.0.1`, or unset PREFECT_API_URL to let "
            "pilot-readiness start a temporary local server."
        )


MASKED_PASSWORD = "***"


def _run_db_url(db: str | None) -> str | None:
    """`--db` as the flow receives it (`_flow_db_url`). A password masked as *** (as re-run
    commands show it) is read from PILOT_DB_PASSWORD, so a printed re-run command runs as is."""
    if db is None:
        return None
    from pipelines.warehouse.engine import without_password

    public, password = without_password(db)
    if password == MASKED_PASSWORD:
        if not os.environ.get("PILOT_DB_PASSWORD"):
            _fail(
                "the --db password is masked (***); fix: set PILOT_DB_PASSWORD to the "
                "warehouse password, or give the password in --db"
            )
        return public
    return _flow_db_url(db)


def _run_failed(exc: Exception, again: str) -> None:
    """Stop a failed run with one line for a person: the cause and the fix of an expected
    failure (warehouse, report folder, inbox), the error and where its traceback is otherwise;
    then `again`, the command that re-runs the failed week and those after it."""
    from flows.process import install
    from flows.weekly_readiness import EXPECTED_FAILURES, failure_text

    line = f"run failed: {failure_text(exc)}"
    log_file = install(None)
    if not isinstance(exc, EXPECTED_FAILURES) and log_file is not None:
        line += f" (traceback in {log_file})"
    _fail(f"{line}\nre-run with: {again}", exc)


def _alert_before_run(
    operating_model, week, stage: str, error: str, command: str, out: Path | None
) -> None:
    """The failure alert of a run the command line stops before it starts (a run that starts
    alerts from the flow's own failure hooks): the operating model could be read, so its
    technical owner hears of it, or the alert is written beside the week's report."""
    import logging

    from flows.weekly_readiness import alert_failure
    from models.settings import Settings

    settings = Settings()
    logger = logging.getLogger("pilot_readiness.cli")
    alert_failure(
        operating_model,
        week.label,
        stage,
        error,
        command,
        out or settings.out_dir,
        settings,
        logger,
    )


PREFECT_STARTING = (
    "connecting to Prefect (without PREFECT_API_URL a temporary local server starts: 10-20 s)"
)


def _model(path: Path):
    from flows.pilot import load_pilot
    from models.operating_model import OperatingModelError

    try:
        return load_pilot(path)
    except OperatingModelError as exc:
        _fail(str(exc))


@app.command()
def run(
    pilot: Annotated[Path, typer.Option(help="Operating model file (pilots/<pilot>.yaml).")],
    inbox: Annotated[
        str,
        typer.Option(
            help="Inbox folder (or fsspec URL such as s3://bucket/inbox) with usage/, tickets/, timesheets/, reviews/, changes/."
        ),
    ],
    week: Annotated[
        str | None, typer.Option(help="ISO week like 2026-W47; default: last complete week.")
    ] = None,
    weeks: Annotated[
        str | None,
        typer.Option(
            help="A range of weeks run oldest first, e.g. 2026-W39..2026-W46 (backfill); stops at the first failure."
        ),
    ] = None,
    out: OutDir = None,
    db: DbUrl = None,
    email: Annotated[
        bool, typer.Option("--email/--no-email", help="Send (or write) the readiness email.")
    ] = True,
    resend: Annotated[
        bool, typer.Option(help="Send the email again even if it was sent before.")
    ] = False,
    allow_partial_week: Annotated[
        bool,
        typer.Option(
            help="Allow a week that has not ended: a DRAFT report under <out>/drafts, no email, nothing stored."
        ),
    ] = False,
    verbose: Verbose = False,
) -> None:
    """Run one pilot's week (or a range): ingest, check, load, facts, rules and report. Exit 1
    when a run failed."""
    from flows import console
    from models.results import Week

    console.route_logs(verbose, out)
    operating_model = _model(pilot)
    if week and weeks:
        _fail("give either --week or --weeks, not both")
    try:
        if weeks:
            asked = Week.parse_range(weeks, operating_model.timezone)
        else:
            asked = [Week.parse(week, operating_model.timezone)] if week else []
    except ValueError as exc:
        _fail(str(exc))
    if not allow_partial_week:
        for not_ended in (w for w in asked if not w.has_ended()):
            _fail(not_ended.not_ended_message())
    # No week given: the flow takes the last complete one.
    labels: list[str | None] = [w.label for w in asked] or [None]
    from pipelines.remote_inbox import is_remote
    from reports.rerun import rerun_command

    def again(first: str | None, weeks_asked: str | None) -> str:
        """The command that re-runs from week `first` (and `weeks_asked`) with this run's options."""
        return rerun_command(
            pilot,
            inbox,
            first,
            weeks=weeks_asked,
            out_dir=out,
            db_url=db,
            send_email=email,
            resend=resend,
            allow_partial_week=allow_partial_week,
            verbose=verbose,
        )

    if not is_remote(inbox) and not Path(inbox).is_dir():
        from flows.weekly_readiness import inbox_missing_message

        missing = inbox_missing_message(inbox)
        week_missed = asked[0] if asked else Week.last_complete(operating_model.timezone)
        command = again(week_missed.label, weeks)
        _alert_before_run(operating_model, week_missed, "inbox", missing, command, out)
        _fail(missing)
    flow_db = _run_db_url(db)
    with console.working(PREFECT_STARTING):
        _check_prefect_api()
    from flows.weekly_readiness import weekly_readiness

    for position, label in enumerate(labels):
        try:
            with console.watch_week(label) as watch:
                result = weekly_readiness(
                    pilot=pilot,
                    inbox=inbox,
                    week=label,
                    out_dir=out,
                    db_url=flow_db,
                    send_email=email,
                    resend=resend,
                    allow_partial_week=allow_partial_week,
                )
        except Exception as exc:
            rest = labels[position:]
            _run_failed(exc, again(rest[0], f"{rest[0]}..{rest[-1]}" if len(rest) > 1 else None))
        watch.label = str(result.week)
        for line in console.week_lines(
            watch, result.verdict, result.email_status, not result.week.has_ended(), result.pilot
        ):
            typer.echo(line)
        typer.echo(str(result.report_html))


@app.command()
def check(
    source: Annotated[str, typer.Option(help="usage, tickets, timesheets, reviews or changes.")],
    file: Annotated[Path, typer.Argument(help="The file to check.")],
    pilot: Annotated[
        Path | None,
        typer.Option(
            help="Operating model (timezone, formats, prices). Default: the example pilot's "
            "timezone and prices with neutral source options (no vendor account's settings)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Validate one file without loading it; list every quarantined row. Exit 1 if refused."""
    import datetime as dt

    from flows.ingest import prepare_or_refuse
    from pipelines.prepare import InboxFile
    from pipelines.read import file_sha256

    if source not in SOURCE_NAMES:
        _fail(f"unknown source {source!r}; expected one of {', '.join(SOURCE_NAMES)}")
    if not file.is_file():
        _fail(f"{file}: no such file")
    if pilot is None:
        from pipelines.adapters import neutral_sources

        operating_model = _model(DEFAULT_PILOT).model_copy(update={"sources": neutral_sources()})
    else:
        operating_model = _model(pilot)
    try:
        sha256 = file_sha256(file)
    except OSError as exc:
        _fail(f"{file}: cannot read: {exc.strerror or exc}")
    inbox_file = InboxFile(source, file, str(file), sha256, dt.datetime.now(dt.UTC))
    prepared = prepare_or_refuse(inbox_file, operating_model)
    quarantined = (
        [
            {"line": int(line), "reasons": list(reasons)}
            for line, reasons in prepared.quarantined.select("__line__", "reasons").iter_rows()
        ]
        if not prepared.refused
        else []
    )
    settings = operating_model.source(source)
    shown = check_view(prepared, operating_model.timezone)
    result = {
        "source": source,
        "format": prepared.format,
        "adapter": prepared.adapter,
        "chosen_by": "detected" if settings.format == "auto" else "configured",
        "target": prepared.target,
        "mapping": prepared.mapping,
        "rows_read": prepared.rows_read,
        "rows_valid": prepared.valid.height if not prepared.refused else 0,
        "rows_quarantined": len(quarantined),
        "rows_duplicate": prepared.rows_duplicate_in_file,
        "rows_skipped": prepared.rows_skipped,
        "skipped": prepared.skipped,
        "refused": prepared.refused,
        "problem": whole_file_problem(prepared, quarantined),
        "quarantined": quarantined,
        **shown,
    }
    if as_json:
        typer.echo(json.dumps(result, indent=2, allow_nan=False))
    else:
        if prepared.adapter:
            typer.echo(
                f"{file}: export format {prepared.adapter} ({result['chosen_by']}), "
                f"{prepared.format} file, rows go to {prepared.target or source}"
            )
        if prepared.refused:
            typer.echo(f"{file}: refused: {prepared.refused}")
        else:
            typer.echo("mapping applied:")
            for column, origin in prepared.mapping.items():
                typer.echo(f"  {column} <- {origin}")
            typer.echo(
                f"{file}: {result['rows_read']} rows read, {result['rows_valid']} valid, "
                f"{result['rows_quarantined']} quarantined, {result['rows_duplicate']} duplicate"
                + (f", {prepared.rows_skipped} skipped" if prepared.rows_skipped else "")
            )
            for reason, count in prepared.skipped.items():
                typer.echo(f"  skipped {count}: {reason}")
            for row in quarantined:
                typer.echo(f"  line {row['line']}: {'; '.join(row['reasons'])}")
            for line in check_lines(shown):
                typer.echo(line)
    if result["problem"] and not as_json:
        typer.echo(f"{file}: {result['problem']}")
    if prepared.refused or result["problem"]:
        raise typer.Exit(1)


def whole_file_problem(prepared, quarantined: list[dict]) -> str | None:
    """Why a file that is read would still be useless: every timesheet row lacks an activity
    (nothing classified it), which `check` reports with exit 1."""
    if prepared.refused or prepared.target != "timesheets":
        return None
    records = prepared.rows_read - prepared.rows_duplicate_in_file - prepared.rows_skipped
    missing = sum("activity is missing" in row["reasons"] for row in quarantined)
    if records and missing == records:
        return f"{missing} of {records} rows have no activity: set activity_map or default_activity"
    return None


def check_view(prepared, timezone: str) -> dict[str, object]:
    """What `check` shows of how a file will load: the encoding and date order chosen and why,
    the rows per ISO week (in the pilot's timezone) and the first rows as they will be stored."""
    from models.sources import SPECS
    from pipelines.weeks import rows_per_week

    not_read = {"value": None, "chosen_by": "not read by this format"}
    view: dict[str, object] = {
        "encoding": prepared.choices.get("encoding", not_read),
        "date_order": prepared.choices.get("date_order", not_read),
        "weeks": {},
        "preview": [],
    }
    if prepared.refused or prepared.target not in SPECS:
        return view
    spec = SPECS[prepared.target]
    view["weeks"] = rows_per_week(prepared.valid, spec.week_columns, timezone)
    columns = [c for c in spec.columns if c in prepared.valid.columns]
    view["preview"] = [
        {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
        for row in prepared.valid.sort("__line__").head(5).select(columns).iter_rows(named=True)
    ]
    return view


def check_lines(view: dict[str, object]) -> list[str]:
    """The human form of `check_view`."""
    lines = [
        f"{key}: {choice['value'] or '-'} ({choice['chosen_by']})"
        for key in ("encoding", "date_order")
        for choice in [view[key]]
        if isinstance(choice, dict)
    ]
    weeks = view["weeks"]
    if isinstance(weeks, dict) and weeks:
        lines.append("rows per week: " + ", ".join(f"{w} {n}" for w, n in weeks.items()))
    preview = view["preview"]
    if isinstance(preview, list) and preview:
        lines.append("first rows as stored:")
        lines += [
            "  " + ", ".join(f"{k}={v}" for k, v in row.items() if v is not None) for row in preview
        ]
    return lines


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the inbox into.")],
    weeks: Annotated[int, typer.Option(min=1, help="Number of weeks.")] = 8,
    usage_rows_per_week: Annotated[
        int | None, typer.Option(min=1, help="Usage rows per week (default: natural ~1,250).")
    ] = None,
    tickets_per_week: Annotated[
        int | None, typer.Option(min=1, help="Tickets per weekly export (default: natural ~550).")
    ] = None,
    timesheet_entries_per_week: Annotated[
        int | None, typer.Option(min=0, help="Timesheet entries per week (default: natural ~75).")
    ] = None,
    reviews_per_week: Annotated[
        int | None,
        typer.Option(min=0, max=122_400, help="Reviews per week (default: natural 14-30)."),
    ] = None,
    changes_total: Annotated[
        int | None, typer.Option(min=0, help="Entries of the whole change log (default: 3-5).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same files.")] = 7,
    last_week: Annotated[str, typer.Option(help="The newest generated week.")] = "2026-W46",
    agents: Annotated[
        int | None, typer.Option(min=1, help="Support agents sharing the tickets (default: 8).")
    ] = None,
    spread_calls: Annotated[
        bool,
        typer.Option(
            help="Spread each ticket's model calls at random over the rest of the week and write "
            "the usage rows in random order (several gateway pods' logs merged)."
        ),
    ] = False,
) -> None:
    """Write a synthetic inbox for the example pilot at any scale.

    The large week of the performance targets: --weeks 1 --usage-rows-per-week 5000000
    --tickets-per-week 500000 --timesheet-entries-per-week 100000 --reviews-per-week 1000
    --changes-total 10; the same week as merged gateway logs adds --agents 200 --spread-calls.
    """
    from pipelines.demo.canonical import generate_inbox

    generated = generate_inbox(
        out,
        weeks=weeks,
        usage_rows_per_week=usage_rows_per_week,
        tickets_per_week=tickets_per_week,
        timesheet_entries_per_week=timesheet_entries_per_week,
        reviews_per_week=reviews_per_week,
        changes_total=changes_total,
        seed=seed,
        last_week=last_week,
        agents=agents,
        spread_calls=spread_calls,
    )
    typer.echo(
        f"wrote {sum(generated.rows.values()):,} rows for weeks {generated.weeks[0]}..{generated.weeks[-1]} to {out}"
    )
    for source, count in sorted(generated.rows.items()):
        typer.echo(f"  {source}: {count:,} rows")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Demo folder (inbox, warehouse and reports).")] = Path(
        "var/demo"
    ),
    weeks: Annotated[int, typer.Option(min=1, help="Number of weeks.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    db: Annotated[
        str | None, typer.Option(help="Warehouse URL (default: SQLite file in the demo folder).")
    ] = None,
    vendor: Annotated[
        bool,
        typer.Option(
            "--vendor",
            help="Deliver the exports as LiteLLM spend logs, Zendesk ticket pages and Toggl "
            "CSVs (reviews and changes stay canonical) instead of canonical files.",
        ),
    ] = False,
    verbose: Verbose = False,
    open_report: Annotated[
        bool, typer.Option("--open", help="Open the newest report in the browser at the end.")
    ] = False,
) -> None:
    """Generate a demo inbox for the example pilot and run every week in order.

    Each week's exports are delivered to the inbox just before that week runs, as they would
    arrive in real life. Prints one line per week (verdict, rows, time per stage), then the
    newest week's verdict with its reasons, the report's path and the `history` command that
    reads the demo's warehouse. With --vendor the same data arrives
    in vendor export formats and gives the same facts.
    """
    from flows import console
    from flows.weekly_readiness import weekly_readiness
    from pipelines.demo.canonical import generate_inbox

    console.route_logs(verbose, out)
    if not DEFAULT_PILOT.is_file():
        _fail(f"{DEFAULT_PILOT} not found: run the demo from the project folder")
    with console.working(PREFECT_STARTING):
        _check_prefect_api()
    with console.working(f"writing {weeks} weeks of demo exports to {out / 'exports'}"):
        generated = generate_inbox(out / "exports", weeks=weeks, seed=seed)
    if vendor:
        from flows.ingest import prepare_file
        from pipelines.demo.vendor import write_vendor_inbox

        generated = write_vendor_inbox(
            generated, out / "vendor-exports", _model(DEFAULT_PILOT), prepare_file
        )
    inbox = out / "inbox"
    db_url = _flow_db_url(db) or f"sqlite:///{(out / 'warehouse.db').as_posix()}"
    result = None
    for week in generated.weeks:
        for path in generated.files_by_week[week]:
            target = inbox / path.relative_to(generated.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)  # keeps the export time (mtime): newest export wins
        try:
            with console.watch_week(week) as watch:
                result = weekly_readiness(
                    pilot=DEFAULT_PILOT,
                    inbox=inbox,
                    week=week,
                    out_dir=out / "reports",
                    db_url=db_url,
                    send_email=True,
                )
        except Exception as exc:
            _fail(f"demo week {week} failed: {type(exc).__name__}: {exc}", exc)
        for line in console.week_lines(watch, result.verdict, result.email_status, False):
            typer.echo(line)
    assert result is not None
    typer.echo("")
    for line in console.verdict_lines(result.report_json):
        typer.echo(line)
    typer.echo(f"report: {result.report_html}")
    if open_report and not console.open_report(result.report_html):
        typer.echo("no browser could be started: open the report above by hand", err=True)
    typer.echo(f"every week's verdict: {history_command(DEFAULT_PILOT, db_url)}")


DEMO_WAREHOUSE = Path("var/demo/warehouse.db")


def history_command(pilot: Path, db_url: str) -> str:
    """The exact `history` command for a pilot and warehouse, ready to paste."""
    return shlex.join(
        ["uv", "run", "pilot-readiness", "history", "--pilot", str(pilot), "--db", db_url]
    )


def no_warehouse_message(missing: Path) -> str:
    """Why `history` reads nothing at `missing`, and the command that reads a warehouse that
    exists (the demo's, when it ran) or how to fill this one."""
    message = f"no warehouse at {missing}"
    if DEMO_WAREHOUSE.is_file() and missing.resolve() != DEMO_WAREHOUSE.resolve():
        demo_url = f"sqlite:///{DEMO_WAREHOUSE.as_posix()}"
        return f"{message}; the demo's is {DEMO_WAREHOUSE}: add --db {demo_url}"
    return (
        f"{message}: run a week first (pilot-readiness run or demo), or point --db (or "
        "PILOT_DB_URL) at the warehouse the runs wrote"
    )


@app.command()
def history(
    pilot: Annotated[Path, typer.Option(help="Operating model file.")],
    db: Annotated[str | None, typer.Option(help="Warehouse URL.")] = None,
) -> None:
    """Print the verdict and failing rule ids of every stored week."""
    from sqlalchemy import select

    from models.settings import Settings
    from models.warehouse import RuleResult, WeeklyMetric
    from pipelines.warehouse.engine import missing_sqlite_file, transaction

    operating_model = _model(pilot)
    url = db or Settings().db_url
    missing = missing_sqlite_file(url)
    if missing is not None:
        # Reading must not create an empty warehouse: say where one is instead.
        _fail(no_warehouse_message(missing))
    metric, rule = WeeklyMetric.__table__, RuleResult.__table__
    with transaction(url) as conn:
        weeks = conn.execute(
            select(metric.c.week, metric.c.verdict)
            .where(metric.c.pilot == operating_model.pilot)
            .order_by(metric.c.week)
        ).all()
        failing: dict[str, list[str]] = {}
        for row in conn.execute(
            select(rule.c.week, rule.c.rule_id)
            .where(rule.c.pilot == operating_model.pilot, rule.c.status == "fail")
            .order_by(rule.c.week, rule.c.rule_id)
        ):
            failing.setdefault(row.week, []).append(row.rule_id)
    if not weeks:
        typer.echo(f"no stored weeks for {operating_model.pilot}")
    for week, verdict in weeks:
        typer.echo(
            f"{week}  {verdict or 'not evaluated':16} {', '.join(failing.get(week, [])) or '-'}"
        )


def _refuse_temporary_server(command: str, temporary: bool = False) -> None:
    """Refuse to schedule on Prefect's temporary server (it disappears with this process, and
    the schedules with it) unless `temporary` is allowed."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value() and not temporary:
        _fail(
            f"{command}: PREFECT_API_URL is not set, so the deployments and their schedules "
            "would live on a temporary Prefect server that disappears when this command stops. "
            "Start a server "
            "(`uv run prefect server start --host 127.0.0.1`) and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api"
            + (", or add --temporary to try it out." if command == "serve" else ".")
        )


def _pilot_deployments(pilots: Path, inbox_root: str, work_pool: str = "local"):
    """The pilots' deployments, or the one-line cause of why they cannot be made."""
    from flows.deployments import pilot_deployments

    try:
        return pilot_deployments(pilots, inbox_root, work_pool)
    except (OSError, ValueError) as exc:
        _fail(str(exc))


def _missing_inboxes(deployments, inbox_root: str) -> list[str]:
    """One line per pilot whose local inbox folder does not exist: the pilot, the path, the fix."""
    from pipelines.remote_inbox import is_remote

    lines = []
    for deployment in deployments:
        inbox = deployment.parameters["inbox"]
        if not is_remote(inbox) and not Path(inbox).is_dir():
            lines.append(
                f"pilot {deployment.name}: inbox {inbox} does not exist; create it and deliver "
                f"the exports there, or point --inbox-root (now {inbox_root}) at the folder "
                f"that holds {deployment.name}/"
            )
    return lines


PilotsDir = Annotated[Path, typer.Option(help="Folder of operating model files.")]
InboxRoot = Annotated[
    str,
    typer.Option(help="Inboxes live in <inbox-root>/<pilot>/ (a folder or an s3://... URL)."),
]


@app.command()
def serve(
    pilots: PilotsDir = Path("pilots"),
    inbox_root: InboxRoot = "var/inbox",
    temporary: Annotated[
        bool,
        typer.Option(
            "--temporary",
            help="Allow a temporary Prefect server when PREFECT_API_URL is unset (schedules "
            "end with this process; for trying it out).",
        ),
    ] = False,
) -> None:
    """Serve every pilot's weekly schedule (report.run_at in the pilot's timezone) from this process.

    Needs a Prefect server (PREFECT_API_URL) unless --temporary; every local inbox must exist.
    """
    _refuse_temporary_server("serve", temporary)
    deployments = _pilot_deployments(pilots, inbox_root)
    missing = _missing_inboxes(deployments, inbox_root)
    if missing:
        for line in missing[:-1]:
            typer.secho(line, fg=typer.colors.RED, err=True)
        _fail(missing[-1])
    _check_prefect_api()
    from prefect import serve as prefect_serve

    from flows.deployments import serve_deployments

    prefect_serve(*serve_deployments(deployments))


@app.command()
def deploy(
    pilots: PilotsDir = Path("pilots"),
    inbox_root: InboxRoot = "var/inbox",
    work_pool: Annotated[
        str,
        typer.Option(
            help="Work pool the deployments run on (a process pool is created if missing)."
        ),
    ] = "local",
    write_yaml: Annotated[
        bool,
        typer.Option(
            "--write-yaml",
            help="Write ./prefect.yaml (for `prefect deploy --all`) instead of registering.",
        ),
    ] = False,
) -> None:
    """Register one deployment per pilot file (its schedule and timezone from the operating
    model) on the Prefect server of PREFECT_API_URL, for a work pool's workers to run."""
    deployments = _pilot_deployments(pilots, inbox_root, work_pool)
    if write_yaml:
        from flows.deployments import prefect_yaml

        target = Path("prefect.yaml")
        target.write_text(prefect_yaml(pilots, inbox_root, work_pool), encoding="utf-8")
        typer.echo(f"wrote {target} with {len(deployments)} deployment(s)")
        return
    _refuse_temporary_server("deploy")
    _check_prefect_api()
    from flows.deployments import deploy as register
    from flows.deployments import ensure_work_pool

    if ensure_work_pool(work_pool):
        typer.echo(f"created work pool {work_pool} (type process)")
    for line in _missing_inboxes(deployments, inbox_root):
        typer.secho(f"warning: {line} (before the first run)", fg=typer.colors.YELLOW, err=True)
    register(pilots, inbox_root, work_pool)
    for d in deployments:
        typer.echo(
            f"{d.full_name}: {d.run_at} {d.timezone} (cron {d.cron}), pilot {d.parameters['pilot']}, "
            f"inbox {d.parameters['inbox']}, pool {work_pool}"
        )
    typer.echo(f"start a worker (from this folder): uv run prefect worker start --pool {work_pool}")


@app.command()
def portfolio(
    pilots: Annotated[Path, typer.Option(help="Folder of operating model files.")] = Path("pilots"),
    inbox_root: Annotated[Path, typer.Option(help="Inboxes live in <inbox-root>/<pilot>/.")] = Path(
        "var/inbox"
    ),
    week: Annotated[
        str | None,
        typer.Option(help="ISO week like 2026-W47; default: each pilot's last complete week."),
    ] = None,
    out: OutDir = None,
    db: DbUrl = None,
    email: Annotated[
        bool, typer.Option("--email/--no-email", help="Send (or write) each readiness email.")
    ] = True,
    deployments: Annotated[
        bool,
        typer.Option(
            "--deployments/--no-deployments",
            help="Run each deployed pilot on its work pool when a worker polls it (default), or "
            "every pilot in this process.",
        ),
    ] = True,
    verbose: Verbose = False,
) -> None:
    """Run every pilot's week in parallel and write <out>/index.html; print each completed
    pilot's verdict, then the page's path.

    Exit 0 when the portfolio completed, also when some pilots failed (each failure and its
    re-run command goes to stderr); exit 1 when the portfolio itself could not run.
    """
    from flows import console
    from models.results import Week

    console.route_logs(verbose, out)
    if not pilots.is_dir():
        _fail(f"pilots folder {pilots} is not a folder")
    if not any(pilots.glob("*.yaml")) and not any(pilots.glob("*.yml")):
        _fail(f"no operating model files (*.yaml) in {pilots}")
    if not inbox_root.is_dir():
        _fail(f"inbox root {inbox_root} is not a folder")
    if week:
        try:
            Week.check_label(week)
        except ValueError as exc:
            _fail(str(exc))
    _check_prefect_api()
    from flows.portfolio import portfolio_readiness

    try:
        result = portfolio_readiness(
            pilots=pilots,
            inbox_root=inbox_root,
            week=week,
            out_dir=out,
            db_url=_flow_db_url(db),
            send_email=email,
            use_deployments=deployments,
        )
    except Exception as exc:
        _fail(f"portfolio failed: {type(exc).__name__}: {exc}", exc)
    doc = json.loads(result.portfolio_json.read_text(encoding="utf-8"))
    for entry in doc["pilots"]:
        if entry["status"] == "completed":
            typer.echo(f"{entry['pilot']} {entry['week']}: {entry['verdict']}")
    for entry in doc["pilots"]:
        if entry["status"] == "failed":
            typer.secho(
                f"{entry['pilot']} {entry['week'] or ''} failed: {entry['error']}\n"
                f"  re-run with: {entry['rerun']}",
                fg=typer.colors.RED,
                err=True,
            )
    typer.echo(str(result.index_html))


app.command("init")(init_wizard.init)


@app.command()
def model(
    pilot: Annotated[Path, typer.Option(help="Operating model file (pilots/<pilot>.yaml).")],
    out: OutDir = None,
) -> None:
    """Write the operating model as one page (<out>/<pilot>/operating-model.html) and list
    what is still undocumented or weak."""
    from models.settings import Settings
    from reports.operating_model_page import write_operating_model_page

    operating_model = _model(pilot)
    folder = (out or Settings().out_dir) / operating_model.pilot
    typer.echo(str(write_operating_model_page(folder, operating_model)))
    init_wizard.print_completeness(operating_model)


@app.command()
def drill(
    pilot: Annotated[Path, typer.Option(help="Operating model file (pilots/<pilot>.yaml).")],
    out: OutDir = None,
) -> None:
    """Walk the operating model through a normal week and a bad week (each bad-day event alone
    and all together) on a scratch warehouse; write <out>/<pilot>/drill.html. Never touches the
    real warehouse, never sends email."""
    from flows.drill import run_drill
    from models.settings import Settings

    operating_model = _model(pilot)
    folder = (out or Settings().out_dir) / operating_model.pilot
    run = run_drill(operating_model, folder)
    for gap in run.gaps:
        typer.echo(f"not caught: {gap.event_id + ': ' if gap.event_id else ''}{gap.what}", err=True)
    typer.echo(str(run.page))


def main() -> None:  # pragma: no cover - console entry for `python -m flows.cli`
    app()
    sys.exit(0)


if __name__ == "__main__":
    main()
