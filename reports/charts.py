"""Charts of the report, rendered to PNG bytes (embedded in the page; no scripts, no network)."""

from __future__ import annotations

import io
from typing import Any

from matplotlib.figure import Figure


def cost_trend_png(points: list[dict[str, Any]], max_cost_per_task: float) -> bytes | None:
    """Stacked bars of cost per AI task (model, human, fees) for up to 8 weeks, with the limit."""
    points = [p for p in points if p["cost_per_task"] is not None]
    if not points:
        return None
    labels = [p["week"][5:] for p in points]
    model = [p["model"] or 0 for p in points]
    human = [p["human"] or 0 for p in points]
    fees = [p["fees"] or 0 for p in points]
    # A bare Figure (no pyplot state) is safe when pilots render in parallel threads.
    fig = Figure(figsize=(6.4, 2.6), dpi=100)
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
    ax.set_ylabel("USD per AI task")
    ax.legend(loc="upper left", fontsize=8, ncols=4, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
