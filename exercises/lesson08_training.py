"""Lesson 8: Training. Replace each NotImplementedError with your code.

Tensor dimensions: B batch, T sequence length, C model width, H heads, D = C // H, V vocabulary.
You may import from your other exercise files, for example `from exercises.lesson04_attention
import softmax`. The grader cannot see the reference package.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: F401

import torch  # noqa: F401
from torch import Tensor, nn  # noqa: F401


def next_token_pair(window: Tensor) -> tuple[Tensor, Tensor]:
    """Split a window of T + 1 ids into inputs (its first T) and targets (its last T).

    Lesson 8 (Training), exercise `next_token_pair`: Next-token inputs and targets.
    Check it with `python -m grader check next_token_pair`.
    """
    raise NotImplementedError("write next_token_pair here")


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Return the mean negative log-probability of the targets: logits (..., V), targets (...).

    Lesson 8 (Training), exercise `cross_entropy`: Cross-entropy loss.
    Check it with `python -m grader check cross_entropy`.
    """
    raise NotImplementedError("write cross_entropy here")


def training_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, inputs: Tensor, targets: Tensor, max_grad_norm: float
) -> float:
    """Take one optimizer step on a batch and return the loss before the step, as a float.

    Lesson 8 (Training), exercise `training_step`: One training step.
    Check it with `python -m grader check training_step`.
    """
    raise NotImplementedError("write training_step here")


def learning_rate(progress: float, max_lr: float, min_lr: float, warmup: float) -> float:
    """Return the learning rate at `progress` (0 = first step, 1 = last step) of a run.

    Lesson 8 (Training), exercise `learning_rate`: Warm-up and cosine decay.
    Check it with `python -m grader check learning_rate`.
    """
    raise NotImplementedError("write learning_rate here")
