"""Lesson 9: Sampling. Replace each NotImplementedError with your code.

Tensor dimensions: B batch, T sequence length, C model width, H heads, D = C // H, V vocabulary.
You may import from your other exercise files, for example `from exercises.lesson04_attention
import softmax`. The grader cannot see the reference package.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: F401

import torch  # noqa: F401
from torch import Tensor, nn  # noqa: F401


def next_token_probabilities(
    logits: Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> Tensor:
    """Turn logits (B, V) into next-token probabilities (B, V) under the sampling settings.

    Lesson 9 (Sampling), exercise `next_token_probabilities`: Temperature, top-k and top-p.
    Check it with `python -m grader check next_token_probabilities`.
    """
    raise NotImplementedError("write next_token_probabilities here")
