"""The SQL that sums usage calls into the usage summaries, per 15-minute UTC bucket (tables
`usage_summary` and `usage_task_summary`); used by the store stage when a file's calls moved
and by the rebuild of a warehouse made without migrations."""

from __future__ import annotations

# The columns a week's usage is grouped by (the task summary's groups, besides pilot and file).
GROUP_COLUMNS = ("task_id", "model", "prompt_version", "status", "price_source")
# The columns a bucket summary row is grouped by, besides its pilot, file and bucket.
BUCKET_GROUP_COLUMNS = GROUP_COLUMNS[1:]


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
    """INSERT .. SELECT summing the usage calls that match `where` into the task summary, one
    row per bucket (right in every timezone: SQL here does not know the pilot's weeks)."""
    groups = ", ".join(GROUP_COLUMNS)
    bucket = _bucket_sql(dialect)
    return (
        f"INSERT INTO usage_task_summary (pilot, file_id, {groups}, first_bucket, last_bucket, "
        f"calls, cost_usd) "
        f"SELECT pilot, file_id, {groups}, {bucket}, {bucket}, count(*), "
        f"coalesce(sum(model_cost_usd), 0.0) FROM usage_call WHERE {where} "
        f"GROUP BY pilot, file_id, {bucket}, {groups}"
    )
