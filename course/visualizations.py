"""The visualizations that lessons name in their front matter, each a function returning a plotly figure.

`VISUALIZATIONS` maps an id (as written under `visualizations:` in a lesson) to a
`Visualization`: a title, a caption that suggests what to try, and `build`, a plain function whose
arguments all have defaults. `build()` draws the lesson's default example; a page may pass its
own inputs instead.

Visualizations marked `needs_poet` read the demo poet checkpoint. When it is missing, `build()`
raises FileNotFoundError with the command that creates it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go
import torch

from course import lesson_figures as figures
from course.figures import attention_grid as draw_attention_grid
from course.figures import attention_heatmap as draw_attention_heatmap
from course.figures import next_token_bars as draw_next_token_bars
from course.token_view import position_labels, token_label
from reference.config import PRESETS
from reference.poet import Poet

DEFAULT_LINE = "The sea, the sea, the silver sea"
UTF8_DEMO_TEXT = "Noël 🙂 ok"
# A short verse written for this course; the BPE figure trains its merges on it.
BPE_TRAINING_VERSE = (
    "the sea sings to the shore, the shore sings to the sea,\n"
    "and the seabird sees the sea and sings to the seashore.\n"
) * 4
BPE_DEMO_WORD = " seabirds"
BPE_DEMO_MERGES = 24
SOFTMAX_DEMO_LOGITS = (2.0, 1.0, 0.5, -1.0)
SIMILARITY_WORDS = (" sea", " sun", " moon", " night", " day", " love", " heart", " the", " and", ",")
PROJECTION_WORDS = (" sea", " sun", " moon", " star", " night", " day", " love", " heart", " the", " and",
                    " he", " she", " I", " you", ",", ".")


@dataclass(frozen=True)
class Visualization:
    """One embeddable figure: its title, what to try with it, and the function that draws it."""

    id: str
    title: str
    caption: str
    build: Callable[..., go.Figure]
    needs_poet: bool = False


@functools.cache
def load_demo_poet() -> Poet:
    """Load the shipped demo poet once. Callers only read it (eval mode), so sharing it is safe."""
    from reference.cli import DEMO_POET
    from reference.poet import load_poet

    if not DEMO_POET.is_file():
        raise FileNotFoundError(f"no demo poet at {DEMO_POET}; create it with `make demo-poet`")
    return load_poet(DEMO_POET)


def _vocabulary_labels(poet: Poet) -> list[str]:
    labels = []
    for token_id in range(poet.model.config.vocab_size):
        try:
            labels.append(token_label(poet.tokenizer.token_bytes(token_id)))
        except ValueError:
            labels.append(f"<unused id {token_id}>")
    return labels


def _single_token_ids(poet: Poet, words) -> list[int]:
    # Only words that the poet's tokenizer keeps as one token have one embedding row to show.
    ids = [poet.tokenizer.encode_ordinary(word) for word in words]
    return [encoded[0] for encoded in ids if len(encoded) == 1]


def _line_attention(poet: Poet, line: str) -> tuple[list[torch.Tensor], list[str]]:
    ids = poet.tokenizer.encode_ordinary(line)[-poet.model.config.context_length :]
    labels = position_labels([token_label(poet.tokenizer.token_bytes(token_id)) for token_id in ids])
    with torch.no_grad():
        _, attention = poet.model.forward_with_attention(torch.tensor([ids], dtype=torch.long))
    return attention, labels


# ------------------------------------------------------------------------------------------
# builders: every argument has a default, so build() draws the lesson's example


def text_bytes(text: str = UTF8_DEMO_TEXT) -> go.Figure:
    return figures.text_bytes_figure(text)


def bpe_steps(word: str = BPE_DEMO_WORD, training_text: str = BPE_TRAINING_VERSE, merges: int = BPE_DEMO_MERGES) -> go.Figure:
    from reference import functional as F

    return figures.bpe_steps_figure(word, F.bpe_train(training_text, 256 + merges))


def token_chips(text: str = DEFAULT_LINE, encoding: str = "cl100k_base") -> go.Figure:
    from reference.tiktoken_offline import load_reference_bpe

    tokenizer = load_reference_bpe(encoding)
    ids = tokenizer.encode_ordinary(figures._check_text(text))
    labels = [token_label(tokenizer.token_bytes(token_id)) for token_id in ids]
    return figures.token_chips_figure(labels, ids, title=f"{encoding} splits the line into tokens")


def embedding_projection(words=PROJECTION_WORDS) -> go.Figure:
    poet = load_demo_poet()
    weight = poet.model.embeddings.token.weight
    return figures.embedding_projection_figure(weight, _vocabulary_labels(poet), _single_token_ids(poet, words))


def embedding_similarity(words=SIMILARITY_WORDS) -> go.Figure:
    poet = load_demo_poet()
    weight = poet.model.embeddings.token.weight
    return figures.embedding_similarity_figure(weight, _vocabulary_labels(poet), _single_token_ids(poet, words))


def causal_mask(text: str = DEFAULT_LINE) -> go.Figure:
    # Whitespace-separated words stand in for tokens here: the mask depends only on positions.
    return figures.causal_mask_figure(position_labels(figures._check_text(text).split()))


def attention_heatmap(line: str = DEFAULT_LINE, layer: int = 1, head: int = 1) -> go.Figure:
    poet = load_demo_poet()
    attention, labels = _line_attention(poet, line)
    return draw_attention_heatmap(attention[layer - 1][0, head - 1], labels, title=f"Layer {layer}, head {head}")


def attention_grid(line: str = DEFAULT_LINE, layer: int = 1) -> go.Figure:
    poet = load_demo_poet()
    attention, labels = _line_attention(poet, line)
    return draw_attention_grid(attention[layer - 1][0], labels, title=f"All heads of layer {layer}")


def softmax_temperature(logits=SOFTMAX_DEMO_LOGITS, temperatures=(0.5, 1.0, 2.0)) -> go.Figure:
    return figures.softmax_temperature_figure(logits, temperatures)


def gelu_curve(low: float = -4.0, high: float = 4.0) -> go.Figure:
    return figures.gelu_curve_figure(low, high)


def layernorm_effect(seed: int = 0) -> go.Figure:
    generator = torch.Generator().manual_seed(seed)
    return figures.layernorm_effect_figure(3.0 + 2.0 * torch.randn(8, generator=generator))


def parameter_breakdown(preset: str = "poet") -> go.Figure:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    return figures.parameter_breakdown_figure(PRESETS[preset])


def lr_schedule(max_lr: float = 1e-3, min_lr: float = 1e-4, warmup: float = 0.1, steps: int = 1000) -> go.Figure:
    return figures.lr_schedule_figure(max_lr, min_lr, warmup, steps)


def loss_curve() -> go.Figure:
    poet = load_demo_poet()
    return figures.loss_curve_figure(poet.info.get("history", []), vocab_size=poet.model.config.vocab_size)


def next_token_bars(prompt: str = "The sea at night", temperature: float = 0.8, top_k: int | None = 40) -> go.Figure:
    from reference.sampling import next_token_probabilities

    poet = load_demo_poet()
    idx = poet.encode_prompt(prompt)[:, -poet.model.config.context_length :]  # (1, T)
    with torch.no_grad():
        logits = poet.model(idx)[:, -1, :]  # (1, V)
    probabilities = next_token_probabilities(logits, temperature, top_k)[0]
    return draw_next_token_bars(probabilities, poet.tokenizer)


VISUALIZATIONS: dict[str, Visualization] = {v.id: v for v in (
    Visualization("text_bytes", "Characters, code points and bytes", "Type a word with an accent, then an emoji: "
                  "watch the byte count grow while the character count stays put.", text_bytes),
    Visualization("bpe_steps", "Byte-pair merges, one at a time", "Change the word and see which merges apply. "
                  "A word that the training text never contained still encodes, just in more pieces.", bpe_steps),
    Visualization("token_chips", "A real tokenizer's split", "Compare ' sea' with 'sea' and 'Sea': a leading space "
                  "or a capital letter gives a different token.", token_chips),
    Visualization("embedding_projection", "The poet's token embeddings in 2-D", "Hover the points near ' sea' "
                  "and ' night'. Do neighbours share a meaning, a spelling, or a role in the sentence?",
                  embedding_projection, needs_poet=True),
    Visualization("embedding_similarity", "Cosine similarity between embeddings", "Find the most similar pair "
                  "that is not on the diagonal. Is it a pair of meanings or a pair of grammar words?",
                  embedding_similarity, needs_poet=True),
    Visualization("causal_mask", "The causal mask", "Count the blue cells in each row: row t has t + 1 of them.",
                  causal_mask),
    Visualization("attention_heatmap", "One head's attention", "Try each head of layer 1. Look for a head whose "
                  "weights sit just left of the diagonal: it looks at the previous token.",
                  attention_heatmap, needs_poet=True),
    Visualization("attention_grid", "Every head of a layer", "Compare the heads side by side: which ones spread "
                  "their weight, and which ones focus on one key?", attention_grid, needs_poet=True),
    Visualization("softmax_temperature", "Softmax and temperature", "Low temperature sharpens the bars toward the "
                  "largest logit; high temperature flattens them.", softmax_temperature),
    Visualization("gelu_curve", "GELU beside ReLU", "Look at x between -2 and 0, where GELU dips below zero "
                  "and ReLU is flat.", gelu_curve),
    Visualization("layernorm_effect", "LayerNorm on one vector", "Whatever the input's mean and spread, the output "
                  "has mean 0 and standard deviation 1.", layernorm_effect),
    Visualization("parameter_breakdown", "Where the parameters sit", "Switch between the poet and GPT-2 small: "
                  "the share of the embeddings changes a lot.", parameter_breakdown),
    Visualization("lr_schedule", "The learning-rate schedule", "Set warm-up to 0 and to 0.5 and compare the "
                  "start of the curve.", lr_schedule),
    Visualization("loss_curve", "The demo poet's loss", "The dotted line is log(V), the loss of a uniform "
                  "guess, where training starts. How far below it do the curves end?", loss_curve, needs_poet=True),
    Visualization("next_token_bars", "What the poet would write next", "Lower the temperature and watch the top "
                  "bar grow; set top-k to 3 and watch every other bar vanish.", next_token_bars, needs_poet=True),
)}


def build_visualization(visualization_id: str, **inputs) -> go.Figure:
    """Draw the named visualization, with its default inputs unless `inputs` override them."""
    if visualization_id not in VISUALIZATIONS:
        raise KeyError(f"no visualization {visualization_id!r}; known ids: {', '.join(sorted(VISUALIZATIONS))}")
    return VISUALIZATIONS[visualization_id].build(**inputs)
