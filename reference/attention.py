"""Scaled dot-product attention, written out step by step, with the causal mask.

`scaled_dot_product_attention` here materializes the (T, T) matrix of attention weights,
because the visualizations and the lessons need it. `reference.multihead` uses PyTorch's fused
kernel instead whenever the caller does not request the weights; the tests check that both agree.
"""

import math

import torch
from torch import Tensor


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """Normalize `x` along `dim` into probabilities, without overflow.

    Subtracting the maximum first leaves the result unchanged (it cancels in the ratio) but keeps
    exp() from overflowing: softmax([1000., 1001.]) == [0.2689, 0.7311], not [nan, nan].
    A slice that is entirely -inf (a fully masked row) becomes all zeros instead of NaN.

    >>> softmax(torch.tensor([1.0, 2.0, 3.0]))
    tensor([0.0900, 0.2447, 0.6652])
    """
    row_max = x.amax(dim=dim, keepdim=True)
    # A fully masked row has max -inf, and -inf - (-inf) is NaN: shift such rows by 0 instead.
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    exponentials = torch.exp(x - row_max)
    total = exponentials.sum(dim=dim, keepdim=True)
    # Zero total only happens for a fully masked row; dividing by 1 there keeps its zeros.
    return exponentials / torch.where(total > 0, total, torch.ones_like(total))


def causal_mask(T: int, device: torch.device | str | None = None) -> Tensor:
    """Return a (T, T) boolean mask that is True where query i may attend to key j, i.e. j <= i.

    >>> causal_mask(3).int()
    tensor([[1, 0, 0],
            [1, 1, 0],
            [1, 1, 1]], dtype=torch.int32)
    """
    return torch.ones(T, T, dtype=torch.bool, device=device).tril()


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Attend from each query to the keys it may see; return (output, attention weights).

    q, k: (..., T, D) and v: (..., T, D). `mask` is boolean, broadcastable to (..., T, T), and
    True where attention is allowed; pass `causal_mask(T)` for a language model.
    Returns output (..., T, D) and weights (..., T, T), whose rows sum to 1 (or are all zero
    where the mask hides every key).
    """
    head_dim = q.size(-1)

    # Dividing by sqrt(D) keeps the scores' variance near 1 whatever the head width, so the
    # softmax does not saturate into a one-hot distribution at initialization.
    scores = q @ k.transpose(-2, -1) / math.sqrt(head_dim)  # (..., T, T)

    # The mask goes in before the softmax, so hidden keys get exactly zero probability.
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-1)  # (..., T, T)

    return weights @ v, weights  # (..., T, D), (..., T, T)
