"""Typing raw cells into canonical columns: timestamps, numbers, booleans and timesheet minutes."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipelines.normalize import PARSE_ERRORS, to_canonical
from pipelines.read import LINE, RefusedFile

BERLIN = "Europe/Berlin"
UTC = dt.UTC


def _usage(**columns: list[str | None]) -> pl.DataFrame:
    """A raw usage frame of text cells; every required column defaults to a valid value."""
    height = len(next(iter(columns.values()), [None]))
    base: dict[str, list[str | None]] = {
        "request_id": [f"r{i}" for i in range(height)],
        "timestamp": ["2026-07-01T10:00:00Z"] * height,
        "model": ["gpt-4o"] * height,
        "input_tokens": ["10"] * height,
        "output_tokens": ["5"] * height,
        "status": ["ok"] * height,
    }
    base.update(columns)
    return pl.DataFrame(base, schema={c: pl.String for c in base}).with_row_index(LINE, offset=2)


def _timestamps(values: list[str | None], timezone: str = BERLIN) -> list[dt.datetime | None]:
    return to_canonical("usage", _usage(timestamp=values), timezone)["timestamp"].to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-01T10:00:00Z", dt.datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
        ("2026-07-01T10:00:00z", dt.datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
        ("2026-07-01T10:00:00+02:00", dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        ("2026-07-01T10:00:00+0200", dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        ("2026-07-01T10:00:00+02", dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        ("2026-07-01 10:00:00+02:00", dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        (" 2026-07-01T10:00:00Z ", dt.datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),
        ("2026-07-01T10:00:00-05:00", dt.datetime(2026, 7, 1, 15, 0, tzinfo=UTC)),
        ("2026-07-01T10:00:00.250Z", dt.datetime(2026, 7, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        # Naive text is local time in the pilot's zone: Berlin summer is UTC+2, winter UTC+1.
        ("2026-07-01T10:00:00", dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        ("2026-07-01 10:00:00", dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        ("2026-07-01T10:00", dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)),
        ("2026-01-15T10:00:00", dt.datetime(2026, 1, 15, 9, 0, tzinfo=UTC)),
        # A date alone is local midnight.
        ("2026-07-01", dt.datetime(2026, 6, 30, 22, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_become_utc(text: str, expected: dt.datetime) -> None:
    """It converts offset timestamps to UTC and reads naive ones in the pilot's timezone."""
    assert _timestamps([text]) == [expected]


_SAME_INSTANT = [
    ("2026-07-01T10:00:00Z", dt.datetime(2026, 7, 1, 10, tzinfo=UTC)),
    ("2026-07-01T10:00:00.5Z", dt.datetime(2026, 7, 1, 10, 0, 0, 500000, tzinfo=UTC)),
    ("2026-07-01T10:00:00.123456Z", dt.datetime(2026, 7, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2026-07-01T10:00:00.1234567Z", dt.datetime(2026, 7, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ("2026-12-31T23:59:60Z", dt.datetime(2027, 1, 1, tzinfo=UTC)),  # a leap second
    ("2026-07-01T12:00:00+02:00", dt.datetime(2026, 7, 1, 10, tzinfo=UTC)),
    ("2026-07-01T10:00:00z", dt.datetime(2026, 7, 1, 10, tzinfo=UTC)),
    ("2026-02-30T10:00:00Z", None),
    ("2026-07-01T24:00:00Z", None),
]


@pytest.mark.parametrize("first", ["2026-07-01T10:00:00Z", "2026-07-01T12:00:00+02:00"])
def test_timestamps_read_the_same_whatever_shape_the_file_mostly_uses(first: str) -> None:
    """It reads each timestamp as the same instant (or none) whether the file's first cells end
    in Z or carry an offset."""
    texts = [first] * 5 + [text for text, _ in _SAME_INSTANT]
    read = _timestamps(texts, "UTC")[5:]
    assert read == [instant for _, instant in _SAME_INSTANT]


def test_naive_timestamp_depends_on_the_pilot_timezone() -> None:
    """It reads the same naive text as a different instant in another pilot timezone."""
    assert _timestamps(["2026-07-01T10:00:00"], "UTC") == [dt.datetime(2026, 7, 1, 10, tzinfo=UTC)]
    assert _timestamps(["2026-07-01T10:00:00"], "America/New_York") == [
        dt.datetime(2026, 7, 1, 14, tzinfo=UTC)
    ]


def test_ambiguous_local_time_at_dst_end_takes_the_earlier_instant() -> None:
    """It reads 02:30 on the night Berlin leaves summer time as the first (summer) 02:30."""
    assert _timestamps(["2026-10-25T02:30:00"]) == [dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]


@pytest.mark.parametrize(
    "text", ["yesterday", "2026-13-01", "01/07/2026 10:00", "2026-03-29T02:30"]
)
def test_unparsable_timestamp_is_null_with_a_reason(text: str) -> None:
    """It nulls an unreadable timestamp (including a local time skipped by DST) and says why."""
    out = to_canonical("usage", _usage(timestamp=[text]), BERLIN)
    assert out["timestamp"].to_list() == [None]
    assert out[PARSE_ERRORS].to_list() == [[f"timestamp: {text} is not a timestamp"]]


def test_whole_numbers_accept_decimal_zero_and_reject_fractions() -> None:
    """It accepts "12.0" as the integer 12 and rejects "12.5" with a reason naming the value."""
    values = ["12.0", "12.5", " 7 ", "abc", "", None]
    out = to_canonical("usage", _usage(input_tokens=values), BERLIN)
    assert out["input_tokens"].to_list() == [12, None, 7, None, None, None]
    assert out[PARSE_ERRORS].to_list() == [
        [],
        ["input_tokens: 12.5 is not a whole number"],
        [],
        ["input_tokens: abc is not a whole number"],
        [],
        [],
    ]


def test_non_finite_numbers_are_rejected() -> None:
    """It refuses "inf", "nan" and numbers beyond 1e12 as costs instead of letting them into
    sums, naming them as numbers out of range."""
    out = to_canonical("usage", _usage(cost_usd=["inf", "nan", "1e300", "0.25"]), BERLIN)
    assert out["cost_usd"].to_list() == [None, None, None, 0.25]
    assert out[PARSE_ERRORS].to_list() == [
        ["cost_usd: inf is not a finite number of at most 1e+12 in size"],
        ["cost_usd: nan is not a finite number of at most 1e+12 in size"],
        ["cost_usd: 1e300 is not a finite number of at most 1e+12 in size"],
        [],
    ]


def test_booleans_accept_common_spellings() -> None:
    """It reads yes/no, 1/0, True/FALSE and y as booleans and flags anything else."""
    values = ["yes", "no", "1", "0", "True", "FALSE", "y", "maybe", ""]
    raw = pl.DataFrame(
        {
            "ticket_id": [f"t{i}" for i in range(len(values))],
            "created_at": ["2026-07-01"] * len(values),
            "status": ["solved"] * len(values),
            "category": ["password"] * len(values),
            "ai_draft_used": values,
        }
    ).with_row_index(LINE, offset=2)
    out = to_canonical("tickets", raw, BERLIN)
    assert out["ai_draft_used"].to_list() == [
        True,
        False,
        True,
        False,
        True,
        False,
        True,
        None,
        None,
    ]
    errors = out[PARSE_ERRORS].to_list()
    assert errors[7] == ["ai_draft_used: maybe is not a boolean (true/false, yes/no, 1/0)"]
    assert all(e == [] for i, e in enumerate(errors) if i != 7)


def test_one_row_collects_every_parse_error() -> None:
    """It lists every unreadable cell of a row, not only the first."""
    out = to_canonical(
        "usage", _usage(timestamp=["soon"], input_tokens=["many"], latency_ms=["fast"]), BERLIN
    )
    assert sorted(out[PARSE_ERRORS].item()) == [
        "input_tokens: many is not a whole number",
        "latency_ms: fast is not a number",
        "timestamp: soon is not a timestamp",
    ]


def test_output_has_every_canonical_column_and_drops_extras() -> None:
    """It fills absent optional columns with nulls and leaves unknown columns out."""
    out = to_canonical("usage", _usage(vendor_extra=["x"]), BERLIN)
    assert "vendor_extra" not in out.columns
    assert out["prompt_version"].to_list() == [None]
    assert out.schema["cached_input_tokens"] == pl.Int64
    assert out.schema["timestamp"] == pl.Datetime("us", "UTC")


def test_missing_required_columns_refuse_the_file() -> None:
    """It refuses a file that lacks required columns and names each one."""
    with pytest.raises(RefusedFile, match=r"missing required column\(s\): model, status"):
        to_canonical("usage", _usage().drop("model", "status"), BERLIN)


def test_timesheet_without_date_or_minutes_names_the_alternatives() -> None:
    """It refuses a timesheet file lacking both date and duration columns, naming the options."""
    raw = pl.DataFrame({"person": ["Ann"], "activity": ["review"]}).with_row_index(LINE, offset=2)
    with pytest.raises(RefusedFile) as caught:
        to_canonical("timesheets", raw, BERLIN)
    message = str(caught.value)
    assert "date or start or started_at" in message
    assert "minutes or duration or start+end" in message


def test_typed_parquet_columns_are_converted() -> None:
    """It converts native datetimes (naive as local time) and floats from typed files."""
    raw = pl.DataFrame(
        {
            "request_id": ["a", "b"],
            "timestamp": [dt.datetime(2026, 7, 1, 10), None],
            "model": ["m", "m"],
            "input_tokens": [12.0, 2.5],
            "output_tokens": [1, 2],
            "status": ["ok", "ok"],
        }
    ).with_row_index(LINE, offset=1)
    out = to_canonical("usage", raw, BERLIN)
    assert out["timestamp"].to_list() == [dt.datetime(2026, 7, 1, 8, tzinfo=UTC), None]
    assert out["input_tokens"].to_list() == [12, None]
    assert out[PARSE_ERRORS].to_list() == [[], ["input_tokens: 2.5 is not a whole number"]]


def test_text_cells_are_trimmed_and_blank_ones_are_missing() -> None:
    """It trims text cells and reads a cell of spaces as missing, not as text."""
    out = to_canonical(
        "usage", _usage(model=[" gpt-4o ", "   ", "o3"], user=["a", "b", "c"]), BERLIN
    )
    assert out["model"].to_list() == ["gpt-4o", None, "o3"]
    assert out["user"].to_list() == ["a", "b", "c"]
    assert out[PARSE_ERRORS].to_list() == [[], [], []]


def test_parse_errors_stay_on_their_own_rows() -> None:
    """It attaches each parse error to the row it came from, and none to a number cell of
    spaces (missing, not wrong)."""
    out = to_canonical(
        "usage",
        _usage(
            input_tokens=["1", "x", "3", "  ", "5", "6"],
            output_tokens=["1", "2", "3", "4", "y", "6"],
        ),
        BERLIN,
    )
    assert out[PARSE_ERRORS].to_list() == [
        [],
        ["input_tokens: x is not a whole number"],
        [],
        [],
        ["output_tokens: y is not a whole number"],
        [],
    ]


def _timesheets(**columns: list[str | None]) -> pl.DataFrame:
    height = len(next(iter(columns.values())))
    base = {"person": ["Ann"] * height, "activity": ["review"] * height, **columns}
    return pl.DataFrame(base, schema={c: pl.String for c in base}).with_row_index(LINE, offset=2)


def test_timesheet_minutes_from_start_and_end() -> None:
    """It derives minutes, local work date and UTC start from start and end times."""
    raw = _timesheets(
        start=["2026-07-01T09:00:00", "2026-07-01T23:30:00"],
        end=["2026-07-01T10:30:00", "2026-07-02T00:15:00"],
    )
    out = to_canonical("timesheets", raw, BERLIN)
    assert out["minutes"].to_list() == [90.0, 45.0]
    assert out["work_date"].to_list() == [dt.date(2026, 7, 1)] * 2
    assert out["started_at"].to_list() == [
        dt.datetime(2026, 7, 1, 7, tzinfo=UTC),
        dt.datetime(2026, 7, 1, 21, 30, tzinfo=UTC),
    ]


def test_timesheet_work_date_is_local_not_utc() -> None:
    """It dates an entry starting 00:30 Berlin time on that Berlin day, not the UTC day before."""
    raw = _timesheets(start=["2026-07-02T00:30:00"], end=["2026-07-02T01:00:00"])
    out = to_canonical("timesheets", raw, BERLIN)
    assert out["work_date"].to_list() == [dt.date(2026, 7, 2)]
    assert out["minutes"].to_list() == [30.0]


@pytest.mark.parametrize(
    ("duration", "minutes"),
    [("01:30:00", 90.0), ("1.5", 90.0), ("0:45", 45.0), ("2:05:30", 125.5), ("0.25", 15.0)],
)
def test_timesheet_minutes_from_duration(duration: str, minutes: float) -> None:
    """It reads a duration as HH:MM[:SS] or as decimal hours."""
    raw = _timesheets(date=["2026-07-01"], duration=[duration])
    out = to_canonical("timesheets", raw, BERLIN)
    assert out["minutes"].to_list() == [minutes]
    assert out["work_date"].to_list() == [dt.date(2026, 7, 1)]


def test_unparsable_timesheet_duration_leaves_a_reason() -> None:
    """It names an unreadable timesheet duration in the row's parse errors."""
    out = to_canonical("timesheets", _timesheets(date=["2026-07-01"], duration=["soon"]), BERLIN)
    assert out["minutes"].to_list() == [None]
    assert any("duration" in e and "soon" in e for e in out[PARSE_ERRORS].item())


def test_timesheet_entry_id_is_derived_and_stable() -> None:
    """It derives the same entry id from the same content, and different ids for other content."""
    raw = _timesheets(
        date=["2026-07-01", "2026-07-01", "2026-07-02"],
        minutes=["30", "30", "30"],
        ticket_id=["t1", "t1", "t1"],
    )
    first = to_canonical("timesheets", raw, BERLIN)["entry_id"].to_list()
    again = to_canonical("timesheets", raw.reverse(), BERLIN)["entry_id"].to_list()
    assert first[0] == first[1]
    assert first[0] != first[2]
    assert all(e.startswith("h") and len(e) == 21 for e in first)
    assert again == list(reversed(first))


def test_timesheet_entry_id_from_the_file_is_kept() -> None:
    """It keeps an entry_id the export provides instead of deriving one."""
    raw = _timesheets(entry_id=["E-1"], date=["2026-07-01"], minutes=["15"])
    assert to_canonical("timesheets", raw, BERLIN)["entry_id"].to_list() == ["E-1"]


def test_an_unreadable_timesheet_start_is_a_parse_error() -> None:
    """It names a start or end time it cannot read instead of loading the entry without it."""
    raw = pl.DataFrame(
        {
            "__line__": pl.Series([2, 3], dtype=pl.UInt32),
            "person": ["ana", "ana"],
            "start": ["2026-10-05T09:00:00", "yesterday 9am"],
            "end": ["2026-10-05T09:30:00", "2026-10-05T10:00:00"],
            "activity": ["review", "review"],
        }
    )
    typed = to_canonical("timesheets", raw, "Europe/Berlin")
    errors = typed.get_column("__parse_errors__").to_list()
    assert errors[0] == []
    assert "start: yesterday 9am is not a timestamp" in errors[1]
