"""The reference model pieces agree with PyTorch's own building blocks and keep their promises."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.fused_baseline import FusedGPT
from reference.attention import causal_mask, scaled_dot_product_attention, softmax
from reference.block import TransformerBlock
from reference.config import GPTConfig, preset
from reference.gelu import gelu, gelu_tanh
from reference.layernorm import LayerNorm, layer_norm
from reference.model import GPT, count_parameters
from reference.multihead import MultiHeadAttention, merge_heads, split_heads

# float32 agreement: the same maths in a different order differs by a few ulps per step.
ATOL = 1e-5


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(0)


def test_softmax_matches_torch(generator):
    x = torch.randn(4, 7, generator=generator) * 10
    torch.testing.assert_close(softmax(x), torch.softmax(x, dim=-1), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(softmax(x, dim=0), torch.softmax(x, dim=0), atol=1e-6, rtol=1e-6)


def test_softmax_survives_huge_logits():
    result = softmax(torch.tensor([1000.0, 1001.0]))
    torch.testing.assert_close(result, torch.tensor([0.2689414, 0.7310586]))


def test_softmax_fully_masked_row_is_zero():
    x = torch.tensor([[float("-inf")] * 3, [0.0, float("-inf"), 0.0]])
    result = softmax(x)
    assert not torch.isnan(result).any()
    assert result[0].tolist() == [0.0, 0.0, 0.0]
    assert result[1].tolist() == [0.5, 0.0, 0.5]


def test_causal_mask_is_lower_triangular():
    mask = causal_mask(4)
    assert mask.dtype == torch.bool
    assert torch.equal(mask, torch.tril(torch.ones(4, 4)).bool())


@pytest.mark.parametrize("T", [1, 5, 33])
def test_attention_matches_pytorch_sdpa(T, generator):
    q, k, v = (torch.randn(2, 3, T, 8, generator=generator) for _ in range(3))
    output, weights = scaled_dot_product_attention(q, k, v, mask=causal_mask(T))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(output, expected, atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, T))
    assert torch.all(weights.triu(diagonal=1) == 0)


def test_attention_fully_masked_row_is_defined(generator):
    q, k, v = (torch.randn(1, 3, 4, generator=generator) for _ in range(3))
    mask = torch.tensor([[False, False, False], [True, False, False], [True, True, False]])
    output, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    assert not torch.isnan(output).any()
    assert torch.all(output[0, 0] == 0)
    assert torch.all(weights[0, 0] == 0)


def test_attention_gradients_pass_gradcheck(generator):
    q, k, v = (torch.randn(1, 2, 4, 3, dtype=torch.float64, generator=generator, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, causal_mask(4))[0], (q, k, v))


def test_split_and_merge_heads_roundtrip(generator):
    x = torch.randn(2, 5, 12, generator=generator)
    heads = split_heads(x, n_head=3)
    assert heads.shape == (2, 3, 5, 4)
    assert torch.equal(heads[:, 1], x[..., 4:8])
    assert torch.equal(merge_heads(heads), x)


def test_split_heads_docstring_example():
    assert split_heads(torch.arange(8.0).view(1, 2, 4), n_head=2)[0, 1].tolist() == [[2.0, 3.0], [6.0, 7.0]]


def test_multihead_readable_and_fused_paths_agree(generator):
    torch.manual_seed(0)
    attention = MultiHeadAttention(preset("tiny"))
    x = torch.randn(2, 9, 32, generator=generator)
    fused, no_weights = attention(x)
    readable, weights = attention(x, return_attention=True)
    assert no_weights is None
    assert weights.shape == (2, 2, 9, 9)
    torch.testing.assert_close(fused, readable, atol=ATOL, rtol=1e-5)


def test_multihead_matches_nn_multihead_attention(generator):
    torch.manual_seed(0)
    config = preset("tiny")
    ours = MultiHeadAttention(config)
    theirs = nn.MultiheadAttention(config.d_model, config.n_head, batch_first=True)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(ours.qkv.weight)
        theirs.in_proj_bias.copy_(ours.qkv.bias)
        theirs.out_proj.weight.copy_(ours.proj.weight)
        theirs.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(3, 6, config.d_model, generator=generator)
    expected, expected_weights = theirs(x, x, x, attn_mask=~causal_mask(6), average_attn_weights=False)
    output, weights = ours(x, return_attention=True)
    torch.testing.assert_close(output, expected, atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(weights, expected_weights, atol=ATOL, rtol=1e-5)


@pytest.mark.parametrize("bias", [True, False])
def test_layernorm_matches_nn_layernorm(bias, generator):
    ours = LayerNorm(16, bias=bias)
    theirs = nn.LayerNorm(16, bias=bias)
    with torch.no_grad():
        ours.weight.copy_(torch.randn(16, generator=generator))
        theirs.weight.copy_(ours.weight)
        if bias:
            ours.bias.copy_(torch.randn(16, generator=generator))
            theirs.bias.copy_(ours.bias)
    x = torch.randn(2, 5, 16, generator=generator) * 3 + 1
    torch.testing.assert_close(ours(x), theirs(x), atol=ATOL, rtol=1e-5)


def test_readable_layer_norm_matches_torch(generator):
    x = torch.randn(3, 4, 10, generator=generator) * 5 - 2
    weight = torch.randn(10, generator=generator)
    bias = torch.randn(10, generator=generator)
    expected = F.layer_norm(x, (10,), weight, bias, eps=1e-5)
    torch.testing.assert_close(layer_norm(x, weight, bias), expected, atol=ATOL, rtol=1e-5)


def test_readable_layer_norm_gradients_pass_gradcheck(generator):
    x, weight, bias = (torch.randn(*shape, dtype=torch.float64, generator=generator, requires_grad=True) for shape in ((2, 5), (5,), (5,)))
    assert torch.autograd.gradcheck(layer_norm, (x, weight, bias))


def test_layernorm_constant_input_is_finite():
    output = LayerNorm(8)(torch.full((1, 8), 3.0))
    assert torch.isfinite(output).all()
    assert torch.all(output == 0)


def test_layernorm_gradients_pass_gradcheck(generator):
    norm = LayerNorm(6).double()
    x = torch.randn(3, 6, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(norm, (x,))


def test_gelu_matches_torch(generator):
    x = torch.linspace(-6, 6, 101)
    torch.testing.assert_close(gelu(x), F.gelu(x), atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(gelu_tanh(x), F.gelu(x, approximate="tanh"), atol=1e-6, rtol=1e-6)


def test_gelu_gradient_matches_torch():
    x = torch.linspace(-4, 4, 33, requires_grad=True)
    (ours,) = torch.autograd.grad(gelu(x).sum(), x)
    (theirs,) = torch.autograd.grad(F.gelu(x).sum(), x)
    torch.testing.assert_close(ours, theirs, atol=1e-6, rtol=1e-6)


def test_gelu_tanh_differs_from_exact():
    x = torch.tensor([-1.0, 1.0])
    gap = (gelu(x) - gelu_tanh(x)).abs().max().item()
    assert 1e-5 < gap < 1e-3


def _encoder_layer_like(block: TransformerBlock, config: GPTConfig) -> nn.TransformerEncoderLayer:
    layer = nn.TransformerEncoderLayer(
        config.d_model, config.n_head, dim_feedforward=config.ffn_multiplier * config.d_model,
        dropout=0.0, activation="gelu", batch_first=True, norm_first=True,
    )
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(block.attention.qkv.weight)
        layer.self_attn.in_proj_bias.copy_(block.attention.qkv.bias)
        layer.self_attn.out_proj.weight.copy_(block.attention.proj.weight)
        layer.self_attn.out_proj.bias.copy_(block.attention.proj.bias)
        layer.linear1.weight.copy_(block.feedforward.fc.weight)
        layer.linear1.bias.copy_(block.feedforward.fc.bias)
        layer.linear2.weight.copy_(block.feedforward.proj.weight)
        layer.linear2.bias.copy_(block.feedforward.proj.bias)
        for ours, theirs in ((block.norm1, layer.norm1), (block.norm2, layer.norm2)):
            theirs.weight.copy_(ours.weight)
            theirs.bias.copy_(ours.bias)
    return layer.eval()


def test_block_matches_transformer_encoder_layer(generator):
    torch.manual_seed(0)
    config = preset("tiny")
    block = TransformerBlock(config).eval()
    layer = _encoder_layer_like(block, config)
    x = torch.randn(2, 7, config.d_model, generator=generator)
    expected = layer(x, src_mask=nn.Transformer.generate_square_subsequent_mask(7), is_causal=True)
    output, _ = block(x)
    torch.testing.assert_close(output, expected, atol=ATOL, rtol=1e-5)


def test_model_matches_fused_baseline_with_same_weights(generator):
    torch.manual_seed(0)
    config = preset("tiny")
    model, baseline = GPT(config).eval(), FusedGPT(config).eval()
    ours = model.state_dict()
    renamed = {
        "token.weight": ours["embeddings.token.weight"], "position.weight": ours["embeddings.position.weight"],
        "final_norm.weight": ours["final_norm.weight"], "final_norm.bias": ours["final_norm.bias"],
        "lm_head.weight": ours["lm_head.weight"],
    }
    for i in range(config.n_layer):
        for theirs_name, ours_name in (
            ("norm1", "norm1"), ("qkv", "attention.qkv"), ("proj", "attention.proj"),
            ("norm2", "norm2"), ("fc", "feedforward.fc"), ("fc_proj", "feedforward.proj"),
        ):
            for kind in ("weight", "bias"):
                renamed[f"blocks.{i}.{theirs_name}.{kind}"] = ours[f"blocks.{i}.{ours_name}.{kind}"]
    baseline.load_state_dict(renamed)
    idx = torch.randint(0, config.vocab_size, (2, 20), generator=generator)
    torch.testing.assert_close(model(idx), baseline(idx), atol=1e-4, rtol=1e-4)


def test_model_is_causal(generator):
    torch.manual_seed(0)
    model = GPT(preset("tiny")).eval()
    idx = torch.randint(0, 256, (1, 16), generator=generator)
    changed = idx.clone()
    changed[0, 10:] = (changed[0, 10:] + 1) % 256
    logits, changed_logits = model(idx), model(changed)
    torch.testing.assert_close(logits[:, :10], changed_logits[:, :10], atol=0, rtol=0)
    assert not torch.allclose(logits[:, 10:], changed_logits[:, 10:])


def test_attention_weights_returned_per_layer(generator):
    torch.manual_seed(0)
    config = preset("tiny")
    model = GPT(config).eval()
    idx = torch.randint(0, 256, (1, 6), generator=generator)
    logits, attention = model.forward_with_attention(idx)
    assert len(attention) == config.n_layer
    assert all(weights.shape == (1, config.n_head, 6, 6) for weights in attention)
    torch.testing.assert_close(logits, model(idx), atol=ATOL, rtol=1e-5)


def test_gpt2_small_parameter_count():
    # The count of the released GPT-2 small checkpoint (124M), with the head tied to the embedding.
    with torch.device("meta"):
        model = GPT(preset("gpt2-small"))
    assert count_parameters(model) == 124_439_808


def test_head_is_tied_to_token_embedding():
    model = GPT(preset("tiny"))
    assert model.lm_head.weight is model.embeddings.token.weight
    untied = sum(p.numel() for p in model.parameters()) + model.lm_head.weight.numel()
    assert count_parameters(model) == untied - 256 * 32


def test_model_rejects_bad_token_ids():
    model = GPT(preset("tiny"))
    with pytest.raises(ValueError, match="token id 300 is outside"):
        model(torch.tensor([[1, 300]]))
    with pytest.raises(ValueError, match="shape"):
        model(torch.tensor([1, 2]))
    with pytest.raises(TypeError, match="integer tensor"):
        model(torch.tensor([[1.0, 2.0]]))
    with pytest.raises(ValueError, match="longer than the context length"):
        model(torch.zeros(1, 33, dtype=torch.long))


def test_config_rejects_indivisible_heads():
    with pytest.raises(ValueError, match="divisible by n_head"):
        GPTConfig(d_model=30, n_head=4)
    with pytest.raises(ValueError, match="unknown model preset"):
        preset("huge")
