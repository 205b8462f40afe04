"""A GPT of the same shape built only from PyTorch's fused building blocks, as a speed baseline.

It uses nn.LayerNorm, F.gelu and F.scaled_dot_product_attention(is_causal=True) where the
reference writes these out, so the ratio of their speeds shows what readability costs.
"""

import torch
import torch.nn.functional as F
from torch import nn

from reference.config import GPTConfig


class FusedBlock(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        C = config.d_model
        self.n_head = config.n_head
        self.norm1 = nn.LayerNorm(C)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.norm2 = nn.LayerNorm(C)
        self.fc = nn.Linear(C, config.ffn_multiplier * C)
        self.fc_proj = nn.Linear(config.ffn_multiplier * C, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.fc_proj(F.gelu(self.fc(self.norm2(x))))


class FusedGPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.token = nn.Embedding(config.vocab_size, config.d_model)
        self.position = nn.Embedding(config.context_length, config.d_model)
        self.blocks = nn.Sequential(*(FusedBlock(config) for _ in range(config.n_layer)))
        self.final_norm = nn.LayerNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        self.lm_head.weight = self.token.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(idx.size(1), device=idx.device)
        return self.lm_head(self.final_norm(self.blocks(self.token(idx) + self.position(positions))))
