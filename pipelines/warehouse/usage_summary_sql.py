"""The SQL that sums usage calls into the usage summaries: per 15-minute UTC bucket (table
`usage_summary`) and per task within a part of the UTC week (table `usage_task_summary`); used
by the store stage and by the rebuild of a warehouse made without migrations."""

from __future__ import annotations

# The columns a week's usage is grouped by (the task summary's groups, besides pilot and file).
GROUP_COLUMNS = ("task_id", "model", "prompt_version", "status", "price_source")
# The columns a bucket summary row is grouped by, besides its pilot, file and bucket.
BUCKET_GROUP_COLUMNS = GROUP_COLUMNS[1:]

# The parts of the task summary. A part runs from a Monday 12:00 UTC (the latest local Monday
# midnight, at UTC-12) to the next; its calls from Sunday 10:00 UTC (the earliest local Monday
# midnight, at UTC+14) on are split per bucket. In seconds from a Monday 12:00 UTC before any
# call, so every division below is of a positive number.
PART_ORIGIN_EPOCH_S = -2_208_945_600  # 1900-01-01 12:00 UTC, a Monday
PART_S = 7 * 24 * 3600
SPLIT_FROM_S = (5 * 24 + 22) * 3600  # Sunday 10:00 UTC, from the part's Monday 12:00


def _bucket_sql(dialect: str) -> str:
    if dialect == "sqlite":
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): keep the hour, round the minutes down.
        return (
            'substr("timestamp", 1, 14) || printf(\'%02d\', CAST(substr("timestamp", 15, 2) AS '
            "INTEGER) / 15 * 15) || ':00.000000'"
        )
    return (
        "date_trunc('hour', \"timestamp\")"
        " + floor(extract(minute FROM \"timestamp\") / 15) * interval '15 minutes'"
    )


def _seconds_sql(dialect: str) -> str:
    """Seconds from the parts' origin to the start of a call's bucket (a positive integer;
    of the bucket, a whole minute, so no fraction of a second is ever rounded)."""
    bucket = _bucket_sql(dialect)
    if dialect == "sqlite":
        epoch = f"CAST(strftime('%s', {bucket}) AS INTEGER)"
    else:
        epoch = f"CAST(extract(epoch FROM {bucket}) AS BIGINT)"
    return f"({epoch} - ({PART_ORIGIN_EPOCH_S}))"


def _part_sql(dialect: str) -> tuple[str, str]:
    """The two expressions that name a call's part: its week part, and its bucket when the
    call lies where week boundaries can fall (else null)."""
    seconds = _seconds_sql(dialect)
    week_part = f"({seconds} / {PART_S})"
    # mod(), not %: psycopg reads a bare % in the statement as a placeholder.
    remainder = f"mod({seconds}, {PART_S})" if dialect == "postgresql" else f"{seconds} % {PART_S}"
    split = f"(CASE WHEN {remainder} >= {SPLIT_FROM_S} THEN {_bucket_sql(dialect)} END)"
    return week_part, split


def refresh_sql(dialect: str, where: str) -> str:
    """INSERT .. SELECT summing the usage calls that match `where` into the bucket summary."""
    groups = ", ".join(BUCKET_GROUP_COLUMNS)
    bucket = _bucket_sql(dialect)
    return (
        f"INSERT INTO usage_summary (pilot, file_id, bucket_start, {groups}, calls, cost_usd) "
        f"SELECT pilot, file_id, {bucket}, {groups}, count(*), "
        f"coalesce(sum(model_cost_usd), 0.0) FROM usage_call WHERE {where} "
        f"GROUP BY pilot, file_id, {bucket}, {groups}"
    )


def refresh_task_sql(dialect: str, where: str) -> str:
    """INSERT .. SELECT summing the usage calls that match `where` into the task summary."""
    groups = ", ".join(GROUP_COLUMNS)
    bucket = _bucket_sql(dialect)
    week_part, split = _part_sql(dialect)
    return (
        f"INSERT INTO usage_task_summary (pilot, file_id, {groups}, first_bucket, last_bucket, "
        f"calls, cost_usd) "
        f"SELECT pilot, file_id, {groups}, min({bucket}), max({bucket}), count(*), "
        f"coalesce(sum(model_cost_usd), 0.0) FROM usage_call WHERE {where} "
        f"GROUP BY pilot, file_id, {groups}, {week_part}, {split}"
    )
