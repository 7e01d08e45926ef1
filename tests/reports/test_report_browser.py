"""The report in a real headless Chromium: what a manager sees first, on a laptop and a phone,
and that no input text runs as script."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from models.settings import Settings
from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "var" / "test-artifacts"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Chromium not installed (apt-get install -y chromium)"
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def weeks(tmp_path_factory: pytest.TempPathFactory, example_model):
    """Four demo weeks through every stage (no Prefect); one of them is the bad week.

    The last week also receives hostile review text (script tags, event handlers).
    """
    from checks.verdict import store_week_verdict
    from flows.ingest import ingest_inbox
    from models.results import Week
    from pipelines.demo.canonical import generate_inbox
    from pipelines.metrics import store_week_metrics
    from pipelines.warehouse.engine import dispose_engines
    from reports.publish import publish_and_send

    root = tmp_path_factory.mktemp("browser")
    exports = generate_inbox(root / "exports", weeks=4, seed=9)
    inbox = root / "inbox"
    shutil.copytree(exports.root, inbox, copy_function=shutil.copy2)
    last = Week.parse(exports.weeks[-1], example_model.timezone)
    hostile = [
        {
            "ticket_id": '"><script>window.__pwned=1</script>',
            "reviewed_at": f"{last.monday} 11:00:00",
            "reviewer": "<svg onload=window.__pwned=2>",
            "severity": "low",
            "category": "tone",
            "note": "<img src=x onerror=window.__pwned=3><script>window.__pwned=4</script>",
            "fix": "javascript:window.__pwned=5",
        }
    ]
    (inbox / "reviews" / "hostile.json").write_text(json.dumps(hostile))
    db_url = f"sqlite:///{root / 'w.db'}"
    published = {}
    for label in exports.weeks:
        week = Week.parse(label, example_model.timezone)
        ingest_inbox(db_url, example_model, inbox, week)
        store_week_metrics(db_url, example_model, week)
        store_week_verdict(db_url, example_model, week)
        published[label] = publish_and_send(
            db_url, example_model, week, root / "reports", Settings(smtp_host=None)
        )
    dispose_engines()
    return exports, published


def test_bad_week_verdict_and_reasons_are_above_the_fold(browser, weeks):
    """It shows the PAUSE PILOT banner and every failing reason within 1280x800, and keeps a
    screenshot as a test artifact."""
    exports, published = weeks
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(published[exports.bad_week].html.as_uri())
    banner = page.locator(".banner")
    assert banner.inner_text().startswith("PAUSE PILOT")
    reasons = page.locator("ul").first.locator("li")
    assert any(text.startswith("quality.stop_now") for text in reasons.all_inner_texts())
    for box in (banner.bounding_box(), reasons.last.bounding_box()):
        assert box is not None and box["y"] + box["height"] <= 800
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "bad-week-1280x800.png")
    page.close()


def test_report_fits_a_phone_width(browser, weeks):
    """It lays the page out within a 390 px phone screen (wide tables scroll inside their box),
    the bad week's "unknown (no timesheets this week)" cells included."""
    exports, published = weeks
    for label in (exports.bad_week, exports.weeks[-1]):
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(published[label].html.as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, label
        page.close()


def test_no_input_text_runs_as_script(browser, weeks):
    """It loads a report built from script-laden inputs and no script or handler runs."""
    exports, published = weeks
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    page.goto(published[exports.weeks[-1]].html.as_uri())
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pwned === undefined")
    assert page.evaluate("document.scripts.length") == 0
    assert "<script>window.__pwned=4</script>" in page.inner_text("body")
    assert not dialogs
    page.close()
