"""The pilot's operating model: who owns it, what it may do, and the limits that stop it.

Loaded from `pilots/<pilot>.yaml` (contract section 3). Every threshold a stop rule uses comes
from here, never from code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)

SOURCES = ("usage", "tickets", "timesheets", "reviews", "changes")
ROLE_NAMES = ("business_owner", "technical_owner", "reviewer", "stop_authority")

# Every number of the model is finite (no .inf, no .nan: a NaN threshold would switch its rule
# off) and bounded, so that no sum, product or projection of them overflows to infinity.
Fraction = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Money = Annotated[float, Field(ge=0, le=1e9)]  # USD: a cap, a fee, a price per task or per hour
Factor = Annotated[float, Field(gt=0, le=1000)]
DAY_MINUTES = 24 * 60
WeekHours = Annotated[float, Field(ge=0, le=168)]
DEFAULT_REVIEW_CAPACITY_HOURS = 5.0

# The YAML reader's bounds: a document with more aliases, or more nodes once its aliases are
# expanded, is refused before anything reads its values ("billion laughs").
MAX_YAML_ALIASES = 100
MAX_YAML_NODES = 100_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Person(_Strict):
    """A named person who can be reached."""

    name: str = Field(min_length=1)
    email: EmailStr | None = None


class Role(Person):
    """A role holder and the backup who covers when they are away."""

    backup: Person | None = None


class Roles(_Strict):
    """The four roles every pilot needs. A missing role is allowed here so the
    `ownership.roles` rule can report it instead of the file being refused."""

    business_owner: Role | None = None
    technical_owner: Role | None = None
    reviewer: Role | None = None
    stop_authority: Role | None = None


class Workflow(_Strict):
    """The exact job the AI does, what it must never do, and where it must not be used."""

    trigger: str
    output: str
    never: list[str] = []
    excluded_categories: list[str] = []


class Review(_Strict):
    """The weekly review sample the reviewer owes."""

    min_sample: int = Field(ge=1)
    min_distinct_days: int = Field(ge=1, le=7)
    # issue 22, reviewer load: hours a reviewer can give to reviews per week, one number for
    # everyone or per person ({default: 5, Dana Levi: 6}); past it reviewers rubber-stamp.
    capacity_hours_per_week: WeekHours | dict[str, WeekHours] = 5.0

    def capacity_of(self, person: str) -> float:
        """Review hours per week a person can give: their own entry, else the default."""
        capacity = self.capacity_hours_per_week
        if isinstance(capacity, dict):
            return capacity.get(person, capacity.get("default", DEFAULT_REVIEW_CAPACITY_HOURS))
        return capacity


class ModelPrice(_Strict):
    """Override price of one model, USD per million tokens."""

    input: Money
    output: Money
    cached_input: Money | None = None


class Costs(_Strict):
    """Budget, per-task limit and the rates that turn minutes into money."""

    currency: str = "USD"
    monthly_cap: Money
    alert_ratio: Fraction
    max_cost_per_task: Money
    hourly_rates: dict[str, Money]
    fixed_monthly_fees: Money = 0
    baseline_manual_minutes: Annotated[float, Field(ge=0, le=DAY_MINUTES)]
    prices: dict[str, ModelPrice] = {}

    @field_validator("currency")
    @classmethod
    def _usd_only(cls, value: str) -> str:
        # Model prices and cost_usd are in USD; mixing currencies would silently mis-add.
        if value != "USD":
            raise ValueError("only USD is supported (model prices and cost_usd are in USD)")
        return value

    @field_validator("hourly_rates")
    @classmethod
    def _has_default(cls, value: dict[str, float]) -> dict[str, float]:
        if "default" not in value:
            raise ValueError("needs a 'default' rate for people not listed")
        return value

    def rate_per_hour(self, person: str) -> float:
        """Hourly rate of a person, else the default rate."""
        return self.hourly_rates.get(person, self.hourly_rates["default"])


class Limits(_Strict):
    """Thresholds of the stop rules."""

    max_error_rate: Fraction
    max_correction_rate: Fraction
    min_minutes_saved_per_employee_day: Annotated[float, Field(ge=-DAY_MINUTES, le=DAY_MINUTES)]
    max_cost_per_task_rise: Annotated[float, Field(ge=0, le=1000)]
    max_changes_per_week: int = Field(ge=0)
    max_quarantine_ratio: Fraction
    max_model_failure_rate: Fraction
    # issue 22: share of handed-off tickets a person may pick up later than handoff.response_time
    max_late_handoff_share: Fraction = 0.1


# issue 22: AI next to the manual process ------------------------------------------------------
class VsManual(_Strict):
    """How much worse than the manual process the AI group may be before `quality.vs_manual`
    fails (the difference's 95 % interval must also be clear of zero), and the smallest group
    worth comparing."""

    reopen_rate_margin: Fraction = 0.05  # share of tickets reopened, AI minus manual
    contacts_per_ticket_margin: Annotated[float, Field(ge=0, le=1000)] = 0.5
    resolution_minutes_margin: Annotated[float, Field(ge=0, le=100 * DAY_MINUTES)] = 240.0
    min_tickets_per_group: int = Field(default=20, ge=1)


class Expansion(_Strict):
    green_weeks_required: int = Field(ge=1)


class Volumes(_Strict):
    next_team_factor: Factor
    busy_month_factor: Factor


class FailureLevel(_Strict):
    """One review severity written down: an example of such a failure and what people do then."""

    example: str = Field(min_length=1)
    response: str = Field(min_length=1)


class FailureLevels(_Strict):
    """The failure levels of the review log (`severity`), each with an example and the response.
    The stop rules act on the levels themselves; these words tell people what each one means."""

    low: FailureLevel | None = None
    medium: FailureLevel | None = None
    stop_now: FailureLevel | None = None


TimeUnit = Literal["hours", "days", "business_days", "next_review"]
_RESPONSE_TIME = re.compile(
    r"\s*(?:(?P<amount>\d+)\s*(?P<unit>h|hours?|d|days?|business\s+days?)|(?P<next>next\s+review))\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ResponseTime:
    """How long the person owning an action has, counted from the end of the week the report is
    about: a number of hours, of calendar days, of business days (Monday to Friday), or until
    the next weekly review (the end of the following week)."""

    amount: int
    unit: TimeUnit

    @classmethod
    def parse(cls, text: str) -> ResponseTime:
        """`4h`, `4 hours`, `3 days`, `2 business days` or `next review`; ValueError otherwise."""
        match = _RESPONSE_TIME.fullmatch(str(text))
        if not match:
            raise ValueError(
                f"{text!r} is not a response time: write e.g. '4 hours', '3 days', "
                "'2 business days' or 'next review'"
            )
        if match["next"]:
            return cls(1, "next_review")
        unit = match["unit"].lower()
        kind: TimeUnit = (
            "business_days"
            if unit.startswith("business")
            else "hours"
            if unit.startswith("h")
            else "days"
        )
        return cls(int(match["amount"]), kind)

    def due(self, week_end: dt.datetime, zone: ZoneInfo) -> dt.datetime:
        """The due date-time, in the pilot's timezone, of an action for the week ending at
        `week_end` (Monday 00:00 local). Days and business days keep the local time of day
        across a DST change."""
        start = week_end.astimezone(zone)
        if self.unit == "hours":
            return (start.astimezone(dt.UTC) + dt.timedelta(hours=self.amount)).astimezone(zone)
        if self.unit == "next_review":
            return _local_days_later(start, 7, zone)
        if self.unit == "days":
            return _local_days_later(start, self.amount, zone)
        day, left = start.date(), self.amount
        # The first business day's end counts as day one: "2 business days" from a week that
        # ended Monday 00:00 is due Tuesday 24:00, i.e. Wednesday 00:00.
        while left:
            if day.isoweekday() <= 5:
                left -= 1
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, start.time(), zone)

    def __str__(self) -> str:
        if self.unit == "next_review":
            return "next review"
        word = {"hours": "hour", "days": "day", "business_days": "business day"}[self.unit]
        return f"{self.amount} {word}{'' if self.amount == 1 else 's'}"


def _local_days_later(start: dt.datetime, days: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(start.date() + dt.timedelta(days=days), start.time(), zone)


def _response_time(value: Any) -> ResponseTime:
    if isinstance(value, ResponseTime):
        return value
    if isinstance(value, dict) and set(value) == {"amount", "unit"}:  # a dump of one
        return ResponseTime.parse(str(ResponseTime(int(value["amount"]), value["unit"])))
    return ResponseTime.parse(value)


# change effects (issue 20) ---------------------------------------------------------------------
class ChangeEffectsSettings(_Strict):
    """How many weeks before and after a change-log entry its effect is measured over."""

    weeks_before: int = Field(default=2, ge=1, le=26)
    weeks_after: int = Field(default=2, ge=1, le=26)


# -------------------------------------------------------------------------------------------------
class ResponseTimes(_Strict):
    """By when an action is due, per kind of outcome: a failed rule that pauses the pilot
    (`stop_now`), any other failed or unknown-but-needed rule (`fail`), and a warning (`warn`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    stop_now: ResponseTime = ResponseTime(4, "hours")
    fail: ResponseTime = ResponseTime(2, "business_days")
    warn: ResponseTime = ResponseTime(1, "next_review")

    @field_validator("stop_now", "fail", "warn", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> ResponseTime:
        return _response_time(value)

    @field_serializer("stop_now", "fail", "warn")
    def _text(self, value: ResponseTime) -> str:
        # Dumped as written in the operating model, so a dump validates again.
        return str(value)


# issue 22: the handoff from the AI to a person --------------------------------------------------
class Handoff(_Strict):
    """When the AI must stop and pass the work to a person, who receives it (a role name or a
    person) and how fast they must respond, counted from the handoff."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    conditions: list[str] = Field(min_length=1)
    receiver: str = Field(min_length=1)
    response_time: ResponseTime

    @field_validator("response_time", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> ResponseTime:
        return _response_time(value)

    @field_serializer("response_time")
    def _text(self, value: ResponseTime) -> str:
        return str(value)


WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


class ReportSettings(_Strict):
    """Who gets the report, how ticket ids link to the help desk, and when the scheduled run
    makes it."""

    recipients: list[EmailStr] = []
    sender: EmailStr | None = None
    # e.g. https://acme.zendesk.com/agent/tickets/{ticket_id}; evidence ticket ids link there.
    ticket_url: str | None = Field(default=None, pattern=r"^https?://.*\{ticket_id\}")
    # Weekday and local time (pilot timezone) of the scheduled weekly run; it takes the week
    # that ended last (Monday 00:00), so the default leaves the night's exports time to land.
    run_at: str = Field(
        default="Monday 07:00", pattern=rf"^({'|'.join(WEEKDAYS)}) ([01][0-9]|2[0-3]):[0-5][0-9]$"
    )

    @property
    def run_cron(self) -> str:
        """`run_at` as a cron expression (minute hour * * weekday), read in the pilot's zone."""
        day, clock = self.run_at.split()
        hour, minute = clock.split(":")
        return f"{int(minute)} {int(hour)} * * {WEEKDAYS.index(day)}"


class SourceSettings(BaseModel):
    """How one source's files are read: the settings every source has, declared here, and the
    options of the source's export formats, kept as extra keys.

    Each format (adapter) declares its own options; a key that no format of the source declares
    is refused when the pilot is loaded for a run or a check (`flows.pilot.load_pilot`).
    """

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    format: str = Field(
        default="auto",
        description='"auto" (detected from the header or keys), "canonical", "custom" or a '
        "format name.",
    )
    encoding: str | None = Field(
        default=None, description="The files' text encoding (e.g. latin-1); default UTF-8."
    )
    origin: str | None = Field(
        default=None,
        description="Where the files come from (the tool and the export), in plain words.",
    )
    keep_extra_columns: bool = Field(
        default=False,
        description="Keep columns outside the canonical set (e.g. ticket subjects) in "
        "quarantined raw rows.",
    )
    formats: dict[str, dict[str, Any]] = Field(
        default={},
        description="{format name: options}: options of one export format, over the folder-wide "
        "ones (`formats.zendesk_api.category_field`).",
    )
    files: list[dict[str, Any]] = Field(
        default=[],
        description='[{match: "<glob>", <option>: ...}]: options of the files whose name matches, '
        "over the folder-wide and format ones (later entries win).",
    )


class OperatingModel(_Strict):
    """One pilot's operating model (contract section 3)."""

    pilot: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    timezone: str
    started_on: dt.date | None = None
    workflow: Workflow
    roles: Roles
    change_approvers: list[str] = []
    review: Review
    costs: Costs
    limits: Limits
    expansion: Expansion
    volumes: Volumes
    failure_levels: FailureLevels = FailureLevels()
    report: ReportSettings = ReportSettings()
    response_times: ResponseTimes = ResponseTimes()
    vs_manual: VsManual = VsManual()  # issue 22
    handoff: Handoff | None = None  # issue 22; `handoff.response_time` warns without it
    sources: dict[str, SourceSettings] = {}
    change_effects: ChangeEffectsSettings = ChangeEffectsSettings()  # issue 20

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @field_validator("sources")
    @classmethod
    def _known_sources(cls, value: dict[str, SourceSettings]) -> dict[str, SourceSettings]:
        unknown = sorted(set(value) - set(SOURCES))
        if unknown:
            raise ValueError(f"unknown source(s) {unknown}; expected some of {list(SOURCES)}")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source(self, name: str) -> SourceSettings:
        return self.sources.get(name, SourceSettings())


class OperatingModelError(ValueError):
    """An operating model file that cannot be used, with every problem found."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{path}: invalid operating model ({len(problems)} problem(s)):\n{listing}"
        )


def _key_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(root)"


def load_operating_model(path: Path | str) -> OperatingModel:
    """Read and validate an operating model file; raise OperatingModelError listing every problem."""
    path = Path(path)
    try:
        raw = read_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OperatingModelError(path, [f"cannot read file: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise OperatingModelError(path, [f"not UTF-8 text: {exc.reason}"]) from exc
    except YamlTooLarge as exc:
        raise OperatingModelError(path, [str(exc)]) from exc
    except RecursionError as exc:
        raise OperatingModelError(path, ["refused before reading: YAML nested too deep"]) from exc
    except yaml.YAMLError as exc:
        raise OperatingModelError(path, [f"not valid YAML: {exc}"]) from exc
    if not isinstance(raw, dict):
        raise OperatingModelError(path, ["(root): expected a mapping of keys"])
    _resolve_mapping_paths(raw, path.parent)
    try:
        return OperatingModel.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_key_path(err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise OperatingModelError(path, problems) from exc


class YamlTooLarge(ValueError):
    """A YAML document refused before it is built: too many aliases, or too large expanded."""


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a document whose aliases or expanded size pass the bounds
    before any Python object of it is built."""

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None:
            _check_expanded_size(node)
        return node


def _check_expanded_size(root: yaml.Node) -> None:
    """Count the aliases (a node met again) and the nodes of the document once every alias is
    expanded, memoised per node so a bomb is measured without being expanded."""
    sizes: dict[int, int] = {}
    aliases = 0

    def size(node: yaml.Node, depth: int) -> int:
        nonlocal aliases
        key = id(node)
        if key in sizes:
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise YamlTooLarge(
                    f"refused before reading: more than {MAX_YAML_ALIASES} YAML aliases"
                )
            return sizes[key]
        if depth > 100:
            raise YamlTooLarge("refused before reading: YAML nested more than 100 levels deep")
        sizes[key] = 0  # a node that holds itself counts once
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        if total > MAX_YAML_NODES:
            raise YamlTooLarge(
                f"refused before reading: more than {MAX_YAML_NODES} YAML nodes once its "
                "aliases are expanded"
            )
        sizes[key] = total
        return total

    size(root, 0)


def read_yaml(text: str) -> Any:
    """The YAML document of `text` (safe types only); YamlTooLarge when its aliases or expanded
    size pass the bounds, yaml.YAMLError when it is not YAML."""
    return yaml.load(text, Loader=_BoundedLoader)  # a SafeLoader subclass: safe types only


def _resolve_mapping_paths(raw: dict[str, Any], folder: Path) -> None:
    """Custom-format mapping files named relative to the operating model file are found there."""
    sources = raw.get("sources")
    if not isinstance(sources, dict):
        return
    for settings in sources.values():
        if not isinstance(settings, dict):
            continue
        formats = settings.get("formats")
        files = settings.get("files")
        inner = [
            *(formats.values() if isinstance(formats, dict) else []),
            *(files if isinstance(files, list) else []),
        ]
        for section in [settings, *inner]:
            if isinstance(section, dict) and isinstance(section.get("mapping"), str):
                mapping = Path(section["mapping"]).expanduser()
                if not mapping.is_absolute():
                    section["mapping"] = str(folder / mapping)
