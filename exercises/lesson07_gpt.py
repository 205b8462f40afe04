"""Lesson 7: The GPT model. Replace each NotImplementedError with your code.

Tensor dimensions: B batch, T sequence length, C model width, H heads, D = C // H, V vocabulary.
You may import from your other exercise files, for example `from exercises.lesson04_attention
import softmax`. The grader cannot see the reference package.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: F401

import torch  # noqa: F401
from torch import Tensor, nn  # noqa: F401


def gpt_forward(idx: Tensor, params: Mapping[str, Tensor], n_head: int) -> Tensor:
    """Return logits (B, T, V) for ids (B, T); `params` uses `GPT`'s state_dict keys.

    Lesson 7 (The GPT model), exercise `gpt_forward`: The GPT forward pass.
    Check it with `python -m grader check gpt_forward`.
    """
    raise NotImplementedError("write gpt_forward here")


def gpt_parameter_count(
    vocab_size: int, context_length: int, n_layer: int, d_model: int, ffn_multiplier: int = 4
) -> int:
    """Count a GPT's parameters (biases included, head tied to the token embedding).

    Lesson 7 (The GPT model), exercise `gpt_parameter_count`: Counting parameters.
    Check it with `python -m grader check gpt_parameter_count`.
    """
    raise NotImplementedError("write gpt_parameter_count here")
