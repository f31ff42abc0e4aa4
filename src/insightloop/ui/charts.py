"""Plotly figures as plain data (``{"data": [...], "layout": {...}}``) for the pages to draw.

The numbers come aggregated from the engine; these functions only arrange them. A figure goes
into a template with the ``chart`` macro, which also writes its numbers as a table (for screen
readers, and for people who would rather read than look).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["bar_chart", "funnel_chart", "histogram_chart", "line_chart", "table_of"]

Figure = dict[str, Any]
#: Colours that stay apart for most kinds of colour blindness (Okabe & Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


def _layout(title: str, x_title: str = "", y_title: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "height": 320,
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": "system-ui, sans-serif", "size": 12},
        "colorway": list(PALETTE),
        "xaxis": {"title": {"text": x_title}, "gridcolor": "#eef1f4", "automargin": True},
        "yaxis": {"title": {"text": y_title}, "gridcolor": "#eef1f4", "automargin": True},
        "legend": {"orientation": "h", "y": -0.3 if x_title else -0.2},
        **extra,
    }


def _plain(values: Sequence[Any]) -> list[Any]:
    return [v.isoformat() if hasattr(v, "isoformat") else v for v in values]


def line_chart(
    x: Sequence[Any],
    series: Mapping[str, Sequence[float | int | None]],
    *,
    title: str,
    x_title: str = "",
    y_title: str = "",
) -> Figure:
    """One line per series over ``x`` (days, months, ...)."""
    data = [
        {"type": "scatter", "mode": "lines+markers", "name": name, "x": _plain(x), "y": list(ys)}
        for name, ys in series.items()
    ]
    return {"data": data, "layout": _layout(title, x_title, y_title, hovermode="x unified")}


def bar_chart(
    categories: Sequence[Any],
    series: Mapping[str, Sequence[float | int | None]],
    *,
    title: str,
    x_title: str = "",
    y_title: str = "",
    horizontal: bool = False,
    percent: bool = False,
) -> Figure:
    """Bars per category, one colour per series (grouped)."""
    cats = [str(c) if c not in (None, "") else "(none)" for c in categories]
    data = []
    for name, values in series.items():
        trace: dict[str, Any] = {"type": "bar", "name": name}
        if horizontal:
            trace.update(orientation="h", y=cats, x=list(values))
        else:
            trace.update(x=cats, y=list(values))
        if percent:
            trace["hovertemplate"] = "%{" + ("x" if horizontal else "y") + ":.1%}<extra>" + name
            trace["hovertemplate"] += "</extra>"
        data.append(trace)
    layout = _layout(title, x_title, y_title, barmode="group")
    axis = "xaxis" if horizontal else "yaxis"
    if percent:
        layout[axis]["tickformat"] = ".0%"
    if horizontal:
        layout["yaxis"]["autorange"] = "reversed"
        layout["height"] = max(260, 40 + 28 * len(cats))
    return {"data": data, "layout": layout}


def funnel_chart(stages: Sequence[str], counts: Sequence[int], *, title: str) -> Figure:
    """Customers by stage, widest first."""
    data = [
        {"type": "funnel", "y": list(stages), "x": list(counts), "textinfo": "value+percent total"}
    ]
    return {"data": data, "layout": _layout(title)}


def histogram_chart(
    edges: Sequence[float], counts: Sequence[int], *, title: str, x_title: str, y_title: str
) -> Figure:
    """Counts of pre-binned values (``len(edges) == len(counts) + 1``), binned in the engine."""
    if len(edges) != len(counts) + 1:
        raise ValueError("a histogram needs one more edge than counts")
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    widths = [b - a for a, b in itertools.pairwise(edges)]
    labels = [f"{a:,.0f} to {b:,.0f}" for a, b in itertools.pairwise(edges)]
    data = [
        {
            "type": "bar",
            "x": centres,
            "y": list(counts),
            "width": widths,
            "customdata": labels,
            "hovertemplate": "%{customdata}: %{y:,}<extra></extra>",
            "name": y_title,
        }
    ]
    return {"data": data, "layout": _layout(title, x_title, y_title, bargap=0.02)}


def table_of(figure: Figure) -> tuple[list[str], list[list[Any]]]:
    """The numbers of a figure as a header and rows (the ``chart`` macro shows them)."""
    traces = figure["data"]
    if not traces:
        return [], []
    first = traces[0]
    if first.get("type") == "funnel":
        return ["stage", "customers"], [list(r) for r in zip(first["y"], first["x"], strict=True)]
    horizontal = first.get("orientation") == "h"
    keys = first.get("customdata") or (first["y"] if horizontal else first["x"])
    header = ["", *[t.get("name") or "value" for t in traces]]
    rows = []
    for i, key in enumerate(keys):
        row = [key]
        for t in traces:
            values = t["x"] if horizontal else t["y"]
            row.append(values[i] if i < len(values) else None)
        rows.append(row)
    return header, rows
