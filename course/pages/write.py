"""Write a poem page: sampling settings, the poem the demo poet writes, and the next-token bars."""

from __future__ import annotations

import html
from dataclasses import dataclass

import streamlit as st
import torch

from course.figures import next_token_bars
from course.models import require_poet
from reference.poet import Poet
from reference.sampling import next_token_probabilities

DEFAULT_PROMPT = "The sea at night"
POEM_STYLE = (
    "font-family:Georgia,'Times New Roman',serif;font-size:1.35rem;line-height:1.6;"
    "white-space:pre-wrap;background:#fbf8f1;color:#222;padding:1.2rem 1.6rem;"
    "border-left:4px solid #c9b78f;border-radius:4px"
)

REPLACEMENT_CHARACTER = "\ufffd"
# Tokens are byte sequences, so a sampled token can end partway through a character.
REPLACEMENT_NOTE = (
    "\ufffd marks bytes that do not form a whole character: the poet sampled part of a multi-byte "
    "character (an accent or an emoji) without the rest. This happens more at high temperature "
    "or with top-k off, when unlikely tokens get picked."
)


@dataclass(frozen=True)
class SamplingSettings:
    """The slider values, converted to `Poet.write`'s arguments (0 and 1.0 mean "off")."""

    temperature: float
    top_k: int | None
    top_p: float | None
    max_new_tokens: int
    seed: int


def write_page() -> None:
    """Render the Write a poem page."""
    st.title("Write a poem")
    poet = require_poet()

    prompt = st.text_area("Prompt: the poem's opening words", value=DEFAULT_PROMPT, key="write.prompt", height=90)
    settings = sampling_controls(poet.tokenizer.vocab_size)
    if "write.poem" not in st.session_state:
        st.session_state["write.poem"] = None

    if st.button("Write", type="primary", key="write.button"):
        st.session_state["write.poem"] = poet.write(
            prompt, settings.max_new_tokens, settings.temperature, settings.top_k, settings.top_p, settings.seed
        )
    poem = st.session_state["write.poem"]
    if poem is not None:
        st.html(f'<div class="poem" style="{POEM_STYLE}">{html.escape(poem)}</div>')
        if REPLACEMENT_CHARACTER in poem:
            st.caption(REPLACEMENT_NOTE)

    st.subheader("What the poet would write next")
    st.caption("The next-token probabilities after the prompt, under the current settings.")
    st.plotly_chart(next_token_bars(prompt_probabilities(poet, prompt, settings), poet.tokenizer), theme=None)


def sampling_controls(vocab_size: int) -> SamplingSettings:
    """Draw the sampling sliders and return their values as settings."""
    left, middle, right = st.columns(3)
    temperature = left.slider("Temperature (0 = greedy)", 0.0, 2.0, 0.8, 0.05, key="write.temperature")
    top_k = middle.slider("Top-k (0 = off)", 0, vocab_size, 40, key="write.top_k")
    top_p = right.slider("Top-p (1.0 = off)", 0.05, 1.0, 1.0, 0.05, key="write.top_p")
    left, middle, _ = st.columns(3)
    max_new_tokens = left.slider("New tokens", 10, 400, 120, 10, key="write.tokens")
    seed = middle.number_input("Seed", 0, 2**31 - 1, 0, key="write.seed")
    return SamplingSettings(temperature, top_k or None, top_p if top_p < 1.0 else None, max_new_tokens, int(seed))


def prompt_probabilities(poet: Poet, prompt: str, settings: SamplingSettings) -> torch.Tensor:
    """Return the probabilities (V,) that sampling uses for the token after the prompt."""
    idx = poet.encode_prompt(prompt)[:, -poet.model.config.context_length :]  # (1, T)
    with torch.no_grad():
        logits = poet.model(idx)[:, -1, :]  # (1, V)
    return next_token_probabilities(logits, settings.temperature, settings.top_k, settings.top_p)[0]


if __name__ == "__main__":
    write_page()
