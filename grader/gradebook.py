"""The progress store: nbgrader's gradebook plus a history of every check run, in one database.

Lessons are nbgrader assignments ("lesson01"), exercises are notebooks ("softmax"), and checks
are graded cells ("check-0", max_score = the check's points), so `nbgrader export` and the
formgrader read the scores written here. A student's score for an exercise is their best attempt.
Every attempt also lands in the course's own tables (`grader.gradebook_schema`).

Records share one set of verbs: add_*, find_*, update_or_create_*, remove_* (attempts have no
update, because history does not change). Errors are `MissingEntry`, `DuplicateEntry`,
`GradebookLocked`, `GradebookUnavailable` and `GradebookCorrupt`; each is logged with its ids
before it is raised. A locked or unreachable database is retried with backoff first.

    >>> with Gradebook("sqlite:///course_data/gradebook.db") as book:     # doctest: +SKIP
    ...     book.add_attempt("ada", result, code)                           # -> the attempt id

Deliberately left out: removing an attempt does not lower the nbgrader score it set.
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import shutil
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from nbgrader import api as nb
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from grader.catalog import BY_ID
from grader.grading import ExerciseResult
from grader.gradebook_schema import Attempt, Base, CheckRun, SelfCheckAnswer, Setting
from grader.notebooks import assignment_name, check_cell_name, planned_cells

logger = logging.getLogger(__name__)

COURSE_ID = "default_course"  # the course id that nbgrader's own preprocessors open
DEFAULT_PATH = Path("course_data") / "gradebook.db"
SQLITE_HEADER = b"SQLite format 3\x00"
T = TypeVar("T")


class GradebookError(RuntimeError):
    """Base of the gradebook's errors."""


class MissingEntry(GradebookError, LookupError):
    """A student, attempt or setting that is not in the gradebook."""


class DuplicateEntry(GradebookError):
    """A record with that id exists already and differs from the one being added."""


class GradebookLocked(GradebookError):
    """The database stayed locked by another writer through every retry."""


class GradebookUnavailable(GradebookError):
    """The database server could not be reached through every retry."""


class GradebookCorrupt(GradebookError):
    """The database file is not a valid SQLite database; it is left as it is for inspection."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a locked or unreachable database is retried."""

    attempts: int = 8  # 8 tries with doubling waits cover about 6 s of contention
    first_delay_s: float = 0.05
    max_delay_s: float = 2.0
    busy_timeout_ms: int = 5000  # SQLite waits this long on a lock before it reports "locked"

    def delay(self, attempt: int) -> float:
        """Return the wait after failed try `attempt` (0-based): doubling, capped, with jitter.

        >>> RetryPolicy(first_delay_s=0.1, max_delay_s=0.3).delay(5) <= 0.3
        True
        """
        capped = min(self.max_delay_s, self.first_delay_s * 2 ** attempt)
        return capped * random.uniform(0.5, 1.0)  # jitter keeps 30 waiting writers from retrying in step


@dataclass(frozen=True)
class CheckRecord:
    """One check's result within a stored attempt."""

    position: int
    name: str
    points: int
    earned: int
    hidden: bool
    cause: str
    message: str


@dataclass(frozen=True)
class AttemptRecord:
    """A stored attempt, detached from the database session."""

    id: str
    student_id: str
    exercise_id: str
    lesson: int
    created_at: datetime
    code_sha256: str
    earned: int
    points: int
    hints_shown: tuple[str, ...]
    checks: tuple[CheckRecord, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return self.earned == self.points


# A SQLAlchemy URL (PostgreSQL for a larger class) that replaces the SQLite file in the course folder.
DATABASE_URL_VARIABLE = "LLM_FROM_SCRATCH_DATABASE_URL"


def configured_url(course_folder: Path) -> str:
    """Return $LLM_FROM_SCRATCH_DATABASE_URL if set, else the SQLite gradebook in `course_folder`."""
    return os.environ.get(DATABASE_URL_VARIABLE) or default_url(course_folder)


def default_url(course_folder: Path) -> str:
    """Return the SQLite URL of the gradebook inside `course_folder`.

    >>> default_url(Path("/srv/course"))
    'sqlite:////srv/course/course_data/gradebook.db'
    """
    return f"sqlite:///{(course_folder / DEFAULT_PATH).as_posix()}"


def code_sha256(code: str) -> str:
    """Return the hex sha256 of `code` encoded as UTF-8.

    >>> code_sha256("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def classify_error(error: BaseException) -> str | None:
    """Name a database error: "locked", "unavailable", "corrupt", "conflict" or None (not retried).

    >>> classify_error(sqlite3.OperationalError("database is locked"))
    'locked'
    """
    text = str(error).lower()
    if "file is not a database" in text or "malformed" in text:
        return "corrupt"
    if "locked" in text or "busy" in text:
        return "locked"
    if isinstance(error, IntegrityError) or "unique" in text or "duplicate key" in text:
        return "conflict"  # two writers created the same student at once; the retry finds it
    if "could not connect" in text or "connection refused" in text or "server closed" in text \
            or "unable to open database" in text or getattr(error, "connection_invalidated", False):
        return "unavailable"
    return None


def check_sqlite_file(path: Path) -> None:
    """Raise GradebookCorrupt unless `path` is missing, empty, or a SQLite file that passes quick_check."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        logger.error("gradebook %s is corrupt: the SQLite header is missing", path)
        raise GradebookCorrupt(f"{path} is not a SQLite database (wrong header); move it aside and restore "
                               "a backup, or point the gradebook at another file")
    try:
        with sqlite3.connect(path) as connection:
            verdict = [row[0] for row in connection.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as error:
        verdict = [str(error)]
    if verdict != ["ok"]:
        logger.error("gradebook %s is corrupt: %s", path, "; ".join(verdict[:5]))
        raise GradebookCorrupt(f"{path} failed SQLite's quick_check ({'; '.join(verdict[:3])}); "
                               "move it aside and restore a backup")


def ensure_alembic_on_path() -> None:
    """Put this interpreter's bin folder on PATH, because nbgrader runs `alembic` by name."""
    if shutil.which("alembic"):
        return
    scripts = Path(sys.executable).parent
    if not (scripts / "alembic").exists():
        raise GradebookError(f"the `alembic` command is missing from PATH and from {scripts}; "
                             "install nbgrader into this environment")
    os.environ["PATH"] = f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"
    logger.info("added %s to PATH so that nbgrader finds alembic", scripts)


class Gradebook:
    """The course's gradebook over any SQLAlchemy URL; safe to share between threads."""

    def __init__(self, url: str, retry: RetryPolicy = RetryPolicy()):
        self.url = url
        self.retry = retry
        parsed = make_url(url)
        self._sqlite = parsed.get_backend_name() == "sqlite"
        if self._sqlite and parsed.database:
            path = Path(parsed.database)
            check_sqlite_file(path)
            path.parent.mkdir(parents=True, exist_ok=True)
        ensure_alembic_on_path()

        self._run("stamp alembic version", {}, lambda: _stamp_alembic_version(url))
        self.nbgrader = self._run("open", {"url": parsed.render_as_string()}, lambda: nb.Gradebook(url, COURSE_ID))
        self._engine = create_engine(url, future=True)
        if self._sqlite:
            self._configure_sqlite()
        self._sessions = sessionmaker(bind=self._engine, expire_on_commit=False, future=True)
        self._run("create tables", {}, lambda: Base.metadata.create_all(self._engine))
        self._run("sync course", {}, self._sync_course)

    def close(self) -> None:
        self.nbgrader.close()
        self.nbgrader.engine.dispose()
        self._engine.dispose()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------
    # students (nbgrader's records)

    def add_student(self, student_id: str, **fields) -> str:
        self._run("add student", {"student": student_id}, lambda: self._nbgrader("add_student", student_id, **fields))
        return student_id

    def find_student(self, student_id: str) -> dict:
        student = self._run("find student", {"student": student_id},
                            lambda: self._nbgrader("find_student", student_id))
        return student.to_dict()

    def update_or_create_student(self, student_id: str, **fields) -> str:
        self._run("update student", {"student": student_id},
                  lambda: self._nbgrader("update_or_create_student", student_id, **fields))
        return student_id

    def remove_student(self, student_id: str) -> None:
        self._run("remove student", {"student": student_id}, lambda: self._nbgrader("remove_student", student_id))

    def find_students(self) -> list[str]:
        return self._run("list students", {}, lambda: [s.id for s in self.nbgrader.students])

    # ----------------------------------------------------------------------------------------
    # attempts (the course's history)

    def add_attempt(self, student_id: str, result: ExerciseResult, code: str, attempt_id: str | None = None,
                    created_at: datetime | None = None) -> str:
        """Store one check run and raise the nbgrader score if it is the student's best; return its id.

        Pass the same `attempt_id` to retry a write whose outcome is unknown: it is stored once.
        """
        if result.id not in BY_ID:
            raise ValueError(f"unknown exercise {result.id!r}; use an id from grader.catalog")
        if not student_id:
            raise ValueError("student_id must be a non-empty string")
        attempt = _new_attempt(student_id, result, code, attempt_id or str(uuid.uuid4()),
                               created_at or datetime.now(timezone.utc))
        ids = {"attempt": attempt.id, "student": student_id, "exercise": result.id}
        self._run("add attempt", ids, lambda: self._store_attempt(attempt, result))
        return attempt.id

    def find_attempt(self, attempt_id: str) -> AttemptRecord:
        def find():
            with self._sessions() as session:
                attempt = session.get(Attempt, attempt_id)
                return None if attempt is None else _record(attempt)

        found = self._run("find attempt", {"attempt": attempt_id}, find)
        if found is None:
            logger.info("attempt %s not found", attempt_id)
            raise MissingEntry(f"no attempt with id {attempt_id!r}")
        return found

    def find_attempts(self, student_id: str | None = None, exercise_id: str | None = None) -> list[AttemptRecord]:
        """Return the attempts that match the filters, oldest first."""
        def find():
            query = select(Attempt).order_by(Attempt.created_at, Attempt.id)
            if student_id is not None:
                query = query.where(Attempt.student_id == student_id)
            if exercise_id is not None:
                query = query.where(Attempt.exercise_id == exercise_id)
            with self._sessions() as session:
                return [_record(a) for a in session.scalars(query)]

        return self._run("find attempts", {"student": student_id, "exercise": exercise_id}, find)

    def remove_attempt(self, attempt_id: str) -> None:
        def remove():
            with self._sessions.begin() as session:
                attempt = session.get(Attempt, attempt_id)
                if attempt is not None:
                    session.delete(attempt)
                return attempt is not None

        if not self._run("remove attempt", {"attempt": attempt_id}, remove):
            logger.info("attempt %s not found for removal", attempt_id)
            raise MissingEntry(f"no attempt with id {attempt_id!r}")

    # ----------------------------------------------------------------------------------------
    # settings

    def add_setting(self, key: str, value: str) -> None:
        def add():
            with self._sessions.begin() as session:
                if session.get(Setting, key) is not None:
                    return False
                session.add(Setting(key=key, value=value))
                return True

        if not self._run("add setting", {"setting": key}, add):
            logger.info("setting %s exists already", key)
            raise DuplicateEntry(f"setting {key!r} exists already; use update_or_create_setting to change it")

    def find_setting(self, key: str) -> str:
        def find():
            with self._sessions() as session:
                setting = session.get(Setting, key)
                return None if setting is None else setting.value

        value = self._run("find setting", {"setting": key}, find)
        if value is None:
            logger.info("setting %s not found", key)
            raise MissingEntry(f"no setting {key!r}")
        return value

    def update_or_create_setting(self, key: str, value: str) -> None:
        def update():
            with self._sessions.begin() as session:
                session.merge(Setting(key=key, value=value))

        self._run("update setting", {"setting": key}, update)

    def remove_setting(self, key: str) -> None:
        def remove():
            with self._sessions.begin() as session:
                setting = session.get(Setting, key)
                if setting is not None:
                    session.delete(setting)
                return setting is not None

        if not self._run("remove setting", {"setting": key}, remove):
            logger.info("setting %s not found for removal", key)
            raise MissingEntry(f"no setting {key!r}")

    # ----------------------------------------------------------------------------------------
    # self-check answers

    def add_answer(self, student_id: str, lesson_id: str, question_id: str, answer: str, correct: bool,
                   answer_id: str | None = None) -> str:
        """Store one graded self-check answer and return its id; a retried id is stored once."""
        if not student_id:
            raise ValueError("student_id must be a non-empty string")
        record = SelfCheckAnswer(
            id=answer_id or str(uuid.uuid4()), student_id=student_id, lesson_id=lesson_id,
            question_id=question_id, answer=str(answer)[:1000], correct=bool(correct),
            created_at=datetime.now(timezone.utc),
        )

        def add():
            with self._sessions.begin() as session:
                if session.get(SelfCheckAnswer, record.id) is None:
                    session.add(record)

        ids = {"answer": record.id, "student": student_id, "lesson": lesson_id, "question": question_id}
        self._run("add answer", ids, add)
        return record.id

    def find_answers(self, student_id: str | None = None, lesson_id: str | None = None) -> list[dict]:
        """Return the self-check answers that match the filters, oldest first, as plain dicts."""
        def find():
            query = select(SelfCheckAnswer).order_by(SelfCheckAnswer.created_at, SelfCheckAnswer.id)
            if student_id is not None:
                query = query.where(SelfCheckAnswer.student_id == student_id)
            if lesson_id is not None:
                query = query.where(SelfCheckAnswer.lesson_id == lesson_id)
            with self._sessions() as session:
                return [
                    {"id": a.id, "student_id": a.student_id, "lesson_id": a.lesson_id, "question_id": a.question_id,
                     "answer": a.answer, "correct": a.correct, "created_at": a.created_at}
                    for a in session.scalars(query)
                ]

        return self._run("find answers", {"student": student_id, "lesson": lesson_id}, find)

    # ----------------------------------------------------------------------------------------
    # scores as nbgrader stores them

    def find_scores(self, student_id: str) -> dict[str, tuple[float, float]]:
        """Return exercise id -> (score, max_score) from nbgrader's grades for one student."""
        def find():
            with self._sessions() as session:
                rows = session.execute(
                    select(nb.Notebook.name, nb.SubmittedNotebook.id)
                    .join(nb.SubmittedNotebook, nb.SubmittedNotebook.notebook_id == nb.Notebook.id)
                    .join(nb.SubmittedAssignment, nb.SubmittedAssignment.id == nb.SubmittedNotebook.assignment_id)
                    .where(nb.SubmittedAssignment.student_id == student_id)).all()
                notebooks = {name: session.get(nb.SubmittedNotebook, notebook_id) for name, notebook_id in rows}
                return {name: (notebook.score, notebook.max_score) for name, notebook in notebooks.items()}

        return self._run("find scores", {"student": student_id}, find)

    # ----------------------------------------------------------------------------------------
    # steps

    def _configure_sqlite(self) -> None:
        busy_timeout_ms = self.retry.busy_timeout_ms

        def on_connect(connection, _record) -> None:
            connection.isolation_level = None  # let the "begin" hook below issue BEGIN itself
            connection.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            connection.execute("PRAGMA foreign_keys = ON")
            # WAL lets the dashboard read while students write; the mode is stored in the file.
            connection.execute("PRAGMA journal_mode = WAL")

        def on_begin(connection) -> None:
            # IMMEDIATE takes the write lock at BEGIN. A deferred transaction that reads and then
            # writes can fail at once with "locked" in WAL mode, without waiting the busy timeout.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        event.listen(self._engine, "connect", on_connect)
        event.listen(self._engine, "begin", on_begin)
        event.listen(self.nbgrader.engine, "connect",
                     lambda connection, _record: connection.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}"))
        self.nbgrader.engine.dispose()  # drop connections opened before the hook existed

    def _sync_course(self) -> None:
        """Create every lesson, exercise notebook and cell that the gradebook lacks; change none."""
        with self._sessions.begin() as session, session.no_autoflush:
            assignments = {a.name: a for a in session.scalars(select(nb.Assignment))}
            for exercise in BY_ID.values():
                name = assignment_name(exercise.lesson)
                if name not in assignments:
                    assignments[name] = nb.Assignment(name=name, course_id=COURSE_ID)
                    session.add(assignments[name])
                notebook = next((n for n in assignments[name].notebooks if n.name == exercise.id), None)
                if notebook is None:
                    notebook = nb.Notebook(name=exercise.id, assignment=assignments[name])
                    session.add(notebook)
                _add_missing_cells(session, notebook, exercise.id)

    def _store_attempt(self, attempt: Attempt, result: ExerciseResult) -> None:
        with self._sessions.begin() as session:
            stored = session.get(Attempt, attempt.id)
            if stored is not None:
                if (stored.student_id, stored.exercise_id, stored.code_sha256) != \
                        (attempt.student_id, attempt.exercise_id, attempt.code_sha256):
                    logger.error("attempt %s exists for %s/%s", attempt.id, stored.student_id, stored.exercise_id)
                    raise DuplicateEntry(f"attempt id {attempt.id!r} is taken by another attempt; use a new uuid4")
                return  # an earlier try stored it; storing it again would count it twice
            submission = _find_or_create_submission(session, attempt.student_id, assignment_name(result.lesson))
            session.add(attempt)
            _raise_best_score(session, submission, result, attempt.created_at)

    def _nbgrader(self, verb: str, *args, **kwargs):
        try:
            return getattr(self.nbgrader, verb)(*args, **kwargs)
        except nb.MissingEntry as error:
            self.nbgrader.db.rollback()
            logger.info("nbgrader %s%s: %s", verb, args, error)
            raise MissingEntry(str(error)) from error
        except nb.InvalidEntry as error:
            self.nbgrader.db.rollback()
            if classify_error(error) in ("locked", "unavailable", "corrupt"):
                raise  # `_run` retries or reports these
            logger.info("nbgrader %s%s rejected: %s", verb, args, error)
            raise DuplicateEntry(str(error)) from error

    def _run(self, action: str, ids: dict, operation: Callable[[], T]) -> T:
        """Run `operation`, retrying locked, unreachable or conflicting databases with backoff."""
        for attempt in range(self.retry.attempts):
            try:
                return operation()
            except (SQLAlchemyError, nb.InvalidEntry, sqlite3.Error) as error:
                kind = classify_error(error)
                if kind is None:
                    logger.error("gradebook %s failed %s: %s", action, ids, error)
                    raise
                if kind == "corrupt":
                    logger.error("gradebook %s found a corrupt database %s: %s", action, ids, error)
                    raise GradebookCorrupt(f"the gradebook database is corrupt ({error}); restore a backup") from error
                if attempt + 1 == self.retry.attempts:
                    return self._give_up(action, ids, kind, error)
                delay = self.retry.delay(attempt)
                logger.warning("gradebook %s %s: database %s, retry %d of %d in %.2f s",
                               action, ids, kind, attempt + 1, self.retry.attempts - 1, delay)
                time.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _give_up(self, action: str, ids: dict, kind: str, error: BaseException):
        logger.error("gradebook %s %s failed after %d tries: database %s: %s",
                     action, ids, self.retry.attempts, kind, error)
        if kind == "locked":
            raise GradebookLocked(f"the gradebook stayed locked through {self.retry.attempts} tries; another "
                                  "process holds a write lock (end that process's transaction or raise RetryPolicy.attempts)") from error
        if kind == "conflict":
            raise DuplicateEntry(f"the gradebook kept rejecting {action} as a duplicate: {error}") from error
        raise GradebookUnavailable(f"the gradebook database could not be reached through {self.retry.attempts} "
                                   f"tries ({error}); check that the server runs and the URL is right") from error


def _stamp_alembic_version(url: str) -> None:
    """Record nbgrader's schema revision in a new database before nbgrader opens it.

    nbgrader does the same on first open by running `alembic heads` as a subprocess, which takes
    seconds; reading the head revision in this process takes milliseconds.
    """
    engine = create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            tables = set(inspect(connection).get_table_names())
            if tables - {"alembic_version"}:
                return  # an existing gradebook keeps the revision it has
            head = ScriptDirectory(str(Path(nb.__file__).parent / "alembic")).get_current_head()
            connection.exec_driver_sql("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)")
            if connection.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 0:
                connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head})
    finally:
        engine.dispose()


def _new_attempt(student_id: str, result: ExerciseResult, code: str, attempt_id: str, created_at: datetime) -> Attempt:
    checks = [CheckRun(position=i, name=c.name, points=c.points, earned=c.earned, hidden=c.hidden,
                       cause=c.cause, message=c.message) for i, c in enumerate(result.checks)]
    return Attempt(id=attempt_id, student_id=student_id, exercise_id=result.id, lesson=result.lesson,
                   created_at=created_at, code_sha256=code_sha256(code), earned=result.earned,
                   points=result.points, hints_shown=list(result.hints), checks=checks)


def _record(attempt: Attempt) -> AttemptRecord:
    checks = tuple(CheckRecord(c.position, c.name, c.points, c.earned, c.hidden, c.cause, c.message)
                   for c in attempt.checks)
    created_at = attempt.created_at
    if created_at.tzinfo is None:  # SQLite drops the zone; every time stored here is UTC
        created_at = created_at.replace(tzinfo=timezone.utc)
    return AttemptRecord(attempt.id, attempt.student_id, attempt.exercise_id, attempt.lesson, created_at,
                         attempt.code_sha256, attempt.earned, attempt.points, tuple(attempt.hints_shown or ()), checks)


def _add_missing_cells(session: Session, notebook: nb.Notebook, exercise_id: str) -> None:
    grade_cells = {c.name for c in notebook.grade_cells}
    solution_cells = {c.name for c in notebook.solution_cells}
    source_cells = {c.name for c in notebook.source_cells}
    for cell in planned_cells(BY_ID[exercise_id]):
        if cell.points is not None and cell.name not in grade_cells:
            session.add(nb.GradeCell(name=cell.name, max_score=cell.points, cell_type=cell.cell_type, notebook=notebook))
        if cell.solution and cell.name not in solution_cells:
            session.add(nb.SolutionCell(name=cell.name, notebook=notebook))
        if cell.name not in source_cells:
            # generate_assignment fills in the source and checksum later. It raises an error if
            # submissions exist and the cell names differ from its own, so the names must match.
            session.add(nb.SourceCell(name=cell.name, cell_type=cell.cell_type, locked=cell.locked, notebook=notebook))


def _find_or_create_submission(session: Session, student_id: str, assignment: str) -> nb.SubmittedAssignment:
    if session.get(nb.Student, student_id) is None:
        session.add(nb.Student(id=student_id))
        session.flush()
    submission = session.scalars(
        select(nb.SubmittedAssignment).join(nb.Assignment)
        .where(nb.Assignment.name == assignment, nb.SubmittedAssignment.student_id == student_id)
        .with_for_update()).one_or_none()  # serializes one student's writes on PostgreSQL
    if submission is not None:
        return submission

    # The same structure as nbgrader's Gradebook.add_submission, inside this transaction.
    lesson = session.scalars(select(nb.Assignment).where(nb.Assignment.name == assignment)).one()
    with session.no_autoflush:
        submission = nb.SubmittedAssignment(assignment=lesson, student_id=student_id)
        session.add(submission)
        for notebook in lesson.notebooks:
            submitted = nb.SubmittedNotebook(notebook=notebook, assignment=submission)
            session.add(submitted)
            session.add_all([nb.Grade(cell_id=cell.id, notebook=submitted) for cell in notebook.grade_cells])
            session.add_all([nb.Comment(cell_id=cell.id, notebook=submitted) for cell in notebook.solution_cells])
    session.flush()
    return submission


def _raise_best_score(session: Session, submission: nb.SubmittedAssignment, result: ExerciseResult,
                      created_at: datetime) -> None:
    submitted = next(n for n in submission.notebooks if n.notebook.name == result.id)
    grades = {grade.cell.name: grade for grade in submitted.grades}
    best = sum(grade.auto_score or 0 for grade in grades.values())
    if any(grade.auto_score is not None for grade in grades.values()) and result.earned < best:
        return
    for position, check in enumerate(result.checks):
        grade = grades.get(check_cell_name(position))
        if grade is not None:
            grade.auto_score = float(check.earned)
    submission.timestamp = created_at.replace(tzinfo=None)  # nbgrader stores naive UTC times

