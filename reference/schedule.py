"""The learning-rate schedule: linear warm-up, then cosine decay to a floor."""

import math


def learning_rate(progress: float, max_lr: float, min_lr: float, warmup: float) -> float:
    """Return the learning rate at `progress` (0 = first step, 1 = last step) of a run.

    For the first `warmup` fraction the rate climbs linearly from near 0 to max_lr, because
    AdamW's early updates use poor variance estimates and large steps then can ruin a model.
    After that it follows half a cosine from max_lr down to min_lr.

    >>> learning_rate(0.0, 1e-3, 1e-4, warmup=0.1)
    0.0
    >>> learning_rate(0.1, 1e-3, 1e-4, warmup=0.1)
    0.001
    >>> learning_rate(1.0, 1e-3, 1e-4, warmup=0.1)
    0.0001
    """
    if not 0.0 <= warmup < 1.0:
        raise ValueError(f"warmup must be a fraction in [0, 1), got {warmup!r}")
    progress = min(max(progress, 0.0), 1.0)

    if progress < warmup:
        return max_lr * progress / warmup
    decay = (progress - warmup) / (1.0 - warmup)  # 0 -> 1
    cosine = 0.5 * (1.0 + math.cos(math.pi * decay))  # 1 -> 0
    return min_lr + cosine * (max_lr - min_lr)
