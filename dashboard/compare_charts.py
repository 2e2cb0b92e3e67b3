"""Plotly figures for choosing a model: clickable confusion matrix, accuracy against cost, ensembles."""

from __future__ import annotations

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
    fig.update_xaxes(title_text=f"{cost_label} (log scale, left is cheaper)", type="log", dtick="D2")  # 1, 2, 5
    span = max(accuracies, default=1.0) - min(accuracies, default=0.0)
    decimals = 0 if span >= 0.05 else 1 if span >= 0.005 else 2  # enough digits that no two ticks read the same
    fig.update_yaxes(title_text="validation accuracy", tickformat=f".{decimals}%")
    fig.update_layout(hovermode="closest")
    return _layout(fig, 420)


def ensemble_figure(names: Sequence[str], accuracies: Sequence[float]) -> go.Figure:
    """Accuracy of each member and of the ensemble (last bar, highlighted)."""
    colours = [PALETTE[0]] * (len(names) - 1) + ["#E8590C"]
    fig = go.Figure(
        go.Bar(
            x=[chart_text(n) for n in names],
            y=list(accuracies),
            marker_color=colours,
            text=[f"{a:.1%}" for a in accuracies],
            textposition="inside",  # inside the bar: a 100% bar has no room above it
            insidetextanchor="end",
            hovertemplate="%{x}: %{y:.2%}<extra></extra>",
        )
    )
    low = max(0.0, min(accuracies) - 0.1)
    fig.update_yaxes(title_text="validation accuracy", tickformat=".0%", range=[low, min(1.0, max(accuracies) + 0.05)])
    return _layout(fig, 320)
