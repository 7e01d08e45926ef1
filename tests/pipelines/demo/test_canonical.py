"""Tests of the synthetic demo inbox generator (pipelines/demo/canonical.py)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines.demo import canonical as demo_data
from pipelines.demo.canonical import (
    AGENTS,
    BUSINESS_OWNER,
    CHANGE_COLUMNS,
    REVIEW_COLUMNS,
    REVIEWER,
    REVIEWER_BACKUP,
    TECH_OWNER,
    TICKET_COLUMNS,
    TIMESHEET_COLUMNS,
    USAGE_COLUMNS,
    GeneratedInbox,
    generate_inbox,
)

SOURCES = ("usage", "tickets", "timesheets", "reviews", "changes")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> GeneratedInbox:
    return generate_inbox(tmp_path_factory.mktemp("inbox"))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _header(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pl.read_parquet_schema(path).names()
    if path.suffix == ".jsonl":
        return list(json.loads(path.read_text(encoding="utf-8").splitlines()[0]))
    if path.suffix == ".json":
        return list(json.loads(path.read_text(encoding="utf-8"))[0])
    first = path.read_text(encoding="utf-8-sig").splitlines()[0]
    return next(csv.reader(io.StringIO(first), delimiter=";" if ";" in first else ","))


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    """Two runs with the same seed write byte-identical files; another seed writes other data."""
    a = generate_inbox(tmp_path / "a", weeks=4, seed=11)
    b = generate_inbox(tmp_path / "b", weeks=4, seed=11)
    c = generate_inbox(tmp_path / "c", weeks=4, seed=12)
    snap_a, snap_b, snap_c = _snapshot(a.root), _snapshot(b.root), _snapshot(c.root)
    assert snap_a == snap_b
    assert a.rows == b.rows
    assert snap_a.keys() == snap_c.keys()
    assert snap_a["tickets/tickets-2026-W46.jsonl"] != snap_c["tickets/tickets-2026-W46.jsonl"]


def test_weeks_end_at_last_week_and_every_file_is_listed_in_its_week(
    inbox: GeneratedInbox,
) -> None:
    """The inbox covers 8 ISO weeks ending 2026-W46 and every written file belongs to one week."""
    assert inbox.weeks == [f"2026-W{n}" for n in range(39, 47)]
    assert inbox.bad_week == "2026-W43"
    listed = [p for files in inbox.files_by_week.values() for p in files]
    on_disk = {p for p in inbox.root.rglob("*") if p.is_file()}
    assert len(listed) == len(set(listed)) and set(listed) == on_disk
    for week, files in inbox.files_by_week.items():
        assert all(week in p.name for p in files)
        assert {p.parent.name for p in files} >= {"usage", "tickets", "reviews", "changes"}
    assert {p.name for p in inbox.root.iterdir()} == set(SOURCES)
    assert (inbox.root / "usage" / "usage-2026-W41.parquet").exists()
    assert (inbox.root / "tickets" / "tickets-2026-W44-helpdesk-export.csv").exists()


def test_every_readable_file_has_the_canonical_columns(inbox: GeneratedInbox) -> None:
    """Each source's files carry exactly the canonical column names (one ticket lacks category)."""
    expected = {
        "usage": USAGE_COLUMNS,
        "tickets": TICKET_COLUMNS,
        "timesheets": TIMESHEET_COLUMNS,
        "reviews": REVIEW_COLUMNS,
        "changes": CHANGE_COLUMNS,
    }
    for source, columns in expected.items():
        for path in sorted((inbox.root / source).iterdir()):
            if path.name.endswith("-helpdesk-export.csv"):
                continue  # the deliberately unreadable file
            assert _header(path) == columns, path
    timesheet = next((inbox.root / "timesheets").iterdir()).read_bytes()
    assert timesheet.startswith(b"\xef\xbb\xbf")


def test_bad_week_has_no_timesheets_a_stop_now_review_and_an_undocumented_model(
    inbox: GeneratedInbox,
) -> None:
    """The bad week lacks its timesheet export, logs a stop_now privacy finding and uses o1."""
    bad = inbox.bad_week
    assert not any(p.parent.name == "timesheets" for p in inbox.files_by_week[bad])
    assert not (inbox.root / "timesheets" / f"timesheets-{bad}.csv").exists()
    reviews = json.loads((inbox.root / "reviews" / f"reviews-{bad}.json").read_text())
    assert any(r["severity"] == "stop_now" and r["category"] == "privacy" for r in reviews)
    usage = pl.read_csv(inbox.root / "usage" / f"usage-{bad}.csv")
    changes = pl.read_csv(inbox.root / "changes" / f"changes-{bad}.csv")
    assert "o1" in usage["model"].to_list()
    assert "o1" not in changes["version"].to_list()


def test_usage_scale_option_writes_exactly_n_rows_per_week(tmp_path: Path) -> None:
    """With usage_rows_per_week=N every week's usage file holds exactly N data rows."""
    result = generate_inbox(tmp_path, weeks=4, usage_rows_per_week=50_000)
    for week in result.weeks:
        (path,) = [p for p in result.files_by_week[week] if p.parent.name == "usage"]
        frame = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
        assert frame.height == 50_000, path
    assert result.rows["usage"] == 4 * 50_000


def test_request_ids_are_unique_across_weeks_and_in_no_time_order(tmp_path: Path) -> None:
    """It issues request ids as vendors do: never repeated across weeks, not sorted by time."""
    result = generate_inbox(tmp_path, weeks=3, usage_rows_per_week=20_000)
    files = [
        # Leaving out the planned mess: rows with an empty id, and the repeated line.
        _frame(path).filter(pl.col("request_id") != "").unique(maintain_order=True)
        for week in result.weeks
        for path in result.files_by_week[week]
        if path.parent.name == "usage"
    ]
    ids = pl.concat(f["request_id"] for f in files)
    assert ids.len() > 3 * 20_000 - 10
    assert ids.n_unique() == ids.len()
    for calls in files:
        in_time_order = calls.sort("timestamp")["request_id"]
        assert not in_time_order.is_sorted() and not in_time_order.reverse().is_sorted()


def test_file_mtimes_are_the_export_time_and_increase_with_week(inbox: GeneratedInbox) -> None:
    """Every file's mtime is the Monday 06:00 UTC after its week, so later weeks are newer."""
    exports = []
    for week in inbox.weeks:
        mtimes = {int(p.stat().st_mtime) for p in inbox.files_by_week[week]}
        assert len(mtimes) == 1
        exports.append(mtimes.pop())
    assert exports == sorted(exports) and len(set(exports)) == len(exports)
    assert all(e % 86400 == 6 * 3600 for e in exports)


# --- scaled sources (issue 7's "large week") ---------------------------------------------------

# sha256 over (relative path, NUL, bytes) of every file of `generate_inbox(root, weeks=2)`,
# first computed with the generator as it was before the size options existed; renewed once,
# when request ids became vendor-like (unique, in no order) instead of numbered in time order,
# and again when prompt v2 got its visible effect (fewer corrections, 450 more input tokens a
# call; issue 20), and again when AI tickets got their own reopen chance and one more contact
# after a rewritten or discarded draft, and escalated tickets their handoff times (issue 22).
DEFAULT_2_WEEKS_SHA256 = "88155eaa8adf85fb877d79df285fd51ed633db70efc0436bd900a1d66bc015cf"
PEOPLE = {*AGENTS, REVIEWER, REVIEWER_BACKUP, TECH_OWNER, BUSINESS_OWNER}
SCALED = {
    "usage_rows_per_week": 20_000,
    "tickets_per_week": 2000,
    "timesheet_entries_per_week": 500,
    "reviews_per_week": 50,
    "changes_total": 10,
}


def _tree_sha256(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _frame(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    if path.suffix == ".jsonl":
        return pl.read_ndjson(path)
    if path.suffix == ".json":
        return pl.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    sep = ";" if path.parent.name == "timesheets" else ","
    return pl.read_csv(path, separator=sep, infer_schema=False)


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> GeneratedInbox:
    return generate_inbox(tmp_path_factory.mktemp("scaled"), weeks=4, **SCALED)


def test_default_output_is_unchanged_by_the_size_options(tmp_path: Path) -> None:
    """All size options left at None write exactly the bytes the generator wrote before them."""
    assert _tree_sha256(generate_inbox(tmp_path, weeks=2).root) == DEFAULT_2_WEEKS_SHA256


def test_size_options_write_exactly_n_rows_per_week(scaled: GeneratedInbox) -> None:
    """Each week's file holds exactly the asked rows (tickets: the re-exported weekend included);
    the change log holds changes_total entries; the bad week still has no timesheets."""
    per_week = {
        "usage": SCALED["usage_rows_per_week"],
        "tickets": SCALED["tickets_per_week"],
        "timesheets": SCALED["timesheet_entries_per_week"],
        "reviews": SCALED["reviews_per_week"],
    }
    for week in scaled.weeks:
        files = {
            p.parent.name: p
            for p in scaled.files_by_week[week]
            if not p.name.endswith("-helpdesk-export.csv")
        }
        for source, n in per_week.items():
            if source == "timesheets" and week == scaled.bad_week:
                assert source not in files
                continue
            assert _frame(files[source]).height == n, files[source]
        assert _frame(files["changes"]).height <= SCALED["changes_total"]
    last = scaled.files_by_week[scaled.weeks[-1]]
    (changes,) = [p for p in last if p.parent.name == "changes"]
    log = _frame(changes)
    assert log.height == SCALED["changes_total"]
    assert log.select("kind", "version").is_unique().all()
    assert scaled.rows == {
        "usage": 4 * per_week["usage"],
        "tickets": 4 * per_week["tickets"],
        "timesheets": 3 * per_week["timesheets"],
        "reviews": 4 * per_week["reviews"],
        # 4 setup entries and 3 initial ones, prompt v2 in the 2nd week, the restart and the
        # retry cap in the 4th (the week after the bad week)
        "changes": 7 + 8 + 8 + 10,
    }


def test_scaled_sources_reference_tickets_and_people_of_the_pilot(
    scaled: GeneratedInbox,
) -> None:
    """Usage task ids, timesheet tickets and reviewed tickets are tickets of the week's export;
    reviews name solved AI tickets, reviewed after the solve; people are the pilot's."""
    for week in scaled.weeks:
        files = {
            p.parent.name: p
            for p in scaled.files_by_week[week]
            if not p.name.endswith("-helpdesk-export.csv")
        }
        tickets = _frame(files["tickets"])
        ids = set(tickets["ticket_id"])
        assert len(ids) == tickets.height
        usage = _frame(files["usage"])
        task_ids = set(usage["task_id"].drop_nulls())
        assert task_ids and task_ids <= ids
        assert usage["task_id"].null_count() > 0  # a few unattributed test calls
        if "timesheets" in files:
            sheet = _frame(files["timesheets"])
            assert set(sheet["ticket_id"].drop_nulls()) <= ids
            assert set(sheet["person"]) <= PEOPLE
            assert set(sheet["activity"]) <= {
                "review",
                "rework",
                "escalation",
                "maintenance",
                "other",
            }
            assert sheet["entry_id"].is_unique().all()
        reviews = _frame(files["reviews"])
        assert set(reviews["reviewer"]) <= {REVIEWER, REVIEWER_BACKUP}
        reviewed = reviews.join(tickets, on="ticket_id", how="left")
        assert reviewed["ai_draft_used"].all()
        solved = reviewed["solved_at"].str.to_datetime("%Y-%m-%dT%H:%M:%S%:z")
        at = reviewed["reviewed_at"].str.to_datetime().dt.replace_time_zone("Europe/Berlin")
        at = at.dt.convert_time_zone("UTC")
        assert (at > solved).all()
        assert reviews.select("ticket_id", "reviewer", "reviewed_at").is_unique().all()
    bad = {p.parent.name: p for p in scaled.files_by_week[scaled.bad_week]}
    severities = set(_frame(bad["reviews"])["severity"])
    assert "stop_now" in severities


def test_scaled_generation_is_deterministic(tmp_path: Path) -> None:
    """Same arguments, same bytes; another seed, other tickets."""
    a = generate_inbox(tmp_path / "a", weeks=2, **SCALED)
    b = generate_inbox(tmp_path / "b", weeks=2, **SCALED)
    c = generate_inbox(tmp_path / "c", weeks=2, seed=8, **SCALED)
    assert _snapshot(a.root) == _snapshot(b.root)
    name = "tickets/tickets-2026-W46.jsonl"
    assert _snapshot(a.root)[name] != _snapshot(c.root)[name]


def _ticket_export_mess(root: Path) -> dict[str, int]:
    """How often the ticket exports under `root` break the help desk's rules, by planned mess;
    asserts every other line keeps them."""
    mess = {"no_category": 0, "solved_before_created": 0}
    for path in sorted((root / "tickets").glob("*.jsonl")):
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert len({t["ticket_id"] for t in lines}) == len(lines), path
        for t in lines:
            if list(t) != TICKET_COLUMNS:
                assert [c for c in TICKET_COLUMNS if c not in t] == ["category"], t
                mess["no_category"] += 1
            solved = t["status"] in ("solved", "closed")
            assert solved == (t["solved_at"] is not None), t
            if solved and t["solved_at"] < t["created_at"]:
                mess["solved_before_created"] += 1
            if not t["ai_draft_used"] or t["status"] == "new":
                assert t["draft_outcome"] is None, t
            else:
                assert t["draft_outcome"] in demo_data.OUTCOMES, t
            if not solved:
                assert (t["reopened"], t["escalated"], t["contact_count"]) == (0, False, 1), t
                assert t["status"] in ("new", "open", "pending"), t
            assert (t["handle_minutes"] is None) == (t["status"] == "new"), t
            if t["handle_minutes"] is not None:
                assert round(t["handle_minutes"], 1) == t["handle_minutes"] > 0, t
    return mess


@pytest.mark.parametrize("fixture", ["inbox", "scaled"])
def test_ticket_exports_keep_the_help_desks_rules_but_for_the_planned_mess(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    """It writes every ticket export, natural or scaled, in the help desk's shape (open tickets
    without solve, reopen, escalation or extra contact; new ones without outcome or minutes),
    breaking it only with one ticket without category and one solved before it was created."""
    generated: GeneratedInbox = request.getfixturevalue(fixture)
    assert _ticket_export_mess(generated.root) == {"no_category": 1, "solved_before_created": 1}


def test_reviews_outnumbering_the_tickets_review_each_one_before_any_twice(
    tmp_path: Path,
) -> None:
    """With more reviews than solved AI tickets it still writes exactly that many, reviewing
    every solved AI ticket of the week once before reviewing any again."""
    result = generate_inbox(tmp_path, weeks=1, tickets_per_week=150, reviews_per_week=300)
    files = {
        p.parent.name: p
        for p in result.files_by_week[result.weeks[0]]
        if not p.name.endswith("-helpdesk-export.csv")
    }
    tickets = _frame(files["tickets"]).filter(
        pl.col("ai_draft_used") & (pl.col("solved_at") > pl.col("created_at"))
    )
    reviews = _frame(files["reviews"])
    assert reviews.height == 300 > tickets.height
    first_round = reviews["ticket_id"].head(tickets.height)  # reviews are in time order
    assert first_round.n_unique() == tickets.height
    assert set(first_round) == set(tickets["ticket_id"])


def test_scaled_inbox_passes_the_ingest_checks_but_for_the_planned_mess(tmp_path: Path) -> None:
    """Every scaled row is valid except the deliberate mess: 2 malformed tickets, 5 malformed
    usage rows and 1 duplicate usage line, and the unreadable export."""
    from flows.ingest import prepare_file
    from models.operating_model import load_operating_model
    from pipelines.prepare import list_inbox

    generate_inbox(tmp_path, weeks=1, **SCALED)
    operating_model = load_operating_model(
        Path(__file__).parents[3] / "pilots" / "support-reply-drafts.yaml"
    )
    now = datetime(2026, 12, 1, tzinfo=UTC)
    quarantined, duplicate, refused = {}, 0, []
    for file in list_inbox(tmp_path):
        prepared = prepare_file(file, operating_model, now)
        if prepared.refused:
            refused.append(file.path.name)
            continue
        quarantined[file.source] = prepared.quarantined.height
        duplicate += prepared.rows_duplicate_in_file
    assert refused == ["tickets-2026-W46-helpdesk-export.csv"]
    assert quarantined == {"usage": 5, "tickets": 2, "timesheets": 0, "reviews": 0, "changes": 0}
    assert duplicate == 1


@pytest.mark.parametrize(
    "option", ["tickets_per_week", "timesheet_entries_per_week", "reviews_per_week"]
)
def test_size_options_refuse_negative_numbers(tmp_path: Path, option: str) -> None:
    with pytest.raises(ValueError, match=option):
        generate_inbox(tmp_path, weeks=1, **{option: -1})


def test_spread_calls_fall_after_their_ticket_over_the_week_in_random_order(
    tmp_path: Path,
) -> None:
    """With spread_calls each AI ticket's calls come after it arrives, spread over the rest of
    the week rather than in a burst, the rows out of time order; with agents=N the tickets
    name N agents."""
    result = generate_inbox(
        tmp_path,
        weeks=1,
        usage_rows_per_week=20_000,
        tickets_per_week=5_000,
        agents=200,
        spread_calls=True,
    )
    [week] = result.weeks
    paths = {
        p.parent.name: p
        for p in result.files_by_week[week]
        if p.suffix != ".csv" or p.parent.name == "usage"
    }
    calls = pl.read_csv(paths["usage"]).with_columns(
        pl.col("timestamp").str.to_datetime(time_zone="UTC")
    )
    tickets = pl.read_ndjson(paths["tickets"]).select(
        "ticket_id", "agent", pl.col("created_at").str.to_datetime(time_zone="UTC")
    )
    assert not calls["timestamp"].is_sorted()
    assert tickets["agent"].n_unique() == 200
    per_task = (
        calls.join(tickets, left_on="task_id", right_on="ticket_id")
        .group_by("task_id")
        .agg(
            (pl.col("timestamp") >= pl.col("created_at")).all().alias("after"),
            (pl.col("timestamp").max() - pl.col("timestamp").min()).alias("span"),
        )
    )
    assert per_task["after"].all()
    # A burst lasts minutes; spread calls of one ticket lie hours apart.
    assert per_task["span"].median() > dt.timedelta(hours=6)
