"""The dashboard's data and figures: score matrix, common mistakes, timeline, poets, exports."""

from __future__ import annotations

import io
import math
import zipfile
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from nbgrader.plugins.export import CsvExportPlugin

from course.dashboard_figures import MIN_TIMELINE_SPAN, attempt_timeline, progress_heatmap, timeline_range
from course.pages.teacher import FAILING_COLUMNS, HINT_COLUMNS
from grader.catalog import EXERCISES
from grader.classroom import AccessDenied, Classroom
from grader.dashboard import (EXPORT_COLUMNS, PoetStatus, export_csv, failing_checks, poet_states, read_poet_status,
                              score_matrix, self_check_summary, shown_hints, timeline, workspace_zip, write_poet_status)
from grader.gradebook import Gradebook, default_url
from tests.test_gradebook import make_result

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def failing(exercise_id: str, hints=()):
    """A result whose first check passes and all others fail with a wrong value."""
    full = make_result(exercise_id)
    return make_result(exercise_id, [full.checks[0].points] + [0] * (len(full.checks) - 1), hints=hints)


@pytest.fixture
def book(tmp_path):
    with Gradebook(default_url(tmp_path)) as gradebook:
        gradebook.add_attempt("ada", failing("softmax", ["subtract the max"]), "a1", created_at=START)
        gradebook.add_attempt("ada", make_result("softmax"), "a2", created_at=START + timedelta(minutes=3))
        gradebook.add_attempt("bob", failing("softmax", ["subtract the max"]), "b1", created_at=START + timedelta(minutes=1))
        gradebook.add_attempt("bob", failing("merge"), "b2", created_at=START + timedelta(minutes=2))
        yield gradebook


def test_score_matrix_best_fraction(book):
    matrix = score_matrix(book.find_attempts())
    softmax_points = make_result("softmax").points
    assert list(matrix.index) == ["ada", "bob"]
    assert list(matrix.columns) == [exercise.id for exercise in EXERCISES]
    assert matrix.loc["ada", "softmax"] == 1.0
    assert matrix.loc["bob", "softmax"] == pytest.approx(failing("softmax").earned / softmax_points)
    assert math.isnan(matrix.loc["ada", "merge"])


def test_score_matrix_lists_students_without_attempts(book):
    matrix = score_matrix(book.find_attempts(), students=["ada", "bob", "cy"])
    assert matrix.loc["cy"].isna().all()


def test_failing_checks_counts_failures_and_students(book):
    table = failing_checks(book.find_attempts())
    top = table.iloc[0]
    assert top["exercise"] == "softmax"
    assert top["failures"] == 2
    assert top["students"] == 2
    assert top["cause"] == "values"
    merge_rows = table[table["exercise"] == "merge"]
    assert set(merge_rows["failures"]) == {1}


def test_failing_checks_skip_unwritten_code(tmp_path):
    with Gradebook(default_url(tmp_path)) as gradebook:
        result = make_result("merge", [0] * len(make_result("merge").checks))
        for check in result.checks:
            check.cause = "not_implemented"
        gradebook.add_attempt("ada", result, "stub")
        assert failing_checks(gradebook.find_attempts()).empty


def test_shown_hints_counts(book):
    table = shown_hints(book.find_attempts())
    assert table.to_dict("records") == [{"exercise": "softmax", "hint": "subtract the max", "times": 2, "students": 2}]


def test_timeline_orders_by_time(book):
    table = timeline(book.find_attempts())
    assert list(table["student"]) == ["ada", "bob", "bob", "ada"]
    assert list(timeline(book.find_attempts(), "ada")["passed"]) == [False, True]


def test_poet_status_roundtrip(tmp_path):
    status = PoetStatus(state="training", step=120, max_steps=600, loss=2.31, updated_at="2026-03-02T09:05:00+00:00")
    write_poet_status(tmp_path, status)
    assert read_poet_status(tmp_path) == status


def test_poet_status_missing_or_broken(tmp_path):
    assert read_poet_status(tmp_path).state == "not started"
    (tmp_path / "poet_status.json").write_text("{not json")
    broken = read_poet_status(tmp_path)
    assert broken.state == "not started"
    assert "unreadable" in broken.message


def test_poet_status_rejects_unknown_state(tmp_path):
    with pytest.raises(ValueError, match="sleeping"):
        write_poet_status(tmp_path, PoetStatus(state="sleeping"))


def test_poet_states_one_row_per_student(tmp_path, book):
    room = Classroom(tmp_path, book)
    (room.workspaces / "ada").mkdir(parents=True)
    write_poet_status(room.workspaces / "ada", PoetStatus(state="trained", step=600, max_steps=600))
    table = poet_states(room, ["ada", "bob"])
    assert list(table["state"]) == ["trained", "not started"]


def test_export_csv_matches_nbgrader_export(book, tmp_path):
    book.update_or_create_student("ada", first_name="Ada", last_name="Lovelace", email="ada@example.org")
    ours = export_csv(book)
    theirs_path = tmp_path / "nbgrader.csv"
    CsvExportPlugin(to=str(theirs_path)).export(book.nbgrader)
    assert ours == theirs_path.read_text()


def test_export_csv_columns_and_values(book):
    lines = export_csv(book).splitlines()
    assert tuple(lines[0].split(",")) == EXPORT_COLUMNS
    rows = [dict(zip(EXPORT_COLUMNS, line.split(","))) for line in lines[1:]]
    ada_lesson4 = next(r for r in rows if r["student_id"] == "ada" and r["assignment"] == "lesson04")
    assert float(ada_lesson4["raw_score"]) == make_result("softmax").points
    assert float(ada_lesson4["score"]) == make_result("softmax").points
    lesson4_points = sum(make_result(e.id).points for e in EXERCISES if e.lesson == 4)
    assert float(ada_lesson4["max_score"]) == lesson4_points
    ada_lesson2 = next(r for r in rows if r["student_id"] == "ada" and r["assignment"] == "lesson02")
    assert ada_lesson2["timestamp"] == ""
    assert float(ada_lesson2["score"]) == 0.0
    assert len(rows) == 2 * len({e.lesson for e in EXERCISES})


def test_workspace_zip_access(tmp_path, book):
    room = Classroom(tmp_path, book)
    room.configure("poem-42", "correct horse battery")
    ada = room.sign_in_student("Ada", "poem-42", "ada-quill")
    room.sign_in_student("Bob", "poem-42", "bob-tiller")
    room.save_code(ada, "softmax", "# ada's code\n")
    teacher = room.sign_in_teacher("poem-42", "correct horse battery")
    with zipfile.ZipFile(io.BytesIO(workspace_zip(room, teacher, "ada"))) as archive:
        assert archive.read("ada/exercises/lesson04_attention.py") == b"# ada's code\n"
        assert any(name.startswith("ada/history/lesson04_attention/") for name in archive.namelist())
    assert workspace_zip(room, ada)
    with pytest.raises(AccessDenied):
        workspace_zip(room, ada, "bob")


def test_progress_heatmap_cells(book):
    matrix = score_matrix(book.find_attempts())
    figure = progress_heatmap(matrix)
    heatmap = figure.data[0]
    assert list(heatmap.y) == ["ada", "bob"]
    assert heatmap.z[0][list(matrix.columns).index("softmax")] == 1.0
    assert "not tried" in heatmap.text[0][list(matrix.columns).index("merge")]


def test_attempt_timeline_traces(book):
    figure = attempt_timeline(timeline(book.find_attempts()))
    passed, not_passed = figure.data
    assert len(passed.x) == 1
    assert len(not_passed.x) == 3



def test_progress_heatmap_leaves_room_for_labels(book):
    figure = progress_heatmap(score_matrix(book.find_attempts()))
    longest = max(len(exercise.id) for exercise in EXERCISES)
    # Estimate: a -45 degree label of n characters at 16 px with glyphs 0.55 em wide needs
    # n * 16 * 0.55 * sin(45 degrees) = 6.2 n px of height.
    assert figure.layout.margin.b >= 6.2 * longest
    assert figure.layout.height - figure.layout.margin.b >= 28 * 2


def test_timeline_range_single_check():
    single = pd.Series([pd.Timestamp("2026-03-02 09:00:00")])
    assert timeline_range(single) == [pd.Timestamp("2026-03-02 08:55:00"), pd.Timestamp("2026-03-02 09:05:00")]


def test_timeline_range_long_span_left_to_plotly():
    hour = pd.Series([pd.Timestamp("2026-03-02 09:00:00"), pd.Timestamp("2026-03-02 10:00:00")])
    assert timeline_range(hour) is None
    assert timeline_range(pd.Series([], dtype="datetime64[ns]")) is None


def test_attempt_timeline_one_check_spans_minutes(book):
    table = timeline(book.find_attempts(student_id="bob"))[:1]
    x_range = attempt_timeline(table).layout.xaxis.range
    start, end = (pd.Timestamp(value) for value in x_range)
    assert end - start == MIN_TIMELINE_SPAN
    assert start < pd.Timestamp(table["time"][0]) < end

def test_self_check_summary_uses_latest_answer():
    answers = [
        {"lesson_id": "attention", "question_id": "q1", "student_id": "ada", "correct": False},
        {"lesson_id": "attention", "question_id": "q1", "student_id": "ada", "correct": True},
        {"lesson_id": "attention", "question_id": "q1", "student_id": "bob", "correct": False},
        {"lesson_id": "bpe", "question_id": "q2", "student_id": "bob", "correct": True},
    ]
    rows = self_check_summary(answers).to_dict("records")
    assert rows == [
        {"lesson": "attention", "question": "q1", "students": 2, "correct now": 0.5},
        {"lesson": "bpe", "question": "q2", "students": 1, "correct now": 1.0},
    ]


def test_self_check_summary_empty():
    assert list(self_check_summary([]).columns) == ["lesson", "question", "students", "correct now"]


@pytest.mark.parametrize("columns, table", [(FAILING_COLUMNS, failing_checks), (HINT_COLUMNS, shown_hints)])
def test_teacher_column_order_keeps_every_column(book, columns, table):
    # st.dataframe hides every column that column_order leaves out.
    frame = table(book.find_attempts())
    assert sorted(columns) == sorted(frame.columns)
    count_columns = [name for name in columns if pd.api.types.is_numeric_dtype(frame[name])]
    text_columns = [name for name in columns if name not in count_columns and name != "exercise"]
    assert count_columns and text_columns
    assert max(columns.index(name) for name in count_columns) < min(columns.index(name) for name in text_columns)
