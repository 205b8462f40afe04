"""Sampling: greedy, temperature, top-k, top-p, seeds, cropping and clear errors."""

import pytest
import torch

from reference.config import preset
from reference.model import GPT
from reference.sampling import generate, next_token_probabilities

LOGITS = torch.tensor([[1.0, 3.0, 2.0, 0.0]])


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return GPT(preset("tiny")).eval()


def test_temperature_zero_is_greedy():
    assert next_token_probabilities(LOGITS, temperature=0).tolist() == [[0.0, 1.0, 0.0, 0.0]]


def test_temperature_one_is_softmax():
    torch.testing.assert_close(next_token_probabilities(LOGITS), torch.softmax(LOGITS, -1))


def test_high_temperature_flattens():
    sharp = next_token_probabilities(LOGITS, temperature=0.5)
    flat = next_token_probabilities(LOGITS, temperature=5.0)
    assert flat.max() < sharp.max()


def test_top_k_drops_others_exactly():
    probabilities = next_token_probabilities(LOGITS, top_k=2)
    assert probabilities[0, 0].item() == 0.0
    assert probabilities[0, 3].item() == 0.0
    torch.testing.assert_close(probabilities[0, [1, 2]], torch.softmax(torch.tensor([3.0, 2.0]), -1))


def test_top_k_larger_than_vocab_is_clamped():
    torch.testing.assert_close(next_token_probabilities(LOGITS, top_k=1000), torch.softmax(LOGITS, -1))


@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_top_k_below_one_rejected(bad):
    with pytest.raises(ValueError, match="top_k must be an integer >= 1"):
        next_token_probabilities(LOGITS, top_k=bad)


def test_top_p_keeps_smallest_nucleus():
    # softmax(LOGITS) = [0.087, 0.644, 0.237, 0.032]: 0.644 < 0.7, so the top two are kept.
    probabilities = next_token_probabilities(LOGITS, top_p=0.7)
    kept = (probabilities[0] > 0).tolist()
    assert kept == [False, True, True, False]
    assert probabilities.sum().item() == pytest.approx(1.0)


def test_top_p_always_keeps_best_token():
    probabilities = next_token_probabilities(LOGITS, top_p=0.01)
    assert probabilities.tolist() == [[0.0, 1.0, 0.0, 0.0]]


@pytest.mark.parametrize(("settings", "message"), [
    ({"temperature": -1.0}, "temperature must be a number >= 0"),
    ({"temperature": float("nan")}, "temperature must be a number >= 0"),
    ({"top_p": 0.0}, "top_p must be in \\(0, 1\\]"),
    ({"top_p": 1.5}, "top_p must be in \\(0, 1\\]"),
])
def test_invalid_settings_rejected(settings, message):
    with pytest.raises(ValueError, match=message):
        next_token_probabilities(LOGITS, **settings)


def test_same_seed_same_tokens(model):
    prompt = torch.tensor([[1, 2, 3]])
    first = generate(model, prompt, 20, temperature=1.0, seed=7)
    second = generate(model, prompt, 20, temperature=1.0, seed=7)
    other = generate(model, prompt, 20, temperature=1.0, seed=8)
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


def test_greedy_matches_argmax_loop(model):
    prompt = torch.tensor([[5, 6]])
    out = generate(model, prompt, 5, temperature=0)
    expected = prompt
    for _ in range(5):
        next_id = model(expected)[:, -1].argmax(-1, keepdim=True)
        expected = torch.cat([expected, next_id], dim=1)
    assert torch.equal(out, expected)


def test_long_prompt_cropped_to_context(model):
    prompt = torch.randint(0, 256, (1, 50), generator=torch.Generator().manual_seed(0))
    out = generate(model, prompt, 3, temperature=0)
    cropped = generate(model, prompt[:, -32:], 3, temperature=0)
    assert out.shape == (1, 53)
    assert torch.equal(out[:, -3:], cropped[:, -3:])


def test_unrepresentable_token_reported(model):
    with pytest.raises(ValueError, match="token id 999 is outside this model's vocabulary"):
        generate(model, torch.tensor([[1, 999]]), 3)


def test_empty_prompt_rejected(model):
    with pytest.raises(ValueError, match="prompt is empty"):
        generate(model, torch.zeros(1, 0, dtype=torch.long), 3)


def test_stop_token_ends_generation(model):
    prompt = torch.tensor([[1]])
    greedy = generate(model, prompt, 10, temperature=0)
    stop = greedy[0, 3].item()
    out = generate(model, prompt, 10, temperature=0, stop_token=stop)
    assert out[0, -1].item() == stop
    assert out.size(1) <= greedy.size(1)
