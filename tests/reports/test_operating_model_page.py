"""The operating model as a page: what it shows, the gaps it lists, the weekly report's link and
findings, and that it prints on at most two A4 or Letter pages in a real headless Chromium."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from models.operating_model import OperatingModel
from reports.operating_model_page import render_operating_model_page, write_operating_model_page
from tests.checks.test_completeness import complete_raw
from tests.conftest import FIXTURES

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium not installed (apt-get install -y chromium)"
)


def weak_raw() -> dict:
    """A small model with several gaps: no backup, an empty never list, no cap, a small sample."""
    raw = complete_raw()
    raw["workflow"]["never"] = []
    del raw["roles"]["reviewer"]["backup"]
    raw["costs"]["monthly_cap"] = 0
    raw["review"]["min_sample"] = 8
    del raw["failure_levels"]["low"]
    return raw


def long_raw() -> dict:
    """A wordy model, to print: long lists, long answers, price overrides, many rates."""
    raw = complete_raw()
    sentence = "Reply drafted from the knowledge base and the customer's last three tickets"
    raw["workflow"]["trigger"] = sentence + ", in the password, shipping and account queues"
    raw["workflow"]["never"] = [f"{sentence} ({i})" for i in range(6)]
    raw["workflow"]["excluded_categories"] = [f"category_{i}" for i in range(14)]
    raw["costs"]["hourly_rates"] = {"default": 40, **{f"Agent {i}": 40 + i for i in range(12)}}
    raw["costs"]["prices"] = {
        f"model-{i}": {"input": 2.5, "output": 10, "cached_input": 1.25} for i in range(4)
    }
    for level in raw["failure_levels"].values():
        level["example"] = level["response"] = sentence + ". " + sentence + "."
    raw["report"] = {"recipients": [f"person{i}@example.com" for i in range(8)]}
    return raw


def test_page_shows_every_part(example_model) -> None:
    """It shows the workflow, roles and backups, review plan, failure levels, cost limits,
    volumes, savings threshold, change control, expansion criteria and the sources."""
    html = render_operating_model_page(example_model)
    for text in (
        "New ticket in the password, shipping or account queues",
        "approve refunds; change account data; answer legal complaints",
        "billing_dispute, legal, chargeback, complaint",
        "Li Wei",
        "Max Roth",
        "At least <b>20</b> AI outputs reviewed every week, on at least <b>3</b>",
        "Another customer&#39;s data in the draft",
        "3,000.00 USD",
        "80.0% of the cap (2,400.00 USD)",
        "at most 1.50 USD",
        "1.5 &times; now",
        "2 &times; now",
        "<b>6 min</b>",
        "<b>15 min per employee per day</b>",
        "<b>Sam Okafor, Ana Ruiz</b>",
        "Ready to expand after <b>3</b> green week(s)",
        "LiteLLM proxy spend logs",
        "Complete:",
    ):
        assert text in html, text
    assert "<script" not in html.lower()


def test_page_lists_the_gaps() -> None:
    """It lists every completeness finding with its key, and marks the empty parts."""
    html = render_operating_model_page(OperatingModel.model_validate(weak_raw()))
    assert "Still undocumented or weak (5):" in html
    for key in (
        "workflow.never",
        "roles.reviewer.backup",
        "review.min_sample",
        "failure_levels.low",
        "costs.monthly_cap",
    ):
        assert f"<code>{key}</code>" in html
    assert "nothing listed" in html and "not written down" in html and "no cap" in html


def test_page_escapes_model_text() -> None:
    """It shows text from the operating model as text, never as markup."""
    raw = complete_raw()
    raw["workflow"]["trigger"] = "<script>alert(1)</script>"
    html = render_operating_model_page(OperatingModel.model_validate(raw))
    assert "<script" not in html.lower() and "&lt;script&gt;" in html


def weekly_html(model: OperatingModel) -> str:
    from models.results import Week, WeeklyMetrics
    from reports.readiness import WeekReadiness
    from reports.render import render_html

    golden = json.loads((FIXTURES / "demo-golden" / "2026-W46.json").read_text())
    readiness = WeekReadiness(
        pilot=model.pilot,
        week=Week.parse("2026-W46", model.timezone),
        verdict=golden["verdict"],
        outcomes=[],
        metrics=WeeklyMetrics.from_json(json.dumps(golden["metrics"])),
        inputs=golden["inputs"],
    )
    return render_html(
        readiness, model, chart_png=None, previous_metrics=None, findings=[], quarantine=[]
    )


def test_weekly_report_links_the_page_and_shows_the_gaps() -> None:
    """It links operating-model.html from the report's ownership section and lists the same
    completeness findings there."""
    html = weekly_html(OperatingModel.model_validate(weak_raw()))
    ownership = html.split("<h2>Ownership</h2>", 1)[1].split("<h2>", 1)[0]
    assert '<a href="operating-model.html">' in ownership
    assert "Still undocumented or weak in the operating model" in ownership
    assert "The reviewer (reviewer holder) has no backup" in ownership
    assert "(review.min_sample)" in ownership


def test_weekly_report_of_a_complete_model_lists_no_gaps(example_model) -> None:
    """It shows no gap list in the report of a complete operating model, only the link."""
    html = weekly_html(example_model)
    assert '<a href="operating-model.html">' in html
    assert "Still undocumented" not in html
    assert "every part of it is written down" in html


def print_pages(html_path: Path, paper: str, out: Path) -> int:
    """Print a page with headless Chromium on the given paper; the PDF's page count."""
    styled = out / f"{html_path.stem}-{paper}.html"
    styled.write_text(
        html_path.read_text().replace(
            "</head>", f"<style>@page {{ size: {paper}; }}</style></head>"
        )
    )
    pdf = out / f"{styled.stem}.pdf"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            styled.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf.read_bytes()))


@needs_chromium
@pytest.mark.parametrize("paper", ["A4", "letter"])
@pytest.mark.parametrize("which", ["example", "weak", "long"])
def test_page_prints_on_at_most_two_pages(
    tmp_path: Path, example_model, paper: str, which: str
) -> None:
    """It prints on at most two pages of A4 and of Letter, also for a wordy model."""
    model = {
        "example": example_model,
        "weak": OperatingModel.model_validate(weak_raw()),
        "long": OperatingModel.model_validate(long_raw()),
    }[which]
    page = write_operating_model_page(tmp_path, model)
    assert 1 <= print_pages(page, paper, tmp_path) <= 2


@needs_chromium
@pytest.mark.parametrize("width", [390, 1280])
def test_page_needs_no_sideways_scrolling(tmp_path: Path, example_model, width: int) -> None:
    """It fits a phone's and a laptop's width: no part of the page is wider than the screen."""
    from playwright.sync_api import sync_playwright

    pages = [
        write_operating_model_page(tmp_path / name, model)
        for name, model in (
            ("example", example_model),
            ("weak", OperatingModel.model_validate(weak_raw())),
        )
    ]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            tab = browser.new_page(viewport={"width": width, "height": 800})
            for page in pages:
                tab.goto(page.as_uri())
                assert tab.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            browser.close()
