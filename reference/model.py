"""The GPT model: embeddings, a stack of transformer blocks, a final norm and the language-model
head, whose weight is the token embedding matrix itself (weight tying, as in GPT-2)."""

import math

import torch
from torch import Tensor, nn

from reference.block import TransformerBlock
from reference.config import GPTConfig
from reference.embeddings import Embeddings
from reference.layernorm import LayerNorm


class GPT(nn.Module):
    """A decoder-only transformer that maps token ids (B, T) to next-token logits (B, T, V)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(
            config.vocab_size, config.context_length, config.d_model, config.dropout
        )
        self.blocks = nn.ModuleList(TransformerBlock(config) for _ in range(config.n_layer))
        self.final_norm = LayerNorm(config.d_model, bias=config.bias)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)

        # Tying: the head scores each token by the dot product with that token's own embedding.
        # One shared Parameter (not a copy), so both uses train together and it counts once.
        self.lm_head.weight = self.embeddings.token.weight

        self.apply(_init_weights)
        # Each block adds two projections onto the residual path. Scaling their initial weights
        # by 1 / sqrt(2 * n_layer) keeps the path's variance from growing with depth, as in GPT-2.
        for name, parameter in self.named_parameters():
            if name.endswith("proj.weight"):
                nn.init.normal_(parameter, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def forward(self, idx: Tensor) -> Tensor:
        """Return logits (B, T, V) for token ids (B, T)."""
        logits, _ = self._run(idx, return_attention=False)
        return logits

    def forward_with_attention(self, idx: Tensor) -> tuple[Tensor, list[Tensor]]:
        """Return logits (B, T, V) and each layer's attention weights, a list of (B, H, T, T)."""
        return self._run(idx, return_attention=True)

    def _run(self, idx: Tensor, return_attention: bool) -> tuple[Tensor, list[Tensor]]:
        check_token_ids(idx, self.config.vocab_size)
        x = self.embeddings(idx)  # (B, T, C)

        attention = []
        for block in self.blocks:
            x, weights = block(x, return_attention=return_attention)
            if weights is not None:
                attention.append(weights)

        logits = self.lm_head(self.final_norm(x))  # (B, T, V)
        return logits, attention


def check_token_ids(idx: Tensor, vocab_size: int) -> None:
    """Raise a clear error unless idx is a (B, T) integer tensor of ids below vocab_size."""
    if not isinstance(idx, Tensor) or idx.dtype not in (torch.int64, torch.int32):
        kind = idx.dtype if isinstance(idx, Tensor) else type(idx).__name__
        raise TypeError(f"token ids must be an integer tensor (int64), got {kind}; use torch.tensor(ids, dtype=torch.long)")
    if idx.dim() != 2:
        raise ValueError(
            f"token ids must have shape (B, T), got {tuple(idx.shape)}; "
            f"add a batch dimension with idx.unsqueeze(0)"
        )
    if idx.numel() and (idx.min() < 0 or idx.max() >= vocab_size):
        bad = idx[(idx < 0) | (idx >= vocab_size)][0].item()
        raise ValueError(
            f"token id {bad} is outside this model's vocabulary (0 to {vocab_size - 1}); "
            f"encode the text with the tokenizer the model was trained with"
        )


def count_parameters(model: nn.Module) -> int:
    """Count the trainable numbers in a model; a tied weight counts once.

    `model.parameters()` yields each Parameter object once even when two modules share it,
    so the tied embedding and head are not counted twice.
    """
    return sum(parameter.numel() for parameter in model.parameters())


def _init_weights(module: nn.Module) -> None:
    # GPT-2's initialization: small normal weights, zero biases.
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
