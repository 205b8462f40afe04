"""Cross-entropy for next-token prediction, from logits, written out with log-sum-exp."""

import torch
from torch import Tensor


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    """Return the mean negative log-probability of the targets: logits (..., V), targets (...).

    log softmax(z)_y = z_y - logsumexp(z), and logsumexp subtracts the maximum first, so a
    logit of 1000 does not overflow. A model that spreads probability evenly over V tokens has
    loss log(V).

    >>> round(cross_entropy(torch.zeros(1, 4), torch.tensor([2])).item(), 4)  # log(4)
    1.3863
    """
    V = logits.size(-1)
    logits = logits.reshape(-1, V)  # (N, V)
    targets = targets.reshape(-1)  # (N,)
    if targets.numel() and (targets.min() < 0 or targets.max() >= V):
        raise ValueError(f"targets must be ids in [0, {V - 1}], got values from {targets.min().item()} to {targets.max().item()}")

    log_normalizer = torch.logsumexp(logits, dim=-1)  # (N,)
    target_logits = logits.gather(1, targets[:, None]).squeeze(1)  # (N,)
    return (log_normalizer - target_logits).mean()
