"""Data for the teacher's dashboard: who has done what, the class's common mistakes, exports.

Every table is a pandas DataFrame built from the gradebook's attempts, so the page and the
tests share it. `course.dashboard_figures` draws the heatmap and the timeline. The callers
check that the viewer is the teacher (`Classroom.require_teacher`) before showing any of it,
except `workspace_zip`, which checks itself because a student may download their own work.

A poet's state comes from `poet_status.json` in the student's workspace (`PoetStatus`), which
the poet trainer writes; a workspace without one shows "not started".

Deliberately left out: late penalties and due dates. The CSV has nbgrader's columns, with
nbgrader's values for them (no due date, penalty 0).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd
from nbgrader import api as nb

from grader.catalog import EXERCISES
from grader.classroom import Classroom, Identity
from grader.gradebook import AttemptRecord, Gradebook

logger = logging.getLogger(__name__)

# The columns of `nbgrader export` (CsvExportPlugin in nbgrader 0.9), in its order.
EXPORT_COLUMNS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                  "raw_score", "late_submission_penalty", "score", "max_score")
POET_STATUS_FILE = "poet_status.json"
POET_STATES = ("not started", "training", "trained", "failed")
# Causes that mean the student has not written the code yet, which are not mistakes.
NOT_ATTEMPTED = ("not_implemented", "skipped")


@dataclass(frozen=True)
class PoetStatus:
    """The content of a workspace's poet_status.json.

    Fields: `state` is one of POET_STATES. `step` and `max_steps` count training steps done and
    planned. `loss` is the latest training loss or None. `updated_at` is an ISO 8601 time in UTC.
    `message` is one line for the teacher, such as the error of a failed run.
    """

    state: str = "not started"
    step: int = 0
    max_steps: int = 0
    loss: float | None = None
    updated_at: str = ""
    message: str = ""


def write_poet_status(workspace_root: Path, status: PoetStatus) -> None:
    """Write `status` as the workspace's poet_status.json (the poet trainer calls this)."""
    if status.state not in POET_STATES:
        raise ValueError(f"poet state must be one of {POET_STATES}, got {status.state!r}")
    temporary = workspace_root / f".{POET_STATUS_FILE}.tmp"
    temporary.write_text(json.dumps(asdict(status)), encoding="utf-8")
    temporary.replace(workspace_root / POET_STATUS_FILE)  # readers never see half a file


def read_poet_status(workspace_root: Path) -> PoetStatus:
    """Read a workspace's poet status; a missing or unreadable file reads as "not started"."""
    path = workspace_root / POET_STATUS_FILE
    if not path.exists():
        return PoetStatus()
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
        status = PoetStatus(**{key: fields[key] for key in PoetStatus.__dataclass_fields__ if key in fields})
    except (ValueError, TypeError) as error:
        logger.warning("unreadable poet status %s: %s", path, error)
        return PoetStatus(message=f"unreadable {POET_STATUS_FILE}: {error}")
    return status if status.state in POET_STATES else PoetStatus(message=f"unknown state {status.state!r}")


def score_matrix(attempts: list[AttemptRecord], students: list[str] | None = None) -> pd.DataFrame:
    """Return students x exercises: each student's best score as a fraction of the points (NaN: no attempt).

    Rows are `students` (default: everyone with an attempt, sorted); columns are every exercise in
    course order.
    """
    best: dict[tuple[str, str], float] = {}
    for attempt in attempts:
        key = (attempt.student_id, attempt.exercise_id)
        best[key] = max(best.get(key, 0.0), attempt.earned / attempt.points if attempt.points else 0.0)
    rows = students if students is not None else sorted({a.student_id for a in attempts})
    columns = [exercise.id for exercise in EXERCISES]
    matrix = pd.DataFrame(float("nan"), index=pd.Index(rows, name="student"), columns=columns)
    for (student, exercise), fraction in best.items():
        if student in matrix.index and exercise in matrix.columns:
            matrix.loc[student, exercise] = fraction
    return matrix


def failing_checks(attempts: list[AttemptRecord], limit: int = 10) -> pd.DataFrame:
    """Return the checks that fail most: exercise, check, failures, students, most common cause.

    Failures of code that is not written yet (NotImplementedError) are not counted.
    """
    failures: Counter = Counter()
    students: dict[tuple[str, str], set[str]] = {}
    causes: dict[tuple[str, str], Counter] = {}
    for attempt in attempts:
        for check in attempt.checks:
            if check.earned >= check.points or check.cause in NOT_ATTEMPTED:
                continue
            key = (attempt.exercise_id, check.name)
            failures[key] += 1
            students.setdefault(key, set()).add(attempt.student_id)
            causes.setdefault(key, Counter())[check.cause or "values"] += 1
    rows = [{"exercise": exercise, "check": name, "failures": count, "students": len(students[(exercise, name)]),
             "cause": causes[(exercise, name)].most_common(1)[0][0]}
            for (exercise, name), count in failures.most_common(limit)]
    return pd.DataFrame(rows, columns=["exercise", "check", "failures", "students", "cause"])


def shown_hints(attempts: list[AttemptRecord], limit: int = 10) -> pd.DataFrame:
    """Return the hints shown most often: exercise, hint, times shown, students who saw it."""
    shown: Counter = Counter()
    students: dict[tuple[str, str], set[str]] = {}
    for attempt in attempts:
        for hint in attempt.hints_shown:
            key = (attempt.exercise_id, hint)
            shown[key] += 1
            students.setdefault(key, set()).add(attempt.student_id)
    rows = [{"exercise": exercise, "hint": hint, "times": count, "students": len(students[(exercise, hint)])}
            for (exercise, hint), count in shown.most_common(limit)]
    return pd.DataFrame(rows, columns=["exercise", "hint", "times", "students"])


def self_check_summary(answers: list[dict]) -> pd.DataFrame:
    """Return one row per self-check question: lesson, question, students who answered, and the
    share whose latest answer is correct (answers as `Gradebook.find_answers` returns them).

    >>> self_check_summary([
    ...     {"lesson_id": "attention", "question_id": "q1", "student_id": "ada", "correct": False},
    ...     {"lesson_id": "attention", "question_id": "q1", "student_id": "ada", "correct": True},
    ...     {"lesson_id": "attention", "question_id": "q1", "student_id": "bob", "correct": False},
    ... ]).to_dict("records")
    [{'lesson': 'attention', 'question': 'q1', 'students': 2, 'correct now': 0.5}]
    """
    latest: dict[tuple[str, str, str], bool] = {}
    for answer in answers:  # oldest first, so later answers replace earlier ones
        latest[(answer["lesson_id"], answer["question_id"], answer["student_id"])] = answer["correct"]

    by_question: dict[tuple[str, str], list[bool]] = {}
    for (lesson, question, _), correct in latest.items():
        by_question.setdefault((lesson, question), []).append(correct)
    rows = [{"lesson": lesson, "question": question, "students": len(results),
             "correct now": round(sum(results) / len(results), 2)}
            for (lesson, question), results in sorted(by_question.items())]
    return pd.DataFrame(rows, columns=["lesson", "question", "students", "correct now"])


def timeline(attempts: list[AttemptRecord], student_id: str | None = None) -> pd.DataFrame:
    """Return one row per attempt in time order: student, time, exercise, lesson, earned, points, passed."""
    chosen = [a for a in attempts if student_id is None or a.student_id == student_id]
    rows = [{"student": a.student_id, "time": a.created_at, "exercise": a.exercise_id, "lesson": a.lesson,
             "earned": a.earned, "points": a.points, "passed": a.passed} for a in chosen]
    table = pd.DataFrame(rows, columns=["student", "time", "exercise", "lesson", "earned", "points", "passed"])
    return table.sort_values(["time", "student"], kind="stable").reset_index(drop=True)


def poet_states(classroom: Classroom, students: list[str]) -> pd.DataFrame:
    """Return each student's poet status, one row per student."""
    rows = []
    for student in students:
        status = read_poet_status(classroom.workspaces / student)
        rows.append({"student": student, **asdict(status)})
    return pd.DataFrame(rows, columns=["student", *PoetStatus.__dataclass_fields__])


def export_csv(book: Gradebook) -> str:
    """Return the grades as CSV with the columns and value formats of `nbgrader export`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in _export_rows(book.nbgrader):
        writer.writerow([row[column] for column in EXPORT_COLUMNS])
    return buffer.getvalue()


def workspace_zip(classroom: Classroom, identity: Identity, student_id: str | None = None) -> bytes:
    """Return a zip of one student's workspace (code, saved versions, poet status).

    The teacher may download anyone's; a student only their own (AccessDenied otherwise).
    """
    workspace = classroom.workspace_for(identity, student_id)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(workspace.root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and not path.is_symlink():
                archive.write(path, f"{workspace.student_id}/{path.relative_to(workspace.root).as_posix()}")
    logger.info("zipped the workspace of %s", workspace.student_id)
    return buffer.getvalue()


def _export_rows(gradebook: nb.Gradebook):
    """Yield one dict per assignment and student, formatted as nbgrader's CSV exporter does."""
    for assignment in gradebook.assignments:
        for student in gradebook.students:
            row = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                   "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                   "max_score": assignment.max_score}
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except nb.MissingEntry:
                row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
            else:
                penalty = submission.late_submission_penalty
                row.update(timestamp=submission.timestamp, raw_score=submission.score,
                           late_submission_penalty=penalty, score=max(0.0, submission.score - penalty))
            yield {key: "" if value is None else str(value) for key, value in row.items()}
