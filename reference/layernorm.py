"""Layer normalization: rescale each token's vector to zero mean and unit variance, then learn a
scale and shift per channel."""

import torch
from torch import Tensor, nn


class LayerNorm(nn.Module):
    """LayerNorm over the last dimension, as in `nn.LayerNorm(C)`, optionally without a bias."""

    def __init__(self, d_model: int, bias: bool = True, eps: float = 1e-5):
        super().__init__()
        # eps keeps the division finite for a token whose channels are all equal (variance 0).
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        """Normalize x (..., C) per position; the output has the same shape."""
        mean = x.mean(dim=-1, keepdim=True)
        # The biased variance (divide by C, not C - 1) is what LayerNorm is defined with.
        variance = x.var(dim=-1, keepdim=True, unbiased=False)
        normalized = (x - mean) * torch.rsqrt(variance + self.eps)
        if self.bias is None:
            return normalized * self.weight
        return normalized * self.weight + self.bias
