"""The numbers in the lessons' worked examples, each computed by running the reference.

A lesson writes `{{ value:name }}` where a number belongs, and `course.lessons.render_body`
fills it in from `VALUES[name]()`. Every value is a small function of fixed inputs, so it is
deterministic and cheap. `compute_value` caches results, which is safe because no value
depends on who is reading.

Deliberately left out: values from the demo poet's checkpoint. The checkpoint is retrained from
time to time and may be missing, so its numbers belong in the live visualizations, not the text.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch

from reference import functional as F
from reference import text
from reference.attention import causal_mask, scaled_dot_product_attention, softmax
from reference.batching import next_token_pair
from reference.bpe import GPT2_SPLIT_PATTERN, get_pair_counts, merge, pretokenize
from reference.config import PRESETS
from reference.gelu import gelu, gelu_tanh
from reference.layernorm import layer_norm
from reference.loss import cross_entropy
from reference.multihead import split_heads
from reference.sampling import next_token_probabilities
from reference.schedule import learning_rate

# Inputs of the worked examples, named so that lessons and tests quote the same ones.
UTF8_EXAMPLE = "hé🙂"
CHAR_VOCAB_TEXT = "hello"
BPE_WORD = "banana"
BPE_TEXT = "banana bandana"
BPE_MERGES = 4
BPE_ENCODE_TEXT = "bandanas"
PRETOKENIZE_TEXT = "The moon's light, 2 owls!"
SOFTMAX_LOGITS = (1.0, 2.0, 3.0)
SOFTMAX_LARGE_LOGITS = (1000.0, 1001.0)
SAMPLING_LOGITS = (2.0, 1.0, 0.5, -1.0)
SCHEDULE = dict(max_lr=1e-3, min_lr=1e-4, warmup=0.1)

# Three query/key/value vectors of width D = 2 for the attention example.
ATTENTION_Q = ((1.0, 0.0), (0.0, 1.0), (1.0, 1.0))
ATTENTION_K = ((1.0, 0.0), (0.0, 2.0), (1.0, 1.0))
ATTENTION_V = ((1.0, 0.0), (0.0, 1.0), (0.5, 0.5))


def format_numbers(values, decimals: int = 4) -> str:
    """Format a tensor or nested list of numbers as a bracketed list with fixed decimals.

    Example:
        >>> format_numbers(torch.tensor([[0.5, 1.0], [0.25, 0.0]]), decimals=2)
        '[[0.50, 1.00], [0.25, 0.00]]'
    """
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    if isinstance(values, (list, tuple)):
        return "[" + ", ".join(format_numbers(value, decimals) for value in values) + "]"
    return f"{values:.{decimals}f}"


# lesson 1 ---------------------------------------------------------------------------------


def utf8_example_code_points() -> str:
    return str([ord(character) for character in UTF8_EXAMPLE])


def utf8_example_bytes() -> str:
    return str(text.utf8_bytes(UTF8_EXAMPLE))


def utf8_example_byte_count() -> int:
    return len(text.utf8_bytes(UTF8_EXAMPLE))


def char_vocab_example() -> str:
    return str(text.build_char_vocab(CHAR_VOCAB_TEXT))


def char_encode_example() -> str:
    return str(text.char_encode("hole", text.build_char_vocab(CHAR_VOCAB_TEXT)))


def strawberry_cl100k_ids() -> str:
    from reference.tiktoken_offline import load_reference_bpe

    return str(load_reference_bpe("cl100k_base").encode_ordinary(" strawberry"))


# lesson 2 ---------------------------------------------------------------------------------


def banana_bytes() -> str:
    return str(list(BPE_WORD.encode("utf-8")))


def banana_pair_counts() -> str:
    return str(get_pair_counts(list(BPE_WORD.encode("utf-8"))))


def banana_after_first_merge() -> str:
    return str(merge(list(BPE_WORD.encode("utf-8")), (97, 110), 256))


def bpe_example_merges() -> str:
    return str(F.bpe_train(BPE_TEXT, 256 + BPE_MERGES))


def bpe_example_encoding() -> str:
    return str(F.bpe_encode(BPE_ENCODE_TEXT, F.bpe_train(BPE_TEXT, 256 + BPE_MERGES)))


def bpe_example_token_count() -> int:
    return len(F.bpe_encode(BPE_ENCODE_TEXT, F.bpe_train(BPE_TEXT, 256 + BPE_MERGES)))


def pretokenize_example() -> str:
    return str(pretokenize(PRETOKENIZE_TEXT, GPT2_SPLIT_PATTERN))


def cl100k_endoftext_id() -> int:
    from reference.tiktoken_offline import load_reference_bpe

    return load_reference_bpe("cl100k_base").special_tokens["<|endoftext|>"]


# lesson 3 ---------------------------------------------------------------------------------


def _embedding_example() -> torch.Tensor:
    token_weight = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])  # V = 3, C = 2
    position_weight = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5]])  # context length 3
    return F.embed(torch.tensor([[2, 0, 2]]), token_weight, position_weight)[0]  # (T, C)


def embedding_example_output() -> str:
    return format_numbers(_embedding_example(), decimals=1)


def poet_token_embedding_parameters() -> int:
    config = PRESETS["poet"]
    return config.vocab_size * config.d_model


def poet_position_embedding_parameters() -> int:
    config = PRESETS["poet"]
    return config.context_length * config.d_model


# lesson 4 ---------------------------------------------------------------------------------


def softmax_example() -> str:
    return format_numbers(softmax(torch.tensor(SOFTMAX_LOGITS)))


def softmax_large_example() -> str:
    return format_numbers(softmax(torch.tensor(SOFTMAX_LARGE_LOGITS)))


def naive_exp_of_1000() -> str:
    return str(torch.exp(torch.tensor(1000.0)).item())


def causal_mask_example() -> str:
    return str(causal_mask(3).int().tolist())


def _attention_example() -> tuple[torch.Tensor, torch.Tensor]:
    q, k, v = (torch.tensor(rows) for rows in (ATTENTION_Q, ATTENTION_K, ATTENTION_V))
    return scaled_dot_product_attention(q, k, v, causal_mask(3))


def attention_scores_example() -> str:
    q, k = torch.tensor(ATTENTION_Q), torch.tensor(ATTENTION_K)
    return format_numbers(q @ k.T / math.sqrt(2), decimals=3)


def attention_weights_example() -> str:
    return format_numbers(_attention_example()[1], decimals=3)


def attention_output_example() -> str:
    return format_numbers(_attention_example()[0], decimals=3)


def _score_spread(D: int, scaled: bool) -> float:
    generator = torch.Generator().manual_seed(0)
    q = torch.randn(10_000, D, generator=generator)
    k = torch.randn(10_000, D, generator=generator)
    scores = (q * k).sum(-1)
    return (scores / math.sqrt(D) if scaled else scores).std().item()


def unscaled_score_std() -> float:
    return _score_spread(64, scaled=False)


def scaled_score_std() -> float:
    return _score_spread(64, scaled=True)


# lesson 5 ---------------------------------------------------------------------------------


def split_heads_input() -> str:
    return str(torch.arange(8.0).view(1, 2, 4)[0].int().tolist())


def split_heads_head_two() -> str:
    return str(split_heads(torch.arange(8.0).view(1, 2, 4), n_head=2)[0, 1].int().tolist())


def poet_head_width() -> int:
    return PRESETS["poet"].head_dim


def poet_attention_parameters() -> int:
    C = PRESETS["poet"].d_model
    return (C * 3 * C + 3 * C) + (C * C + C)


# lesson 6 ---------------------------------------------------------------------------------


def layer_norm_example() -> str:
    return format_numbers(layer_norm(torch.tensor([1.0, 2.0, 3.0]), torch.ones(3), torch.zeros(3)))


def biased_variance_example() -> str:
    return f"{torch.tensor([1.0, 2.0, 3.0]).var(unbiased=False).item():.4f}"


def unbiased_variance_example() -> str:
    return f"{torch.tensor([1.0, 2.0, 3.0]).var(unbiased=True).item():.4f}"


def gelu_example() -> str:
    return format_numbers(gelu(torch.tensor([-1.0, 0.0, 1.0])))


def gelu_minimum() -> str:
    x = torch.linspace(-3, 0, 30001)
    return f"{gelu(x).min().item():.4f}"


def gelu_tanh_max_difference() -> str:
    x = torch.linspace(-6, 6, 12001, dtype=torch.float64)
    return f"{(gelu(x) - gelu_tanh(x)).abs().max().item():.1e}"


def poet_feed_forward_parameters() -> int:
    config = PRESETS["poet"]
    C, hidden = config.d_model, config.ffn_multiplier * config.d_model
    return (C * hidden + hidden) + (hidden * C + C)


# lesson 7 ---------------------------------------------------------------------------------


def gpt2_small_parameters() -> int:
    config = PRESETS["gpt2-small"]
    return F.gpt_parameter_count(config.vocab_size, config.context_length, config.n_layer, config.d_model)


def gpt2_small_untied_extra() -> int:
    config = PRESETS["gpt2-small"]
    return config.vocab_size * config.d_model


def poet_parameters() -> int:
    config = PRESETS["poet"]
    return F.gpt_parameter_count(config.vocab_size, config.context_length, config.n_layer, config.d_model)


def tiny_parameters() -> int:
    config = PRESETS["tiny"]
    return F.gpt_parameter_count(config.vocab_size, config.context_length, config.n_layer, config.d_model)


def poet_embedding_share_percent() -> str:
    config = PRESETS["poet"]
    embeddings = (config.vocab_size + config.context_length) * config.d_model
    return f"{100 * embeddings / poet_parameters():.0f}"


def gpt2_small_token_embedding_share_percent() -> str:
    return f"{100 * gpt2_small_untied_extra() / gpt2_small_parameters():.0f}"


def gpt2_small_to_poet_ratio() -> str:
    return f"{gpt2_small_parameters() / poet_parameters():.0f}"


# lesson 8 ---------------------------------------------------------------------------------


def next_token_pair_example() -> str:
    inputs, targets = next_token_pair(torch.tensor([5, 6, 7, 8]))
    return f"inputs {inputs.tolist()}, targets {targets.tolist()}"


def uniform_loss_poet() -> str:
    V = PRESETS["poet"].vocab_size
    return f"{cross_entropy(torch.zeros(1, V), torch.tensor([0])).item():.4f}"


def confident_loss_example() -> str:
    # Logits that give the target probability 0.9 among two tokens: log(0.9 / 0.1) apart.
    logits = torch.tensor([[math.log(9.0), 0.0]])
    return f"{cross_entropy(logits, torch.tensor([0])).item():.4f}"


def wrong_confident_loss_example() -> str:
    logits = torch.tensor([[math.log(9.0), 0.0]])
    return f"{cross_entropy(logits, torch.tensor([1])).item():.4f}"


def _schedule_at(progress: float) -> str:
    return f"{learning_rate(progress, **SCHEDULE):.2e}"


def lr_at_warmup_middle() -> str:
    return _schedule_at(0.05)


def lr_at_peak() -> str:
    return _schedule_at(0.1)


def lr_at_decay_middle() -> str:
    return _schedule_at(0.55)


def lr_at_end() -> str:
    return _schedule_at(1.0)


# lesson 9 ---------------------------------------------------------------------------------


def _sampling(**settings) -> str:
    return format_numbers(next_token_probabilities(torch.tensor([SAMPLING_LOGITS]), **settings)[0], decimals=3)


def sampling_temperature_one() -> str:
    return _sampling(temperature=1.0)


def sampling_temperature_half() -> str:
    return _sampling(temperature=0.5)


def sampling_temperature_two() -> str:
    return _sampling(temperature=2.0)


def sampling_greedy() -> str:
    return _sampling(temperature=0)


def sampling_top_k_two() -> str:
    return _sampling(temperature=1.0, top_k=2)


def sampling_top_p_nine_tenths() -> str:
    return _sampling(temperature=1.0, top_p=0.9)


VALUES: dict[str, Callable[[], object]] = {
    function.__name__: function
    for function in (
        utf8_example_code_points, utf8_example_bytes, utf8_example_byte_count, char_vocab_example,
        char_encode_example, strawberry_cl100k_ids,
        banana_bytes, banana_pair_counts, banana_after_first_merge, bpe_example_merges,
        bpe_example_encoding, bpe_example_token_count, pretokenize_example, cl100k_endoftext_id,
        embedding_example_output, poet_token_embedding_parameters, poet_position_embedding_parameters,
        softmax_example, softmax_large_example, naive_exp_of_1000, causal_mask_example,
        attention_scores_example, attention_weights_example, attention_output_example,
        unscaled_score_std, scaled_score_std,
        split_heads_input, split_heads_head_two, poet_head_width, poet_attention_parameters,
        layer_norm_example, biased_variance_example, unbiased_variance_example, gelu_example,
        gelu_minimum, gelu_tanh_max_difference, poet_feed_forward_parameters,
        gpt2_small_parameters, gpt2_small_untied_extra, poet_parameters, tiny_parameters,
        poet_embedding_share_percent, gpt2_small_token_embedding_share_percent, gpt2_small_to_poet_ratio,
        next_token_pair_example, uniform_loss_poet, confident_loss_example, wrong_confident_loss_example,
        lr_at_warmup_middle, lr_at_peak, lr_at_decay_middle, lr_at_end,
        sampling_temperature_one, sampling_temperature_half, sampling_temperature_two, sampling_greedy,
        sampling_top_k_two, sampling_top_p_nine_tenths,
    )
}


@functools.cache
def compute_value(name: str) -> object:
    """Compute the named worked-example value, or raise KeyError that lists the known names."""
    if name not in VALUES:
        raise KeyError(f"no lesson value named {name!r}; known values: {', '.join(sorted(VALUES))}")
    return VALUES[name]()
