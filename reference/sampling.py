"""Choosing the next token: greedy, temperature, top-k and top-p (nucleus) sampling.

`next_token_probabilities` turns one step's logits into the distribution that is sampled, so the
app can draw exactly the bars that `generate` samples from.
"""

import torch
from torch import Tensor, nn

from reference.attention import softmax
from reference.model import check_token_ids


def next_token_probabilities(
    logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Tensor:
    """Turn logits (B, V) into next-token probabilities (B, V) under the sampling settings.

    temperature 0 means greedy: all probability on the arg-max token. top_k keeps the k most
    likely tokens (k above V means all of them), top_p keeps the smallest set of most likely
    tokens whose probabilities reach p. Dropped tokens get exactly zero probability.

    >>> next_token_probabilities(torch.tensor([[1.0, 3.0, 2.0]]), temperature=0)
    tensor([[0., 1., 0.]])
    """
    check_sampling_settings(temperature, top_k, top_p)
    V = logits.size(-1)

    # Temperature 0 is the limit T -> 0 of softmax(z / T): a one-hot on the largest logit.
    # Dividing by zero would give inf - inf = NaN, so it gets its own branch.
    if temperature == 0:
        return nn.functional.one_hot(logits.argmax(dim=-1), V).to(logits.dtype)

    logits = logits / temperature
    if top_k is not None and top_k < V:
        kth_largest = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    probabilities = softmax(logits, dim=-1)

    if top_p is not None and top_p < 1.0:
        probabilities = _keep_nucleus(probabilities, top_p)
    return probabilities


def _keep_nucleus(probabilities: Tensor, top_p: float) -> Tensor:
    # Sort descending and keep each token whose preceding mass is still below top_p, so the
    # most likely token always survives and the kept set is the smallest that reaches top_p.
    sorted_probabilities, order = probabilities.sort(dim=-1, descending=True)
    mass_before = sorted_probabilities.cumsum(dim=-1) - sorted_probabilities
    keep_sorted = mass_before < top_p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    kept = probabilities * keep
    return kept / kept.sum(dim=-1, keepdim=True)


def check_sampling_settings(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise a ValueError that names the setting and its valid range for any invalid setting."""
    if not isinstance(temperature, (int, float)) or temperature != temperature or temperature < 0:
        raise ValueError(f"temperature must be a number >= 0 (0 means greedy), got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be an integer >= 1 or None (no limit), got {top_k!r}")
    if top_p is not None and not (isinstance(top_p, (int, float)) and 0.0 < top_p <= 1.0):
        raise ValueError(f"top_p must be in (0, 1] or None (no limit), got {top_p!r}")


@torch.no_grad()
def generate(
    model: nn.Module,
    idx: Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    stop_token: int | None = None,
) -> Tensor:
    """Extend token ids (B, T) by up to max_new_tokens sampled tokens; return (B, T + new).

    The model sees at most its last context_length tokens, so a long prompt is cropped from the
    left. The same seed and settings give the same tokens. With stop_token, generation stops
    once every sequence in the batch has produced it.
    """
    check_sampling_settings(temperature, top_k, top_p)
    config = model.config
    check_token_ids(idx, config.vocab_size)
    if idx.size(1) == 0:
        raise ValueError("the prompt is empty; give at least one token to start from")
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")

    generator = torch.Generator(device=idx.device)
    generator.manual_seed(seed if seed is not None else torch.seed())
    was_training = model.training
    model.eval()

    finished = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    for _ in range(max_new_tokens):
        context = idx[:, -config.context_length :]  # (B, <= context_length)
        logits = model(context)[:, -1, :]  # (B, V): only the last position predicts what is next
        probabilities = next_token_probabilities(logits, temperature, top_k, top_p)
        next_id = torch.multinomial(probabilities, 1, generator=generator)  # (B, 1)
        idx = torch.cat([idx, next_id], dim=1)
        if stop_token is not None:
            finished |= next_id[:, 0] == stop_token
            if finished.all():
                break

    model.train(was_training)
    return idx
