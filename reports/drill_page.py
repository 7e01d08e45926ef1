"""The drill page: per drill event the rules that fired, the verdict, who acts and by when, and
what the operating model does not catch (drill.html, self-contained)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from models.operating_model import OperatingModel
from pipelines.drill import EventResult
from reports.readiness import owners
from reports.render import VERDICT_WORDS, _env, write_atomic


@dataclass(frozen=True)
class Gap:
    """Something a drill event showed the operating model does not catch or cannot act on."""

    event_id: str | None  # None: a gap of the model itself, whatever the event
    what: str


def _handoff_gaps(model: OperatingModel) -> list[Gap]:
    handoff = model.handoff
    if handoff is None:
        return [
            Gap(
                None,
                "The operating model has no handoff section: when the AI stops, nobody is "
                "named to take the work and there is no response time to measure.",
            )
        ]
    people = owners(model)
    named = {p["name"] for p in people.values() if p["name"]}
    backed = {p["name"] for p in people.values() if p["name"] and p["backup"]}
    receiver = handoff.receiver
    if receiver in people or any(name in receiver for name in backed):
        return []
    if any(name in receiver for name in named):
        return [Gap(None, f"The handoff receiver ({receiver}) has no backup in the roles.")]
    return [
        Gap(
            None,
            f"The handoff receiver ({receiver}) is not a role of the operating model: no "
            "backup takes handoffs when they are away.",
        )
    ]


def gaps(results: list[EventResult], model: OperatingModel) -> list[Gap]:
    """The events no rule caught (beyond the normal week's), events the model could not stage,
    actions with nobody, no backup or no due time, and handoff gaps of the model."""
    found: list[Gap] = []
    for r in results:
        if r.event_id == "normal":
            continue
        if r.not_staged:
            found.append(Gap(r.event_id, f"Could not be staged: {r.not_staged}."))
        elif not r.new_fired:
            found.append(
                Gap(
                    r.event_id,
                    "No rule fired beyond those of the normal week: the "
                    "operating model does not catch this event.",
                )
            )
        elif (new := [a for a in r.actions if a["id"] in r.new_fired]) and all(
            a["urgency"] == "warn" for a in new
        ):
            found.append(
                Gap(
                    r.event_id,
                    "Caught only as a warning ("
                    + ", ".join(r.new_fired)
                    + "): nothing is due before the next review "
                    "and the verdict does not change because of it.",
                )
            )
        for a in r.actions:
            if a["id"] not in r.new_fired:
                continue
            if not a["person"]:
                found.append(Gap(r.event_id, f"{a['id']}: no person holds the {a['role']} role."))
            elif not a["backup"]:
                found.append(
                    Gap(r.event_id, f"{a['id']}: {a['person']} ({a['role']}) has no backup.")
                )
            if not a["due"]:
                found.append(Gap(r.event_id, f"{a['id']}: no response time, so no due time."))
    return found + _handoff_gaps(model)


def render_drill_html(
    model: OperatingModel,
    week_label: str,
    results: list[EventResult],
    found: list[Gap],
    generated: dt.datetime,
) -> str:
    return (
        _env()
        .get_template("drill.html.j2")
        .render(
            model=model,
            week=week_label,
            results=results,
            gaps=found,
            verdict_words=VERDICT_WORDS,
            generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
        )
    )


def write_drill_page(
    out_dir: Path,
    model: OperatingModel,
    week_label: str,
    results: list[EventResult],
    found: list[Gap],
    generated: dt.datetime,
) -> Path:
    """Write drill.html under `out_dir`; its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "drill.html"
    write_atomic(path, render_drill_html(model, week_label, results, found, generated))
    return path
