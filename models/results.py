"""Typed results that pass between the stages: the week a run is about, its metrics and the
outcomes of its stop rules."""

from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
from pydantic import BaseModel, ConfigDict

# The column of a checked file's quarantined rows that lists each row's reasons.
REASONS = "__reasons__"


@dataclass(frozen=True)
class CheckedRows:
    """Rows of one file after the row checks: `valid` rows, and `quarantined` rows with their
    reasons (columns `__line__`, `__reasons__`), or the whole file `refused` with its reason."""

    valid: pl.DataFrame
    quarantined: pl.DataFrame
    refused: str | None = None


# weeks ---------------------------------------------------------------------------------------
_WEEK = re.compile(r"(\d{4})-W(\d{2})")


def days_in_month(day: dt.date) -> int:
    """The number of days of the month a date falls in."""
    return calendar.monthrange(day.year, day.month)[1]


def _monday_of(label: str) -> dt.date:
    match = _WEEK.fullmatch(label)
    if not match:
        raise ValueError(f"week {label!r} is not an ISO week like 2026-W47")
    try:
        return dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ValueError(f"week {label!r} does not exist") from exc


def _local_midnight_utc(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)


@dataclass(frozen=True)
class Week:
    """One ISO week in a pilot's timezone: its label (`2026-W47`), the timezone, its local
    Monday and Sunday, and its bounds in UTC: [start, end) runs from Monday 00:00 local time to
    the next Monday 00:00 local time (a week holding a DST change is an hour longer or shorter).

    Built only from a valid label and timezone (`Week.parse`); equal weeks have equal label and
    timezone. `str(week)` is the label, as the warehouse stores it.
    """

    label: str
    timezone: str
    monday: dt.date = field(init=False, repr=False, compare=False)
    sunday: dt.date = field(init=False, repr=False, compare=False)
    start: dt.datetime = field(init=False, repr=False, compare=False)
    end: dt.datetime = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        monday = _monday_of(self.label)
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone {self.timezone!r} is not a known IANA timezone") from exc
        next_monday = monday + dt.timedelta(days=7)
        object.__setattr__(self, "monday", monday)
        object.__setattr__(self, "sunday", next_monday - dt.timedelta(days=1))
        object.__setattr__(self, "start", _local_midnight_utc(monday, zone))
        object.__setattr__(self, "end", _local_midnight_utc(next_monday, zone))

    @classmethod
    def parse(cls, label: str, timezone: str) -> Week:
        """The week of a `YYYY-Www` label in a timezone; ValueError when either is not valid."""
        return cls(label, timezone)

    @staticmethod
    def check_label(label: str) -> str:
        """The label itself when it names an existing ISO week (in any timezone, as a request
        for several pilots is); ValueError when it does not."""
        _monday_of(label)
        return label

    @classmethod
    def of_day(cls, day: dt.date, timezone: str) -> Week:
        """The week a local date falls in (by its ISO year, so 2027-01-01 is in 2026-W53)."""
        year, number, _ = day.isocalendar()
        return cls(f"{year}-W{number:02d}", timezone)

    @classmethod
    def last_complete(cls, timezone: str, now: dt.datetime | None = None) -> Week:
        """The newest week that has fully ended in the timezone."""
        now = now or dt.datetime.now(dt.UTC)
        today = now.astimezone(ZoneInfo(timezone)).date()
        return cls.of_day(today - dt.timedelta(days=today.isoweekday()), timezone)

    def __str__(self) -> str:
        return self.label

    @property
    def days(self) -> list[dt.date]:
        """The seven local dates, Monday to Sunday."""
        return [self.monday + dt.timedelta(days=n) for n in range(7)]

    @property
    def thursday(self) -> dt.date:
        """The day that decides which month and ISO year the week belongs to."""
        return self.monday + dt.timedelta(days=3)

    @property
    def month_first(self) -> dt.date:
        """The first local date of the month of the week's Sunday (month-to-date figures)."""
        return self.sunday.replace(day=1)

    @property
    def month_start(self) -> dt.datetime:
        """`month_first` 00:00 local time, in UTC."""
        return _local_midnight_utc(self.month_first, ZoneInfo(self.timezone))

    def shift(self, weeks: int) -> Week:
        """The week `weeks` weeks later (earlier when negative), in the same timezone."""
        return Week.of_day(self.monday + dt.timedelta(weeks=weeks), self.timezone)

    def has_ended(self, now: dt.datetime | None = None) -> bool:
        """True once the week's last local day is over (its data can be complete)."""
        return (now or dt.datetime.now(dt.UTC)) >= self.end

    def not_ended_message(self) -> str:
        """Why a run of this week is refused while it has not ended, and what to do instead."""
        end = self.end.astimezone(ZoneInfo(self.timezone))
        return (
            f"week {self.label} has not ended in {self.timezone} (it ends {end:%Y-%m-%d %H:%M}); "
            "its data is not complete, so its verdict would not be stored. Run it after it ends, "
            "or add --allow-partial-week for a DRAFT report that is not stored in history."
        )

    @classmethod
    def parse_range(cls, text: str, timezone: str) -> list[Week]:
        """The weeks of `2026-W39..2026-W46`, oldest first, both ends included (a single label is
        a range of one week); ValueError for a malformed or backwards range."""
        first, sep, last = text.partition("..")
        start = cls.parse(first.strip(), timezone)
        end = cls.parse(last.strip(), timezone) if sep else start
        if end.monday < start.monday:
            raise ValueError(f"week range {text!r} runs backwards: write the older week first")
        count = (end.monday - start.monday).days // 7 + 1
        if count > 260:
            raise ValueError(f"week range {text!r} spans {count} weeks; at most 260 at a time")
        return [start.shift(n) for n in range(count)]


# weekly metrics --------------------------------------------------------------------------------
class _Metrics(BaseModel):
    """Strict and closed: the stored JSON is the contract, so an unknown or mistyped key is an
    error, and numbers keep their JSON type. Every float is finite: JSON has no infinity or NaN.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class Volume(_Metrics):
    """The week's cost and oversight scaled to a month at one volume (None: unknown, see the
    metrics' `unknown_because["volumes"]`)."""

    cost: float | None  # USD per month
    review_hours: float | None  # review, rework and escalation hours per month
    under_cap: bool | None  # cost within the monthly cap


class Volumes(_Metrics):
    """Monthly figures at today's volume, with the next team, and in a busy month."""

    current: Volume
    next_team: Volume
    busy_month: Volume


class HumanMinutesByActivity(_Metrics):
    """Timesheet minutes of the week per activity."""

    review: float
    rework: float
    escalation: float
    maintenance: float
    other: float


class Baseline(_Metrics):
    """Manual handle minutes of one category that AI tasks are compared against."""

    category: str | None
    median_minutes: float | None  # median of the week's manual tasks; None without any
    manual_tasks: int
    baseline_minutes: float  # the median when measured, else the operating model's default
    measured: bool  # at least 5 manual tasks


class ModelReconciliation(_Metrics):
    """One model's bill beside its request logs (None: the bill has no such lines)."""

    model: str
    bill_cost_usd: float | None
    logged_cost_usd: float
    unexplained_cost_share: float | None
    bill_tokens: int | None
    logged_tokens: int
    unexplained_token_share: float | None
    logged_calls: int
    unpriced_calls: int
    warning: str | None


class BillReconciliation(_Metrics):
    """Provider bills of the week beside the request logs, per model and in total."""

    tolerance: float  # unexplained share above which a model is warned about
    models: list[ModelReconciliation]
    bill_cost_usd: float
    logged_cost_usd: float
    unexplained_share: float | None
    warnings: list[str]


# The sources whose rows a week's figures are computed from, and how each can be short.
CoveredSource = Literal["usage", "tickets", "timesheets", "reviews"]
COVERED_SOURCES: tuple[CoveredSource, ...] = ("usage", "tickets", "timesheets", "reviews")
CoverageState = Literal["complete", "partial", "missing"]

# Which sources each metric of WeeklyMetrics is computed from (contract section 5). A metric
# whose source has no rows in the week is unknown (None, with the reason in `unknown_because`);
# one whose source covers fewer days than usual is marked partial (`partial`). Declared once:
# the metrics stage, the rules and the report read it from here.
METRIC_SOURCES: dict[str, tuple[CoveredSource, ...]] = {
    "model_cost": ("usage",),
    "human_cost": ("timesheets",),
    "total_cost": ("usage", "timesheets"),
    "cost_per_task": ("usage", "timesheets", "tickets"),
    "model_cost_per_task": ("usage", "tickets"),
    "error_rate": ("reviews",),
    "stop_now_share": ("reviews",),
    "correction_rate": ("tickets",),
    "minutes_saved_per_employee_day": ("tickets", "timesheets"),
    "month_to_date_cost": ("usage", "timesheets"),
    "projected_month_cost": ("usage", "timesheets"),
    "volumes": ("usage", "timesheets"),
    "human_minutes_by_activity": ("timesheets",),
}


class SourceCoverage(_Metrics):
    """How completely one source covers the week: its rows, in all and per local weekday, the
    weekdays (1 = Monday) it usually fills and where that pattern comes from."""

    rows: int
    day_rows: list[int] | None  # rows Monday..Sunday; None: the days were not read
    usual_weekdays: list[int]
    usual_from: str  # "3 earlier week(s)" or "default"
    state: CoverageState
    reason: str | None  # e.g. "no timesheets this week", "timesheets cover 3 of the usual 5 days"


class WeeklyMetrics(_Metrics):
    """Every metric of one pilot's week (contract sections 5 and 7), as stored in
    `weekly_metrics.metrics_json` and shown in `readiness.json`.

    Costs are USD, durations minutes unless named hours, rates shares of 1. `None` means
    unknown this week (a source missing, or nothing to measure such as no AI tasks), never zero;
    `unknown_because` names why for every metric that is None. `partial` marks figures computed
    from a source that covers fewer days than usual. Rates from the review sample carry a Wilson
    95 % interval (`*_ci`: [low, high]).
    """

    ai_tasks: int
    manual_tasks: int
    # Solved tickets whose export does not say whether a draft was used: in neither group.
    unknown_ai_tasks: int
    model_cost: float | None
    human_cost: float | None
    fees: float
    total_cost: float | None
    cost_per_task: float | None
    reviewed: int
    error_rate: float | None
    correction_rate: float | None
    minutes_saved_per_employee_day: float | None
    month_to_date_cost: float | None
    projected_month_cost: float | None
    volumes: Volumes
    model_calls: int
    failed_model_calls: int
    unpriced_model_calls: int
    model_cost_per_task: float | None
    human_minutes_by_activity: HumanMinutesByActivity | None
    serious_findings: int
    review_distinct_days: int
    review_distinct_agents: int
    baselines: list[Baseline]
    # None when the week has no provider bill lines.
    bill_reconciliation: BillReconciliation | None = None
    # Shares of the review sample and their Wilson 95 % intervals [low, high] (None: no sample).
    stop_now_share: float | None = None
    error_rate_ci: list[float] | None = None
    correction_rate_ci: list[float] | None = None
    stop_now_share_ci: list[float] | None = None
    # AI tasks with a draft outcome: the sample the correction rate is a share of.
    draft_outcomes: int = 0
    # Metric name -> why it is None this week ("no timesheets this week").
    unknown_because: dict[str, str] = {}
    # Metric name -> why its value may be short ("timesheets cover 3 of the usual 5 days").
    partial: dict[str, str] = {}
    # Source -> how completely it covers the week.
    sources: dict[str, SourceCoverage] = {}

    def as_json(self) -> dict[str, Any]:
        """The JSON object, keys sorted at every level (as stored and as readiness.json shows)."""
        return json.loads(self.to_json())

    def to_json(self) -> str:
        """The stored text: JSON with keys sorted at every level."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> WeeklyMetrics:
        """Metrics read back from their stored text."""
        return cls.model_validate_json(text)


# rule outcomes -------------------------------------------------------------------------------
Status = Literal["pass", "warn", "fail", "unknown"]
OnFail = Literal["pause_pilot", "pause_expansion", "warn"]
# How a report shows a rule's evidence items: ticket ids (linked to the help desk when the
# operating model gives an address) or plain text.
EvidenceKind = Literal["tickets", "text"]


@dataclass(frozen=True)
class RuleOutcome:
    """One rule's result for the week, as stored and reported, with what the report needs to
    show it: the action to take when it fails or warns and the kind of its evidence items."""

    id: str
    status: Status
    value: float | None
    threshold: float | None
    message: str
    evidence: list[str]
    evidence_total: int
    owner_role: str
    on_fail: OnFail
    action: str
    evidence_kind: EvidenceKind
    # When the action is due (pilot's timezone); None when the rule asks for nothing.
    due: dt.datetime | None = None
    # True for the rules that set the week's verdict (the most urgent group that is not empty).
    decides_verdict: bool = False

    def __post_init__(self) -> None:
        # JSON has no infinity or NaN, and a NaN threshold compares false with everything.
        for name in ("value", "threshold"):
            number = getattr(self, name)
            if number is not None and not math.isfinite(number):
                raise ValueError(f"rule {self.id}: {name} {number} is not a finite number")

    def as_json(self, unknown_because: str | None = None) -> dict[str, Any]:
        """The rule as `readiness.json` lists it (action and evidence kind are the catalog's,
        not part of the stored result); `unknown_because` says why an unknown rule is."""
        return {
            "id": self.id,
            "status": self.status,
            "value": self.value,
            "threshold": self.threshold,
            "message": self.message,
            "evidence": self.evidence,
            "owner_role": self.owner_role,
            "evidence_total": self.evidence_total,
            "on_fail": self.on_fail,
            "unknown_because": unknown_because,
            "due": self.due.isoformat() if self.due else None,
            "decides_verdict": self.decides_verdict,
        }
