"""Teacher dashboard: who has done what, which checks fail most, and downloads of grades and work.

Only a session signed in with the teacher password sees this page (`app.py` adds it to the
navigation then, and the page checks again). The data come from `grader.dashboard` and the
figures from `course.dashboard_figures`; while either is missing, the page says so and stops.
"""

from __future__ import annotations

import streamlit as st

from course.pages.account import classroom, is_teacher
from course.pages.student import gradebook, optional_module

REFRESH_SECONDS = 10


def teacher_page() -> None:
    """Render the Teacher dashboard."""
    st.title("Teacher dashboard")
    if not is_teacher():
        st.warning("Sign in with the teacher password in the sidebar to see the class.")
        st.stop()
    dashboard = optional_module("grader.dashboard")
    figures = optional_module("course.dashboard_figures")
    book = gradebook()
    if dashboard is None or figures is None or book is None:
        st.info("The dashboard needs grader.dashboard, course.dashboard_figures and the gradebook; "
                "one of them is not installed in this course yet.")
        st.stop()
    st.error("This page does not know this version of grader.dashboard yet.")


if __name__ == "__main__":
    teacher_page()
