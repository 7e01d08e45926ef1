"""The demo inbox in vendor export formats: LiteLLM spend logs, Zendesk ticket pages, Toggl CSV.

`write_vendor_inbox` takes the canonical demo inbox (`pipelines.demo.canonical.generate_inbox`) and
writes the same weeks as the files a team running the pilot on LiteLLM, Zendesk and Toggl Track
would hand over (export-formats.md A5, B1 and C1):

- usage -> `usage/usage-<week>.jsonl`: `LiteLLM_SpendLogs` rows as JSON Lines. The ticket is the
  request tag `ticket:<id>`, the prompt version the caller's metadata key `prompt_version`,
  cached tokens `metadata.usage_object.prompt_tokens_details.cached_tokens`, the latency
  `endTime - startTime`; a timeout is a failure with `error_information.error_class` `Timeout`.
  `spend` is set only where the canonical row had a cost, so the rest is priced the same way.
- tickets -> `tickets/tickets-<week>.json`: one Zendesk incremental export page (`tickets`,
  side-loaded `metric_sets` and `users`; more pages, `-page-<n>`, past 1,000 tickets). The
  team's ticket reference is `external_id`, the category and the Time Tracking app's total time
  spent (seconds) are custom fields, the AI draft flag and its outcome are tags, the solve time
  and reopens come from the metric set.
- timesheets -> `timesheets/timesheets-<week>.csv`: Toggl Track's detailed CSV. User is the
  person's name, the activity is the entry's tag, the ticket is `#<id>` in the description.
  The canonical entries have a date and minutes but no start time, so each person's entries of a
  day are laid end to end from 09:00 local time.
- reviews and changes are copied unchanged (no vendor format is in scope for them), and so is a
  file the canonical reading refuses (the unreadable export), so it is refused the same way.

Each vendor file carries exactly the rows the canonical run loads from its original (the valid
rows the ingest's `prepare` gives; quarantined and repeated rows are left out) and keeps the original's
export time (mtime). The operating model's `sources` options (pilots/support-reply-drafts.yaml)
tell the adapters how to read these files into the same facts.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from models.operating_model import OperatingModel, SourceSettings
from pipelines.demo.canonical import GeneratedInbox
from pipelines.prepare import InboxFile, PreparedFile
from pipelines.read import LINE, file_sha256

__all__ = ["VENDOR_SOURCES", "write_vendor_inbox"]

# The sources written in a vendor format; the others are copied unchanged.
VENDOR_SOURCES = ("usage", "tickets", "timesheets")

# LiteLLM: the demo pilot drafts with OpenAI models through the proxy.
LITELLM_PROVIDER = "openai"
LITELLM_KEY_HASH = hashlib.sha256(b"sk-litellm-support-drafts").hexdigest()
TASK_TAG_PREFIX = "ticket:"
ERROR_INFORMATION = {
    "error": {"error_class": "InternalServerError", "error_code": "500"},
    "timeout": {"error_class": "Timeout", "error_code": "408"},
}

# Zendesk: custom field ids of the demo account, and the tags its draft macro sets.
ZENDESK_URL = "https://example.zendesk.com/api/v2"
CATEGORY_FIELD = 27642
TIME_SPENT_FIELD = 27650  # Time Tracking app: "Total time spent (sec)"
AI_DRAFT_TAG = "ai_draft"
OUTCOME_TAG_PREFIX = "draft_"
ZENDESK_PAGE_SIZE = 1000  # the incremental export's largest page

# Toggl Track.
TOGGL_HEADER = [
    "User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date",
    "Start time", "End date", "End time", "Duration", "Tags", "Amount (USD)",
]  # fmt: skip
DAY_START = dt.time(9, 0)


# The ingest's preparation of one file (read, adapt, check, price): `flows.ingest.prepare_file`.
Prepare = Callable[[InboxFile, OperatingModel, "dt.datetime | None"], PreparedFile]


def write_vendor_inbox(
    generated: GeneratedInbox,
    out_dir: Path,
    operating_model: OperatingModel,
    prepare: Prepare,
    now_utc: dt.datetime | None = None,
) -> GeneratedInbox:
    """Write `generated` (a canonical demo inbox) under `out_dir` in vendor formats; `prepare`
    gives the rows the canonical run loads from each file.

    Returns the vendor inbox: the same weeks and bad week, `files_by_week` listing the new files
    (export times kept) and `rows` counting the data rows written per source.
    """
    root = Path(out_dir)
    canonical = _canonical_reader(operating_model)
    rows = dict.fromkeys(generated.rows, 0)
    files_by_week: dict[str, list[Path]] = {}
    for week in generated.weeks:
        written: list[Path] = []
        for path in generated.files_by_week[week]:
            relative = path.relative_to(generated.root)
            source = relative.parts[0]
            mtime = path.stat().st_mtime
            prepared = None
            if source in VENDOR_SOURCES:
                prepared = prepare(_inbox_file(path, relative, source), canonical, now_utc)
            if prepared is None or prepared.refused:
                target = root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                new = [target]
                if prepared is None:
                    rows[source] = rows.get(source, 0) + _data_rows(target)
            else:
                new, count = _write_vendor(prepared, root / source, path.stem, operating_model)
                rows[source] = rows.get(source, 0) + count
            for target in new:
                os.utime(target, (mtime, mtime))
            written += new
        files_by_week[week] = written
    return GeneratedInbox(
        root=root,
        weeks=list(generated.weeks),
        files_by_week=files_by_week,
        bad_week=generated.bad_week,
        rows=rows,
    )


def _canonical_reader(operating_model: OperatingModel) -> OperatingModel:
    """The operating model with the vendor sources read as canonical files."""
    sources = dict(operating_model.sources) | {
        s: SourceSettings(format="canonical") for s in VENDOR_SOURCES
    }
    return operating_model.model_copy(update={"sources": sources})


def _inbox_file(path: Path, relative: Path, source: str) -> InboxFile:
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)
    return InboxFile(
        source=source,
        path=path,
        relative_path=relative.as_posix(),
        sha256=file_sha256(path),
        exported_at=mtime,
    )


def _data_rows(path: Path) -> int:
    """Data rows of a copied review (JSON array) or change (CSV) file."""
    if path.suffix == ".json":
        return len(json.loads(path.read_text(encoding="utf-8")))
    return max(0, len(path.read_text(encoding="utf-8").splitlines()) - 1)


def _write_vendor(
    prepared: PreparedFile, folder: Path, stem: str, operating_model: OperatingModel
) -> tuple[list[Path], int]:
    folder.mkdir(parents=True, exist_ok=True)
    valid = prepared.valid.sort(LINE)
    source = prepared.file.source
    if source == "usage":
        path = folder / f"{stem}.jsonl"
        _write_litellm(valid, path)
        return [path], valid.height
    if source == "tickets":
        return _write_zendesk(valid, folder, stem), valid.height
    path = folder / f"{stem}.csv"
    _write_toggl(valid, path, ZoneInfo(operating_model.timezone))
    return [path], valid.height


# --- usage: LiteLLM_SpendLogs JSON Lines --------------------------------------------------------


def _write_litellm(usage: pl.DataFrame, path: Path) -> None:
    """Canonical usage rows as `LiteLLM_SpendLogs` JSON Lines (one request per line)."""
    stamp = "%Y-%m-%dT%H:%M:%S%.3fZ"
    latency = pl.duration(microseconds=(pl.col("latency_ms") * 1000).round().cast(pl.Int64))
    status = pl.col("status")

    def error_field(name: str) -> pl.Expr:
        words = {s: info[name] for s, info in ERROR_INFORMATION.items()}
        return status.replace_strict(words, default=None, return_dtype=pl.String)

    metadata = pl.struct(
        pl.lit("support-drafts").alias("user_api_key_alias"),
        pl.struct(pl.col("prompt_version").alias("prompt_version")).alias("requester_metadata"),
        pl.struct(
            pl.col("input_tokens").alias("prompt_tokens"),
            pl.col("output_tokens").alias("completion_tokens"),
            pl.struct(pl.col("cached_input_tokens").alias("cached_tokens")).alias(
                "prompt_tokens_details"
            ),
        ).alias("usage_object"),
        pl.when(status != "ok")
        .then(
            pl.struct(
                error_field("error_class").alias("error_class"),
                error_field("error_code").alias("error_code"),
            )
        )
        .alias("error_information"),
    )
    tags = (
        pl.when(pl.col("task_id").is_not_null())
        .then(pl.concat_list(pl.lit(TASK_TAG_PREFIX) + pl.col("task_id")))
        .otherwise(pl.lit([], dtype=pl.List(pl.String)))
    )
    provider = pl.col("provider") if "provider" in usage.columns else pl.lit(None, pl.String)
    logs = usage.select(
        pl.col("request_id"),
        pl.lit("acompletion").alias("call_type"),
        pl.lit(LITELLM_KEY_HASH).alias("api_key"),
        pl.col("cost_usd").alias("spend"),
        (pl.col("input_tokens") + pl.col("output_tokens")).alias("total_tokens"),
        pl.col("input_tokens").alias("prompt_tokens"),
        pl.col("output_tokens").alias("completion_tokens"),
        pl.col("timestamp").dt.strftime(stamp).alias("startTime"),
        (pl.col("timestamp") + latency).dt.strftime(stamp).alias("endTime"),
        pl.col("model"),
        pl.col("model").alias("model_group"),
        provider.fill_null(LITELLM_PROVIDER).alias("custom_llm_provider"),
        pl.col("user"),
        metadata.alias("metadata"),
        pl.lit("False").alias("cache_hit"),
        tags.alias("request_tags"),
        pl.lit("support").alias("team_id"),
        pl.when(status == "ok")
        .then(pl.lit("success"))
        .otherwise(pl.lit("failure"))
        .alias("status"),
    )
    logs.write_ndjson(path)


# --- tickets: Zendesk incremental export page ---------------------------------------------------


def _zulu(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number_id(text: str, digits: int = 12) -> int:
    """A stable numeric id: the number ending `text` (`T-100001` -> 100001), else a number
    hashed from it."""
    found = re.fullmatch(r"\D*(\d{1,15})", text)
    if found:
        return int(found.group(1))
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16) % 10**digits


def _user_id(name: str) -> int:
    return 360_000_000_000 + _number_id("user " + name, 9) if name else 0


def _email(name: str) -> str:
    return f"{name.split()[0].lower()}@example.com"


def _ticket(row: dict[str, Any]) -> dict[str, Any]:
    number = _number_id(row["ticket_id"])
    tags = []
    if row["ai_draft_used"]:
        tags.append(AI_DRAFT_TAG)
    if row["draft_outcome"]:
        tags.append(OUTCOME_TAG_PREFIX + row["draft_outcome"])
    minutes = row["handle_minutes"]
    seconds = None if minutes is None else round(minutes * 60)
    agent = row["agent"]
    updated = max(t for t in (row["created_at"], row["solved_at"]) if t is not None)
    return {
        "url": f"{ZENDESK_URL}/tickets/{number}.json",
        "id": number,
        "external_id": row["ticket_id"],
        "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}},
        "created_at": _zulu(row["created_at"]),
        "updated_at": _zulu(updated),
        "type": None,
        "priority": None,
        "status": row["status"],
        "requester_id": None,
        "assignee_id": _user_id(agent) if agent else None,
        "group_id": None,
        "tags": sorted(tags),
        "custom_fields": [
            {"id": CATEGORY_FIELD, "value": row["category"]},
            {"id": TIME_SPENT_FIELD, "value": None if seconds is None else str(seconds)},
        ],
        "generated_timestamp": int(updated.timestamp()),
    }


def _metric_set(row: dict[str, Any]) -> dict[str, Any]:
    number = _number_id(row["ticket_id"])
    return {
        "id": number,
        "ticket_id": number,
        "created_at": _zulu(row["created_at"]),
        "solved_at": _zulu(row["solved_at"]),
        "reopens": row["reopened"],
    }


def _write_zendesk(tickets: pl.DataFrame, folder: Path, stem: str) -> list[Path]:
    """Canonical ticket rows as Zendesk incremental export pages (metric sets and users
    side-loaded, `include=metric_sets,users`)."""
    records = tickets.to_dicts()
    pages = [
        records[i : i + ZENDESK_PAGE_SIZE] for i in range(0, len(records), ZENDESK_PAGE_SIZE)
    ] or [[]]
    paths: list[Path] = []
    for n, page in enumerate(pages, start=1):
        agents = sorted({r["agent"] for r in page if r["agent"]})
        document = {
            "tickets": [_ticket(r) for r in page],
            "metric_sets": [_metric_set(r) for r in page],
            "users": [
                {"id": _user_id(a), "name": a, "email": _email(a), "role": "agent"} for a in agents
            ],
            "after_url": None,
            "after_cursor": None,
            "end_of_stream": n == len(pages),
        }
        name = f"{stem}.json" if len(pages) == 1 else f"{stem}-page-{n}.json"
        path = folder / name
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")
        paths.append(path)
    return paths


# --- timesheets: Toggl Track detailed CSV -------------------------------------------------------


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _write_toggl(entries: pl.DataFrame, path: Path, zone: ZoneInfo) -> None:
    """Canonical timesheet entries as a Toggl Track detailed report CSV (UTF-8 with BOM)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(TOGGL_HEADER)
    day_used: dict[tuple[str, dt.date], int] = {}  # seconds already logged that day
    for row in entries.iter_rows(named=True):
        person, day = row["person"], row["work_date"]
        seconds = round(row["minutes"] * 60)
        if row.get("started_at") is not None:
            start = row["started_at"].astimezone(zone)
        else:
            used = day_used.get((person, day), 0)
            start = dt.datetime.combine(day, DAY_START, zone) + dt.timedelta(seconds=used)
            day_used[(person, day)] = used + seconds
        end = (start.astimezone(dt.UTC) + dt.timedelta(seconds=seconds)).astimezone(zone)
        activity = row["activity"]
        ticket = row["ticket_id"]
        description = (
            f"{activity.capitalize()} #{ticket}" if ticket else f"{activity.capitalize()} (pilot)"
        )
        writer.writerow(
            [
                person,
                _email(person),
                "Support",
                "AI reply drafts pilot",
                "",
                description,
                "No",
                start.strftime("%Y-%m-%d"),
                start.strftime("%H:%M:%S"),
                end.strftime("%Y-%m-%d"),
                end.strftime("%H:%M:%S"),
                _hms(seconds),
                activity,
                "0.00",
            ]
        )
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))
