"""Plotly figures that the lessons embed, beyond the attention and next-token figures of `course.figures`.

Each function takes plain values (text, tensors, numbers), checks them, and returns a
`plotly.graph_objects.Figure` with large fonts, because lecturers project these figures.
`course.visualizations` supplies the default inputs that the lessons show.

Deliberately left out: loading models or tokenizers. The caller passes them in, so the tests
can draw every figure from small hand-made inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch
from torch import Tensor

from course.figures import FONT, TITLE_FONT
from course.token_view import show_invisible, token_label
from reference.attention import causal_mask, softmax
from reference.bpe import GPT2_SPLIT_PATTERN, merge, pretokenize
from reference.config import GPTConfig
from reference.gelu import gelu, gelu_tanh
from reference.layernorm import layer_norm
from reference.schedule import learning_rate

CHIP_COLOURS = ("#ffe08a", "#b8e0ff", "#c9f2c2", "#ffc9de", "#e1d4ff", "#ffd7b0")
MAX_TEXT_CHARS = 200
# Width of a row of token chips, in character cells, because wider rows get too small to read.
CHIP_ROW_WIDTH = 48


def _layout(figure: go.Figure, title: str, height: int, subtitle: str = "") -> go.Figure:
    text = f"{title}<br><sup>{subtitle}</sup>" if subtitle else title
    figure.update_layout(
        title=dict(text=text, font=TITLE_FONT), font=FONT, height=height,
        margin=dict(l=20, r=20, t=110 if subtitle else 80, b=20),
    )
    # The margins above are minimums. Automargin widens them to fit tick labels and axis titles,
    # which would otherwise be clipped or drawn over the ticks at these font sizes.
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    return figure


def _check_text(text, name: str = "text") -> str:
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    if not text or len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"{name} must have 1 to {MAX_TEXT_CHARS} characters, got {len(text)}; type a shorter line")
    return text


def _check_matrix(weight, name: str) -> Tensor:
    if not isinstance(weight, Tensor) or weight.dim() != 2:
        shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"{name} must be a 2-D tensor (V, C), got {shape}; pass model.embeddings.token.weight")
    return weight.detach().float().cpu()


# ------------------------------------------------------------------------------------------
# lesson 1: text as numbers


def text_bytes_figure(text: str) -> go.Figure:
    """Tabulate each character of `text` with its Unicode code point and its UTF-8 bytes."""
    text = _check_text(text)
    characters = [show_invisible(character) for character in text]
    code_points = [f"U+{ord(character):04X} ({ord(character)})" for character in text]
    byte_lists = [" ".join(str(byte) for byte in character.encode("utf-8")) for character in text]
    counts = [str(len(character.encode("utf-8"))) for character in text]

    table = go.Table(
        header=dict(values=["character", "code point", "UTF-8 bytes", "byte count"], font=dict(size=18), height=36),
        cells=dict(values=[characters, code_points, byte_lists, counts], font=dict(size=18), height=34),
    )
    total = len(text.encode("utf-8"))
    return _layout(go.Figure(table), "One character, one code point, one to four bytes",
                   height=min(900, 170 + 36 * len(text)), subtitle=f"{len(text)} characters, {total} UTF-8 bytes")


# ------------------------------------------------------------------------------------------
# lesson 2: byte-pair encoding


def bpe_steps(text: str, merges: Mapping[tuple[int, int], int], pattern: str = GPT2_SPLIT_PATTERN) -> list[tuple[tuple[int, int] | None, list[list[int]]]]:
    """List the states of encoding `text`: before any merge, then after each merge that applies.

    Each state is (the merge just applied or None, the ids of every chunk). The merge applied
    next is always the earliest learned one present in any chunk, so the last state is what
    `bpe_encode` returns, chunk by chunk.

    Example:
        >>> bpe_steps("aab", {(97, 97): 256, (256, 98): 257})
        [(None, [[97, 97, 98]]), ((97, 97), [[256, 98]]), ((256, 98), [[257]])]
    """
    chunks = [list(chunk.encode("utf-8")) for chunk in pretokenize(text, pattern)]
    states: list[tuple[tuple[int, int] | None, list[list[int]]]] = [(None, chunks)]
    while True:
        present = {pair for ids in chunks for pair in zip(ids, ids[1:]) if pair in merges}
        if not present:
            return states
        pair = min(present, key=merges.__getitem__)
        chunks = [merge(ids, pair, merges[pair]) for ids in chunks]
        states.append((pair, chunks))


def bpe_steps_figure(text: str, merges: Mapping[tuple[int, int], int], max_steps: int = 12) -> go.Figure:
    """Draw `text`'s tokens after each merge, one row per step, each token as wide as its bytes."""
    text = _check_text(text)
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}")
    vocab = _token_bytes(merges)
    states = bpe_steps(text, merges)
    if len(states) > max_steps + 1:
        # Keep the first steps and the final state, so the end result is always shown.
        states = states[:max_steps] + states[-1:]

    figure = go.Figure()
    row_labels = []
    for row, (pair, chunks) in enumerate(states):
        ids = [token_id for chunk in chunks for token_id in chunk]
        _add_token_boxes(figure, ids, vocab, row)
        if pair is None:
            row_labels.append("bytes")
        else:
            row_labels.append(f"{_pair_label(pair, vocab)} → {merges[pair]}")

    byte_count = len(text.encode("utf-8"))
    figure.update_xaxes(visible=False, range=[-0.2, byte_count + 0.2])
    figure.update_yaxes(tickvals=list(range(len(states))), ticktext=row_labels, autorange="reversed",
                        range=[len(states) - 0.4, -0.6], showgrid=False, zeroline=False, automargin=True)
    figure.update_layout(plot_bgcolor="white", showlegend=False)
    final = sum(len(chunk) for chunk in states[-1][1])
    return _layout(figure, "Byte-pair merges, one step per row", height=160 + 70 * len(states),
                   subtitle=f"{byte_count} bytes become {final} tokens; each row applies the earliest-learned merge present")


def _token_bytes(merges: Mapping[tuple[int, int], int]) -> dict[int, bytes]:
    vocab = {byte: bytes([byte]) for byte in range(256)}
    for (left, right), new_id in sorted(merges.items(), key=lambda item: item[1]):
        vocab[new_id] = vocab[left] + vocab[right]
    return vocab


def _pair_label(pair: tuple[int, int], vocab: dict[int, bytes]) -> str:
    return f"'{token_label(vocab[pair[0]])}' + '{token_label(vocab[pair[1]])}'"


def _add_token_boxes(figure: go.Figure, ids: list[int], vocab: dict[int, bytes], row: int) -> None:
    start = 0
    for position, token_id in enumerate(ids):
        width = len(vocab[token_id])
        figure.add_shape(type="rect", x0=start + 0.04, x1=start + width - 0.04, y0=row - 0.38, y1=row + 0.38,
                         fillcolor=CHIP_COLOURS[position % len(CHIP_COLOURS)], line=dict(color="#777", width=1))
        figure.add_annotation(x=start + width / 2, y=row, text=f"{token_label(vocab[token_id])}<br><sub>{token_id}</sub>",
                              showarrow=False, font=dict(size=16, family="monospace"))
        start += width
    # Shapes alone are not data, so one invisible marker per row makes plotly draw the axes.
    figure.add_trace(go.Scatter(x=[0], y=[row], mode="markers", marker=dict(opacity=0), hoverinfo="skip"))


def token_chips_figure(labels: Sequence[str], ids: Sequence[int], title: str = "Tokens") -> go.Figure:
    """Draw tokens as coloured chips with their ids, wrapped into rows; labels come from `token_label`."""
    if len(labels) != len(ids) or not labels:
        raise ValueError(f"pass one label per id and at least one token, got {len(labels)} labels and {len(ids)} ids")
    figure = go.Figure()
    x, row = 0, 0
    for position, (label, token_id) in enumerate(zip(labels, ids)):
        width = max(len(label), 2) + 1
        if x + width > CHIP_ROW_WIDTH and x > 0:
            x, row = 0, row + 1
        figure.add_shape(type="rect", x0=x + 0.1, x1=x + width - 0.1, y0=row - 0.4, y1=row + 0.4,
                         fillcolor=CHIP_COLOURS[position % len(CHIP_COLOURS)], line=dict(color="#777", width=1))
        figure.add_annotation(x=x + width / 2, y=row, text=f"{label}<br><sub>{token_id}</sub>", showarrow=False,
                              font=dict(size=18, family="monospace"))
        x += width
    figure.add_trace(go.Scatter(x=[0, CHIP_ROW_WIDTH], y=[0, row], mode="markers", marker=dict(opacity=0), hoverinfo="skip"))
    figure.update_xaxes(visible=False, range=[0, CHIP_ROW_WIDTH])
    figure.update_yaxes(visible=False, autorange="reversed", range=[row + 0.6, -0.6])
    figure.update_layout(plot_bgcolor="white", showlegend=False)
    return _layout(figure, title, height=160 + 70 * (row + 1), subtitle=f"{len(ids)} tokens; · is a space, ↵ a line break")


# ------------------------------------------------------------------------------------------
# lesson 3: embeddings


def pca_2d(weight: Tensor) -> tuple[Tensor, Tensor]:
    """Project the rows of weight (V, C) onto their first two principal components.

    Returns the coordinates (V, 2) and the fraction of variance each component explains (2,).

    Example:
        >>> points, explained = pca_2d(torch.tensor([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]]))
        >>> points[:, 0].abs().tolist(), explained.tolist()
        ([2.0, 0.0, 2.0], [1.0, 0.0])
    """
    weight = _check_matrix(weight, "weight")
    centered = weight - weight.mean(dim=0, keepdim=True)
    # The right singular vectors of the centred matrix are the principal directions.
    _, singular_values, right = torch.linalg.svd(centered, full_matrices=False)
    variance = singular_values**2
    explained = variance[:2] / variance.sum().clamp_min(1e-12)
    return centered @ right[:2].T, explained


def embedding_projection_figure(weight: Tensor, labels: Sequence[str], highlight: Sequence[int] = ()) -> go.Figure:
    """Scatter every token embedding (V, C) in 2-D by PCA; tokens in `highlight` get their label drawn."""
    weight = _check_matrix(weight, "weight")
    if len(labels) != weight.size(0):
        raise ValueError(f"pass one label per embedding row: got {len(labels)} labels for {weight.size(0)} rows")
    bad = [token_id for token_id in highlight if not 0 <= token_id < weight.size(0)]
    if bad:
        raise ValueError(f"highlight ids {bad} are outside 0..{weight.size(0) - 1}")
    points, explained = pca_2d(weight)

    figure = go.Figure(go.Scatter(
        x=points[:, 0].tolist(), y=points[:, 1].tolist(), mode="markers", name="all tokens",
        marker=dict(size=6, color="#9bb4d8", opacity=0.6), text=list(labels),
        hovertemplate="%{text}<extra></extra>",
    ))
    chosen = list(highlight)
    figure.add_trace(go.Scatter(
        x=points[chosen, 0].tolist(), y=points[chosen, 1].tolist(), mode="markers+text", name="highlighted",
        marker=dict(size=11, color="#d9534f"), text=[labels[i] for i in chosen], textposition="top center",
        textfont=dict(size=17), hovertemplate="%{text}<extra></extra>",
    ))
    figure.update_xaxes(title=f"first principal component ({100 * explained[0]:.1f}% of variance)")
    figure.update_yaxes(title=f"second principal component ({100 * explained[1]:.1f}% of variance)")
    figure.update_layout(legend=dict(orientation="h", y=-0.15))
    return _layout(figure, "Token embeddings, flattened to two dimensions", height=700,
                   subtitle=f"{weight.size(0)} tokens of width {weight.size(1)}; hover a point for its token")


def embedding_similarity_figure(weight: Tensor, labels: Sequence[str], ids: Sequence[int]) -> go.Figure:
    """Draw the cosine similarity between the embeddings of the tokens `ids` as a heatmap."""
    weight = _check_matrix(weight, "weight")
    if len(ids) < 2 or any(not 0 <= token_id < weight.size(0) for token_id in ids):
        raise ValueError(f"ids must name at least two rows of the (V={weight.size(0)}, C) weight, got {list(ids)}")
    vectors = torch.nn.functional.normalize(weight[list(ids)], dim=-1)
    similarity = vectors @ vectors.T  # (N, N), cosine of the angle between each pair
    names = [labels[token_id] for token_id in ids]

    figure = go.Figure(go.Heatmap(
        z=similarity.tolist(), x=list(range(len(ids))), y=list(range(len(ids))), zmin=-1, zmax=1,
        colorscale="RdBu", reversescale=True, colorbar=dict(title="cosine"),
        text=[[f"{value:.2f}" for value in row] for row in similarity.tolist()], texttemplate="%{text}",
        customdata=[[[a, b] for b in names] for a in names],
        hovertemplate="%{customdata[0]} · %{customdata[1]}: %{z:.3f}<extra></extra>",
    ))
    ticks = dict(tickmode="array", tickvals=list(range(len(ids))), ticktext=names, automargin=True)
    figure.update_xaxes(tickangle=-45, **ticks)
    figure.update_yaxes(autorange="reversed", **ticks)
    return _layout(figure, "How alike are these tokens' embeddings?", height=max(500, 160 + 45 * len(ids)),
                   subtitle="cosine similarity: 1 same direction, 0 unrelated, -1 opposite")


# ------------------------------------------------------------------------------------------
# lesson 4: attention


def causal_mask_figure(tokens: Sequence[str]) -> go.Figure:
    """Draw the causal mask for a line of tokens: which keys (columns) each query (row) may see."""
    T = len(tokens)
    if not 1 <= T <= 64:
        raise ValueError(f"pass 1 to 64 token labels, got {T}")
    mask = causal_mask(T).int()
    figure = go.Figure(go.Heatmap(
        z=mask.tolist(), x=list(range(T)), y=list(range(T)), zmin=0, zmax=1, showscale=False,
        colorscale=[[0, "#d0d0d0"], [1, "#4a78c2"]], xgap=2, ygap=2,
        text=[["sees" if allowed else "hidden" for allowed in row] for row in mask.tolist()],
        customdata=[[[tokens[i], tokens[j]] for j in range(T)] for i in range(T)],
        hovertemplate="%{customdata[0]} → %{customdata[1]}: %{text}<extra></extra>",
    ))
    ticks = dict(tickmode="array", tickvals=list(range(T)), ticktext=list(tokens), automargin=True, showgrid=False)
    figure.update_xaxes(title="key (may be looked at)", tickangle=-60, **ticks)
    figure.update_yaxes(title="query (looking)", autorange="reversed", **ticks)
    return _layout(figure, "The causal mask", height=max(480, 200 + 32 * T),
                   subtitle="blue: allowed (key at or before the query); grey: the future, hidden")


def softmax_temperature_figure(logits: Sequence[float], temperatures: Sequence[float] = (0.5, 1.0, 2.0),
                               labels: Sequence[str] | None = None) -> go.Figure:
    """Draw softmax(logits / temperature) as grouped bars, one group per temperature."""
    values = torch.tensor([float(v) for v in logits])
    if values.dim() != 1 or not 2 <= values.numel() <= 30 or not torch.isfinite(values).all():
        raise ValueError(f"logits must be 2 to 30 finite numbers, got {list(logits)}")
    if not temperatures or any(t <= 0 for t in temperatures):
        raise ValueError(f"temperatures must be numbers > 0, got {list(temperatures)}")
    names = list(labels) if labels is not None else [f"token {i}" for i in range(values.numel())]

    figure = go.Figure()
    for temperature in temperatures:
        probabilities = softmax(values / temperature)
        figure.add_trace(go.Bar(x=names, y=probabilities.tolist(), name=f"temperature {temperature:g}",
                                text=[f"{p:.2f}" for p in probabilities.tolist()], textposition="outside"))
    figure.update_yaxes(title="probability", range=[0, 1.1])
    figure.update_layout(barmode="group", legend=dict(orientation="h", y=-0.2))
    return _layout(figure, "Softmax at several temperatures", height=560,
                   subtitle=f"logits {[round(v, 2) for v in values.tolist()]} divided by the temperature")


# ------------------------------------------------------------------------------------------
# lesson 6: the transformer block


def gelu_curve_figure(low: float = -4.0, high: float = 4.0) -> go.Figure:
    """Draw exact GELU beside ReLU and the tanh approximation on [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"need finite low < high, got low={low!r}, high={high!r}")
    x = torch.linspace(low, high, 401)
    figure = go.Figure()
    for name, y, dash in (("GELU (exact, erf)", gelu(x), "solid"), ("ReLU", torch.relu(x), "dot"),
                          ("GELU (tanh approximation)", gelu_tanh(x), "dash")):
        figure.add_trace(go.Scatter(x=x.tolist(), y=y.tolist(), name=name, mode="lines", line=dict(width=3, dash=dash)))
    figure.update_xaxes(title="x", zeroline=True)
    figure.update_yaxes(title="activation", zeroline=True)
    figure.update_layout(legend=dict(orientation="h", y=-0.2))
    return _layout(figure, "GELU is a smooth ReLU", height=560, subtitle="x times the probability that a standard normal is below x")


def layernorm_effect_figure(x: Tensor) -> go.Figure:
    """Draw one token's vector (C,) before and after LayerNorm (weight 1, bias 0) as grouped bars."""
    if not isinstance(x, Tensor) or x.dim() != 1 or not 2 <= x.numel() <= 64:
        raise ValueError("x must be one token's vector: a 1-D tensor of 2 to 64 channels")
    x = x.detach().float()
    normalized = layer_norm(x, torch.ones_like(x), torch.zeros_like(x))
    channels = [f"c{i}" for i in range(x.numel())]

    figure = go.Figure()
    figure.add_trace(go.Bar(x=channels, y=x.tolist(), name=f"before: mean {x.mean():.2f}, std {x.std(unbiased=False):.2f}"))
    figure.add_trace(go.Bar(x=channels, y=normalized.tolist(),
                            name=f"after: mean {normalized.mean():.2f}, std {normalized.std(unbiased=False):.2f}"))
    figure.update_xaxes(title="channel")
    figure.update_yaxes(title="value", zeroline=True)
    figure.update_layout(barmode="group", legend=dict(orientation="h", y=-0.2))
    return _layout(figure, "LayerNorm recentres and rescales each token's vector", height=560)


# ------------------------------------------------------------------------------------------
# lesson 7: the GPT model


def parameter_breakdown(config: GPTConfig) -> dict[str, int]:
    """Count a GPT's parameters by component (tied head included in the token embedding).

    Example:
        >>> parameter_breakdown(GPTConfig(vocab_size=10, context_length=4, n_layer=1, n_head=1, d_model=2))["attention"]
        24
    """
    C, hidden, L = config.d_model, config.ffn_multiplier * config.d_model, config.n_layer
    return {
        "token embedding (and tied head)": config.vocab_size * C,
        "position embedding": config.context_length * C,
        "attention": L * ((C * 3 * C + 3 * C) + (C * C + C)),
        "feed-forward": L * ((C * hidden + hidden) + (hidden * C + C)),
        "LayerNorms": L * 2 * (2 * C) + 2 * C,
    }


def parameter_breakdown_figure(config: GPTConfig) -> go.Figure:
    """Draw where a GPT's parameters sit, component by component, as horizontal bars."""
    if not isinstance(config, GPTConfig):
        raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
    parts = parameter_breakdown(config)
    total = sum(parts.values())
    figure = go.Figure(go.Bar(
        x=list(parts.values()), y=list(parts), orientation="h", marker_color="#4a78c2",
        text=[f"{count:,} ({100 * count / total:.1f}%)" for count in parts.values()], textposition="outside",
    ))
    figure.update_xaxes(title="parameters", range=[0, 1.35 * max(parts.values())])
    figure.update_yaxes(autorange="reversed", automargin=True)
    return _layout(figure, f"{total:,} parameters", height=480,
                   subtitle=f"V={config.vocab_size}, context {config.context_length}, {config.n_layer} layers, C={config.d_model}")


# ------------------------------------------------------------------------------------------
# lesson 8: training


def lr_schedule_figure(max_lr: float = 1e-3, min_lr: float = 1e-4, warmup: float = 0.1, steps: int = 1000) -> go.Figure:
    """Draw the learning rate over a run: linear warm-up, then cosine decay to min_lr."""
    if not (0 <= min_lr <= max_lr) or max_lr <= 0:
        raise ValueError(f"need 0 <= min_lr <= max_lr and max_lr > 0, got min_lr={min_lr!r}, max_lr={max_lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer >= 2, got {steps!r}")
    rates = [learning_rate(step / (steps - 1), max_lr, min_lr, warmup) for step in range(steps)]
    figure = go.Figure(go.Scatter(x=list(range(steps)), y=rates, mode="lines", line=dict(width=3)))
    figure.add_vline(x=warmup * (steps - 1), line_dash="dot", annotation_text="end of warm-up")
    figure.update_xaxes(title="step")
    figure.update_yaxes(title="learning rate", exponentformat="e")
    return _layout(figure, "Warm-up, then cosine decay", height=500,
                   subtitle=f"max_lr {max_lr:g}, min_lr {min_lr:g}, warm-up {100 * warmup:g}% of {steps} steps")


def loss_curve_figure(history: Sequence[Mapping], vocab_size: int | None = None) -> go.Figure:
    """Draw training and validation loss per token against the step, from a training history.

    With `vocab_size`, a dotted line marks log(V), the loss of a uniform guess over V tokens.
    """
    points = [entry for entry in history if isinstance(entry, Mapping) and "step" in entry]
    if not points:
        raise ValueError("history has no entries with a 'step'; pass a poet's info['history'] after some training")
    figure = go.Figure()
    train = [entry for entry in points if "train_loss" in entry]
    validation = [entry for entry in points if "val_loss" in entry]
    figure.add_trace(go.Scatter(x=[e["step"] for e in train], y=[e["train_loss"] for e in train],
                                name="training loss", mode="lines", line=dict(width=2)))
    figure.add_trace(go.Scatter(x=[e["step"] for e in validation], y=[e["val_loss"] for e in validation],
                                name="validation loss", mode="lines+markers", marker=dict(size=10)))
    if vocab_size is not None:
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 2:
            raise ValueError(f"vocab_size must be an integer >= 2 or None, got {vocab_size!r}")
        figure.add_hline(y=math.log(vocab_size), line_dash="dot",
                         annotation_text=f"uniform guess: log {vocab_size} = {math.log(vocab_size):.2f}")
    figure.update_xaxes(title="step")
    figure.update_yaxes(title="cross-entropy (nats per token)")
    figure.update_layout(legend=dict(orientation="h", y=-0.2))
    return _layout(figure, "Loss during training", height=520, subtitle="lower is better; each point is one logged step")
