"""One exercise on a lesson page: its task, the student's code, the Check button and the results.

The student's code is only parsed here (`ast`), never imported: it runs in the grader's sandboxed
workers alone.
"""

from __future__ import annotations

import ast
import html

import streamlit as st

from course.pages.student import REPOSITORY, RESULTS_KEY, Student, check_exercises, workspace_files
from grader.catalog import BY_ID
from grader.checks import Exercise
from grader.grading import ExerciseResult

CHECKS_CSS = ("table.checks{border-collapse:collapse;font-size:1rem} table.checks th,table.checks td"
              "{padding:4px 14px;text-align:left;vertical-align:top;border-bottom:1px solid #e6e6e6}")

try:
    from streamlit_ace import st_ace
except ImportError:  # the editor is optional; a text area does the same job with less comfort
    st_ace = None


def function_source(source: str, function: str) -> tuple[str, str]:
    """Find a function in a module's source; return (its docstring, its source), or ("", "") if absent.

    A function that the module imports instead of defining returns ("", the import statement).

    >>> function_source('def f(x):\\n    "Double x."\\n    return 2 * x\\n', "f")
    ('Double x.', 'def f(x):\\n    "Double x."\\n    return 2 * x')
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "", ""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            return ast.get_docstring(node) or "", ast.get_source_segment(source, node) or ""
        # A student may import the function from another of their files instead of defining it here.
        if isinstance(node, ast.ImportFrom) and any((alias.asname or alias.name) == function for alias in node.names):
            return "", ast.get_source_segment(source, node) or ""
    return "", ""


def missing_code_message(source: str, function: str, path) -> str:
    """Explain why `function` has no code to show: its file does not parse, or the file lacks it.

    >>> missing_code_message("x = (1,\\n", "f", "ex.py")
    "`ex.py` has a syntax error at line 1 ('(' was never closed); fix it, save, then press Check."
    """
    try:
        ast.parse(source)
    except SyntaxError as error:
        return f"`{path}` has a syntax error at line {error.lineno} ({error.msg}); fix it, save, then press Check."
    return f"`{function}` was not found in `{path}`; restore it from the course's stubs."


def exercise_panel(student: Student, exercise_id: str, key_prefix: str, show_editor: bool = True) -> None:
    """Render one exercise: task, code (read-only or editable), Check, and the last results.

    In classroom mode the editor contains the whole lesson file, so a lesson whose exercises share a
    file shows it once (`show_editor` False for the others): two editors of one file would
    overwrite each other's saves.
    """
    exercise = BY_ID[exercise_id]
    st.subheader(f"Exercise: {exercise.title}")
    source = workspace_files(student).get(exercise.stub_path, "")
    docstring, code = function_source(source, exercise.function)
    if not docstring:
        # The task is the course's stub docstring, also when the student's file lost it.
        docstring, _ = function_source((REPOSITORY / exercise.stub_path).read_text(encoding="utf-8"), exercise.function)
    st.markdown(f"`{exercise.function}` in `{exercise.stub_path}`")
    if docstring:
        st.markdown(docstring)

    if student.classroom and show_editor:
        edit_code(student, exercise, source, key_prefix)
    elif student.classroom:
        st.caption(f"`{exercise.function}` is in the editor of `{exercise.stub_path}` above.")
    elif code:
        st.code(code, language="python")
        st.caption(f"Edit `{exercise.stub_path}` in your editor, save, then press Check.")
    else:
        st.warning(missing_code_message(source, exercise.function, student.workspace / exercise.stub_path))

    if st.button("Check", key=f"{key_prefix}.check.{exercise_id}", type="primary"):
        with st.spinner("Checking ..."):
            try:
                check_exercises(student, [exercise_id])
            except FileNotFoundError as error:
                st.error(str(error))
    result = st.session_state.get(RESULTS_KEY, {}).get(exercise_id)
    if result is not None:
        show_result(result)


def edit_code(student: Student, exercise: Exercise, source: str, key_prefix: str) -> None:
    """Show the exercise file in a code editor and save every change through the classroom."""
    key = f"{key_prefix}.editor.{exercise.stub_path}"
    if st_ace is not None:
        edited = st_ace(value=source, language="python", theme="chrome", key=key, auto_update=True,
                        min_lines=12, max_lines=40, font_size=15, show_gutter=True)
    else:
        edited = st.text_area(f"{exercise.stub_path}", value=source, height=360, key=key)
    if edited is None or edited == source:
        return
    from course.pages.account import classroom

    room = classroom()
    if room is None:
        st.error("Saving needs grader.classroom, which is not installed in this course yet.")
        return
    try:
        room.save_code(student.identity, exercise.id, edited)
    except (ValueError, PermissionError) as error:
        st.error(f"Not saved: {error}")
        return
    st.caption(f"Saved to your workspace's `{exercise.stub_path}`.")


def shared_failure(result: ExerciseResult) -> str:
    """Return the one message that every check of `result` failed with, or "" when they differ.

    A syntax error or a stub fails each check with the same words, which a student should read once.
    """
    messages = {check.message for check in result.checks if check.earned < check.points}
    failed_all = all(check.earned < check.points for check in result.checks)
    if failed_all and len(result.checks) > 1 and len(messages) == 1:
        return messages.pop()
    return ""


def show_result(result: ExerciseResult) -> None:
    """Show each check's outcome, points, message and hints, then the exercise's total."""
    verdict = "passed" if result.passed else "not passed yet"
    (st.success if result.passed else st.error)(f"{result.title}: {result.earned} / {result.points} points, {verdict}")
    shared = shared_failure(result)
    if shared:
        st.warning(f"Every check failed for the same reason: {shared}")
    rows = []
    for check in result.checks:
        mark = "ok" if check.earned == check.points else "FAIL"
        colour = "#1b7f3b" if mark == "ok" else "#b3261e"
        message = "same reason as above" if shared else html.escape(check.message)
        rows.append(f"<tr><td style='color:{colour};font-weight:700'>{mark}</td><td>{html.escape(check.name)}</td>"
                    f"<td>{check.earned}/{check.points}</td><td>{message}</td></tr>")
    st.html(f"<style>{CHECKS_CSS}</style><table class='checks'><tr><th></th><th>check</th><th>points</th><th>message</th></tr>"
            + "".join(rows) + "</table>")
    for hint in result.hints:
        st.info(f"Hint: {hint}")
    st.caption(f"Grader {result.sandbox}.")
