"""The poet's command line: train on a teacher's text, write poems, explain itself, fail clearly."""

import pytest

from reference.cli import build_parser, main
from reference.poet import load_poet

VERSE = (
    "The woods are lovely, dark and deep,\n"
    "But I have promises to keep,\n"
    "And miles to go before I sleep.\n"
)


@pytest.fixture
def poems_file(tmp_path):
    path = tmp_path / "poems.txt"
    path.write_text(VERSE * 200, encoding="utf-8")
    return path


def tiny_train_args(corpus, out, cache, *extra):
    return [
        "train", "--corpus", str(corpus), "--cache-dir", str(cache), "--out", str(out),
        "--vocab-size", "300", "--context-length", "16", "--layers", "1", "--heads", "2", "--width", "16",
        "--batch-size", "4", "--steps", "6", "--eval-interval", "3", "--eval-batches", "1", "--quiet", *extra,
    ]


def test_train_then_write(poems_file, tmp_path, capsys):
    out = tmp_path / "poet.pt"
    assert main(tiny_train_args(poems_file, out, tmp_path / "cache")) == 0
    poet = load_poet(out)
    assert poet.info["step"] == 6
    assert [entry["step"] for entry in poet.info["history"]] == [3, 6]
    assert poet.tokenizer.vocab_size == 300

    capsys.readouterr()
    assert main(["write", "--checkpoint", str(out), "--prompt", "The woods", "--tokens", "5", "--seed", "1"]) == 0
    assert capsys.readouterr().out.startswith("The woods")


def test_resume_continues_steps(poems_file, tmp_path):
    out = tmp_path / "poet.pt"
    cache = tmp_path / "cache"
    assert main(tiny_train_args(poems_file, out, cache)) == 0
    assert main(tiny_train_args(poems_file, out, cache, "--resume", str(out), "--steps", "9")) == 0
    assert load_poet(out).info["step"] == 9


def test_too_small_corpus_gets_clear_error(tmp_path, capsys):
    small = tmp_path / "small.txt"
    small.write_text(VERSE * 60, encoding="utf-8")
    args = tiny_train_args(small, tmp_path / "poet.pt", tmp_path / "cache")
    args[args.index("--context-length") + 1] = "128"
    assert main(args) == 2
    error = capsys.readouterr().err
    assert "tokens long, but one training window needs context_length + 1 = 129" in error
    assert not (tmp_path / "poet.pt").exists()


def test_missing_checkpoint_gets_clear_error(tmp_path, capsys):
    assert main(["write", "--checkpoint", str(tmp_path / "none.pt")]) == 2
    assert "not found" in capsys.readouterr().err


def test_checkpoint_folder_gets_clear_error(tmp_path, capsys):
    assert main(["write", "--checkpoint", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder, not a file" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("poems", ["0", "-2"])
def test_write_rejects_poem_count_below_one(poems, capsys):
    assert main(["write", "--poems", poems]) == 2
    assert f"--poems must be >= 1, got {poems}" in capsys.readouterr().err


@pytest.mark.parametrize("tokens", ["0", "-3"])
def test_write_rejects_token_count_below_one(tokens, capsys):
    # With 0 new tokens the poet would only echo the prompt back.
    assert main(["write", "--tokens", tokens, "--prompt", "The sea"]) == 2
    assert f"--tokens must be >= 1, got {tokens}" in capsys.readouterr().err


def test_bad_sampling_setting_gets_clear_error(poems_file, tmp_path, capsys):
    out = tmp_path / "poet.pt"
    main(tiny_train_args(poems_file, out, tmp_path / "cache"))
    capsys.readouterr()
    assert main(["write", "--checkpoint", str(out), "--temperature", "-1"]) == 2
    assert "temperature must be a number >= 0" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train", "write"])
def test_help_explains_options_with_units(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    text = capsys.readouterr().out
    assert "--temperature" in text or "--minutes" in text
    if command == "train":
        assert "wall-clock budget in minutes" in text
        assert "sequences per step" in text


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--lr", "-1", "--lr must be more than 0, got -1.0"),
    ("--steps", "0", "--steps must be at least 1, got 0"),
    ("--batch-size", "0", "--batch-size must be at least 1, got 0"),
    ("--minutes", "-2", "--minutes must be more than 0, got -2.0"),
    ("--warmup", "1.5", "--warmup is a fraction of the run in [0, 1), got 1.5"),
])
def test_invalid_train_option_named(option, value, message, tmp_path, capsys):
    args = tiny_train_args(tmp_path / "missing.txt", tmp_path / "poet.pt", tmp_path / "cache", option, value)
    assert main(args) == 2
    assert message in capsys.readouterr().err
