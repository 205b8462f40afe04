"""The gradebook: its verbs, exactly-once storage under 30 writers, locks, outages and corruption.

Every test runs against SQLite in tmp_path, and against PostgreSQL too when
LLM_FROM_SCRATCH_TEST_DATABASE_URL names a server (`.ci/postgres.sh start` prints one).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine

from grader.catalog import BY_ID
from grader.gradebook import (DuplicateEntry, Gradebook, GradebookCorrupt, GradebookLocked, GradebookUnavailable,
                              MissingEntry, RetryPolicy, check_sqlite_file, classify_error, code_sha256, default_url)
from grader.grading import CheckResult, ExerciseResult
from grader.notebooks import planned_cells

DATABASE_URL_VARIABLE = "LLM_FROM_SCRATCH_TEST_DATABASE_URL"
WRITERS_PER_PROCESS = 10
PROCESSES = 3  # 3 x 10 = 30 concurrent writers, one per student
ROUNDS = 4


def make_result(exercise_id: str, earned_per_check: list[int] | None = None, hints=()) -> ExerciseResult:
    """An ExerciseResult with the exercise's real checks; `earned_per_check` defaults to all passing."""
    graded = [cell for cell in planned_cells(BY_ID[exercise_id]) if cell.points is not None]
    earned = earned_per_check if earned_per_check is not None else [cell.points for cell in graded]
    checks = [CheckResult(cell.source.splitlines()[0], cell.points, e, False, "exact",
                          cause="" if e == cell.points else "values", message="" if e == cell.points else "wrong")
              for cell, e in zip(graded, earned)]
    exercise = BY_ID[exercise_id]
    return ExerciseResult(exercise_id, exercise.lesson, exercise.title, checks, list(hints), "test")


def _postgres_database(server_url: str):
    """Create a fresh database on the server for one test; yield its URL; drop it afterwards."""
    name = f"gradebook_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield default_url(tmp_path)
        return
    server_url = os.environ.get(DATABASE_URL_VARIABLE)
    if not server_url:
        pytest.skip(f"{DATABASE_URL_VARIABLE} is not set; run `.ci/postgres.sh start` and export its URL")
    yield from _postgres_database(server_url)


@pytest.fixture
def book(database_url):
    with Gradebook(database_url) as gradebook:
        yield gradebook


def test_default_url_example():
    from pathlib import Path

    assert default_url(Path("/srv/course")) == "sqlite:////srv/course/course_data/gradebook.db"


def test_code_sha256_example():
    assert code_sha256("")[:12] == "e3b0c44298fc"


def test_classify_error_example():
    assert classify_error(sqlite3.OperationalError("database is locked")) == "locked"


def test_retry_delay_stays_under_cap():
    policy = RetryPolicy(first_delay_s=0.1, max_delay_s=0.3)
    delays = [policy.delay(attempt) for attempt in range(10)]
    assert max(delays) <= 0.3
    assert min(delays) >= 0.05


def test_student_verbs(book):
    book.add_student("ada", first_name="Ada")
    assert book.find_student("ada")["first_name"] == "Ada"
    book.update_or_create_student("ada", last_name="Lovelace")
    assert book.find_student("ada")["last_name"] == "Lovelace"
    with pytest.raises(DuplicateEntry):
        book.add_student("ada")
    book.remove_student("ada")
    with pytest.raises(MissingEntry):
        book.find_student("ada")


def test_setting_verbs(book):
    book.add_setting("class_code_hash", "first")
    with pytest.raises(DuplicateEntry):
        book.add_setting("class_code_hash", "second")
    book.update_or_create_setting("class_code_hash", "third")
    assert book.find_setting("class_code_hash") == "third"
    book.remove_setting("class_code_hash")
    with pytest.raises(MissingEntry):
        book.find_setting("class_code_hash")
    with pytest.raises(MissingEntry):
        book.remove_setting("class_code_hash")


def test_attempt_stores_checks_hints_and_hash(book):
    result = make_result("softmax", [1, 0, 1, 2, 1, 2, 2][:len(make_result("softmax").checks)], hints=["shift by the max"])
    attempt_id = book.add_attempt("ada", result, "def softmax(x): ...")
    stored = book.find_attempt(attempt_id)
    assert stored.student_id == "ada"
    assert stored.exercise_id == "softmax"
    assert stored.lesson == 4
    assert stored.code_sha256 == code_sha256("def softmax(x): ...")
    assert stored.hints_shown == ("shift by the max",)
    assert [c.earned for c in stored.checks] == [c.earned for c in result.checks]
    assert stored.earned == result.earned
    assert stored.created_at.tzinfo is not None


def test_attempt_same_id_stored_once(book):
    result = make_result("merge")
    attempt_id = str(uuid.uuid4())
    assert book.add_attempt("ada", result, "code", attempt_id=attempt_id) == attempt_id
    assert book.add_attempt("ada", result, "code", attempt_id=attempt_id) == attempt_id
    assert len(book.find_attempts(student_id="ada")) == 1


def test_attempt_id_taken_by_other_attempt_rejected(book):
    attempt_id = str(uuid.uuid4())
    book.add_attempt("ada", make_result("merge"), "code", attempt_id=attempt_id)
    with pytest.raises(DuplicateEntry):
        book.add_attempt("bob", make_result("merge"), "other code", attempt_id=attempt_id)


def test_attempt_remove_and_missing(book):
    attempt_id = book.add_attempt("ada", make_result("merge"), "code")
    book.remove_attempt(attempt_id)
    with pytest.raises(MissingEntry):
        book.find_attempt(attempt_id)
    with pytest.raises(MissingEntry):
        book.remove_attempt(attempt_id)


def test_attempt_unknown_exercise_rejected(book):
    result = make_result("merge")
    result.id = "no_such_exercise"
    with pytest.raises(ValueError, match="no_such_exercise"):
        book.add_attempt("ada", result, "code")


def test_nbgrader_score_keeps_best_attempt(book):
    full = make_result("merge")
    failing = make_result("merge", [0] * len(full.checks))
    start = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
    book.add_attempt("ada", failing, "v1", created_at=start)
    assert book.find_scores("ada")["merge"] == (0.0, float(full.points))
    book.add_attempt("ada", full, "v2", created_at=start + timedelta(minutes=1))
    book.add_attempt("ada", failing, "v3", created_at=start + timedelta(minutes=2))
    assert book.find_scores("ada")["merge"] == (float(full.points), float(full.points))
    assert [a.code_sha256 for a in book.find_attempts("ada")] == [code_sha256(v) for v in ("v1", "v2", "v3")]


def test_reopen_keeps_attempts(database_url):
    with Gradebook(database_url) as first:
        attempt_id = first.add_attempt("ada", make_result("gelu"), "code")
    with Gradebook(database_url) as second:
        assert second.find_attempt(attempt_id).exercise_id == "gelu"


def _write_attempts(url: str, first_student: int, queue) -> None:
    """One process of the load test: WRITERS_PER_PROCESS threads, each ROUNDS attempts."""
    stored: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(WRITERS_PER_PROCESS)
    with Gradebook(url, RetryPolicy(attempts=20, max_delay_s=1.0)) as book:
        def write(student: str) -> None:
            barrier.wait()  # every writer presses Check at the same moment
            for round_index in range(ROUNDS):
                exercise = ("softmax", "merge")[round_index % 2]
                attempt_id = str(uuid.uuid4())
                book.add_attempt(student, make_result(exercise), f"{student} {round_index}", attempt_id=attempt_id)
                # A client that lost the reply sends the same attempt again; it must not count twice.
                book.add_attempt(student, make_result(exercise), f"{student} {round_index}", attempt_id=attempt_id)
                with lock:
                    stored.append(attempt_id)

        threads = [threading.Thread(target=write, args=(f"student-{first_student + i:02d}",))
                   for i in range(WRITERS_PER_PROCESS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    queue.put(stored)


@pytest.mark.slow
def test_thirty_writers_store_each_attempt_once(database_url):
    with Gradebook(database_url):
        pass  # create the schema once, as the server does before students arrive

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    started = time.perf_counter()
    processes = [context.Process(target=_write_attempts, args=(database_url, p * WRITERS_PER_PROCESS, queue))
                 for p in range(PROCESSES)]
    for process in processes:
        process.start()
    sent = [attempt_id for _ in processes for attempt_id in queue.get(timeout=300)]
    for process in processes:
        process.join(timeout=60)
    elapsed = time.perf_counter() - started
    logging.getLogger(__name__).info("stored %d attempts from 30 writers in %.1f s", len(sent), elapsed)

    assert [process.exitcode for process in processes] == [0] * PROCESSES
    assert len(sent) == PROCESSES * WRITERS_PER_PROCESS * ROUNDS
    with Gradebook(database_url) as book:
        stored = [attempt.id for attempt in book.find_attempts()]
        assert len(stored) == len(sent)
        assert sorted(stored) == sorted(sent)
        assert len(book.find_students()) == PROCESSES * WRITERS_PER_PROCESS
        assert book.find_scores("student-29")["softmax"][0] == make_result("softmax").earned


def test_locked_sqlite_retries_then_raises(tmp_path, caplog):
    url = default_url(tmp_path)
    with Gradebook(url):
        pass
    book = Gradebook(url, RetryPolicy(attempts=3, first_delay_s=0.01, busy_timeout_ms=50))
    holder = sqlite3.connect(tmp_path / "course_data" / "gradebook.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING, logger="grader.gradebook"):
            with pytest.raises(GradebookLocked, match="locked"):
                book.add_attempt("ada", make_result("merge"), "code")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        book.close()
    retries = [r for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2
    assert "ada" in retries[0].getMessage()


def test_locked_sqlite_succeeds_when_lock_released(tmp_path):
    url = default_url(tmp_path)
    with Gradebook(url):
        pass
    holder = sqlite3.connect(tmp_path / "course_data" / "gradebook.db", isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.3, lambda: holder.execute("ROLLBACK"))
    release.start()
    try:
        with Gradebook(url, RetryPolicy(attempts=10, first_delay_s=0.05, busy_timeout_ms=50)) as book:
            attempt_id = book.add_attempt("ada", make_result("merge"), "code")
            assert book.find_attempt(attempt_id).student_id == "ada"
    finally:
        release.join()
        holder.close()


def test_locked_sqlite_open_raises_clear_error(tmp_path):
    url = default_url(tmp_path)
    with Gradebook(url):
        pass
    holder = sqlite3.connect(tmp_path / "course_data" / "gradebook.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(GradebookLocked, match="another process holds a write lock"):
            Gradebook(url, RetryPolicy(attempts=2, first_delay_s=0.01, busy_timeout_ms=50))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_unreachable_server_raises_after_retries(caplog):
    # Port 9 (discard) on the loopback address: nothing listens there in a test environment.
    url = "postgresql+psycopg2://nobody@127.0.0.1:9/gradebook"
    with caplog.at_level(logging.WARNING, logger="grader.gradebook"):
        with pytest.raises(GradebookUnavailable, match="could not be reached"):
            Gradebook(url, RetryPolicy(attempts=2, first_delay_s=0.01))
    assert any("retry 1 of 1" in r.getMessage() for r in caplog.records)


def test_garbage_file_reported_not_replaced(tmp_path):
    path = tmp_path / "course_data" / "gradebook.db"
    path.parent.mkdir()
    garbage = bytes(range(256)) * 16
    path.write_bytes(garbage)
    with pytest.raises(GradebookCorrupt, match="not a SQLite database"):
        Gradebook(default_url(tmp_path))
    assert path.read_bytes() == garbage


def test_damaged_pages_fail_quick_check(tmp_path):
    url = default_url(tmp_path)
    with Gradebook(url) as book:
        book.add_attempt("ada", make_result("merge"), "code")
    path = tmp_path / "course_data" / "gradebook.db"
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = bytearray(path.read_bytes())
    page = 4096
    data[page:len(data) - page] = b"\xff" * (len(data) - 2 * page)  # keep the header page intact
    path.write_bytes(bytes(data))
    with pytest.raises(GradebookCorrupt):
        check_sqlite_file(path)
    with pytest.raises(GradebookCorrupt):
        Gradebook(url)
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize("module_name", ["grader.gradebook", "grader.classroom", "grader.notebooks",
                                         "grader.notebook_checks"])
def test_docstring_examples_hold(module_name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module_name))
    assert result.failed == 0
    assert result.attempted > 0


def test_answer_stored_once_per_id(book):
    answer_id = book.add_answer("ada", "attention", "q1", "B", True)
    assert book.add_answer("ada", "attention", "q1", "B", True, answer_id=answer_id) == answer_id
    book.add_answer("ada", "attention", "q2", "3.5", False)
    book.add_answer("bob", "attention", "q1", "A", False)

    answers = book.find_answers("ada", "attention")
    assert [(a["question_id"], a["answer"], a["correct"]) for a in answers] == [("q1", "B", True), ("q2", "3.5", False)]
    assert len(book.find_answers(lesson_id="attention")) == 3
    assert book.find_answers("carol") == []
