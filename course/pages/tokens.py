"""Tokens page: one line of text, split by several tokenizers side by side.

Shows tiktoken's cl100k_base and o200k_base (and gpt2 when its files are cached) and the demo
poet's own small BPE vocabulary. It also shows the course's reference `BPETokenizer` rebuilt
from the cl100k_base ranks, checked against tiktoken's ids. Last comes the student's own
`bpe_encode` (lesson 2), run with the poet's merges in the grader's isolation and checked
against the poet's ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from course.models import encoding_status, find_poet, load_cached_encoding, load_cached_reference_bpe, poet_path
from course.pages.student import course_dir, current_student, grader_pool, grading_threads, workspace_files
from course.token_view import TokenPiece, chips_html, token_pieces
from reference.checkpoint import CheckpointError

DEFAULT_TEXT = "Shall I compare thee to a summer's day?\nThou art more lovely and more temperate ☀️"
MAX_CHARS = 5000
TIKTOKEN_NAMES = ("cl100k_base", "o200k_base", "gpt2")
REFERENCE_NAME = "reference BPE (cl100k_base ranks)"
STUDENT_NAME = "your BPE (bpe_encode from lesson 2, with the poet's merges)"


@dataclass
class TokenizerResult:
    """One tokenizer's split of the text: its name, the ids, the chips and a note on how it was built."""

    name: str
    ids: list[int]
    pieces: list[TokenPiece]
    vocab_size: int
    note: str = ""


def tokens_page() -> None:
    """Render the Tokens page."""
    st.title("Tokens")
    st.write(
        "A language model never sees letters: a tokenizer first cuts the text into tokens and "
        "replaces each by its id. Hover a chip for its id. `·` is a space, `↵` a line break, "
        "`→` a tab, `<e2 80>` are the bytes of a character that the tokenizer split, and "
        "`[U+FE0F]` is an invisible character, shown by its code point."
    )

    text = st.text_area("Text", value=DEFAULT_TEXT, max_chars=MAX_CHARS, key="tokens.text", height=110)
    allow_special = st.checkbox(
        "Allow special tokens (type <|endoftext|> to see one)", key="tokens.allow_special",
        help="Unticked, special-token strings are split like ordinary text.",
    )
    if not text:
        st.info("Type some text above to see how each tokenizer splits it.")
        st.stop()

    results, unavailable = tokenize_everywhere(text, allow_special)
    st.dataframe(summary_table(text, results), hide_index=True)
    for name, reason in unavailable.items():
        st.info(f"**{name}** is not shown: {reason}")

    for result in results:
        st.subheader(result.name)
        st.caption(_count_caption(text, result))
        st.html(chips_html(result.pieces))

    letter_counting_demo()


def letter_counting_demo() -> None:
    """Show why counting the letters of a word is hard for a model: it receives token ids, not letters."""
    st.header("Why can't a model count letters?")
    word_column, letter_column = st.columns([3, 1])
    word = word_column.text_input("A word", value="strawberry", max_chars=40, key="tokens.count_word").strip()
    letter = letter_column.text_input("A letter", value="r", max_chars=1, key="tokens.count_letter")
    if not word or not letter:
        st.info("Type a word and a letter to count.")
        return
    encoding = load_cached_encoding("cl100k_base")
    ids = encoding.encode_ordinary(" " + word)  # inside a sentence, a word comes with its leading space
    st.html(chips_html(token_pieces(ids, encoding.decode_single_token_bytes, set())))
    st.markdown(letter_count_sentence(word, letter, ids))


def letter_count_sentence(word: str, letter: str, ids: list[int]) -> str:
    """Explain the letter count of `word` against the token ids a model receives for it.

    >>> letter_count_sentence("strawberry", "r", [73700])
    "`strawberry` has **3** × `r`, but GPT-4's tokenizer hands the model **1 token** for it: id 73700. The letters are inside that id, and the model never sees them one by one."
    """
    count = word.lower().count(letter.lower())
    noun = "token" if len(ids) == 1 else "tokens"
    id_list = ", ".join(str(i) for i in ids)
    inside = "that id" if len(ids) == 1 else "those ids"
    return (f"`{word}` has **{count}** × `{letter}`, but GPT-4's tokenizer hands the model **{len(ids)} {noun}** "
            f"for it: id{'s' if len(ids) > 1 else ''} {id_list}. The letters are inside {inside}, and the model "
            f"never sees them one by one.")


def tokenize_everywhere(text: str, allow_special: bool) -> tuple[list[TokenizerResult], dict[str, str]]:
    """Split `text` with every tokenizer that loads; return the results and the reasons for the rest."""
    results, unavailable = [], {}
    status = encoding_status()
    for name in TIKTOKEN_NAMES:
        if status.get(name) != "available":
            unavailable[name] = status.get(name, "unknown encoding")
            continue
        results.append(_tiktoken_result(name, text, allow_special))

    results.append(_reference_result(text, allow_special, cl100k_ids=results[0].ids if results else None))
    poet_result = _poet_result(text, allow_special, unavailable)
    if poet_result is not None:
        results.append(poet_result)
        student_result = _student_result(text, allow_special, poet_result, unavailable)
        if student_result is not None:
            results.append(student_result)
    return results, unavailable


def summary_table(text: str, results: list[TokenizerResult]) -> pd.DataFrame:
    """Tabulate token count and characters per token for each tokenizer."""
    rows = [
        {
            "tokenizer": result.name,
            "tokens": len(result.ids),
            "characters per token": round(len(text) / max(len(result.ids), 1), 2),
            "vocabulary size": result.vocab_size,
            "note": result.note,
        }
        for result in results
    ]
    return pd.DataFrame(rows)


def _tiktoken_result(name: str, text: str, allow_special: bool) -> TokenizerResult:
    encoding = load_cached_encoding(name)
    ids = encoding.encode(text, allowed_special="all") if allow_special else encoding.encode_ordinary(text)
    special_ids = {encoding.encode_single_token(token) for token in encoding.special_tokens_set}
    pieces = token_pieces(ids, encoding.decode_single_token_bytes, special_ids)
    return TokenizerResult(f"tiktoken {name}", ids, pieces, encoding.n_vocab, note="tiktoken")


def _reference_result(text: str, allow_special: bool, cl100k_ids: list[int] | None) -> TokenizerResult:
    tokenizer = load_cached_reference_bpe("cl100k_base")
    result = _bpe_result(REFERENCE_NAME, tokenizer, text, allow_special)
    if cl100k_ids is None:
        result.note = "tiktoken cl100k_base is unavailable, so no comparison"
    elif result.ids == cl100k_ids:
        result.note = "matches tiktoken cl100k_base"
    else:
        result.note = f"differs from tiktoken cl100k_base: {_first_difference(result.ids, cl100k_ids)}"
    return result


def _poet_result(text: str, allow_special: bool, unavailable: dict[str, str]) -> TokenizerResult | None:
    try:
        poet = find_poet()
    except CheckpointError as error:
        unavailable["demo poet"] = str(error)
        return None
    if poet is None:
        unavailable["demo poet"] = f"no checkpoint at {poet_path()}; create it with `make demo-poet`"
        return None
    result = _bpe_result("demo poet's BPE", poet.tokenizer, text, allow_special)
    result.note = "trained on poetry by the course"
    return result


def _student_result(text: str, allow_special: bool, poet_result: TokenizerResult,
                    unavailable: dict[str, str]) -> TokenizerResult | None:
    """Split the text with the student's `bpe_encode` and the poet's merges; None when not possible."""
    from grader.grading import call_student_function

    student = current_student()
    if student is None:
        return None  # classroom mode before sign-in
    if allow_special:
        unavailable[STUDENT_NAME] = "your bpe_encode handles no special tokens; untick the box to see it"
        return None
    tokenizer = find_poet().tokenizer
    files = workspace_files(student)
    if not files:
        return None
    arguments = [text, dict(tokenizer.merges), tokenizer.pattern]
    outcome = grading_threads().submit(
        call_student_function, grader_pool(str(course_dir())), files, "bpe_encode", arguments).result()

    if outcome["status"] != "ok":
        reason = "not written yet" if outcome["status"] == "not_implemented" else outcome.get("message") or outcome["status"]
        unavailable[STUDENT_NAME] = f"your bpe_encode did not run: {reason}"
        return None
    ids = outcome["value"]
    if not isinstance(ids, list) or not all(isinstance(i, int) and 0 <= i < tokenizer.vocab_size for i in ids):
        unavailable[STUDENT_NAME] = f"your bpe_encode must return a list of ids below {tokenizer.vocab_size}"
        return None
    pieces = token_pieces(ids, tokenizer.token_bytes, set())
    note = "matches the poet's BPE" if ids == poet_result.ids else "differs from the poet's BPE"
    return TokenizerResult(STUDENT_NAME, ids, pieces, tokenizer.vocab_size, note=note)


def _bpe_result(name: str, tokenizer, text: str, allow_special: bool) -> TokenizerResult:
    ids = tokenizer.encode(text, allowed_special="all") if allow_special else tokenizer.encode_ordinary(text)
    pieces = token_pieces(ids, tokenizer.token_bytes, set(tokenizer.special_tokens.values()))
    return TokenizerResult(name, ids, pieces, tokenizer.vocab_size)


def _first_difference(ids: list[int], expected: list[int]) -> str:
    for position, (actual, wanted) in enumerate(zip(ids, expected)):
        if actual != wanted:
            return f"token {position} is {actual}, tiktoken has {wanted}"
    return f"{len(ids)} tokens, tiktoken has {len(expected)}"


def _count_caption(text: str, result: TokenizerResult) -> str:
    count = len(result.ids)
    per_token = len(text) / max(count, 1)
    noun = "token" if count == 1 else "tokens"
    caption = f"{count} {noun}, {per_token:.2f} characters per token"
    return f"{caption} · {result.note}" if result.note else caption


if __name__ == "__main__":
    tokens_page()
