"""Attention page: the demo poet reads a line, and each head's attention weights are drawn.

The student chooses a query token with the slider or by clicking a cell of the heatmap. Its
row is outlined, and a second figure shows where that token looks in every head of every layer.
"""

from __future__ import annotations

import streamlit as st
import torch
from torch import Tensor

from course.figures import add_query_picker, attention_grid, attention_heatmap, highlight_query, query_attention_by_head
from course.models import require_poet
from course.pages.query_choice import QueryChoice
from course.token_view import position_labels, token_label
from reference.poet import Poet

DEFAULT_LINE = "The sea, the sea, the silver sea"
# Above this many tokens the grid's panels get too small to read on a projector.
GRID_MAX_TOKENS = 64
QUERY = QueryChoice(token_key="attention.token", chart_key="attention.heatmap")


def attention_page() -> None:
    """Render the Attention page."""
    st.title("Attention")
    st.write(
        "Each row is a token reading the line so far (the query); each column is a token it may "
        "look at (the key). A row's weights sum to 1. The causal mask hides the future, so the "
        "upper triangle stays grey."
    )

    text = st.text_input("A line of verse", value=DEFAULT_LINE, key="attention.text", on_change=QUERY.forget)
    if not text.strip():
        st.info("Type a line of verse above to see where the poet looks.")
        st.stop()
    poet = require_poet()

    ids = crop_to_context(poet.tokenizer.encode_ordinary(text), poet.model.config.context_length)
    labels = position_labels([token_label(poet.tokenizer.token_bytes(token_id)) for token_id in ids])
    attention = run_with_attention(poet, ids)

    layer_column, head_column = st.columns(2)
    layer = layer_column.selectbox("Layer", range(1, poet.model.config.n_layer + 1), key="attention.layer")
    head = head_column.selectbox("Head", range(1, poet.model.config.n_head + 1), key="attention.head")
    weights = attention[layer - 1][0]  # (H, T, T)

    query = QUERY.slider("Query token (or click a cell of the heatmap)", labels)
    heatmap = attention_heatmap(weights[head - 1], labels, title=f"Layer {layer}, head {head}")
    highlight_query(heatmap, query, len(ids))
    add_query_picker(heatmap)
    st.plotly_chart(heatmap, theme=None, key=QUERY.chart_key, on_select=QUERY.choose_clicked, selection_mode="points")
    st.plotly_chart(query_attention_by_head([layer_weights[0] for layer_weights in attention], query, labels),
                    theme=None, key="attention.every_head")

    if len(ids) > GRID_MAX_TOKENS:
        st.info(
            f"The grid below shows the last {GRID_MAX_TOKENS} of {len(ids)} tokens, so that it stays "
            f"readable; weights on earlier keys are left out of its rows."
        )
        weights, labels = weights[:, -GRID_MAX_TOKENS:, -GRID_MAX_TOKENS:], labels[-GRID_MAX_TOKENS:]
    st.plotly_chart(attention_grid(weights, labels, title=f"All heads of layer {layer}"), theme=None)


def crop_to_context(ids: list[int], context_length: int) -> list[int]:
    """Keep the last `context_length` ids, and show a message on the page when that drops any."""
    if len(ids) <= context_length:
        return ids
    st.warning(
        f"The line is {len(ids)} tokens long, but the poet reads at most {context_length} at once; "
        f"showing the last {context_length} tokens."
    )
    return ids[-context_length:]


def run_with_attention(poet: Poet, ids: list[int]) -> list[Tensor]:
    """Return each layer's attention weights (1, H, T, T) for one sequence of ids."""
    idx = torch.tensor([ids], dtype=torch.long)  # (1, T)
    with torch.no_grad():
        _, attention = poet.model.forward_with_attention(idx)
    return attention


if __name__ == "__main__":
    attention_page()
