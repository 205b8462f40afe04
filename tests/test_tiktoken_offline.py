"""Tests for reference.tiktoken_offline: encodings load from shipped files, never the network."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket

import pytest
import tiktoken
import tiktoken.load
from tiktoken_ext import openai_public

from reference import tiktoken_offline
from reference.tiktoken_offline import (
    GPT2_NOT_SHIPPED,
    SHIPPED_ENCODINGS,
    available_encodings,
    load_encoding,
    parse_data_gym_ranks,
    parse_tiktoken_ranks,
)

SAMPLE = "Hello, world! I'm 1234567 years old.\n\tdef f():\r\n 👩‍👩‍👧‍👦 我们"


def shipped_contents(name: str) -> bytes:
    return gzip.decompress(tiktoken_offline._shipped_path(SHIPPED_ENCODINGS[name]).read_bytes())


@pytest.fixture
def no_network(monkeypatch, tmp_path):
    """Make every download path fail and point tiktoken's cache at an empty folder."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(tiktoken.load, "read_file", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    cache_dir = tmp_path / "tiktoken-cache"
    cache_dir.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache_dir))
    load_encoding.cache_clear()
    yield cache_dir
    load_encoding.cache_clear()


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_load_encoding_works_offline(no_network, name):
    encoding = load_encoding(name)
    assert encoding.decode(encoding.encode(SAMPLE)) == SAMPLE
    assert list(no_network.iterdir()) == []


def test_available_encodings_lists_shipped_ones(no_network):
    status = available_encodings()
    assert status["cl100k_base"] == "available"
    assert status["o200k_base"] == "available"
    assert status["gpt2"] == GPT2_NOT_SHIPPED


def test_load_encoding_gpt2_without_cache_raises(no_network):
    with pytest.raises(FileNotFoundError, match="not shipped by any installed package.*network"):
        load_encoding("gpt2")
    assert list(no_network.iterdir()) == []


def test_load_encoding_unknown_name_lists_available(no_network):
    with pytest.raises(ValueError, match="unknown encoding 'p99k'.*cl100k_base.*o200k_base"):
        load_encoding("p99k")


def test_load_encoding_is_cached():
    assert load_encoding("cl100k_base") is load_encoding("cl100k_base")


@pytest.mark.parametrize("name", ["cl100k_base", "o200k_base"])
def test_definitions_match_tiktoken_constructors(monkeypatch, tmp_path, name):
    # Run tiktoken's own constructor with its download replaced by the shipped file. tiktoken
    # checks the file against its expected hash, so this also confirms the shipped file.
    requested = []

    def serve_shipped(url):
        requested.append(url)
        return shipped_contents(name)

    monkeypatch.setattr(tiktoken.load, "read_file", serve_shipped)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    expected = getattr(openai_public, name)()

    encoding = load_encoding(name)
    assert requested == [f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"]
    assert encoding._pat_str == expected["pat_str"]
    assert encoding._special_tokens == expected["special_tokens"]
    assert encoding._mergeable_ranks == expected["mergeable_ranks"]
    assert hashlib.sha256(shipped_contents(name)).hexdigest() == SHIPPED_ENCODINGS[name].sha256


def test_load_encoding_rejects_damaged_file(monkeypatch, tmp_path):
    damaged = tmp_path / "data" / "cl100k_base.tiktoken.gz"
    damaged.parent.mkdir()
    damaged.write_bytes(gzip.compress(b"IQ== 0\n"))
    monkeypatch.setattr(tiktoken_offline, "_shipped_path", lambda shipped: damaged)
    load_encoding.cache_clear()
    try:
        with pytest.raises(ValueError, match="SHA-256 of .* expected 223921b7"):
            load_encoding("cl100k_base")
    finally:
        load_encoding.cache_clear()


def test_parse_tiktoken_ranks_docstring_example():
    assert parse_tiktoken_ranks(b"IQ== 0\nIg== 1\n") == {b"!": 0, b'"': 1}


def test_parse_tiktoken_ranks_rejects_bad_line():
    with pytest.raises(ValueError, match="invalid line 2"):
        parse_tiktoken_ranks(b"IQ== 0\nnot-base64!\n")


def write_tiny_gpt2_files(folder):
    """Write a GPT-2-format vocabulary: the 256 bytes plus merges for "he" and "hel"."""
    byte_decoder = tiktoken_offline._data_gym_byte_decoder()
    byte_encoder = {byte: char for char, byte in byte_decoder.items()}
    encoder = {byte_encoder[byte]: rank for rank, byte in enumerate(byte_decoder.values())}
    encoder["he"] = 256
    encoder["hel"] = 257
    encoder["<|endoftext|>"] = 258
    vocab_bpe = "#version: 0.2\nh e\nhe l\n"
    (folder / "vocab.bpe").write_text(vocab_bpe, encoding="utf-8")
    (folder / "encoder.json").write_text(json.dumps(encoder), encoding="utf-8")
    return folder / "vocab.bpe", folder / "encoder.json"


def test_parse_data_gym_ranks_matches_tiktoken(monkeypatch, tmp_path):
    vocab_path, encoder_path = write_tiny_gpt2_files(tmp_path)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # read the local files directly, copy nothing
    expected = tiktoken.load.data_gym_to_mergeable_bpe_ranks(str(vocab_path), str(encoder_path))

    ranks = parse_data_gym_ranks(vocab_path.read_bytes(), encoder_path.read_bytes())
    assert ranks == expected
    assert list(ranks.items()) == list(expected.items())


def test_gpt2_available_only_with_correct_cached_files(monkeypatch, tmp_path):
    vocab_path, encoder_path = write_tiny_gpt2_files(tmp_path)
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache_dir))
    for url, path in [
        (tiktoken_offline.GPT2_VOCAB_BPE_URL, vocab_path),
        (tiktoken_offline.GPT2_ENCODER_JSON_URL, encoder_path),
    ]:
        (cache_dir / hashlib.sha1(url.encode()).hexdigest()).write_bytes(path.read_bytes())

    # The tiny files do not have GPT-2's hashes, so they are not trusted ...
    assert available_encodings()["gpt2"] == GPT2_NOT_SHIPPED

    # ... and with the expected hashes set to theirs, they are found under tiktoken's cache keys.
    monkeypatch.setattr(tiktoken_offline, "GPT2_VOCAB_BPE_SHA256", hashlib.sha256(vocab_path.read_bytes()).hexdigest())
    monkeypatch.setattr(
        tiktoken_offline, "GPT2_ENCODER_JSON_SHA256", hashlib.sha256(encoder_path.read_bytes()).hexdigest()
    )
    assert available_encodings()["gpt2"] == "available"
