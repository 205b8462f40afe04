"""Lecture mode: a projector view of the demo poet's attention and its tokens, in large type.

The lecturer types a line of verse and picks a token with the slider or by clicking a cell.
Every head of the chosen layer then outlines that token's row. Model outputs are cached per line, so picking another token or layer only
redraws the figure.
"""

from __future__ import annotations

import streamlit as st
import torch

from course.figures import add_query_picker, attention_grid, highlight_query, query_attention_by_head
from course.models import encoding_status, load_cached_encoding, require_poet
from course.pages.query_choice import QueryChoice
from course.token_view import chips_html, position_labels, token_label, token_pieces
from reference.poet import Poet

DEFAULT_LINE = "Shall I compare thee to a summer's day?"
MAX_TOKENS = 48
QUERY = QueryChoice(token_key="lecture.token", chart_key="lecture.grid")
# Two panels per row keep a 48-token line's labels apart on a projector; four would halve their width.
GRID_COLUMNS = 2
# A large production vocabulary beside the poet's 1024 tokens shows how vocabulary size changes the split.
COMPARISON_ENCODING = "cl100k_base"  # more panels' rows than this stop being legible from the back of a room
# High contrast and large type for a projector, scoped to the main area so the sidebar stays usable.
PROJECTOR_CSS = """
<style>
[data-testid="stMain"], [data-testid="stHeader"], [data-testid="stAppHeader"] { background: #000 !important; color: #fff; }
[data-testid="stMain"] h1 { font-size: 3.2rem; color: #fff; }
[data-testid="stMain"] p, [data-testid="stMain"] label, [data-testid="stMain"] input { font-size: 1.7rem !important; }
[data-testid="stMain"] label, [data-testid="stMain"] label p, [data-testid="stMain"] [data-testid="stWidgetLabel"] p,
[data-testid="stMain"] [data-testid="stSliderThumbValue"] { color: #fff !important; }
[data-testid="stMain"] [data-testid="stSliderThumbValue"] { font-size: 1.7rem; }
[data-testid="stMain"] [data-testid="stSlider"] [data-testid="stWidgetLabel"] { margin-bottom: 2.2rem; }
[data-testid="stMain"] input { background: #111 !important; color: #fff !important; }
</style>
"""


@st.cache_data(show_spinner=False, max_entries=256)
def line_attention(_poet: Poet, text: str, poet_key: str) -> tuple[list[int], list[torch.Tensor]]:
    """Run the poet once per line and poet, and return the ids and each layer's weights (H, T, T)."""
    poet = _poet
    ids = poet.tokenizer.encode_ordinary(text)[-MAX_TOKENS:]
    with torch.no_grad():
        _, attention = poet.model.forward_with_attention(torch.tensor([ids]))
    return ids, [layer[0] for layer in attention]


def show_chips(title: str, pieces) -> None:
    """Draw one tokenizer's chips in projector size, under a caption with the token count."""
    st.markdown(f"**{title}:** {len(pieces)} tokens")
    st.html(chips_html(pieces).replace("font-size:1.15rem", "font-size:2rem"))


def lecture_page() -> None:
    """Render Lecture mode."""
    st.html(PROJECTOR_CSS)
    st.title("Where does the poet look?")
    text = st.text_input("A line of verse", value=DEFAULT_LINE, key="lecture.text", on_change=QUERY.forget)
    if not text.strip():
        st.info("Type a line of verse to begin.")
        st.stop()
    poet = require_poet()
    if len(poet.tokenizer.encode_ordinary(text)) > MAX_TOKENS:
        st.warning(f"Showing the last {MAX_TOKENS} tokens, so that every row stays readable on a projector.")
    ids, attention = line_attention(poet, text, f"{poet.model.config}{poet.info.get('step')}")
    labels = position_labels([token_label(poet.tokenizer.token_bytes(token_id)) for token_id in ids])
    show_chips("The poet's tokens", token_pieces(ids, poet.tokenizer.token_bytes, set()))
    if encoding_status().get(COMPARISON_ENCODING) == "available":
        encoding = load_cached_encoding(COMPARISON_ENCODING)
        pieces = token_pieces(encoding.encode_ordinary(text), encoding.decode_single_token_bytes, set())
        show_chips(f"tiktoken {COMPARISON_ENCODING} (GPT-4's tokenizer)", pieces)

    left, right = st.columns([1, 3])
    layer = left.radio("Layer", range(1, len(attention) + 1), horizontal=True, key="lecture.layer")
    query = QUERY.slider("Token (or click a cell)", labels, container=right)
    figure = attention_grid(attention[layer - 1], labels, title=f"Layer {layer}: every head, row of {labels[query]}",
                            columns=GRID_COLUMNS)
    highlight_query(figure, query, len(ids))
    add_query_picker(figure)
    figure.update_layout(font=dict(size=22), paper_bgcolor="#fff")
    figure.update_xaxes(tickfont=dict(size=18))
    figure.update_yaxes(tickfont=dict(size=18))
    st.plotly_chart(figure, theme=None, key=QUERY.chart_key, on_select=QUERY.choose_clicked, selection_mode="points")

    every_head = query_attention_by_head(attention, query, labels)
    every_head.update_layout(font=dict(size=22))
    st.plotly_chart(every_head, theme=None, key="lecture.every_head")


if __name__ == "__main__":
    lecture_page()
