"""Byte-level byte-pair encoding (BPE): training, encoding and decoding.

A tokenizer turns text into a list of integer ids. Byte-level BPE starts from the 256 possible
UTF-8 byte values and repeatedly merges the most frequent adjacent pair of ids into a new id.
Every string can be encoded, because every string is a sequence of bytes.

Steps, in the order the course teaches them:

1. `pretokenize` splits text into chunks with a regular expression (GPT-2 and GPT-4 style),
   so merges never cross a word boundary such as the space before a word.
2. `get_pair_counts` counts adjacent pairs of ids.
3. `merge` replaces every occurrence of one pair by a new id.
4. `BPETokenizer.train` repeats 2 and 3 until the vocabulary reaches the requested size.
5. `BPETokenizer.encode` applies the learned merges to new text, earliest merge first.

Tie-break rule for training: among the pairs with the highest count, the smallest pair in
(left id, right id) order is merged. The rule makes training deterministic, independent of
the order in which a dict happens to list its pairs.

`BPETokenizer.from_mergeable_ranks` rebuilds tiktoken's encodings (cl100k_base, o200k_base)
from their rank files, and produces exactly tiktoken's ids.

Deliberately left out: Unicode normalization (NFC and the like), because byte-level BPE does
not need it and it would make encoding lossy. Speed-ups beyond a per-chunk cache and an
incremental pair count in training are left out too, so that the code stays readable.
"""

from __future__ import annotations

import heapq
import logging
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Callable, Iterable, Literal, Mapping, Sequence

import regex

if TYPE_CHECKING:
    import tiktoken

logger = logging.getLogger(__name__)

# The pattern of the original GPT-2 release, as quoted in tiktoken 0.14.0,
# tiktoken_ext/openai_public.py, where the r50k pattern is a faster equivalent. It keeps English
# contractions ('s, 't, ...) apart, keeps a leading space on each word, and leaves the last
# space of a whitespace run to the next word.
GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)

# The cl100k_base pattern (GPT-4), as defined in tiktoken 0.14.0, tiktoken_ext/openai_public.py.
# Compared with GPT-2: contractions match in any case, numbers split into groups of at most
# three digits, and whitespace up to the last newline of a run forms a chunk of its own.
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

# Maximum number of chunk encodings cached per tokenizer. Text repeats its words, so most chunks
# of a few MB of poetry hit the cache. A full cache is cleared, which keeps memory bounded.
CHUNK_CACHE_SIZE = 1 << 16


def get_pair_counts(
    ids: list[int], counts: dict[tuple[int, int], int] | None = None
) -> dict[tuple[int, int], int]:
    """Count how often each adjacent pair of ids occurs.

    Pass `counts` to add to an existing count (it is updated in place and returned).

    Example:
        >>> get_pair_counts([1, 2, 3, 1, 2])
        {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    """
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `ids` by `new_id`, scanning left to right.

    Occurrences do not overlap: in [6, 6, 6] only the first two 6s form the pair.

    Example:
        >>> merge([5, 6, 6, 7, 6, 6], (6, 6), 99)
        [5, 99, 7, 99]
        >>> merge([6, 6, 6], (6, 6), 9)
        [9, 6]
    """
    merged = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(ids[i])
            i += 1
    return merged


def pretokenize(text: str, pattern: str) -> list[str]:
    """Split `text` into the chunks that `pattern` matches; BPE merges stay inside one chunk.

    Example:
        >>> pretokenize("Hello world!! I'm here", GPT2_SPLIT_PATTERN)
        ['Hello', ' world', '!!', ' I', "'m", ' here']
    """
    return regex.findall(pattern, text)


def _utf8(text: str) -> bytes:
    """Encode `text` as UTF-8, with a clear error for lone surrogates."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = error.object[error.start : error.end]
        raise ValueError(
            f"text contains the lone surrogate {bad!r}, which cannot be encoded as UTF-8; "
            f"remove it, or create the text with errors='replace' when decoding bytes"
        ) from None


def _compile_pattern(pattern: str) -> regex.Pattern:
    if not isinstance(pattern, str):
        raise TypeError(f"pattern must be a str, got {type(pattern).__name__}")
    try:
        return regex.compile(pattern)
    except regex.error as error:
        raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {error}") from None


def _split_chunks(compiled: regex.Pattern, text: str) -> list[str]:
    """Pre-tokenize `text`, and reject a pattern that would silently drop characters."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}; decode bytes with .decode('utf-8') first")
    chunks = compiled.findall(text)
    if sum(map(len, chunks)) != len(text):
        raise ValueError(
            f"pattern {compiled.pattern!r} does not match every character of the text, so "
            f"encoding would lose text; end the pattern with an alternative such as |\\s|."
        )
    return chunks


def _learn_merges(
    words: list[list[int]],
    freqs: list[int],
    num_merges: int,
    progress: Callable[[int, int], None] | None,
) -> dict[tuple[int, int], int]:
    """Merge the most frequent pair `num_merges` times, or until no pair is left.

    `words[w]` is one unique chunk as ids and `freqs[w]` how often it occurs. The words are
    merged in place.
    """
    # pair -> its count over all words, weighted by frequency
    pair_counts: dict[tuple[int, int], int] = defaultdict(int)
    # pair -> indices of the words that contain it (may also list words that no longer do)
    pair_words: dict[tuple[int, int], set[int]] = defaultdict(set)
    for w, word in enumerate(words):
        for pair, count in get_pair_counts(word).items():
            pair_counts[pair] += count * freqs[w]
            pair_words[pair].add(w)

    # A heap of (-count, pair) pops the highest count first and, among equal counts, the
    # smallest pair, which is the tie-break rule. An entry goes stale when its count changes, so
    # each change pushes a fresh entry, and a popped entry is used only if its count is current.
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)

    merges: dict[tuple[int, int], int] = {}
    for step in range(num_merges):
        pair = _pop_most_frequent(heap, pair_counts)
        if pair is None:
            break
        new_id = 256 + step
        merges[pair] = new_id
        changed = _merge_words(words, freqs, pair, new_id, pair_counts, pair_words)
        for changed_pair in changed:
            if pair_counts[changed_pair] > 0:
                heapq.heappush(heap, (-pair_counts[changed_pair], changed_pair))
            else:
                del pair_counts[changed_pair]
        if progress is not None:
            progress(step + 1, num_merges)
    return merges


def _pop_most_frequent(heap: list, pair_counts: Mapping[tuple[int, int], int]) -> tuple[int, int] | None:
    while heap:
        negative_count, pair = heapq.heappop(heap)
        if pair_counts.get(pair) == -negative_count:
            return pair
    return None


def _merge_words(words, freqs, pair, new_id, pair_counts, pair_words) -> set[tuple[int, int]]:
    """Merge `pair` in every word that contains it, and update the pair counts of those words."""
    changed = set()
    for w in pair_words.pop(pair):
        word = words[w]
        merged = merge(word, pair, new_id)
        if len(merged) == len(word):
            continue  # a stale index entry: an earlier merge already removed the pair here

        # Recount this word: remove its old pairs, add its new ones.
        for old_pair, count in get_pair_counts(word).items():
            pair_counts[old_pair] -= count * freqs[w]
            changed.add(old_pair)
        for new_pair, count in get_pair_counts(merged).items():
            pair_counts[new_pair] += count * freqs[w]
            pair_words[new_pair].add(w)
            changed.add(new_pair)
        words[w] = merged
    return changed


def _bpe_by_rank(token: bytes, ranks: Mapping[bytes, int], max_rank: int) -> list[bytes]:
    """Split `token` into parts by BPE over byte strings, as tiktoken encodes a chunk.

    Adjacent parts are merged while their concatenation is a token of rank below `max_rank`,
    lowest rank first.
    """
    parts = [bytes([byte]) for byte in token]
    while len(parts) >= 2:
        best_rank, best_index = max_rank, -1
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best_rank, best_index = rank, i
        if best_index < 0:
            break
        parts[best_index : best_index + 2] = [parts[best_index] + parts[best_index + 1]]
    return parts


def _special_token_names(special_tokens: Mapping[str, int] | Sequence[str] | None) -> list[str]:
    if special_tokens is None:
        return []
    if isinstance(special_tokens, str):
        raise TypeError(
            f"special_tokens must be a list of str or a dict str -> id, got the str "
            f"{special_tokens!r}; wrap it in a list"
        )
    return list(special_tokens)


def _number_special_tokens(
    special_tokens: Mapping[str, int] | Sequence[str] | None, first_id: int, first_free_id: int
) -> dict[str, int]:
    """Give listed special tokens ids from `first_id`; check that explicit ids stay clear of merges."""
    if special_tokens is None:
        return {}
    if not isinstance(special_tokens, Mapping):
        return {name: first_id + i for i, name in enumerate(special_tokens)}

    for name, token_id in special_tokens.items():
        if not isinstance(token_id, int) or token_id < first_free_id:
            raise ValueError(
                f"special token {name!r} has id {token_id!r}, inside the ids reserved for bytes "
                f"and merges (0..{first_free_id - 1}); use an id >= {first_free_id}, or pass a "
                f"list of names to number them after the merges"
            )
    return dict(special_tokens)


class BPETokenizer:
    """A byte-level BPE tokenizer: 256 byte tokens, learned merges, and special tokens.

    Ids of the 256 byte tokens are 0..255 for a trained tokenizer, but follow the rank file for
    tiktoken's encodings, where b"!" has id 0. `merges` maps a pair of ids to the id of the
    token they form, in the order the merges were learned. Encoding applies earlier merges first.
    """

    def __init__(
        self,
        merges: Mapping[tuple[int, int], int],
        pattern: str = GPT4_SPLIT_PATTERN,
        special_tokens: Mapping[str, int] | None = None,
        byte_ids: Sequence[int] | None = None,
    ) -> None:
        self.pattern = pattern
        self._compiled = _compile_pattern(pattern)
        self.merges: dict[tuple[int, int], int] = dict(merges)
        self.special_tokens: dict[str, int] = dict(special_tokens or {})

        # byte value -> id of its single-byte token (the identity, unless a rank file gives other ids)
        self._byte_ids: list[int] = list(range(256)) if byte_ids is None else list(byte_ids)

        # id -> bytes of that token, for every byte token and merged token
        self._vocab: dict[int, bytes] = self._build_vocab()
        # bytes -> id, so a chunk that is a whole token maps to it directly
        self._token_ids: dict[bytes, int] = {token: token_id for token_id, token in self._vocab.items()}
        self._check_special_tokens()
        self._chunk_cache: dict[str, list[int]] = {}

    # ----------------------------------------------------------------------------------------
    # construction and validation

    def _build_vocab(self) -> dict[int, bytes]:
        if len(self._byte_ids) != 256 or len(set(self._byte_ids)) != 256:
            raise ValueError(
                f"byte_ids must list 256 distinct ids (one per byte value), got {len(self._byte_ids)} "
                f"entries with {len(set(self._byte_ids))} distinct ids"
            )
        vocab = {token_id: bytes([byte]) for byte, token_id in enumerate(self._byte_ids)}

        # Each merged token is the concatenation of two tokens that already exist.
        for (left, right), new_id in self.merges.items():
            if left not in vocab or right not in vocab:
                raise ValueError(
                    f"merge ({left}, {right}) -> {new_id} uses an id that no earlier token has; "
                    f"list merges in the order they were learned"
                )
            if new_id in vocab:
                raise ValueError(f"merge ({left}, {right}) -> {new_id} reuses the existing id {new_id}")
            vocab[new_id] = vocab[left] + vocab[right]
        return vocab

    def _check_special_tokens(self) -> None:
        for token, token_id in self.special_tokens.items():
            if not isinstance(token, str) or not token:
                raise ValueError(f"special token {token!r} must be a non-empty str")
            if not isinstance(token_id, int) or token_id < 0:
                raise ValueError(f"special token {token!r} has id {token_id!r}; use an int >= 0")
            if token_id in self._vocab:
                raise ValueError(
                    f"special token {token!r} has id {token_id}, which a byte or merged token "
                    f"already uses; give it an id >= {max(self._vocab) + 1}"
                )
        if len(set(self.special_tokens.values())) != len(self.special_tokens):
            raise ValueError(f"special tokens must have distinct ids, got {self.special_tokens}")

    # ----------------------------------------------------------------------------------------
    # training

    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        pattern: str = GPT4_SPLIT_PATTERN,
        special_tokens: Mapping[str, int] | Sequence[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> BPETokenizer:
        """Learn merges from `text` until the vocabulary has `vocab_size` tokens.

        `vocab_size` counts the 256 byte tokens, the merges and the special tokens. Special
        tokens given as a list of strings get the ids right after the merges. Special tokens
        given as a dict keep their ids, which must be >= `vocab_size - len(special_tokens)`.
        Special-token strings inside `text` are trained on as ordinary text.

        Each step merges the most frequent pair. Tie-break: among the pairs with the highest
        count, the smallest pair in (left id, right id) order wins. Training stops early, with
        a log message, when no adjacent pair is left. `progress(merges_done, merges_total)` is
        called after each merge.

        Pairs are counted over the unique pre-tokenized chunks, weighted by how often each
        chunk occurs, and after each merge only the chunks that contain the merged pair are
        recounted.
        """
        if not isinstance(vocab_size, int) or vocab_size < 256:
            raise ValueError(
                f"vocab_size must be an int >= 256 (one token per byte value), got {vocab_size!r}"
            )
        special_names = _special_token_names(special_tokens)
        num_merges = vocab_size - 256 - len(special_names)
        if num_merges < 0:
            raise ValueError(
                f"vocab_size {vocab_size} leaves no room for 256 byte tokens and "
                f"{len(special_names)} special tokens; use vocab_size >= {256 + len(special_names)}"
            )

        # Checked before training so that a bad id fails in a moment, not after the merges.
        _number_special_tokens(special_tokens, 256 + num_merges, 256 + num_merges)

        # unique chunk (as a list of byte ids) and how often it occurs in the text
        chunk_counts = Counter(_split_chunks(_compile_pattern(pattern), text))
        words = [list(_utf8(chunk)) for chunk in chunk_counts]
        freqs = list(chunk_counts.values())
        logger.info("training BPE: %d chars, %d unique chunks, %d merges", len(text), len(words), num_merges)

        merges = _learn_merges(words, freqs, num_merges, progress)
        if len(merges) < num_merges:
            logger.warning(
                "training stopped early after %d of %d merges: the text has no adjacent pair left",
                len(merges), num_merges,
            )

        first_special_id = 256 + len(merges)
        specials = _number_special_tokens(special_tokens, first_special_id, 256 + num_merges)
        return cls(merges, pattern, specials)

    # ----------------------------------------------------------------------------------------
    # loading tiktoken's encodings

    @classmethod
    def from_mergeable_ranks(
        cls, ranks: Mapping[bytes, int], pattern: str, special_tokens: Mapping[str, int] | None = None
    ) -> BPETokenizer:
        """Build the tokenizer that a tiktoken rank file describes, with tiktoken's ids.

        A rank file lists every token's bytes with its rank, which is also its id. It does not
        list merges. The merge that forms a token is recovered by running BPE on the token's
        own bytes with only the tokens of lower rank: the last two parts left are the pair.
        """
        byte_ids = []
        for byte in range(256):
            if bytes([byte]) not in ranks:
                raise ValueError(f"ranks have no token for the single byte {bytes([byte])!r}")
            byte_ids.append(ranks[bytes([byte])])

        merges = {}
        for token, rank in sorted(ranks.items(), key=lambda item: item[1]):
            if len(token) == 1:
                continue
            parts = _bpe_by_rank(token, ranks, max_rank=rank)
            # NOTE: BPE never produces a token that lower ranks cannot build in one merge, but
            # it is still reached by the whole-chunk lookup in `_encode_chunk`, as in tiktoken.
            if len(parts) == 2:
                merges[(ranks[parts[0]], ranks[parts[1]])] = rank

        tokenizer = cls(merges, pattern, special_tokens, byte_ids)
        tokenizer._add_unmergeable_tokens(ranks)
        return tokenizer

    @classmethod
    def from_tiktoken(cls, encoding: tiktoken.Encoding) -> BPETokenizer:
        """Build the tokenizer equivalent to a `tiktoken.Encoding`.

        Reads the encoding's private fields `_mergeable_ranks`, `_pat_str` and
        `_special_tokens`, as named in tiktoken 0.14.0.
        """
        return cls.from_mergeable_ranks(
            encoding._mergeable_ranks, encoding._pat_str, encoding._special_tokens
        )

    def _add_unmergeable_tokens(self, ranks: Mapping[bytes, int]) -> None:
        missing = {token: rank for token, rank in ranks.items() if rank not in self._vocab}
        if missing:
            logger.info("%d tokens in the rank file are not formed by any merge", len(missing))
        for token, rank in missing.items():
            self._vocab[rank] = token
            self._token_ids[token] = rank

    # ----------------------------------------------------------------------------------------
    # encoding

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode `text`, treating special-token strings as ordinary text."""
        ids: list[int] = []
        for chunk in _split_chunks(self._compiled, text):
            ids.extend(self._encode_chunk_cached(chunk))
        return ids

    def encode(
        self, text: str, allowed_special: set[str] | frozenset[str] | Literal["all"] = frozenset()
    ) -> list[int]:
        """Encode `text`; special-token strings become their ids only where `allowed_special` lists them.

        A special-token string that is not allowed raises ValueError, because text from a user
        that contains "<|endoftext|>" would otherwise end a document in the middle. Pass
        `allowed_special="all"` (or a set of names) to encode them, or use `encode_ordinary`
        to treat them as plain text.
        """
        allowed = self._resolve_allowed_special(allowed_special)
        self._reject_disallowed_special(text, allowed)
        if not allowed:
            return self.encode_ordinary(text)

        # Split around the allowed special tokens. The capturing group keeps them in the output,
        # at odd positions. Longer tokens go first so that one token's prefix cannot win.
        names = sorted(allowed, key=len, reverse=True)
        special_pattern = "(" + "|".join(regex.escape(name) for name in names) + ")"
        ids: list[int] = []
        for i, part in enumerate(regex.split(special_pattern, text)):
            if i % 2 == 1:
                ids.append(self.special_tokens[part])
            else:
                ids.extend(self.encode_ordinary(part))
        return ids

    def _resolve_allowed_special(self, allowed_special) -> set[str]:
        if allowed_special == "all":
            return set(self.special_tokens)
        if isinstance(allowed_special, str):
            raise TypeError(
                f"allowed_special must be a set of special-token strings or 'all', "
                f"got the str {allowed_special!r}; wrap a single token in a set"
            )
        unknown = set(allowed_special) - set(self.special_tokens)
        if unknown:
            raise ValueError(
                f"allowed_special lists {sorted(unknown)}, which are not special tokens of this "
                f"tokenizer; its special tokens are {sorted(self.special_tokens)}"
            )
        return set(allowed_special)

    def _reject_disallowed_special(self, text: str, allowed: set[str]) -> None:
        for token in self.special_tokens:
            if token not in allowed and token in text:
                raise ValueError(
                    f"text contains the special token {token!r}, which is not allowed; pass "
                    f"allowed_special={{{token!r}}} (or 'all') to encode it as a special token, "
                    f"or use encode_ordinary to encode it as plain text"
                )

    def _encode_chunk_cached(self, chunk: str) -> list[int]:
        ids = self._chunk_cache.get(chunk)
        if ids is None:
            ids = self._encode_chunk(_utf8(chunk))
            if len(self._chunk_cache) >= CHUNK_CACHE_SIZE:
                self._chunk_cache.clear()
            self._chunk_cache[chunk] = ids
        return ids

    def _encode_chunk(self, chunk: bytes) -> list[int]:
        """Apply the merges to one chunk, always the earliest-learned merge first."""
        # A chunk that is itself a token becomes that token, as in tiktoken. For a rank-file token
        # that no merge forms this is the only way in (cl100k_base and o200k_base have none).
        if chunk in self._token_ids:
            return [self._token_ids[chunk]]

        ids = [self._byte_ids[byte] for byte in chunk]
        while len(ids) >= 2:
            pairs = get_pair_counts(ids)
            # The pair merged earliest in training has the smallest new id.
            pair = min(pairs, key=lambda p: self.merges.get(p, float("inf")))
            if pair not in self.merges:
                break
            ids = merge(ids, pair, self.merges[pair])
        return ids

    # ----------------------------------------------------------------------------------------
    # decoding

    def token_bytes(self, token_id: int) -> bytes:
        """Return the bytes of one token; a special token gives its UTF-8 string."""
        if not isinstance(token_id, int):
            raise TypeError(f"token id must be an int, got {type(token_id).__name__} {token_id!r}")
        if token_id in self._vocab:
            return self._vocab[token_id]
        for token, special_id in self.special_tokens.items():
            if special_id == token_id:
                return token.encode("utf-8")

        if 0 <= token_id < self.vocab_size:
            raise ValueError(f"token id {token_id} is not assigned to any token (vocabulary size {self.vocab_size})")
        raise ValueError(f"token id {token_id} is outside the vocabulary (size {self.vocab_size})")

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        """Join the bytes of the tokens `ids`."""
        return b"".join(self.token_bytes(token_id) for token_id in ids)

    def decode(self, ids: Iterable[int]) -> str:
        """Decode `ids` to text; bytes that are not valid UTF-8 become U+FFFD.

        A single token may hold part of a multi-byte character, so decoding a slice of ids can
        produce U+FFFD even though decoding all of them gives the original text back.
        """
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    @property
    def vocab_size(self) -> int:
        """Number of ids, special tokens included: one more than the largest id."""
        return max(max(self._vocab), max(self.special_tokens.values(), default=-1)) + 1

    # ----------------------------------------------------------------------------------------
    # saving and loading (JSON-safe, no pickle)

    def to_dict(self) -> dict:
        """Return the tokenizer as plain str, int, list and dict values, ready for json.dump."""
        formed_ids = set(self.merges.values()) | set(self._byte_ids)
        return {
            "format": "bpe-tokenizer",
            "version": 1,
            "pattern": self.pattern,
            "byte_ids": list(self._byte_ids),
            "merges": [[left, right, new_id] for (left, right), new_id in self.merges.items()],
            # tokens in the vocabulary that no merge forms (only tiktoken rank files have them)
            "extra_tokens": [
                [token_id, list(token)]
                for token_id, token in self._vocab.items()
                if token_id not in formed_ids
            ],
            "special_tokens": dict(self.special_tokens),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> BPETokenizer:
        """Rebuild a tokenizer from the output of `to_dict`."""
        if not isinstance(data, Mapping) or data.get("format") != "bpe-tokenizer":
            raise ValueError(
                "data is not a saved BPETokenizer (expected a dict with format 'bpe-tokenizer'); "
                "create it with BPETokenizer.to_dict()"
            )
        if data.get("version") != 1:
            raise ValueError(f"saved tokenizer has version {data.get('version')!r}; this code reads version 1")

        try:
            merges = {(int(left), int(right)): int(new_id) for left, right, new_id in data["merges"]}
            specials = {str(name): int(token_id) for name, token_id in data["special_tokens"].items()}
            byte_ids = [int(token_id) for token_id in data["byte_ids"]]
            extra = {bytes(token): int(token_id) for token_id, token in data.get("extra_tokens", [])}
            pattern = data["pattern"]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"saved tokenizer is damaged ({type(error).__name__}: {error}); save it again with to_dict()"
            ) from None

        tokenizer = cls(merges, pattern, specials, byte_ids)
        tokenizer._add_unmergeable_tokens(extra)
        return tokenizer

    def __repr__(self) -> str:
        return (
            f"BPETokenizer(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
            f"special_tokens={len(self.special_tokens)})"
        )

