"""Plotly figures for the teacher's dashboard: the class-by-exercise heatmap and the timeline.

Both take the DataFrames of `grader.dashboard` and return a `plotly.graph_objects.Figure`, so
the page and the tests share them. Fonts are large because teachers project the dashboard.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

FONT = dict(size=16)
# Red (0) through yellow to green (1): the colours teachers read as failing, partial and done.
SCORE_COLOURSCALE = [[0.0, "#d7301f"], [0.5, "#fdd49e"], [1.0, "#1a9850"]]
NOT_TRIED_COLOUR = "#e0e0e0"


def progress_heatmap(matrix: pd.DataFrame, title: str = "Best score per student and exercise") -> go.Figure:
    """Draw `score_matrix` output: rows students, columns exercises, colour = best score fraction.

    Cells without an attempt are NaN, which plotly leaves undrawn, so the grey background shows
    and "not tried" cannot be mistaken for a score of 0.
    """
    percent = (matrix * 100).round()
    hover = [[f"{student} / {exercise}: " + ("not tried" if pd.isna(value) else f"{value:.0f}%")
              for exercise, value in row.items()] for student, row in percent.iterrows()]
    figure = go.Figure(go.Heatmap(
        z=matrix.to_numpy(dtype=float), x=list(matrix.columns), y=list(matrix.index), zmin=0.0, zmax=1.0,
        colorscale=SCORE_COLOURSCALE, text=hover, hoverinfo="text", xgap=2, ygap=2,
        colorbar=dict(title="best score", tickformat=".0%")))
    figure.update_layout(title=title, font=FONT, plot_bgcolor=NOT_TRIED_COLOUR,
                         height=max(300, 28 * len(matrix.index) + 160))
    figure.update_yaxes(autorange="reversed", type="category")  # first student on top, as in a class list
    figure.update_xaxes(type="category", tickangle=-45)
    return figure


def attempt_timeline(table: pd.DataFrame, title: str = "Checks over time") -> go.Figure:
    """Draw `timeline` output: one row per student, one marker per check, filled when it passed."""
    figure = go.Figure()
    for passed, symbol, colour in ((True, "circle", "#1a9850"), (False, "circle-open", "#d7301f")):
        rows = table[table["passed"] == passed]
        figure.add_trace(go.Scatter(
            x=rows["time"], y=rows["student"], mode="markers", name="passed" if passed else "not passed",
            marker=dict(symbol=symbol, size=12, color=colour, line=dict(width=2)),
            text=[f"{r.exercise}: {r.earned}/{r.points}" for r in rows.itertuples()], hoverinfo="text+x"))
    figure.update_layout(title=title, font=FONT, xaxis_title="time (UTC)",
                         height=max(300, 40 * table["student"].nunique() + 160))
    figure.update_yaxes(type="category", autorange="reversed")
    return figure
