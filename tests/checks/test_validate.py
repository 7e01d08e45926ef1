"""Row checks with the real Great Expectations suites: quarantine reasons and valid rows."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from checks.validate import (
    REASONS,
    quote_value,
    reason_kind,
    source_suite,
    suite_expectations,
    validate_batch,
)
from models.sources import PROVIDER_COSTS, SPECS
from pipelines.normalize import PARSE_ERRORS, to_canonical
from pipelines.read import LINE

NOW = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)


def _reason(source: str, expectation_type: str, **kwargs: object) -> str:
    """The quarantine reason the suite gives to one expectation."""
    for e in source_suite(source):
        if e.type == expectation_type and all(e.kwargs.get(k) == v for k, v in kwargs.items()):
            return e.reason
    raise LookupError(f"{source}: no {expectation_type} {kwargs}")


def _raw(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return pl.DataFrame(
        {c: [r.get(c) for r in rows] for c in columns}, schema={c: pl.String for c in columns}
    ).with_row_index(LINE, offset=2)


def _usage_row(request_id: str, **overrides: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "request_id": request_id,
        "timestamp": "2026-07-01T10:00:00Z",
        "model": "gpt-4o",
        "input_tokens": "100",
        "output_tokens": "20",
        "cached_input_tokens": "10",
        "status": "ok",
    }
    row.update(overrides)
    return row


def _ticket_row(ticket_id: str, **overrides: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {
        "ticket_id": ticket_id,
        "created_at": "2026-07-01T09:00:00Z",
        "solved_at": "2026-07-01T10:00:00Z",
        "status": "solved",
        "category": "password",
        "ai_draft_used": "true",
    }
    row.update(overrides)
    return row


def _reasons_by_line(batch) -> dict[int, list[str]]:
    return dict(batch.quarantined.select(LINE, REASONS).iter_rows())


def _kinds_by_line(batch) -> dict[int, list[str]]:
    """Each quarantined line's reasons without the values they quote."""
    return {
        line: [reason_kind(r) for r in reasons] for line, reasons in _reasons_by_line(batch).items()
    }


@pytest.fixture(scope="module")
def usage_batch():
    canonical = to_canonical(
        "usage",
        _raw(
            [
                _usage_row("ok-1"),  # line 2
                _usage_row("neg", input_tokens="-1", cached_input_tokens="0"),  # 3
                _usage_row("cached", cached_input_tokens="150"),  # 4
                _usage_row("status", status="exploded"),  # 5
                _usage_row("dup"),  # 6
                _usage_row("dup", output_tokens="21"),  # 7
                _usage_row("future", timestamp="2026-09-01T10:00:00Z"),  # 8
                _usage_row("ok-2", cached_input_tokens=None, task_id="T-9"),  # 9
                _usage_row(  # 10: several problems at once
                    "multi",
                    timestamp="2026-09-01T10:00:00Z",
                    input_tokens="-5",
                    cached_input_tokens="3",
                    status="nope",
                ),
            ]
        ),
        "UTC",
    )
    return canonical, validate_batch("usage", canonical, NOW)


def test_valid_usage_rows_pass_untouched(usage_batch) -> None:
    """It keeps valid rows exactly as they were typed, minus the parse-error column."""
    canonical, batch = usage_batch
    assert batch.refused is None
    assert batch.valid[LINE].to_list() == [2, 9]
    assert PARSE_ERRORS not in batch.valid.columns
    expected = canonical.filter(pl.col(LINE).is_in([2, 9])).drop(PARSE_ERRORS)
    assert batch.valid.equals(expected)


@pytest.mark.parametrize(
    ("line", "expectation", "kwargs"),
    [
        (3, "expect_column_values_to_be_between", {"column": "input_tokens"}),
        (4, "expect_column_pair_values_a_to_be_greater_than_b", {}),
        (5, "expect_column_values_to_be_in_set", {"column": "status"}),
        (6, "expect_column_values_to_be_unique", {"column": "request_id"}),
        (7, "expect_column_values_to_be_unique", {"column": "request_id"}),
        (8, "expect_column_values_to_be_between", {"column": "timestamp"}),
    ],
)
def test_bad_usage_rows_are_quarantined_with_their_reason(
    usage_batch, line: int, expectation: str, kwargs: dict
) -> None:
    """It quarantines negative tokens, cached > input, unknown status, key clashes and future rows."""
    _, batch = usage_batch
    assert _reason("usage", expectation, **kwargs) in _kinds_by_line(batch)[line]


def test_usage_reason_texts(usage_batch) -> None:
    """It writes the suite's human-readable reasons on the quarantined rows, each quoting the
    value it rejects (a pair's values in the order the reason reads)."""
    _, batch = usage_batch
    reasons = _reasons_by_line(batch)
    assert reasons[4] == ["cached_input_tokens exceeds input_tokens: 150 > 100"]
    assert reasons[5] == ["status is not one of ok, error, timeout: 'exploded'"]
    assert reasons[6] == ["request_id is not unique in the file (different rows share it): 'dup'"]
    assert reasons[8] == ["timestamp is in the future: 2026-09-01T10:00:00Z"]
    assert "input_tokens is negative: -1" in reasons[3]


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("unknown_status", "'unknown_status'"),
        ("x" * 41, "'" + "x" * 40 + "'…"),
        ("a\nb\x00\u200b", "'a\\nb\\x00\\u200b'"),
        ("it's", '"it\'s"'),
        (-5, "-5"),
        (-0.5, "-0.5"),
        (None, "empty"),
        (dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "2030-01-02T03:04:05Z"),
        (dt.date(2030, 1, 2), "2030-01-02"),
    ],
)
def test_a_value_is_quoted_shortened_and_escaped(value: object, quoted: str) -> None:
    """It quotes text as a literal (control and invisible characters escaped) cut at 40
    characters, and numbers and times as written."""
    assert quote_value(value) == quoted


def test_reasons_with_different_values_are_one_kind(usage_batch) -> None:
    """It groups reasons quoting different values under the reason without them, and leaves
    other reasons (a cell that could not be read) as they are."""
    _, batch = usage_batch
    reasons = _reasons_by_line(batch)
    assert reasons[10][0] == "status is not one of ok, error, timeout: 'nope'"
    assert {reason_kind(reasons[5][0]), reason_kind(reasons[10][0])} == {
        "status is not one of ok, error, timeout"
    }
    assert reason_kind("timestamp: someday is not a timestamp") == (
        "timestamp: someday is not a timestamp"
    )


def test_row_with_several_problems_gets_every_reason(usage_batch) -> None:
    """It lists every broken check on a row that breaks several."""
    _, batch = usage_batch
    assert sorted(_kinds_by_line(batch)[10]) == sorted(
        [
            "timestamp is in the future",
            "input_tokens is negative",
            "status is not one of ok, error, timeout",
            "cached_input_tokens exceeds input_tokens",
        ]
    )


def test_a_rows_reasons_are_listed_in_suite_order(usage_batch) -> None:
    """It lists a row's reasons in the order of the suite, however GX ordered its results."""
    _, batch = usage_batch
    reasons = _kinds_by_line(batch)[10]
    assert reasons == [
        "status is not one of ok, error, timeout",
        "input_tokens is negative",
        "cached_input_tokens exceeds input_tokens",
        "timestamp is in the future",
    ]
    suite_order = [e.reason for e in source_suite("usage")]
    assert reasons == sorted(reasons, key=suite_order.index)


def test_provider_bills_suite_gives_exactly_these_reasons() -> None:
    """It derives from the provider bills' declaration exactly these reasons, in this order."""
    assert [e.reason for e in suite_expectations(PROVIDER_COSTS)] == [
        "missing required column bucket_id",
        "missing required column bucket_start",
        "missing required column provider",
        "missing required column kind",
        "bucket_id is missing",
        "bucket_start is missing",
        "provider is missing",
        "kind is missing",
        "bucket_id is not unique in the file (different rows share it)",
        "kind is not one of usage, cost",
        "input_tokens is negative",
        "cached_input_tokens is negative",
        "output_tokens is negative",
        "requests is negative",
        "cached_input_tokens exceeds input_tokens",
        "bucket_end is before bucket_start",
        "bucket_start is in the future",
    ]


def test_every_row_is_either_valid_or_quarantined(usage_batch) -> None:
    """It neither drops nor doubles rows: valid and quarantined lines partition the batch."""
    canonical, batch = usage_batch
    valid, bad = set(batch.valid[LINE].to_list()), set(batch.quarantined[LINE].to_list())
    assert not valid & bad
    assert valid | bad == set(canonical[LINE].to_list())


def test_parse_errors_quarantine_with_the_null_check() -> None:
    """It puts the parse error first and keeps the not-null reason the parse caused."""
    canonical = to_canonical(
        "usage", _raw([_usage_row("a", timestamp="someday"), _usage_row("b")]), "UTC"
    )
    batch = validate_batch("usage", canonical, NOW)
    assert batch.valid[LINE].to_list() == [3]
    assert _reasons_by_line(batch) == {
        2: ["timestamp: someday is not a timestamp", "timestamp is missing"]
    }


def test_future_is_measured_against_now() -> None:
    """It accepts a timestamp that is in the future of the data's week but not of `now`."""
    canonical = to_canonical(
        "usage", _raw([_usage_row("a", timestamp="2026-07-31T23:59:00Z")]), "UTC"
    )
    assert validate_batch("usage", canonical, NOW).quarantined.height == 0
    earlier_now = dt.datetime(2026, 7, 31, tzinfo=dt.UTC)
    assert _reasons_by_line(validate_batch("usage", canonical, earlier_now)) == {
        2: ["timestamp is in the future: 2026-07-31T23:59:00Z"]
    }


def test_tickets_solved_before_created_are_quarantined() -> None:
    """It quarantines a ticket solved before it was created and accepts unsolved tickets."""
    canonical = to_canonical(
        "tickets",
        _raw(
            [
                _ticket_row("early", created_at="2026-07-02T10:00:00Z"),
                _ticket_row("same", solved_at="2026-07-01T09:00:00Z"),
                _ticket_row("open", solved_at=None, status="open"),
                _ticket_row("outcome", draft_outcome="ignored"),
                _ticket_row("neg", handle_minutes="-3"),
            ]
        ),
        "UTC",
    )
    batch = validate_batch("tickets", canonical, NOW)
    assert batch.valid["ticket_id"].to_list() == ["same", "open"]
    assert _kinds_by_line(batch) == {
        2: [_reason("tickets", "expect_column_pair_values_a_to_be_greater_than_b")],
        5: ["draft_outcome is not one of sent_as_is, edited, rewritten, discarded"],
        6: ["handle_minutes is negative"],
    }
    assert _reasons_by_line(batch)[2] == [
        "solved_at is before created_at: 2026-07-01T10:00:00Z < 2026-07-02T10:00:00Z"
    ]
    assert _reasons_by_line(batch)[5] == [
        "draft_outcome is not one of sent_as_is, edited, rewritten, discarded: 'ignored'"
    ]


def test_reviews_key_is_compound() -> None:
    """It quarantines reviews sharing ticket, reviewer and time, but not ones differing in one."""
    at = "2026-07-01T10:00:00Z"
    rows = [
        {"ticket_id": t, "reviewed_at": at, "reviewer": who, "severity": severity}
        for t, who, severity in [
            ("t1", "Dana", "low"),
            ("t1", "Dana", "medium"),
            ("t1", "Max", "none"),
            ("t2", "Dana", "urgent"),
        ]
    ]
    batch = validate_batch("reviews", to_canonical("reviews", _raw(rows), "UTC"), NOW)
    clash = (
        "key ticket_id+reviewer+reviewed_at is not unique in the file (different rows share it):"
        " 't1', 'Dana', 2026-07-01T10:00:00Z"
    )
    assert _reasons_by_line(batch) == {
        2: [clash],
        3: [clash],
        5: ["severity is not one of none, low, medium, stop_now: 'urgent'"],
    }


@pytest.mark.parametrize("source", sorted(SPECS))
def test_suite_has_a_not_null_check_for_every_required_column(source: str) -> None:
    """It ships, for every source, a not-null expectation on each required column."""
    not_null = {
        e.kwargs["column"]
        for e in source_suite(source)
        if e.type == "expect_column_values_to_not_be_null"
    }
    assert set(SPECS[source].required) <= not_null


@pytest.mark.parametrize("source", sorted(SPECS))
def test_suite_has_a_uniqueness_check_on_the_key(source: str) -> None:
    """It ships, for every source, a uniqueness expectation on exactly the source's key."""
    key = SPECS[source].key
    found = []
    for e in source_suite(source):
        if e.type == "expect_column_values_to_be_unique":
            found.append((e.kwargs["column"],))
        elif e.type == "expect_compound_columns_to_be_unique":
            found.append(tuple(e.kwargs["column_list"]))
    assert key in found


@pytest.mark.parametrize("source", sorted(SPECS))
def test_suite_expectations_all_carry_a_reason(source: str) -> None:
    """It gives every expectation a distinct non-empty reason so quarantined rows say why."""
    reasons = [e.reason for e in source_suite(source)]
    assert all(reasons)
    assert len(set(reasons)) == len(reasons)


@pytest.mark.parametrize("source", ["usage", "reviews"])
def test_a_large_file_checked_in_slices_gives_the_same_outcome(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It quarantines the same rows for the same reasons, in the same order, when a file is
    checked in slices (row checks) plus one whole-file pass (uniqueness, also across slices)."""
    import checks.validate as validate

    if source == "usage":
        rows = [
            _usage_row("r1"),
            _usage_row("r2", status="maybe", input_tokens="-3"),
            _usage_row("r3"),
            _usage_row("r1", model="other"),  # same key as line 2, in another slice
            _usage_row("r5", model=None, timestamp="2030-01-01T00:00:00Z"),
            _usage_row("r6", cached_input_tokens="9999"),
            _usage_row("r7"),
        ]
    else:
        base = {"ticket_id": "T-1", "reviewed_at": "2026-07-01T10:00:00Z", "reviewer": "ana"}
        rows = [
            base | {"severity": "low"},
            base | {"ticket_id": "T-2", "severity": "awful"},
            base | {"ticket_id": "T-3", "severity": "none", "category": "gossip"},
            base | {"severity": "medium"},  # same key as line 2
            base | {"ticket_id": "T-5", "reviewer": None, "severity": "low"},
        ]
    canonical = to_canonical(source, _raw(rows), "Europe/Berlin")
    whole = validate_batch(source, canonical, NOW)
    monkeypatch.setattr(validate, "SLICE_ROWS", 2)
    sliced = validate_batch(source, canonical, NOW)
    assert whole.quarantined.height >= 3
    assert sliced.quarantined.to_dicts() == whole.quarantined.to_dicts()
    assert sliced.valid.equals(whole.valid)


def test_checks_do_not_fingerprint_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """It checks a batch without Great Expectations hashing all of it for an unused marker."""
    from great_expectations.execution_engine import pandas_execution_engine

    def refuse(_frame):
        raise AssertionError("the batch was hashed")

    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", refuse)
    canonical = to_canonical("usage", _raw([_usage_row("r1"), _usage_row("r2", status="x")]), "UTC")
    batch = validate_batch("usage", canonical, NOW)
    assert batch.valid[LINE].to_list() == [2]
    assert batch.quarantined[LINE].to_list() == [3]


@pytest.mark.parametrize("bad", [[], [0], [9], [0, 1, 2], [3, 4, 8, 9], list(range(10)), [2, 5, 7]])
def test_valid_rows_are_the_rows_between_the_bad_ones_in_order(
    bad: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It keeps every row not marked bad, in order, whether it cuts the few bad rows out as
    slices or filters many of them out."""
    import checks.validate as validate

    frame = pl.DataFrame({LINE: range(2, 12), "x": [f"v{i}" for i in range(10)]})
    marks = pl.Series([i in bad for i in range(10)])
    expected = [f"v{i}" for i in range(10) if i not in bad]
    assert validate._without(frame, marks).get_column("x").to_list() == expected
    monkeypatch.setattr(validate, "FEW_BAD_ROWS", 0)
    assert validate._without(frame, marks).get_column("x").to_list() == expected


def test_checks_let_go_of_the_rows_they_checked() -> None:
    """It leaves no checked batch (a pandas copy of the rows) held by Great Expectations."""
    import checks.validate as validate

    canonical = to_canonical("usage", _raw([_usage_row("r1"), _usage_row("r2", status="x")]), "UTC")
    validate_batch("usage", canonical, NOW)
    engines = [s.get_execution_engine() for s in validate._gx_context().data_sources.all().values()]
    assert engines
    assert all(not e.batch_manager.batch_cache for e in engines)
