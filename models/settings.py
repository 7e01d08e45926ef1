"""Environment settings (`PILOT_*`, also read from `.env`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where the warehouse and reports live, and how email is sent."""

    model_config = SettingsConfigDict(env_prefix="PILOT_", env_file=".env", extra="ignore")

    db_url: str = "sqlite:///var/warehouse.db"
    # The warehouse password, kept apart from the URL: flows receive URLs without it (Prefect
    # stores flow parameters) and add it inside the run (`pipelines.warehouse.engine.with_password`).
    db_password: SecretStr | None = None
    out_dir: Path = Path("var/reports")
    # Where the report folder is served on the web (e.g. https://reports.example.com/pilots):
    # Prefect's report link artifacts point there instead of at a file path when it is set.
    report_base_url: str | None = None
    # Where the command line writes its log, tracebacks included (the console shows one line);
    # unset: logs/pilot-readiness.log under the command's output folder (`log_file_for`).
    log_file: Path | None = None
    # Local mirror of inboxes given as URLs (s3://, file://, ...), one folder per pilot.
    inbox_cache_dir: Path = Path("var/inbox-cache")
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    # A private CA bundle for the SMTP server's certificate (else the system's trust store).
    smtp_ca_file: Path | None = None
    # How long a run waits for another run of the same pilot and week before it stops.
    run_lock_wait_seconds: float = 0.0
    smtp_retries: int = 3
    smtp_retry_delay_seconds: float = 10.0

    def log_file_for(self, out_dir: Path | None = None) -> Path:
        """The log file of a command whose output folder is `out_dir` (default `out_dir` of
        the settings): PILOT_LOG_FILE when set, else `<out_dir>/logs/pilot-readiness.log`."""
        return self.log_file or (out_dir or self.out_dir) / "logs" / "pilot-readiness.log"
