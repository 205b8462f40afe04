"""AdamW with weight decay on matrices only, and gradient clipping by global norm."""

import torch
from torch import Tensor, nn


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Split parameters into two AdamW groups: matrices decay, vectors do not.

    Weight decay pulls weights toward zero. That regularizes the Linear and Embedding matrices,
    but biases and LayerNorm scales are offsets and gains with no reason to shrink.
    """
    decay = [p for p in model.parameters() if p.requires_grad and p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.dim() < 2]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def make_optimizer(model: nn.Module, lr: float, weight_decay: float, betas=(0.9, 0.95)) -> torch.optim.AdamW:
    """Build AdamW over `parameter_groups`; beta2 = 0.95 follows GPT-3's setting for stability."""
    return torch.optim.AdamW(parameter_groups(model, weight_decay), lr=lr, betas=betas)


def clip_gradient_norm(parameters, max_norm: float) -> Tensor:
    """Scale all gradients together so their global L2 norm is at most max_norm.

    One unlucky batch can produce a huge gradient; clipping caps the step without changing its
    direction. Returns the norm before clipping, which is worth logging.
    """
    gradients = [p.grad for p in parameters if p.grad is not None]
    if not gradients:
        return torch.tensor(0.0)
    total_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in gradients]))
    scale = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    for gradient in gradients:
        gradient.mul_(scale)
    return total_norm
