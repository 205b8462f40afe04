"""Multi-head causal self-attention: several attention heads side by side, then a projection."""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from reference.attention import causal_mask, scaled_dot_product_attention
from reference.config import GPTConfig


def split_heads(x: Tensor, n_head: int) -> Tensor:
    """Reshape (B, T, C) into (B, H, T, D) so that each head attends on its own D channels.

    >>> split_heads(torch.arange(8.).view(1, 2, 4), n_head=2)[0, 1]
    tensor([[2., 3.],
            [6., 7.]])
    """
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head).transpose(1, 2)  # (B, H, T, D)


def merge_heads(x: Tensor) -> Tensor:
    """Undo `split_heads`: (B, H, T, D) back to (B, T, C) with the heads side by side."""
    B, H, T, D = x.shape
    return x.transpose(1, 2).contiguous().view(B, T, H * D)  # (B, T, C)


class MultiHeadAttention(nn.Module):
    """Causal self-attention with `n_head` heads and one fused query-key-value projection."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head = config.n_head
        self.dropout = config.dropout
        # One Linear makes q, k and v for all heads at once: the same maths as three, one matmul.
        self.qkv = nn.Linear(config.d_model, 3 * config.d_model, bias=config.bias)
        self.proj = nn.Linear(config.d_model, config.d_model, bias=config.bias)
        self.proj_dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, return_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        """Return (output (B, T, C), attention weights (B, H, T, T) or None)."""
        B, T, C = x.shape

        # Project, then give each head its own slice of channels.
        q, k, v = self.qkv(x).split(C, dim=-1)  # 3 x (B, T, C)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))  # 3 x (B, H, T, D)

        # Attend. PyTorch's fused kernel never builds the (T, T) weights, so it is faster and
        # leaner. The readable version runs only when the caller requests the weights.
        if return_attention:
            y, weights = scaled_dot_product_attention(q, k, v, mask=causal_mask(T, x.device))
        else:
            dropout_p = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
            weights = None

        # Put the heads back side by side and mix them with the output projection.
        y = merge_heads(y)  # (B, T, C)
        return self.proj_dropout(self.proj(y)), weights
