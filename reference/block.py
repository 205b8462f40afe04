"""The pre-norm transformer block: attention, then feed-forward, each added to a residual path."""

from torch import Tensor, nn

from reference.config import GPTConfig
from reference.feedforward import FeedForward
from reference.layernorm import LayerNorm
from reference.multihead import MultiHeadAttention


class TransformerBlock(nn.Module):
    """x + attention(norm(x)), then x + feedforward(norm(x)), as in GPT-2.

    Normalizing before each sublayer (pre-norm) leaves the residual path a clean sum from the
    embeddings to the output, which keeps gradients healthy in deep stacks without warm-up tricks.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.norm1 = LayerNorm(config.d_model, bias=config.bias)
        self.attention = MultiHeadAttention(config)
        self.norm2 = LayerNorm(config.d_model, bias=config.bias)
        self.feedforward = FeedForward(config)

    def forward(self, x: Tensor, return_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        """Return (output (B, T, C), attention weights (B, H, T, T) or None)."""
        attended, weights = self.attention(self.norm1(x), return_attention=return_attention)
        x = x + attended
        x = x + self.feedforward(self.norm2(x))
        return x, weights
