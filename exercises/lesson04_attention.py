"""Lesson 4: Attention. Replace each NotImplementedError with your code.

Tensor dimensions: B batch, T sequence length, C model width, H heads, D = C // H, V vocabulary.
You may import from your other exercise files, for example `from exercises.lesson04_attention
import softmax`. The grader cannot see the reference package.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: F401

import torch  # noqa: F401
from torch import Tensor, nn  # noqa: F401


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    """Normalize `x` along `dim` into probabilities, without overflow.

    A slice that is entirely -inf (a fully masked row) must become all zeros, not NaN.

    Lesson 4 (Attention), exercise `softmax`: Numerically stable softmax.
    Check it with `python -m grader check softmax`.
    """
    raise NotImplementedError("write softmax here")


def causal_mask(T: int, device: torch.device | str | None = None) -> Tensor:
    """Return a (T, T) boolean mask that is True where query i may attend to key j, i.e. j <= i.

    Lesson 4 (Attention), exercise `causal_mask`: The causal mask.
    Check it with `python -m grader check causal_mask`.
    """
    raise NotImplementedError("write causal_mask here")


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Attend from each query to the keys it may see; return (output, attention weights).

    Lesson 4 (Attention), exercise `scaled_dot_product_attention`: Scaled dot-product attention.
    Check it with `python -m grader check scaled_dot_product_attention`.
    """
    raise NotImplementedError("write scaled_dot_product_attention here")
