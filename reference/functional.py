"""Function forms of the reference modules, for exercises and the grader.

Each function takes its weights as tensors and computes exactly what the matching module
computes, so a student can write it without nn.Module and the grader can send it plain tensors.
The weight names follow the modules' `state_dict` keys (`attention.qkv.weight`, ...), so
`gpt_forward(idx, dict(model.state_dict()), n_head)` equals `model(idx)`. Dropout is left out,
because the grader compares deterministic outputs.
"""

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from reference.attention import causal_mask, scaled_dot_product_attention
from reference.bpe import GPT2_SPLIT_PATTERN, BPETokenizer
from reference.gelu import gelu
from reference.layernorm import layer_norm
from reference.loss import cross_entropy
from reference.multihead import merge_heads, split_heads
from reference.optim import clip_gradient_norm


def bpe_train(text: str, vocab_size: int, pattern: str = GPT2_SPLIT_PATTERN) -> dict[tuple[int, int], int]:
    """Learn BPE merges from `text`; return {(left id, right id): new id} in the order learned.

    >>> bpe_train("aaab", 257)
    {(97, 97): 256}
    """
    return BPETokenizer.train(text, vocab_size, pattern).merges


def bpe_encode(text: str, merges: dict[tuple[int, int], int], pattern: str = GPT2_SPLIT_PATTERN) -> list[int]:
    """Encode `text` with learned `merges`, applying the earliest-learned merge first.

    >>> bpe_encode("aaab", {(97, 97): 256})
    [256, 97, 98]
    """
    return BPETokenizer(merges, pattern).encode_ordinary(text)


def bpe_decode(ids: list[int], merges: dict[tuple[int, int], int]) -> str:
    """Decode ids produced with `merges` back to text; invalid UTF-8 becomes U+FFFD.

    >>> bpe_decode([256, 97, 98], {(97, 97): 256})
    'aaab'
    """
    return BPETokenizer(merges).decode(ids)


def embed(idx: Tensor, token_weight: Tensor, position_weight: Tensor) -> Tensor:
    """Map ids (B, T) to token vectors plus position vectors (B, T, C), as `Embeddings` does."""
    T = idx.size(1)
    positions = torch.arange(T, device=idx.device)  # (T,)
    return token_weight[idx] + position_weight[positions]  # (B, T, C) + (T, C)


def multi_head_attention(
    x: Tensor, qkv_weight: Tensor, qkv_bias: Tensor, proj_weight: Tensor, proj_bias: Tensor, n_head: int
) -> Tensor:
    """Causal multi-head self-attention of x (B, T, C), as `MultiHeadAttention` computes it."""
    C = x.size(-1)
    q, k, v = nn.functional.linear(x, qkv_weight, qkv_bias).split(C, dim=-1)  # 3 x (B, T, C)
    q, k, v = (split_heads(t, n_head) for t in (q, k, v))  # 3 x (B, H, T, D)

    y, _ = scaled_dot_product_attention(q, k, v, mask=causal_mask(x.size(1), x.device))
    return nn.functional.linear(merge_heads(y), proj_weight, proj_bias)  # (B, T, C)


def feed_forward(x: Tensor, fc_weight: Tensor, fc_bias: Tensor, proj_weight: Tensor, proj_bias: Tensor) -> Tensor:
    """Widen x (B, T, C) to the hidden width, apply exact GELU, narrow back, as `FeedForward` does."""
    hidden = gelu(nn.functional.linear(x, fc_weight, fc_bias))  # (B, T, 4C)
    return nn.functional.linear(hidden, proj_weight, proj_bias)  # (B, T, C)


def transformer_block(x: Tensor, params: Mapping[str, Tensor], n_head: int) -> Tensor:
    """Apply one pre-norm block to x (B, T, C); `params` uses `TransformerBlock`'s state_dict keys."""
    normed = layer_norm(x, params["norm1.weight"], params["norm1.bias"])
    x = x + multi_head_attention(
        normed,
        params["attention.qkv.weight"], params["attention.qkv.bias"],
        params["attention.proj.weight"], params["attention.proj.bias"],
        n_head,
    )
    normed = layer_norm(x, params["norm2.weight"], params["norm2.bias"])
    return x + feed_forward(
        normed,
        params["feedforward.fc.weight"], params["feedforward.fc.bias"],
        params["feedforward.proj.weight"], params["feedforward.proj.bias"],
    )


def gpt_forward(idx: Tensor, params: Mapping[str, Tensor], n_head: int) -> Tensor:
    """Return logits (B, T, V) for ids (B, T); `params` uses `GPT`'s state_dict keys.

    The head reuses `embeddings.token.weight` (weight tying), so `lm_head.weight` is not needed.
    """
    x = embed(idx, params["embeddings.token.weight"], params["embeddings.position.weight"])
    n_layer = 1 + max(int(name.split(".")[1]) for name in params if name.startswith("blocks."))
    for layer in range(n_layer):
        prefix = f"blocks.{layer}."
        block_params = {name[len(prefix):]: value for name, value in params.items() if name.startswith(prefix)}
        x = transformer_block(x, block_params, n_head)

    x = layer_norm(x, params["final_norm.weight"], params["final_norm.bias"])
    return x @ params["embeddings.token.weight"].T  # (B, T, V)


def gpt_parameter_count(
    vocab_size: int, context_length: int, n_layer: int, d_model: int, ffn_multiplier: int = 4
) -> int:
    """Count a GPT's parameters (biases included, head tied to the token embedding).

    >>> gpt_parameter_count(vocab_size=50257, context_length=1024, n_layer=12, d_model=768)
    124439808
    """
    C, hidden = d_model, ffn_multiplier * d_model
    embeddings = vocab_size * C + context_length * C
    attention = (C * 3 * C + 3 * C) + (C * C + C)
    feedforward = (C * hidden + hidden) + (hidden * C + C)
    norms = 2 * (2 * C)
    return embeddings + n_layer * (attention + feedforward + norms) + 2 * C


def training_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, inputs: Tensor, targets: Tensor, max_grad_norm: float
) -> float:
    """Take one optimizer step on a batch and return the loss before the step, as a float.

    Order matters: clear old gradients, compute the loss, backpropagate, clip the global
    gradient norm to `max_grad_norm`, and only then let the optimizer move the weights.
    """
    optimizer.zero_grad(set_to_none=True)
    loss = cross_entropy(model(inputs), targets)
    loss.backward()
    clip_gradient_norm(list(model.parameters()), max_grad_norm)
    optimizer.step()
    return loss.item()
