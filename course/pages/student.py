"""The current student's identity, files, grading and progress, in local or classroom mode.

Local mode (a student on their own laptop): no sign-in, the code is the `exercises/` folder of
the checkout, attempts go to the local gradebook. Classroom mode (one server for a room, when
$LLM_FROM_SCRATCH_CLASSROOM is set and `grader.classroom` is installed): students sign in with
a name, the class code and a personal password, and each works in a workspace folder of their
own on the server.

The grader's worker pool, the gradebook and the classroom are created once per server process
(`st.cache_resource`); everything about one student lives in their session state.
"""

from __future__ import annotations

import importlib
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import streamlit as st

# The grader imports PyTorch (about 2 s); it is imported where it is used, so that the first page
# draws before it.
if TYPE_CHECKING:
    from grader.grading import ExerciseResult
    from grader.pool import WorkerPool

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[2]
# Folder that contains the student's `exercises/` folder in local mode (default: this checkout).
WORKSPACE_VARIABLE = "LLM_FROM_SCRATCH_WORKSPACE"
# Folder under which `course_data/` (gradebook, classroom workspaces) lives (default: this checkout).
COURSE_DIR_VARIABLE = "LLM_FROM_SCRATCH_COURSE_DIR"
# Set to any non-empty value to run the app for a class: sign-in, per-student workspaces.
CLASSROOM_VARIABLE = "LLM_FROM_SCRATCH_CLASSROOM"
LOCAL_STUDENT = "local"
RESULTS_KEY = "student.results"


@dataclass(frozen=True)
class Student:
    """The person using this session: their id and the folder whose `exercises/` contains their code."""

    id: str
    workspace: Path
    classroom: bool
    identity: object = None  # grader.classroom.Identity in classroom mode


def course_dir() -> Path:
    """Return the folder that contains `course_data/`: $LLM_FROM_SCRATCH_COURSE_DIR or this checkout."""
    return Path(os.environ.get(COURSE_DIR_VARIABLE) or REPOSITORY)


def optional_module(name: str) -> ModuleType | None:
    """Import a module that another part of the course provides, or return None while it is missing."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None


def classroom_mode() -> bool:
    """Return whether this server runs for a class ($LLM_FROM_SCRATCH_CLASSROOM is set)."""
    return bool(os.environ.get(CLASSROOM_VARIABLE))


@st.cache_resource(show_spinner=False)
def grading_threads() -> ThreadPoolExecutor:
    """Return the server's long-lived threads that start grader workers and run checks.

    bwrap's --die-with-parent kills a worker when the *thread* that started it exits, and
    Streamlit runs each rerun in a thread that ends with the rerun. Workers started from these
    threads stay warm between reruns.
    """
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="grader")


@st.cache_resource(show_spinner="Starting the grader ...")
def grader_pool(folder: str) -> WorkerPool:
    """Start one warm pool of sandboxed grader workers per course folder, for the whole server."""
    from grader.pool import WorkerPool

    # Created now if missing: the sandbox hides only folders that exist when a worker starts, and
    # the gradebook may create this one after the pool.
    data = Path(folder) / "course_data"
    data.mkdir(parents=True, exist_ok=True)
    return grading_threads().submit(WorkerPool, size=2, hidden_paths=(data,)).result()


def gradebook(wait: bool = True):
    """Return the course folder's gradebook, or None while `grader.gradebook` is missing.

    With wait=False, also return None while the gradebook is still opening in the background.
    """
    future = gradebook_future(str(course_dir()))
    if not wait and not future.done():
        return None
    return future.result()


@st.cache_resource(show_spinner=False)
def gradebook_future(folder: str) -> Future:
    """Start opening one course folder's gradebook in the background, once per server process.

    Importing nbgrader takes about 3 s, more than the rest of the first page together, so the
    first page draws without waiting for it.
    """
    return grading_threads().submit(_open_gradebook, folder)


def gradebook_ready() -> bool:
    """Return whether the gradebook has finished opening (or turned out to be missing)."""
    return gradebook_future(str(course_dir())).done()


def _open_gradebook(folder: str):
    module = optional_module("grader.gradebook")
    if module is None:
        return None
    return module.Gradebook(module.configured_url(Path(folder)))


def current_student() -> Student | None:
    """Return the signed-in student (classroom mode) or the local student; None before sign-in."""
    if classroom_mode():
        return st.session_state.get("student.signed_in")
    workspace = Path(os.environ.get(WORKSPACE_VARIABLE) or REPOSITORY)
    return Student(LOCAL_STUDENT, workspace, classroom=False)


def require_student() -> Student:
    """Return the student, or ask them to sign in and stop the page."""
    student = current_student()
    if student is None:
        st.info("Sign in with your name, the class code and your password in the sidebar to see your exercises.")
        st.stop()
    return student


def workspace_files(student: Student) -> dict[str, str]:
    """Read the student's `exercises/` folder as the grader's files (path -> source)."""
    from grader.grading import WorkspaceError, read_workspace

    folder = student.workspace / "exercises"
    if not folder.is_dir():
        return {}
    try:
        files = read_workspace(folder)
    except WorkspaceError as error:
        logger.warning("unreadable workspace of student %s: %s", student.id, error)
        st.error(str(error))
        st.stop()
    return {f"exercises/{name}": source for name, source in files.items()}


def check_exercises(student: Student, exercise_ids: list[str]) -> list[ExerciseResult]:
    """Grade the exercises on the student's current files, record the attempts, keep the results."""
    from grader.grading import grade

    files = workspace_files(student)
    if not files:
        raise FileNotFoundError(f"no exercises/ folder in {student.workspace}; copy the stubs there first")
    pool = grader_pool(str(course_dir()))
    results = grading_threads().submit(grade, exercise_ids, files, pool).result()
    record_attempts(student, results, files)

    stored = st.session_state.setdefault(RESULTS_KEY, {})
    for result in results:
        stored[result.id] = result
    return results


def record_answer(student: Student, lesson_id: str, question_id: str, answer: str, correct: bool) -> None:
    """Add one graded self-check answer to the gradebook; a gradebook error is logged and shown."""
    book = gradebook()
    if book is None:
        return
    try:
        book.add_answer(student.id, lesson_id, question_id, answer, correct)
    except RuntimeError as error:
        logger.error("could not record the answer of student %s to %s/%s: %s", student.id, lesson_id, question_id, error)
        st.warning(f"Your answer was graded but not saved in the gradebook: {error}")


def record_attempts(student: Student, results: list[ExerciseResult], files: dict[str, str]) -> None:
    """Add each result to the gradebook; a gradebook error is logged and shown, and the results stay."""
    from grader.catalog import BY_ID

    book = gradebook()
    if book is None:
        return
    try:
        book.update_or_create_student(student.id)
        for result in results:
            book.add_attempt(student.id, result, files.get(BY_ID[result.id].stub_path, ""))
    except RuntimeError as error:
        logger.error("could not record attempts of student %s: %s", student.id, error)
        st.warning(f"Your results are shown but were not saved in the gradebook: {error}")


def passed_exercises(student: Student, wait: bool = True) -> set[str]:
    """Return the exercises the student has passed: from the gradebook, plus this session's results.

    With wait=False, a gradebook that is still opening counts as empty.
    """
    passed = {exercise_id for exercise_id, result in st.session_state.get(RESULTS_KEY, {}).items() if result.passed}
    book = gradebook(wait)
    if book is not None:
        try:
            scores = book.find_scores(student.id)
        except RuntimeError as error:
            logger.warning("could not read the scores of student %s: %s", student.id, error)
            scores = {}
        passed |= {exercise_id for exercise_id, (score, maximum) in scores.items() if maximum and score >= maximum}
    return passed
