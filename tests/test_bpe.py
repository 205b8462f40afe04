"""Tests for reference.bpe: the helpers, training, encoding, and agreement with tiktoken."""

from __future__ import annotations

import json
import logging
import os
import random
import tempfile
from pathlib import Path

import hypothesis.configuration
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st
from tiktoken_ext.openai_public import r50k_pat_str

from reference.bpe import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    BPETokenizer,
    get_pair_counts,
    merge,
    pretokenize,
)
from reference.tiktoken_offline import load_encoding, load_reference_bpe

# Hypothesis caches Unicode tables and source constants in ./.hypothesis, already while pytest
# collects tests (before any fixture runs), so its folder moves to the system temp folder here.
# NOTE: a conftest.py setting HYPOTHESIS_STORAGE_DIRECTORY would cover every test module.
if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    hypothesis.configuration.set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "llm-from-scratch-hypothesis")

VARIED_TEXTS = {
    "prose": "The quick brown fox jumps over the lazy dog. It wasn't lazy; it was tired.",
    "verse": "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate:\n",
    "code": "def area(r):\n    if r < 0:\n        raise ValueError(r)\n\treturn 3.14159 * r ** 2\n",
    "numbers": "1234567 apples, 3.14159 pies, 2024-05-01, 1e-10, 007, ٣٤٥",
    "contractions": "I'm sure they'll come, but DON'T wait; we've seen it. She'd LL've",
    "whitespace": "a  b   c\n\n\nd \n  \t\t e\r\nf   \n\n  ",
    "only_spaces": "     ",
    "emoji": "Family: 👩‍👩‍👧‍👦, thumbs 👍🏽, flags 🇫🇷🇯🇵, hearts ❤️‍🔥!",
    "accented": "Crème brûlée à l'été, naïve façade, Ångström, Œuvre, ß",
    "combining": "e\u0301 a\u0308 \u0301 lone mark at start, n\u0303o",
    "chinese": "我能吞下玻璃而不伤身体。床前明月光，疑是地上霜。",
    "japanese": "古池や蛙飛び込む水の音。カタカナとひらがな。",
    "arabic": "مرحبا بالعالم، كيف حالك؟",
    "hindi": "नमस्ते दुनिया, आप कैसे हैं?",
    "russian": "Мороз и солнце; день чудесный! Ещё ты дремлешь, друг прелестный",
    "empty": "",
}

TRAINING_TEXT = (
    "Once upon a midnight dreary, while I pondered, weak and weary,\n"
    "Over many a quaint and curious volume of forgotten lore—\n"
    "While I nodded, nearly napping, suddenly there came a tapping,\n"
    "As of some one gently rapping, rapping at my chamber door.\n"
) * 3


@pytest.fixture(scope="module")
def small_tokenizer() -> BPETokenizer:
    return BPETokenizer.train(TRAINING_TEXT, vocab_size=320, special_tokens=["<|endoftext|>"])


# ---------------------------------------------------------------------------------------------
# helpers: the docstring examples


def test_get_pair_counts_docstring_example():
    assert get_pair_counts([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}


def test_get_pair_counts_accumulates_into_counts():
    counts = {(1, 2): 5}
    result = get_pair_counts([1, 2, 7], counts)
    assert result is counts
    assert counts == {(1, 2): 6, (2, 7): 1}


def test_get_pair_counts_short_input_is_empty():
    assert get_pair_counts([]) == {}
    assert get_pair_counts([4]) == {}


def test_merge_docstring_examples():
    assert merge([5, 6, 6, 7, 6, 6], (6, 6), 99) == [5, 99, 7, 99]
    assert merge([6, 6, 6], (6, 6), 9) == [9, 6]


def test_pretokenize_docstring_example():
    assert pretokenize("Hello world!! I'm here", GPT2_SPLIT_PATTERN) == [
        "Hello", " world", "!!", " I", "'m", " here",
    ]


# ---------------------------------------------------------------------------------------------
# split patterns against tiktoken's


def test_gpt4_pattern_equals_cl100k_pattern():
    assert GPT4_SPLIT_PATTERN == load_encoding("cl100k_base")._pat_str


@pytest.mark.parametrize("name", sorted(VARIED_TEXTS))
def test_gpt2_pattern_splits_like_r50k(name):
    text = VARIED_TEXTS[name]
    assert pretokenize(text, GPT2_SPLIT_PATTERN) == regex.findall(r50k_pat_str, text)


# ---------------------------------------------------------------------------------------------
# training


def train_naively(text: str, num_merges: int, pattern: str) -> dict[tuple[int, int], int]:
    """A second trainer: recount every pair of every chunk at every step."""
    chunks = [list(chunk.encode("utf-8")) for chunk in regex.findall(pattern, text)]
    merges = {}
    for step in range(num_merges):
        counts: dict[tuple[int, int], int] = {}
        for chunk in chunks:
            get_pair_counts(chunk, counts)
        if not counts:
            break
        top = max(counts.values())
        pair = min(p for p, count in counts.items() if count == top)
        merges[pair] = 256 + step
        chunks = [merge(chunk, pair, 256 + step) for chunk in chunks]
    return merges


def test_train_breaks_ties_by_smallest_pair():
    # chunks "yx" and " xy": every pair occurs once, and (32, 120) is the smallest,
    # although (121, 120) is seen first.
    tokenizer = BPETokenizer.train("yx xy", vocab_size=259)
    assert list(tokenizer.merges.items()) == [((32, 120), 256), ((121, 120), 257), ((256, 121), 258)]


def test_train_merges_most_frequent_pair_first():
    # "aaab": (a, a) occurs twice; afterwards (256, a) and (a, b) tie and (a, b) is smaller.
    tokenizer = BPETokenizer.train("aaab", vocab_size=259)
    assert list(tokenizer.merges.items()) == [((97, 97), 256), ((97, 98), 257), ((256, 257), 258)]


@pytest.mark.parametrize("pattern", [GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN])
def test_train_matches_naive_trainer(pattern):
    rng = random.Random(0)
    words = ["the", "then", "there", "hen", "ether", "he", "the3", "  ", "\n", "é", "我们"]
    text = " ".join(rng.choice(words) for _ in range(400))
    tokenizer = BPETokenizer.train(text, vocab_size=300, pattern=pattern)
    assert tokenizer.merges == train_naively(text, 44, pattern)
    assert list(tokenizer.merges) == list(train_naively(text, 44, pattern))


def test_train_respects_vocab_size(small_tokenizer):
    assert small_tokenizer.vocab_size == 320
    assert len(small_tokenizer.merges) == 320 - 256 - 1
    assert small_tokenizer.special_tokens == {"<|endoftext|>": 319}


def test_train_stops_early_when_pairs_run_out(caplog):
    with caplog.at_level(logging.WARNING, logger="reference.bpe"):
        tokenizer = BPETokenizer.train("ab", vocab_size=1000, special_tokens=["<|end|>"])
    assert list(tokenizer.merges.items()) == [((97, 98), 256)]
    assert tokenizer.special_tokens == {"<|end|>": 257}
    assert tokenizer.vocab_size == 258
    assert "stopped early after 1 of 743 merges" in caplog.text


def test_train_reports_progress():
    calls = []
    BPETokenizer.train(TRAINING_TEXT, vocab_size=260, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_train_rejects_vocab_size_below_256():
    with pytest.raises(ValueError, match="vocab_size must be an int >= 256.*got 100"):
        BPETokenizer.train("abc", vocab_size=100)


def test_train_rejects_special_id_inside_merge_ids():
    # 300 - 256 - 1 = 43 merges take the ids 256..298
    with pytest.raises(ValueError, match=r"'<\|end\|>' has id 298.*use an id >= 299"):
        BPETokenizer.train(TRAINING_TEXT, vocab_size=300, special_tokens={"<|end|>": 298})


def test_train_keeps_explicit_special_ids():
    tokenizer = BPETokenizer.train(TRAINING_TEXT, vocab_size=300, special_tokens={"<|end|>": 400})
    assert tokenizer.special_tokens == {"<|end|>": 400}
    assert tokenizer.vocab_size == 401


# ---------------------------------------------------------------------------------------------
# encoding and decoding with a trained tokenizer


def test_encode_rejects_special_token_by_default(small_tokenizer):
    with pytest.raises(ValueError, match="'<\\|endoftext\\|>'.*allowed_special"):
        small_tokenizer.encode("the end<|endoftext|>")


def test_encode_allows_special_token_when_requested(small_tokenizer):
    text = "rapping<|endoftext|>door"
    expected = small_tokenizer.encode_ordinary("rapping") + [319] + small_tokenizer.encode_ordinary("door")
    assert small_tokenizer.encode(text, allowed_special={"<|endoftext|>"}) == expected
    assert small_tokenizer.encode(text, allowed_special="all") == expected


def test_encode_ordinary_treats_special_token_as_text(small_tokenizer):
    ids = small_tokenizer.encode_ordinary("<|endoftext|>")
    assert 319 not in ids
    assert small_tokenizer.decode(ids) == "<|endoftext|>"


def test_encode_rejects_unknown_allowed_special(small_tokenizer):
    with pytest.raises(ValueError, match="<\\|nope\\|>"):
        small_tokenizer.encode("x", allowed_special={"<|nope|>"})


def test_encode_rejects_lone_surrogate(small_tokenizer):
    with pytest.raises(ValueError, match="surrogate.*cannot be encoded as UTF-8"):
        small_tokenizer.encode("abc\ud800def")


def test_encode_rejects_pattern_that_drops_characters():
    tokenizer = BPETokenizer({}, pattern=r"\w+")
    with pytest.raises(ValueError, match="does not match every character"):
        tokenizer.encode("two words")


def test_token_bytes_rejects_id_outside_vocabulary(small_tokenizer):
    with pytest.raises(ValueError, match=r"^token id 5000 is outside the vocabulary \(size 320\)$"):
        small_tokenizer.token_bytes(5000)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        small_tokenizer.token_bytes(-1)


def test_token_bytes_of_merged_and_special_tokens(small_tokenizer):
    for (left, right), new_id in small_tokenizer.merges.items():
        expected = small_tokenizer.token_bytes(left) + small_tokenizer.token_bytes(right)
        assert small_tokenizer.token_bytes(new_id) == expected
    assert small_tokenizer.token_bytes(319) == b"<|endoftext|>"


@pytest.mark.parametrize("name", sorted(VARIED_TEXTS))
def test_trained_roundtrip_varied_text(small_tokenizer, name):
    text = VARIED_TEXTS[name]
    assert small_tokenizer.decode(small_tokenizer.encode(text)) == text


def test_to_dict_roundtrip_gives_identical_encodings(small_tokenizer):
    saved = json.loads(json.dumps(small_tokenizer.to_dict()))
    restored = BPETokenizer.from_dict(saved)
    text = TRAINING_TEXT + "".join(VARIED_TEXTS.values()) + "<|endoftext|>"
    assert restored.encode(text, allowed_special="all") == small_tokenizer.encode(text, allowed_special="all")
    assert restored.merges == small_tokenizer.merges
    assert restored.special_tokens == small_tokenizer.special_tokens
    assert restored.pattern == small_tokenizer.pattern
    assert restored.vocab_size == small_tokenizer.vocab_size


def test_from_dict_rejects_other_data():
    with pytest.raises(ValueError, match="not a saved BPETokenizer"):
        BPETokenizer.from_dict({"merges": []})


def test_from_dict_rejects_damaged_data(small_tokenizer):
    saved = small_tokenizer.to_dict()
    saved["merges"] = [[97, 98]]
    with pytest.raises(ValueError, match="saved tokenizer is damaged"):
        BPETokenizer.from_dict(saved)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_trained_roundtrip_arbitrary_text(small_tokenizer, text):
    assert small_tokenizer.decode(small_tokenizer.encode_ordinary(text)) == text


# ---------------------------------------------------------------------------------------------
# tiktoken's encodings: exactly tiktoken's ids


@pytest.mark.parametrize("encoding_name", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("name", sorted(VARIED_TEXTS))
def test_reference_bpe_matches_tiktoken(encoding_name, name):
    encoding = load_encoding(encoding_name)
    tokenizer = load_reference_bpe(encoding_name)
    text = VARIED_TEXTS[name]
    ids = tokenizer.encode(text)
    assert ids == encoding.encode(text)
    assert tokenizer.decode(ids) == text


@pytest.mark.parametrize("encoding_name", ["cl100k_base", "o200k_base"])
def test_reference_bpe_matches_tiktoken_special_tokens(encoding_name):
    encoding = load_encoding(encoding_name)
    tokenizer = load_reference_bpe(encoding_name)
    text = "first document<|endoftext|>second<|endofprompt|> end"
    assert tokenizer.encode(text, allowed_special="all") == encoding.encode(text, allowed_special="all")
    assert tokenizer.encode_ordinary(text) == encoding.encode_ordinary(text)
    assert tokenizer.vocab_size == encoding.n_vocab


@pytest.mark.parametrize("encoding_name", ["cl100k_base", "o200k_base"])
def test_reference_bpe_byte_ids_follow_ranks(encoding_name):
    encoding = load_encoding(encoding_name)
    tokenizer = load_reference_bpe(encoding_name)
    # tiktoken's single-byte ranks are not in byte order: b"!" has rank 0.
    assert tokenizer.token_bytes(0) == b"!"
    for token_id in [0, 255, 256, 1000, 99_999]:
        assert tokenizer.token_bytes(token_id) == encoding.decode_single_token_bytes(token_id)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_cl100k_matches_tiktoken_arbitrary_text(text):
    assert load_reference_bpe("cl100k_base").encode_ordinary(text) == load_encoding("cl100k_base").encode_ordinary(text)
