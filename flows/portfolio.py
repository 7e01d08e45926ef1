"""The `portfolio-readiness` Prefect flow: every pilot's weekly run in parallel, then one index.

A pilot whose `weekly-readiness/<pilot>` deployment exists and is polled (a worker of its work
pool, or `pilot-readiness serve`, is online) runs as a deployment run: one flow run per pilot
submitted to the pool, so the pool's workers share the pilots. Any other pilot runs as a subflow
inside a task of this flow's thread-pool task runner, in this process. Either way the pilots run
side by side, one failing pilot neither stops nor fails the others, and each is a child flow run
of the portfolio in the UI. The flow then writes `<out>/index.html` and `<out>/portfolio.json`
(rendered by `reports.portfolio`) and completes, also when some pilots failed.

Deployment runs write their reports where the portfolio reads them (`<out>/<pilot>/<week>/`),
so `out_dir` must be a folder the workers share with the portfolio.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.deployments import FLOW_NAME, pilot_files
from flows.pilot import load_pilot
from flows.weekly_readiness import (
    WeeklyRunResult,
    resolve_week,
    warehouse_url,
    weekly_readiness,
)
from models.results import Week
from models.settings import Settings
from pipelines.warehouse.engine import make_engine
from reports.portfolio import (
    error_line,
    portfolio_document,
    report_link,
    write_portfolio,
)
from reports.rerun import rerun_command

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun
    from prefect.client.schemas.responses import DeploymentResponse


@dataclass(frozen=True)
class PortfolioResult:
    """What a portfolio run produced: the index, the JSON and which pilots failed (id: error)."""

    index_html: Path
    portfolio_json: Path
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _plan(path: Path, inbox_root: Path, week: str | None) -> dict[str, Any]:
    """Pilot id, title and week of one file; an unreadable file still gets an entry (its
    subflow then fails with the operating model error)."""
    try:
        operating_model = load_pilot(path)
    except ValueError:
        return {
            "pilot": path.stem,
            "title": path.stem,
            "week": week,
            "inbox": inbox_root / path.stem,
        }
    return {
        "pilot": operating_model.pilot,
        "title": operating_model.title,
        "week": resolve_week(operating_model, week).label,
        "inbox": inbox_root / operating_model.pilot,
    }


@task(name="pilot-week", cache_policy=NO_CACHE)
def pilot_week_task(
    pilot: Path, inbox: Path, week: str | None, out_dir: Path, db_url: str | None, send_email: bool
) -> WeeklyRunResult:
    """One pilot's weekly run, as a subflow (its own flow run in the UI)."""
    return weekly_readiness(
        pilot=pilot, inbox=inbox, week=week, out_dir=out_dir, db_url=db_url, send_email=send_email
    )


def polled_deployments(pilots: list[str]) -> dict[str, DeploymentResponse]:
    """The `weekly-readiness` deployments of `pilots` that something runs: those the server
    marks READY, i.e. polled lately by a worker of their pool or by `pilot-readiness serve`.
    A deployment nobody polls would leave its run waiting, so its pilot runs in this process."""
    if not pilots:
        return {}
    from prefect import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowFilter,
        FlowFilterName,
    )
    from prefect.client.schemas.objects import DeploymentStatus

    with get_client(sync_client=True) as client:
        found = client.read_deployments(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=pilots)),
        )
    return {d.name: d for d in found if d.status == DeploymentStatus.READY}


def _wait_for_runs(
    runs: dict[int, FlowRun], start_wait_seconds: float, poll_seconds: float = 2.0
) -> dict[int, FlowRun]:
    """The deployment runs once each has reached a final state (completed, failed, crashed or
    cancelled), read back from the API. A run that no worker has taken within
    `start_wait_seconds` (its workers stopped after polling) is cancelled with that cause."""
    from prefect import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    done: dict[int, FlowRun] = {}
    deadline = time.monotonic() + start_wait_seconds
    with get_client(sync_client=True) as client:
        while len(done) < len(runs):
            for index, run in runs.items():
                if index in done:
                    continue
                current = client.read_flow_run(run.id)
                if current.state is not None and current.state.is_final():
                    done[index] = current
                elif (
                    current.state is not None
                    and current.state.type == StateType.SCHEDULED
                    and time.monotonic() > deadline
                ):
                    message = (
                        f"no worker of work pool {current.work_pool_name} started the run within "
                        f"{start_wait_seconds:.0f} s: start one (uv run prefect worker start "
                        f"--pool {current.work_pool_name}) or run with --no-deployments"
                    )
                    client.set_flow_run_state(run.id, Cancelled(message=message), force=True)
                    done[index] = client.read_flow_run(run.id)
            if len(done) < len(runs):
                time.sleep(poll_seconds)
    return done


# Prefect's message on a flow run that raised: the exception line the index shows follows it.
_RAISED = "Flow run encountered an exception: "


def _deployment_outcome(run: FlowRun, entry: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """What the index shows of a finished deployment run: from the readiness.json it wrote
    under `<out>/<pilot>/<week>/` when it completed, else from its final state's message."""
    state = run.state
    if state is None or not state.is_completed():
        message = (state.message if state else None) or f"run ended {state.name if state else ''}"
        return {"error": message.removeprefix(_RAISED).strip().splitlines()[0]}
    if entry["week"] is None:  # the run chose its week, so its report folder is unknown here
        return {"error": "the run completed on a worker; its week is unknown here: give --week"}
    folder = out_dir / entry["pilot"] / entry["week"]
    try:
        doc = json.loads((folder / "readiness.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {
            "error": (
                f"the run completed on a worker, but {folder / 'readiness.json'} cannot be read "
                f"here ({type(exc).__name__}): give the portfolio and the workers a shared --out"
            )
        }
    return {
        "status": "completed",
        "week": doc["week"],
        "verdict": doc["verdict"],
        "report": report_link(folder / "readiness.html", out_dir),
        "email_status": (doc.get("email") or {}).get("status"),
        "rerun": None,
    }


def _run_name() -> str:
    return f"portfolio-{flow_run.parameters.get('week') or 'last-week'}"


@flow(name="portfolio-readiness", flow_run_name=_run_name, log_prints=True)
def portfolio_readiness(
    pilots: Path | list[Path] = Path("pilots"),
    inbox_root: Path = Path("var/inbox"),
    week: str | None = None,
    out_dir: Path | None = None,
    db_url: str | None = None,
    send_email: bool = True,
    use_deployments: bool = True,
    worker_start_seconds: float = 600,
) -> PortfolioResult:
    """Run every pilot's week in parallel and write the portfolio index (index.html).

    `pilots` is a folder of operating model files or a list of them; each pilot's inbox is
    `<inbox_root>/<pilot id>/`; `week` defaults to each pilot's last complete week. A pilot
    with a polled `weekly-readiness/<pilot>` deployment runs on its work pool (with the
    deployment's own operating-model file and inbox) unless `use_deployments` is false; the
    others run in this process; a deployment run no worker starts within
    `worker_start_seconds` is cancelled and listed as failed with that cause. Completes even
    when some pilots failed: their runs are failed and the index lists their errors.
    """
    logger = get_run_logger()
    if week is not None:
        Week.check_label(week)
    settings = Settings()
    explicit_out, explicit_db = out_dir, db_url
    out_dir = Path(out_dir or settings.out_dir)
    inbox_root = Path(inbox_root)
    make_engine(
        warehouse_url(db_url, settings)
    )  # create the warehouse schema once, before the threads race to do it

    plans = [(path, _plan(path, inbox_root, week)) for path in pilot_files(pilots)]
    deployed = polled_deployments([plan["pilot"] for _, plan in plans]) if use_deployments else {}
    entries: list[dict[str, Any]] = []
    futures: dict[int, Any] = {}
    runs: dict[int, FlowRun] = {}
    seen: dict[str, Path] = {}
    for path, plan in plans:
        deployment = deployed.get(plan["pilot"])
        if deployment is not None:
            plan["inbox"] = deployment.parameters.get("inbox", plan["inbox"])
        entry = {
            "pilot": plan["pilot"],
            "title": plan["title"],
            "operating_model": str(path),
            "inbox": str(plan["inbox"]),
            "week": plan["week"],
            "status": "failed",
            "verdict": None,
            "report": None,
            "email_status": None,
            "error": None,
            "rerun": rerun_command(
                path,
                plan["inbox"],
                plan["week"],
                out_dir=explicit_out,
                db_url=explicit_db,
                send_email=send_email,
            ),
        }
        entries.append(entry)
        if plan["pilot"] in seen:
            entry["error"] = (
                f"ValueError: pilot id {plan['pilot']} is also used by {seen[plan['pilot']]}; "
                "give each operating model its own pilot id"
            )
            continue
        seen[plan["pilot"]] = path
        if deployment is not None:
            runs[len(entries) - 1] = _submit(deployment, plan, out_dir, explicit_db, send_email)
            continue
        futures[len(entries) - 1] = pilot_week_task.with_options(
            task_run_name=f"{plan['pilot']}-{plan['week'] or 'last-week'}"
        ).submit(path, plan["inbox"], plan["week"], out_dir, explicit_db, send_email)
    if runs:
        logger.info(
            "%d pilot(s) run on their work pools: %s",
            len(runs),
            ", ".join(entries[i]["pilot"] for i in runs),
        )

    for index, future in futures.items():
        future.wait()
        entry, state = entries[index], future.state
        if state.is_completed():
            result: WeeklyRunResult = future.result()
            entry.update(
                status="completed",
                week=result.week.label,
                verdict=result.verdict,
                report=report_link(result.report_html, out_dir),
                email_status=result.email_status,
                rerun=None,
            )
        else:
            outcome = state.result(raise_on_failure=False)
            entry["error"] = (
                error_line(outcome)
                if isinstance(outcome, BaseException)
                else (state.message or f"run ended {state.name}")
            )
    for index, finished in _wait_for_runs(runs, worker_start_seconds).items():
        entries[index].update(_deployment_outcome(finished, entries[index], out_dir))
    for entry in entries:
        if entry["status"] == "failed":
            logger.warning(
                "%s %s failed: %s; re-run with: %s",
                entry["pilot"],
                entry["week"] or "",
                entry["error"],
                entry["rerun"],
            )

    html, json_path = write_portfolio(out_dir, portfolio_document(entries, week))
    logger.info("portfolio index written to %s", html)
    return PortfolioResult(
        index_html=html,
        portfolio_json=json_path,
        completed=[e["pilot"] for e in entries if e["status"] == "completed"],
        failed={e["pilot"]: e["error"] for e in entries if e["status"] == "failed"},
    )


def _submit(
    deployment: DeploymentResponse,
    plan: dict[str, Any],
    out_dir: Path,
    db_url: str | None,
    send_email: bool,
) -> FlowRun:
    """Start one pilot's week as a run of its deployment (a child of this flow run) and return
    at once. The deployment keeps its own operating-model file and inbox; the reports go to
    this portfolio's folder (absolute, as the worker's folder differs). A retried portfolio
    run finds the pilot's run it started before instead of starting another."""
    from prefect.deployments import run_deployment

    parameters: dict[str, Any] = {
        "week": plan["week"],
        "out_dir": str(out_dir.resolve()),
        "send_email": send_email,
    }
    if db_url is not None:
        parameters["db_url"] = db_url
    return run_deployment(
        f"{FLOW_NAME}/{deployment.name}",
        parameters=parameters,
        timeout=0,
        idempotency_key=f"{flow_run.id}-{plan['pilot']}-{plan['week']}",
    )
