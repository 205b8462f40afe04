"""Token and position embeddings: the model's first layer, from ids to vectors."""

import torch
from torch import Tensor, nn


class Embeddings(nn.Module):
    """Look up a learned vector per token id and add a learned vector per position."""

    def __init__(self, vocab_size: int, context_length: int, d_model: int, dropout: float = 0.0):
        super().__init__()
        self.context_length = context_length
        self.token = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(context_length, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, idx: Tensor) -> Tensor:
        """Map ids (B, T) to vectors (B, T, C); T may not exceed the context length."""
        B, T = idx.shape
        if T > self.context_length:
            raise ValueError(
                f"sequence of {T} tokens is longer than the context length {self.context_length}; "
                f"crop it to the last {self.context_length} tokens first"
            )
        positions = torch.arange(T, device=idx.device)  # (T,)
        # (B, T, C) + (T, C): the same position vector is added in every sequence of the batch.
        return self.dropout(self.token(idx) + self.position(positions))
