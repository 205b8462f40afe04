"""A lesson page: the lesson's text, its visualizations, its exercises with Check, its self-check.

`app.py` makes one page per lesson file by calling `lesson_page(lesson_id)`. State keys start
with `lesson.<id>.`, so two lessons never share a widget's value.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import streamlit as st

import yaml

from course.lessons import (
    LESSON_GLOB, LESSONS_DIR, Lesson, Question, grade_answer, load_lessons, render_body, render_question,
    split_front_matter,
)
from course.pages.student import current_student, record_answer, require_student

# Figures and the grader import PyTorch and plotly, which take about 2.5 s together. They are
# imported in the functions that draw, so `app.py` can list the lessons before they load.
if TYPE_CHECKING:
    import plotly.graph_objects as go

# Parameters of a visualization's `build` that take the student's own text.
TEXT_PARAMETERS = ("text", "line", "word", "prompt")


@st.cache_resource(show_spinner=False)
def lesson_outline() -> list[tuple[str, str, int]]:
    """Return (id, title, order) of every lesson file, in course order, for the navigation.

    Only the front matter's YAML is read: full validation (`cached_lessons`) computes the worked
    examples' values with the reference, whose PyTorch import would delay the first page by
    about 2 s. A lesson that fails validation shows its error when its page opens.
    """
    outline = []
    for path in sorted(LESSONS_DIR.glob(LESSON_GLOB)):
        front, _ = split_front_matter(path.read_text(encoding="utf-8"), path.name)
        fields = yaml.safe_load(front)
        outline.append((str(fields["id"]), str(fields["title"]), int(fields["order"])))
    return sorted(outline, key=lambda entry: entry[2])


@st.cache_resource(show_spinner="Reading the lessons ...")
def cached_lessons() -> list[Lesson]:
    """Parse every lesson file once per server process."""
    return load_lessons()


@st.cache_data(show_spinner=False)
def cached_body(lesson_id: str) -> str:
    """Fill a lesson's worked-example values once per server process."""
    return render_body(find_lesson(lesson_id))


@st.cache_data(show_spinner=False, max_entries=512)
def cached_figure(visualization_id: str, inputs: tuple[tuple[str, str], ...]) -> go.Figure:
    """Draw a visualization once per input, so a rerun for another widget does not redraw it."""
    from course.visualizations import build_visualization

    return build_visualization(visualization_id, **dict(inputs))


def find_lesson(lesson_id: str) -> Lesson:
    """Return the lesson with this id (KeyError with the known ids if there is none)."""
    for lesson in cached_lessons():
        if lesson.id == lesson_id:
            return lesson
    raise KeyError(f"no lesson {lesson_id!r}; known: {', '.join(lesson.id for lesson in cached_lessons())}")


def lesson_page(lesson_id: str) -> None:
    """Render one lesson: text, visualizations, exercises, self-check questions."""
    from course.pages.exercise_panel import exercise_panel
    from grader.catalog import BY_ID

    lesson = find_lesson(lesson_id)
    prefix = f"lesson.{lesson.id}"
    st.title(lesson.title if lesson.order == 0 else f"{lesson.order}. {lesson.title}")
    if lesson.goals:
        st.markdown("**In this lesson you will**\n" + "\n".join(f"- {goal}" for goal in lesson.goals))
    st.markdown(cached_body(lesson.id))

    for visualization_id in lesson.visualizations:
        show_visualization(visualization_id, f"{prefix}.viz")

    if lesson.exercises:
        st.header("Exercises")
        student = require_student()
        files_shown = set()
        for exercise_id in lesson.exercises:
            stub_path = BY_ID[exercise_id].stub_path
            exercise_panel(student, exercise_id, prefix, show_editor=stub_path not in files_shown)
            files_shown.add(stub_path)

    if lesson.questions:
        st.header("Check your understanding")
        for question in lesson.questions:
            self_check(lesson.id, question, f"{prefix}.question")


def show_visualization(visualization_id: str, key_prefix: str) -> None:
    """Draw one visualization, with a text box for the student's own text where it takes one."""
    from course.visualizations import VISUALIZATIONS

    visualization = VISUALIZATIONS[visualization_id]
    st.subheader(visualization.title)
    st.caption(visualization.caption)
    inputs = {}
    for name, parameter in inspect.signature(visualization.build).parameters.items():
        if name in TEXT_PARAMETERS and isinstance(parameter.default, str):
            inputs[name] = st.text_input(f"Your {name}", value=parameter.default, key=f"{key_prefix}.{visualization_id}.{name}")
    try:
        figure = cached_figure(visualization_id, tuple(sorted(inputs.items())))
    except FileNotFoundError as error:
        st.info(f"This figure needs the demo poet: {error}")
        return
    except ValueError as error:
        st.warning(f"This input cannot be drawn: {error}")
        return
    st.plotly_chart(figure, theme=None, key=f"{key_prefix}.{visualization_id}.chart")


def self_check(lesson_id: str, question: Question, key_prefix: str) -> None:
    """Ask one question, grade the answer on the spot with `grade_answer`, and record it once."""
    key = f"{key_prefix}.{question.id}"
    ask = render_question(question)
    if question.kind == "choice":
        answer = st.radio(ask, question.options, index=None, key=key)
    else:
        answer = st.text_input(ask, key=key, placeholder="a number")
    if answer is None or answer == "":
        return
    try:
        correct, explanation = grade_answer(question, answer)
    except ValueError as error:
        st.warning(str(error))
        return
    (st.success if correct else st.error)(explanation)

    # The page reruns on every interaction, so an answer is recorded only when it changes.
    recorded_key = f"{key}.recorded"
    student = current_student()
    if student is not None and st.session_state.get(recorded_key) != answer:
        record_answer(student, lesson_id, question.id, str(answer), correct)
        st.session_state[recorded_key] = answer
