"""The SQL that sums usage calls into the usage summary (table `usage_summary`), per 15-minute
UTC bucket and group; used by the store stage and by the migration of an old warehouse."""

from __future__ import annotations

# The columns a summary row is grouped by, besides its pilot, file and bucket.
GROUP_COLUMNS = ("task_id", "model", "prompt_version", "status", "price_source")


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
    """INSERT .. SELECT summing the usage calls that match `where` into the summary."""
    groups = ", ".join(GROUP_COLUMNS)
    bucket = _bucket_sql(dialect)
    return (
        f"INSERT INTO usage_summary (pilot, file_id, bucket_start, {groups}, calls, cost_usd) "
        f"SELECT pilot, file_id, {bucket}, {groups}, count(*), "
        f"coalesce(sum(model_cost_usd), 0.0) FROM usage_call WHERE {where} "
        f"GROUP BY pilot, file_id, {bucket}, {groups}"
    )
