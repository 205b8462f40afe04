"""Welcome page: what the course is, and where each page leads."""

import streamlit as st

from course.pages.account import is_teacher
from course.pages.student import classroom_mode, current_student


def welcome_page() -> None:
    """Render the Welcome page."""
    st.title("LLM From Scratch")
    st.write(
        "In this course you build a small GPT piece by piece, from text to a trained AI poet "
        "that writes verse on a laptop CPU. These pages let you look inside the finished model "
        "while you build your own."
    )
    st.write(
        "Work through the lessons in the sidebar in order. Each one explains a piece, lets you play "
        f"with it, and has exercises: {where_to_write()}, press Check, and read the feedback. "
        "When your pieces pass, the Poet studio assembles them into a poet of your own."
    )
    if classroom_mode() and current_student() is None and not is_teacher():
        st.info("Sign in in the sidebar with your name, the class code and your password to start.")
    st.page_link("course/pages/tokens.py", label="Tokens: how text becomes ids, tokenizer by tokenizer", icon=":material/text_fields:")
    st.page_link("course/pages/attention.py", label="Attention: where each head of the poet looks", icon=":material/grid_on:")
    st.page_link("course/pages/write.py", label="Write a poem: sampling settings and next-token odds", icon=":material/edit_note:")


def where_to_write() -> str:
    """Say where the student writes exercises: in the page on a class server, in files on a laptop."""
    if classroom_mode():
        return "write them in the editor on each lesson page (your code is saved as you type)"
    return "write them in `exercises/`"


if __name__ == "__main__":
    welcome_page()
