"""Charts of the report, rendered to PNG bytes (embedded in the page; no scripts, no network)."""

from __future__ import annotations

import io
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

UNKNOWN_HATCH = "///"


def cost_trend_png(points: list[dict[str, Any]], max_cost_per_task: float) -> bytes | None:
    """Stacked bars of cost per AI task (model, human, fees) for up to 8 weeks, with the limit.

    A week whose cost per task is unknown (a source missing) gets a hatched, unfilled bar as
    high as the limit, labelled "unknown", never a bar of zero or of the known part alone; a
    week computed from a partial source is labelled with an asterisk. The legend sits above the
    plot, clear of the bars."""
    points = [p for p in points if p["ai_tasks"]]
    if not points:
        return None
    labels = [p["week"][5:] + ("*" if p.get("partial") else "") for p in points]
    known = [p["cost_per_task"] is not None for p in points]
    model = [p["model"] or 0 if k else 0 for p, k in zip(points, known, strict=True)]
    human = [p["human"] or 0 if k else 0 for p, k in zip(points, known, strict=True)]
    fees = [p["fees"] or 0 if k else 0 for p, k in zip(points, known, strict=True)]
    # A bare Figure (no pyplot state) is safe when pilots render in parallel threads.
    fig = Figure(figsize=(6.4, 2.8), dpi=100, layout="constrained")
    ax = fig.subplots()
    ax.bar(labels, model, label="model", color="#4c78a8")
    ax.bar(labels, human, bottom=model, label="human", color="#f58518")
    ax.bar(
        labels,
        fees,
        bottom=[m + h for m, h in zip(model, human, strict=True)],
        label="fees",
        color="#9d9d9d",
    )
    ax.axhline(max_cost_per_task, color="#d62728", linestyle="--", linewidth=1, label="limit")
    handles, names = ax.get_legend_handles_labels()
    unknown_x = [label for label, k in zip(labels, known, strict=True) if not k]
    if unknown_x:
        ax.bar(
            unknown_x,
            [max_cost_per_task] * len(unknown_x),
            fill=False,
            hatch=UNKNOWN_HATCH,
            edgecolor="#8c959f",
            linewidth=0.8,
        )
        for x in unknown_x:
            ax.text(
                x,
                max_cost_per_task / 2,
                "unknown",
                ha="center",
                va="center",
                rotation=90,
                fontsize=8,
                color="#57606a",
                backgroundcolor="white",
            )
        handles.append(Patch(fill=False, hatch=UNKNOWN_HATCH, edgecolor="#8c959f"))
        names.append("unknown")
    ax.set_ylabel("USD per AI task")
    fig.legend(handles, names, loc="outside upper center", fontsize=8, ncols=5, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
