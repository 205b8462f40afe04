"""Teacher dashboard: who has done what, which checks fail most, and downloads of grades and work.

Only a session signed in with the teacher password can open this page (`app.py` adds it to the
navigation then, and the page checks again). The data come from `grader.dashboard` and the
figures from `course.dashboard_figures`; while either is missing, the page shows a message and stops.
"""

from __future__ import annotations

import streamlit as st

from course.pages.account import classroom, session_tokens, teacher_identity
from course.pages.student import gradebook, optional_module

# Seconds between redraws of the live parts (heatmap, tables), while the page is open.
REFRESH_SECONDS = 10
# Column orders with the counts before the long texts, so that the counts and the cause stay in view
# instead of being pushed past the table's right edge by a long check name or hint.
FAILING_COLUMNS = ["exercise", "failures", "students", "check", "cause"]
HINT_COLUMNS = ["exercise", "times", "students", "hint"]


def teacher_page() -> None:
    """Render the Teacher dashboard."""
    st.title("Teacher dashboard")
    identity = teacher_identity()
    room = classroom()
    if identity is None or room is None:
        st.warning("Sign in with the class code and the teacher password in the sidebar to see the class.")
        st.stop()
    dashboard = optional_module("grader.dashboard")
    figures = optional_module("course.dashboard_figures")
    if dashboard is None or figures is None:
        st.info("The dashboard needs grader.dashboard and course.dashboard_figures; one of them is not installed yet.")
        st.stop()
    room.require_teacher(identity)

    live_overview(dashboard, figures, room)
    student_details(dashboard, figures, room, identity)
    password_reset(room, identity)
    st.download_button("Download grades (CSV, nbgrader export columns)", dashboard.export_csv(gradebook()),
                       file_name="grades.csv", mime="text/csv", key="teacher.csv")


@st.fragment(run_every=REFRESH_SECONDS)
def live_overview(dashboard, figures, room) -> None:
    """Draw the class heatmap, the most failed checks, the most shown hints and the poets; refreshes itself."""
    book = gradebook()
    attempts = book.find_attempts()
    students = book.find_students()
    st.caption(f"{len(students)} students, {len(attempts)} checks run; refreshes every {REFRESH_SECONDS} s.")
    if not attempts:
        st.info("No student has pressed Check yet.")
        return
    st.plotly_chart(figures.progress_heatmap(dashboard.score_matrix(attempts, students)), theme=None,
                    key="teacher.heatmap")
    st.subheader("Checks that fail most")
    st.dataframe(dashboard.failing_checks(attempts), hide_index=True, column_order=FAILING_COLUMNS,
                 key="teacher.failing")
    st.subheader("Hints shown most")
    st.dataframe(dashboard.shown_hints(attempts), hide_index=True, column_order=HINT_COLUMNS, key="teacher.hints")
    st.subheader("Poets")
    st.dataframe(dashboard.poet_states(room, students), hide_index=True, key="teacher.poets")
    answers = book.find_answers()
    if answers:
        st.subheader("Self-check questions")
        st.dataframe(dashboard.self_check_summary(answers), hide_index=True, key="teacher.self_checks")


def student_details(dashboard, figures, room, identity) -> None:
    """Show one student's timeline and offer their workspace as a zip."""
    students = gradebook().find_students()
    if not students:
        return
    st.subheader("One student")
    student = st.selectbox("Student", students, key="teacher.student")
    table = dashboard.timeline(gradebook().find_attempts(student_id=student))
    if table.empty:
        st.info(f"{student} has not pressed Check yet.")
    else:
        st.plotly_chart(figures.attempt_timeline(table), theme=None, key="teacher.timeline")
    try:
        archive = dashboard.workspace_zip(room, identity, student)
    except LookupError as error:
        st.info(str(error))
        return
    st.download_button(f"Download {student}'s workspace (zip)", archive, file_name=f"{student}.zip",
                       mime="application/zip", key="teacher.zip")


def password_reset(room, identity) -> None:
    """Offer to reset one student's password, so that their next sign-in sets a new one."""
    students = gradebook().find_students()
    if not students:
        return
    st.subheader("Reset a student's password")
    st.caption("The student's next sign-in sets a new password. Their code and progress stay.")
    student = st.selectbox("Student", students, key="teacher.reset_student")
    if st.button("Reset password", key="teacher.reset_password"):
        try:
            room.reset_student_password(identity, student)
        except (LookupError, ValueError) as error:
            st.error(str(error))
            return
        # Browsers still signed in as this student would otherwise keep their access.
        session_tokens().revoke_student(student)
        st.success(f"Password of {student} reset. Their next sign-in sets a new one.")


if __name__ == "__main__":
    teacher_page()
