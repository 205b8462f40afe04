"""Lesson 3: Embeddings. Replace each NotImplementedError with your code.

Tensor dimensions: B batch, T sequence length, C model width, H heads, D = C // H, V vocabulary.
You may import from your other exercise files, for example `from exercises.lesson04_attention
import softmax`. The grader cannot see the reference package.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: F401

import torch  # noqa: F401
from torch import Tensor, nn  # noqa: F401


def embed(idx: Tensor, token_weight: Tensor, position_weight: Tensor) -> Tensor:
    """Map ids (B, T) to token vectors plus position vectors (B, T, C), as `Embeddings` does.

    Lesson 3 (Embeddings), exercise `embed`: Token and position embeddings.
    Check it with `python -m grader check embed`.
    """
    raise NotImplementedError("write embed here")
