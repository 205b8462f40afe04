"""The Streamlit entry point: navigation between the course's pages, sign-in and progress in the sidebar.

Run it with `make run` (or `streamlit run app.py`). Lesson pages are built from the lesson files
by `course.pages.lesson`; every other page is a script in `course/pages/`.
"""

import streamlit as st
import torch

from course.lessons import LessonFormatError
from course.models import TORCH_THREADS, find_poet, poet_path
from course.pages.account import is_teacher, progress_box, sign_in_box
from course.pages.lesson import cached_lessons, lesson_page
from reference.checkpoint import CheckpointError

WELCOME = st.Page("course/pages/welcome.py", title="Welcome", icon=":material/home:", default=True)
PLAYGROUND = [
    st.Page("course/pages/tokens.py", title="Tokens", icon=":material/text_fields:"),
    st.Page("course/pages/attention.py", title="Attention", icon=":material/grid_on:"),
    st.Page("course/pages/write.py", title="Write a poem", icon=":material/edit_note:"),
]
STUDIO = st.Page("course/pages/poet_studio.py", title="Poet studio", icon=":material/model_training:")
LECTURE = st.Page("course/pages/lecture.py", title="Lecture mode", icon=":material/co_present:")
DASHBOARD = st.Page("course/pages/teacher.py", title="Teacher dashboard", icon=":material/dashboard:")


def lesson_runner(lesson_id: str):
    """Return a page function that renders one lesson (st.Page names the page after the function)."""
    def run() -> None:
        lesson_page(lesson_id)

    run.__name__ = f"lesson_{lesson_id}"
    return run


def lesson_pages(lessons) -> list:
    """Make one navigation page per lesson, in course order."""
    return [st.Page(lesson_runner(lesson.id), title=f"{lesson.order}. {lesson.title}", url_path=f"lesson-{lesson.id}",
                    icon=":material/menu_book:") for lesson in lessons]


def load_lessons_or_explain() -> list:
    """Return the lessons, or show in the sidebar why they could not be read and return none."""
    try:
        return cached_lessons()
    except (LessonFormatError, FileNotFoundError) as error:
        st.sidebar.error(f"The lessons could not be read: {error}")
        return []


def show_poet_summary() -> None:
    """Say in the sidebar which poet the pages use: its training steps and validation loss."""
    try:
        poet = find_poet()
    except CheckpointError as error:
        st.sidebar.error(f"The poet checkpoint could not be loaded: {error}")
        return
    if poet is None:
        st.sidebar.warning(f"No poet at `{poet_path()}`; create it with `make demo-poet`.")
        return

    last = poet.info.get("history", [{}])[-1] if poet.info.get("history") else {}
    lines = [f"**Poet:** `{poet_path().name}`", f"{poet.info.get('step', '?')} training steps"]
    if "val_loss_per_char" in last:
        lines.append(f"validation loss {last['val_loss_per_char']:.3f} per character")
    elif "val_loss" in last:
        lines.append(f"validation loss {last['val_loss']:.3f} per token")
    st.sidebar.markdown("  \n".join(lines))


def main() -> None:
    st.set_page_config(page_title="LLM From Scratch", page_icon=":material/edit_note:", layout="wide")
    torch.set_num_threads(TORCH_THREADS)
    lessons = load_lessons_or_explain()
    sections = {
        "Course": [WELCOME, *lesson_pages(lessons)],
        "Your poet": [STUDIO],
        "Playground": PLAYGROUND,
        "Lecture": [LECTURE],
    }
    if is_teacher():
        sections["Teacher"] = [DASHBOARD]
    page = st.navigation(sections)

    sign_in_box()
    progress_slot = st.sidebar.container()
    show_poet_summary()
    try:
        page.run()
    finally:
        # Drawn after the page, so that a Check on this run already counts.
        with progress_slot:
            progress_box(lessons)


if __name__ == "__main__":
    main()
