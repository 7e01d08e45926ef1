"""The `portfolio-readiness` Prefect flow: every pilot's weekly run in parallel, then one index.

Each pilot's `weekly-readiness` flow runs as a subflow inside a task submitted to the flow's
default thread-pool task runner, so the pilots run side by side and one failing pilot neither
stops nor fails the others. The flow then writes `<out>/index.html` and `<out>/portfolio.json`
(rendered by `reports.portfolio`) and completes, also when some pilots failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

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


@dataclass(frozen=True)
class PortfolioResult:
    """What a portfolio run produced: the index, the JSON and which pilots failed (id: error)."""

    index_html: Path
    portfolio_json: Path
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def pilot_files(pilots: Path | str | list[Path | str]) -> list[Path]:
    """The operating model files: `*.yaml` / `*.yml` of a folder (sorted), or the given list."""
    if isinstance(pilots, (list, tuple)):
        return [Path(p) for p in pilots]
    folder = Path(pilots)
    if not folder.is_dir():
        raise FileNotFoundError(f"pilots folder {folder} does not exist or is not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise FileNotFoundError(f"no operating model files (*.yaml) in {folder}")
    return files


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
) -> PortfolioResult:
    """Run every pilot's week in parallel and write the portfolio index (index.html).

    `pilots` is a folder of operating model files or a list of them; each pilot's inbox is
    `<inbox_root>/<pilot id>/`; `week` defaults to each pilot's last complete week. Completes
    even when some pilots failed: their subflows are failed and the index lists their errors.
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

    entries: list[dict[str, Any]] = []
    futures: dict[int, Any] = {}
    seen: dict[str, Path] = {}
    for path in pilot_files(pilots):
        plan = _plan(path, inbox_root, week)
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
        futures[len(entries) - 1] = pilot_week_task.with_options(
            task_run_name=f"{plan['pilot']}-{plan['week'] or 'last-week'}"
        ).submit(path, plan["inbox"], plan["week"], out_dir, explicit_db, send_email)

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
