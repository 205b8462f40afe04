"""Tests for the app's figures and token chips, on a tiny seeded GPT and real tokenizers."""

import math

import plotly.graph_objects as go
import pytest
import torch

from course.figures import (
    add_query_picker,
    attention_grid,
    attention_heatmap,
    highlight_query,
    next_token_bars,
    picked_query,
    query_attention_by_head,
)
from course.token_view import (
    TokenPiece,
    chips_html,
    position_labels,
    show_invisible,
    token_label,
    token_pieces,
)
from reference.bpe import BPETokenizer
from reference.config import preset
from reference.model import GPT
from reference.tiktoken_offline import load_encoding

# Ids with repeats (5 occurs three times), so duplicate labels are exercised.
IDS = [5, 9, 5, 7, 5, 3]
TOKENS = ["a", "b", "a", "c", "a", "d"]


@pytest.fixture(scope="module")
def tiny_attention():
    """Attention weights of a seeded tiny GPT: a list of n_layer tensors (1, H, T, T)."""
    torch.manual_seed(0)
    model = GPT(preset("tiny")).eval()
    with torch.no_grad():
        logits, attention = model.forward_with_attention(torch.tensor([IDS]))
    return model, logits, attention


@pytest.fixture(scope="module")
def byte_tokenizer():
    """A BPE tokenizer with no merges: every byte is its own token, so emoji split into bytes."""
    return BPETokenizer({})


def heatmap_z(figure) -> list[list[float]]:
    return [list(row) for row in figure.data[0].z]


# ---------------------------------------------------------------------------------------------
# attention heatmap


def test_heatmap_has_one_cell_per_query_key_pair(tiny_attention):
    _, _, attention = tiny_attention
    T = len(IDS)
    figure = attention_heatmap(attention[0][0, 0], TOKENS)
    z = heatmap_z(figure)
    assert len(z) == T
    assert all(len(row) == T for row in z)


def test_heatmap_masks_future_as_nan(tiny_attention):
    _, _, attention = tiny_attention
    weights = attention[1][0, 1]  # (T, T)
    z = heatmap_z(attention_heatmap(weights, TOKENS))
    T = len(IDS)
    for i in range(T):
        for j in range(T):
            if j > i:
                assert math.isnan(z[i][j]), f"cell ({i}, {j}) above the diagonal should be NaN"
                # The model itself gives those keys zero weight: the NaN stands for the mask.
                assert weights[i, j].item() == 0.0
            else:
                assert z[i][j] == pytest.approx(weights[i, j].item())


def test_heatmap_visible_rows_sum_to_one(tiny_attention):
    _, _, attention = tiny_attention
    z = heatmap_z(attention_heatmap(attention[0][0, 1], TOKENS))
    for i, row in enumerate(z):
        assert sum(value for value in row if not math.isnan(value)) == pytest.approx(1.0, abs=1e-5), i


def test_heatmap_duplicate_tokens_get_distinct_ticks(tiny_attention):
    _, _, attention = tiny_attention
    figure = attention_heatmap(attention[0][0, 0], TOKENS)
    for axis in (figure.layout.xaxis, figure.layout.yaxis):
        assert list(axis.tickvals) == list(range(len(TOKENS)))
        assert list(axis.ticktext) == TOKENS
    assert list(figure.data[0].x) == list(range(len(TOKENS)))


def test_heatmap_hover_names_query_and_key(tiny_attention):
    _, _, attention = tiny_attention
    tokens = ["q0", "q1", "q2", "q3", "q4", "q5"]
    trace = attention_heatmap(attention[0][0, 0], tokens).data[0]
    assert "->" in trace.hovertemplate
    assert list(trace.customdata[4][2]) == ["q4", "q2"]


def test_heatmap_rejects_batch(tiny_attention):
    _, _, attention = tiny_attention
    batch = attention[0].expand(2, -1, -1, -1)  # (2, H, T, T)
    with pytest.raises(ValueError, match=r"\(T, T\)"):
        attention_heatmap(batch, TOKENS)
    with pytest.raises(ValueError, match="square"):
        attention_heatmap(attention[0][0], TOKENS)  # (H, T, T)


def test_heatmap_rejects_wrong_token_count(tiny_attention):
    _, _, attention = tiny_attention
    with pytest.raises(ValueError, match="one label per position"):
        attention_heatmap(attention[0][0, 0], TOKENS[:-1])


def test_heatmap_rejects_non_tensor():
    with pytest.raises(TypeError, match="torch.Tensor"):
        attention_heatmap([[1.0]], ["a"])


# ---------------------------------------------------------------------------------------------
# grid of heads


def test_grid_has_one_panel_per_head(tiny_attention):
    model, _, attention = tiny_attention
    H = model.config.n_head
    figure = attention_grid(attention[0][0], TOKENS)
    assert len(figure.data) == H
    assert [annotation.text for annotation in figure.layout.annotations] == [f"head {h + 1}" for h in range(H)]
    # Each head sits on its own pair of axes, so no two panels overlap.
    assert len({(trace.xaxis, trace.yaxis) for trace in figure.data}) == H
    for h, trace in enumerate(figure.data):
        expected = attention[0][0, h]
        assert trace.z[-1][0] == pytest.approx(expected[-1, 0].item())
        assert math.isnan(trace.z[0][-1])


def test_grid_columns_set_panels_per_row(tiny_attention):
    _, _, attention = tiny_attention
    weights = torch.cat([attention[0][0], attention[1][0]])  # (4, T, T): four heads to lay out
    H = weights.size(0)
    two = attention_grid(weights, TOKENS, columns=2)
    assert len({trace.yaxis for trace in two.data}) == H
    # Two columns: head 3 starts the second row, below head 1, on a y domain lower down.
    domains = [two.layout[f"yaxis{'' if h == 0 else h + 1}"].domain for h in range(H)]
    assert domains[0] == domains[1]
    assert domains[2] == domains[3]
    assert domains[2][1] < domains[0][0]
    assert two.layout.height > attention_grid(weights, TOKENS).layout.height


@pytest.mark.parametrize("columns", [0, -1, 1.5, True])
def test_grid_rejects_bad_columns(tiny_attention, columns):
    _, _, attention = tiny_attention
    with pytest.raises(ValueError, match=f"columns must be an integer >= 1, got {columns!r}"):
        attention_grid(attention[0][0], TOKENS, columns=columns)


def test_grid_rejects_batch(tiny_attention):
    _, _, attention = tiny_attention
    with pytest.raises(ValueError, match=r"\(H, T, T\)"):
        attention_grid(attention[0].expand(2, -1, -1, -1), TOKENS)


# ---------------------------------------------------------------------------------------------
# next-token bars


def test_bars_show_most_likely_tokens_in_order(tiny_attention, byte_tokenizer):
    _, logits, _ = tiny_attention
    probs = torch.softmax(logits[0, -1], dim=-1)  # (V,)
    figure = next_token_bars(probs, byte_tokenizer, top=20)
    bar = figure.data[0]

    # Independent ranking: Python's sorted over the plain list of probabilities.
    ranked = sorted(enumerate(probs.tolist()), key=lambda item: item[1], reverse=True)[:20]
    assert list(bar.x) == pytest.approx([probability for _, probability in ranked])
    expected_labels = [token_label(bytes([token_id])) for token_id, _ in ranked]
    assert list(figure.layout.yaxis.ticktext) == expected_labels
    assert list(figure.layout.yaxis.tickvals) == list(range(20))


def test_bars_reject_batched_probabilities(byte_tokenizer):
    with pytest.raises(ValueError, match=r"\(V,\)"):
        next_token_bars(torch.full((2, 256), 1 / 256), byte_tokenizer)


def test_bars_reject_nonpositive_top(byte_tokenizer):
    with pytest.raises(ValueError, match="top must be an integer >= 1, got 0"):
        next_token_bars(torch.full((256,), 1 / 256), byte_tokenizer, top=0)


def test_bars_label_ids_beyond_tokenizer(byte_tokenizer):
    probs = torch.zeros(300)
    probs[280] = 1.0  # the model's vocabulary (300) is larger than the tokenizer's (256)
    figure = next_token_bars(probs, byte_tokenizer, top=1)
    assert list(figure.layout.yaxis.ticktext) == ["<unused id 280>"]


# ---------------------------------------------------------------------------------------------
# token chips


def test_docstring_examples():
    assert show_invisible(" a\tb\n") == "·a→b↵"
    assert show_invisible("\ufe0f\u00a0") == "[U+FE0F][U+00A0]"
    assert token_label(b" the") == "·the"
    assert token_label(b"\xf0\x9f") == "<f0 9f>"
    assert token_label(b"\x98\x80 ok") == "<98 80>·ok"
    assert position_labels(["·the", "·cat", "·the"]) == ["·the#0", "·cat", "·the#2"]
    assert token_pieces([1, 2], {1: b"Hi", 2: b"<|endoftext|>"}.__getitem__, {2}) == [
        TokenPiece(1, "Hi"),
        TokenPiece(2, "<|endoftext|>", special=True),
    ]
    assert "&lt;b&gt;" in chips_html([TokenPiece(7, "<b>")])


def test_chips_escape_script_tags():
    encoding = load_encoding("cl100k_base")
    text = "<script>alert(1)</script>"
    ids = encoding.encode_ordinary(text)
    html = chips_html(token_pieces(ids, encoding.decode_single_token_bytes, set()))
    assert "<script" not in html
    assert "</script" not in html
    assert "&lt;script" in html
    assert html.count('class="chip"') == len(ids)


def test_chips_show_visible_whitespace():
    encoding = load_encoding("cl100k_base")
    text = "a b\n\tc"
    pieces = token_pieces(encoding.encode_ordinary(text), encoding.decode_single_token_bytes, set())
    joined = "".join(piece.label for piece in pieces)
    assert joined == "a·b↵→c"
    html = chips_html(pieces)
    for mark in "·↵→":
        assert mark in html


def test_chips_never_empty_for_invisible_characters():
    encoding = load_encoding("cl100k_base")
    text = "sun \u2600\ufe0f, zero\u200bwidth"
    pieces = token_pieces(encoding.encode_ordinary(text), encoding.decode_single_token_bytes, set())
    assert all(piece.label for piece in pieces)
    joined = "".join(piece.label for piece in pieces)
    assert "[U+FE0F]" in joined
    assert "[U+200B]" in joined


def test_chips_show_hex_for_split_emoji(byte_tokenizer):
    emoji = "🌞"
    ids = byte_tokenizer.encode_ordinary(emoji)
    pieces = token_pieces(ids, byte_tokenizer.token_bytes, set())
    expected = [f"<{byte:02x}>" for byte in emoji.encode("utf-8")]
    assert [piece.label for piece in pieces] == expected
    assert "&lt;f0&gt;" in chips_html(pieces)


def test_chips_show_hex_for_emoji_split_by_tiktoken():
    encoding = load_encoding("cl100k_base")
    emoji = "🌞"
    ids = encoding.encode_ordinary(emoji)
    if len(ids) < 2:
        pytest.skip(f"cl100k_base encodes {emoji!r} as one token, so there is no split to show")
    pieces = token_pieces(ids, encoding.decode_single_token_bytes, set())
    # The hex bytes of all chips, read back, give the emoji's UTF-8 bytes.
    hex_bytes = "".join(piece.label.strip("<>") + " " for piece in pieces).split()
    assert bytes.fromhex("".join(hex_bytes)) == emoji.encode("utf-8")


def test_chips_mark_special_tokens():
    encoding = load_encoding("cl100k_base")
    text = "end<|endoftext|>"
    ids = encoding.encode(text, allowed_special="all")
    special_ids = {encoding.encode_single_token(token) for token in encoding.special_tokens_set}
    pieces = token_pieces(ids, encoding.decode_single_token_bytes, special_ids)
    assert [piece.special for piece in pieces] == [False, True]
    assert pieces[1].label == "<|endoftext|>"
    html = chips_html(pieces)
    assert html.count('class="chip special"') == 1
    assert "&lt;|endoftext|&gt;" in html


def test_chips_neighbours_differ_in_colour():
    pieces = [TokenPiece(i, str(i)) for i in range(20)]
    html = chips_html(pieces)
    colours = [part.split(";")[0] for part in html.split('style="background:')[1:]]
    assert len(colours) == 20
    assert all(left != right for left, right in zip(colours, colours[1:]))


def test_highlight_query_outlines_row_in_every_head(tiny_attention):
    model, _, attention = tiny_attention
    H = model.config.n_head
    figure = highlight_query(attention_grid(attention[0][0], TOKENS), 2, len(TOKENS))
    shapes = figure.layout.shapes
    assert len(shapes) == H
    assert {(shape.y0, shape.y1) for shape in shapes} == {(1.5, 2.5)}
    # Each outline sits on its own head's axes, the same axes as that head's heatmap.
    assert [shape.yref for shape in shapes] == [trace.yaxis for trace in figure.data]


def test_highlight_query_rejects_position_past_end(tiny_attention):
    _, _, attention = tiny_attention
    with pytest.raises(ValueError, match="query must be a position from 0 to"):
        highlight_query(attention_grid(attention[0][0], TOKENS), len(TOKENS), len(TOKENS))


def test_highlight_query_docstring_example():
    assert len(highlight_query(go.Figure(go.Heatmap(z=[[1.0]])), 0, 1).layout.shapes) == 1


def test_picker_covers_visible_cells_of_each_head(tiny_attention):
    model, _, attention = tiny_attention
    weights = attention[0][0]  # (H, T, T)
    T = len(TOKENS)
    figure = add_query_picker(attention_grid(weights, TOKENS))
    heatmaps = [trace for trace in figure.data if isinstance(trace, go.Heatmap)]
    pickers = [trace for trace in figure.data if isinstance(trace, go.Scatter)]
    assert len(pickers) == len(heatmaps) == model.config.n_head

    for head, (heatmap, picker) in enumerate(zip(heatmaps, pickers)):
        assert (picker.xaxis, picker.yaxis) == (heatmap.xaxis, heatmap.yaxis)
        cells = sorted(zip(picker.y.tolist(), picker.x.tolist()))
        assert cells == [(query, key) for query in range(T) for key in range(query + 1)]
        # The hover text moves to the picker: token names and the weight of each cell.
        assert heatmap.hoverinfo == "skip"
        for (query, key), names, text in zip(zip(picker.y, picker.x), picker.customdata, picker.text):
            assert list(names) == [TOKENS[query], TOKENS[key]]
            assert float(text) == pytest.approx(weights[head, query, key].item(), abs=5e-4)


def test_picker_keeps_axes_on_the_cells(tiny_attention):
    _, _, attention = tiny_attention
    T = len(TOKENS)
    figure = add_query_picker(attention_grid(attention[0][0], TOKENS))
    for trace in figure.data:
        x_axis = figure.layout["xaxis" + trace.xaxis[1:]]
        y_axis = figure.layout["yaxis" + trace.yaxis[1:]]
        assert list(x_axis.range) == [-0.5, T - 0.5]
        assert list(y_axis.range) == [T - 0.5, -0.5]  # the first query stays on top


def test_picker_markers_stay_invisible_when_selected(tiny_attention):
    _, _, attention = tiny_attention
    picker = add_query_picker(attention_heatmap(attention[0][0, 0], TOKENS)).data[1]
    assert picker.marker.opacity == 0.0
    assert picker.selected.marker.opacity == 0.0
    assert picker.unselected.marker.opacity == 0.0


def test_picked_query_reads_selection():
    assert picked_query({"selection": {"points": [{"x": 1, "y": 3}]}}) == 3
    assert picked_query({"selection": {"points": [{"x": 0, "y": 2.0}, {"x": 1, "y": 4}]}}) == 2
    assert picked_query({"selection": {"points": []}}) is None
    assert picked_query({"selection": {"points": [{"curve_number": 0}]}}) is None
    assert picked_query(None) is None
    assert picked_query({}) is None


def test_query_rows_match_each_head(tiny_attention):
    model, _, attention = tiny_attention
    layers = [layer[0] for layer in attention]  # n_layer x (H, T, T)
    figure = query_attention_by_head(layers, 3, TOKENS)
    z = figure.data[0].z
    assert len(z) == model.config.n_layer * model.config.n_head
    assert list(figure.data[0].y)[:2] == ["L1 H1", "L1 H2"]
    for row, (layer, head) in enumerate((l, h) for l in range(model.config.n_layer) for h in range(model.config.n_head)):
        assert list(z[row][:4]) == pytest.approx(layers[layer][head, 3, :4].tolist())
        assert all(math.isnan(value) for value in z[row][4:])


def test_query_rows_reject_position_past_end(tiny_attention):
    _, _, attention = tiny_attention
    with pytest.raises(ValueError, match="query must be a position from 0 to 5, got 6"):
        query_attention_by_head([layer[0] for layer in attention], 6, TOKENS)


def test_long_input_labels_every_kth_token():
    T = 100
    weights = torch.tril(torch.full((T, T), 1.0 / T))
    tokens = [f"t{i}" for i in range(T)]
    figure = attention_heatmap(weights, tokens)
    tick_positions = list(figure.layout.yaxis.tickvals)
    assert len(tick_positions) <= 40
    assert tick_positions[:3] == [0, 3, 6]
    assert list(figure.layout.yaxis.ticktext)[:3] == ["t0", "t3", "t6"]
