"""Deterministic synthetic inbox for the ``support-reply-drafts`` pilot.

The generated inbox is what a support team would really hand over week after week for the pilot
in ``pilots/support-reply-drafts.yaml``: an LLM drafts first replies to tickets, agents edit and
send them, a reviewer spot-checks drafts, and everyone logs time. One folder per source:

- ``usage/usage-<week>.csv`` (one ``.parquet`` week): one row per model call, timestamps in UTC
  with ``Z``. About three calls per AI ticket plus a few unattributed test calls.
- ``tickets/tickets-<week>.jsonl``: help-desk export of tickets created in the week plus those
  created on the last Saturday/Sunday of the previous week (overlapping re-export, state as of the
  export). Timestamps carry the local offset (``+02:00`` / ``+01:00``).
- ``timesheets/timesheets-<week>.csv``: semicolon CSV with a UTF-8 BOM; review, rework,
  escalation, maintenance and other minutes.
- ``reviews/reviews-<week>.json``: JSON array, the reviewer's error log; ``reviewed_at`` is naive
  local time in the pilot's timezone.
- ``changes/changes-<week>.csv``: the whole change log as known at the end of the week.

Every file of a week is "exported" on the Monday 06:00 UTC after the week; its mtime says so.
The data contains deliberate mess (malformed rows, an unreadable file, a duplicate line, an
overlapping re-export) and one bad week (fourth from last with 7+ weeks, else second to last): a retry loop on an undocumented, pricier
model, a ``stop_now`` privacy finding, an AI draft on an excluded category and no timesheet export.

Every source scales on request (``usage_rows_per_week``, ``tickets_per_week``,
``timesheet_entries_per_week``, ``reviews_per_week``, ``changes_total``), up to millions of usage
rows a week. Each kind of file has one generator and one writer at every size: a scaled source
keeps the same mix and story and stays consistent (usage rows name tickets of the week, timesheet
entries name tickets, agents and the pilot's people, reviews name solved AI tickets). Left at
``None`` a source keeps its natural size.

Generation is a pure function of its arguments: the same call writes byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from models.sources import TICKETS

__all__ = ["GeneratedInbox", "generate_inbox"]

PILOT_TZ = ZoneInfo("Europe/Berlin")

AGENTS = [
    "Mia Hoffmann",
    "Jonas Weber",
    "Lea Schmidt",
    "Noah Fischer",
    "Emma Wagner",
    "Luca Becker",
    "Sofia Braun",
    "Elias Wolf",
]
AGENT_WEIGHTS = np.array([1.2, 1.1, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9])

REVIEWER, REVIEWER_BACKUP = "Dana Levi", "Max Roth"
TECH_OWNER, BUSINESS_OWNER = "Sam Okafor", "Ana Ruiz"


def _agents(count: int | None) -> tuple[list[str], np.ndarray]:
    """The support agents and their shares of the tickets: the eight named ones, or ``count``
    agents (the named ones first, then "Agent 009", ... at the average share)."""
    if count is None:
        return AGENTS, AGENT_WEIGHTS
    names = AGENTS[:count] + [f"Agent {i:03d}" for i in range(len(AGENTS) + 1, count + 1)]
    weights = np.concatenate([AGENT_WEIGHTS, np.ones(max(count - len(AGENTS), 0))])[:count]
    return names, weights


AI_CATEGORIES = ["password_reset", "shipping_update", "account_question", "order_status"]
AI_CATEGORY_P = np.array([0.30, 0.25, 0.20, 0.25])
EXCLUDED_CATEGORIES = ["billing_dispute", "legal", "chargeback", "complaint"]
MANUAL_CATEGORY_P = np.array([0.20, 0.20, 0.18, 0.22, 0.06, 0.03, 0.04, 0.07])
MANUAL_MIN_PER_CATEGORY = 8  # > 5 so each category has a manual baseline every week
AI_TICKET_SHARE = 0.726  # natural mix: ~401 AI of ~552 tickets a week

OUTCOMES = ["sent_as_is", "edited", "rewritten", "discarded"]
OUTCOME_P = np.array([0.49, 0.38, 0.09, 0.04])  # correction rate ~13%
# Prompt v2 (order lookup) drafts need fewer rewrites: correction rate ~7% ...
OUTCOME_P_V2 = np.array([0.56, 0.37, 0.05, 0.02])
# ... at a slightly higher model cost: the looked-up order is sent with every v2 call.
V2_EXTRA_INPUT_TOKENS = 450
OUTCOME_MINUTES = np.array([2.2, 3.0, 4.6, 5.6])  # mean AI handle minutes per outcome
# Reopened 0, 1 or 2 times: AI-drafted tickets reopen a little less than manual ones (issue 22).
REOPEN_P_MANUAL = np.array([0.95, 0.045, 0.005])
REOPEN_P_AI = np.array([0.965, 0.031, 0.004])


def _cdf(p: np.ndarray) -> np.ndarray:
    """The cumulative probabilities as `Generator.choice` builds them from `p`."""
    cdf = p.cumsum()
    return cdf / cdf[-1]


BASE_MODEL = "gpt-4o"
# Priced by genai-prices (15 / 7.5 cached / 60 USD per M tokens) but never logged as a change.
BAD_MODEL = "o1"
PRICES_PER_M = {  # (input, cached_input, output), same as genai-prices for these models
    BASE_MODEL: (2.5, 1.25, 10.0),
    BAD_MODEL: (15.0, 7.5, 60.0),
}
STATUS_LABELS = ["ok", "error", "timeout", "unknown_status"]

USAGE_COLUMNS = [
    "request_id",
    "timestamp",
    "task_id",
    "user",
    "model",
    "prompt_version",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cost_usd",
    "latency_ms",
    "status",
]
TICKET_COLUMNS = list(TICKETS.columns)
TIMESHEET_COLUMNS = ["entry_id", "person", "date", "minutes", "activity", "ticket_id"]
REVIEW_COLUMNS = [
    "ticket_id",
    "reviewed_at",
    "reviewer",
    "severity",
    "category",
    "note",
    "fix",
]
CHANGE_COLUMNS = ["changed_at", "kind", "version", "approved_by", "description"]

# Independent random streams, so e.g. the usage scale never changes tickets or reviews.
_S_TICKETS, _S_USAGE, _S_REVIEWS, _S_TIMESHEETS, _S_JUNK = 1, 2, 3, 4, 5

NONE_NOTES = [
    "Correct and friendly, sent as is.",
    "Facts match the order record.",
    "Reset steps right, link works.",
    "Fine - agent only shortened the greeting.",
    "Customer wrote <b>URGENT</b> & the draft stayed calm: good.",
    "Checked tracking & delivery date: correct.",
    "Umlauts in the name (Jürgen Groß) kept correctly.",
    "Good: asked for the order number before promising anything.",
]
LOW_NOTES = {
    "tone": ["Slightly stiff greeting.", "Too many apologies & exclamation marks!!"],
    "missing_context": [
        "Could mention that the reset link expires after 24h.",
        "No link to the returns page (the <a> tag was stripped).",
    ],
    "other": [
        "Signature duplicated at the end.",
        "Draft echoed the customer's <b>bold</b> HTML & entities like &amp; verbatim.",
    ],
    "missed_policy": ["Offered a phone callback; policy says chat first."],
}
MEDIUM_NOTES = {
    "wrong_facts": (
        'Draft promised delivery "tomorrow" but tracking says 5 days & the customer '
        "complained <b>twice</b>."
    ),
    "missing_context": "Draft ignored the earlier ticket & asked again for the order number.",
    "tone": 'Draft blamed the customer ("you should have...") - agent had to rewrite it.',
    "missed_policy": "Draft promised a refund; refunds need a human approval & a ticket note.",
    "other": "Draft answered in English to a German message.",
}
# Categories for the normal weeks' single medium finding; never reused, so no normal week trips
# the serious-repeat rule.
MEDIUM_POOL = ["missing_context", "tone", "missed_policy", "other"]
WRONG_FACTS_FIX = "prompt v2 adds order lookup"
# Extra change-log entries (changes_total above the story's own): setup work logged in the days
# before the pilot starts, so they never count as changes inside a pilot week.
SETUP_CHANGES = [
    ("data_source", "kb-articles-{k}", "Knowledge-base articles snapshot {k} indexed for drafting"),
    ("tool", "helpdesk-sidebar-{k}", "Help-desk sidebar app build {k}: draft button for agents"),
    ("data_source", "order-api-{k}", "Read-only order API access for drafts (credential set {k})"),
    ("tool", "request-logging-{k}", "Request logging {k}: ticket id & prompt version per call"),
]


@dataclass(frozen=True)
class GeneratedInbox:
    """What :func:`generate_inbox` wrote.

    ``weeks`` are ISO weeks oldest first; ``files_by_week[w]`` are the files exported at the end
    of week ``w`` (what a weekly run receives before running ``w``); ``bad_week`` is the week with
    the incident (``None`` when fewer than 4 weeks); ``rows`` counts data rows written per source,
    overlapping re-exports included.
    """

    root: Path
    weeks: list[str]
    files_by_week: dict[str, list[Path]]
    bad_week: str | None
    rows: dict[str, int]


@dataclass(frozen=True)
class _Week:
    """One ISO week in the pilot's timezone, as UTC epoch seconds."""

    index: int
    label: str
    monday: date
    start: int  # Monday 00:00 local
    end: int  # next Monday 00:00 local (exclusive)
    export: int  # next Monday 06:00 UTC: export time and file mtime

    @property
    def compact(self) -> str:
        return self.label.replace("-", "")

    def day_noon(self, day: int) -> int:
        """Epoch of 12:00 local on day ``day`` (0 = Monday) of the week."""
        return _local_epoch(self.monday + timedelta(days=day), 12)


@dataclass(frozen=True)
class _Plan:
    """Which week carries which deliberate anomaly (week indices)."""

    bad: int | None
    v2: int | None
    malformed_usage: frozenset[int]
    parquet: int | None
    malformed_tickets: int | None
    unreadable: int | None
    duplicate: int | None
    cost_filled: int | None
    wrong_facts: int | None
    medium: dict[int, str]


def _local_epoch(d: date, hour: int = 0, minute: int = 0) -> int:
    return int(datetime.combine(d, time(hour, minute), PILOT_TZ).timestamp())


def _make_weeks(last_week: str, weeks: int) -> list[_Week]:
    year, week = last_week.split("-W")
    last_monday = date.fromisocalendar(int(year), int(week), 1)
    out = []
    for i in range(weeks):
        monday = last_monday - timedelta(weeks=weeks - 1 - i)
        next_monday = monday + timedelta(days=7)
        iso_year, iso_week, _ = monday.isocalendar()
        export = int(datetime.combine(next_monday, time(6), UTC).timestamp())
        out.append(
            _Week(
                index=i,
                label=f"{iso_year}-W{iso_week:02d}",
                monday=monday,
                start=_local_epoch(monday),
                end=_local_epoch(next_monday),
                export=export,
            )
        )
    return out


def _make_plan(weeks: int) -> _Plan:
    # The bad week leaves three normal weeks after it (when there is room) so the green streak
    # can rebuild and the last week shows `ready` again.
    bad = weeks - 4 if weeks >= 7 else weeks - 2 if weeks >= 4 else None
    normals = [i for i in range(weeks) if i != bad]

    def pick(k: int, avoid: set[int] = frozenset()) -> int | None:
        free = [i for i in normals[k:] if i not in avoid] or [i for i in normals if i not in avoid]
        return free[0] if free else None

    def at(k: int) -> int:
        return normals[min(k, len(normals) - 1)]

    malformed = frozenset({at(1), at(5)})
    wrong_facts = at(1)
    later = [i for i in normals if i > wrong_facts]
    medium = dict(zip(later[::2], MEDIUM_POOL, strict=False))
    return _Plan(
        bad=bad,
        v2=weeks // 2 - 1 if weeks >= 2 else None,
        malformed_usage=malformed,
        parquet=pick(2, set(malformed)),
        malformed_tickets=at(3),
        unreadable=at(4),
        duplicate=at(4),
        cost_filled=at(5),
        wrong_facts=wrong_facts,
        medium=medium,
    )


def _rng(seed: int, stream: int, week: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, week])


def _iso_local(ts: int) -> str:
    return datetime.fromtimestamp(ts, PILOT_TZ).isoformat(timespec="seconds")


def _naive_local(ts: int) -> str:
    return datetime.fromtimestamp(ts, PILOT_TZ).strftime("%Y-%m-%d %H:%M:%S")


# --------------------------------------------------------------------------------------------
# Tickets: one table across all weeks (tickets span week boundaries), then one export per week.
# --------------------------------------------------------------------------------------------


@dataclass
class _Tickets:
    """Every ticket of the pilot with its final state, as parallel arrays."""

    ticket_id: list[str]
    created: np.ndarray  # epoch s
    solved: np.ndarray  # epoch s (final solve time)
    ai: np.ndarray  # bool
    category: list[str]
    agent: list[str]
    outcome: list[str | None]
    handle: np.ndarray  # final handle minutes
    reopened: np.ndarray
    escalated: np.ndarray
    contacts: np.ndarray
    final_status: list[str]
    open_status: list[str]  # status shown while still unsolved at an export
    flag: list[str]  # "", "solved_before_created", "no_category", "complaint_draft"


def _tickets_for_week(
    w: _Week,
    rng: np.random.Generator,
    plan: _Plan,
    n_total: int | None = None,
    agents: int | None = None,
) -> dict[str, np.ndarray]:
    if n_total is None:
        n_ai = int(rng.integers(388, 414))
        n_man = int(rng.integers(142, 160))
    else:
        n_ai = min(n_total, max(1, round(n_total * AI_TICKET_SHARE)))
        n_man = n_total - n_ai
    n = n_ai + n_man
    ai = np.zeros(n, dtype=bool)
    ai[:n_ai] = True

    day_p = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.3, 0.25])
    day = rng.choice(7, size=n, p=day_p / day_p.sum())
    secs = rng.uniform(7 * 3600, 21 * 3600, size=n)

    cat = np.empty(n, dtype=object)
    cat[:n_ai] = np.array(AI_CATEGORIES, dtype=object)[rng.choice(4, size=n_ai, p=AI_CATEGORY_P)]
    all_cats = np.array(AI_CATEGORIES + EXCLUDED_CATEGORIES, dtype=object)
    n_fixed = min(MANUAL_MIN_PER_CATEGORY * len(AI_CATEGORIES), n_man)
    cat[n_ai : n_ai + n_fixed] = np.repeat(
        np.array(AI_CATEGORIES, dtype=object), MANUAL_MIN_PER_CATEGORY
    )[:n_fixed]
    # The guaranteed baseline tickets are created Mon-Thu so they are solved inside the week.
    day[n_ai : n_ai + n_fixed] = rng.integers(0, 4, size=n_fixed)
    cat[n_ai + n_fixed :] = all_cats[
        rng.choice(8, size=n - n_ai - n_fixed, p=MANUAL_CATEGORY_P / MANUAL_CATEGORY_P.sum())
    ]

    flag = np.full(n, "", dtype=object)
    if plan.bad == w.index and n_ai:
        # One AI draft on a formal complaint, Wednesday morning after the model switch.
        day[0], secs[0], cat[0], flag[0] = 2, 10.5 * 3600, "complaint", "complaint_draft"

    noon = np.array([w.day_noon(d) for d in range(7)], dtype=np.int64)
    created = noon[day] + (secs - 12 * 3600).astype(np.int64)

    names, weights = _agents(agents)
    agent = np.array(names, dtype=object)[rng.choice(len(names), size=n, p=weights / weights.sum())]
    # One uniform draw per ticket, as rng.choice(4, p=OUTCOME_P) takes it, read against the
    # prompt version's outcome shares (tickets created after prompt v2 went live use v2's).
    cdf_v1, cdf_v2 = (
        OUTCOME_P.cumsum() / OUTCOME_P.sum(),
        OUTCOME_P_V2.cumsum() / OUTCOME_P_V2.sum(),
    )
    draw = rng.random(n)
    v2_from = _v2_start(w, plan)
    on_v2 = created >= v2_from if v2_from is not None else np.zeros(n, bool)
    outcome_idx = np.where(
        on_v2, cdf_v2.searchsorted(draw, side="right"), cdf_v1.searchsorted(draw, side="right")
    )
    outcome = np.array(OUTCOMES, dtype=object)[outcome_idx]
    outcome[~ai] = None

    excluded = np.isin(cat, EXCLUDED_CATEGORIES) & ~ai
    handle = np.where(
        ai,
        rng.normal(OUTCOME_MINUTES[outcome_idx], 0.6),
        np.where(excluded, rng.normal(12.0, 2.0, size=n), rng.normal(6.4, 0.8, size=n)),
    )
    handle = np.round(np.clip(handle, np.where(ai, 0.8, 4.5), 20.0), 1)
    # Reopens: the same uniform draws `rng.choice(3, p=REOPEN_P_MANUAL)` takes (so every later
    # draw is unchanged), read against a lower reopen chance for AI-drafted tickets (issue 22).
    reopen_draw = rng.random(n)
    reopened = np.where(
        ai,
        np.searchsorted(_cdf(REOPEN_P_AI), reopen_draw, side="right"),
        np.searchsorted(_cdf(REOPEN_P_MANUAL), reopen_draw, side="right"),
    )
    escalated = rng.random(n) < np.where(ai, 0.025, np.where(excluded, 0.25, 0.05))
    contacts = 1 + rng.poisson(0.4, size=n)
    # A rewritten or discarded draft costs the customer one more message (issue 22).
    contacts = contacts + (ai & np.isin(outcome, ["rewritten", "discarded"])).astype(np.int64)

    delay = np.clip(rng.lognormal(np.log(3 * 3600), 1.0, size=n), 8 * 60, 40 * 3600)
    solved = created + delay.astype(np.int64)
    # Tickets created Mon-Fri are solved inside their week; only weekend tickets may spill over,
    # so the 2-day overlap of the next export is enough to deliver their final state.
    weekday = day < 5
    cap = w.end - rng.integers(60, 3600, size=n)
    solved = np.where(weekday, np.minimum(solved, cap), solved)
    solved = np.maximum(solved, created + 8 * 60)
    final_status = np.array(["closed", "solved"], dtype=object)[
        (rng.random(n) < 0.7).astype(np.int64)
    ]
    open_status = np.array(["pending", "open"], dtype=object)[
        (rng.random(n) < 0.6).astype(np.int64)
    ]
    # Still untouched a few hours before the export: nobody has sent a first reply yet.
    open_status[(w.end - created) < 4 * 3600] = "new"

    if plan.bad == w.index and n_ai:
        solved[0] = created[0] + 2 * 3600 + 17 * 60
        outcome[0], handle[0], escalated[0] = "discarded", 11.5, True

    if plan.malformed_tickets == w.index:
        # One AI ticket whose solved_at lies before created_at, one manual ticket without category;
        # both created Tue-Thu so they appear in this week's export only.
        ai_pick = np.flatnonzero(ai & (day >= 1) & (day <= 3) & (flag == ""))
        man_pick = np.flatnonzero(~ai & ~excluded & (day >= 1) & (day <= 3) & (flag == ""))
        if len(ai_pick):
            flag[ai_pick[len(ai_pick) // 2]] = "solved_before_created"
        if len(man_pick):
            flag[man_pick[len(man_pick) // 3]] = "no_category"

    return {
        "created": created,
        "solved": solved,
        "ai": ai,
        "category": cat,
        "agent": agent,
        "outcome": outcome,
        "handle": handle,
        "reopened": reopened,
        "escalated": escalated,
        "contacts": contacts,
        "final_status": final_status,
        "open_status": open_status,
        "flag": flag,
    }


def _make_tickets(
    weeks: list[_Week],
    seed: int,
    plan: _Plan,
    per_week: int | None = None,
    agents: int | None = None,
) -> _Tickets:
    """All tickets; with ``per_week`` each week's export (its own tickets plus the re-exported
    weekend of the week before) holds exactly ``per_week`` tickets."""
    parts: list[dict[str, np.ndarray]] = []
    for w in weeks:
        n_total = None
        if per_week is not None:
            overlap = 0
            if parts:
                window_start = _local_epoch(weeks[w.index - 1].monday + timedelta(days=5))
                overlap = int(np.count_nonzero(parts[-1]["created"] >= window_start))
            n_total = per_week - overlap  # >= 0: the overlap is part of last week's per_week
        parts.append(_tickets_for_week(w, _rng(seed, _S_TICKETS, w.index), plan, n_total, agents))
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.argsort(cols["created"], kind="stable")
    cols = {k: v[order] for k, v in cols.items()}
    return _Tickets(
        ticket_id=[f"T-{100001 + i}" for i in range(len(order))],
        created=cols["created"],
        solved=cols["solved"],
        ai=cols["ai"],
        category=cols["category"].tolist(),
        agent=cols["agent"].tolist(),
        outcome=cols["outcome"].tolist(),
        handle=cols["handle"],
        reopened=cols["reopened"],
        escalated=cols["escalated"],
        contacts=cols["contacts"],
        final_status=cols["final_status"].tolist(),
        open_status=cols["open_status"].tolist(),
        flag=cols["flag"].tolist(),
    )


def _ticket_frame(t: _Tickets) -> pl.DataFrame:
    """The tickets as one polars frame (row i = ticket i)."""
    return pl.DataFrame(
        {
            "ticket_id": pl.Series(t.ticket_id, dtype=pl.String),
            "created": pl.Series(t.created, dtype=pl.Int64),
            "solved": pl.Series(t.solved, dtype=pl.Int64),
            "ai": pl.Series(t.ai, dtype=pl.Boolean),
            "category": pl.Series(t.category, dtype=pl.String),
            "agent": pl.Series(t.agent, dtype=pl.String),
            "outcome": pl.Series(t.outcome, dtype=pl.String),
            "handle": pl.Series(t.handle, dtype=pl.Float64),
            "reopened": pl.Series(t.reopened, dtype=pl.Int64),
            "escalated": pl.Series(t.escalated, dtype=pl.Boolean),
            "contacts": pl.Series(t.contacts, dtype=pl.Int64),
            "final_status": pl.Series(t.final_status, dtype=pl.String),
            "open_status": pl.Series(t.open_status, dtype=pl.String),
            "flag": pl.Series(t.flag, dtype=pl.String),
        }
    )


def _local(epoch_s: pl.Expr) -> pl.Expr:
    return (
        pl.from_epoch(epoch_s, time_unit="s")
        .dt.replace_time_zone("UTC")
        .dt.convert_time_zone(str(PILOT_TZ))
    )


def _iso_local_expr(epoch_s: pl.Expr) -> pl.Expr:
    """Vectorised :func:`_iso_local`: ``2026-11-09T10:00:00+01:00``."""
    return _local(epoch_s).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")


def _local_date_expr(epoch_s: pl.Expr) -> pl.Expr:
    return _local(epoch_s).dt.strftime("%Y-%m-%d")


def _json_text(text: pl.Expr) -> pl.Expr:
    """Text as a JSON string, ``null`` for none (the generator's words and formats need no
    escaping)."""
    return pl.concat_str(pl.lit('"'), text, pl.lit('"')).fill_null("null")


def _json_bool(flag: pl.Expr) -> pl.Expr:
    return pl.when(flag).then(pl.lit("true")).otherwise(pl.lit("false"))


def _write_tickets(path: Path, frame: pl.DataFrame, w: _Week, prev: _Week | None) -> int:
    """Write the help desk's export of week ``w``: one JSON object a line for every ticket created
    in the week or on the weekend before it (a re-export), as the ticket stood at the export.

    Solved tickets show their final state; open ones have no solve time, no reopen, escalation or
    extra contact yet, and 60% of their handle minutes (none while still ``new``). The ticket
    flagged ``no_category`` has no ``category`` key; the one flagged ``solved_before_created`` is
    solved 2h17m before it was created.
    """
    window_start = _local_epoch(prev.monday + timedelta(days=5)) if prev else w.start
    created = pl.col("created")
    out = frame.filter((created >= window_start) & (created < w.end))
    is_solved = (out["solved"] <= w.end).to_numpy()
    is_new = (out["open_status"] == "new").to_numpy()
    handle = out["handle"].to_numpy().copy()
    partial = np.flatnonzero(~is_solved & ~is_new)
    # round() rounds the exact binary value; scaling by 10 and rounding (as polars and numpy do)
    # can land on the other side of a tie, which would change the export's bytes.
    handle[partial] = [round(h * 0.6, 1) for h in handle[partial].tolist()]
    handle[~is_solved & is_new] = np.nan

    solved, flag = pl.col("solved") <= w.end, pl.col("flag")
    solved_at = (
        pl.when(flag == "solved_before_created")
        .then(created - (2 * 3600 + 17 * 60))
        .when(solved)
        .then(pl.col("solved"))
    )
    category = pl.concat_str(pl.lit(', "category": "'), pl.col("category"), pl.lit('"'))
    # Issue 22: an escalated ticket was handed to a person a fifth of the way to its solve time;
    # the person's first action follows 10 minutes to about 4 hours later (spread by ticket
    # number, no random draw, so every other value stays as it was), before the solve time.
    handed = solved & pl.col("escalated") & (flag != "solved_before_created")
    span = pl.col("solved") - created
    handed_at = created + span // 5
    wait_s = (pl.col("ticket_id").str.slice(2).cast(pl.Int64) * 7919 % 236 + 10) * 60
    acted_at = handed_at + pl.min_horizontal(wait_s, (pl.col("solved") - handed_at) * 9 // 10)
    line = pl.concat_str(
        pl.lit('{"ticket_id": "'),
        pl.col("ticket_id"),
        pl.lit('", "created_at": "'),
        _iso_local_expr(created),
        pl.lit('", "solved_at": '),
        _json_text(_iso_local_expr(solved_at)),
        pl.lit(', "status": "'),
        pl.when(solved).then("final_status").otherwise("open_status"),
        pl.lit('"'),
        pl.when(flag == "no_category").then(pl.lit("")).otherwise(category),
        pl.lit(', "agent": "'),
        pl.col("agent"),
        pl.lit('", "ai_draft_used": '),
        _json_bool(pl.col("ai")),
        pl.lit(', "draft_outcome": '),
        _json_text(pl.when(solved | (pl.col("open_status") != "new")).then("outcome")),
        pl.lit(', "reopened": '),
        pl.when(solved).then("reopened").otherwise(0),
        pl.lit(', "escalated": '),
        _json_bool(solved & pl.col("escalated")),
        pl.lit(', "handle_minutes": '),
        pl.Series(handle, nan_to_null=True).cast(pl.String).fill_null("null"),
        pl.lit(', "contact_count": '),
        pl.when(solved).then("contacts").otherwise(1),
        pl.lit(', "handed_off_at": '),
        _json_text(_iso_local_expr(pl.when(handed).then(handed_at))),
        pl.lit(', "first_human_action_at": '),
        _json_text(_iso_local_expr(pl.when(handed).then(acted_at))),
        pl.lit("}"),
    )
    out.select(line).write_csv(path, include_header=False, quote_style="never")
    return out.height


# --------------------------------------------------------------------------------------------
# Reviews and timesheets.
# --------------------------------------------------------------------------------------------


def _solved_ai_in_week(t: _Tickets, w: _Week) -> np.ndarray:
    flags = np.array(t.flag, dtype=object)
    return np.flatnonzero(t.ai & (t.solved >= w.start) & (t.solved < w.end) & (flags == ""))


class _ReviewPool:
    """The week's reviewable tickets (positions in ticket order) with, for the review at hand,
    those solved inside its window and not reviewed yet: ``eligible``, counted per block of
    ``BLOCK`` positions in ``counts``. Windows only move forward (reviews come in time order)."""

    BLOCK = 256

    def __init__(self, solved: np.ndarray) -> None:
        self.solved = solved
        self.by_solve = np.argsort(solved, kind="stable")
        self.solved_sorted = solved[self.by_solve]
        self.free = np.ones(len(solved), dtype=bool)
        self.eligible = np.zeros(len(solved), dtype=bool)
        self.counts = np.zeros(-(-len(solved) // self.BLOCK), dtype=np.int64)
        self.total = 0  # eligible tickets
        self.lo = self.hi = 0  # the window as a range of by_solve
        self.end = 0  # last solve time of the window

    def slide(self, start: int, end: int) -> None:
        """Make the window the tickets solved from ``start`` to ``end`` (inclusive)."""
        lo = int(self.solved_sorted.searchsorted(start, side="left"))
        hi = int(self.solved_sorted.searchsorted(end, side="right"))
        if lo > self.lo:
            leaving = self.by_solve[self.lo : min(lo, self.hi)]
            leaving = leaving[self.eligible[leaving]]
            self.eligible[leaving] = False
            self.counts -= np.bincount(leaving // self.BLOCK, minlength=len(self.counts))
            self.total -= len(leaving)
        if hi > self.hi:
            entering = self.by_solve[max(lo, self.hi) : hi]
            entering = entering[self.free[entering]]
            self.eligible[entering] = True
            self.counts += np.bincount(entering // self.BLOCK, minlength=len(self.counts))
            self.total += len(entering)
        self.lo, self.hi, self.end = lo, hi, end

    def take(self, rng: np.random.Generator) -> int:
        """Draw a ticket uniformly from the window's eligible ones in ticket order; when there
        is none, from the unreviewed ones solved by the window's end, then from all unreviewed,
        then from all. The ticket counts as reviewed from then on."""
        if self.total:
            j = int(rng.integers(self.total))
            cum = self.counts.cumsum()
            block = int(cum.searchsorted(j, side="right"))
            first = block * self.BLOCK
            within = j - (int(cum[block - 1]) if block else 0)
            pick = first + int(self.eligible[first : first + self.BLOCK].nonzero()[0][within])
            self.eligible[pick] = False
            self.counts[block] -= 1
            self.total -= 1
        else:
            pool = np.flatnonzero((self.solved <= self.end) & self.free)
            if not len(pool):
                pool = np.flatnonzero(self.free)
            if not len(pool):
                pool = np.arange(len(self.solved))
            pick = int(pool[int(rng.integers(len(pool)))])
        self.free[pick] = False
        return pick


def _make_reviews(
    t: _Tickets, w: _Week, plan: _Plan, rng: np.random.Generator, n: int | None
) -> list[dict]:
    """The reviewer's log of week ``w``: ``n`` reviews in all, or by default 14 in the first week,
    16 in the second and 22-30 later, plus the complaint review in the bad week.

    Reviews happen Tue-Fri office hours, spread round-robin over the days so every week covers at
    least 3 days. Each reviews a solved AI ticket not reviewed yet, solved 30 minutes to 3 days
    before; when none is left in that window, one solved earlier, then any of the week's solved
    AI tickets (repeated only once every one is reviewed). About one review in four is a low
    finding, and the plan's medium and stop_now findings replace some of them.
    """
    complaint = plan.bad == w.index and "complaint_draft" in t.flag
    if n is None:
        k = 14 if w.index == 0 else 16 if w.index == 1 else int(rng.integers(22, 31))
    else:
        k = max(n - int(complaint), 0)
    candidates = _solved_ai_in_week(t, w)
    if k and not len(candidates):
        raise ValueError(f"no solved AI ticket to review in {w.label}: raise tickets_per_week")
    days = np.resize(rng.permutation([1, 2, 3, 4]), k)
    times = rng.uniform(9 * 3600, 17.5 * 3600, size=k)
    noon = np.array([w.day_noon(d) for d in range(7)], dtype=np.int64)
    at = np.sort(noon[days] + (times - 12 * 3600).astype(np.int64))

    pool = _ReviewPool(t.solved[candidates])
    low_categories = list(LOW_NOTES)
    reviews: list[dict] = []
    for ts in at.tolist():
        pool.slide(ts - 3 * 86400, ts - 1800)
        c = pool.take(rng)
        i = int(candidates[c])
        reviewer = REVIEWER_BACKUP if rng.random() < 0.12 else REVIEWER
        if rng.random() < 0.76:
            severity, category, note = "none", None, NONE_NOTES[rng.integers(len(NONE_NOTES))]
        else:
            category = low_categories[rng.integers(len(low_categories))]
            notes = LOW_NOTES[category]
            severity, note = "low", notes[rng.integers(len(notes))]
        reviews.append(
            {
                "ticket_id": t.ticket_id[i],
                "reviewed_at": _naive_local(ts),
                "reviewer": reviewer,
                "severity": severity,
                "category": category,
                "note": note,
                "fix": None,
                "_ts": ts,
                "_i": i,
            }
        )

    _add_story_findings(reviews, t, w, plan, complaint_alone=n != 0)
    return reviews


def _add_story_findings(
    reviews: list[dict], t: _Tickets, w: _Week, plan: _Plan, complaint_alone: bool
) -> None:
    """The planned serious findings of week ``w``; the bad week also gets the complaint review
    (with ``complaint_alone`` even when it is the only review)."""

    def make_serious(pos: int, severity: str, category: str, note: str, fix: str | None) -> None:
        reviews[pos].update(severity=severity, category=category, note=note, fix=fix)

    if plan.wrong_facts == w.index and reviews:
        order_like = [
            k
            for k, r in enumerate(reviews)
            if t.category[r["_i"]] in ("order_status", "shipping_update")
        ]
        pos = order_like[0] if order_like else 0
        make_serious(pos, "medium", "wrong_facts", MEDIUM_NOTES["wrong_facts"], WRONG_FACTS_FIX)
    if w.index in plan.medium and reviews:
        cat = plan.medium[w.index]
        make_serious(len(reviews) // 2, "medium", cat, MEDIUM_NOTES[cat], None)
    if plan.bad == w.index and (reviews or complaint_alone) and "complaint_draft" in t.flag:
        # The leak comes from the undocumented model, so pick a ticket drafted after the switch.
        switched = [k for k, r in enumerate(reviews) if t.created[r["_i"]] >= w.start + 9 * 3600]
        if reviews:
            make_serious(
                switched[len(switched) // 2] if switched else len(reviews) // 2,
                "stop_now",
                "privacy",
                "Draft contained another customer's name & address (<b>data leak</b>); "
                "drafting stopped at once.",
                "Model pinned back to gpt-4o and retries capped at 2 (change retry-max-2)",
            )
        complaint = t.flag.index("complaint_draft")
        ts = int(t.solved[complaint]) + 5 * 3600
        reviews.append(
            {
                "ticket_id": t.ticket_id[complaint],
                "reviewed_at": _naive_local(ts),
                "reviewer": REVIEWER,
                "severity": "medium",
                "category": "should_have_handed_off",
                "note": "AI draft on a formal complaint (excluded category) - must go to a human "
                "& the team lead.",
                "fix": None,
                "_ts": ts,
                "_i": complaint,
            }
        )
        reviews.sort(key=lambda r: r["_ts"])


def _make_timesheets(
    t: _Tickets,
    frame: pl.DataFrame,
    w: _Week,
    reviews: list[dict],
    rng: np.random.Generator,
    n: int | None,
) -> pl.DataFrame:
    """The week's timesheet entries: ``n`` of them, or by default the natural ones.

    The natural entries are the owners' three (maintenance on Monday and Thursday, other on
    Friday), one per review, and the agents' rework (drafts rewritten or discarded) and escalation
    entries of the week's solved AI tickets. A smaller ``n`` keeps them in that order of priority
    (the agents' entries a random subset); a larger one adds rework on edited drafts, then on any
    solved AI ticket, then repeated work sessions on them. Entries are sorted by date, person,
    activity and ticket and numbered in that order.
    """
    solved = _solved_ai_in_week(t, w)
    outcome = frame["outcome"].gather(solved)
    heavy = outcome.is_in(["rewritten", "discarded"]).fill_null(False).to_numpy()
    edited = (outcome == "edited").fill_null(False).to_numpy()
    escalation = solved[t.escalated[solved]]
    # Per ticket its rework, then its escalation: the order their minutes are drawn in.
    natural_ticket = np.concatenate([solved[heavy], escalation])
    natural_kind = np.repeat([0, 1], [heavy.sum(), len(escalation)])
    natural_order = np.lexsort((natural_kind, natural_ticket))
    pools = [
        (natural_ticket[natural_order], natural_kind[natural_order]),
        (solved[edited], np.zeros(int(edited.sum()), np.int64)),
        (solved[~heavy & ~edited], np.zeros(int((~heavy & ~edited).sum()), np.int64)),
    ]
    if n is None:
        n = len(reviews) + len(pools[0][0]) + 3
    n_owner = min(3, n)
    n_review = min(len(reviews), n - n_owner)
    k = n - n_owner - n_review
    ticket, kind = np.zeros(0, np.int64), np.zeros(0, np.int64)
    for pool, pool_kind in pools:  # whole pools while the entries last, the last one in part
        need = k - len(ticket)
        if need <= 0:
            break
        pick = (
            np.sort(rng.choice(len(pool), size=need, replace=False))
            if need < len(pool)
            else slice(None)
        )
        ticket = np.concatenate([ticket, pool[pick]])
        kind = np.concatenate([kind, pool_kind[pick]])
    if len(ticket) < k and len(ticket):  # more entries than tickets: repeated work sessions
        again = rng.integers(0, len(ticket), size=k - len(ticket))
        ticket, kind = np.concatenate([ticket, ticket[again]]), np.concatenate([kind, kind[again]])

    reviewed = reviews[:n_review]
    review_ts = pl.Series([r["_ts"] for r in reviewed], dtype=pl.Int64)
    by_review = pl.DataFrame(
        {
            "date": pl.select(_local_date_expr(pl.lit(review_ts))).to_series(),
            "person": pl.Series([r["reviewer"] for r in reviewed], dtype=pl.String),
            "activity": pl.repeat("review", n_review, dtype=pl.String, eager=True),
            "minutes": pl.Series(rng.integers(2, 5, size=n_review), dtype=pl.Int64),
            "ticket_id": pl.Series([r["ticket_id"] for r in reviewed], dtype=pl.String),
        }
    )
    minutes = rng.integers(np.where(kind == 0, 2, 4), np.where(kind == 0, 5, 9))
    work = frame.select(pl.col("solved", "agent", "ticket_id").gather(pl.Series(ticket))).select(
        _local_date_expr(pl.col("solved")).alias("date"),
        pl.col("agent").alias("person"),
        pl.Series(["rework", "escalation"]).gather(kind.astype(np.int64)).alias("activity"),
        pl.Series(minutes, dtype=pl.Int64).alias("minutes"),
        "ticket_id",
    )
    monday, thursday, friday = ((w.monday + timedelta(days=d)).isoformat() for d in (0, 3, 4))
    owners = pl.DataFrame(
        {
            "date": [monday, thursday, friday][:n_owner],
            "person": [TECH_OWNER, TECH_OWNER, BUSINESS_OWNER][:n_owner],
            "activity": ["maintenance", "maintenance", "other"][:n_owner],
            "minutes": [int(rng.integers(25, 41)), int(rng.integers(35, 51)), 30][:n_owner],
            "ticket_id": pl.Series([None] * n_owner, dtype=pl.String),
        },
        schema_overrides={"minutes": pl.Int64},
    )
    entries = pl.concat([by_review, work, owners]).sort(
        "date", "person", "activity", "ticket_id", nulls_last=False, maintain_order=True
    )
    seq = pl.int_range(1, entries.height + 1, eager=True).cast(pl.String).str.zfill(4)
    return entries.with_columns((f"TS-{w.compact}-" + seq).alias("entry_id")).select(
        TIMESHEET_COLUMNS
    )


def _write_timesheets(path: Path, entries: pl.DataFrame) -> int:
    """Write a timesheet export: semicolon CSV with a UTF-8 BOM, no ticket on the owners' rows."""
    with path.open("wb") as fh:
        fh.write(b"\xef\xbb\xbf")
        entries.write_csv(fh, separator=";", line_terminator="\n")
    return entries.height


def _write_reviews(path: Path, reviews: list[dict]) -> int:
    clean = [{k: r[k] for k in REVIEW_COLUMNS} for r in reviews]
    path.write_text(json.dumps(clean, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return len(clean)


# --------------------------------------------------------------------------------------------
# Change log.
# --------------------------------------------------------------------------------------------


def _make_changes(
    weeks: list[_Week], plan: _Plan, total: int | None = None
) -> list[tuple[int, dict]]:
    """The whole change log; with ``total`` exactly that many entries (setup entries before the
    pilot are added, or the newest story entries left out)."""
    first = weeks[0].monday - timedelta(days=4)  # the Thursday before the pilot starts
    log = [
        (
            _local_epoch(first, 9, 30),
            "prompt",
            "v1",
            TECH_OWNER,
            "Initial first-reply prompt for password, shipping, account and order tickets",
        ),
        (
            _local_epoch(first, 9, 35),
            "model",
            BASE_MODEL,
            TECH_OWNER,
            "Drafting model gpt-4o via the OpenAI API, temperature 0.2",
        ),
        (
            _local_epoch(first, 14, 0),
            "policy",
            "excluded-categories-1",
            BUSINESS_OWNER,
            "No drafts for billing_dispute, legal, chargeback & complaint tickets",
        ),
    ]
    if plan.v2 is not None:
        log.append(
            (
                _v2_epoch(weeks, plan),
                "prompt",
                "v2",
                BUSINESS_OWNER,
                "Prompt v2 adds order lookup so drafts quote the tracked delivery date",
            )
        )
    if plan.bad is not None and plan.bad + 1 < len(weeks):
        after = weeks[plan.bad + 1].monday
        # The stop authority lets the pilot run again once the fix below is in.
        log.append(
            (
                _local_epoch(after, 11, 30),
                "restart",
                f"after-{weeks[plan.bad].label}",
                BUSINESS_OWNER,
                f"Restart after the {weeks[plan.bad].label} pause: privacy case reviewed, "
                "excluded categories blocked, model pinned back",
            )
        )
        log.append(
            (
                _local_epoch(after, 11, 0),
                "tool",
                "retry-max-2",
                TECH_OWNER,
                f"Retry loop capped at 2 attempts; model pinned back to gpt-4o after the "
                f"{weeks[plan.bad].label} incident",
            )
        )
    if total is not None:
        extra = max(total - len(log), 0)
        setup = []
        for k in range(1, extra + 1):  # one a day, the last on the day before the first entry
            kind, version, desc = SETUP_CHANGES[(k - 1) % len(SETUP_CHANGES)]
            setup.append(
                (
                    _local_epoch(first - timedelta(days=extra + 1 - k), 10, 0),
                    kind,
                    version.format(k=k),
                    TECH_OWNER if k % 2 else BUSINESS_OWNER,
                    desc.format(k=k),
                )
            )
        log = (setup + log)[:total]
    return [
        (ts, dict(zip(CHANGE_COLUMNS, (_iso_local(ts), kind, ver, who, desc), strict=True)))
        for ts, kind, ver, who, desc in log
    ]


def _v2_start(w: _Week, plan: _Plan) -> int | None:
    """From when (epoch s) tickets of week ``w`` are drafted with prompt v2; None: never."""
    if plan.v2 is None or w.index < plan.v2:
        return None
    return _local_epoch(w.monday + timedelta(days=2), 10, 0) if w.index == plan.v2 else w.start


def _v2_epoch(weeks: list[_Week], plan: _Plan) -> int | None:
    if plan.v2 is None:
        return None
    return _local_epoch(weeks[plan.v2].monday + timedelta(days=2), 10, 0)  # Wednesday 10:00


def _write_changes(path: Path, changes: list[tuple[int, dict]], as_of: int) -> int:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CHANGE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows = [row for ts, row in changes if ts < as_of]
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return len(rows)


# --------------------------------------------------------------------------------------------
# Usage: vectorised, one row per model call; scales to millions of rows per week.
# --------------------------------------------------------------------------------------------


# Odd, so multiplying by it permutes the 64-bit integers: every (week, call) pair gets its own id.
_ID_MIXER = np.uint64(0x9E3779B97F4A7C15)


def _request_ids(w: _Week, n: int) -> pl.Series:
    """Request ids as vendors issue them: unique, but in no order (an export sorted by time is
    not sorted by id), so loads meet the random key order of real exports."""
    week = np.uint64(w.monday.toordinal()) << np.uint64(32)
    calls = np.arange(1, n + 1, dtype=np.uint64) | week
    return "req_" + pl.Series(calls * _ID_MIXER, dtype=pl.UInt64).cast(pl.String).str.zfill(20)


def _make_usage(
    t: _Tickets,
    frame: pl.DataFrame,
    w: _Week,
    plan: _Plan,
    rows_per_week: int | None,
    rng: np.random.Generator,
    v2_at: int | None,
    spread_calls: bool = False,
) -> pl.DataFrame:
    """One week's usage rows. By default each AI ticket's calls come in a burst right after it
    arrives and the rows are in time order; with ``spread_calls`` each call falls at a random
    time between its ticket's arrival and the week's end, and the rows are in random order (the
    shape of several gateway pods' logs merged)."""
    tix = np.flatnonzero(t.ai & (t.created >= w.start) & (t.created < w.end))
    bad_from = (
        w.start + 9 * 3600 if plan.bad == w.index else None
    )  # Monday 09:00 local: the undocumented switch
    retry = (t.created[tix] >= bad_from) if bad_from is not None else np.zeros(len(tix), bool)

    if rows_per_week is None:
        counts = rng.choice([1, 2, 3, 4, 5], size=len(tix), p=[0.02, 0.08, 0.75, 0.10, 0.05])
        # The retry loop re-sends each draft request about six times.
        counts = np.where(retry, rng.integers(15, 22, size=len(tix)), counts)
        n_unattr = int(rng.integers(30, 51))
    else:
        n_unattr = rows_per_week if len(tix) == 0 else round(rows_per_week * 0.03)
        weight = np.where(retry, 6.0, 1.0)
        counts = rng.multinomial(rows_per_week - n_unattr, weight / weight.sum())
    n_attr = int(counts.sum())
    n = n_attr + n_unattr

    # Attributed calls: a burst right after the ticket arrives, rank = position in the burst.
    owner = np.repeat(np.arange(len(tix)), counts)
    rank = np.arange(n_attr) - np.repeat(np.cumsum(counts) - counts, counts)
    step_ms = np.minimum(12_000.0, 6 * 3600 * 1000.0 / np.maximum(counts, 1))
    offset = 1500 + (rank + rng.random(n_attr)) * step_ms[owner]
    if spread_calls:
        arrived = t.created[tix][owner] * 1000
        offset = rng.random(n_attr) * (w.end * 1000 - arrived)
    ts = np.concatenate(
        [
            t.created[tix][owner] * 1000 + offset.astype(np.int64),
            rng.integers(w.start * 1000, w.end * 1000, size=n_unattr),
        ]
    )
    ts = np.minimum(ts, w.end * 1000 - 1)
    # The call's ticket as a position in tix; len(tix) for an unattributed call.
    ticket = np.concatenate([owner, np.full(n_unattr, len(tix))])
    rank = np.concatenate([rank, np.zeros(n_unattr, dtype=rank.dtype)])
    order = rng.permutation(n) if spread_calls else np.argsort(ts, kind="stable")
    ts, ticket, rank = ts[order], ticket[order], rank[order]

    bad_model = (ts >= bad_from * 1000) if bad_from is not None else np.zeros(n, bool)
    attributed = ticket < len(tix)
    looping = bad_model & attributed
    input_tokens = rng.integers(1500, 4001, size=n)
    prompt_v2 = (ts >= v2_at * 1000) if v2_at is not None else np.zeros(n, bool)
    input_tokens += np.where(prompt_v2, V2_EXTRA_INPUT_TOKENS, 0)
    # Each retry re-sends the growing conversation.
    input_tokens += np.where(looping, np.minimum(rank * 350, 9000), 0)
    cached = (input_tokens * rng.uniform(0.0, 0.6, size=n)).astype(np.int64)
    output_tokens = np.where(
        bad_model, rng.integers(300, 901, size=n), rng.integers(200, 601, size=n)
    )
    status = np.where(
        looping,
        rng.choice(3, size=n, p=[0.86, 0.04, 0.10]),
        rng.choice(3, size=n, p=[0.985, 0.008, 0.007]),
    )
    latency = np.where(
        bad_model, rng.lognormal(np.log(9000), 0.4, n), rng.lognormal(np.log(1800), 0.35, n)
    )
    latency = np.where(status == 2, rng.integers(30_000, 60_001, size=n), latency).astype(np.int64)
    output_tokens = np.where(status == 0, output_tokens, 0)

    malformed: dict[str, np.ndarray] = {}
    n_bad = min(5, n // 200) if w.index in plan.malformed_usage else 0
    if n_bad:
        pos = rng.choice(np.flatnonzero(status == 0), size=n_bad, replace=False)
        kinds = ["neg_output", "cached_gt_input", "unknown_status", "empty_id", "neg_output"]
        malformed = {k: pos[[j for j in range(n_bad) if kinds[j] == k]] for k in kinds}
        output_tokens[malformed["neg_output"]] *= -1
        cached[malformed["cached_gt_input"]] = input_tokens[malformed["cached_gt_input"]] + 512
        status[malformed["unknown_status"]] = 3

    cost = None
    if plan.cost_filled == w.index:
        price = np.array([PRICES_PER_M[BAD_MODEL if b else BASE_MODEL] for b in (False, True)])
        p = price[bad_model.astype(int)]
        cost = (
            (input_tokens - cached) * p[:, 0] + cached * p[:, 1] + output_tokens * p[:, 2]
        ) / 1e6
        cost = np.round(cost, 6)
        bad_rows = np.concatenate(list(malformed.values())) if malformed else np.array([], int)
        cost[bad_rows] = np.nan

    task_ids = pl.concat([frame["ticket_id"].gather(tix), pl.Series([None], dtype=pl.String)])
    users = pl.concat([frame["agent"].gather(tix), pl.Series([TECH_OWNER, None], dtype=pl.String)])
    user_idx = np.where(attributed, ticket, len(tix) + (rng.random(n) >= 0.7).astype(np.int64))

    request_id = _request_ids(w, n).alias("request_id")
    if n_bad:
        empty = np.zeros(n, bool)
        empty[malformed["empty_id"]] = True
        request_id = pl.select(
            pl.when(pl.Series(empty)).then(pl.lit("")).otherwise(request_id)
        ).to_series()
    df = pl.DataFrame(
        {
            "request_id": request_id,
            "timestamp": pl.from_epoch(pl.Series(ts), time_unit="ms").dt.strftime(
                "%Y-%m-%dT%H:%M:%S%.3fZ"
            ),
            "task_id": task_ids.gather(ticket),
            "user": users.gather(user_idx),
            "model": pl.Series([BASE_MODEL, BAD_MODEL]).gather(bad_model.astype(np.int64)),
            "prompt_version": pl.Series(["v1", "v2"]).gather(prompt_v2.astype(np.int64)),
            "input_tokens": pl.Series(input_tokens, dtype=pl.Int64),
            "output_tokens": pl.Series(output_tokens, dtype=pl.Int64),
            "cached_input_tokens": pl.Series(cached, dtype=pl.Int64),
            "cost_usd": pl.Series(cost, dtype=pl.Float64, nan_to_null=True)
            if cost is not None
            else pl.repeat(None, n, dtype=pl.Float64, eager=True),
            "latency_ms": pl.Series(latency, dtype=pl.Int64),
            "status": pl.Series(STATUS_LABELS).gather(status.astype(np.int64)),
        }
    )

    if plan.duplicate == w.index and n >= 3:
        # An exact duplicate line: row p is exported twice, replacing its neighbour so the
        # row count stays exactly as requested.
        p = n // 3
        df = pl.concat([df.slice(0, p + 1), df.slice(p, 1), df.slice(p + 2)])
    return df


# --------------------------------------------------------------------------------------------
# Entry point.
# --------------------------------------------------------------------------------------------


def generate_inbox(
    out_dir: Path,
    *,
    weeks: int = 8,
    usage_rows_per_week: int | None = None,
    seed: int = 7,
    last_week: str = "2026-W46",
    tickets_per_week: int | None = None,
    timesheet_entries_per_week: int | None = None,
    reviews_per_week: int | None = None,
    changes_total: int | None = None,
    agents: int | None = None,
    spread_calls: bool = False,
) -> GeneratedInbox:
    """Write a synthetic, messy inbox for the support-reply-drafts pilot under ``out_dir``.

    Covers the ``weeks`` consecutive ISO weeks ending at ``last_week``. Each size option left at
    ``None`` keeps the source's natural size; a number fixes it exactly:

    - ``usage_rows_per_week``: rows of each week's usage file (natural ~1,250).
    - ``tickets_per_week``: tickets in each week's export, the re-exported weekend of the week
      before included (natural ~550); about 73% are AI-drafted.
    - ``timesheet_entries_per_week``: entries of each week's timesheet file (natural ~75; the bad
      week still has no timesheet export).
    - ``reviews_per_week``: reviews of each week, the bad week's complaint review included
      (natural 14-30).
    - ``changes_total``: entries of the whole change log, i.e. of the last week's change file
      (natural 3-5); extra entries are setup work logged before the pilot starts.
    - ``agents``: support agents the tickets are shared among (natural 8).
    - ``spread_calls``: each AI ticket's model calls at random times between its arrival and the
      week's end, and the usage rows in random order (several gateway pods' logs merged),
      instead of a burst after the ticket arrives with the rows in time order.

    Same arguments, same bytes.
    """
    if weeks < 1:
        raise ValueError("weeks must be >= 1")
    sizes = {
        "usage_rows_per_week": usage_rows_per_week,
        "timesheet_entries_per_week": timesheet_entries_per_week,
        "reviews_per_week": reviews_per_week,
        "changes_total": changes_total,
    }
    for name, value in sizes.items():
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0")
    if agents is not None and agents < 1:
        raise ValueError("agents must be >= 1")
    if tickets_per_week is not None and tickets_per_week < 1:
        raise ValueError("tickets_per_week must be >= 1")
    root = Path(out_dir)
    dirs = {s: root / s for s in ("usage", "tickets", "timesheets", "reviews", "changes")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)

    wks = _make_weeks(last_week, weeks)
    plan = _make_plan(weeks)
    tickets = _make_tickets(wks, seed, plan, tickets_per_week, agents)
    changes = _make_changes(wks, plan, changes_total)
    frame = _ticket_frame(tickets)
    v2_at = _v2_epoch(wks, plan)
    rows = dict.fromkeys(("usage", "tickets", "timesheets", "reviews", "changes"), 0)
    files_by_week: dict[str, list[Path]] = {}

    for w in wks:
        files: list[Path] = []

        usage = _make_usage(
            tickets,
            frame,
            w,
            plan,
            usage_rows_per_week,
            _rng(seed, _S_USAGE, w.index),
            v2_at,
            spread_calls,
        )
        if plan.parquet == w.index:
            path = dirs["usage"] / f"usage-{w.label}.parquet"
            usage.write_parquet(path, statistics=False)
        else:
            path = dirs["usage"] / f"usage-{w.label}.csv"
            usage.write_csv(path)
        rows["usage"] += usage.height
        files.append(path)
        del usage

        path = dirs["tickets"] / f"tickets-{w.label}.jsonl"
        prev = wks[w.index - 1] if w.index > 0 else None
        rows["tickets"] += _write_tickets(path, frame, w, prev)
        files.append(path)
        if plan.unreadable == w.index:
            # A spreadsheet saved with a .csv name: a zip container, not text.
            junk = _rng(seed, _S_JUNK, w.index).integers(0, 256, size=4096, dtype=np.uint8)
            path = dirs["tickets"] / f"tickets-{w.label}-helpdesk-export.csv"
            path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + junk.tobytes())
            files.append(path)

        review_rng = _rng(seed, _S_REVIEWS, w.index)
        reviews = _make_reviews(tickets, w, plan, review_rng, reviews_per_week)
        if plan.bad != w.index:  # the bad week's timesheet export never arrived
            sheet_rng = _rng(seed, _S_TIMESHEETS, w.index)
            path = dirs["timesheets"] / f"timesheets-{w.label}.csv"
            entries = _make_timesheets(
                tickets, frame, w, reviews, sheet_rng, timesheet_entries_per_week
            )
            rows["timesheets"] += _write_timesheets(path, entries)
            files.append(path)

        path = dirs["reviews"] / f"reviews-{w.label}.json"
        rows["reviews"] += _write_reviews(path, reviews)
        files.append(path)

        path = dirs["changes"] / f"changes-{w.label}.csv"
        rows["changes"] += _write_changes(path, changes, w.end)
        files.append(path)

        for f in files:
            os.utime(f, (w.export, w.export))
        files_by_week[w.label] = files

    return GeneratedInbox(
        root=root,
        weeks=[w.label for w in wks],
        files_by_week=files_by_week,
        bad_week=wks[plan.bad].label if plan.bad is not None else None,
        rows=rows,
    )
