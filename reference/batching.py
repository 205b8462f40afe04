"""Next-token training pairs: inputs and targets cut from one long stream of token ids."""

import torch
from torch import Tensor


def next_token_pair(window: Tensor) -> tuple[Tensor, Tensor]:
    """Split a window of T + 1 ids into inputs (its first T) and targets (its last T).

    The target at position t is the token that follows input position t.

    >>> next_token_pair(torch.tensor([5, 6, 7, 8]))
    (tensor([5, 6, 7]), tensor([6, 7, 8]))
    """
    return window[:-1], window[1:]


def random_batch(
    tokens: Tensor, batch_size: int, context_length: int, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Cut `batch_size` random windows from a 1-D token stream; return inputs and targets (B, T).

    Raises ValueError when the stream is too short for even one window of T + 1 tokens.
    """
    if tokens.dim() != 1:
        raise ValueError(f"tokens must be a 1-D stream of ids, got shape {tuple(tokens.shape)}")
    windows_available = tokens.numel() - context_length
    if windows_available < 1:
        raise ValueError(
            f"the text has {tokens.numel()} tokens, but a training window needs "
            f"context_length + 1 = {context_length + 1}; use more text or a shorter context_length"
        )

    starts = torch.randint(windows_available, (batch_size,), generator=generator)  # (B,)
    offsets = torch.arange(context_length + 1)  # (T + 1,)
    windows = tokens[starts[:, None] + offsets]  # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]
