"""Known wrong versions of the reference functions, one per common mistake.

Each function has the signature of the piece it gets wrong and makes exactly one mistake. The
grader runs them on the same inputs as the student: a student's output that equals a mistake's
output earns that mistake's hint. The tests also hand each one to the grader as a student's
answer and check that it fails with its hint.
"""

import math

import regex
import torch
from torch import Tensor, nn

from reference import functional as F
from reference.attention import causal_mask, scaled_dot_product_attention, softmax
from reference.bpe import GPT2_SPLIT_PATTERN, get_pair_counts, merge
from reference.gelu import gelu, gelu_tanh
from reference.loss import cross_entropy
from reference.multihead import merge_heads, split_heads
from reference.optim import clip_gradient_norm
from reference.sampling import next_token_probabilities
from reference.schedule import learning_rate

# lesson 1 ---------------------------------------------------------------------------------


def utf8_code_points(text: str) -> list[int]:
    return [ord(character) for character in text]


def utf8_as_utf16(text: str) -> list[int]:
    return list(text.encode("utf-16-le"))


def utf8_cut_to_characters(text: str) -> list[int]:
    return list(text.encode("utf-8"))[: len(text)]


def char_encode_from_one(text: str, vocab: dict[str, int]) -> list[int]:
    return [vocab[character] + 1 for character in text]


def char_encode_code_points(text: str, vocab: dict[str, int]) -> list[int]:
    return [ord(character) for character in text]


def char_encode_bytes(text: str, vocab: dict[str, int]) -> list[int]:
    return list(text.encode("utf-8"))


# lesson 2 ---------------------------------------------------------------------------------


def pair_counts_wrap_around(ids: list[int], counts: dict | None = None) -> dict:
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:] + ids[:1]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def pair_counts_unordered(ids: list[int], counts: dict | None = None) -> dict:
    counts = {} if counts is None else counts
    for a, b in zip(ids, ids[1:]):
        pair = (min(a, b), max(a, b))
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def pair_counts_ignore_existing(ids: list[int], counts: dict | None = None) -> dict:
    return get_pair_counts(ids)


def merge_overlapping(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    merged, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            merged.append(new_id)
        elif not (i > 0 and (ids[i - 1], ids[i]) == pair):
            merged.append(ids[i])
        i += 1
    return merged


def merge_first_only(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == pair:
            return ids[:i] + [new_id] + ids[i + 2:]
    return list(ids)


def merge_drops_last(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    merged, i = [], 0
    while i < len(ids) - 1:
        if (ids[i], ids[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged


def _train(text: str, vocab_size: int, pattern: str, choose, split: bool = True, first_id: int = 256) -> dict:
    chunks = regex.findall(pattern, text) if split else [text]
    words = [list(chunk.encode("utf-8")) for chunk in chunks]
    merges = {}
    for new_id in range(first_id, first_id + vocab_size - 256):
        counts: dict = {}
        for word in words:
            get_pair_counts(word, counts)
        if not counts:
            break
        pair = choose(counts)
        merges[pair] = new_id
        words = [merge(word, pair, new_id) for word in words]
    return merges


def _smallest_top_pair(counts: dict) -> tuple[int, int]:
    top = max(counts.values())
    return min(pair for pair, count in counts.items() if count == top)


def bpe_train_largest_tie(text: str, vocab_size: int, pattern: str = GPT2_SPLIT_PATTERN) -> dict:
    top = lambda counts: max(pair for pair, count in counts.items() if count == max(counts.values()))  # noqa: E731
    return _train(text, vocab_size, pattern, top)


def bpe_train_without_chunks(text: str, vocab_size: int, pattern: str = GPT2_SPLIT_PATTERN) -> dict:
    return _train(text, vocab_size, pattern, _smallest_top_pair, split=False)


def bpe_train_ids_from_255(text: str, vocab_size: int, pattern: str = GPT2_SPLIT_PATTERN) -> dict:
    return _train(text, vocab_size, pattern, _smallest_top_pair, first_id=255)


def bpe_encode_most_frequent(text: str, merges: dict, pattern: str = GPT2_SPLIT_PATTERN) -> list[int]:
    ids: list[int] = []
    for chunk in regex.findall(pattern, text):
        chunk_ids = list(chunk.encode("utf-8"))
        while len(chunk_ids) >= 2:
            counts = {p: c for p, c in get_pair_counts(chunk_ids).items() if p in merges}
            if not counts:
                break
            pair = max(counts, key=lambda p: (counts[p], -merges[p]))
            chunk_ids = merge(chunk_ids, pair, merges[pair])
        ids += chunk_ids
    return ids


def bpe_encode_without_chunks(text: str, merges: dict, pattern: str = GPT2_SPLIT_PATTERN) -> list[int]:
    return F.bpe_encode(text, merges, pattern=r"(?s).+")


def bpe_encode_code_points(text: str, merges: dict, pattern: str = GPT2_SPLIT_PATTERN) -> list[int]:
    ids = [ord(character) for character in text]
    for pair, new_id in merges.items():
        ids = merge(ids, pair, new_id)
    return ids


def _token_bytes(merges: dict) -> dict[int, bytes]:
    vocab = {byte: bytes([byte]) for byte in range(256)}
    for (left, right), new_id in merges.items():
        vocab[new_id] = vocab[left] + vocab[right]
    return vocab


def bpe_decode_per_token(ids: list[int], merges: dict) -> str:
    vocab = _token_bytes(merges)
    return "".join(vocab[i].decode("utf-8", errors="replace") for i in ids)


def bpe_decode_latin1(ids: list[int], merges: dict) -> str:
    vocab = _token_bytes(merges)
    return b"".join(vocab[i] for i in ids).decode("latin-1")


def bpe_decode_ignore_errors(ids: list[int], merges: dict) -> str:
    vocab = _token_bytes(merges)
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="ignore")


# lesson 3 ---------------------------------------------------------------------------------


def embed_without_positions(idx: Tensor, token_weight: Tensor, position_weight: Tensor) -> Tensor:
    return token_weight[idx]


def embed_positions_by_token(idx: Tensor, token_weight: Tensor, position_weight: Tensor) -> Tensor:
    return token_weight[idx] + position_weight[idx]


def embed_positions_by_batch(idx: Tensor, token_weight: Tensor, position_weight: Tensor) -> Tensor:
    B = idx.size(0)
    return token_weight[idx] + position_weight[:B, None, :]  # (B, T, C) + (B, 1, C)


# lesson 4 ---------------------------------------------------------------------------------


def softmax_wrong_axis(x: Tensor, dim: int = -1) -> Tensor:
    return softmax(x, dim=0)


def softmax_without_max(x: Tensor, dim: int = -1) -> Tensor:
    exponentials = torch.exp(x)
    return exponentials / exponentials.sum(dim=dim, keepdim=True)


def softmax_nan_on_masked_row(x: Tensor, dim: int = -1) -> Tensor:
    return torch.softmax(x, dim=dim)


def causal_mask_upper(T: int, device=None) -> Tensor:
    return torch.ones(T, T, dtype=torch.bool, device=device).triu()


def causal_mask_without_diagonal(T: int, device=None) -> Tensor:
    return torch.ones(T, T, dtype=torch.bool, device=device).tril(-1)


def causal_mask_float(T: int, device=None) -> Tensor:
    return torch.ones(T, T, device=device).tril()


def attention_mask_after_softmax(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None):
    weights = softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)
    return weights @ v, weights


def attention_without_scale(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None):
    return scaled_dot_product_attention(q * math.sqrt(q.size(-1)), k, v, mask)


def attention_softmax_over_queries(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = softmax(scores, dim=-2)
    return weights @ v, weights


# lesson 5 ---------------------------------------------------------------------------------


def split_heads_without_transpose(x: Tensor, n_head: int) -> Tensor:
    B, T, C = x.shape
    return x.view(B, n_head, T, C // n_head)


def split_heads_time_first(x: Tensor, n_head: int) -> Tensor:
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head)


def split_heads_interleaved(x: Tensor, n_head: int) -> Tensor:
    B, T, C = x.shape
    return x.view(B, T, C // n_head, n_head).permute(0, 3, 1, 2)


def _attention_parts(x, qkv_weight, qkv_bias, n_head):
    C = x.size(-1)
    q, k, v = nn.functional.linear(x, qkv_weight, qkv_bias).split(C, dim=-1)
    return [split_heads(t, n_head) for t in (q, k, v)]


def mha_without_mask(x, qkv_weight, qkv_bias, proj_weight, proj_bias, n_head):
    q, k, v = _attention_parts(x, qkv_weight, qkv_bias, n_head)
    y, _ = scaled_dot_product_attention(q, k, v)
    return nn.functional.linear(merge_heads(y), proj_weight, proj_bias)


def mha_without_projection(x, qkv_weight, qkv_bias, proj_weight, proj_bias, n_head):
    q, k, v = _attention_parts(x, qkv_weight, qkv_bias, n_head)
    y, _ = scaled_dot_product_attention(q, k, v, causal_mask(x.size(1)))
    return merge_heads(y)


def mha_scaled_by_model_width(x, qkv_weight, qkv_bias, proj_weight, proj_bias, n_head):
    q, k, v = _attention_parts(x, qkv_weight, qkv_bias, n_head)
    q = q * math.sqrt(q.size(-1)) / math.sqrt(x.size(-1))  # net scale 1/sqrt(C) instead of 1/sqrt(D)
    y, _ = scaled_dot_product_attention(q, k, v, causal_mask(x.size(1)))
    return nn.functional.linear(merge_heads(y), proj_weight, proj_bias)


# lesson 6 ---------------------------------------------------------------------------------


def layer_norm_unbiased(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    mean = x.mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(x.var(dim=-1, keepdim=True, unbiased=True) + eps) * weight + bias


def layer_norm_without_eps(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    return F.layer_norm(x, weight, bias, eps=0.0)


def layer_norm_eps_outside_sqrt(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    mean = x.mean(dim=-1, keepdim=True)
    return (x - mean) / (x.std(dim=-1, keepdim=True, unbiased=False) + eps) * weight + bias


def gelu_approximate(x: Tensor) -> Tensor:
    return gelu_tanh(x)


def gelu_relu(x: Tensor) -> Tensor:
    return torch.relu(x)


def gelu_sigmoid(x: Tensor) -> Tensor:
    return x * torch.sigmoid(1.702 * x)


def feed_forward_relu(x, fc_weight, fc_bias, proj_weight, proj_bias):
    return nn.functional.linear(torch.relu(nn.functional.linear(x, fc_weight, fc_bias)), proj_weight, proj_bias)


def feed_forward_tanh_gelu(x, fc_weight, fc_bias, proj_weight, proj_bias):
    return nn.functional.linear(gelu_tanh(nn.functional.linear(x, fc_weight, fc_bias)), proj_weight, proj_bias)


def feed_forward_without_activation(x, fc_weight, fc_bias, proj_weight, proj_bias):
    return nn.functional.linear(nn.functional.linear(x, fc_weight, fc_bias), proj_weight, proj_bias)


def _attend(x, p, n_head):
    return F.multi_head_attention(x, p["attention.qkv.weight"], p["attention.qkv.bias"],
                                  p["attention.proj.weight"], p["attention.proj.bias"], n_head)


def _feed(x, p):
    return F.feed_forward(x, p["feedforward.fc.weight"], p["feedforward.fc.bias"],
                          p["feedforward.proj.weight"], p["feedforward.proj.bias"])


def block_post_norm(x, params, n_head):
    x = F.layer_norm(x + _attend(x, params, n_head), params["norm1.weight"], params["norm1.bias"])
    return F.layer_norm(x + _feed(x, params), params["norm2.weight"], params["norm2.bias"])


def block_without_residual(x, params, n_head):
    x = _attend(F.layer_norm(x, params["norm1.weight"], params["norm1.bias"]), params, n_head)
    return _feed(F.layer_norm(x, params["norm2.weight"], params["norm2.bias"]), params)


def block_norm1_twice(x, params, n_head):
    x = x + _attend(F.layer_norm(x, params["norm1.weight"], params["norm1.bias"]), params, n_head)
    return x + _feed(F.layer_norm(x, params["norm1.weight"], params["norm1.bias"]), params)


# lesson 7 ---------------------------------------------------------------------------------


def _without(params: dict, prefix: str, zero: bool = True) -> dict:
    return {k: (torch.zeros_like(v) if k.startswith(prefix) else v) for k, v in params.items()}


def gpt_without_positions(idx, params, n_head):
    return F.gpt_forward(idx, _without(params, "embeddings.position."), n_head)


def gpt_without_final_norm(idx, params, n_head):
    x = F.embed(idx, params["embeddings.token.weight"], params["embeddings.position.weight"])
    n_layer = 1 + max(int(name.split(".")[1]) for name in params if name.startswith("blocks."))
    for layer in range(n_layer):
        prefix = f"blocks.{layer}."
        x = F.transformer_block(x, {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}, n_head)
    return x @ params["embeddings.token.weight"].T


def gpt_returns_probabilities(idx, params, n_head):
    return softmax(F.gpt_forward(idx, params, n_head), dim=-1)


def count_untied_head(vocab_size, context_length, n_layer, d_model, ffn_multiplier=4):
    return F.gpt_parameter_count(vocab_size, context_length, n_layer, d_model, ffn_multiplier) + vocab_size * d_model


def count_without_biases(vocab_size, context_length, n_layer, d_model, ffn_multiplier=4):
    C, hidden = d_model, ffn_multiplier * d_model
    per_layer = 3 * C * C + C * C + 2 * C * hidden + 2 * 2 * C
    return vocab_size * C + context_length * C + n_layer * per_layer + 2 * C


def count_without_positions(vocab_size, context_length, n_layer, d_model, ffn_multiplier=4):
    return F.gpt_parameter_count(vocab_size, context_length, n_layer, d_model, ffn_multiplier) - context_length * d_model


# lesson 8 ---------------------------------------------------------------------------------


def pair_not_shifted(window: Tensor) -> tuple[Tensor, Tensor]:
    return window[:-1], window[:-1]


def pair_shifted_backwards(window: Tensor) -> tuple[Tensor, Tensor]:
    return window[1:], window[:-1]


def pair_full_window(window: Tensor) -> tuple[Tensor, Tensor]:
    return window, torch.roll(window, -1)


def cross_entropy_sum(logits: Tensor, targets: Tensor) -> Tensor:
    return cross_entropy(logits, targets) * targets.numel()


def cross_entropy_naive(logits: Tensor, targets: Tensor) -> Tensor:
    V = logits.size(-1)
    probabilities = torch.exp(logits) / torch.exp(logits).sum(dim=-1, keepdim=True)
    return -torch.log(probabilities.reshape(-1, V).gather(1, targets.reshape(-1, 1))).mean()


def cross_entropy_wrong_sign(logits: Tensor, targets: Tensor) -> Tensor:
    return -cross_entropy(logits, targets)


def step_without_zero_grad(model, optimizer, inputs, targets, max_grad_norm):
    loss = cross_entropy(model(inputs), targets)
    loss.backward()
    clip_gradient_norm(list(model.parameters()), max_grad_norm)
    optimizer.step()
    return loss.item()


def step_without_clipping(model, optimizer, inputs, targets, max_grad_norm):
    optimizer.zero_grad()
    loss = cross_entropy(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_clips_after_update(model, optimizer, inputs, targets, max_grad_norm):
    optimizer.zero_grad()
    loss = cross_entropy(model(inputs), targets)
    loss.backward()
    optimizer.step()
    clip_gradient_norm(list(model.parameters()), max_grad_norm)
    return loss.item()


def lr_without_warmup(progress: float, max_lr: float, min_lr: float, warmup: float) -> float:
    return learning_rate(progress, max_lr, min_lr, 0.0)


def lr_linear_decay(progress: float, max_lr: float, min_lr: float, warmup: float) -> float:
    if progress < warmup:
        return max_lr * progress / warmup
    return max_lr - (max_lr - min_lr) * (progress - warmup) / (1.0 - warmup)


def lr_decays_to_zero(progress: float, max_lr: float, min_lr: float, warmup: float) -> float:
    return learning_rate(progress, max_lr, 0.0, warmup)


# lesson 9 ---------------------------------------------------------------------------------


def probabilities_soft_top_k(logits: Tensor, temperature: float = 1.0, top_k=None, top_p=None) -> Tensor:
    if top_k is None or top_k >= logits.size(-1) or temperature == 0:
        return next_token_probabilities(logits, temperature, top_k, top_p)
    logits = logits / temperature
    kth_largest = torch.topk(logits, top_k, dim=-1).values[..., -1:]
    # Pushing dropped logits down by a constant still leaves them a little probability.
    logits = torch.where(logits < kth_largest, logits - 10.0, logits)
    return next_token_probabilities(logits, 1.0, None, top_p)


def probabilities_divide_by_zero(logits: Tensor, temperature: float = 1.0, top_k=None, top_p=None) -> Tensor:
    if temperature == 0:
        return softmax(logits / torch.tensor(0.0), dim=-1)
    return next_token_probabilities(logits, temperature, top_k, top_p)


def probabilities_times_temperature(logits: Tensor, temperature: float = 1.0, top_k=None, top_p=None) -> Tensor:
    if temperature == 0:
        return next_token_probabilities(logits, 0, top_k, top_p)
    return next_token_probabilities(logits * temperature * temperature, temperature, top_k, top_p)


def probabilities_nucleus_too_small(logits: Tensor, temperature: float = 1.0, top_k=None, top_p=None) -> Tensor:
    probabilities = next_token_probabilities(logits, temperature, top_k, None)
    if top_p is None or top_p >= 1.0 or temperature == 0:
        return probabilities
    sorted_probabilities, order = probabilities.sort(dim=-1, descending=True)
    keep_sorted = sorted_probabilities.cumsum(dim=-1) <= top_p  # drops the token that crosses top_p
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
    kept = probabilities * keep
    return kept / kept.sum(dim=-1, keepdim=True)
