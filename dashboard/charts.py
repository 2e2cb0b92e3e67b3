"""Plotly figures built from history rows, predictions and dataset summaries."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative

from core import Prediction
from dashboard.text import chart_text

PALETTE = qualitative.Plotly
GREY = "#9aa5b1"  # what is not the point: a run's training line beside its validation, runners-up


def _layout(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        hovermode="x unified",
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
    )
    return fig


CURVE_TITLES = {"loss": "Loss (lower is better)", "accuracy": "Accuracy (higher is better)"}
SPLITS_CAPTION = "Solid lines: the validation images, held back from training. Dashed: the training images."


def curve_figure(histories: Mapping[str, Sequence[Mapping[str, float]]], metric: str, height: int = 360) -> go.Figure:
    """One metric ("loss" or "accuracy") per epoch, train dashed and validation solid, one colour per run."""
    fig = go.Figure()
    for i, (raw, rows) in enumerate(histories.items()):
        label = chart_text(raw)
        colour = PALETTE[i % len(PALETTE)]
        # one colour per run; a run alone gives its training line grey, so the two splits differ at a glance
        colours = {"train": GREY if len(histories) == 1 else colour, "val": colour}
        for split, dash in (("train", "dash"), ("val", "solid")):
            fig.add_trace(
                go.Scatter(
                    x=[r["epoch"] for r in rows],
                    y=[r[f"{split}_{metric}"] for r in rows],
                    mode="lines+markers",
                    name=label if split == "val" else f"{label} · train",
                    legendgroup=label,
                    # one legend entry per run, by its colour (SPLITS_CAPTION says dashed and solid), and none for
                    # a run alone: "name · train" and "name · val" twice over ran off two charts side by side
                    showlegend=split == "val" and len(histories) > 1,
                    line={"color": colours[split], "dash": dash},
                    marker={"size": 5},
                    hovertemplate=f"{split} {metric}: %{{y:.4f}}<extra>{label}</extra>",
                )
            )
    longest = max((len(rows) for rows in histories.values()), default=0)
    # every epoch up to 10, every other one up to 20: 15 labels on a phone's 170-pixel axis smeared into one strip
    fig.update_xaxes(title_text="epoch", dtick=1 if longest <= 10 else 2 if longest <= 20 else None)
    if metric == "accuracy":
        fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    fig.update_layout(title={"text": CURVE_TITLES[metric], "x": 0.5, "xanchor": "center"})
    _layout(fig, height)
    # one plot width for both charts ("0.8" and "100%" took different room), so their legends wrap alike and their
    # plots, side by side, keep one height
    fig.update_layout(margin={"l": 60})
    fig.update_yaxes(automargin=False)
    return fig


def curves_figures(
    histories: Mapping[str, Sequence[Mapping[str, float]]], height: int = 360
) -> tuple[go.Figure, go.Figure]:
    """Loss and accuracy as two charts, drawn side by side where there is room and one above the other on a phone
    (as two panels of one chart, their titles ran into each other at 390 px)."""
    loss, accuracy = (curve_figure(histories, metric, height) for metric in CURVE_TITLES)  # the titles' order
    return loss, accuracy


def class_counts_figure(classes: Sequence[str], counts: Sequence[int]) -> go.Figure:
    """Images per class as bars, with the mean as a dotted line."""
    names = [chart_text(c) for c in classes]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=list(counts),
            marker_color=PALETTE[0],
            hovertemplate="%{x}: %{y} images<extra></extra>",
        )
    )
    if counts:
        fig.add_hline(y=sum(counts) / len(counts), line_dash="dot", annotation_text="mean")
    # a long name is cut on the axis (120 characters squashed the bars to a sliver), whole on hover
    short = [chart_text(c if len(c) <= TICK_CHARS else c[: TICK_CHARS - 1] + "…") for c in classes]
    fig.update_layout(xaxis_title="class", yaxis_title="images", xaxis_type="category")
    fig.update_xaxes(tickmode="array", tickvals=names, ticktext=short)
    return _layout(fig, 300)


TICK_CHARS = 20  # the most of a class name an axis shows


def topk_figure(predictions: Sequence[Prediction]) -> go.Figure:
    """Horizontal bars of the top classes, most probable on top."""
    preds = list(reversed(predictions))
    fig = go.Figure(
        go.Bar(
            x=[p.probability for p in preds],
            y=[chart_text(p.label) for p in preds],
            orientation="h",
            marker_color=[PALETTE[0] if p is predictions[0] else GREY for p in preds],
            text=[f"{p.probability:.1%}" for p in preds],
            # beside each bar, whole: inside, plotly shrank a label to the bar's thickness (7 px in presenter mode)
            textposition="outside",
            constraintext="none",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.2%}<extra></extra>",
        )
    )
    fig.update_layout(  # room right of 100% for the top bar's label
        xaxis={"range": [0, 1.2], "tickvals": [0, 0.25, 0.5, 0.75, 1], "tickformat": ".0%", "title": "probability"},
        yaxis_type="category",
        hovermode="closest",
    )
    return _layout(fig, 60 + 36 * len(preds))


def pixel_histogram_figure(values: Mapping[str, Sequence[int]]) -> go.Figure:
    """Histogram of pixel values (0-255) per channel."""
    colours = {"red": "#e45756", "green": "#54a24b", "blue": "#4c78a8", "grey": "#6b6b6b"}
    fig = go.Figure()
    for name, counts in values.items():
        fig.add_trace(
            go.Bar(
                x=list(range(len(counts))),
                y=list(counts),
                name=name,
                opacity=0.6,
                marker_color=colours.get(name, PALETTE[0]),
            )
        )
    fig.update_layout(barmode="overlay", xaxis_title="pixel value", yaxis_title="pixels", bargap=0)
    return _layout(fig, 280)


def lr_finder_figure(lrs: Sequence[float], losses: Sequence[float], suggestion: float | None) -> go.Figure:
    """Smoothed loss against learning rate on a log axis, with the suggested rate marked."""
    fig = go.Figure(
        go.Scatter(
            x=list(lrs),
            y=list(losses),
            mode="lines",
            line={"color": PALETTE[0]},
            hovertemplate="rate %{x:.2g}: loss %{y:.3f}<extra></extra>",
        )
    )
    if suggestion is not None:
        fig.add_vline(
            x=suggestion, line_dash="dot", line_color=PALETTE[1], annotation_text=f"suggested {suggestion:.1g}"
        )
    fig.update_layout(
        xaxis={"type": "log", "title": "learning rate"}, yaxis_title="loss (smoothed)", hovermode="closest"
    )
    return _layout(fig, 300)


def schedule_figure(lrs: Sequence[float], batches_per_epoch: int) -> go.Figure:
    """The learning rate at every step of training, with epochs on the x axis."""
    epochs = [i / max(batches_per_epoch, 1) for i in range(len(lrs))]
    fig = go.Figure(
        go.Scatter(
            x=epochs,
            y=list(lrs),
            mode="lines",
            line={"color": PALETTE[0]},
            hovertemplate="epoch %{x:.1f}: rate %{y:.2g}<extra></extra>",
        )
    )
    fig.update_layout(xaxis_title="epoch", yaxis={"title": "learning rate", "tickformat": ".1e"}, hovermode="closest")
    return _layout(fig, 220)


def confusion_figure(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> go.Figure:
    """Counts of (true class, predicted class) as a heatmap; the diagonal is what the model got right."""
    labels = [chart_text(c) for c in classes]
    fig = go.Figure(
        go.Heatmap(
            z=[list(row) for row in matrix],
            x=labels,
            y=labels,
            colorscale="Blues",
            text=[[str(v) for v in row] for row in matrix],
            texttemplate="%{text}" if len(labels) <= 15 else None,
            hovertemplate="true %{y}, predicted %{x}: %{z} images<extra></extra>",
            showscale=False,
        )
    )
    fig.update_layout(
        xaxis={"title": "predicted class", "type": "category"},
        yaxis={"title": "true class", "type": "category", "autorange": "reversed"},
    )
    height = max(300, 120 + 28 * len(labels))  # two classes stay a square, not a strip
    return _layout(fig, height).update_layout(hovermode="closest")  # one cell, not a column
