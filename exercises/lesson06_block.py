"""Lesson 6: The transformer block. Replace each NotImplementedError with your code.

Tensor dimensions: B batch, T sequence length, C model width, H heads, D = C // H, V vocabulary.
You may import from your other exercise files, for example `from exercises.lesson04_attention
import softmax`. The grader cannot see the reference package.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: F401

import torch  # noqa: F401
from torch import Tensor, nn  # noqa: F401


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """Normalize x (..., C) over its last dimension, then scale and shift, as `LayerNorm` does.

    Lesson 6 (The transformer block), exercise `layer_norm`: LayerNorm.
    Check it with `python -m grader check layer_norm`.
    """
    raise NotImplementedError("write layer_norm here")


def gelu(x: Tensor) -> Tensor:
    """Exact GELU: x * Phi(x), with Phi the standard normal CDF written through erf.

    Lesson 6 (The transformer block), exercise `gelu`: GELU.
    Check it with `python -m grader check gelu`.
    """
    raise NotImplementedError("write gelu here")


def feed_forward(x: Tensor, fc_weight: Tensor, fc_bias: Tensor, proj_weight: Tensor, proj_bias: Tensor) -> Tensor:
    """Widen x (B, T, C) to the hidden width, apply exact GELU, narrow back, as `FeedForward` does.

    Lesson 6 (The transformer block), exercise `feed_forward`: Feed-forward network.
    Check it with `python -m grader check feed_forward`.
    """
    raise NotImplementedError("write feed_forward here")


def transformer_block(x: Tensor, params: Mapping[str, Tensor], n_head: int) -> Tensor:
    """Apply one pre-norm block to x (B, T, C); `params` uses `TransformerBlock`'s state_dict keys.

    Lesson 6 (The transformer block), exercise `transformer_block`: The pre-norm transformer block.
    Check it with `python -m grader check transformer_block`.
    """
    raise NotImplementedError("write transformer_block here")
