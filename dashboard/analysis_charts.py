"""Plotly figures for looking at a whole dataset: the 2-D map of its images."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from core import Projection
from dashboard.text import chart_text

PALETTE = qualitative.Plotly + qualitative.D3  # 20 distinct colours, enough for one legend entry per class
HOVER = "class %{customdata[1]}<br>image #%{customdata[0]}<extra></extra>"


def _axis_titles(proj: Projection) -> tuple[str, str]:
    if proj.method == "pca" and len(proj.explained) >= 2:
        return tuple(
            f"direction {i + 1} ({share:.0%} of the pixel variation)" for i, share in enumerate(proj.explained[:2])
        )  # type: ignore[return-value]
    return "", ""  # t-SNE's axes mean nothing on their own: only closeness does


def projection_figure(proj: Projection, height: int = 520) -> go.Figure:
    """One dot per image, coloured by class; hovering shows its class and index."""
    names = np.asarray([chart_text(c) for c in proj.classes], dtype=object)[proj.labels]  # (n,)
    custom = np.stack([proj.indices, names], axis=1)  # (n, 2): index, class name
    fig = go.Figure()
    if len(proj.classes) <= len(PALETTE):
        for c, name in enumerate(proj.classes):
            mask = proj.labels == c
            fig.add_trace(
                go.Scatter(
                    x=proj.points[mask, 0],
                    y=proj.points[mask, 1],
                    mode="markers",
                    name=chart_text(name),
                    marker={"size": 6, "color": PALETTE[c], "opacity": 0.75},
                    customdata=custom[mask],
                    hovertemplate=HOVER,
                )
            )
    else:  # a hundred legend entries help nobody: one trace, a colour scale over the class numbers
        fig.add_trace(
            go.Scatter(
                x=proj.points[:, 0],
                y=proj.points[:, 1],
                mode="markers",
                marker={"size": 5, "color": proj.labels, "colorscale": "Turbo", "opacity": 0.75},
                customdata=custom,
                hovertemplate=HOVER,
                showlegend=False,
            )
        )
    x_title, y_title = _axis_titles(proj)
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"title": "class", "itemsizing": "constant"},
        xaxis={"title": x_title, "showticklabels": False, "zeroline": False},
        yaxis={"title": y_title, "showticklabels": False, "zeroline": False},
    )
    return fig
