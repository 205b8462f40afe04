"""The Streamlit entry point: navigation between the course's pages, sign-in and progress in the sidebar.

Run it with `make run` (or `streamlit run app.py`). Lesson pages are built from the lesson files
by `course.pages.lesson`; every other page is a script in `course/pages/`.
"""

import streamlit as st
import yaml

from course.lessons import LessonFormatError
from course.pages.account import is_teacher, progress_box, restore_sign_in, sign_in_box
from course.pages.lesson import cached_lessons, lesson_outline, lesson_page

# Nothing imported above loads PyTorch (about 2 s on a laptop): the welcome page draws first, and
# the sidebar's poet summary, drawn after the page, imports it.

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


def lesson_pages(outline: list[tuple[str, str, int]]) -> list:
    """Make one navigation page per lesson, in course order."""
    return [st.Page(lesson_runner(lesson_id), title=f"{order}. {title}", url_path=f"lesson-{lesson_id}",
                    icon=":material/menu_book:") for lesson_id, title, order in outline]


def outline_or_explain() -> list[tuple[str, str, int]]:
    """Return the lessons' outline, or show in the sidebar why it could not be read and return none."""
    try:
        return lesson_outline()
    except (LessonFormatError, yaml.YAMLError, KeyError, TypeError, ValueError) as error:
        st.sidebar.error(f"The lessons could not be read: {error}")
        return []


def lessons_or_none() -> list:
    """Return the validated lessons for the progress box, or none when a lesson file is invalid."""
    try:
        return cached_lessons()
    except (LessonFormatError, FileNotFoundError) as error:
        st.sidebar.error(f"The lessons could not be read: {error}")
        return []


def show_poet_summary() -> None:
    """Say, in the current container, which poet the pages use: its training steps and validation loss."""
    from course.models import find_poet, poet_path
    from reference.checkpoint import CheckpointError

    try:
        poet = find_poet()
    except CheckpointError as error:
        st.error(f"The poet checkpoint could not be loaded: {error}")
        return
    if poet is None:
        st.warning(f"No poet at `{poet_path()}`; create it with `make demo-poet`.")
        return

    last = poet.info.get("history", [{}])[-1] if poet.info.get("history") else {}
    lines = [f"**Poet:** `{poet_path().name}`", f"{poet.info.get('step', '?')} training steps"]
    if "val_loss_per_char" in last:
        lines.append(f"validation loss {last['val_loss_per_char']:.3f} per character")
    elif "val_loss" in last:
        lines.append(f"validation loss {last['val_loss']:.3f} per token")
    st.markdown("  \n".join(lines))


def main() -> None:
    st.set_page_config(page_title="LLM From Scratch", page_icon="🪶", layout="wide")
    restore_sign_in()
    sections = {
        "Course": [WELCOME, *lesson_pages(outline_or_explain())],
        "Your poet": [STUDIO],
        "Playground": PLAYGROUND,
        "Lecture": [LECTURE],
    }
    if is_teacher():
        sections["Teacher"] = [DASHBOARD]
    page = st.navigation(sections)

    sign_in_box()
    progress_slot = st.sidebar.container()
    poet_slot = st.sidebar.container()
    try:
        page.run()
    finally:
        # Drawn after the page: a Check on this run already counts, and the page's text does not
        # wait for the poet to load.
        with progress_slot:
            progress_box(lessons_or_none())
        with poet_slot:
            show_poet_summary()
        use_app_threads()


def use_app_threads() -> None:
    """Set PyTorch's thread count for the app (see course.models.TORCH_THREADS)."""
    import torch

    from course.models import TORCH_THREADS

    torch.set_num_threads(TORCH_THREADS)


if __name__ == "__main__":
    main()
