"""The exercises of the course, in lesson order, with their inputs, properties and mistakes.

Inputs come from a seeded generator. "small" is a typical input, "edge" the smallest legal one
(B = 1, T = 1, empty text), "large" the input of the hidden check.
"""

import torch

from grader import mistakes as m  # noqa: F401 (the mistakes are referenced below)
from grader.checks import Exercise, Mistake, Property
from grader.worker import TinyLanguageModel
from reference import functional as F
from reference import text
from reference.attention import causal_mask, scaled_dot_product_attention, softmax
from reference.batching import next_token_pair
from reference.bpe import get_pair_counts, merge
from reference.config import GPTConfig
from reference.gelu import gelu
from reference.loss import cross_entropy
from reference.model import GPT
from reference.multihead import split_heads
from reference.sampling import next_token_probabilities
from reference.schedule import learning_rate

# B, T, C, H for each size
SHAPES = {"small": (2, 5, 8, 2), "edge": (1, 1, 4, 1), "large": (3, 12, 16, 4)}
ALPHABET = "abcde éü🙂\n"


def _text(generator, size) -> str:
    length = {"small": 40, "edge": 0, "large": 120}[size]
    picks = torch.randint(len(ALPHABET), (length,), generator=generator).tolist()
    return "".join(ALPHABET[i] for i in picks)


def _ids(generator, size, high=6) -> list[int]:
    length = {"small": 20, "edge": 1, "large": 60}[size]
    return torch.randint(high, (length,), generator=generator).tolist()


def _randn(generator, *shape, scale=1.0):
    return torch.randn(*shape, generator=generator) * scale


def _merges(generator, size):
    return F.bpe_train(_text(generator, "large") * 2, 256 + 12)


def _block_params(generator, C):
    block = GPT(GPTConfig(vocab_size=8, context_length=4, n_layer=1, n_head=1, d_model=C)).blocks[0]
    return {k: v + 0.1 * torch.randn(v.shape, generator=generator) for k, v in block.state_dict().items()}


def _gpt_params(generator, size):
    B, T, C, H = SHAPES[size]
    config = GPTConfig(vocab_size=11, context_length=max(T, 2), n_layer=2, n_head=H, d_model=C)
    torch.manual_seed(int(torch.randint(1 << 30, (1,), generator=generator)))
    state = GPT(config).state_dict()
    params = {k: v + 0.1 * torch.randn(v.shape, generator=generator) for k, v in state.items() if k != "lm_head.weight"}
    idx = torch.randint(11, (B, T), generator=generator)
    return [idx, params, H], {}


def _causal(index_of_sequence, time_axis):
    """Property: changing the last time step of one input leaves every earlier output unchanged."""

    def make_calls(generator, make):
        args, kwargs = make(generator)
        changed = [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
        target = changed[index_of_sequence]
        if target.is_floating_point():
            target.select(time_axis, -1).add_(5.0)
        else:
            target.select(time_axis, -1).add_(1).remainder_(target.max() + 1)
        return [(args, kwargs), (changed, kwargs)]

    def holds(calls, outputs):
        first, second = (o[0] if isinstance(o, tuple) else o for o in outputs)
        T = first.size(time_axis)
        if T > 1 and not torch.allclose(first.narrow(time_axis, 0, T - 1), second.narrow(time_axis, 0, T - 1), atol=1e-5):
            return "changing the last token changed the outputs at earlier positions, so the future leaks into the past"
        return None

    return make_calls, holds


def _property(name, make, kind, **options):
    if kind == "causal":
        make_calls, holds = _causal(options["index"], options.get("axis", 1))
        return Property(name, lambda g: make_calls(g, make), holds)
    raise ValueError(kind)


def _rows_sum_to_one(name, make, pick=lambda output: output):
    def holds(calls, outputs):
        rows = pick(outputs[0]).sum(-1)
        if not torch.allclose(rows, torch.ones_like(rows), atol=1e-5):
            return f"rows sum to {rows.flatten()[:4].tolist()}, not 1 (tolerance 1e-5)"
        return None
    return Property(name, lambda g: [make(g)], holds)


# ------------------------------------------------------------------------------------------
# input makers, one per exercise: (generator, size) -> (args, kwargs)

def _utf8_inputs(g, size):
    return [_text(g, size)], {}


def _char_encode_inputs(g, size):
    sample = _text(g, size)
    return [sample, text.build_char_vocab(ALPHABET)], {}


def _pair_counts_inputs(g, size):
    counts = {(0, 1): 3} if size == "small" else None
    return [_ids(g, size), counts], {}


def _merge_inputs(g, size):
    ids = _ids(g, size, high=3) + ([1, 1, 1] if size != "edge" else [])
    return [ids, (1, 1), 99], {}


def _bpe_train_inputs(g, size):
    return [_text(g, size) * 2, 256 + {"small": 8, "edge": 3, "large": 20}[size]], {}


# Here the most frequent pair ("bc") is not the earliest-learned one ("ab"), so encoding by
# frequency instead of by merge order gives different ids. "c " spans two chunks, so only
# encoding that ignores the chunks merges it.
HANDMADE_MERGES = {(97, 98): 256, (98, 99): 257, (256, 99): 258, (99, 32): 259}


def _bpe_encode_inputs(g, size):
    if size == "small":
        picks = torch.randint(4, (30,), generator=g).tolist()
        return ["".join("abc "[i] for i in picks) + " bcbcabc", HANDMADE_MERGES], {}
    return [_text(g, size), _merges(g, size)], {}


def _bpe_decode_inputs(g, size):
    merges = _merges(g, size)
    ids = F.bpe_encode(_text(g, size), merges)
    # Single bytes of multi-byte characters: only decoding all bytes together restores them.
    extra = list("é🙂".encode("utf-8")) + [0xE2] if size == "small" else []
    return [ids + extra, merges], {}


def _embed_inputs(g, size):
    B, T, C, _ = SHAPES[size]
    return [torch.randint(7, (B, T), generator=g), _randn(g, 7, C), _randn(g, T + 2, C)], {}


def _softmax_inputs(g, size):
    B, T, C, _ = SHAPES[size]
    x = _randn(g, B, T, scale=3.0)
    if size == "small":
        x[0, 0] = 1000.0  # overflows exp() without the max subtracted
        x[1] = float("-inf")  # a fully masked row
    return [x], {"dim": -1}


def _causal_mask_inputs(g, size):
    return [SHAPES[size][1]], {}


def _attention_inputs(g, size):
    B, T, C, H = SHAPES[size]
    D = C // H
    return [_randn(g, B, H, T, D), _randn(g, B, H, T, D), _randn(g, B, H, T, D), causal_mask(T)], {}


def _split_heads_inputs(g, size):
    B, T, C, H = SHAPES[size]
    return [_randn(g, B, T, C), max(H, 2) if C % max(H, 2) == 0 else H], {}


def _mha_inputs(g, size):
    B, T, C, H = SHAPES[size]
    return [_randn(g, B, T, C), _randn(g, 3 * C, C, scale=0.3), _randn(g, 3 * C, scale=0.1),
            _randn(g, C, C, scale=0.3), _randn(g, C, scale=0.1), H], {}


def _layer_norm_inputs(g, size):
    B, T, C, _ = SHAPES[size]
    x = _randn(g, B, T, C, scale=2.0) + 1.0
    if size == "small":
        x[0, 0] = 3.0  # a constant row: variance 0, where eps prevents dividing by zero
    return [x, _randn(g, C) + 1.0, _randn(g, C)], {"eps": 1e-5}


def _gelu_inputs(g, size):
    B, T, C, _ = SHAPES[size]
    return [_randn(g, B, T, C, scale=2.0)], {}


def _feed_forward_inputs(g, size):
    B, T, C, _ = SHAPES[size]
    return [_randn(g, B, T, C), _randn(g, 4 * C, C, scale=0.5), _randn(g, 4 * C, scale=0.1),
            _randn(g, C, 4 * C, scale=0.5), _randn(g, C, scale=0.1)], {}


def _block_inputs(g, size):
    B, T, C, H = SHAPES[size]
    return [_randn(g, B, T, C), _block_params(g, C), H], {}


def _parameter_count_inputs(g, size):
    if size == "edge":
        return [1, 1, 1, 4], {"ffn_multiplier": 1}
    values = torch.randint(1, 64, (4,), generator=g).tolist()
    return [values[0] * 7, values[1], values[2] % 6 + 1, 8 * (values[3] % 8 + 1)], {"ffn_multiplier": 4}


def _pair_inputs(g, size):
    length = {"small": 9, "edge": 2, "large": 65}[size]
    return [torch.randint(50, (length,), generator=g)], {}


def _cross_entropy_inputs(g, size):
    B, T, C, _ = SHAPES[size]
    logits = _randn(g, B, T, 7, scale=2.0)
    if size == "small":
        logits[0, 0, 0] = 200.0  # overflows a naive exp()
    return [logits, torch.randint(7, (B, T), generator=g)], {}


def _training_step_inputs(g, size):
    B, T, _, _ = SHAPES[size]
    V, C = 9, 6
    torch.manual_seed(int(torch.randint(1 << 30, (1,), generator=g)))
    state = TinyLanguageModel(V, C).state_dict()
    batches = [(torch.randint(V, (B, T), generator=g), torch.randint(V, (B, T), generator=g)) for _ in range(2)]
    setup = {"vocab_size": V, "d_model": C, "state": state, "lr": 0.05, "weight_decay": 0.1,
             "max_grad_norm": 0.05, "batches": batches}
    return [setup], {}


def _learning_rate_inputs(g, size):
    progress = {"small": 0.05, "edge": 0.0, "large": 0.7}[size] + float(torch.rand(1, generator=g)) * 0.01
    return [progress, 1e-3, 1e-4], {"warmup": 0.1}


def _sampling_inputs(g, size):
    B, T, C, _ = SHAPES[size]
    logits = _randn(g, max(B, 2), 10, scale=2.0)
    settings = {"small": {"temperature": 0.7, "top_k": 4, "top_p": 0.8},
                "edge": {"temperature": 0, "top_k": None, "top_p": None},
                "large": {"temperature": 1.3, "top_k": 6, "top_p": 0.9}}[size]
    return [logits], settings


def _learning_rate_curve(g):
    return [([p / 10, 1e-3, 1e-4], {"warmup": 0.2}) for p in range(11)]


def _lr_holds(calls, outputs):
    for (args, _), value in zip(calls, outputs):
        if not (1e-4 - 1e-12 <= value <= 1e-3 + 1e-12) and args[0] >= 0.2:
            return f"at progress {args[0]} the rate {value} leaves [min_lr, max_lr] after warm-up"
    if abs(outputs[-1] - 1e-4) > 1e-9:
        return f"the last step's rate is {outputs[-1]}, not min_lr = 0.0001"
    return None


def _roundtrip(decode):
    def holds(calls, outputs):
        (args, _), ids = calls[0], outputs[0]
        try:
            decoded = decode(ids, args[1])
        except (KeyError, ValueError, TypeError, IndexError) as error:
            return f"the ids could not be decoded with the reference decoder: {type(error).__name__}: {error}"
        return None if decoded == args[0] else f"decode(encode(s)) gave {decoded[:30]!r}, not {args[0][:30]!r}"
    return holds


def _exactly_zero_outside_top_k(calls, outputs):
    (args, kwargs), probabilities = calls[0], outputs[0]
    kept = (probabilities > 0).sum(-1)
    if (kept > kwargs["top_k"]).any():
        return f"{kept.max().item()} tokens have non-zero probability with top_k = {kwargs['top_k']}; dropped tokens must get exactly 0"
    return None


def _make(inputs, size="small"):
    return lambda g: inputs(g, size)


EXERCISES: tuple[Exercise, ...] = (
    Exercise("utf8_bytes", 1, "UTF-8 bytes of a text", "exercises.lesson01_text", text.utf8_bytes, _utf8_inputs, (
        Mistake(m.utf8_code_points, "you returned Unicode code points (ord); encode the text to UTF-8 bytes instead"),
        Mistake(m.utf8_as_utf16, "you encoded to UTF-16; use UTF-8"),
        Mistake(m.utf8_cut_to_characters, "you kept one byte per character; a non-ASCII character takes 2 to 4 bytes"))),
    Exercise("char_encode", 1, "Character tokenizer: encode", "exercises.lesson01_text", text.char_encode, _char_encode_inputs, (
        Mistake(m.char_encode_from_one, "ids are off by one: use the vocabulary's ids as they are, starting at 0"),
        Mistake(m.char_encode_code_points, "you returned code points (ord); look each character up in vocab"),
        Mistake(m.char_encode_bytes, "you returned UTF-8 bytes; a character tokenizer gives one id per character")),
        properties=(Property("decode(encode(s)) == s", lambda g: [_char_encode_inputs(g, "small")], _roundtrip(text.char_decode)),)),
    Exercise("get_pair_counts", 2, "BPE: count adjacent pairs", "exercises.lesson02_bpe", get_pair_counts, _pair_counts_inputs, (
        Mistake(m.pair_counts_wrap_around, "you counted a pair from the last id back to the first; pairs do not wrap around"),
        Mistake(m.pair_counts_unordered, "you counted (a, b) and (b, a) together; pairs are ordered"),
        Mistake(m.pair_counts_ignore_existing, "you ignored the counts argument; add to it in place and return it"))),
    Exercise("merge", 2, "BPE: merge one pair", "exercises.lesson02_bpe", merge, _merge_inputs, (
        Mistake(m.merge_overlapping, "occurrences overlapped: after a merge, skip both ids of the pair"),
        Mistake(m.merge_first_only, "you replaced only the first occurrence; replace every one"),
        Mistake(m.merge_drops_last, "the last id went missing: keep an id that has no right neighbour"))),
    Exercise("bpe_train", 2, "BPE: train merges", "exercises.lesson02_bpe", F.bpe_train, _bpe_train_inputs, (
        Mistake(m.bpe_train_largest_tie, "ties broke the wrong way: among the most frequent pairs, merge the smallest (left id, right id)"),
        Mistake(m.bpe_train_without_chunks, "merges crossed chunk boundaries: pretokenize with the pattern first and count pairs within chunks"),
        Mistake(m.bpe_train_ids_from_255, "new ids must start at 256, right after the 256 byte tokens"))),
    Exercise("bpe_encode", 2, "BPE: encode text", "exercises.lesson02_bpe", F.bpe_encode, _bpe_encode_inputs, (
        Mistake(m.bpe_encode_most_frequent, "you merged the most frequent pair; encoding applies the earliest-learned merge (lowest new id) first"),
        Mistake(m.bpe_encode_without_chunks, "merges crossed chunk boundaries: split the text with the pattern first"),
        Mistake(m.bpe_encode_code_points, "you started from code points; start from the text's UTF-8 bytes")),
        properties=(Property("decode(encode(s)) == s", lambda g: [_bpe_encode_inputs(g, "small")], _roundtrip(F.bpe_decode)),)),
    Exercise("bpe_decode", 2, "BPE: decode ids", "exercises.lesson02_bpe", F.bpe_decode, _bpe_decode_inputs, (
        Mistake(m.bpe_decode_per_token, "you decoded each token on its own; join all the bytes first, because a character can span tokens"),
        Mistake(m.bpe_decode_latin1, "you decoded as Latin-1; decode the bytes as UTF-8"),
        Mistake(m.bpe_decode_ignore_errors, "invalid bytes vanished: decode with errors='replace' so they become U+FFFD"))),
    Exercise("embed", 3, "Token and position embeddings", "exercises.lesson03_embeddings", F.embed, _embed_inputs, (
        Mistake(m.embed_without_positions, "the position embedding is missing: add position_weight[t] at time step t"),
        Mistake(m.embed_positions_by_token, "you indexed positions by token id; index them by time step 0..T-1"),
        Mistake(m.embed_positions_by_batch, "you indexed positions by batch index; index them by time step")),
        grad_wrt=(1, 2)),
    Exercise("softmax", 4, "Numerically stable softmax", "exercises.lesson04_attention", softmax, _softmax_inputs, (
        Mistake(m.softmax_wrong_axis, "softmax ran over the wrong axis: normalize along dim"),
        Mistake(m.softmax_without_max, "exp() overflowed: subtract the maximum of each row before exp()"),
        Mistake(m.softmax_nan_on_masked_row, "a row that is entirely -inf must give zeros, not NaN")),
        grad_wrt=(0,), properties=(_rows_sum_to_one("rows sum to 1", lambda g: _softmax_inputs(g, "large")),)),
    Exercise("causal_mask", 4, "The causal mask", "exercises.lesson04_attention", causal_mask, _causal_mask_inputs, (
        Mistake(m.causal_mask_upper, "the mask lets queries see the future: keep j <= i (lower triangle), not j >= i"),
        Mistake(m.causal_mask_without_diagonal, "the diagonal is missing: a token may attend to itself"),
        Mistake(m.causal_mask_float, "return a boolean mask (dtype torch.bool), not floats"))),
    Exercise("scaled_dot_product_attention", 4, "Scaled dot-product attention", "exercises.lesson04_attention",
             scaled_dot_product_attention, _attention_inputs, (
        Mistake(m.attention_mask_after_softmax, "the mask was applied after the softmax; fill hidden scores with -inf before it"),
        Mistake(m.attention_without_scale, "the 1/sqrt(D) scale is missing from the scores"),
        Mistake(m.attention_softmax_over_queries, "softmax ran over the queries axis; normalize over the keys (last axis)")),
        grad_wrt=(0, 1, 2), properties=(
            _property("causality", _make(_attention_inputs, "large"), "causal", index=1, axis=2),
            _rows_sum_to_one("attention weight rows sum to 1", _make(_attention_inputs, "large"), pick=lambda o: o[1]))),
    Exercise("split_heads", 5, "Split into heads", "exercises.lesson05_multihead", split_heads, _split_heads_inputs, (
        Mistake(m.split_heads_without_transpose, "you reshaped straight to (B, H, T, D); view as (B, T, H, D), then transpose(1, 2)"),
        Mistake(m.split_heads_time_first, "the output is (B, T, H, D); transpose it to (B, H, T, D)"),
        Mistake(m.split_heads_interleaved, "heads are interleaved: head h must get the contiguous channels h*D .. (h+1)*D - 1"))),
    Exercise("multi_head_attention", 5, "Multi-head attention", "exercises.lesson05_multihead", F.multi_head_attention, _mha_inputs, (
        Mistake(m.mha_without_mask, "the causal mask is missing: a position must not attend to later ones"),
        Mistake(m.mha_without_projection, "the output projection is missing: apply proj_weight and proj_bias after merging heads"),
        Mistake(m.mha_scaled_by_model_width, "scale the scores by 1/sqrt(D), the head width, not 1/sqrt(C)")),
        grad_wrt=(0,), properties=(_property("causality", _make(_mha_inputs, "large"), "causal", index=0),)),
    Exercise("layer_norm", 6, "LayerNorm", "exercises.lesson06_block", F.layer_norm, _layer_norm_inputs, (
        Mistake(m.layer_norm_unbiased, "you used the unbiased variance (divide by C - 1); LayerNorm divides by C"),
        Mistake(m.layer_norm_without_eps, "eps is missing: add it to the variance so a constant row does not divide by zero"),
        Mistake(m.layer_norm_eps_outside_sqrt, "eps belongs inside the square root: (x - mean) / sqrt(var + eps)")),
        grad_wrt=(0, 1, 2)),
    Exercise("gelu", 6, "GELU", "exercises.lesson06_block", gelu, _gelu_inputs, (
        Mistake(m.gelu_approximate, "this is the tanh approximation; the exercise asks for the exact GELU with erf"),
        Mistake(m.gelu_relu, "this is ReLU; GELU is x * Phi(x), with Phi the standard normal CDF"),
        Mistake(m.gelu_sigmoid, "this is the sigmoid approximation x * sigmoid(1.702 x); use erf")),
        grad_wrt=(0,), atol=1e-6, rtol=1e-5),
    Exercise("feed_forward", 6, "Feed-forward network", "exercises.lesson06_block", F.feed_forward, _feed_forward_inputs, (
        Mistake(m.feed_forward_relu, "the activation is ReLU; use the exact GELU"),
        Mistake(m.feed_forward_tanh_gelu, "the activation is the tanh GELU; use the exact GELU with erf"),
        Mistake(m.feed_forward_without_activation, "the activation is missing between the two layers")),
        grad_wrt=(0,)),
    Exercise("transformer_block", 6, "The pre-norm transformer block", "exercises.lesson06_block", F.transformer_block, _block_inputs, (
        Mistake(m.block_post_norm, "this is post-norm; normalize the input of each sublayer: x + attention(norm1(x))"),
        Mistake(m.block_without_residual, "the residual connections are missing: add each sublayer's output to x"),
        Mistake(m.block_norm1_twice, "norm1 was used twice; the feed-forward sublayer has its own norm2")),
        grad_wrt=(0,), atol=1e-4, properties=(_property("causality", _make(_block_inputs, "large"), "causal", index=0),)),
    Exercise("gpt_forward", 7, "The GPT forward pass", "exercises.lesson07_gpt", F.gpt_forward, _gpt_params, (
        Mistake(m.gpt_without_positions, "the position embeddings are missing"),
        Mistake(m.gpt_without_final_norm, "the final LayerNorm before the head is missing"),
        Mistake(m.gpt_returns_probabilities, "return logits, not probabilities: no softmax at the end")),
        atol=1e-4, properties=(_property("causality", _make(_gpt_params, "large"), "causal", index=0),)),
    Exercise("gpt_parameter_count", 7, "Counting parameters", "exercises.lesson07_gpt", F.gpt_parameter_count, _parameter_count_inputs, (
        Mistake(m.count_untied_head, "the head shares the token embedding (weight tying), so it adds no parameters"),
        Mistake(m.count_without_biases, "the biases (and LayerNorm shifts) are missing"),
        Mistake(m.count_without_positions, "the position embeddings (context_length x d_model) are missing"))),
    Exercise("next_token_pair", 8, "Next-token inputs and targets", "exercises.lesson08_training", next_token_pair, _pair_inputs, (
        Mistake(m.pair_not_shifted, "targets are not shifted: the target at t is the token at t + 1"),
        Mistake(m.pair_shifted_backwards, "inputs and targets are swapped: inputs are window[:-1], targets window[1:]"),
        Mistake(m.pair_full_window, "use T inputs and T targets from a window of T + 1; do not wrap around"))),
    Exercise("cross_entropy", 8, "Cross-entropy loss", "exercises.lesson08_training", cross_entropy, _cross_entropy_inputs, (
        Mistake(m.cross_entropy_sum, "you summed the losses; take the mean over all positions"),
        Mistake(m.cross_entropy_naive, "exp() overflowed: use log-sum-exp (subtract the maximum) instead of log(softmax)"),
        Mistake(m.cross_entropy_wrong_sign, "the sign is flipped: the loss is the negative log-probability")),
        grad_wrt=(0,)),
    Exercise("training_step", 8, "One training step", "exercises.lesson08_training", F.training_step, _training_step_inputs, (
        Mistake(m.step_without_zero_grad, "gradients piled up across steps: call optimizer.zero_grad() before backward()"),
        Mistake(m.step_without_clipping, "gradients were not clipped: clip the global norm to max_grad_norm before optimizer.step()"),
        Mistake(m.step_clips_after_update, "you clipped after optimizer.step(); clip before it, or it has no effect")),
        kind="training_step", atol=1e-5),
    Exercise("learning_rate", 8, "Warm-up and cosine decay", "exercises.lesson08_training", learning_rate, _learning_rate_inputs, (
        Mistake(m.lr_without_warmup, "the warm-up is missing: climb linearly from 0 to max_lr during the warmup fraction"),
        Mistake(m.lr_linear_decay, "the decay is linear; use half a cosine from max_lr to min_lr"),
        Mistake(m.lr_decays_to_zero, "the rate decays to 0; it must end at min_lr")),
        atol=1e-9, rtol=1e-6, properties=(Property("stays within [min_lr, max_lr] and ends at min_lr", _learning_rate_curve, _lr_holds),)),
    Exercise("next_token_probabilities", 9, "Temperature, top-k and top-p", "exercises.lesson09_sampling",
             next_token_probabilities, _sampling_inputs, (
        Mistake(m.probabilities_soft_top_k, "top-k left dropped tokens a small non-zero probability; set their logits to -inf"),
        Mistake(m.probabilities_divide_by_zero, "temperature 0 divided by zero; treat it as greedy: all probability on the arg-max"),
        Mistake(m.probabilities_times_temperature, "divide the logits by the temperature, do not multiply"),
        Mistake(m.probabilities_nucleus_too_small, "top-p dropped the token that crosses p; keep tokens while the mass before them is below p")),
        properties=(
            _rows_sum_to_one("probabilities sum to 1", _make(_sampling_inputs, "small")),
            Property("tokens outside the top k get exactly 0", _make(_sampling_inputs, "small") and (lambda g: [([_randn(g, 3, 10)], {"top_k": 3})]), _exactly_zero_outside_top_k))),
)

BY_ID = {exercise.id: exercise for exercise in EXERCISES}
