"""Time-tracker adapters: Toggl Track, Harvest and Clockify detailed exports onto timesheets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from pipelines.adapters import adapters_for
from pipelines.adapters.base import Sniff
from tests.pipelines.adapters.conftest import VENDOR, Prepare, sample

TOGGL_REAL = "toggl__7pairs-toggl2html__test_execute_01_ja.csv"
TOGGL = VENDOR / "toggl" / "toggl_detailed_pilot.csv"
HARVEST_COMMA = VENDOR / "harvest" / "harvest_detailed_comma.csv"
HARVEST_SEMICOLON = VENDOR / "harvest" / "harvest_detailed_semicolon.csv"
CLOCKIFY_US = VENDOR / "clockify" / "clockify_detailed_us12h.csv"
CLOCKIFY_DAY_FIRST = VENDOR / "clockify" / "clockify_detailed_dayfirst.csv"

ACTIVITIES = {
    "review": "review",
    "rework": "rework",
    "escalation": "escalation",
    "maintenance": "maintenance",
}


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def by_line(frame: pl.DataFrame, column: str) -> dict[int, object]:
    return dict(zip(frame["__line__"].to_list(), frame[column].to_list(), strict=True))


def reasons(prepared) -> dict[int, list[str]]:
    return by_line(prepared.quarantined, "reasons")


def detected(path: Path) -> list[str]:
    header = path.read_text(encoding="utf-8-sig").splitlines()[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    columns = frozenset(c.strip().lower() for c in header.split(delimiter))
    sniff = Sniff(path, columns=columns)
    return [a.name for a in adapters_for("timesheets") if a.detect(sniff)]


# ---------------------------------------------------------------------------------------------
# Detection


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (sample(TOGGL_REAL), ["toggl_detailed_csv"]),
        (TOGGL, ["toggl_detailed_csv"]),
        (HARVEST_COMMA, ["harvest_detailed_csv"]),
        (HARVEST_SEMICOLON, ["harvest_detailed_csv"]),
        (CLOCKIFY_US, ["clockify_detailed_csv"]),
        (CLOCKIFY_DAY_FIRST, ["clockify_detailed_csv"]),
    ],
)
def test_each_export_is_claimed_by_exactly_one_time_tracker_adapter(path, expected):
    """It detects each time-tracker export by its own header and by no other adapter's."""
    assert detected(path) == expected


def test_canonical_timesheet_columns_are_left_to_the_canonical_reader(tmp_path):
    """It claims no file that only has canonical timesheet columns."""
    path = tmp_path / "entries.csv"
    path.write_text("entry_id,person,date,start,end,duration,minutes,activity,ticket_id\n")
    assert detected(path) == []


# ---------------------------------------------------------------------------------------------
# Toggl


def test_toggl_real_japanese_export_is_read_and_unclassified_time_is_quarantined(
    prepare: Prepare,
):
    """It reads the real Japanese-UI Toggl export and quarantines entries no option classifies."""
    prepared = prepare("timesheets", sample(TOGGL_REAL))
    assert prepared.refused is None
    assert prepared.adapter == "toggl_detailed_csv"
    assert prepared.rows_read == 2
    assert prepared.rows_duplicate_in_file == 0
    assert prepared.valid.height == 0
    assert prepared.quarantined.height == 2
    assert reasons(prepared) == {2: ["activity is missing"], 3: ["activity is missing"]}


def test_toggl_real_japanese_export_maps_minutes_dates_and_the_person_zone(prepare: Prepare):
    """It derives minutes from Duration, reads local times in the person's zone and ignores the
    localized Billable word (いいえ)."""
    prepared = prepare(
        "timesheets",
        sample(TOGGL_REAL),
        activity_map={"クイズ": "review"},
        default_activity="other",
        person_timezones={"7pairs@Gmail.com": "Asia/Tokyo"},
    )
    assert prepared.refused is None
    assert prepared.rows_read == 2
    assert prepared.valid.height == 2
    assert prepared.quarantined.height == 0
    valid = prepared.valid
    assert valid["person"].to_list() == ["7pairs@gmail.com", "7pairs@gmail.com"]
    assert by_line(valid, "minutes") == {2: 480.0, 3: 720.0}
    assert by_line(valid, "work_date") == {2: dt.date(2014, 6, 23), 3: dt.date(2014, 6, 23)}
    # 00:00 and 10:00 in Tokyo (UTC+9).
    assert by_line(valid, "started_at") == {2: utc(2014, 6, 22, 15), 3: utc(2014, 6, 23, 1)}
    # The keyword is found in the Japanese description of line 3 only.
    assert by_line(valid, "activity") == {2: "other", 3: "review"}
    assert valid["ticket_id"].to_list() == [None, None]
    assert valid["entry_id"].n_unique() == 2


def test_toggl_composed_export_maps_durations_tickets_and_activities(prepare: Prepare):
    """It reads every duration spelling, finds ticket ids and classifies by tag before task."""
    prepared = prepare(
        "timesheets",
        TOGGL,
        activity_map={"review": "review", "rework": "rework", "Tier 1": "other"},
        person_timezones={"kai@example.com": "America/New_York"},
    )
    assert prepared.refused is None
    assert prepared.adapter == "toggl_detailed_csv"
    assert prepared.rows_read == 8
    assert prepared.rows_duplicate_in_file == 0
    assert prepared.valid.height == 5
    assert prepared.quarantined.height == 3
    assert reasons(prepared) == {
        7: ["duration: abc is not a number", "minutes is missing"],
        8: ["start date, start time: 2026-03-29 02:30:00 is not a time of day in Europe/Berlin"],
        9: ["activity is missing"],
    }
    valid = prepared.valid
    # 00:19:30, 00:15:00 across midnight, 0.75 h, empty (end - start), 47m 6s.
    assert by_line(valid, "minutes") == {2: 19.5, 3: 15.0, 4: 45.0, 5: 20.0, 6: 47.1}
    assert by_line(valid, "work_date")[3] == dt.date(2026, 3, 2)
    assert by_line(valid, "ticket_id") == {
        2: "48213",
        3: "48219",
        4: "SUP-1042",
        5: "48300",
        6: "48301",
    }
    # Line 5's task is Review but its tag is rework: the tag decides.
    assert by_line(valid, "activity") == {
        2: "other",
        3: "other",
        4: "review",
        5: "rework",
        6: "review",
    }
    started = by_line(valid, "started_at")
    assert started[2] == utc(2026, 3, 2, 8, 12)  # Europe/Berlin, the pilot's zone
    assert started[4] == utc(2026, 3, 3, 19)  # America/New_York
    assert valid["entry_id"].n_unique() == 5


def test_toggl_default_activity_classifies_the_rest_and_pilot_timezone_option_applies(
    prepare: Prepare,
):
    """It gives unmatched entries `default_activity` and reads times in the `timezone` option."""
    prepared = prepare(
        "timesheets", TOGGL, default_activity="other", timezone="UTC", ticket_id_pattern=""
    )
    assert prepared.rows_read == 8
    assert prepared.valid.height == 7
    assert prepared.quarantined.height == 1
    assert reasons(prepared) == {7: ["duration: abc is not a number", "minutes is missing"]}
    valid = prepared.valid
    assert set(valid["activity"].to_list()) == {"other"}
    assert valid["ticket_id"].null_count() == 7
    started = by_line(valid, "started_at")
    assert started[8] == utc(2026, 3, 29, 2, 30)  # exists in UTC
    assert started[9] == utc(2016, 1, 1, 12, 12, 12)
    assert by_line(valid, "work_date")[9] == dt.date(2016, 1, 1)


def test_toggl_ticket_pattern_without_group_takes_the_whole_match(prepare: Prepare):
    """It takes the whole match as the ticket id when `ticket_id_pattern` has no group."""
    prepared = prepare("timesheets", TOGGL, default_activity="other", ticket_id_pattern=r"ZD#\d+")
    valid = prepared.valid
    assert by_line(valid, "ticket_id") == {
        2: "ZD#48213",
        3: "ZD#48219",
        4: None,
        5: None,
        6: None,
        9: None,
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"person_timezones": {"sam@example.com": "Mars/Olympus"}},
            "sources.timesheets.person_timezones: unknown IANA timezone 'Mars/Olympus'",
        ),
        (
            {"ticket_id_pattern": "#("},
            "sources.timesheets.ticket_id_pattern: '#(' is not a regular expression",
        ),
        (
            {"activity_map": ["review"]},
            "sources.timesheets.activity_map: must map words to words ({word: word}), "
            "not ['review']",
        ),
    ],
)
def test_toggl_bad_options_refuse_the_file_naming_the_option(prepare: Prepare, options, message):
    """It refuses the file with the option named when an option cannot be used."""
    prepared = prepare("timesheets", TOGGL, **options)
    assert prepared.refused == message
    assert prepared.rows_read == 0


# ---------------------------------------------------------------------------------------------
# Harvest


def test_harvest_comma_export_maps_hours_people_and_linked_tickets(prepare: Prepare):
    """It turns decimal hours into minutes, names people by first and last name and takes the
    ticket id from the External Reference URL before the notes."""
    prepared = prepare("timesheets", HARVEST_COMMA, activity_map=ACTIVITIES)
    assert prepared.refused is None
    assert prepared.adapter == "harvest_detailed_csv"
    assert prepared.rows_read == 7
    assert prepared.rows_duplicate_in_file == 0
    assert prepared.valid.height == 5
    assert prepared.quarantined.height == 2
    assert reasons(prepared) == {
        2: ["activity is missing"],
        8: ["duration: abc is not a number", "minutes is missing"],
    }
    valid = prepared.valid
    assert by_line(valid, "minutes") == {3: 90.0, 4: 30.0, 5: 30.0, 6: 15.0, 7: 45.0}
    assert by_line(valid, "person") == {
        3: "Kai Review",
        4: "Kai Review",
        5: "Kai Review",
        6: "Kai Review",
        7: "Sam Agent",
    }
    assert by_line(valid, "ticket_id") == {
        3: "48213",
        4: None,
        5: None,
        6: "SUP-1042",
        7: "SUP-2001",
    }
    assert by_line(valid, "activity") == {
        3: "review",
        4: "review",
        5: "review",
        6: "rework",
        7: "escalation",
    }
    assert by_line(valid, "work_date")[3] == dt.date(2026, 3, 2)
    assert valid["started_at"].null_count() == 5  # Harvest records no start time
    # Two half-hour reviews of one person and day are two entries, not one key twice.
    assert valid["entry_id"].n_unique() == 5


def test_harvest_verbatim_row_is_kept_with_a_default_activity(prepare: Prepare):
    """It loads the verbatim help-centre row once `default_activity` classifies it."""
    prepared = prepare(
        "timesheets", HARVEST_COMMA, activity_map=ACTIVITIES, default_activity="other"
    )
    assert prepared.rows_read == 7
    assert prepared.valid.height == 6
    assert prepared.quarantined.height == 1
    valid = prepared.valid
    assert by_line(valid, "person")[2] == "Hugo Bernard"
    assert by_line(valid, "minutes")[2] == 210.0
    assert by_line(valid, "work_date")[2] == dt.date(2025, 1, 13)
    assert by_line(valid, "activity")[2] == "other"


def test_harvest_semicolon_export_reads_decimal_commas_and_dotted_dates(prepare: Prepare):
    """It reads a semicolon, decimal-comma, dd.mm.yyyy export, and a slashed date in the order
    the file itself proves (13/03/2026: day first)."""
    prepared = prepare("timesheets", HARVEST_SEMICOLON, activity_map=ACTIVITIES)
    assert prepared.refused is None
    assert prepared.adapter == "harvest_detailed_csv"
    assert prepared.rows_read == 5
    assert prepared.rows_duplicate_in_file == 1  # line 4 repeats line 3
    assert prepared.valid.height == 4
    assert prepared.quarantined.height == 0
    assert prepared.choices["date_order"] == {
        "value": "day_first",
        "chosen_by": "proven by the file: line 6 (date '13/03/2026') has a first field above 12",
    }
    valid = prepared.valid
    assert by_line(valid, "minutes") == {2: 90.0, 3: 15.0, 5: 120.0, 6: 60.0}
    assert by_line(valid, "person") == {
        2: "lena@example.de",
        3: "lena@example.de",
        5: "Jonas Weber",
        6: "Jonas Weber",
    }
    assert by_line(valid, "work_date") == {
        2: dt.date(2026, 3, 2),
        3: dt.date(2026, 3, 2),
        5: dt.date(2026, 3, 3),
        6: dt.date(2026, 3, 13),
    }
    assert by_line(valid, "ticket_id") == {2: "48213", 3: "48219", 5: None, 6: None}
    assert by_line(valid, "activity") == {2: "review", 3: "rework", 5: "maintenance", 6: "review"}


def test_harvest_slashed_dates_are_read_in_the_configured_order(prepare: Prepare):
    """It reads a slashed date when `date_order` says which part is the day."""
    prepared = prepare(
        "timesheets", HARVEST_SEMICOLON, activity_map=ACTIVITIES, date_order="day_first"
    )
    assert prepared.rows_read == 5
    assert prepared.rows_duplicate_in_file == 1
    assert prepared.valid.height == 4
    assert prepared.quarantined.height == 0
    assert by_line(prepared.valid, "work_date")[6] == dt.date(2026, 3, 13)
    assert by_line(prepared.valid, "minutes")[6] == 60.0


# ---------------------------------------------------------------------------------------------
# Clockify


def test_clockify_us_export_reads_12_hour_times_in_each_persons_zone(
    prepare: Prepare, tmp_path: Path
):
    """It reads US dates and 12-hour times, per-person zones, and falls back to the decimal
    duration (the fixture without its day-first row, which the next test refuses)."""
    lines = CLOCKIFY_US.read_text(encoding="utf-8").splitlines(keepends=True)
    us_only = tmp_path / "clockify_us_only.csv"
    us_only.write_text("".join(lines[:6]), encoding="utf-8")
    prepared = prepare(
        "timesheets",
        us_only,
        activity_map=ACTIVITIES,
        person_timezones={"kai@example.com": "America/New_York"},
    )
    assert prepared.refused is None
    assert prepared.adapter == "clockify_detailed_csv"
    assert prepared.choices["date_order"]["value"] == "month_first"
    assert prepared.rows_read == 5
    assert prepared.rows_duplicate_in_file == 0
    assert prepared.valid.height == 3
    assert prepared.quarantined.height == 2
    assert reasons(prepared) == {
        2: ["activity is missing"],
        6: ["duration: abc is not a number", "minutes is missing"],
    }
    valid = prepared.valid
    assert by_line(valid, "minutes") == {3: 45.0, 4: 30.0, 5: 15.0}
    assert by_line(valid, "work_date") == {
        3: dt.date(2024, 3, 4),
        4: dt.date(2024, 3, 5),
        5: dt.date(2024, 3, 6),
    }
    assert by_line(valid, "started_at") == {
        3: utc(2024, 3, 4, 18, 30),  # 01:30:00 PM in New York
        4: utc(2024, 3, 6, 4, 45),  # 11:45:00 PM in New York, ending after midnight
        5: utc(2024, 3, 6, 8),  # 09:00:00 AM in Europe/Berlin
    }
    assert by_line(valid, "ticket_id") == {3: "48213", 4: "SUP-1042", 5: "48300"}
    assert by_line(valid, "activity") == {3: "review", 4: "rework", 5: "escalation"}


def test_clockify_day_first_export_uses_the_entry_id_and_configured_order(prepare: Prepare):
    """It reads day-first dates with `date_order: day_first` and keeps Clockify's entry Id."""
    prepared = prepare(
        "timesheets",
        CLOCKIFY_DAY_FIRST,
        activity_map=ACTIVITIES,
        date_order="day_first",
        person_timezones={"Ana Silva": "Europe/Lisbon"},
    )
    assert prepared.refused is None
    assert prepared.rows_read == 3
    assert prepared.valid.height == 3
    assert prepared.quarantined.height == 0
    valid = prepared.valid
    assert valid["entry_id"].to_list() == [
        "65e6f1a2b3c4d5e6f7a8b901",
        "65e6f1a2b3c4d5e6f7a8b902",
        "65e6f1a2b3c4d5e6f7a8b903",
    ]
    assert valid["work_date"].to_list() == [
        dt.date(2024, 3, 4),
        dt.date(2024, 3, 25),
        dt.date(2026, 10, 5),
    ]
    assert valid["started_at"].to_list() == [
        utc(2024, 3, 4, 12, 30),  # 13:30 in Europe/Berlin
        utc(2024, 3, 25, 7),  # 08:00 in Europe/Berlin
        utc(2026, 10, 5, 7),  # 08:00 in Europe/Lisbon, matched by user name
    ]
    assert valid["minutes"].to_list() == [45.0, 90.0, 20.0]


def test_clockify_day_first_dates_are_read_in_the_order_the_file_proves(prepare: Prepare):
    """It reads a day-first file day first without `date_order` (25/03/2024 proves it), even
    when `date_order` says month first: never half swapped, half quarantined (issue 17, case 1)."""
    for configured in ({}, {"date_order": "month_first"}):
        prepared = prepare("timesheets", CLOCKIFY_DAY_FIRST, activity_map=ACTIVITIES, **configured)
        assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (3, 3, 0)
        assert by_line(prepared.valid, "work_date") == {
            2: dt.date(2024, 3, 4),
            3: dt.date(2024, 3, 25),
            4: dt.date(2026, 10, 5),
        }
        assert prepared.choices["date_order"]["value"] == "day_first"
        assert "line 3 (start date '25/03/2024')" in prepared.choices["date_order"]["chosen_by"]


def test_clockify_file_proving_both_date_orders_is_refused(prepare: Prepare):
    """It refuses a file whose dates prove both orders, naming a line of each."""
    prepared = prepare("timesheets", CLOCKIFY_US, activity_map=ACTIVITIES)
    assert prepared.refused == (
        "its dates are written in two orders: line 7 (start date '13/04/2024') can only be day "
        "first, line 2 (start date '09/15/2026') only month first; split the file or correct "
        "those rows"
    )


def test_clockify_unknown_date_order_refuses_the_file(prepare: Prepare):
    """It refuses the file when `date_order` is neither month_first nor day_first."""
    prepared = prepare("timesheets", CLOCKIFY_US, date_order="year_first")
    assert prepared.refused == (
        "sources.timesheets.date_order: Input should be 'month_first' or 'day_first', "
        "not 'year_first'"
    )


# ---------------------------------------------------------------------------------------------
# Toggl person column (demo in vendor formats: rates and roles are keyed by name)


def test_toggl_person_column_user_names_people_by_their_toggl_user(prepare: Prepare):
    """It takes the person from User instead of Email when `person_column` is `user`."""
    options = {"default_activity": "other", "timezone": "UTC"}
    by_email = prepare("timesheets", TOGGL, **options)
    by_user = prepare("timesheets", TOGGL, person_column="user", **options)
    for prepared in (by_email, by_user):
        assert (prepared.rows_read, prepared.valid.height, prepared.quarantined.height) == (8, 7, 1)
    assert by_line(by_email.valid, "person") == {
        2: "sam@example.com",
        3: "sam@example.com",
        4: "kai@example.com",
        5: "kai@example.com",
        6: "kai@example.com",
        8: "sam@example.com",
        9: "dev@dude.com",
    }
    assert by_line(by_user.valid, "person") == {
        2: "Sam Agent",
        3: "Sam Agent",
        4: "Kai Review",
        5: "Kai Review",
        6: "Kai Review",
        8: "Sam Agent",
        9: "DevDude",
    }
    assert by_line(by_user.valid, "minutes") == by_line(by_email.valid, "minutes")


def test_toggl_unknown_person_column_refuses_the_file(prepare: Prepare):
    """It refuses the file when `person_column` is neither email nor user."""
    prepared = prepare("timesheets", TOGGL, default_activity="other", person_column="client")
    assert prepared.refused == (
        "sources.timesheets.person_column: Input should be 'email' or 'user', not 'client'"
    )
    assert prepared.rows_read == 0
