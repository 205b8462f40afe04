"""Lesson 2: Byte-pair encoding. Replace each NotImplementedError with your code.

Tensor dimensions: B batch, T sequence length, C model width, H heads, D = C // H, V vocabulary.
You may import from your other exercise files, for example `from exercises.lesson04_attention
import softmax`. The grader cannot see the reference package.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: F401

import torch  # noqa: F401
from torch import Tensor, nn  # noqa: F401

GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)


def get_pair_counts(
    ids: list[int], counts: dict[tuple[int, int], int] | None = None
) -> dict[tuple[int, int], int]:
    """Count how often each adjacent pair of ids occurs.

    Lesson 2 (Byte-pair encoding), exercise `get_pair_counts`: BPE: count adjacent pairs.
    Check it with `python -m grader check get_pair_counts`.
    """
    raise NotImplementedError("write get_pair_counts here")


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `ids` by `new_id`, scanning left to right.

    Lesson 2 (Byte-pair encoding), exercise `merge`: BPE: merge one pair.
    Check it with `python -m grader check merge`.
    """
    raise NotImplementedError("write merge here")


def bpe_train(text: str, vocab_size: int, pattern: str = GPT2_SPLIT_PATTERN) -> dict[tuple[int, int], int]:
    """Learn BPE merges from `text`; return {(left id, right id): new id} in the order learned.

    Lesson 2 (Byte-pair encoding), exercise `bpe_train`: BPE: train merges.
    Check it with `python -m grader check bpe_train`.
    """
    raise NotImplementedError("write bpe_train here")


def bpe_encode(text: str, merges: dict[tuple[int, int], int], pattern: str = GPT2_SPLIT_PATTERN) -> list[int]:
    """Encode `text` with learned `merges`, applying the earliest-learned merge first.

    Lesson 2 (Byte-pair encoding), exercise `bpe_encode`: BPE: encode text.
    Check it with `python -m grader check bpe_encode`.
    """
    raise NotImplementedError("write bpe_encode here")


def bpe_decode(ids: list[int], merges: dict[tuple[int, int], int]) -> str:
    """Decode ids produced with `merges` back to text; invalid UTF-8 becomes U+FFFD.

    Lesson 2 (Byte-pair encoding), exercise `bpe_decode`: BPE: decode ids.
    Check it with `python -m grader check bpe_decode`.
    """
    raise NotImplementedError("write bpe_decode here")
