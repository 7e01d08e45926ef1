"""The warehouse: SQLModel tables for inputs, quarantine, facts, metrics, rule results and runs.

Every table carries `pilot`, so one warehouse serves many pilots. Source rows keep the file they
came from (`file_id`), that file's export time (`exported_at`, newest wins) and a content hash
(`row_hash`, so a re-sent identical row counts as a duplicate).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

# The schema's history: Alembic migrations, applied to every warehouse as it is opened.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class _SourceRow(SQLModel):
    file_id: int = Field(index=True)
    exported_at: dt.datetime
    row_hash: str


class IngestedFile(SQLModel, table=True):
    """One input file seen in a pilot's inbox, with its counts (or why it was refused)."""

    __tablename__ = "ingested_file"
    __table_args__ = (UniqueConstraint("pilot", "source", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    pilot: str = Field(index=True)
    source: str
    path: str
    sha256: str
    format: str | None = None  # csv, jsonl, json, parquet
    adapter: str | None = None  # "canonical" or the vendor export format it was read as
    target: str | None = None  # the table its rows went to (usage_call, provider_cost, ...)
    exported_at: dt.datetime
    ingested_at: dt.datetime
    first_seen_week: str
    status: str  # loaded | refused | deferred (hidden, or changed while read: for a later run)
    reason: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    # Not records of the source (Langfuse spans, deleted tickets); 0 for files stored before.
    rows_skipped: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class FileWeek(SQLModel, table=True):
    """Which ISO weeks (pilot timezone) an ingested file holds rows of."""

    __tablename__ = "file_week"
    file_id: int = Field(primary_key=True)
    week: str = Field(primary_key=True)
    pilot: str = Field(index=True)
    # The file's loaded rows in the week (a ticket by its solve time, else its creation time).
    rows: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class WeekInputFile(SQLModel, table=True):
    """The files a week's report lists: fixed when the week first runs, grown only by files a
    later run of the same week ingests (so a plain re-run reports the same inputs)."""

    __tablename__ = "week_input_file"
    pilot: str = Field(primary_key=True)
    week: str = Field(primary_key=True)
    file_id: int = Field(primary_key=True)


class QuarantinedRow(SQLModel, table=True):
    """An input row that broke a check: where it was, what it said, and every reason."""

    __tablename__ = "quarantined_row"
    __table_args__ = (Index("ix_quarantine_file", "file_id", "line"),)

    id: int | None = Field(default=None, primary_key=True)
    pilot: str = Field(index=True)
    source: str
    file_id: int
    path: str
    line: int
    raw: str  # the row as JSON text
    reasons: str  # JSON list of reasons


class UsageCall(_SourceRow, table=True):
    """One model call. `model_cost_usd` is the resolved cost (input cost_usd, override or
    genai-prices); null with `price_source` 'unpriced' when the model has no known price."""

    # No time index: calls of a time span are found through their files (`usage_summary`).
    __tablename__ = "usage_call"

    pilot: str = Field(primary_key=True)
    request_id: str = Field(primary_key=True)
    timestamp: dt.datetime
    task_id: str | None = None
    user: str | None = None
    provider: str | None = None
    model: str
    prompt_version: str | None = None
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    status: str
    model_cost_usd: float | None = None
    price_source: str


class Ticket(_SourceRow, table=True):
    """One help-desk ticket as last exported."""

    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_pilot_solved", "pilot", "solved_at"),)

    pilot: str = Field(primary_key=True)
    ticket_id: str = Field(primary_key=True)
    created_at: dt.datetime
    solved_at: dt.datetime | None = None
    status: str
    category: str
    agent: str | None = None
    ai_draft_used: bool | None = None  # null: unknown (a vendor export that does not record it)
    draft_outcome: str | None = None
    reopened: int | None = None
    escalated: bool | None = None
    handle_minutes: float | None = None
    contact_count: int | None = None
    # issue 22: the handoff to a person and their first action (where the export has them)
    handed_off_at: dt.datetime | None = None
    first_human_action_at: dt.datetime | None = None


class TimesheetEntry(_SourceRow, table=True):
    """Minutes one person logged on one day for one activity."""

    __tablename__ = "timesheet_entry"
    __table_args__ = (Index("ix_timesheet_pilot_date", "pilot", "work_date"),)

    pilot: str = Field(primary_key=True)
    entry_id: str = Field(primary_key=True)
    person: str
    work_date: dt.date
    started_at: dt.datetime | None = None
    minutes: float
    activity: str
    ticket_id: str | None = None


class ReviewFinding(_SourceRow, table=True):
    """One reviewed AI output from the error log, with its severity and fix."""

    __tablename__ = "review_finding"

    pilot: str = Field(primary_key=True)
    ticket_id: str = Field(primary_key=True)
    reviewer: str = Field(primary_key=True)
    reviewed_at: dt.datetime = Field(primary_key=True)
    severity: str
    category: str | None = None
    note: str | None = None
    fix: str | None = None


class ChangeEntry(_SourceRow, table=True):
    """One change to the pilot's prompt, model, tools, data sources or policy."""

    __tablename__ = "change_entry"

    pilot: str = Field(primary_key=True)
    kind: str = Field(primary_key=True)
    version: str = Field(primary_key=True)
    changed_at: dt.datetime
    approved_by: str | None = None
    description: str | None = None


class ProviderCost(_SourceRow, table=True):
    """One line of a provider's bucketed usage or cost report (OpenAI, Anthropic): tokens or
    money per time bucket, not attributable to tasks and never added to per-request usage."""

    __tablename__ = "provider_cost"
    __table_args__ = (Index("ix_provider_cost_pilot_start", "pilot", "bucket_start"),)

    pilot: str = Field(primary_key=True)
    bucket_id: str = Field(primary_key=True)
    bucket_start: dt.datetime
    bucket_end: dt.datetime | None = None
    provider: str
    kind: str  # usage | cost
    model: str | None = None
    line_item: str | None = None
    project: str | None = None
    api_key: str | None = None
    input_tokens: int | None = None
    cached_input_tokens: int | None = None
    output_tokens: int | None = None
    requests: int | None = None
    cost_usd: float | None = None
    currency: str | None = None


class TicketLabel(_SourceRow, table=True):
    """A tag, field change or comment a help desk exports apart from its tickets."""

    __tablename__ = "ticket_label"
    __table_args__ = (Index("ix_ticket_label_ticket", "pilot", "ticket_id"),)

    pilot: str = Field(primary_key=True)
    label_id: str = Field(primary_key=True)
    ticket_id: str
    name: str
    value: str | None = None
    labelled_at: dt.datetime | None = None


class UsageSummary(SQLModel, table=True):
    """Model calls of one loaded file summed per 15-minute UTC bucket, model, prompt, status
    and price source (no task: a few thousand rows a week whatever the calls' order): the
    calls per span, day and month, and which files hold calls of a span.

    Kept equal to the `usage_call` rows each file holds (`pipelines/usage_summary.py`): written
    with the file's rows, and recomputed for every file a newer export took rows from.
    """

    __tablename__ = "usage_summary"
    __table_args__ = (Index("ix_usage_summary_pilot_bucket", "pilot", "bucket_start"),)

    id: int | None = Field(default=None, primary_key=True)
    pilot: str
    file_id: int = Field(index=True)
    bucket_start: dt.datetime  # UTC, a multiple of 15 minutes
    model: str
    prompt_version: str | None = None
    status: str
    price_source: str
    calls: int
    cost_usd: float  # sum of model_cost_usd (unpriced calls add nothing)


class UsageTaskSummary(SQLModel, table=True):
    """Model calls of one loaded file summed per task, model, prompt, status and price source,
    each row within one local week of the pilot: what the facts stage reads as a week's usage
    per task (`pipelines/usage_summary.py`). A file stored whole has a row per task group and
    week; one recomputed in SQL (its calls moved to a newer export, or a migration) a row per
    bucket. Kept equal to the calls each file holds like `usage_summary`.
    """

    __tablename__ = "usage_task_summary"
    # With last_bucket: whether a row crosses a week bound is answered from the index alone.
    __table_args__ = (
        Index("ix_usage_task_summary_pilot_first", "pilot", "first_bucket", "last_bucket"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pilot: str
    file_id: int = Field(index=True)
    task_id: str | None = None
    model: str
    prompt_version: str | None = None
    status: str
    price_source: str
    first_bucket: dt.datetime  # UTC start of the 15-minute bucket of the row's first call
    last_bucket: dt.datetime  # and of its last call
    calls: int
    cost_usd: float  # sum of model_cost_usd (unpriced calls add nothing)


class TaskFact(SQLModel, table=True):
    """One finished task (ticket solved in the week): AI or manual, with its cost and outcome."""

    __tablename__ = "task_fact"

    pilot: str = Field(primary_key=True)
    week: str = Field(primary_key=True)
    ticket_id: str = Field(primary_key=True)
    category: str
    agent: str | None = None
    solved_at: dt.datetime
    ai_task: bool | None = None  # null: the export does not say whether a draft was used
    excluded_category: bool
    draft_outcome: str | None = None
    handle_minutes: float | None = None
    model_calls: int
    model_cost_usd: float
    unpriced_calls: int
    human_minutes: float
    human_cost_usd: float
    worst_severity: str | None = None


class WeeklyMetric(SQLModel, table=True):
    """The week's metrics (contract section 7) and verdict of one pilot."""

    __tablename__ = "weekly_metric"

    pilot: str = Field(primary_key=True)
    week: str = Field(primary_key=True)
    ai_tasks: int
    total_cost: float | None = None  # None: unknown this week (a source missing)
    cost_per_task: float | None = None
    verdict: str | None = None
    metrics_json: str
    inputs_json: str


class RuleResult(SQLModel, table=True):
    """One stop rule's outcome for a pilot and week."""

    __tablename__ = "rule_result"

    pilot: str = Field(primary_key=True)
    week: str = Field(primary_key=True)
    rule_id: str = Field(primary_key=True)
    status: str
    value: float | None = None
    threshold: float | None = None
    message: str
    evidence_json: str
    evidence_total: int = 0
    owner_role: str
    on_fail: str


class EmailDelivery(SQLModel, table=True):
    """Whether a week's readiness email went out (so a re-run does not send it twice)."""

    __tablename__ = "email_delivery"

    pilot: str = Field(primary_key=True)
    week: str = Field(primary_key=True)
    status: str  # sent | failed | not_configured | disabled
    error: str | None = None
    sent_at: dt.datetime | None = None
    message_id: str | None = None


class Run(SQLModel, table=True):
    """One weekly run attempt and how it ended."""

    __tablename__ = "run"

    id: str = Field(primary_key=True)
    pilot: str = Field(index=True)
    week: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    status: str  # running | completed | failed
    stage: str | None = None
    error: str | None = None


# The table of each adapter target (the sources, plus the vendor-only tables).
SOURCE_TABLES: dict[str, type[SQLModel]] = {
    "usage": UsageCall,
    "tickets": Ticket,
    "timesheets": TimesheetEntry,
    "reviews": ReviewFinding,
    "changes": ChangeEntry,
    "provider_costs": ProviderCost,
    "ticket_labels": TicketLabel,
}
