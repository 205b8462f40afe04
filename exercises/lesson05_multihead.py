"""Lesson 5: Multi-head attention. Replace each NotImplementedError with your code.

Tensor dimensions: B batch, T sequence length, C model width, H heads, D = C // H, V vocabulary.
You may import from your other exercise files, for example `from exercises.lesson04_attention
import softmax`. The grader cannot see the reference package.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: F401

import torch  # noqa: F401
from torch import Tensor, nn  # noqa: F401


def split_heads(x: Tensor, n_head: int) -> Tensor:
    """Reshape (B, T, C) into (B, H, T, D) so that each head attends on its own D channels.

    Lesson 5 (Multi-head attention), exercise `split_heads`: Split into heads.
    Check it with `python -m grader check split_heads`.
    """
    raise NotImplementedError("write split_heads here")


def multi_head_attention(
    x: Tensor, qkv_weight: Tensor, qkv_bias: Tensor, proj_weight: Tensor, proj_bias: Tensor, n_head: int
) -> Tensor:
    """Causal multi-head self-attention of x (B, T, C), as `MultiHeadAttention` computes it.

    Lesson 5 (Multi-head attention), exercise `multi_head_attention`: Multi-head attention.
    Check it with `python -m grader check multi_head_attention`.
    """
    raise NotImplementedError("write multi_head_attention here")
