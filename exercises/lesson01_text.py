"""Lesson 1: Text as numbers. Replace each NotImplementedError with your code.

Tensor dimensions: B batch, T sequence length, C model width, H heads, D = C // H, V vocabulary.
You may import from your other exercise files, for example `from exercises.lesson04_attention
import softmax`. The grader cannot see the reference package.
"""

from __future__ import annotations

from collections.abc import Mapping  # noqa: F401

import torch  # noqa: F401
from torch import Tensor, nn  # noqa: F401


def utf8_bytes(text: str) -> list[int]:
    """Return the UTF-8 encoding of `text` as a list of byte values (0 to 255).

    Lesson 1 (Text as numbers), exercise `utf8_bytes`: UTF-8 bytes of a text.
    Check it with `python -m grader check utf8_bytes`.
    """
    raise NotImplementedError("write utf8_bytes here")


def char_encode(text: str, vocab: dict[str, int]) -> list[int]:
    """Replace each character of `text` by its id in `vocab`.

    Lesson 1 (Text as numbers), exercise `char_encode`: Character tokenizer: encode.
    Check it with `python -m grader check char_encode`.
    """
    raise NotImplementedError("write char_encode here")
