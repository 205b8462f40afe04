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
# Pixels of height per character of a tick label tilted by -45 degrees at FONT's size (an estimate
# from the 16 px font's average glyph width), so the longest exercise id fits under the heatmap.
TILTED_LABEL_PX_PER_CHAR = 7
# A timeline whose checks span less than this shows this much time around them, so that one
# check does not stretch the axis to milliseconds.
MIN_TIMELINE_SPAN = pd.Timedelta(minutes=10)


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
    label_height = TILTED_LABEL_PX_PER_CHAR * max((len(str(column)) for column in matrix.columns), default=0)
    figure.update_layout(title=title, font=FONT, plot_bgcolor=NOT_TRIED_COLOUR,
                         height=max(300, 28 * len(matrix.index) + 160) + label_height,
                         margin=dict(b=40 + label_height))
    figure.update_yaxes(autorange="reversed", type="category")  # first student on top, as in a class list
    figure.update_xaxes(type="category", tickangle=-45, automargin=True)
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
    time_range = timeline_range(table["time"])
    if time_range is not None:
        figure.update_xaxes(range=time_range)
    return figure


def timeline_range(times: pd.Series) -> list[pd.Timestamp] | None:
    """Return an x range at least MIN_TIMELINE_SPAN wide centred on `times`, or None to let plotly choose.

    Example: one check at 09:00:00 gives [08:55:00, 09:05:00]; checks from 09:00 to 10:00 give None.
    """
    stamps = pd.to_datetime(times).dropna()
    if stamps.empty or stamps.max() - stamps.min() >= MIN_TIMELINE_SPAN:
        return None
    middle = stamps.min() + (stamps.max() - stamps.min()) / 2
    return [middle - MIN_TIMELINE_SPAN / 2, middle + MIN_TIMELINE_SPAN / 2]
