"""Text as numbers (lesson 1): UTF-8 bytes and a character-level tokenizer.

A character tokenizer gives every distinct character of a text its own id. It is the simplest
tokenizer that round-trips, and it shows why byte-level BPE exists: a character missing from
the training text has no id at all. Deliberately left out: unknown-character handling, because
the lesson uses the failure to motivate bytes.
"""


def utf8_bytes(text: str) -> list[int]:
    """Return the UTF-8 encoding of `text` as a list of byte values (0 to 255).

    ASCII characters take one byte each; other characters take two to four.

    >>> utf8_bytes("hé")
    [104, 195, 169]
    """
    return list(text.encode("utf-8"))


def build_char_vocab(text: str) -> dict[str, int]:
    """Map each distinct character of `text` to an id, in sorted character order.

    Sorting makes the ids independent of where a character first appears.

    >>> build_char_vocab("hello")
    {'e': 0, 'h': 1, 'l': 2, 'o': 3}
    """
    return {character: index for index, character in enumerate(sorted(set(text)))}


def char_encode(text: str, vocab: dict[str, int]) -> list[int]:
    """Replace each character of `text` by its id in `vocab`.

    Raises ValueError for a character that `vocab` does not contain.

    >>> char_encode("hole", {'e': 0, 'h': 1, 'l': 2, 'o': 3})
    [1, 3, 2, 0]
    """
    missing = sorted(set(text) - set(vocab))
    if missing:
        raise ValueError(
            f"characters {missing} are not in the vocabulary; build the vocabulary from a text "
            f"that contains them"
        )
    return [vocab[character] for character in text]


def char_decode(ids: list[int], vocab: dict[str, int]) -> str:
    """Join the characters whose ids are `ids`; the inverse of `char_encode`.

    >>> char_decode([1, 3, 2, 0], {'e': 0, 'h': 1, 'l': 2, 'o': 3})
    'hole'
    """
    characters = {index: character for character, index in vocab.items()}
    return "".join(characters[index] for index in ids)
