"""The bad-day drill's events: each one a change to a normal week's demo exports.

The drill does not have a generator of its own: it takes the demo generator's files for one
normal week and edits them, one event at a time, so that each event is the only difference
from the normal week. Category names, the reviewer and the limits come from the pilot's own
operating model, so the drill tests that model's thresholds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from models.operating_model import OperatingModel

# The share of a week's model calls that time out in a burst (a provider outage afternoon).
TIMEOUT_BURST_SHARE = 0.25
# A cost spike puts the model cost of a task at this many times the pilot's limit per task.
COST_SPIKE_TIMES_LIMIT = 2.0
UNDOCUMENTED_PROMPT_VERSION = "drill-hotfix"


@dataclass(frozen=True)
class WeekFiles:
    """One week's exports in a folder, one sub-folder per source (what an inbox holds)."""

    root: Path
    label: str

    def of(self, source: str) -> list[Path]:
        folder = self.root / source
        return sorted(folder.glob(f"*{self.label}*")) if folder.is_dir() else []


@dataclass(frozen=True)
class DrillEvent:
    """One bad-day event: what happens, and how it is written into the week's exports."""

    id: str
    title: str
    what: str
    # Writes the event into the week's files; returns why it cannot be staged for this
    # operating model (e.g. it excludes no category), or None.
    apply: Callable[[WeekFiles, OperatingModel], str | None] = field(repr=False)


@dataclass(frozen=True)
class EventResult:
    """What the warehouse made of one drill week: its verdict and every rule outcome, plus
    the rules that fired only because of the event (against the normal week)."""

    event_id: str
    title: str
    what: str
    verdict: str | None
    fired: list[str]
    new_fired: list[str]
    actions: list[dict[str, object]]
    not_staged: str | None = None


def _read_usage(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema_length=0)  # text as written, so nothing is reformatted


def _write_usage(path: Path, frame: pl.DataFrame) -> None:
    if path.suffix == ".parquet":
        frame.write_parquet(path, statistics=False)
    else:
        frame.write_csv(path)


def _usage_files(week: WeekFiles) -> list[Path]:
    files = [p for p in week.of("usage") if p.suffix in (".csv", ".parquet")]
    if not files:
        raise ValueError(f"the drill week {week.label} has no usage export under {week.root}")
    return files


def _ticket_rows(week: WeekFiles) -> tuple[Path, list[dict]]:
    files = [p for p in week.of("tickets") if p.suffix == ".jsonl"]
    if not files:
        raise ValueError(f"the drill week {week.label} has no ticket export under {week.root}")
    path = files[0]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return path, rows


def _write_ticket_rows(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _reviews(week: WeekFiles) -> tuple[Path, list[dict]]:
    files = [p for p in week.of("reviews") if p.suffix == ".json"]
    if not files:
        raise ValueError(f"the drill week {week.label} has no review export under {week.root}")
    return files[0], json.loads(files[0].read_text(encoding="utf-8"))


def _source_missing(week: WeekFiles, _: OperatingModel) -> str | None:
    for path in week.of("timesheets"):
        path.unlink()
    return None


def _stop_now_finding(week: WeekFiles, model: OperatingModel) -> str | None:
    path, reviews = _reviews(week)
    reviewed = {r["ticket_id"] for r in reviews}
    _, tickets = _ticket_rows(week)
    ai = [t for t in tickets if t.get("ai_draft_used") and t["ticket_id"] not in reviewed]
    if not ai or not reviews:
        return "the normal week has no unreviewed AI ticket to find a stop-now problem in"
    reviewer = model.roles.reviewer.name if model.roles.reviewer else reviews[0]["reviewer"]
    reviews.append(
        {
            "ticket_id": ai[-1]["ticket_id"],
            "reviewed_at": reviews[-1]["reviewed_at"],
            "reviewer": reviewer,
            "severity": "stop_now",
            "category": "privacy",
            "note": "Drill: the draft quoted another customer's order and address.",
            "fix": None,
        }
    )
    path.write_text(json.dumps(reviews, indent=2), encoding="utf-8")
    return None


def _excluded_category_draft(week: WeekFiles, model: OperatingModel) -> str | None:
    excluded = model.workflow.excluded_categories
    if not excluded:
        return "the operating model excludes no category (workflow.excluded_categories is empty)"
    path, tickets = _ticket_rows(week)
    ai = [t for t in tickets if t.get("ai_draft_used") and t.get("status") == "solved"]
    if not ai:
        return "the normal week has no solved AI ticket to move into an excluded category"
    ai[len(ai) // 2]["category"] = excluded[0]
    _write_ticket_rows(path, tickets)
    return None


def _timeout_burst(week: WeekFiles, _: OperatingModel) -> str | None:
    for path in _usage_files(week):
        frame = _read_usage(path)
        start = frame.height // 2
        burst = pl.int_range(pl.len()).is_between(
            start, start + int(frame.height * TIMEOUT_BURST_SHARE)
        )
        frame = frame.with_columns(
            pl.when(burst).then(pl.lit("timeout")).otherwise(pl.col("status")).alias("status")
        )
        _write_usage(path, frame)
    return None


def _cost_spike(week: WeekFiles, model: OperatingModel) -> str | None:
    _, tickets = _ticket_rows(week)
    ai_tasks = max(1, sum(1 for t in tickets if t.get("ai_draft_used")))
    for path in _usage_files(week):
        frame = _read_usage(path)
        cost = frame["cost_usd"].cast(pl.Float64, strict=False)
        total = float(cost.sum() or 0.0)
        if total <= 0:
            return "the normal week's usage export has no cost to raise"
        target = COST_SPIKE_TIMES_LIMIT * model.costs.max_cost_per_task * ai_tasks
        times = max(2.0, target / total)
        tokens = ("input_tokens", "output_tokens", "cached_input_tokens")
        frame = frame.with_columns(
            *(
                (pl.col(c).cast(pl.Float64, strict=False) * times).round(0).cast(pl.Int64).alias(c)
                for c in tokens
                if c in frame.columns
            ),
            (cost * times).round(6).alias("cost_usd"),
        )
        _write_usage(path, frame)
    return None


def _undocumented_prompt_change(week: WeekFiles, _: OperatingModel) -> str | None:
    for path in _usage_files(week):
        frame = _read_usage(path)
        later = pl.int_range(pl.len()) >= frame.height // 2
        frame = frame.with_columns(
            pl.when(later)
            .then(pl.lit(UNDOCUMENTED_PROMPT_VERSION))
            .otherwise(pl.col("prompt_version"))
            .alias("prompt_version")
        )
        _write_usage(path, frame)
    return None


EVENTS: tuple[DrillEvent, ...] = (
    DrillEvent(
        "source_missing",
        "A source is missing",
        "The week's timesheet export never arrives.",
        _source_missing,
    ),
    DrillEvent(
        "stop_now_finding",
        "A stop-now finding",
        "The reviewer finds another customer's data in an AI draft (severity stop_now).",
        _stop_now_finding,
    ),
    DrillEvent(
        "excluded_category",
        "An AI draft on an excluded category",
        "One AI-drafted ticket is in a category the operating model excludes.",
        _excluded_category_draft,
    ),
    DrillEvent(
        "timeout_burst",
        "A model timeout burst",
        f"{TIMEOUT_BURST_SHARE:.0%} of the week's model calls time out in one stretch.",
        _timeout_burst,
    ),
    DrillEvent(
        "cost_spike",
        "A cost spike",
        f"Tokens and model cost rise until a task's model cost is {COST_SPIKE_TIMES_LIMIT:g} "
        "times the limit per task.",
        _cost_spike,
    ),
    DrillEvent(
        "undocumented_prompt_change",
        "An undocumented prompt change",
        f"Half the week's calls use prompt version {UNDOCUMENTED_PROMPT_VERSION!r}, which the "
        "change log does not have.",
        _undocumented_prompt_change,
    ),
)


def stage_event(event: DrillEvent, week: WeekFiles, model: OperatingModel) -> str | None:
    """Write the event into the week's exports; the reason when it cannot be staged."""
    return event.apply(week, model)


def stage_all(week: WeekFiles, model: OperatingModel) -> list[str]:
    """Write every event into the same week (the bad day all at once); the reasons of those
    that could not be staged."""
    return [f"{e.id}: {why}" for e in EVENTS if (why := e.apply(week, model))]
