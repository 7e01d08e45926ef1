"""`pilot-readiness init`: a guided start that writes a pilot's operating model.

It asks, in plain words, for every part of the operating model, offers a sensible default where
one exists, and validates each answer as it is given with the same pydantic model a run uses
(`models.operating_model.OperatingModel`): an answer the model refuses is asked again with the
reason. The result is a commented YAML file that `run` loads as it is.

Answers may also come from a file (`--from answers.yaml`, the operating model's own key layout,
any part of it) and from flags (`--set costs.monthly_cap=3000`). With `--non-interactive` nothing
is asked: a question without an answer takes its default, and one without a default is an error.
Keys of the answers file that no question covers (a vendor format's options, price overrides,
...) are carried into the file as given, and validated with the rest.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
import yaml
from pydantic import ValidationError

from models.operating_model import ROLE_NAMES, SOURCES, OperatingModel

Kind = Literal["text", "number", "integer", "share", "list", "rates", "date"]
Answers = dict[str, Any]
Default = Any  # a value, or a function of the answers so far giving one (None: no default)

NONE_WORDS = ("none", "-", "no")


@dataclass(frozen=True)
class Question:
    """One key of the operating model, asked in plain words."""

    key: str
    ask: str
    kind: Kind = "text"
    default: Default = None
    optional: bool = False  # "none" leaves the key out
    requires: str | None = None  # asked only when this key has an answer
    note: str = ""  # the comment above the key in the written file


@dataclass(frozen=True)
class Section:
    """Questions asked together, under a heading that is also the file's section comment."""

    title: str
    questions: tuple[Question, ...]


ROLE_DUTIES = {
    "business_owner": "owns the result and the budget, decides on expansion",
    "technical_owner": "keeps prompts, models and exports working, fixes failures",
    "reviewer": "reviews the weekly sample and logs every finding",
    "stop_authority": "may pause the pilot at once and restart it",
}


def _role_questions(role: str) -> tuple[Question, ...]:
    words = role.replace("_", " ")
    key = f"roles.{role}"
    duty = ROLE_DUTIES[role]
    return (
        Question(
            f"{key}.name",
            f"Who is the {words} ({duty})? Name, or 'none'",
            optional=True,
        ),
        Question(f"{key}.email", f"Email of the {words}", optional=True, requires=f"{key}.name"),
        Question(
            f"{key}.backup.name",
            f"Who covers for the {words} when they are away? Name, or 'none'",
            optional=True,
            requires=f"{key}.name",
        ),
        Question(
            f"{key}.backup.email",
            f"Email of the {words}'s backup",
            optional=True,
            requires=f"{key}.backup.name",
        ),
    )


def _names(*roles: str) -> Callable[[Answers], list[str] | None]:
    def default(answers: Answers) -> list[str] | None:
        found = [get(answers, f"roles.{r}.name") for r in roles]
        return [n for n in found if n] or None

    return default


def _emails(answers: Answers) -> list[str] | None:
    found = [get(answers, f"roles.{r}.email") for r in ("business_owner", "technical_owner")]
    return [e for e in found if e] or None


LEVEL_WORDS = {
    "low": (
        "a small flaw the agent fixes before sending",
        "The reviewer notes it; the agent edits the draft before sending",
    ),
    "medium": (
        "a wrong fact or a missed policy step",
        "Counts as an error; the technical owner fixes it within the week and logs the change",
    ),
    "stop_now": (
        "harm to a customer, or data that must never leave",
        "Stop AI drafts at once and tell the stop authority, who decides on a restart",
    ),
}

SOURCE_WORDS = {
    "usage": "model calls (usage logs)",
    "tickets": "tickets (help-desk export)",
    "timesheets": "review and rework time (timesheets)",
    "reviews": "the reviewer's findings (review log)",
    "changes": "prompt and model changes (change log)",
}


def _level_questions(level: str) -> tuple[Question, ...]:
    words, response = LEVEL_WORDS[level]
    key = f"failure_levels.{level}"
    return (
        Question(
            f"{key}.example",
            f"Failure level '{level.replace('_', ' ')}' ({words}): an example from this work, "
            "or 'none'",
            optional=True,
        ),
        Question(
            f"{key}.response",
            f"What do people do on a '{level.replace('_', ' ')}' failure?",
            default=response,
            requires=f"{key}.example",
        ),
    )


def _source_questions(source: str) -> tuple[Question, ...]:
    return (
        Question(
            f"sources.{source}.origin",
            f"Where do {SOURCE_WORDS[source]} come from (tool and export), or 'none'",
            optional=True,
        ),
        Question(
            f"sources.{source}.format",
            f"Export format of {source} ('auto' detects it; or a format name such as "
            "zendesk_api, litellm_spendlogs, toggl_detailed_csv, custom)",
            default="auto",
        ),
    )


SECTIONS: tuple[Section, ...] = (
    Section(
        "The pilot",
        (
            Question("pilot", "Short id of the pilot (lower case, digits and dashes)"),
            Question("title", "Its name in plain words"),
            Question(
                "timezone",
                "Timezone the team works in (IANA name, e.g. Europe/Berlin)",
                default="UTC",
                note="IANA name; weeks are Monday 00:00 to Sunday 24:00 in this zone.",
            ),
            Question(
                "started_on",
                "First day of the pilot (YYYY-MM-DD), or 'none'",
                kind="date",
                optional=True,
            ),
        ),
    ),
    Section(
        "Workflow: the exact job the AI does, and where it must not be used",
        (
            Question("workflow.trigger", "What starts the AI's work (the trigger)?"),
            Question("workflow.output", "What does the AI produce, and who checks it?"),
            Question(
                "workflow.never",
                "What must the AI never do? Comma-separated, or 'none'",
                kind="list",
            ),
            Question(
                "workflow.excluded_categories",
                "Ticket categories that must never get an AI draft? Comma-separated, or 'none'",
                kind="list",
                note="Ticket categories that must never get an AI draft.",
            ),
        ),
    ),
    Section(
        "Roles: each a person and a backup (name and email)",
        tuple(q for role in ROLE_NAMES for q in _role_questions(role)),
    ),
    Section(
        "Change control",
        (
            Question(
                "change_approvers",
                "Who approves prompt and model changes? Comma-separated names",
                kind="list",
                default=_names("technical_owner", "business_owner"),
                note="Who approves prompt and model changes (names as in the change log).",
            ),
        ),
    ),
    Section(
        "Review plan",
        (
            Question(
                "review.min_sample",
                "How many AI outputs does the reviewer check each week (20 or more)?",
                kind="integer",
                default=20,
                note="Reviewed outputs per week.",
            ),
            Question(
                "review.min_distinct_days",
                "On how many different days of the week, at least?",
                kind="integer",
                default=3,
            ),
        ),
    ),
    Section(
        "Failure levels: what each review severity means here, and the response",
        tuple(q for level in LEVEL_WORDS for q in _level_questions(level)),
    ),
    Section(
        "Response times: by when an action is due, counted from the end of the week",
        (
            Question(
                "response_times.stop_now",
                "A failure that pauses the pilot: act within? (e.g. 4 hours, 1 day)",
                default="4 hours",
            ),
            Question(
                "response_times.fail",
                "A failure that blocks expansion: act within? (e.g. 2 business days)",
                default="2 business days",
            ),
            Question(
                "response_times.warn",
                "A warning: act within? (e.g. 3 days, next review)",
                default="next review",
            ),
        ),
    ),
    Section(
        "Costs: the budget and what a person's time costs",
        (
            Question("costs.currency", "Currency (only USD is supported)", default="USD"),
            Question(
                "costs.monthly_cap",
                "Monthly cap for the whole pilot (model + review time + fees), in USD",
                kind="number",
                note="Total pilot cost a month: model + human + fees.",
            ),
            Question(
                "costs.alert_ratio",
                "Warn when the month's spend reaches what share of the cap (e.g. 0.8 or 80%)?",
                kind="share",
                default=0.8,
                note="Share of the cap at which the month's spend warns.",
            ),
            Question(
                "costs.max_cost_per_task",
                "Most one finished AI task may cost, all in (USD); above it expansion pauses",
                kind="number",
                note="One finished AI task, all in; over it pauses expansion.",
            ),
            Question(
                "costs.hourly_rates",
                "Hourly rates in USD: 'default=40', then any person, e.g. 'default=40, Dana Levi=55'",
                kind="rates",
                default={"default": 40.0},
                note="Per person, else default.",
            ),
            Question(
                "costs.fixed_monthly_fees",
                "Fixed monthly fees (logging and testing tools), in USD",
                kind="number",
                default=0,
                note="Spread evenly over the days of the month.",
            ),
            Question(
                "costs.baseline_manual_minutes",
                "Minutes a person needs for one task without the AI (the baseline)",
                kind="number",
                note="Manual handle time per task where the week has no manual tasks to measure.",
            ),
        ),
    ),
    Section(
        "Stop rules: the limits that pause expansion (or warn)",
        (
            Question(
                "limits.max_error_rate",
                "Highest share of reviewed outputs with a medium or stop-now failure",
                kind="share",
                default=0.10,
                note="Share of reviewed outputs; over it pauses expansion.",
            ),
            Question(
                "limits.max_correction_rate",
                "Highest share of drafts rewritten or discarded",
                kind="share",
                default=0.30,
                note="Share of drafts rewritten or discarded; over it pauses expansion.",
            ),
            Question(
                "limits.min_minutes_saved_per_employee_day",
                "Savings threshold: fewest minutes saved per employee per day, after review",
                kind="number",
                default=15,
                note="The savings threshold; under it pauses expansion.",
            ),
            Question(
                "limits.max_cost_per_task_rise",
                "Largest rise of cost per task week over week with no change logged",
                kind="share",
                default=0.25,
                note="Week over week.",
            ),
            Question(
                "limits.max_changes_per_week",
                "Most prompt or model changes in one week before it warns",
                kind="integer",
                default=1,
                note="More changes in a week warn.",
            ),
            Question(
                "limits.max_quarantine_ratio",
                "Highest share of rejected input rows per source",
                kind="share",
                default=0.02,
                note="Rejected rows / rows read, per source; over it pauses expansion.",
            ),
            Question(
                "limits.max_model_failure_rate",
                "Highest share of failed model calls before it warns",
                kind="share",
                default=0.05,
                note="Failed model calls / all calls; over it warns.",
            ),
        ),
    ),
    Section(
        "Expansion",
        (
            Question(
                "expansion.green_weeks_required",
                "How many green weeks in a row before the pilot may expand?",
                kind="integer",
                default=3,
                note="Weeks in a row with no failed rule before `ready`.",
            ),
        ),
    ),
    Section(
        "Volumes: now (measured), the next team, and a busy month",
        (
            Question(
                "volumes.next_team_factor",
                "Volume with the next team, as a multiple of now",
                kind="number",
                default=1.5,
            ),
            Question(
                "volumes.busy_month_factor",
                "Volume in a busy month, as a multiple of now",
                kind="number",
                default=2.0,
            ),
        ),
    ),
    Section(
        "The weekly report",
        (
            Question(
                "report.recipients",
                "Who gets the weekly report? Comma-separated emails, or 'none'",
                kind="list",
                default=_emails,
            ),
            Question(
                "report.sender", "Sender address of the report email, or 'none'", optional=True
            ),
            Question(
                "report.ticket_url",
                "Link to a ticket in the help desk, with {ticket_id}, or 'none'",
                optional=True,
            ),
        ),
    ),
    Section(
        "Sources: where each export comes from and its format",
        tuple(q for source in SOURCES for q in _source_questions(source)),
    ),
)

QUESTIONS: tuple[Question, ...] = tuple(q for s in SECTIONS for q in s.questions)


# nested answers ------------------------------------------------------------------------------
def get(answers: Answers, key: str) -> Any:
    """The answer at a dotted key, None when absent."""
    node: Any = answers
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def put(answers: Answers, key: str, value: Any) -> None:
    parts = key.split(".")
    node = answers
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def drop(answers: Answers, key: str) -> None:
    parts = key.split(".")
    node: Any = answers
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


PRUNED = (
    *(f"roles.{r}.backup" for r in ROLE_NAMES),
    *(f"roles.{r}" for r in ROLE_NAMES),
    *(f"failure_levels.{level}" for level in ("low", "medium", "stop_now")),
)


def _prune(answers: Answers) -> Answers:
    """A role, backup or failure level left empty by answers of 'none' is left out."""
    for key in PRUNED:
        if get(answers, key) == {}:
            drop(answers, key)
    return answers


def unasked(answers: Answers) -> Answers:
    """The keys of `answers` that no question covers (a vendor format's options, price
    overrides, ...), in their places."""
    rest = copy.deepcopy(answers)
    for question in QUESTIONS:
        drop(rest, question.key)

    def clean(node: Answers, original: Any) -> Answers:
        kept = {}
        for key, value in node.items():
            was = original.get(key) if isinstance(original, dict) else None
            if isinstance(value, dict):
                value = clean(value, was)
                if value == {} and was != {}:
                    continue  # emptied by taking out the asked keys
            kept[key] = value
        return kept

    return clean(rest, answers)


# typed answers -------------------------------------------------------------------------------
class AnswerError(ValueError):
    """A typed answer that cannot be read as its kind."""


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError as exc:
        raise AnswerError(f"{text!r} is not a number") from exc


def parse_answer(question: Question, text: str) -> Any:
    """A typed answer into the value the operating model takes; raises AnswerError."""
    text = text.strip()
    if question.kind == "list":
        if text.lower() in NONE_WORDS or not text:
            return []
        return [part.strip() for part in text.split(",") if part.strip()]
    if question.kind == "rates":
        rates: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.rpartition("=")
            if not sep or not name.strip():
                raise AnswerError(f"{part!r} is not 'name=rate'")
            rates[name.strip()] = _number(value.strip())
        return rates
    if question.kind in ("number", "integer"):
        value = _number(text)
        if question.kind == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    if question.kind == "share":
        return _number(text[:-1].strip()) / 100 if text.endswith("%") else _number(text)
    if question.kind == "date":
        try:
            return dt.date.fromisoformat(text)
        except ValueError as exc:
            raise AnswerError(f"{text!r} is not a date like 2026-09-21") from exc
    return text


def show_answer(question: Question, value: Any) -> str:
    """A value as it would be typed (shown as a prompt's default)."""
    if value is None:
        return "none"
    if question.kind == "list":
        return ", ".join(str(v) for v in value) if value else "none"
    if question.kind == "rates" and isinstance(value, dict):
        return ", ".join(
            f"{k}={v:g}" if isinstance(v, int | float) else f"{k}={v}" for k, v in value.items()
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# validation with the run's model -------------------------------------------------------------
def problems_at(answers: Answers, key: str | None = None) -> list[str]:
    """What the operating model refuses in the answers, as 'key.path: reason'; with `key`, only
    the problems at or under that key (keys not yet answered are not problems then)."""
    try:
        OperatingModel.model_validate(_prune(copy.deepcopy(answers)))
    except ValidationError as exc:
        found = []
        for err in exc.errors():
            path = ".".join(str(p) for p in err["loc"])
            if key is None or path == key or path.startswith(key + "."):
                found.append(f"{path or '(root)'}: {err['msg']}")
        return found
    return []


def _default(question: Question, answers: Answers) -> Any:
    return question.default(answers) if callable(question.default) else question.default


def _asked(question: Question, answers: Answers) -> bool:
    return question.requires is None or get(answers, question.requires) is not None


def _set_answer(answers: Answers, question: Question, value: Any) -> None:
    if value is None or (question.optional and value == ""):
        drop(answers, question.key)
    else:
        put(answers, question.key, value)


def _resolve(question: Question, answers: Answers, given: Any) -> Any:
    """The typed value of an answer given in a file or flag (text is read as typed)."""
    if isinstance(given, str):
        if question.optional and given.strip().lower() in NONE_WORDS:
            return None
        return parse_answer(question, given)
    return given


class InitError(ValueError):
    """Answers that do not make a valid operating model, with every problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(f"  - {p}" for p in problems))


def answer_all(
    given: Answers, *, interactive: bool, echo: Callable[[str], None] = typer.echo
) -> Answers:
    """Every question answered: from `given` (file and flags), else asked (interactive), else
    its default. Each answer is validated by the operating model at its key as it is given."""
    answers = unasked(given)  # keys no question covers stay as given
    problems: list[str] = []
    for section in SECTIONS:
        if interactive:
            typer.secho(f"\n{section.title}", bold=True)
        for question in section.questions:
            if not _asked(question, answers):
                drop(answers, question.key)
                continue
            offered = get(given, question.key)
            try:
                value = _resolve(question, answers, offered) if offered is not None else None
            except AnswerError as exc:
                value = None  # asked again when interactive
                if interactive:
                    echo(f"  {question.key}: the given answer is not accepted: {exc}")
                else:
                    problems.append(f"{question.key}: {exc}")
            if value is None and offered is None:
                value = _default(question, answers)
            if interactive:
                value = _ask(question, answers, value, echo)
            elif value is None and not question.optional:
                problems.append(
                    f"{question.key}: no answer (give it in --from or --set {question.key}=...)"
                )
                continue
            _set_answer(answers, question, value)
            if not interactive:
                problems += problems_at(answers, question.key)
    if problems:
        raise InitError(problems)
    return _prune(answers)


def _ask(question: Question, answers: Answers, offered: Any, echo: Callable[[str], None]) -> Any:
    """Ask until the operating model accepts the answer at its key."""
    while True:
        shown = show_answer(question, offered) if offered is not None or question.optional else None
        text = typer.prompt(question.ask, default=shown, show_default=shown is not None)
        try:
            value = _resolve(question, answers, text)
        except AnswerError as exc:
            echo(f"  not accepted: {exc}")
            continue
        trial = copy.deepcopy(answers)
        _set_answer(trial, question, value)
        refused = problems_at(trial, question.key)
        if not refused:
            return value
        for problem in refused:
            echo(f"  not accepted: {problem}")


# the commented file --------------------------------------------------------------------------
NOTES = {
    **{q.key: q.note for q in QUESTIONS if q.note},
    **{f"roles.{r}": f"{r.replace('_', ' ').capitalize()}: {d}." for r, d in ROLE_DUTIES.items()},
    **{
        f"failure_levels.{lv}": f"{lv.replace('_', ' ').capitalize()}: {w[0]}."
        for lv, w in LEVEL_WORDS.items()
    },
    **{f"sources.{s}": f"{w[0].upper()}{w[1:]}." for s, w in SOURCE_WORDS.items()},
}
SECTION_OF_KEY = {s.questions[0].key.split(".")[0]: s.title for s in SECTIONS}
FLOW_KEYS = {q.key for q in QUESTIONS if q.kind == "rates"}


def _scalar(value: Any) -> str:
    text = yaml.safe_dump(
        value, default_flow_style=True, allow_unicode=True, width=10**9, sort_keys=False
    )
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _emit(node: dict[str, Any], path: str, indent: int, lines: list[str]) -> None:
    pad = "  " * indent
    for key, value in node.items():
        full = f"{path}.{key}" if path else str(key)
        if not path and full in SECTION_OF_KEY:
            lines += ["", f"# {SECTION_OF_KEY[full]}"]
        if full in NOTES:
            lines.append(f"{pad}# {NOTES[full]}")
        name = _scalar(key)
        if isinstance(value, dict) and value and full not in FLOW_KEYS:
            lines.append(f"{pad}{name}:")
            _emit(value, full, indent + 1, lines)
        else:
            lines.append(f"{pad}{name}: {_scalar(value)}")


def _ordered(answers: Answers) -> Answers:
    """The answers in question order, then any other given keys where they belong."""
    ordered: Answers = {}
    for question in QUESTIONS:
        value = get(answers, question.key)
        if value is not None:
            put(ordered, question.key, value)

    def merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
        for key, value in extra.items():
            if key not in into:
                into[key] = value
            elif isinstance(into[key], dict) and isinstance(value, dict):
                merge(into[key], value)

    merge(ordered, answers)
    return ordered


def operating_model_yaml(answers: Answers) -> str:
    """The commented YAML file of complete, valid answers."""
    model = OperatingModel.model_validate(answers)
    lines = [
        f"# Operating model of {model.title} ({model.pilot}), written by `pilot-readiness init`.",
        "# Every threshold of the weekly verdict lives here; edit it and re-run the week.",
        "# Keys and defaults: docs/operating-model.md.",
    ]
    _emit(_ordered(answers), "", 0, lines)
    return "\n".join(lines) + "\n"


def parse_sets(pairs: list[str]) -> Answers:
    """`--set key.path=value` flags as answers (the value is read as its question's kind)."""
    answers: Answers = {}
    by_key = {q.key: q for q in QUESTIONS}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InitError([f"--set {pair!r}: expected key.path=value"])
        key = key.strip()
        if key not in by_key:
            value = yaml.safe_load(value) if value.strip() else None
        put(answers, key, value)
    return answers


def deep_merge(base: Answers, over: Answers) -> Answers:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_answers(path: Path) -> Answers:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InitError([f"{path}: cannot read file: {exc.strerror or exc}"]) from exc
    except yaml.YAMLError as exc:
        raise InitError([f"{path}: not valid YAML: {exc}"]) from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InitError([f"{path}: expected a mapping of operating-model keys"])
    return raw


# the command ---------------------------------------------------------------------------------
def init(
    out: Annotated[
        Path | None,
        typer.Option(help="File to write (default pilots/<pilot>.yaml)."),
    ] = None,
    answers_file: Annotated[
        Path | None,
        typer.Option(
            "--from", help="Answers in the operating model's key layout (any part of it)."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Answer one question: --set costs.monthly_cap=3000 (repeatable)."
        ),
    ] = None,
    non_interactive: Annotated[
        bool,
        typer.Option(
            "--non-interactive", help="Ask nothing: unanswered questions take their defaults."
        ),
    ] = False,
    page_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where operating-model.html goes (default <PILOT_OUT_DIR or var/reports>/<pilot>)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a pilot's operating model by answering plain questions (or from --from/--set)."""
    from flows.pilot import load_pilot
    from models.operating_model import OperatingModelError
    from models.settings import Settings
    from reports.operating_model_page import write_operating_model_page

    def fail(problems: list[str]) -> None:
        typer.secho(
            f"no operating model written ({len(problems)} problem(s)):\n"
            + "\n".join(f"  - {p}" for p in problems),
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)

    try:
        given = read_answers(answers_file) if answers_file else {}
        given = deep_merge(given, parse_sets(set_ or []))
        answers = answer_all(given, interactive=not non_interactive)
        problems = problems_at(answers)
        if problems:
            raise InitError(problems)
    except InitError as exc:
        fail(exc.problems)
    except typer.Abort:
        typer.secho("\nstopped: nothing written", err=True)
        raise typer.Exit(1) from None
    pilot = answers["pilot"]
    target = out or Path("pilots") / f"{pilot}.yaml"
    if target.exists() and not force:
        fail([f"{target} exists: choose another --out, or --force to overwrite it"])
    target.parent.mkdir(parents=True, exist_ok=True)
    text = operating_model_yaml(answers)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        model = load_pilot(tmp)  # as a run loads it: also the sources' format options
    except OperatingModelError as exc:
        tmp.unlink(missing_ok=True)
        fail(exc.problems)
    tmp.replace(target)
    page = write_operating_model_page(page_dir or Settings().out_dir / pilot, model)
    typer.echo(f"wrote {target}")
    typer.echo(f"wrote {page}")
    print_completeness(model)


def print_completeness(model: OperatingModel) -> None:
    """The completeness findings of an operating model, one per line."""
    from checks.completeness import completeness

    findings = completeness(model)
    if not findings:
        typer.echo("complete: every part of the operating model is written down")
        return
    typer.echo(f"still undocumented or weak ({len(findings)}):")
    for finding in findings:
        typer.echo(f"  - {finding.message} ({finding.key})")
