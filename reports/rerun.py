"""The command that re-runs one pilot's week (or a range of weeks) with every option the failed
run was given: shown in alerts, errors and the portfolio page."""

from __future__ import annotations

import shlex
from pathlib import Path

from pipelines.warehouse.engine import redacted


def rerun_command(
    pilot_file: Path,
    inbox: Path | str,
    week: str | None,
    *,
    weeks: str | None = None,
    out_dir: Path | None = None,
    db_url: str | None = None,
    send_email: bool = True,
    resend: bool = False,
    allow_partial_week: bool = False,
    verbose: bool = False,
) -> str:
    """The `pilot-readiness run` command that re-runs a week (`week`) or a range (`weeks`, like
    2026-W39..2026-W46) with the same options.

    A database password is masked (***): it never goes into a report, alert or console. The
    command line reads a masked password from PILOT_DB_PASSWORD, so the command runs as shown
    wherever that variable holds the password.
    """
    parts = ["pilot-readiness", "run", "--pilot", str(pilot_file), "--inbox", str(inbox)]
    if weeks:
        parts += ["--weeks", weeks]
    elif week:
        parts += ["--week", week]
    if out_dir is not None:
        parts += ["--out", str(out_dir)]
    if db_url is not None:
        parts += ["--db", redacted(db_url)]
    if not send_email:
        parts.append("--no-email")
    if resend:
        parts.append("--resend")
    if allow_partial_week:
        parts.append("--allow-partial-week")
    if verbose:
        parts.append("--verbose")
    return shlex.join(parts)
