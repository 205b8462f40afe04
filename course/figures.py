"""Plotly figures for the app's pages: attention heatmaps and next-token probability bars.

Each function takes plain tensors and token labels and returns a `plotly.graph_objects.Figure`,
so the pages and the tests share them. Fonts are large because lecturers project these figures.

Token axes use positions 0..T-1 as tick values and the token labels as tick text. Plotly merges
categories with equal names, so labelling the axis by token text would fold the two "the"s of a
line into one row.

Plotly's heatmaps send no click or selection events, so `add_query_picker` lays a transparent
marker over each visible cell: a click on a cell then selects that marker, and the page reads
the query position from Streamlit's selection event (`picked_query`).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots
from torch import Tensor

from course.token_view import token_label
from reference.bpe import BPETokenizer

FONT = dict(size=18)
TITLE_FONT = dict(size=24)
# Masked (future) cells are NaN, which plotly leaves undrawn, so this background shows through.
MASKED_COLOUR = "#d0d0d0"
ATTENTION_COLOURSCALE = "Blues"
# Above this many tokens, hovering a cell shows positions instead of token labels (see _heatmap_trace).
HOVER_LABEL_MAX_TOKENS = 128
MASKED_NOTE = "grey cells: masked future tokens"
# At most this many token labels per axis: the 1000-pixel-high heatmap fits about 40 readable rows.
MAX_TICK_LABELS = 40


def attention_heatmap(weights: Tensor, tokens: list[str], title: str = "Attention weights") -> go.Figure:
    """Draw one head's attention weights (T, T) as a heatmap: row = query token, column = key token.

    Cells above the diagonal, where the causal mask hides the future, are NaN and show grey, so
    they cannot be mistaken for a weight of 0. Hovering a cell shows "query -> key: weight".
    """
    weights = _check_square(weights, tokens, "weights")
    T = len(tokens)

    figure = go.Figure(_heatmap_trace(weights, tokens))
    figure.update_layout(
        title=dict(text=f"{title}<br><sup>{MASKED_NOTE}</sup>", font=TITLE_FONT),
        font=FONT,
        plot_bgcolor=MASKED_COLOUR,
        height=max(520, min(1000, 200 + 32 * T)),
        margin=dict(l=20, r=20, t=100, b=20),
    )
    figure.update_xaxes(title="key token (attended to)", side="bottom", tickangle=-60, **_token_ticks(tokens))
    # Queries run top to bottom in reading order, as in the usual attention-map drawings.
    figure.update_yaxes(title="query token (attending)", autorange="reversed", **_token_ticks(tokens))
    return figure


def attention_grid(weights: Tensor, tokens: list[str], title: str = "All heads of the layer",
                   columns: int = 4) -> go.Figure:
    """Draw every head's attention weights (H, T, T) as a grid of small heatmaps, one per head.

    All heads share one colour scale from 0 to 1, so a bright cell means the same in each panel.
    `columns` is the most panels per row; fewer gives larger panels, as a projector needs.
    """
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be an integer >= 1, got {columns!r}")
    if not isinstance(weights, Tensor) or weights.dim() != 3:
        shape = tuple(weights.shape) if isinstance(weights, Tensor) else type(weights).__name__
        raise ValueError(
            f"weights must be one layer's attention weights of shape (H, T, T), got {shape}; "
            f"for a batch (B, H, T, T) pass weights[0], one sequence at a time"
        )
    H = weights.size(0)
    columns = min(H, columns)
    rows = math.ceil(H / columns)

    figure = make_subplots(
        rows=rows, cols=columns, subplot_titles=[f"head {h + 1}" for h in range(H)],
        horizontal_spacing=0.07, vertical_spacing=0.08,
    )
    for h in range(H):
        head = _check_square(weights[h], tokens, f"weights[{h}]")
        trace = _heatmap_trace(head, tokens, showscale=(h == 0))
        figure.add_trace(trace, row=h // columns + 1, col=h % columns + 1)

    figure.update_layout(
        title=dict(text=f"{title}<br><sup>{MASKED_NOTE}; rows are queries, columns keys</sup>", font=TITLE_FONT),
        font=FONT,
        plot_bgcolor=MASKED_COLOUR,
        height=180 + 400 * rows,
        margin=dict(l=20, r=20, t=120, b=20),
    )
    # Tick labels for every token would overlap in small panels, but hover still names each cell.
    show_labels = len(tokens) <= 24
    figure.update_xaxes(showticklabels=show_labels, tickangle=-60, tickfont=dict(size=12), **_token_ticks(tokens))
    figure.update_yaxes(showticklabels=show_labels, autorange="reversed", tickfont=dict(size=12), **_token_ticks(tokens))
    return figure


def highlight_query(figure: go.Figure, query: int, T: int, colour: str = "#e4572e") -> go.Figure:
    """Outline row `query` (one query token) in every heatmap panel of an attention figure.

    >>> len(highlight_query(go.Figure(go.Heatmap(z=[[1.0]])), 0, 1).layout.shapes)
    1
    """
    if not 0 <= query < T:
        raise ValueError(f"query must be a position from 0 to {T - 1}, got {query}; pick one of the line's tokens")
    panels = [trace for trace in figure.data if isinstance(trace, go.Heatmap)]
    for index, _ in enumerate(panels):
        suffix = "" if index == 0 else str(index + 1)
        figure.add_shape(type="rect", x0=-0.5, x1=T - 0.5, y0=query - 0.5, y1=query + 0.5,
                         xref=f"x{suffix}", yref=f"y{suffix}", line=dict(color=colour, width=4))
    return figure


def add_query_picker(figure: go.Figure) -> go.Figure:
    """Make every visible cell of each heatmap panel clickable, for choosing a query token.

    Each panel gets a scatter trace with one transparent square marker per visible cell, which
    also takes over the panel's hover text. Pass the figure to `st.plotly_chart(...,
    on_select=..., selection_mode="points")` and read the choice with `picked_query`.

    >>> figure = add_query_picker(go.Figure(go.Heatmap(z=[[0.5, None], [0.3, 0.7]])))
    >>> [int(y) for y in figure.data[1].y]
    [0, 1, 1]
    """
    panels = [trace for trace in figure.data if isinstance(trace, go.Heatmap)]
    for panel in panels:
        z = np.asarray(panel.z, dtype=float)  # (T, T), NaN where masked
        queries, keys = np.nonzero(~np.isnan(z))
        picker = go.Scatter(
            x=keys, y=queries, mode="markers", xaxis=panel.xaxis, yaxis=panel.yaxis, showlegend=False,
            marker=dict(symbol="square", size=14, opacity=0.0),
            # A selected marker would otherwise turn opaque and hide its cell.
            selected=dict(marker=dict(opacity=0.0)), unselected=dict(marker=dict(opacity=0.0)),
            # A scatter point has no z, so the weight travels as its text.
            text=[f"{value:.3f}" for value in z[queries, keys]],
            hovertemplate=(panel.hovertemplate or "%{y} -> %{x}: %{z:.3f}").replace("%{z:.3f}", "%{text}"),
        )
        if panel.customdata is not None:
            picker.customdata = np.asarray(panel.customdata, dtype=object)[queries, keys]  # (N, 2) labels
        panel.hoverinfo = "skip"
        figure.add_trace(picker)
        _fit_axes_to_cells(figure, panel, z.shape[0])
    return figure


def _fit_axes_to_cells(figure: go.Figure, panel: go.Heatmap, T: int) -> None:
    # Markers make plotly pad the axis range, which would frame the cells in a grey band.
    x_name = "xaxis" + (panel.xaxis or "x")[1:]
    y_name = "yaxis" + (panel.yaxis or "y")[1:]
    figure.layout[x_name].update(range=[-0.5, T - 0.5], autorange=False)
    figure.layout[y_name].update(range=[T - 0.5, -0.5], autorange=False)  # query 0 on top, as before


def picked_query(selection) -> int | None:
    """Return the query position of the cell clicked in a figure from `add_query_picker`, if any.

    `selection` is Streamlit's chart selection state (a dict with "selection" -> "points").

    >>> picked_query({"selection": {"points": [{"x": 1, "y": 3}]}})
    3
    >>> picked_query({"selection": {"points": []}}) is None
    True
    """
    try:
        points = selection["selection"]["points"]
    except (KeyError, TypeError):
        return None
    if not points or "y" not in points[0]:
        return None
    return int(points[0]["y"])


def query_attention_by_head(attention: list[Tensor], query: int, tokens: list[str]) -> go.Figure:
    """Draw where one query token looks in every head of every layer: one row per (layer, head).

    `attention` is a list of n_layer tensors (H, T, T), one sequence's weights. Row "L2 H3" is
    row `query` of layer 2, head 3. Keys after the query are masked and drawn grey.
    """
    if not attention:
        raise ValueError("attention is empty; pass one (H, T, T) tensor per layer")
    T = len(tokens)
    if not 0 <= query < T:
        raise ValueError(f"query must be a position from 0 to {T - 1}, got {query}; pick one of the line's tokens")
    rows = [_check_square(layer[head], tokens, f"attention[{index}][{head}]")[query]
            for index, layer in enumerate(attention) for head in range(layer.size(0))]
    z = torch.stack(rows)  # (n_layer * H, T)
    z[:, query + 1:] = float("nan")
    names = [f"L{index + 1} H{head + 1}" for index, layer in enumerate(attention) for head in range(layer.size(0))]

    figure = go.Figure(go.Heatmap(
        z=z.numpy(), x=np.arange(T), y=names, zmin=0.0, zmax=1.0, colorscale=ATTENTION_COLOURSCALE,
        colorbar=dict(title="weight"), hoverongaps=False, hovertemplate="%{y}, key %{x}: %{z:.3f}<extra></extra>",
    ))
    figure.update_layout(
        title=dict(text=f"Where {tokens[query]} looks, in every head<br><sup>{MASKED_NOTE}</sup>", font=TITLE_FONT),
        font=FONT, plot_bgcolor=MASKED_COLOUR, height=160 + 34 * len(names), margin=dict(l=20, r=20, t=100, b=20),
    )
    figure.update_xaxes(title="key token (attended to)", tickangle=-60, **_token_ticks(tokens))
    figure.update_yaxes(autorange="reversed", automargin=True)
    return figure


def next_token_bars(probs: Tensor, tokenizer: BPETokenizer, top: int = 20) -> go.Figure:
    """Draw the `top` most likely next tokens of probs (V,) as horizontal bars, most likely on top."""
    if not isinstance(probs, Tensor) or probs.dim() != 1:
        shape = tuple(probs.shape) if isinstance(probs, Tensor) else type(probs).__name__
        raise ValueError(
            f"probs must be one position's probabilities of shape (V,), got {shape}; "
            f"for logits (B, T, V) pass the probabilities of logits[0, -1]"
        )
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be an integer >= 1, got {top!r}")

    values, ids = torch.topk(probs.detach().float(), min(top, probs.numel()))
    labels = [_vocabulary_label(tokenizer, token_id) for token_id in ids.tolist()]
    positions = list(range(len(labels)))

    figure = go.Figure(
        go.Bar(
            x=values.tolist(), y=positions, orientation="h", marker_color="#4a78c2",
            customdata=[[label, token_id] for label, token_id in zip(labels, ids.tolist())],
            hovertemplate="%{customdata[0]} (id %{customdata[1]}): %{x:.3f}<extra></extra>",
            text=[f"{value:.2f}" for value in values.tolist()], textposition="outside",
        )
    )
    figure.update_layout(
        title=dict(text=f"The {len(labels)} most likely next tokens", font=TITLE_FONT),
        font=FONT,
        height=max(360, 110 + 30 * len(labels)),
        margin=dict(l=20, r=40, t=80, b=20),
    )
    figure.update_xaxes(title="probability", automargin=True, range=[0, 1.1 * max(values.max().item(), 1e-3)])
    figure.update_yaxes(tickvals=positions, ticktext=labels, autorange="reversed", automargin=True)
    return figure


def _check_square(weights: Tensor, tokens: list[str], name: str) -> Tensor:
    """Check that weights is (T, T) with one token label per row; return it as float on the CPU."""
    if not isinstance(weights, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (T, T), got {type(weights).__name__}")
    if weights.dim() != 2 or weights.size(0) != weights.size(1):
        hint = "; for a batch (B, H, T, T) pick one sequence and one head, e.g. weights[0, h]" if weights.dim() > 2 else ""
        raise ValueError(f"{name} must be square with shape (T, T), got {tuple(weights.shape)}{hint}")
    if len(tokens) != weights.size(0):
        raise ValueError(
            f"got {len(tokens)} token labels for {name} of shape {tuple(weights.shape)}; "
            f"pass exactly one label per position (T = {weights.size(0)})"
        )
    return weights.detach().float().cpu()


def _heatmap_trace(weights: Tensor, tokens: list[str], showscale: bool = True) -> go.Heatmap:
    T = len(tokens)
    # Future keys are masked, so their cells become NaN (drawn as gaps), not a weight of 0.
    visible = torch.ones(T, T, dtype=torch.bool).tril()
    z = weights.masked_fill(~visible, float("nan"))
    trace = go.Heatmap(
        z=z.numpy(), x=np.arange(T), y=np.arange(T),
        zmin=0.0, zmax=1.0, colorscale=ATTENTION_COLOURSCALE, showscale=showscale,
        colorbar=dict(title="weight"), hoverongaps=False,
    )
    if T > HOVER_LABEL_MAX_TOKENS:
        # T * T label pairs cost more to send than the weights; past this size hover gives positions.
        trace.hovertemplate = "query %{y} -> key %{x}: %{z:.3f}<extra></extra>"
        return trace
    # customdata[i, j] = (query label, key label), for the hover text of cell (i, j). NumPy
    # arrays, not nested lists: plotly validates lists element by element, which made a
    # 64-token grid take about ten times longer to build.
    names = np.array(tokens, dtype=object)
    labels = np.empty((T, T, 2), dtype=object)
    labels[..., 0], labels[..., 1] = names[:, None], names[None, :]
    trace.customdata = labels
    trace.hovertemplate = "%{customdata[0]} -> %{customdata[1]}: %{z:.3f}<extra></extra>"
    return trace


def _token_ticks(tokens: list[str]) -> dict:
    # Above MAX_TICK_LABELS tokens the labels would overlap, so only every k-th token is labelled;
    # hovering still names every cell. Grid lines would cross the grey masked cells and look like
    # data, so they are off.
    step = math.ceil(len(tokens) / MAX_TICK_LABELS) if len(tokens) > MAX_TICK_LABELS else 1
    positions = list(range(0, len(tokens), step))
    return dict(
        tickmode="array", tickvals=positions, ticktext=[tokens[i] for i in positions],
        automargin=True, showgrid=False, zeroline=False,
    )


def _vocabulary_label(tokenizer: BPETokenizer, token_id: int) -> str:
    try:
        return token_label(tokenizer.token_bytes(token_id))
    except ValueError:
        # The model's vocabulary can be larger than the tokenizer's, and such ids never occur in text.
        return f"<unused id {token_id}>"
