"""Lesson files: parse and validate their front matter, fill in worked-example values, grade self-checks.

A lesson is a Markdown file in `course/lessons/` that starts with a YAML front matter block
between two `---` lines (the format is described in `course/lessons/README.md`). The body may
contain placeholders such as `{{ value:softmax_example }}`. `render_body` replaces each one by the
value that `course.lesson_values` computes from the reference, so the text cannot drift from the
code.

`grade_answer` is pure: the lesson page records each graded answer in the gradebook
(`Gradebook.add_answer`), so this module never touches a database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

LESSONS_DIR = Path(__file__).resolve().parent / "lessons"
LESSON_GLOB = "[0-9][0-9]_*.md"

# `{{ value:name }}` or `{{ value:name:format_spec }}`, where format_spec is Python's (".3f").
PLACEHOLDER = re.compile(r"\{\{\s*value:([a-z0-9_]+)(?::([^}\s]+))?\s*\}\}")

REQUIRED_FIELDS = ("id", "title", "order", "goals", "exercises", "visualizations", "questions")
QUESTION_FIELDS = ("id", "ask", "kind", "explain")
QUESTION_KINDS = ("choice", "numeric")
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")


class LessonFormatError(ValueError):
    """A lesson file whose front matter is missing, malformed or inconsistent."""

    def __init__(self, source: str, field: str, problem: str):
        self.source = source
        self.field = field
        super().__init__(f"{source}: field '{field}': {problem}")


@dataclass(frozen=True)
class Question:
    """One self-check question: multiple choice with one correct option, or numeric with a tolerance."""

    id: str
    ask: str
    kind: str
    explanation: str
    options: tuple[str, ...] = ()
    correct_option: int | None = None
    answer: float | None = None
    # Name of a `course.lesson_values` value that is the answer, instead of a literal number.
    answer_value: str | None = None
    tolerance: float = 0.0


@dataclass(frozen=True)
class Lesson:
    """A parsed lesson: its front matter fields and its Markdown body (placeholders not yet filled)."""

    id: str
    title: str
    order: int
    goals: tuple[str, ...]
    exercises: tuple[str, ...]
    visualizations: tuple[str, ...]
    questions: tuple[Question, ...]
    body: str
    source: str


# ------------------------------------------------------------------------------------------
# parsing


def split_front_matter(text: str, source: str) -> tuple[str, str]:
    """Split a lesson file into its front matter and its body.

    Example:
        >>> split_front_matter("---\\nid: x\\n---\\nHello\\n", "x.md")
        ('id: x', 'Hello\\n')
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise LessonFormatError(source, "front matter", "the file must start with a line '---'")
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]).strip(), "".join(lines[index + 1 :])
    raise LessonFormatError(source, "front matter", "no closing '---' line after the front matter")


def parse_lesson(text: str, source: str = "<lesson>") -> Lesson:
    """Parse and validate one lesson file's text; `source` names the file in error messages."""
    front, body = split_front_matter(text, source)
    try:
        fields = yaml.safe_load(front)
    except yaml.YAMLError as error:
        raise LessonFormatError(source, "front matter", f"invalid YAML: {error}") from error
    if not isinstance(fields, dict):
        raise LessonFormatError(source, "front matter", "must be a YAML mapping of 'key: value' lines")

    for name in REQUIRED_FIELDS:
        if name not in fields:
            raise LessonFormatError(source, name, "missing; every lesson needs " + ", ".join(REQUIRED_FIELDS))
    unknown = sorted(set(fields) - set(REQUIRED_FIELDS))
    if unknown:
        raise LessonFormatError(source, unknown[0], f"unknown field; allowed fields are {', '.join(REQUIRED_FIELDS)}")

    lesson = Lesson(
        id=_slug(fields["id"], source, "id"),
        title=_text(fields["title"], source, "title"),
        order=_order(fields["order"], source),
        goals=_strings(fields["goals"], source, "goals", allow_empty=False),
        exercises=_strings(fields["exercises"], source, "exercises"),
        visualizations=_strings(fields["visualizations"], source, "visualizations"),
        questions=_questions(fields["questions"], source),
        body=body,
        source=source,
    )
    _check_placeholders(lesson)
    return lesson


def load_lesson(path: str | Path) -> Lesson:
    """Read and parse one lesson file."""
    path = Path(path)
    return parse_lesson(path.read_text(encoding="utf-8"), source=path.name)


def load_lessons(directory: str | Path = LESSONS_DIR) -> list[Lesson]:
    """Load every lesson in `directory`, sorted by order; ids and orders must be unique."""
    lessons = [load_lesson(path) for path in sorted(Path(directory).glob(LESSON_GLOB))]
    if not lessons:
        raise FileNotFoundError(f"no lesson files matching {LESSON_GLOB} in {directory}")

    seen_ids: dict[str, str] = {}
    seen_orders: dict[int, str] = {}
    for lesson in lessons:
        if lesson.id in seen_ids:
            raise LessonFormatError(lesson.source, "id", f"{lesson.id!r} is also the id of {seen_ids[lesson.id]}")
        if lesson.order in seen_orders:
            raise LessonFormatError(lesson.source, "order", f"{lesson.order} is also the order of {seen_orders[lesson.order]}")
        seen_ids[lesson.id] = lesson.source
        seen_orders[lesson.order] = lesson.source
    return sorted(lessons, key=lambda lesson: lesson.order)


def _slug(value, source: str, field: str) -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        raise LessonFormatError(source, field, f"must be lowercase letters, digits and underscores, got {value!r}")
    return value


def _text(value, source: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LessonFormatError(source, field, f"must be non-empty text, got {value!r}")
    return value.strip()


def _order(value, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LessonFormatError(source, "order", f"must be an integer >= 0, got {value!r}")
    return value


def _strings(value, source: str, field: str, allow_empty: bool = True) -> tuple[str, ...]:
    if value is None and allow_empty:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise LessonFormatError(source, field, f"must be a YAML list of non-empty strings, got {value!r}")
    if not value and not allow_empty:
        raise LessonFormatError(source, field, "must list at least one entry")
    if len(set(value)) != len(value):
        raise LessonFormatError(source, field, f"lists an entry twice: {value!r}")
    return tuple(item.strip() for item in value)


# ------------------------------------------------------------------------------------------
# self-check questions


def _questions(value, source: str) -> tuple[Question, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise LessonFormatError(source, "questions", f"must be a YAML list of questions, got {type(value).__name__}")
    questions = tuple(_question(item, source, index) for index, item in enumerate(value))
    ids = [question.id for question in questions]
    if len(set(ids)) != len(ids):
        raise LessonFormatError(source, "questions", f"question ids must be unique within a lesson, got {ids}")
    return questions


def _question(item, source: str, index: int) -> Question:
    where = f"questions[{index}]"
    if not isinstance(item, dict):
        raise LessonFormatError(source, where, f"must be a mapping with {', '.join(QUESTION_FIELDS)}")
    for name in QUESTION_FIELDS:
        if name not in item:
            raise LessonFormatError(source, f"{where}.{name}", "missing")
    kind = item["kind"]
    if kind not in QUESTION_KINDS:
        raise LessonFormatError(source, f"{where}.kind", f"must be one of {QUESTION_KINDS}, got {kind!r}")

    common = dict(
        id=_slug(item["id"], source, f"{where}.id"),
        ask=_text(item["ask"], source, f"{where}.ask"),
        kind=kind,
        explanation=_text(item["explain"], source, f"{where}.explain"),
    )
    if kind == "choice":
        return _choice_question(item, source, where, common)
    return _numeric_question(item, source, where, common)


def _choice_question(item: dict, source: str, where: str, common: dict) -> Question:
    allowed = {*QUESTION_FIELDS, "options"}
    _reject_unknown(item, allowed, source, where)
    options = item.get("options")
    if not isinstance(options, list) or len(options) < 2:
        raise LessonFormatError(source, f"{where}.options", "a choice question needs a list of at least two options")

    texts, correct = [], []
    for number, option in enumerate(options):
        if not isinstance(option, dict) or not isinstance(option.get("text"), str) or set(option) - {"text", "correct"}:
            raise LessonFormatError(
                source, f"{where}.options[{number}]", f"must be a mapping with 'text' and optionally 'correct: true', got {option!r}"
            )
        texts.append(option["text"].strip())
        if option.get("correct") is True:
            correct.append(number)
    if len(correct) != 1:
        raise LessonFormatError(source, f"{where}.options", f"exactly one option must have 'correct: true', found {len(correct)}")
    return Question(**common, options=tuple(texts), correct_option=correct[0])


def _numeric_question(item: dict, source: str, where: str, common: dict) -> Question:
    _reject_unknown(item, {*QUESTION_FIELDS, "answer", "tolerance"}, source, where)
    answer = item.get("answer")
    tolerance = item.get("tolerance", 0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise LessonFormatError(source, f"{where}.tolerance", f"must be a number >= 0, got {tolerance!r}")

    if isinstance(answer, str):
        match = PLACEHOLDER.fullmatch(answer.strip())
        if match is None:
            raise LessonFormatError(source, f"{where}.answer", f"must be a number or '{{{{ value:name }}}}', got {answer!r}")
        return Question(**common, answer_value=match.group(1), tolerance=float(tolerance))
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not math.isfinite(answer):
        raise LessonFormatError(source, f"{where}.answer", f"a numeric question needs a finite number, got {answer!r}")
    return Question(**common, answer=float(answer), tolerance=float(tolerance))


def _reject_unknown(item: dict, allowed: set[str], source: str, where: str) -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise LessonFormatError(source, f"{where}.{unknown[0]}", f"unknown field; allowed are {sorted(allowed)}")


def numeric_answer(question: Question) -> float:
    """Return a numeric question's answer, computing it from the reference when it names a value."""
    if question.kind != "numeric":
        raise ValueError(f"question {question.id!r} is a {question.kind} question, not a numeric one")
    if question.answer_value is None:
        return question.answer
    from course.lesson_values import compute_value

    return float(compute_value(question.answer_value))


def grade_answer(question: Question, answer) -> tuple[bool, str]:
    """Grade one answer; return (correct, the explanation to show).

    A choice question takes the option's index or its exact text. A numeric question takes a
    number or a string that parses as one ("1e-3", "1,024"). An answer that is neither raises
    ValueError, so the caller can ask again instead of recording a wrong attempt.

    Example:
        >>> q = Question("q", "1 + 1?", "numeric", "One plus one is two.", answer=2.0)
        >>> grade_answer(q, "2")
        (True, 'Correct. One plus one is two.')
    """
    if question.kind == "choice":
        chosen = _chosen_option(question, answer)
        correct = chosen == question.correct_option
        expected = question.options[question.correct_option]
    else:
        value = _parse_number(answer)
        expected_value = numeric_answer(question)
        correct = abs(value - expected_value) <= question.tolerance + 1e-12 * max(1.0, abs(expected_value))
        expected = _format_number(expected_value)

    if correct:
        return True, f"Correct. {question.explanation}"
    return False, f"Not quite: the answer is {expected}. {question.explanation}"


def _chosen_option(question: Question, answer) -> int:
    if isinstance(answer, str):
        if answer.strip() not in question.options:
            raise ValueError(f"{answer!r} is not one of the options of question {question.id!r}; pick one of {list(question.options)}")
        return question.options.index(answer.strip())
    if isinstance(answer, bool) or not isinstance(answer, int):
        raise TypeError(f"a choice answer must be an option index or its text, got {type(answer).__name__}")
    if not 0 <= answer < len(question.options):
        raise ValueError(f"option index {answer} is out of range; question {question.id!r} has {len(question.options)} options (0 to {len(question.options) - 1})")
    return answer


def _parse_number(answer) -> float:
    if isinstance(answer, bool):
        raise TypeError("a numeric answer must be a number, got a bool")
    if isinstance(answer, (int, float)):
        value = float(answer)
    elif isinstance(answer, str):
        try:
            value = float(answer.strip().replace(",", "").replace("_", ""))
        except ValueError:
            raise ValueError(f"{answer!r} is not a number; type digits such as 2, 0.25 or 1e-3") from None
    else:
        raise TypeError(f"a numeric answer must be a number or text, got {type(answer).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{answer!r} is not a finite number; type digits such as 2, 0.25 or 1e-3")
    return value


def _format_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.6g}"


# ------------------------------------------------------------------------------------------
# worked-example values


def placeholder_names(text: str) -> list[str]:
    """List the value names of the placeholders in `text`, in order of appearance.

    Example:
        >>> placeholder_names("a {{ value:x }} b {{value:y:.2f}}")
        ['x', 'y']
    """
    return [match.group(1) for match in PLACEHOLDER.finditer(text)]


def render_text(text: str, values: Mapping[str, object]) -> str:
    """Replace each placeholder by its value, formatted with the placeholder's format spec if any.

    Example:
        >>> render_text("p = {{ value:p:.2f }}, n = {{ value:n }}", {"p": 0.125, "n": 3})
        'p = 0.12, n = 3'
    """
    def replace(match: re.Match) -> str:
        name, spec = match.group(1), match.group(2)
        if name not in values:
            raise KeyError(f"no value named {name!r}; add it to course/lesson_values.py")
        value = values[name]
        return format(value, spec) if spec else str(value)

    return PLACEHOLDER.sub(replace, text)


def render_body(lesson: Lesson) -> str:
    """Return the lesson's body with every placeholder filled from the reference."""
    from course.lesson_values import compute_value

    values = {name: compute_value(name) for name in placeholder_names(lesson.body)}
    return render_text(lesson.body, values)


def render_question(question: Question) -> str:
    """Return the question's text with any placeholder filled from the reference."""
    from course.lesson_values import compute_value

    return render_text(question.ask, {name: compute_value(name) for name in placeholder_names(question.ask)})


def _check_placeholders(lesson: Lesson) -> None:
    from course.lesson_values import VALUES

    texts = [("body", lesson.body)] + [(f"questions.{q.id}.ask", q.ask) for q in lesson.questions]
    for field, text in texts:
        for name in placeholder_names(text):
            if name not in VALUES:
                raise LessonFormatError(lesson.source, field, f"placeholder value {name!r} is not defined in course/lesson_values.py")
    for question in lesson.questions:
        if question.answer_value is not None and question.answer_value not in VALUES:
            raise LessonFormatError(
                lesson.source, f"questions.{question.id}.answer",
                f"placeholder value {question.answer_value!r} is not defined in course/lesson_values.py",
            )
