"""Lesson files: format, coverage of the exercises, visualizations, worked-example values, self-checks."""

import doctest
import math
import re

import plotly.graph_objects as go
import pytest
import torch

from course import lesson_figures, lesson_values, lessons
from course.lesson_values import VALUES, compute_value, format_numbers
from course.lessons import LESSONS_DIR, LessonFormatError, grade_answer, load_lessons, parse_lesson, render_body
from course.visualizations import VISUALIZATIONS, build_visualization
from grader.catalog import EXERCISES
from reference.cli import DEMO_POET
from reference.config import PRESETS

LESSON_FILES = sorted(LESSONS_DIR.glob(lessons.LESSON_GLOB))
ALL_LESSONS = load_lessons()
ALL_QUESTIONS = [(lesson.id, question) for lesson in ALL_LESSONS for question in lesson.questions]

VALID_LESSON = """---
id: sample
title: Sample
order: 3
goals: [Learn one thing.]
exercises: [softmax]
visualizations: [gelu_curve]
questions:
  - id: pick
    kind: choice
    ask: "Pick the second."
    options:
      - text: first
      - text: second
        correct: true
    explain: "The second is right."
---
Body with {{ value:softmax_example }}.
"""


@pytest.mark.parametrize("path", LESSON_FILES, ids=lambda path: path.name)
def test_lesson_file_parses(path):
    lesson = lessons.load_lesson(path)
    assert lesson.title
    assert lesson.goals


def test_lesson_orders_are_zero_to_ten():
    assert [lesson.order for lesson in ALL_LESSONS] == list(range(11))


def test_lesson_ids_are_unique():
    ids = [lesson.id for lesson in ALL_LESSONS]
    assert len(set(ids)) == len(ids)


def test_lesson_file_names_follow_order():
    for path, lesson in zip(LESSON_FILES, ALL_LESSONS):
        assert path.name.startswith(f"{lesson.order:02d}_"), path.name


def test_every_exercise_in_exactly_one_lesson():
    owners = {}
    for lesson in ALL_LESSONS:
        for exercise_id in lesson.exercises:
            owners.setdefault(exercise_id, []).append(lesson.id)
    catalog_ids = {exercise.id for exercise in EXERCISES}
    assert set(owners) == catalog_ids
    assert {exercise_id: names for exercise_id, names in owners.items() if len(names) != 1} == {}


def test_exercises_sit_in_their_catalog_lesson():
    order_of = {exercise_id: lesson.order for lesson in ALL_LESSONS for exercise_id in lesson.exercises}
    for exercise in EXERCISES:
        assert order_of[exercise.id] == exercise.lesson, exercise.id


def test_every_named_visualization_exists():
    named = {visualization for lesson in ALL_LESSONS for visualization in lesson.visualizations}
    assert named - set(VISUALIZATIONS) == set()


@pytest.mark.parametrize("visualization_id", sorted(VISUALIZATIONS))
def test_visualization_builds_figure_by_default(visualization_id):
    if VISUALIZATIONS[visualization_id].needs_poet and not DEMO_POET.is_file():
        pytest.skip(f"the demo poet checkpoint {DEMO_POET} is missing; create it with `make demo-poet`")
    figure = build_visualization(visualization_id)
    assert isinstance(figure, go.Figure)
    assert len(figure.data) >= 1


def test_unknown_visualization_raises_key_error():
    with pytest.raises(KeyError, match="no visualization 'nope'"):
        build_visualization("nope")


def test_lesson_bodies_have_allowed_length():
    for lesson in ALL_LESSONS:
        words = len(render_body(lesson).split())
        assert 500 <= words <= 1200, f"{lesson.source}: {words} words"


def test_teaching_lessons_list_common_mistakes():
    for lesson in ALL_LESSONS:
        if lesson.exercises:
            assert "## Common mistakes" in lesson.body, lesson.source


# ------------------------------------------------------------------------------------------
# worked-example values


def test_every_placeholder_names_a_value():
    for lesson in ALL_LESSONS:
        texts = [lesson.body] + [question.ask for question in lesson.questions]
        for text in texts:
            assert set(lessons.placeholder_names(text)) <= set(VALUES), lesson.source


def test_every_value_is_used_by_a_lesson():
    used = set()
    for lesson in ALL_LESSONS:
        used.update(lessons.placeholder_names(lesson.body))
        used.update(question.answer_value for question in lesson.questions if question.answer_value)
    assert set(VALUES) - used == set()


def test_rendered_bodies_have_no_placeholders_left():
    for lesson in ALL_LESSONS:
        assert "{{" not in render_body(lesson), lesson.source


def test_bodies_write_computed_decimals_as_placeholders():
    # A number with three or more decimals is almost surely computed, so it must come from the reference.
    for lesson in ALL_LESSONS:
        without_placeholders = lessons.PLACEHOLDER.sub("", lesson.body)
        assert re.findall(r"\d\.\d{3,}", without_placeholders) == [], lesson.source


def _parameter_count(preset: str) -> int:
    from reference.model import GPT, count_parameters

    with torch.device("meta"):  # shapes only: no memory for GPT-2 small's weights
        return count_parameters(GPT(PRESETS[preset]))


def _cl100k():
    from reference.tiktoken_offline import load_encoding

    return load_encoding("cl100k_base")


# Each value recomputed without the reference: PyTorch's own functions, tiktoken, or arithmetic.
INDEPENDENT = {
    "utf8_example_code_points": lambda: "[104, 233, 128578]",
    "utf8_example_bytes": lambda: str(list(bytes([104, 0xC3, 0xA9, 0xF0, 0x9F, 0x99, 0x82]))),
    "utf8_example_byte_count": lambda: 1 + 2 + 4,
    "char_vocab_example": lambda: "{'e': 0, 'h': 1, 'l': 2, 'o': 3}",
    "char_encode_example": lambda: "[1, 3, 2, 0]",
    "strawberry_cl100k_ids": lambda: str(_cl100k().encode_ordinary(" strawberry")),
    "banana_bytes": lambda: str(list(b"banana")),
    "banana_pair_counts": lambda: "{(98, 97): 1, (97, 110): 2, (110, 97): 2}",
    "banana_after_first_merge": lambda: "[98, 256, 256, 97]",
    # By hand: "an" (2, smallest of the tie), "b"+"an", "an"+"a", " "+"ban".
    "bpe_example_merges": lambda: "{(97, 110): 256, (98, 256): 257, (256, 97): 258, (32, 257): 259}",
    "bpe_example_encoding": lambda: "[257, 100, 258, 115]",
    "bpe_example_token_count": lambda: 4,
    "pretokenize_example": lambda: str(["The", " moon", "'s", " light", ",", " 2", " owls", "!"]),
    "cl100k_endoftext_id": lambda: _cl100k().encode("<|endoftext|>", allowed_special="all")[0],
    "embedding_example_output": lambda: "[[2.0, 2.0], [1.5, 0.0], [2.0, 2.5]]",
    "poet_token_embedding_parameters": lambda: 1024 * 192,
    "poet_position_embedding_parameters": lambda: 128 * 192,
    "softmax_example": lambda: format_numbers(torch.softmax(torch.tensor([1.0, 2.0, 3.0]), -1)),
    "softmax_large_example": lambda: format_numbers(torch.softmax(torch.tensor([0.0, 1.0]), -1)),
    "naive_exp_of_1000": lambda: "inf",
    "causal_mask_example": lambda: "[[1, 0, 0], [1, 1, 0], [1, 1, 1]]",
    "attention_scores_example": lambda: format_numbers(
        torch.tensor([[1.0, 0, 1], [0, 2, 1], [1, 2, 2]]) / math.sqrt(2), decimals=3),
    "attention_weights_example": lambda: format_numbers(_torch_attention()[1], decimals=3),
    "attention_output_example": lambda: format_numbers(_torch_attention()[0], decimals=3),
    "unscaled_score_std": lambda: pytest.approx(8.0, abs=0.2),
    "scaled_score_std": lambda: pytest.approx(1.0, abs=0.03),
    "split_heads_input": lambda: "[[0, 1, 2, 3], [4, 5, 6, 7]]",
    "split_heads_head_two": lambda: "[[2, 3], [6, 7]]",
    "poet_head_width": lambda: 192 // 4,
    "poet_attention_parameters": lambda: 4 * 192 * 192 + 4 * 192,
    "layer_norm_example": lambda: format_numbers(torch.nn.LayerNorm(3)(torch.tensor([1.0, 2.0, 3.0])).detach()),
    "biased_variance_example": lambda: f"{2 / 3:.4f}",
    "unbiased_variance_example": lambda: f"{2 / 2:.4f}",
    "gelu_example": lambda: format_numbers(torch.nn.functional.gelu(torch.tensor([-1.0, 0.0, 1.0]))),
    # GELU's minimum, at x about -0.7518, from SciPy-free arithmetic with math.erf.
    "gelu_minimum": lambda: f"{min(x / 1e4 * 0.5 * (1 + math.erf(x / 1e4 / math.sqrt(2))) for x in range(-30000, 1)):.4f}",
    "gelu_tanh_max_difference": lambda: f"{_gelu_tanh_gap():.1e}",
    "poet_feed_forward_parameters": lambda: 2 * 4 * 192 * 192 + 4 * 192 + 192,
    "gpt2_small_parameters": lambda: _parameter_count("gpt2-small"),
    "gpt2_small_untied_extra": lambda: 50257 * 768,
    "poet_parameters": lambda: _parameter_count("poet"),
    "tiny_parameters": lambda: _parameter_count("tiny"),
    "poet_embedding_share_percent": lambda: f"{100 * (1024 + 128) * 192 / _parameter_count('poet'):.0f}",
    "gpt2_small_token_embedding_share_percent": lambda: f"{100 * 50257 * 768 / _parameter_count('gpt2-small'):.0f}",
    "gpt2_small_to_poet_ratio": lambda: f"{_parameter_count('gpt2-small') / _parameter_count('poet'):.0f}",
    "next_token_pair_example": lambda: "inputs [5, 6, 7], targets [6, 7, 8]",
    "uniform_loss_poet": lambda: f"{math.log(1024):.4f}",
    "confident_loss_example": lambda: f"{-math.log(0.9):.4f}",
    "wrong_confident_loss_example": lambda: f"{-math.log(0.1):.4f}",
    "lr_at_warmup_middle": lambda: f"{0.5e-3:.2e}",
    "lr_at_peak": lambda: f"{1e-3:.2e}",
    "lr_at_decay_middle": lambda: f"{1e-4 + 0.5 * (1e-3 - 1e-4):.2e}",
    "lr_at_end": lambda: f"{1e-4:.2e}",
    "sampling_temperature_one": lambda: _torch_probabilities(1.0),
    "sampling_temperature_half": lambda: _torch_probabilities(0.5),
    "sampling_temperature_two": lambda: _torch_probabilities(2.0),
    "sampling_greedy": lambda: "[1.000, 0.000, 0.000, 0.000]",
    "sampling_top_k_two": lambda: format_numbers(torch.tensor([*torch.softmax(torch.tensor([2.0, 1.0]), -1), 0, 0]), 3),
    "sampling_top_p_nine_tenths": lambda: format_numbers(
        torch.tensor([*torch.softmax(torch.tensor([2.0, 1.0, 0.5]), -1), 0]), 3),
}


def _torch_attention():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    k = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    mask = torch.ones(3, 3, dtype=torch.bool).tril()
    weights = torch.softmax((q @ k.T / math.sqrt(2)).masked_fill(~mask, float("-inf")), dim=-1)
    output = torch.nn.functional.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]
    return output, weights


def _gelu_tanh_gap() -> float:
    x = torch.linspace(-6, 6, 12001, dtype=torch.float64)
    exact = torch.nn.functional.gelu(x)
    approximate = torch.nn.functional.gelu(x, approximate="tanh")
    return (exact - approximate).abs().max().item()


def _torch_probabilities(temperature: float) -> str:
    return format_numbers(torch.softmax(torch.tensor([2.0, 1.0, 0.5, -1.0]) / temperature, -1), 3)


def test_every_value_has_independent_check():
    assert set(INDEPENDENT) == set(VALUES)


@pytest.mark.parametrize("name", sorted(VALUES))
def test_value_matches_independent_computation(name):
    assert compute_value(name) == INDEPENDENT[name]()


def test_unknown_value_raises_key_error():
    with pytest.raises(KeyError, match="no lesson value named 'nope'"):
        compute_value("nope")


# ------------------------------------------------------------------------------------------
# self-check questions


def test_teaching_lessons_have_two_or_three_questions():
    for lesson in ALL_LESSONS:
        assert 2 <= len(lesson.questions) <= 3, lesson.source


@pytest.mark.parametrize("lesson_id, question", ALL_QUESTIONS, ids=[f"{l}.{q.id}" for l, q in ALL_QUESTIONS])
def test_question_has_exactly_one_answer(lesson_id, question):
    if question.kind == "choice":
        assert question.correct_option is not None
        assert 0 <= question.correct_option < len(question.options)
        assert len(set(question.options)) == len(question.options)
    else:
        assert (question.answer is None) != (question.answer_value is None)
        assert math.isfinite(lessons.numeric_answer(question))


@pytest.mark.parametrize("lesson_id, question", ALL_QUESTIONS, ids=[f"{l}.{q.id}" for l, q in ALL_QUESTIONS])
def test_grade_answer_accepts_right_rejects_wrong(lesson_id, question):
    if question.kind == "choice":
        right = question.correct_option
        wrong = (right + 1) % len(question.options)
        assert grade_answer(question, question.options[right])[0] is True
    else:
        right = lessons.numeric_answer(question)
        wrong = right + 10 * question.tolerance + 1
        assert grade_answer(question, str(right))[0] is True
    correct, explanation = grade_answer(question, right)
    assert correct is True
    assert question.explanation in explanation
    assert grade_answer(question, wrong)[0] is False


def test_grade_answer_names_expected_value_when_wrong():
    question = lessons.Question("q", "2 + 2?", "numeric", "Two and two.", answer=4.0)
    assert grade_answer(question, 5) == (False, "Not quite: the answer is 4. Two and two.")


def test_grade_answer_applies_tolerance():
    question = lessons.Question("q", "pi?", "numeric", "About 3.14.", answer=3.14159, tolerance=0.01)
    assert grade_answer(question, "3.14")[0] is True
    assert grade_answer(question, "3.12")[0] is False


def test_grade_answer_rejects_non_number_text():
    question = lessons.Question("q", "2 + 2?", "numeric", "Two and two.", answer=4.0)
    with pytest.raises(ValueError, match="'four' is not a number"):
        grade_answer(question, "four")


def test_grade_answer_rejects_option_out_of_range():
    question = parse_lesson(VALID_LESSON, "sample.md").questions[0]
    with pytest.raises(ValueError, match="option index 5 is out of range"):
        grade_answer(question, 5)


def test_grade_answer_rejects_unknown_option_text():
    question = parse_lesson(VALID_LESSON, "sample.md").questions[0]
    with pytest.raises(ValueError, match="'third' is not one of the options"):
        grade_answer(question, "third")


# ------------------------------------------------------------------------------------------
# bad front matter


def test_valid_sample_parses():
    lesson = parse_lesson(VALID_LESSON, "sample.md")
    assert lesson.exercises == ("softmax",)
    assert lesson.questions[0].correct_option == 1


BAD_FRONT_MATTER = [
    ("missing field", VALID_LESSON.replace("title: Sample\n", ""), "title"),
    ("unknown field", VALID_LESSON.replace("order: 3\n", "order: 3\nauthor: me\n"), "author"),
    ("order not integer", VALID_LESSON.replace("order: 3", "order: three"), "order"),
    ("id with spaces", VALID_LESSON.replace("id: sample", "id: my lesson"), "id"),
    ("exercises not list", VALID_LESSON.replace("exercises: [softmax]", "exercises: softmax"), "exercises"),
    ("two correct options", VALID_LESSON.replace("- text: first", "- text: first\n        correct: true"),
     "questions[0].options"),
    ("no correct option", VALID_LESSON.replace("        correct: true\n", ""), "questions[0].options"),
    ("bad kind", VALID_LESSON.replace("kind: choice", "kind: essay"), "questions[0].kind"),
    ("missing explain", VALID_LESSON.replace('    explain: "The second is right."\n', ""), "questions[0].explain"),
    ("unknown placeholder", VALID_LESSON.replace("softmax_example", "no_such_value"), "body"),
    ("no closing line", VALID_LESSON.replace("---\nBody", "Body"), "front matter"),
    ("invalid yaml", VALID_LESSON.replace("goals: [Learn one thing.]", "goals: [Learn"), "front matter"),
]


@pytest.mark.parametrize("case, text, field", BAD_FRONT_MATTER, ids=[case for case, _, _ in BAD_FRONT_MATTER])
def test_bad_front_matter_names_file_and_field(case, text, field):
    with pytest.raises(LessonFormatError) as raised:
        parse_lesson(text, "broken.md")
    assert raised.value.field == field
    assert str(raised.value).startswith(f"broken.md: field '{field}'")


def test_numeric_question_without_answer_is_rejected():
    text = VALID_LESSON.replace(
        "    kind: choice\n", "    kind: numeric\n").replace(
        "    options:\n      - text: first\n      - text: second\n        correct: true\n", "")
    with pytest.raises(LessonFormatError, match="questions\\[0\\].answer"):
        parse_lesson(text, "broken.md")


def test_duplicate_lesson_order_is_rejected(tmp_path):
    (tmp_path / "01_a.md").write_text(VALID_LESSON.replace("id: sample", "id: first"), encoding="utf-8")
    (tmp_path / "02_b.md").write_text(VALID_LESSON.replace("id: sample", "id: second"), encoding="utf-8")
    with pytest.raises(LessonFormatError, match="02_b.md: field 'order': 3 is also the order of 01_a.md"):
        load_lessons(tmp_path)


def test_empty_lesson_folder_is_rejected(tmp_path):
    with pytest.raises(FileNotFoundError, match="no lesson files"):
        load_lessons(tmp_path)


# ------------------------------------------------------------------------------------------
# figures


def test_bpe_steps_end_at_reference_encoding():
    from reference import functional as F

    merges = F.bpe_train("the sea sings to the seashore " * 3, 256 + 15)
    text = " the seabirds sing"
    final_chunks = lesson_figures.bpe_steps(text, merges)[-1][1]
    assert [token for chunk in final_chunks for token in chunk] == F.bpe_encode(text, merges)


def test_bpe_steps_apply_merges_in_learned_order():
    merges = {(97, 98): 256, (98, 99): 257, (256, 99): 258}
    applied = [pair for pair, _ in lesson_figures.bpe_steps("abc", merges)[1:]]
    assert applied == [(97, 98), (256, 99)]


def test_pca_matches_covariance_eigenvalues():
    weight = torch.randn(50, 6, generator=torch.Generator().manual_seed(0))
    _, explained = lesson_figures.pca_2d(weight)
    eigenvalues = torch.linalg.eigvalsh(torch.cov(weight.T)).flip(0)
    assert torch.allclose(explained, eigenvalues[:2] / eigenvalues.sum(), atol=1e-5)


def test_loss_curve_marks_uniform_loss():
    figure = lesson_figures.loss_curve_figure([{"step": 1, "train_loss": 5.0, "val_loss": 5.1}], vocab_size=1024)
    assert figure.layout.shapes[0].y0 == pytest.approx(math.log(1024))


def test_parameter_breakdown_sums_to_model_count():
    for preset in ("tiny", "poet"):
        assert sum(lesson_figures.parameter_breakdown(PRESETS[preset]).values()) == _parameter_count(preset)


@pytest.mark.parametrize("draw, message", [
    (lambda: lesson_figures.text_bytes_figure(""), "text must have 1 to 200 characters"),
    (lambda: lesson_figures.bpe_steps_figure("ab", {}, max_steps=0), "max_steps must be an integer >= 1"),
    (lambda: lesson_figures.embedding_projection_figure(torch.zeros(3), ["a"]), "weight must be a 2-D tensor"),
    (lambda: lesson_figures.embedding_similarity_figure(torch.zeros(3, 2), ["a", "b", "c"], [0]), "at least two rows"),
    (lambda: lesson_figures.causal_mask_figure([]), "pass 1 to 64 token labels"),
    (lambda: lesson_figures.softmax_temperature_figure([1.0, 2.0], [0.0]), "temperatures must be numbers > 0"),
    (lambda: lesson_figures.lr_schedule_figure(steps=1), "steps must be an integer >= 2"),
    (lambda: lesson_figures.loss_curve_figure([]), "history has no entries"),
    (lambda: lesson_figures.loss_curve_figure([{"step": 1, "train_loss": 2.0}], vocab_size=1), "vocab_size must be"),
], ids=["text", "bpe", "projection", "similarity", "mask", "temperature", "schedule", "loss", "loss_vocab"])
def test_figure_rejects_bad_input(draw, message):
    with pytest.raises(ValueError, match=message):
        draw()


@pytest.mark.parametrize("module", [lessons, lesson_values, lesson_figures], ids=lambda module: module.__name__)
def test_docstring_examples_hold(module):
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_display_math_stays_on_one_line():
    # Streamlit's markdown shows a $$ block that spans lines as red raw LaTeX, and the rest of the
    # lesson with it, so each display formula must open and close on the same line.
    for lesson in ALL_LESSONS:
        for number, line in enumerate(lesson.body.splitlines(), 1):
            assert line.count("$$") % 2 == 0, f"{lesson.source}, body line {number}: {line[:60]}"


@pytest.mark.parametrize("visualization_id", sorted(VISUALIZATIONS))
def test_titled_axes_grow_margins_to_fit(visualization_id):
    # With fixed 20-pixel margins, plotly clips tick labels and draws axis titles over them.
    layout = build_visualization(visualization_id).layout.to_plotly_json()
    for name, axis in layout.items():
        if name.startswith(("xaxis", "yaxis")) and axis.get("title"):
            assert axis.get("automargin") is True, f"{visualization_id}: {name} has a title but no automargin"
