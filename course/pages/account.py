"""The sidebar's account box and progress: sign-in in classroom mode, the course progress everywhere.

Sign-in goes through `grader.classroom` (class code and a password of their own for students,
class code and the teacher password for the teacher).
While that module is missing, classroom mode shows a message and local mode works as before.
"""

from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from course.session_tokens import COOKIE_NAME, SessionTokens, clear_cookie_script, set_cookie_script
from course.pages.student import (
    RESULTS_KEY, Student, classroom_mode, course_dir, current_student, gradebook_future, gradebook_ready, optional_module,
    passed_exercises,
)

logger = logging.getLogger(__name__)

SIGNED_IN_KEY = "student.signed_in"
# The teacher's `grader.classroom.Identity`, present only after a teacher sign-in.
TEACHER_KEY = "student.teacher"
# This session's sign-in token, and the cookie script that the next run must send to the browser.
TOKEN_KEY = "account.token"
COOKIE_SCRIPT_KEY = "account.cookie_script"


def classroom():
    """Return the course folder's classroom, or None while `grader.classroom` is missing."""
    return open_classroom(str(course_dir()))


@st.cache_resource(show_spinner=False)
def open_classroom(folder: str):
    """Open the classroom of one course folder once per server process."""
    module = optional_module("grader.classroom")
    book = gradebook_future(folder).result()
    if module is None or book is None:
        return None
    return module.Classroom(Path(folder), book)


@st.cache_resource(show_spinner=False)
def session_tokens() -> SessionTokens:
    """Return the server's sign-in tokens, shared by every session of this process."""
    return SessionTokens()


def is_teacher() -> bool:
    """Return whether this session signed in with the teacher password."""
    return bool(st.session_state.get(TEACHER_KEY))


def sign_in_box() -> None:
    """Draw the sidebar's sign-in form (classroom mode) or the name of the signed-in person."""
    if not classroom_mode():
        return
    room = classroom()
    if room is None:
        st.sidebar.warning("Classroom mode needs grader.classroom, which is not installed yet.")
        return

    script = st.session_state.pop(COOKIE_SCRIPT_KEY, None)
    if script is not None:
        st.sidebar.html(script, unsafe_allow_javascript=True)
    student = st.session_state.get(SIGNED_IN_KEY)
    if student is not None or is_teacher():
        who = "teacher" if is_teacher() else student.id
        st.sidebar.markdown(f"Signed in as **{who}**")
        if st.sidebar.button("Sign out", key="account.sign_out"):
            session_tokens().revoke(st.session_state.get(TOKEN_KEY))
            for key in (SIGNED_IN_KEY, TEACHER_KEY, RESULTS_KEY, TOKEN_KEY):
                st.session_state.pop(key, None)
            st.session_state[COOKIE_SCRIPT_KEY] = clear_cookie_script()
            st.rerun()
        return

    with st.sidebar.form("account.student_form"):
        # A rejected sign-in is reported above the fields, because below the form the message falls
        # under the fold of a laptop screen and the student does not see why nothing happened.
        notice = st.empty()
        name = st.text_input("Your name", key="account.name")
        code = st.text_input("Class code", type="password", key="account.class_code")
        student_password = st.text_input("Your password", type="password", key="account.student_password")
        st.caption("First time? The password you type now becomes yours; ask your teacher to reset it if you "
                   "forget it.")
        if st.form_submit_button("Sign in", key="account.sign_in"):
            _sign_in_student(room, name, code, student_password, notice)
    with st.sidebar.expander("Teacher"):
        teacher_notice = st.empty()
        teacher_code = st.text_input("Class code", type="password", key="account.teacher_class_code")
        password = st.text_input("Teacher password", type="password", key="account.teacher_password")
        if st.button("Sign in as teacher", key="account.teacher_sign_in"):
            _sign_in_teacher(room, teacher_code, password, teacher_notice)


def _sign_in_student(room, name: str, code: str, password: str, notice) -> None:
    try:
        identity = room.sign_in_student(name, code, password)
    except (ValueError, TypeError, PermissionError) as error:
        notice.error(str(error))
        return
    _remember(identity)
    st.rerun()


def _sign_in_teacher(room, class_code: str, password: str, notice) -> None:
    try:
        identity = room.sign_in_teacher(class_code, password)
    except PermissionError as error:
        notice.error(str(error))
        return
    _remember(identity)
    st.rerun()


def _remember(identity) -> None:
    """Sign this session in as `identity`, and have the next run store a token in the browser."""
    _use_identity(identity)
    token = session_tokens().issue(identity)
    st.session_state[TOKEN_KEY] = token
    st.session_state[COOKIE_SCRIPT_KEY] = set_cookie_script(token)


def restore_sign_in() -> None:
    """Sign a new session in from the browser's token, after a reload or a typed address.

    Call it before `st.navigation`, so that a teacher's reload finds the dashboard page.
    """
    if not classroom_mode() or st.session_state.get(SIGNED_IN_KEY) is not None or is_teacher():
        return
    token = st.context.cookies.get(COOKIE_NAME)
    identity = session_tokens().restore(token)
    if identity is None:
        return
    if not identity.is_teacher and not identity.workspace.exercises.is_dir():
        logger.warning("sign-in token of student %s names a missing workspace; ignoring it", identity.student_id)
        return
    _use_identity(identity)
    st.session_state[TOKEN_KEY] = token


def _use_identity(identity) -> None:
    if identity.is_teacher:
        st.session_state[TEACHER_KEY] = identity
    else:
        st.session_state[SIGNED_IN_KEY] = Student(identity.student_id, identity.workspace.root, classroom=True,
                                                  identity=identity)


def teacher_identity():
    """Return the teacher's classroom identity, or None unless this session signed in as teacher."""
    return st.session_state.get(TEACHER_KEY)


def progress_box(lessons) -> None:
    """Show, in the current container, how many exercises of each lesson the student has passed.

    While the gradebook is still opening, the box shows this session's results and redraws itself
    every second until the saved progress is there.
    """
    if gradebook_ready():
        draw_progress(lessons)
        return

    @st.fragment(run_every=1.0)
    def until_loaded() -> None:
        draw_progress(lessons)
        st.caption("Loading your saved progress ...")
        if gradebook_ready():
            st.rerun(scope="app")

    until_loaded()


def draw_progress(lessons) -> None:
    """Draw the progress bar and one line per lesson with exercises."""
    student = current_student()
    if student is None:
        return
    passed = passed_exercises(student, wait=False)
    total = sum(len(lesson.exercises) for lesson in lessons)
    done = sum(1 for lesson in lessons for exercise in lesson.exercises if exercise in passed)
    st.markdown(f"**Your progress:** {done} of {total} exercises")
    st.progress(done / total if total else 0.0)
    lines = []
    for lesson in lessons:
        if lesson.exercises:
            count = sum(1 for exercise in lesson.exercises if exercise in passed)
            mark = "✓" if count == len(lesson.exercises) else "·"
            lines.append(f"{mark} {lesson.order}. {lesson.title}: {count}/{len(lesson.exercises)}")
    st.caption("  \n".join(lines))
