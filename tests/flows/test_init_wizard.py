"""`pilot-readiness init` and `model`: the guided start as a script, a typed conversation and a real
terminal give it, validated by the run's own operating model (no Prefect involved)."""

from __future__ import annotations

import datetime as dt
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from flows.cli import app
from flows.pilot import load_pilot
from tests.conftest import EXAMPLE_PILOT, FIXTURES, ROOT

runner = CliRunner()
DEMO_ANSWERS = FIXTURES / "init" / "support-reply-drafts.answers.yaml"


def demo_answers(tmp_path: Path) -> Path:
    """The demo's answers with the example pilot's keys that init does not ask (its vendor
    formats' options), as one answers file."""
    from flows.init_wizard import deep_merge, unasked

    example = yaml.safe_load(EXAMPLE_PILOT.read_text())
    merged = deep_merge(yaml.safe_load(DEMO_ANSWERS.read_text()), unasked(example))
    path = tmp_path / "demo-answers.yaml"
    path.write_text(yaml.safe_dump(merged, sort_keys=False))
    return path


def init(tmp_path: Path, *args: str, input: str | None = None):
    out = tmp_path / "pilot.yaml"
    result = runner.invoke(
        app, ["init", "--out", str(out), "--page-dir", str(tmp_path / "page"), *args], input=input
    )
    return result, out


def test_demo_answers_reproduce_the_example_pilot(tmp_path: Path) -> None:
    """It writes, from the demo's answers file, a file that loads to the same operating model as
    pilots/support-reply-drafts.yaml, with the page beside and the model found complete."""
    result, out = init(tmp_path, "--non-interactive", "--from", str(demo_answers(tmp_path)))
    assert result.exit_code == 0, result.output
    assert load_pilot(out) == load_pilot(EXAMPLE_PILOT)
    assert (tmp_path / "page" / "operating-model.html").is_file()
    assert "complete: every part of the operating model is written down" in result.output


def test_written_file_is_commented_yaml(tmp_path: Path) -> None:
    """It writes a YAML file with a comment heading each part and notes on the keys."""
    _, out = init(tmp_path, "--non-interactive", "--from", str(demo_answers(tmp_path)))
    text = out.read_text()
    for comment in (
        "# Workflow: the exact job the AI does",
        "# Roles: each a person and a backup",
        "  # Stop authority: may pause the pilot at once and restart it.",
        "# Failure levels:",
        "  # Total pilot cost a month: model + human + fees.",
        "  # The savings threshold; under it pauses expansion.",
        "# Sources: where each export comes from and its format",
    ):
        assert comment in text, comment
    assert yaml.safe_load(text)["costs"]["hourly_rates"] == {"default": 40, "Dana Levi": 55}


def test_non_interactive_lists_every_missing_answer(tmp_path: Path) -> None:
    """It refuses, without writing a file, answers that leave questions without a default
    unanswered, naming each key and the flag that answers it."""
    answers = tmp_path / "answers.yaml"
    answers.write_text("pilot: x\n")
    result, out = init(tmp_path, "--non-interactive", "--from", str(answers))
    assert result.exit_code == 1
    for key in (
        "title",
        "workflow.trigger",
        "workflow.never",
        "costs.monthly_cap",
        "costs.max_cost_per_task",
    ):
        assert f"{key}: no answer (give it in --from or --set {key}=...)" in result.output
    assert "review.min_sample" not in result.output  # it has a default
    assert not out.exists()


def test_non_interactive_refuses_invalid_answers_with_the_run_models_reasons(
    tmp_path: Path,
) -> None:
    """It refuses answers the operating model refuses, each with its key path and reason."""
    result, out = init(
        tmp_path,
        "--non-interactive",
        "--from",
        str(DEMO_ANSWERS),
        "--set",
        "timezone=Mars/Base",
        "--set",
        "review.min_sample=0",
        "--set",
        "costs.alert_ratio=140%",
        "--set",
        "pilot=Not An Id",
        "--set",
        "costs.monthly_cap=lots",
    )
    assert result.exit_code == 1
    assert "timezone: Value error, unknown IANA timezone 'Mars/Base'" in result.output
    assert "review.min_sample: Input should be greater than or equal to 1" in result.output
    assert "costs.alert_ratio: Input should be less than or equal to 1" in result.output
    assert "pilot: String should match pattern" in result.output
    assert "costs.monthly_cap: 'lots' is not a number" in result.output
    assert not out.exists()


def test_set_flags_answer_questions_over_the_file(tmp_path: Path) -> None:
    """It takes a --set answer over the file's, typed as the question's kind."""
    result, out = init(
        tmp_path,
        "--non-interactive",
        "--from",
        str(DEMO_ANSWERS),
        "--set",
        "costs.monthly_cap=5000",
        "--set",
        "workflow.never=none",
        "--set",
        "roles.reviewer.backup.name=none",
    )
    assert result.exit_code == 0, result.output
    model = load_pilot(out)
    assert model.costs.monthly_cap == 5000
    assert model.workflow.never == []
    assert model.roles.reviewer.backup is None
    assert "Nothing is listed that the AI must never do. (workflow.never)" in result.output
    assert "(roles.reviewer.backup)" in result.output


def test_existing_file_is_kept_without_force(tmp_path: Path) -> None:
    """It leaves an existing file alone unless --force is given."""
    (tmp_path / "pilot.yaml").write_text("keep me\n")
    result, out = init(tmp_path, "--non-interactive", "--from", str(demo_answers(tmp_path)))
    assert result.exit_code == 1 and "exists" in result.output
    assert out.read_text() == "keep me\n"
    result, out = init(
        tmp_path, "--non-interactive", "--from", str(demo_answers(tmp_path)), "--force"
    )
    assert result.exit_code == 0 and load_pilot(out) == load_pilot(EXAMPLE_PILOT)


# The demo's answers typed one by one ("" accepts the offered default); three are refused
# first and asked again.
DEMO_TYPED = [
    "support-reply-drafts",
    "Support first-reply drafts",
    "Mars/Base",  # refused: not a timezone
    "Europe/Berlin",
    "2026-09-21",
    "New ticket in the password, shipping or account queues",
    "Draft first reply, checked and sent by an agent",
    "approve refunds, change account data, answer legal complaints",
    "billing_dispute, legal, chargeback, complaint",
    "Ana Ruiz",
    "ana-at-example",  # refused: not an email
    "ana@example.com",
    "Li Wei",
    "li@example.com",
    "Sam Okafor",
    "sam@example.com",
    "Jo Park",
    "jo@example.com",
    "Dana Levi",
    "dana@example.com",
    "Max Roth",
    "max@example.com",
    "Ana Ruiz",
    "ana@example.com",
    "Sam Okafor",
    "sam@example.com",
    "",  # change approvers: Sam Okafor, Ana Ruiz offered
    "",  # review sample 20
    "",  # on 3 days
    "Correct reply, but too formal or too long",
    "The reviewer notes it; the agent edits the draft before sending",
    "Wrong delivery time quoted, or a policy step missed",
    "Counts as an error; the technical owner fixes the prompt or data within the week and "
    "logs the change",
    "Another customer's data in the draft, or a refund promised",
    "The reviewer tells the stop authority at once; AI drafts stop until the stop authority "
    "restarts the pilot",
    "",  # act within 4 hours on a failure that pauses the pilot
    "2 workdays",  # refused: not a response time
    "2 business days",
    "",  # next review for a warning
    "",  # USD
    "lots",  # refused: not a number
    "3000",
    "80%",
    "1.50",
    "default=40, Dana Levi=55",
    "120",
    "6",
    *[""] * 7,  # every stop-rule limit's default
    "",  # 3 green weeks
    "",  # next team 1.5
    "",  # busy month 2.0
    "",  # recipients: the owners' emails offered
    "readiness@example.com",
    "https://support.example.com/agent/tickets/{ticket_id}",
    "LiteLLM proxy spend logs, exported every night",
    "",
    "Zendesk ticket export (API pages), every night",
    "",
    "Toggl Track detailed report, exported as CSV every Monday",
    "",
    "Review log the reviewer keeps in a shared spreadsheet, exported as CSV",
    "",
    "Change log the technical owner keeps, exported as CSV",
    "",
]


def vendor_options_only(tmp_path: Path) -> Path:
    """The example pilot's keys that init does not ask (its vendor formats' options)."""
    from flows.init_wizard import unasked

    path = tmp_path / "vendor-options.yaml"
    path.write_text(yaml.safe_dump(unasked(yaml.safe_load(EXAMPLE_PILOT.read_text()))))
    return path


def test_typed_answers_reproduce_the_example_pilot(tmp_path: Path) -> None:
    """It asks every question in turn, asks again after a refused answer with the reason, and
    the typed demo answers give the example pilot's operating model."""
    result, out = init(
        tmp_path, "--from", str(vendor_options_only(tmp_path)), input="\n".join(DEMO_TYPED) + "\n"
    )
    assert result.exit_code == 0, result.output
    assert load_pilot(out) == load_pilot(EXAMPLE_PILOT)
    assert "not accepted: timezone: Value error, unknown IANA timezone 'Mars/Base'" in (
        result.output
    )
    assert "not accepted: roles.business_owner.email: value is not a valid email" in (result.output)
    assert "not accepted: 'lots' is not a number" in result.output
    assert (
        "not accepted: response_times.fail: Value error, '2 workdays' is not a response time"
        in (result.output)
    )
    assert (
        "Who approves prompt and model changes? Comma-separated names [Sam Okafor, Ana Ruiz]"
        in (result.output)
    )


def test_model_command_writes_the_page(tmp_path: Path) -> None:
    """It writes <out>/<pilot>/operating-model.html and says the model is complete."""
    result = runner.invoke(app, ["model", "--pilot", str(EXAMPLE_PILOT), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "support-reply-drafts" / "operating-model.html").is_file()
    assert "complete" in result.output


# a real terminal -----------------------------------------------------------------------------
class Terminal:
    """A command on a pseudo-terminal: wait for a prompt, type a line."""

    def __init__(self, *args: str, cwd: Path):
        import pty

        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env={**os.environ, "COLUMNS": "200", "TERM": "dumb"},
            close_fds=True,
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never appeared; terminal showed:\n{self.seen}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the other side closed
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"{text!r} never appeared; terminal showed:\n{self.seen}")
                self.seen += chunk.decode("utf-8", "replace")
        self.seen = self.seen[self.seen.index(text) + len(text) :]

    def answer(self, prompt: str, line: str) -> None:
        self.expect(prompt)
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        try:
            while os.read(self.master, 4096):
                pass
        except OSError:
            pass
        os.close(self.master)
        return self.process.wait(timeout=30)


def test_a_real_terminal_conversation_writes_a_loadable_model(tmp_path: Path) -> None:
    """It runs as a person types in a terminal: defaults offered, 'none' leaving roles out, a
    refused answer asked again; the file loads and its gaps are listed."""
    out = tmp_path / "small.yaml"
    term = Terminal("init", "--out", str(out), "--page-dir", str(tmp_path), cwd=ROOT)
    try:
        term.answer("Short id of the pilot", "invoice-triage")
        term.answer("Its name in plain words", "Invoice triage")
        term.answer("Timezone the team works in", "")  # UTC offered
        term.answer("First day of the pilot", "")  # none
        term.answer("What starts the AI's work", "Invoice arrives in the AP inbox")
        term.answer("What does the AI produce", "A suggested cost centre, checked by a clerk")
        term.answer("What must the AI never do", "approve payments")
        term.answer("Ticket categories that must never get an AI draft", "none")
        term.answer("Who is the business owner", "Kim Lee")
        term.answer("Email of the business owner", "kim@example.com")
        term.answer("Who covers for the business owner", "Kim Lee")  # weak: same person
        term.answer("Email of the business owner's backup", "")
        for role in ("technical owner", "reviewer"):
            term.answer(f"Who is the {role}", "Raj Patel")
            term.answer(f"Email of the {role}", "")
            term.answer(f"Who covers for the {role}", "none")
        term.answer("Who is the stop authority", "none")
        term.answer("Who approves prompt and model changes", "")  # Raj Patel, Kim Lee offered
        term.answer("How many AI outputs does the reviewer check", "0")
        term.expect("not accepted: review.min_sample: Input should be greater than or equal to 1")
        term.answer("How many AI outputs does the reviewer check", "10")
        term.answer("On how many different days", "")
        for level in ("low", "medium", "stop now"):
            term.answer(f"Failure level '{level}'", "none")
        term.answer("A failure that pauses the pilot: act within?", "1 day")
        term.answer("A failure that blocks expansion: act within?", "")
        term.answer("A warning: act within?", "")
        term.answer("Currency", "")
        term.answer("Monthly cap for the whole pilot", "500")
        term.answer("Warn when the month's spend reaches", "")
        term.answer("Most one finished AI task may cost", "0.4")
        term.answer("Hourly rates in USD", "")
        term.answer("Fixed monthly fees", "")
        term.answer("Minutes a person needs for one task", "3")
        for limit in (
            "Highest share of reviewed outputs",
            "Highest share of drafts",
            "Savings threshold",
            "Largest rise of cost per task",
            "Most prompt or model changes",
            "Highest share of rejected input rows",
            "Highest share of failed model calls",
        ):
            term.answer(limit, "")  # each limit's default
        term.answer("How many green weeks in a row", "")
        term.answer("Volume with the next team", "")
        term.answer("Volume in a busy month", "")
        term.answer("Who gets the weekly report", "")
        term.answer("Sender address of the report email", "")
        term.answer("Link to a ticket in the help desk", "")
        for _ in range(5):
            term.answer("Where do", "")
            term.answer("Export format of", "")
        term.expect("wrote " + str(out))
    finally:
        code = term.close()
    assert code == 0
    model = load_pilot(out)
    assert model.pilot == "invoice-triage" and model.timezone == "UTC"
    assert model.roles.stop_authority is None and model.change_approvers == ["Raj Patel", "Kim Lee"]
    assert model.review.min_sample == 10
    assert str(model.response_times.stop_now) == "1 day"
    assert (tmp_path / "operating-model.html").is_file()


@pytest.mark.parametrize("answer", ["", "   "])
def test_empty_answer_to_a_question_without_default_is_asked_again(
    tmp_path: Path, answer: str
) -> None:
    """It asks again when a question without a default gets no answer (input ends: nothing
    written)."""
    result, out = init(tmp_path, input=f"{answer}\n")
    assert result.exit_code == 1
    assert result.output.count("Short id of the pilot") >= 2
    assert not out.exists()


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("costs.alert_ratio", "80%", 0.8),
        ("costs.alert_ratio", "0.75", 0.75),
        ("workflow.never", "a, b ,, c", ["a", "b", "c"]),
        ("workflow.never", "none", []),
        ("costs.hourly_rates", "default=40, Dana Levi=55.5", {"default": 40, "Dana Levi": 55.5}),
        ("review.min_sample", "20.0", 20),
        ("started_on", "2026-09-21", dt.date(2026, 9, 21)),
    ],
)
def test_typed_answers_are_read_as_their_kind(key: str, text: str, value: object) -> None:
    """It reads a typed answer as its question's kind: shares with %, lists, rates, dates."""
    from flows.init_wizard import QUESTIONS, parse_answer

    question = next(q for q in QUESTIONS if q.key == key)
    assert parse_answer(question, text) == value


@pytest.mark.parametrize(
    ("key", "text"), [("costs.hourly_rates", "forty"), ("started_on", "21.09.2026")]
)
def test_unreadable_typed_answers_are_refused(key: str, text: str) -> None:
    """It refuses a typed answer its kind cannot read, saying what was expected."""
    from flows.init_wizard import QUESTIONS, AnswerError, parse_answer

    question = next(q for q in QUESTIONS if q.key == key)
    with pytest.raises(AnswerError):
        parse_answer(question, text)


def test_unasked_keys_are_what_no_question_covers() -> None:
    """It keeps, of an operating model, only the keys init does not ask, in their places."""
    from flows.init_wizard import unasked

    raw = {
        "pilot": "x",
        "costs": {"monthly_cap": 3, "prices": {}},
        "roles": {"reviewer": {"name": "R", "backup": {"name": "B"}}},
        "sources": {"usage": {"origin": "o", "format": "auto", "task_id_tag_prefix": "t:"}},
        "response_times": {"warn": "next review"},
        "newer_key": {"a": 1},
    }
    assert unasked(raw) == {
        "costs": {"prices": {}},
        "sources": {"usage": {"task_id_tag_prefix": "t:"}},
        "newer_key": {"a": 1},
    }


def test_a_bad_answer_in_the_file_is_asked_again_interactively(tmp_path: Path) -> None:
    """It asks again, interactively, for an answer of the file it cannot read, and then
    writes the file."""
    answers = yaml.safe_load(demo_answers(tmp_path).read_text())
    answers["costs"]["monthly_cap"] = "lots"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(answers))
    # Enter takes every other answer from the file (or its default); the cap is typed.
    from flows.init_wizard import QUESTIONS

    before = [q.key for q in QUESTIONS].index("costs.monthly_cap")
    page = str(tmp_path / "page")
    result = runner.invoke(
        app,
        ["init", "--from", str(path), "--out", str(tmp_path / "p.yaml"), "--page-dir", page],
        input="\n" * before + "3000\n" + "\n" * (len(QUESTIONS) - before - 1),
    )
    assert "costs.monthly_cap: the given answer is not accepted: 'lots' is not a number" in (
        result.output
    )
    assert result.exit_code == 0, result.output
    assert load_pilot(tmp_path / "p.yaml") == load_pilot(EXAMPLE_PILOT)
