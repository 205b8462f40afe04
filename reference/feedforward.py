"""The position-wise feed-forward network: widen, apply GELU, narrow back."""

import torch.nn.functional as F
from torch import Tensor, nn

from reference.config import GPTConfig


class FeedForward(nn.Module):
    """Two Linear layers with GELU between, applied to every position independently."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        hidden = config.ffn_multiplier * config.d_model
        self.fc = nn.Linear(config.d_model, hidden, bias=config.bias)
        self.proj = nn.Linear(hidden, config.d_model, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        """Map x (B, T, C) to (B, T, C) through a hidden layer of width ffn_multiplier * C."""
        # F.gelu is `reference.gelu.gelu` (exact, erf-based) in one fused kernel: the same values,
        # several times faster on a CPU than the four separate element-wise steps.
        hidden = F.gelu(self.fc(x))  # (B, T, 4C)
        return self.dropout(self.proj(hidden))  # (B, T, C)
