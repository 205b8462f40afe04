"""Token chips: a text split into its tokens, drawn as coloured HTML labels for the Tokens page.

Each chip shows one token's text with whitespace made visible, its id underneath, and the id on
hover. A token whose bytes are not whole UTF-8 characters (half of an emoji, say) shows those
bytes as hex, such as `<f0 9f>`. Special tokens get their own dark style.

The functions here are pure (text and ids in, strings out), so tests check the HTML directly.
Deliberately left out: line wrapping at "↵", because a chip row that breaks lines would hide
how many tokens sit on each line.
"""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable

# Stand-ins for characters that would otherwise be invisible inside a chip.
VISIBLE_WHITESPACE = {" ": "·", "\n": "↵", "\t": "→", "\r": "␍"}
# Unicode general categories that draw nothing: control, format, and space and line separators.
INVISIBLE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}

# Pastel backgrounds that cycle through the chips, so two neighbours never share a colour.
CHIP_PALETTE = ("#ffe08a", "#b8e0ff", "#c9f2c2", "#ffc9de", "#e1d4ff", "#ffd7b0")
SPECIAL_CHIP_COLOUR = "#3b3b3b"

CHIP_STYLE = (
    "display:inline-flex;flex-direction:column;align-items:center;margin:2px 1px;"
    "padding:2px 5px;border-radius:5px;font-family:ui-monospace,Menlo,Consolas,monospace;"
    "font-size:1.15rem;line-height:1.3;color:#111"
)
ID_STYLE = "font-size:0.7rem;color:#555"


@dataclass(frozen=True)
class TokenPiece:
    """One token as a chip shows it: its id, its label, and whether it is a special token."""

    token_id: int
    label: str
    special: bool = False


def show_invisible(text: str) -> str:
    """Replace whitespace by visible stand-ins, and other invisible characters by their code point.

    Spaces, newlines, tabs and carriage returns get arrows and dots. Other characters that draw
    nothing on their own (control and format characters, other spaces, variation selectors such
    as the U+FE0F after many emoji) show as "[U+XXXX]", so no chip is ever empty.

    Example:
        >>> show_invisible(" a\\tb\\n")
        '·a→b↵'
        >>> show_invisible("\\ufe0f\\u00a0")
        '[U+FE0F][U+00A0]'
    """
    return "".join(_visible_character(char) for char in text)


def _visible_character(char: str) -> str:
    if char in VISIBLE_WHITESPACE:
        return VISIBLE_WHITESPACE[char]
    if unicodedata.category(char) in INVISIBLE_CATEGORIES or "\ufe00" <= char <= "\ufe0f":
        return f"[U+{ord(char):04X}]"
    return char


def token_label(data: bytes) -> str:
    """Label a token's bytes: whole UTF-8 characters as text, stray bytes as hex in angle brackets.

    UTF-8 is self-synchronizing, so bytes that decode on their own are whole characters. The
    bytes of a character that the tokenizer split across tokens do not decode, and show as hex.

    Example:
        >>> token_label(b" the")
        '·the'
        >>> token_label(b"\\xf0\\x9f")
        '<f0 9f>'
        >>> token_label(b"\\x98\\x80 ok")
        '<98 80>·ok'
    """
    parts = []
    while data:
        try:
            parts.append(show_invisible(data.decode("utf-8")))
            break
        except UnicodeDecodeError as error:
            # The first undecodable run begins at error.start, so everything before it is text.
            parts.append(show_invisible(data[: error.start].decode("utf-8")))
            stray, data = _split_stray_bytes(data[error.start :])
            parts.append("<" + stray.hex(" ") + ">")
    return "".join(parts)


def _split_stray_bytes(data: bytes) -> tuple[bytes, bytes]:
    """Split `data`, which starts with undecodable bytes, into that run and the text after it."""
    for end in range(1, len(data) + 1):
        # The run ends where the rest starts with a byte sequence that decodes as a character.
        rest = data[end:]
        if not rest or _starts_with_character(rest):
            return data[:end], rest
    return data, b""


def _starts_with_character(data: bytes) -> bool:
    # A UTF-8 character is 1 to 4 bytes long.
    for length in range(1, min(4, len(data)) + 1):
        try:
            data[:length].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def token_pieces(
    ids: Iterable[int], token_bytes: Callable[[int], bytes], special_ids: set[int] | frozenset[int]
) -> list[TokenPiece]:
    """Turn token ids into chips, given a tokenizer's id -> bytes function and its special ids.

    Example:
        >>> token_pieces([1, 2], {1: b"Hi", 2: b"<|endoftext|>"}.__getitem__, {2})
        [TokenPiece(token_id=1, label='Hi', special=False), TokenPiece(token_id=2, label='<|endoftext|>', special=True)]
    """
    pieces = []
    for token_id in ids:
        data = token_bytes(token_id)
        if token_id in special_ids:
            # A special token is one symbol, not text, so its name is shown as it is.
            pieces.append(TokenPiece(token_id, data.decode("utf-8"), special=True))
        else:
            pieces.append(TokenPiece(token_id, token_label(data)))
    return pieces


def chips_html(pieces: list[TokenPiece]) -> str:
    """Render token pieces as a row of HTML chips; every label is escaped, since text is user input.

    Example:
        >>> "&lt;b&gt;" in chips_html([TokenPiece(7, "<b>")])
        True
    """
    chips = [_chip_html(piece, CHIP_PALETTE[i % len(CHIP_PALETTE)]) for i, piece in enumerate(pieces)]
    return '<div class="token-chips">' + "".join(chips) + "</div>"


def _chip_html(piece: TokenPiece, background: str) -> str:
    label = html.escape(piece.label)
    if piece.special:
        css_class = "chip special"
        style = f"background:{SPECIAL_CHIP_COLOUR};{CHIP_STYLE};color:#fff;font-weight:bold;border:2px dashed #f5c400"
        title = f"special token, id {piece.token_id}"
        id_style = f"{ID_STYLE};color:#ddd"
    else:
        css_class = "chip"
        style = f"background:{background};{CHIP_STYLE}"
        title = f"id {piece.token_id}"
        id_style = ID_STYLE
    return (
        f'<span class="{css_class}" title="{title}" style="{style}">'
        f'<span class="chip-text">{label}</span><span class="chip-id" style="{id_style}">{piece.token_id}</span>'
        "</span>"
    )


def position_labels(labels: list[str]) -> list[str]:
    """Append "#position" to every label that occurs more than once, so repeated tokens stay apart.

    Example:
        >>> position_labels(["·the", "·cat", "·the"])
        ['·the#0', '·cat', '·the#2']
    """
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return [f"{label}#{i}" if counts[label] > 1 else label for i, label in enumerate(labels)]
