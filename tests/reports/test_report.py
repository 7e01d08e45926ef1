"""The published week: HTML, JSON, quarantine CSVs and the email file, from stored results."""

from __future__ import annotations

import json
import shutil
from email import message_from_bytes
from email.policy import default

import pytest

from models.settings import Settings


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, example_model):
    """Two demo weeks run through every stage (no Prefect), the second with hostile text."""
    from checks.verdict import store_week_verdict
    from flows.ingest import ingest_inbox
    from models.results import Week
    from pipelines.demo.canonical import generate_inbox
    from pipelines.metrics import store_week_metrics
    from pipelines.warehouse.engine import dispose_engines
    from reports.publish import publish_and_send

    root = tmp_path_factory.mktemp("published")
    exports = generate_inbox(root / "exports", weeks=2, seed=5)
    inbox = root / "inbox"
    shutil.copytree(exports.root, inbox, copy_function=shutil.copy2)
    week = exports.weeks[-1]
    hostile = inbox / "reviews" / "hostile.json"
    hostile.write_text(
        json.dumps(
            [
                {
                    "ticket_id": "<script>alert(1)</script>",
                    "reviewed_at": f"{week_day(week)} 10:00:00",
                    "reviewer": "Dana Levi",
                    "severity": "low",
                    "category": "tone",
                    "note": "<img src=x onerror=alert(2)> & <b>bold</b>",
                    "fix": '=HYPERLINK("http://evil")',
                },
                {
                    "ticket_id": "=cmd|' /C calc'!A0",
                    "reviewed_at": "not a time",
                    "reviewer": "x",
                    "severity": "bad",
                },
            ]
        )
    )
    db_url = f"sqlite:///{root / 'w.db'}"
    out = root / "reports"
    for label in exports.weeks:
        w = Week.parse(label, example_model.timezone)
        ingest_inbox(db_url, example_model, inbox, w)
        store_week_metrics(db_url, example_model, w)
        store_week_verdict(db_url, example_model, w)
        result = publish_and_send(db_url, example_model, w, out, Settings(smtp_host=None))
    dispose_engines()
    return result


def week_day(week: str) -> str:
    from models.results import Week

    return Week.parse(week, "Europe/Berlin").monday.isoformat()


def test_html_escapes_input_text(published):
    """It shows hostile input text as text: no tag from an input survives unescaped."""
    html = published.html.read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<script" not in html.lower()


def test_html_is_self_contained(published):
    """It embeds the chart and loads nothing from the network."""
    html = published.html.read_text()
    assert "data:image/png;base64," in html
    assert 'src="http' not in html and "<link" not in html and "url(" not in html
    assert "@import" not in html


def test_quarantine_csv_neutralises_formulas(published):
    """It prefixes cells that spreadsheets would run as formulas and keeps line numbers."""
    text = (published.folder / "quarantine" / "reviews.csv").read_text()
    assert "reviews/hostile.json,2," in text  # JSON arrays count records from 1
    assert ",=" not in text and "\n=" not in text


@pytest.mark.parametrize("cell", ["=SUM(A1)", "+1+1", "-2+3", "@cmd", "\t=1"])
def test_safe_cell_prefixes_formula_starts(cell):
    """It makes a cell that starts like a formula inert by prefixing a quote."""
    from reports.render import safe_cell

    assert safe_cell(cell) == "'" + cell
    assert safe_cell("plain text") == "plain text"


def test_json_and_html_agree_on_the_verdict(published):
    """It writes the same verdict to readiness.json, the HTML banner and the email subject."""
    doc = json.loads(published.json.read_text())
    words = {
        "ready": "READY TO EXPAND",
        "pause_expansion": "PAUSE EXPANSION",
        "pause_pilot": "PAUSE PILOT",
    }
    assert doc["verdict"] == published.verdict
    assert words[doc["verdict"]] in published.html.read_text()
    message = message_from_bytes((published.folder / "email.eml").read_bytes(), policy=default)
    assert message["Subject"] == f"[{words[doc['verdict']]}] support-reply-drafts {doc['week']}"
    # The report's recipients first, then the owner and backup of every rule asking for action.
    owners = {
        "business_owner": ["ana@example.com", "li@example.com"],
        "technical_owner": ["sam@example.com", "jo@example.com"],
        "reviewer": ["dana@example.com", "max@example.com"],
        "stop_authority": ["ana@example.com", "sam@example.com"],
    }
    acting = [r["owner_role"] for r in doc["rules"] if r["due"]]
    expected = ["ana@example.com", "sam@example.com"] + [e for role in acting for e in owners[role]]
    assert message["To"] == ", ".join(dict.fromkeys(expected))
    text = message.get_body(("plain",)).get_content()
    for rule in doc["rules"]:
        if rule["due"]:
            assert rule["id"] in text
    kinds = [part.get_content_type() for part in message.walk()]
    assert "text/plain" in kinds and kinds.count("text/html") == 2  # body and attachment
    assert doc["email"] == {"status": "not_configured", "error": None}


def test_unreachable_smtp_server_raises_without_the_password(published):
    """It raises a delivery error for an unreachable server that never shows the password."""
    from reports.email import EmailDeliveryError, send

    message = message_from_bytes((published.folder / "email.eml").read_bytes(), policy=default)
    settings = Settings(
        smtp_host="127.0.0.1", smtp_port=1, smtp_username="u", smtp_password="s3cret-pw"
    )
    with pytest.raises(EmailDeliveryError) as caught:
        send(message, settings)
    assert "s3cret-pw" not in str(caught.value)


def test_a_week_without_bills_has_no_reconciliation(published):
    """It leaves the bill reconciliation out when the week has no provider bill lines."""
    assert json.loads(published.json.read_text())["metrics"]["bill_reconciliation"] is None
    assert "Provider bill reconciliation" not in published.html.read_text()


def test_reconciliation_table_and_warning_are_rendered(published, example_model):
    """It shows each model's bill beside its logged cost and the warning above 5 %."""
    import polars as pl

    from models.results import Week, WeeklyMetrics
    from pipelines.reconciliation import BILL_SCHEMA, LOG_SCHEMA, reconcile
    from reports.readiness import WeekReadiness
    from reports.render import render_html

    bill = pl.DataFrame(
        [("gpt-4o<img>", "cost", "usd", 10.0, None)], schema=BILL_SCHEMA, orient="row"
    )
    logs = pl.DataFrame([("gpt-4o<img>", 4, 1, 8.0, 100)], schema=LOG_SCHEMA, orient="row")
    doc = published.doc
    readiness = WeekReadiness(
        pilot=doc["pilot"],
        week=Week.parse(doc["week"], example_model.timezone),
        verdict=doc["verdict"],
        outcomes=[],
        metrics=WeeklyMetrics.model_validate(
            doc["metrics"] | {"bill_reconciliation": reconcile(bill, logs)}
        ),
        inputs=doc["inputs"],
    )
    html = render_html(
        readiness,
        example_model,
        chart_png=None,
        previous_metrics=None,
        findings=[],
        quarantine=[],
    )
    assert "Provider bill reconciliation" in html
    assert '<td class="num">10.00</td><td class="num">8.00</td><td class="num">20.0%</td>' in html
    assert "Warning: gpt-4o&lt;img&gt;: 20.0% of the bill is not explained" in html


def test_action_text_names_what_is_missing_and_asks_for_more_reviews() -> None:
    """It turns an unknown rule into 'deliver what is missing' with its reason, and a
    small-sample warning into a request for more reviews; other rules keep their catalog action."""
    from checks.rules.catalog import SAMPLE_TOO_SMALL
    from models.results import RuleOutcome
    from reports.render import action_text

    def rule(status: str, message: str) -> RuleOutcome:
        return RuleOutcome(
            id="quality.error_rate", status=status, value=None, threshold=0.1,  # type: ignore[arg-type]
            message=message, evidence=[], evidence_total=0, owner_role="technical_owner",
            on_fail="pause_expansion", action="Review the medium findings.", evidence_kind="tickets",
        )  # fmt: skip

    unknown = action_text(rule("unknown", "error rate is unknown (no reviews this week)"))
    assert unknown == (
        "Error rate is unknown (no reviews this week): deliver what is missing, then re-run the week."
    )
    assert "Review more outputs" in action_text(rule("warn", f"{SAMPLE_TOO_SMALL}: 6.9 %"))
    assert action_text(rule("fail", "error rate 20 %")) == "Review the medium findings."


def test_operating_model_page_is_written_beside_the_report(published, example_model):
    """It writes operating-model.html beside readiness.html, and the report links to it."""
    page = published.folder / "operating-model.html"
    assert page.is_file()
    assert example_model.workflow.trigger in page.read_text()
    assert '<a href="operating-model.html">' in published.html.read_text()


def test_data_quality_counts_skipped_rows_and_rows_in_the_week(published):
    """It shows skipped rows beside the other counts, and readiness.json holds each source's
    rows in the week and the solved tickets without a solve time (issue 17)."""
    doc = json.loads(published.json.read_text())
    html = published.html.read_text()
    assert '<th class="num">Duplicate</th><th class="num">Skipped</th>' in html
    for source, stats in doc["inputs"].items():
        assert stats["rows_read"] == (
            stats["rows_loaded"]
            + stats["rows_quarantined"]
            + stats["rows_duplicate"]
            + stats["rows_skipped"]
        ), source
        assert stats["rows_in_week"] >= 0, source
    assert doc["inputs"]["tickets"]["rows_in_week"] > 0
    assert doc["inputs"]["tickets"]["solved_without_solve_time"] == 0
    assert "without a solve time" not in html


def test_report_shows_handoffs_manual_comparison_and_reviewer_load(published) -> None:
    """It puts the issue 22 figures in readiness.json and gives the report its sections "AI next
    to the manual process" and "Reviewer load", with the three rules in the rule table."""
    html = published.html.read_text(encoding="utf-8")
    doc = json.loads(published.json.read_text(encoding="utf-8"))
    metrics = doc["metrics"]
    assert {"vs_manual", "reviewer_load", "handoff"} <= set(metrics)
    assert metrics["vs_manual"]["reopen_rate"]["interval"] == "newcombe_wilson"
    assert metrics["handoff"]["response_limit"] == "4 hours"
    assert [r["person"] for r in metrics["reviewer_load"]][:1] == ["Dana Levi"]
    ids = {r["id"] for r in doc["rules"]}
    assert {"handoff.response_time", "quality.vs_manual", "volume.reviewer_load"} <= ids
    for heading in ("<h2>AI next to the manual process</h2>", "<h2>Reviewer load</h2>"):
        assert heading in html
    assert "Median resolution time of AI tickets" in html and "Wilson (Newcombe)" in html


def test_quarantine_reasons_are_counted_by_kind_whatever_their_values(
    published, example_model
) -> None:
    """It counts rows whose reasons differ only in the value they quote as one reason."""
    from models.results import Week, WeeklyMetrics
    from reports.readiness import WeekReadiness
    from reports.render import render_html

    doc = published.doc
    readiness = WeekReadiness(
        pilot=doc["pilot"],
        week=Week.parse(doc["week"], example_model.timezone),
        verdict=doc["verdict"],
        outcomes=[],
        metrics=WeeklyMetrics.model_validate(doc["metrics"]),
        inputs=doc["inputs"],
    )
    quarantine = [
        {"reasons": ["status is not one of ok, error, timeout: 'exploded'"]},
        {"reasons": ["status is not one of ok, error, timeout: 'nope'", "timestamp is missing"]},
    ]
    html = render_html(
        readiness,
        example_model,
        chart_png=None,
        previous_metrics=None,
        findings=[],
        quarantine=quarantine,
    )
    assert "<li>status is not one of ok, error, timeout: 2 row(s)</li>" in html
    assert "<li>timestamp is missing: 1 row(s)</li>" in html
    assert "exploded" not in html
