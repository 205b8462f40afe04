"""Classroom mode: sign-in, name rules, workspaces, saving code, authorization and checks."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from grader.catalog import BY_ID
import grader.classroom
from grader.classroom import (SIGN_IN_FAILED, AccessDenied, Classroom, SignInFailed, hash_secret, local_identity,
                              normalize_student_id, student_password_setting, verify_secret)
from grader.gradebook import Gradebook, MissingEntry, default_url
from grader.notebooks import imports_source, solution_source
from grader.pool import WorkerPool
from tests.test_gradebook import database_url  # noqa: F401  (fixture: SQLite, and PostgreSQL when configured)

CLASS_CODE = "poem-42"
TEACHER_PASSWORD = "correct horse battery"
ADA_PASSWORD = "ada-quill"
BOB_PASSWORD = "bob-tiller"


@pytest.fixture
def classroom(tmp_path):
    with Gradebook(default_url(tmp_path)) as book:
        room = Classroom(tmp_path, book)
        room.configure(CLASS_CODE, TEACHER_PASSWORD)
        yield room


def solved_lesson_file(exercise_id: str) -> str:
    """A lesson file whose `exercise_id` is the reference solution, as the notebooks build it."""
    function = BY_ID[exercise_id].reference
    return imports_source(function) + "\n\n\n" + solution_source(function) + "\n"


def test_normalize_student_id_example():
    assert normalize_student_id("  Ada  Lovelace ") == "ada-lovelace"


@pytest.mark.parametrize("name, expected", [
    ("Ada", "ada"),
    ("Jean-Luc Picard", "jean-luc-picard"),
    ("Zoë Ölmez", "zoë-ölmez"),
    ("李雷", "李雷"),
    ("o'brien_2", "o-brien-2"),
])
def test_normalize_student_id_keeps_letters(name, expected):
    assert normalize_student_id(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "../teacher", "a/b", "a\\b", "x" * 41, "tab\x07bell", "!!!", "..."])
def test_normalize_student_id_rejects(name):
    with pytest.raises(ValueError, match="name"):
        normalize_student_id(name)


def test_secret_hash_salted_and_verifiable():
    first, second = hash_secret("poem-42"), hash_secret("poem-42")
    assert first != second
    assert first.startswith("scrypt$")
    assert "poem-42" not in first
    assert verify_secret("poem-42", first)
    assert not verify_secret("poem-43", first)


def test_configure_stores_only_hashes(classroom):
    stored = [classroom.gradebook.find_setting(key) for key in
              ("classroom.class_code_hash", "classroom.teacher_password_hash")]
    assert all(value.startswith("scrypt$") for value in stored)
    assert not any(CLASS_CODE in value or TEACHER_PASSWORD in value for value in stored)


def test_configure_rejects_short_secrets(classroom):
    with pytest.raises(ValueError, match="at least 4"):
        classroom.configure("abc", TEACHER_PASSWORD)
    with pytest.raises(ValueError, match="at least 8"):
        classroom.configure(CLASS_CODE, "short")


def test_secrets_never_logged(tmp_path, caplog):
    with caplog.at_level(logging.DEBUG):
        with Gradebook(default_url(tmp_path)) as book:
            room = Classroom(tmp_path, book)
            room.configure(CLASS_CODE, TEACHER_PASSWORD)
            room.sign_in_teacher(CLASS_CODE, TEACHER_PASSWORD)
            with pytest.raises(SignInFailed):
                room.sign_in_teacher(CLASS_CODE, "wrong password")
            room.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
            with pytest.raises(SignInFailed):
                room.sign_in_student("Ada", CLASS_CODE, "wrong-quill")
    messages = [record.getMessage() for record in caplog.records]
    assert any("rejected for ada" in message for message in messages)
    for secret in (CLASS_CODE, TEACHER_PASSWORD, ADA_PASSWORD, "wrong-quill"):
        assert not any(secret in message for message in messages), secret


@pytest.mark.parametrize("code, password", [
    ("wrong-code", TEACHER_PASSWORD),
    (CLASS_CODE, "wrong password"),
    ("wrong-code", "wrong password"),
])
def test_teacher_wrong_secret_same_message(classroom, code, password):
    with pytest.raises(SignInFailed) as raised:
        classroom.sign_in_teacher(code, password)
    assert str(raised.value) == SIGN_IN_FAILED


def test_student_wrong_code_same_message(classroom):
    with pytest.raises(SignInFailed) as raised:
        classroom.sign_in_student("Ada", "wrong-code", ADA_PASSWORD)
    assert str(raised.value) == SIGN_IN_FAILED


def test_sign_in_before_configure_fails(tmp_path):
    with Gradebook(default_url(tmp_path)) as book:
        with pytest.raises(SignInFailed):
            Classroom(tmp_path, book).sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)


def test_student_password_setting_example():
    assert student_password_setting("ada-lovelace") == "classroom.student_password.ada-lovelace"


def test_first_sign_in_stores_password_hash(classroom):
    classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    stored = classroom.gradebook.find_setting("classroom.student_password.ada")
    assert stored.startswith("scrypt$")
    assert ADA_PASSWORD not in stored
    assert verify_secret(ADA_PASSWORD, stored)


def test_second_sign_in_needs_same_password(classroom):
    first = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    classroom.save_code(first, "softmax", "# ada's draft\n")
    again = classroom.sign_in_student("ada", CLASS_CODE, ADA_PASSWORD)
    assert again.workspace == first.workspace
    assert classroom.load_code(again, "softmax") == "# ada's draft\n"


def test_wrong_password_same_message(classroom):
    classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    with pytest.raises(SignInFailed) as wrong_code:
        classroom.sign_in_student("Ada", "wrong-code", ADA_PASSWORD)
    with pytest.raises(SignInFailed) as wrong_password:
        classroom.sign_in_student("Ada", CLASS_CODE, "not-ada's")
    assert str(wrong_password.value) == str(wrong_code.value)
    assert str(wrong_password.value) == SIGN_IN_FAILED


@pytest.mark.parametrize("password", ["", "abc"])
def test_short_student_password_rejected(classroom, password):
    with pytest.raises(ValueError, match="at least 4 characters") as raised:
        classroom.sign_in_student("Ada", CLASS_CODE, password)
    assert f"got {len(password)}" in str(raised.value)
    with pytest.raises(MissingEntry):
        classroom.gradebook.find_setting(student_password_setting("ada"))
    assert not (classroom.workspaces / "ada").exists()


def test_student_password_must_be_str(classroom):
    with pytest.raises(TypeError, match="password must be a str"):
        classroom.sign_in_student("Ada", CLASS_CODE, None)


def test_concurrent_first_sign_ins_one_wins(database_url, tmp_path, monkeypatch):
    with Gradebook(database_url) as book:
        room = Classroom(tmp_path, book)
        room.configure(CLASS_CODE, TEACHER_PASSWORD)
        # Both threads wait here after hashing, so both have found no stored password before
        # either stores its own. This is the race that add_setting must settle.
        both_hashed = threading.Barrier(2, timeout=30)
        real_hash_secret = grader.classroom.hash_secret

        def hash_then_wait(secret, salt=None):
            digest = real_hash_secret(secret, salt)
            both_hashed.wait()
            return digest

        monkeypatch.setattr(grader.classroom, "hash_secret", hash_then_wait)
        passwords = ["cleo-first", "cleo-second"]
        outcomes = {}

        def sign_in(password):
            try:
                room.sign_in_student("Cleo", CLASS_CODE, password)
                outcomes[password] = "signed in"
            except SignInFailed:
                outcomes[password] = "rejected"

        threads = [threading.Thread(target=sign_in, args=(password,)) for password in passwords]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        monkeypatch.undo()

        assert sorted(outcomes.values()) == ["rejected", "signed in"]
        winner = next(password for password, outcome in outcomes.items() if outcome == "signed in")
        loser = next(password for password in passwords if password != winner)
        assert room.sign_in_student("Cleo", CLASS_CODE, winner).student_id == "cleo"
        with pytest.raises(SignInFailed):
            room.sign_in_student("Cleo", CLASS_CODE, loser)


def test_reset_allows_new_password(classroom):
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    classroom.save_code(ada, "softmax", "# saved before the reset\n")
    teacher = classroom.sign_in_teacher(CLASS_CODE, TEACHER_PASSWORD)
    classroom.reset_student_password(teacher, "ada")

    again = classroom.sign_in_student("Ada", CLASS_CODE, "new-quill")
    assert classroom.load_code(again, "softmax") == "# saved before the reset\n"
    with pytest.raises(SignInFailed):
        classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    assert classroom.sign_in_student("Ada", CLASS_CODE, "new-quill").workspace == ada.workspace


def test_student_cannot_reset_password(classroom):
    classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    bob = classroom.sign_in_student("Bob", CLASS_CODE, BOB_PASSWORD)
    with pytest.raises(AccessDenied):
        classroom.reset_student_password(bob, "ada")
    with pytest.raises(AccessDenied):
        classroom.reset_student_password(bob, "bob")
    with pytest.raises(SignInFailed):
        classroom.sign_in_student("Ada", CLASS_CODE, "bob's-guess")
    classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)


def test_reset_unknown_student_rejected(classroom):
    teacher = classroom.sign_in_teacher(CLASS_CODE, TEACHER_PASSWORD)
    with pytest.raises(MissingEntry, match="no student 'nobody'"):
        classroom.reset_student_password(teacher, "nobody")


def test_student_without_password_claims_one(classroom):
    # A student from before student passwords has a workspace with saved code but no stored password.
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    classroom.save_code(ada, "softmax", "# from last week\n")
    classroom.gradebook.remove_setting(student_password_setting("ada"))
    classroom.gradebook.add_student("grace", first_name="Grace")

    teacher = classroom.sign_in_teacher(CLASS_CODE, TEACHER_PASSWORD)
    classroom.reset_student_password(teacher, "grace")  # nothing stored yet, so nothing to remove

    again = classroom.sign_in_student("Ada", CLASS_CODE, "claimed-now")
    assert classroom.load_code(again, "softmax") == "# from last week\n"
    with pytest.raises(SignInFailed):
        classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    classroom.sign_in_student("Grace", CLASS_CODE, "grace-claims")
    with pytest.raises(SignInFailed):
        classroom.sign_in_student("Grace", CLASS_CODE, "someone-else")


def test_student_workspace_copied_from_stubs(classroom, tmp_path):
    ada = classroom.sign_in_student("Ada Lovelace", CLASS_CODE, ADA_PASSWORD)
    assert ada.workspace.root == tmp_path / "course_data" / "workspaces" / "ada-lovelace"
    stub = (classroom.stubs / "lesson04_attention.py").read_text()
    assert classroom.load_code(ada, "softmax") == stub
    assert classroom.gradebook.find_student("ada-lovelace")["first_name"] == "Ada Lovelace"


def test_saved_code_survives_restart_and_sign_in(classroom, tmp_path):
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    classroom.save_code(ada, "softmax", "# version 1\n")
    with Gradebook(default_url(tmp_path)) as book:
        again = Classroom(tmp_path, book).sign_in_student("ada", CLASS_CODE, ADA_PASSWORD)
        assert Classroom(tmp_path, book).load_code(again, "softmax") == "# version 1\n"


def test_save_keeps_every_previous_version(classroom):
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    stub = classroom.load_code(ada, "softmax")
    for version in ("# v1\n", "# v2\n", "# v3\n"):
        classroom.save_code(ada, "softmax", version)
    kept = sorted(p.read_text() for p in (ada.workspace.history / "lesson04_attention").iterdir())
    assert kept == sorted([stub, "# v1\n", "# v2\n"])
    assert classroom.load_code(ada, "softmax") == "# v3\n"
    assert not [p for p in ada.workspace.exercises.iterdir() if p.name.startswith(".")]


def test_save_rejects_oversized_code(classroom):
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    with pytest.raises(ValueError, match="bytes"):
        classroom.save_code(ada, "softmax", "#" * (256 * 1024 + 1))


def test_save_rejects_unknown_exercise(classroom):
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    with pytest.raises(ValueError, match="no_such"):
        classroom.save_code(ada, "no_such", "")


def test_student_cannot_read_or_write_another_workspace(classroom):
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    bob = classroom.sign_in_student("Bob", CLASS_CODE, BOB_PASSWORD)
    classroom.save_code(bob, "softmax", "# bob's secret\n")
    with pytest.raises(AccessDenied):
        classroom.load_code(ada, "softmax", student_id="bob")
    with pytest.raises(AccessDenied):
        classroom.save_code(ada, "softmax", "# overwritten\n", student_id="bob")
    with pytest.raises(AccessDenied):
        classroom.progress(ada, student_id="bob")
    assert classroom.load_code(bob, "softmax") == "# bob's secret\n"


def test_student_cannot_open_dashboard(classroom):
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    with pytest.raises(AccessDenied, match="teacher"):
        classroom.require_teacher(ada)
    classroom.require_teacher(classroom.sign_in_teacher(CLASS_CODE, TEACHER_PASSWORD))


def test_teacher_reads_any_workspace(classroom):
    bob = classroom.sign_in_student("Bob", CLASS_CODE, BOB_PASSWORD)
    classroom.save_code(bob, "softmax", "# bob\n")
    teacher = classroom.sign_in_teacher(CLASS_CODE, TEACHER_PASSWORD)
    assert classroom.load_code(teacher, "softmax", student_id="bob") == "# bob\n"


@pytest.mark.slow
def test_check_grades_workspace_and_records_attempt(classroom):
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    with WorkerPool(size=1, hidden_paths=classroom.hidden_paths()) as pool:
        stub_result = classroom.check(ada, "softmax", pool)
        classroom.save_code(ada, "softmax", solved_lesson_file("softmax"))
        solved_result = classroom.check(ada, "softmax", pool)
    assert stub_result.earned == 0
    assert solved_result.passed
    attempts = classroom.progress(ada)
    assert [a.earned for a in attempts] == [0, solved_result.points]
    assert classroom.gradebook.find_scores("ada")["softmax"] == (solved_result.points, solved_result.points)


def test_local_identity_uses_checkout(tmp_path):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "lesson04_attention.py").write_text("# mine\n")
    with Gradebook(default_url(tmp_path)) as book:
        room = Classroom(tmp_path, book)
        me = local_identity(tmp_path)
        assert room.load_code(me, "softmax") == "# mine\n"
        room.save_code(me, "softmax", "# changed\n")
        assert (tmp_path / "exercises" / "lesson04_attention.py").read_text() == "# changed\n"


@pytest.mark.slow
def test_check_hides_other_workspaces_from_student_code(classroom):
    ada = classroom.sign_in_student("Ada", CLASS_CODE, ADA_PASSWORD)
    bob = classroom.sign_in_student("Bob", CLASS_CODE, BOB_PASSWORD)
    classroom.save_code(bob, "softmax", "BOB_SECRET = 1\n")
    target = bob.workspace.root / "exercises" / "lesson04_attention.py"
    spying = solved_lesson_file("softmax").replace(
        "    ### BEGIN SOLUTION", f"    print(open({str(target)!r}).read())\n    ### BEGIN SOLUTION", 1)
    classroom.save_code(ada, "softmax", spying)
    with WorkerPool(size=1, hidden_paths=classroom.hidden_paths()) as pool:
        result = classroom.check(ada, "softmax", pool)
    assert result.earned == 0
    assert not any("BOB_SECRET" in check.message for check in result.checks)


def sidebar_sign_in_app(tmp_path, monkeypatch):
    """Return an AppTest of the app in classroom mode over a configured class in `tmp_path`."""
    from streamlit.testing.v1 import AppTest

    with Gradebook(default_url(tmp_path)) as book:
        Classroom(tmp_path, book).configure(CLASS_CODE, TEACHER_PASSWORD)
    monkeypatch.setenv("LLM_FROM_SCRATCH_CLASSROOM", "1")
    monkeypatch.setenv("LLM_FROM_SCRATCH_COURSE_DIR", str(tmp_path))
    app_path = str(Path(__file__).resolve().parent.parent / "app.py")
    return AppTest.from_file(app_path, default_timeout=60).run()


def test_student_sign_in_error_above_fields(tmp_path, monkeypatch):
    app = sidebar_sign_in_app(tmp_path, monkeypatch)
    app.text_input(key="account.name").input("Ada")
    app.text_input(key="account.class_code").input("wrong-code")
    app.text_input(key="account.student_password").input(ADA_PASSWORD)
    app.button(key="account.sign_in").click().run()

    form = next(iter(app.sidebar.children.values()))
    kinds = [type(child).__name__ for child in form.children.values()]
    assert kinds[0] == "Error"
    assert form.children[0].value == SIGN_IN_FAILED
    assert kinds.index("TextInput") == 1


def test_teacher_sign_in_error_in_expander(tmp_path, monkeypatch):
    app = sidebar_sign_in_app(tmp_path, monkeypatch)
    app.text_input(key="account.teacher_class_code").input(CLASS_CODE)
    app.text_input(key="account.teacher_password").input("wrong password")
    app.button(key="account.teacher_sign_in").click().run()

    teacher_box = app.sidebar.expander[0]
    assert [error.value for error in teacher_box.error] == [SIGN_IN_FAILED]
    assert [error.value for error in app.sidebar.error] == [SIGN_IN_FAILED]
