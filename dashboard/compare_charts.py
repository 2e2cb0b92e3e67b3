"""Plotly figures for choosing a model: clickable confusion matrix, accuracy against cost, ensembles."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from core import pareto_front
from dashboard.charts import PALETTE, _layout, confusion_figure
from dashboard.text import chart_text


def clickable_confusion_figure(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> go.Figure:
    """The confusion heatmap with an invisible marker on every cell, so a click selects that cell."""
    fig = confusion_figure(matrix, classes)
    labels = [chart_text(c) for c in classes]
    cells = [(t, p) for t in range(len(labels)) for p in range(len(labels))]
    fig.add_trace(
        go.Scatter(
            x=[labels[p] for _, p in cells],
            y=[labels[t] for t, _ in cells],
            customdata=[[t, p] for t, p in cells],
            mode="markers",
            marker={"symbol": "square", "size": max(8, min(40, 360 // max(len(labels), 1))), "opacity": 0.0},
            hovertemplate="true %{y}, predicted %{x}: click to see the images<extra></extra>",
            showlegend=False,
        )
    )
    n = len(labels)  # the invisible markers would pad the axes: hold them to the cells
    fig.update_xaxes(range=[-0.5, n - 0.5], autorange=False)
    fig.update_yaxes(range=[n - 0.5, -0.5], autorange=False)
    fig.update_layout(clickmode="event+select", dragmode=False)
    return fig


def selected_cell(event: object) -> tuple[int, int] | None:
    """Return (true, predicted) of the cell clicked in clickable_confusion_figure, if any."""
    points = getattr(getattr(event, "selection", None), "points", None) or []
    for point in points:
        data = point.get("customdata") if isinstance(point, dict) else None
        if data and len(data) == 2:
            return int(data[0]), int(data[1])
    return None


def log_ticks(values: Sequence[float]) -> dict[str, object]:
    """Return a log axis's range and its 1-2-5 ticks written whole ("0.02", "0.05", "0.1"): plotly's own 1-2-5
    ticks wrote only the leading digit, so 0.02 ms read "2"."""
    positive = [v for v in values if v > 0]
    if not positive:
        return {}
    lo, hi, ticks = min(positive), max(positive), []
    while len(ticks) < 2:  # widened until two ticks show (runs of one cost, say)
        lo, hi = lo / 1.6, hi * 1.6
        ticks = [
            m * 10.0**e
            for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
            for m in (1, 2, 5)
            if lo <= m * 10.0**e <= hi
        ]
    return {"range": [math.log10(lo), math.log10(hi)], "tickvals": ticks, "ticktext": [f"{t:g}" for t in ticks]}


def pareto_figure(
    names: Sequence[str],
    costs: Sequence[float],
    accuracies: Sequence[float],
    cost_label: str,
    models: Sequence[str],
    pairs: Sequence[tuple[int, int]] = (),
) -> go.Figure:
    """Accuracy against a cost (latency or size), one dot per run; the line joins the runs nothing beats.

    `pairs` (fp32 index, int8 index) are joined by a thin line, so each int8 copy stands beside its original.
    """
    fig = go.Figure()
    for n, (a, b) in enumerate(pairs):
        fig.add_trace(
            go.Scatter(
                x=[costs[a], costs[b]],
                y=[accuracies[a], accuracies[b]],
                mode="lines",
                name="fp32 → int8",
                legendgroup="int8",
                showlegend=n == 0,
                line={"color": "#E8590C", "width": 1.5},
                hoverinfo="skip",
            )
        )
    for i, model in enumerate(dict.fromkeys(models)):
        idx = [j for j, m in enumerate(models) if m == model]
        fig.add_trace(
            go.Scatter(
                x=[costs[j] for j in idx],
                y=[accuracies[j] for j in idx],
                text=[chart_text(names[j]) for j in idx],
                mode="markers",
                name=model,
                marker={"size": 13, "color": PALETTE[i % len(PALETTE)], "line": {"width": 1, "color": "white"}},
                hovertemplate=f"%{{text}}<br>{cost_label}: %{{x:.3g}}<br>accuracy: %{{y:.2%}}<extra>{model}</extra>",
            )
        )
    front = pareto_front(costs, accuracies)
    fig.add_trace(
        go.Scatter(
            x=[costs[i] for i in front],
            y=[accuracies[i] for i in front],
            mode="lines",
            name="best trade-offs",
            line={"color": "#888", "dash": "dot", "shape": "hv"},
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(title_text=f"{cost_label}, log scale: left is cheaper", type="log", **log_ticks(costs))
    span = max(accuracies, default=1.0) - min(accuracies, default=0.0)
    decimals = 0 if span >= 0.05 else 1 if span >= 0.005 else 2  # enough digits that no two ticks read the same
    fig.update_yaxes(title_text="validation accuracy", tickformat=f".{decimals}%")
    if accuracies and span < 0.01:  # runs alike: plotly's own range around them went from 0% to 150%
        fig.update_yaxes(range=[min(accuracies) - 0.01, min(1.0, max(accuracies) + 0.01) + 0.002])
    fig.update_layout(hovermode="closest")
    return _layout(fig, 420)


def ensemble_figure(names: Sequence[str], accuracies: Sequence[float]) -> go.Figure:
    """Accuracy of each member and of the ensemble (the last, highlighted), as horizontal bars: names read whole
    on their own lines (upright bars turned them on end and, on a phone in presenter mode, crowded the ensemble's
    bar off the chart)."""
    colours = [PALETTE[0]] * (len(names) - 1) + ["#E8590C"]
    fig = go.Figure(
        go.Bar(
            x=list(accuracies)[::-1],  # the first member on top, the ensemble at the bottom
            y=[chart_text(n) for n in names][::-1],
            orientation="h",
            marker_color=colours[::-1],
            text=[f"{a:.1%}" for a in accuracies][::-1],
            textposition="inside",  # inside the bar: a 100% bar has no room beside it
            insidetextanchor="end",
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    low = max(0.0, min(accuracies) - 0.1)
    fig.update_xaxes(title_text="validation accuracy", tickformat=".0%", range=[low, min(1.0, max(accuracies) + 0.05)])
    fig.update_yaxes(type="category", automargin=True)
    fig.update_layout(hovermode="closest")
    return _layout(fig, 90 + 40 * len(names))
