"""The command that re-runs one pilot's week: shown in alerts, errors and the portfolio page."""

from __future__ import annotations

import shlex
from pathlib import Path

from pipelines.warehouse.engine import redacted


def rerun_command(
    pilot_file: Path,
    inbox: Path,
    week: str | None,
    *,
    out_dir: Path | None = None,
    db_url: str | None = None,
    send_email: bool = True,
) -> str:
    """The `pilot-readiness run` command that re-runs one pilot's week with the same settings.

    A database password is masked (***): it never goes into a report.
    """
    parts = ["pilot-readiness", "run", "--pilot", str(pilot_file), "--inbox", str(inbox)]
    if week:
        parts += ["--week", week]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    if db_url is not None:
        parts += ["--db", redacted(db_url)]
    if not send_email:
        parts.append("--no-email")
    return shlex.join(parts)
