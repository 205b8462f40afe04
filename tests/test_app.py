"""Tests for the Streamlit app through `AppTest`: real pages, the real demo poet, real tiktoken."""

import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from course.models import POET_PATH_VARIABLE
from course.pages.student import COURSE_DIR_VARIABLE, WORKSPACE_VARIABLE
from reference.cli import DEMO_POET
from reference.poet import load_poet
from reference.tiktoken_offline import available_encodings, load_encoding
from tests.workspaces import write_reference_workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TOKENS_PAGE = "course/pages/tokens.py"
ATTENTION_PAGE = "course/pages/attention.py"
WRITE_PAGE = "course/pages/write.py"


@pytest.fixture(autouse=True)
def use_demo_poet(monkeypatch, tmp_path):
    """Make every test see the shipped demo poet, and keep course data (the grader's pool folder,
    the gradebook) under tmp_path instead of the checkout."""
    monkeypatch.delenv(POET_PATH_VARIABLE, raising=False)
    monkeypatch.setenv(COURSE_DIR_VARIABLE, str(tmp_path / "course"))


@pytest.fixture(scope="module")
def demo_poet():
    if not DEMO_POET.is_file():
        pytest.skip(f"the demo poet {DEMO_POET} is absent; create it with `make demo-poet`")
    return load_poet(DEMO_POET)


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page(page).run()
    assert not app.exception, [item.value for item in app.exception]
    return app


def plotly_specs(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def plotly_array(value) -> list:
    """Return a plotly JSON array as nested lists; plotly writes NumPy arrays as base64 typed arrays."""
    if not isinstance(value, dict):
        return value
    array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    shape = [int(size) for size in str(value.get("shape", len(array))).split(",")]
    return array.reshape(shape).tolist()


def table_row(app: AppTest, tokenizer: str) -> dict:
    table = app.dataframe[0].value
    rows = table[table["tokenizer"] == tokenizer]
    assert len(rows) == 1, f"no single row for {tokenizer} in {list(table['tokenizer'])}"
    return rows.iloc[0].to_dict()


# ---------------------------------------------------------------------------------------------


def test_welcome_sidebar_names_poet_loss(demo_poet):
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    sidebar = " ".join(markdown.value for markdown in app.sidebar.markdown)
    last = demo_poet.info["history"][-1]
    assert f"{demo_poet.info['step']} training steps" in sidebar
    assert f"{last['val_loss_per_char']:.3f} per character" in sidebar


def test_tokens_page_counts_match_tiktoken():
    app = open_page(TOKENS_PAGE)
    text = "The owl, for all his feathers, was a-cold 🦉\n\tO <b>bold</b>"
    app.text_area(key="tokens.text").input(text).run()
    assert not app.exception

    for name in ("cl100k_base", "o200k_base"):
        expected = len(load_encoding(name).encode(text))
        row = table_row(app, f"tiktoken {name}")
        assert row["tokens"] == expected
        assert row["characters per token"] == pytest.approx(len(text) / expected, abs=0.01)
    assert table_row(app, "reference BPE (cl100k_base ranks)")["note"] == "matches tiktoken cl100k_base"

    chips = " ".join(element.proto.body for element in app.html)
    assert "<b>" not in chips
    assert "&lt;" in chips


def test_tokens_page_runs_students_bpe(monkeypatch, tmp_path, demo_poet):
    monkeypatch.setenv(WORKSPACE_VARIABLE, str(write_reference_workspace(tmp_path / "student")))
    app = open_page(TOKENS_PAGE)
    text = "The sea at night 🌊"
    app.text_area(key="tokens.text").input(text).run()
    row = table_row(app, "your BPE (bpe_encode from lesson 2, with the poet's merges)")
    assert row["note"] == "matches the poet's BPE"
    assert row["tokens"] == len(demo_poet.tokenizer.encode(text))


def test_tokens_page_reports_unwritten_bpe(demo_poet):
    app = open_page(TOKENS_PAGE)  # the checkout's exercises/ folder: untouched stubs
    messages = [info.value for info in app.info]
    assert any("your bpe_encode did not run: not written yet" in message for message in messages), messages


def test_tokens_page_explains_missing_gpt2():
    reason = available_encodings()["gpt2"]
    if reason == "available":
        pytest.skip("GPT-2's files are in tiktoken's cache here, so there is no missing encoding to explain")
    app = open_page(TOKENS_PAGE)
    messages = [info.value for info in app.info]
    assert any(reason in message for message in messages), messages


def test_tokens_page_marks_allowed_special_token():
    app = open_page(TOKENS_PAGE)
    text = "The end.<|endoftext|>"
    app.text_area(key="tokens.text").input(text).run()
    assert table_row(app, "tiktoken cl100k_base")["tokens"] == len(load_encoding("cl100k_base").encode_ordinary(text))
    assert "chip special" not in " ".join(element.proto.body for element in app.html)

    app.checkbox(key="tokens.allow_special").check().run()
    expected = len(load_encoding("cl100k_base").encode(text, allowed_special="all"))
    assert table_row(app, "tiktoken cl100k_base")["tokens"] == expected
    assert "chip special" in " ".join(element.proto.body for element in app.html)


def test_attention_chart_has_row_per_token(demo_poet):
    app = open_page(ATTENTION_PAGE)
    prompt = "The moon, the moon upon the water"
    app.text_input(key="attention.text").input(prompt).run()
    assert not app.exception

    T = len(demo_poet.tokenizer.encode_ordinary(prompt))
    heatmap, every_head, grid = plotly_specs(app)
    assert [trace["type"] for trace in heatmap["data"]] == ["heatmap", "scatter"]  # the cells and their click targets
    assert len(plotly_array(heatmap["data"][0]["z"])) == T
    assert len(heatmap["layout"]["yaxis"]["tickvals"]) == T
    assert len(plotly_array(heatmap["data"][1]["x"])) == T * (T + 1) // 2  # one target per visible cell
    assert len(plotly_array(every_head["data"][0]["z"])) == demo_poet.model.config.n_layer * demo_poet.model.config.n_head
    assert len(grid["data"]) == demo_poet.model.config.n_head


def test_attention_query_choice_outlines_row(demo_poet):
    app = open_page(ATTENTION_PAGE)
    T = len(demo_poet.tokenizer.encode_ordinary(app.text_input(key="attention.text").value))
    heatmap, every_head, _ = plotly_specs(app)
    assert [shape["y0"] for shape in heatmap["layout"]["shapes"]] == [T - 1 - 0.5]  # the last token by default

    app.select_slider(key="attention.token").set_value(2).run()
    heatmap, every_head, _ = plotly_specs(app)
    assert [shape["y0"] for shape in heatmap["layout"]["shapes"]] == [1.5]
    rows = plotly_array(every_head["data"][0]["z"])
    assert all(value is None or math.isnan(value) for row in rows for value in row[3:])  # keys after the query
    assert all(not math.isnan(value) for row in rows for value in row[:3])


def test_attention_new_line_resets_query(demo_poet):
    app = open_page(ATTENTION_PAGE)
    app.select_slider(key="attention.token").set_value(1).run()
    app.text_input(key="attention.text").input("The moon upon the water, and the wind across the sea").run()
    slider = app.select_slider(key="attention.token")
    assert slider.value == len(slider.options) - 1


def test_attention_layer_choice_changes_chart(demo_poet):
    if demo_poet.model.config.n_layer < 2:
        pytest.skip("the demo poet has one layer, so there is no other layer to choose")
    app = open_page(ATTENTION_PAGE)
    first = plotly_specs(app)[0]
    app.selectbox(key="attention.layer").select(2).run()
    second = plotly_specs(app)[0]
    assert "Layer 2" in second["layout"]["title"]["text"]
    assert plotly_array(first["data"][0]["z"]) != plotly_array(second["data"][0]["z"])


def test_attention_empty_input_shows_message(demo_poet):
    app = open_page(ATTENTION_PAGE)
    app.text_input(key="attention.text").input("   ").run()
    assert not app.exception
    assert any("Type a line of verse" in info.value for info in app.info)
    assert plotly_specs(app) == []


def test_attention_long_input_is_cropped(demo_poet):
    app = open_page(ATTENTION_PAGE)
    context_length = demo_poet.model.config.context_length
    line = "and the sea " * context_length
    T = len(demo_poet.tokenizer.encode_ordinary(line))
    assert T > context_length
    app.text_input(key="attention.text").input(line).run()
    assert not app.exception

    warnings = " ".join(warning.value for warning in app.warning)
    assert f"{T} tokens long" in warnings
    assert f"showing the last {context_length} tokens" in warnings
    heatmap, _, grid = plotly_specs(app)
    assert len(plotly_array(heatmap["data"][0]["z"])) == context_length
    assert len(plotly_array(grid["data"][0]["z"])) == 64
    assert any("last 64" in info.value for info in app.info)


def test_write_page_poem_starts_with_prompt(demo_poet):
    app = open_page(WRITE_PAGE)
    prompt = "Upon the hill"
    app.text_area(key="write.prompt").input(prompt).run()
    app.slider(key="write.tokens").set_value(30).run()
    app.button(key="write.button").click().run()
    assert not app.exception

    poem = app.session_state["write.poem"]
    assert poem.startswith(prompt)
    # Same settings and seed through the reference poet give the same poem.
    assert poem == demo_poet.write(prompt, 30, 0.8, 40, None, 0)
    shown = " ".join(element.proto.body for element in app.html)
    assert "Upon the hill" in shown

    bars = plotly_specs(app)[0]
    assert len(bars["data"][0]["x"]) == 20


def test_write_page_explains_broken_characters(demo_poet):
    app = open_page(WRITE_PAGE)
    app.button(key="write.button").click().run()
    assert "\ufffd" not in app.session_state["write.poem"]
    assert not any("do not form a whole character" in caption.value for caption in app.caption)

    # Temperature 2 with top-k off samples rare tokens; seed 0 ends one partway through a character.
    app.slider(key="write.temperature").set_value(2.0)
    app.slider(key="write.top_k").set_value(0).run()
    app.button(key="write.button").click().run()
    poem = app.session_state["write.poem"]
    assert poem == demo_poet.write("The sea at night", 120, 2.0, None, None, 0)
    assert "\ufffd" in poem
    assert any("do not form a whole character" in caption.value for caption in app.caption)


def test_greedy_bars_one_token(demo_poet):
    app = open_page(WRITE_PAGE)
    app.slider(key="write.temperature").set_value(0.0).run()
    assert not app.exception
    probabilities = plotly_specs(app)[0]["data"][0]["x"]
    assert probabilities[0] == pytest.approx(1.0)
    assert sum(probabilities[1:]) == pytest.approx(0.0)


def test_missing_poet_shows_make_command(monkeypatch, tmp_path):
    monkeypatch.setenv(POET_PATH_VARIABLE, str(tmp_path / "absent.pt"))
    for page in (ATTENTION_PAGE, WRITE_PAGE):
        app = open_page(page)
        assert any("make demo-poet" in warning.value for warning in app.warning), page
        assert plotly_specs(app) == []


def test_letter_count_sentence_example():
    from course.pages.tokens import letter_count_sentence

    sentence = letter_count_sentence("strawberry", "r", [73700])
    assert sentence.startswith("`strawberry` has **3** × `r`")
    assert "**1 token** for it: id 73700" in sentence


def test_tokens_page_counts_letters_against_ids():
    app = open_page(TOKENS_PAGE)
    app.text_input(key="tokens.count_word").input("bookkeeper").run()
    app.text_input(key="tokens.count_letter").input("e").run()
    ids = load_encoding("cl100k_base").encode_ordinary(" bookkeeper")
    sentence = next(markdown.value for markdown in app.markdown if "bookkeeper" in markdown.value)
    assert "has **3** × `e`" in sentence
    assert f"**{len(ids)} token" in sentence
    assert ", ".join(str(i) for i in ids) in sentence


def test_missing_code_names_syntax_error_line():
    from course.pages.exercise_panel import missing_code_message

    source = "def softmax(x, dim=-1):\n    return torch.exp(x\n"
    try:
        compile(source, "lesson04_attention.py", "exec")
    except SyntaxError as error:
        expected_line, expected_reason = error.lineno, error.msg
    message = missing_code_message(source, "softmax", "exercises/lesson04_attention.py")
    assert f"syntax error at line {expected_line} ({expected_reason})" in message
    assert "was not found" not in message


def test_missing_code_docstring_example():
    from course.pages.exercise_panel import missing_code_message

    expected = "`ex.py` has a syntax error at line 1 ('(' was never closed); fix it, save, then press Check."
    assert missing_code_message("x = (1,\n", "f", "ex.py") == expected


def test_missing_code_without_function_says_not_found():
    from course.pages.exercise_panel import missing_code_message

    message = missing_code_message("def other():\n    pass\n", "softmax", "exercises/lesson04_attention.py")
    assert message.startswith("`softmax` was not found in `exercises/lesson04_attention.py`")


def test_token_count_caption_singular_and_plural():
    from course.pages.tokens import TokenizerResult, _count_caption

    single = TokenizerResult(name="t", ids=[996], pieces=[], vocab_size=10)
    three = TokenizerResult(name="t", ids=[1, 2, 3], pieces=[], vocab_size=10, note="tiktoken")
    assert _count_caption("      ", single) == "1 token, 6.00 characters per token"
    assert _count_caption("abc", three) == "3 tokens, 1.00 characters per token · tiktoken"


def test_shared_failure_only_when_every_check_agrees():
    from course.pages.exercise_panel import shared_failure
    from grader.grading import CheckResult, ExerciseResult

    def result(*outcomes):
        checks = [CheckResult(f"check {i}", 2, earned, False, "exact", message)
                  for i, (earned, message) in enumerate(outcomes)]
        return ExerciseResult("softmax", 4, "Softmax", checks, [], "sandboxed")

    syntax = "syntax error at exercises/lesson04_attention.py line 24"
    assert shared_failure(result((0, syntax), (0, syntax), (0, syntax))) == syntax
    assert shared_failure(result((0, "timed out"), (0, "not run"))) == ""
    assert shared_failure(result((2, ""), (0, "values differ"))) == ""  # one check passed
    assert shared_failure(result((0, syntax))) == ""  # a single row needs no summary
