"""The portfolio page: one line per pilot (verdict and report link, or error and re-run command).

Pure functions from the portfolio document (what `portfolio.json` holds) to files; no Prefect.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reports.render import VERDICT_WORDS, _env, generated_at, write_atomic


def error_line(exc: BaseException) -> str:
    """`Type: message`, first line only, short enough for a table cell.

    A first line that ends in a colon introduces a list (e.g. an operating model's problems):
    the list items follow it on the same line, separated by semicolons.
    """
    lines = [line.strip().removeprefix("- ") for line in str(exc).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if first.endswith(":") and len(lines) > 1:
        first = f"{first} {'; '.join(lines[1:])}"
    line = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return line if len(line) <= 300 else line[:299] + "…"


def report_link(report_html: Path, out_dir: Path) -> str:
    """The report's address relative to `<out>/index.html` (URL-quoted, forward slashes)."""
    relative = Path(os.path.relpath(Path(report_html).resolve(), Path(out_dir).resolve()))
    return "/".join(quote(part) for part in relative.parts)


def portfolio_document(pilots: list[dict[str, Any]], week: str | None) -> dict[str, Any]:
    """What portfolio.json holds: the requested week, counts and one entry per pilot.

    Entry keys: pilot, title, operating_model, inbox, week, status (completed|failed), verdict,
    report (link relative to index.html), email_status, error, rerun.
    """
    failed = sum(p["status"] == "failed" for p in pilots)
    return {
        "week": week,
        "pilots": pilots,
        "completed": len(pilots) - failed,
        "failed": failed,
        "generated_at": generated_at(),
    }


def render_portfolio_html(doc: dict[str, Any]) -> str:
    """The self-contained index page (styles inline, no scripts, everything escaped)."""
    pilots = [
        {
            **p,
            "verdict_title": VERDICT_WORDS.get(p.get("verdict"), (None, None))[0],
        }
        for p in doc["pilots"]
    ]
    return (
        _env()
        .get_template("portfolio.html.j2")
        .render(
            doc=doc,
            completed=[p for p in pilots if p["status"] == "completed"],
            failed=[p for p in pilots if p["status"] == "failed"],
        )
    )


def write_portfolio(out_dir: Path, doc: dict[str, Any]) -> tuple[Path, Path]:
    """Write `<out>/portfolio.json` and `<out>/index.html`; returns (html, json) paths."""
    json_path, html_path = Path(out_dir) / "portfolio.json", Path(out_dir) / "index.html"
    write_atomic(json_path, json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n")
    write_atomic(html_path, render_portfolio_html(doc))
    return html_path, json_path
