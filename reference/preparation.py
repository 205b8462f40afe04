"""From a corpus to token streams: train the poet's BPE tokenizer, encode the text, cache the ids.

Encoding millions of characters with a pure-Python BPE takes a while, so the ids are cached as
.npy files keyed by a hash of the text and the tokenizer. A second run with the same corpus and
settings starts training at once.
"""

import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from reference.bpe import BPETokenizer
from reference.files import write_atomically

logger = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """A tokenizer and the train and validation texts encoded with it."""

    tokenizer: BPETokenizer
    train_tokens: torch.Tensor  # (N_train,) int64
    val_tokens: torch.Tensor  # (N_val,) int64
    # Characters of validation text per token: turns loss per token into loss per character.
    chars_per_token: float


def prepare(
    train_text: str,
    val_text: str,
    vocab_size: int,
    tokenizer_chars: int = 2_000_000,
    cache_dir: Path | None = None,
    tokenizer: BPETokenizer | None = None,
) -> PreparedData:
    """Train a BPE tokenizer on the start of train_text and encode both texts with it.

    Only the first `tokenizer_chars` characters train the tokenizer: merges settle long before
    the whole corpus is counted, and training time grows with the text. Pass `tokenizer` to
    reuse one (a resumed run must keep the tokenizer its model learned).
    """
    if not train_text or not val_text:
        raise ValueError("both the training and the validation text must be non-empty")

    if tokenizer is None:
        tokenizer = _cached_tokenizer(train_text[:tokenizer_chars], vocab_size, cache_dir)
    train_tokens = _cached_encoding(tokenizer, train_text, cache_dir)
    val_tokens = _cached_encoding(tokenizer, val_text, cache_dir)
    return PreparedData(tokenizer, train_tokens, val_tokens, len(val_text) / max(len(val_tokens), 1))


def _cached_tokenizer(text: str, vocab_size: int, cache_dir: Path | None) -> BPETokenizer:
    key = _digest(text, str(vocab_size))
    path = cache_dir / f"tokenizer-{key}.json" if cache_dir else None
    if path is not None and path.is_file():
        return BPETokenizer.from_dict(json.loads(path.read_text(encoding="utf-8")))

    logger.info("training a BPE tokenizer with %d tokens on %d characters", vocab_size, len(text))
    tokenizer = BPETokenizer.train(text, vocab_size)
    if path is not None:
        write_atomically(path, json.dumps(tokenizer.to_dict()).encode("utf-8"))
    return tokenizer


def _cached_encoding(tokenizer: BPETokenizer, text: str, cache_dir: Path | None) -> torch.Tensor:
    key = _digest(text, json.dumps(tokenizer.to_dict(), sort_keys=True))
    path = cache_dir / f"tokens-{key}.npy" if cache_dir else None
    if path is not None and path.is_file():
        return torch.from_numpy(np.load(path, allow_pickle=False).astype(np.int64))

    logger.info("encoding %d characters", len(text))
    ids = np.asarray(tokenizer.encode_ordinary(text), dtype=np.int32)
    if path is not None:
        with tempfile.TemporaryFile() as buffer:
            np.save(buffer, ids, allow_pickle=False)
            buffer.seek(0)
            write_atomically(path, buffer.read())
    return torch.from_numpy(ids.astype(np.int64))


def _digest(*parts: str) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode("utf-8", errors="surrogatepass"))
        hasher.update(b"\0")
    return hasher.hexdigest()[:16]
