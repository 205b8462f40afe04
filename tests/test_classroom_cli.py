"""`python -m grader classroom` sets the secrets that classroom sign-in then accepts."""

from pathlib import Path

import pytest

from grader.__main__ import main
from grader.classroom_cli import redact_password, server_command
from grader.classroom import Classroom, SignInFailed
from grader.gradebook import Gradebook, default_url


def test_setup_then_sign_in(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_FROM_SCRATCH_TEACHER_PASSWORD", "correct horse")
    assert main(["classroom", "--class-code", "POEM42", "--course-dir", str(tmp_path)]) == 0
    assert "correct horse" not in capsys.readouterr().out

    with Gradebook(default_url(tmp_path)) as book:
        room = Classroom(tmp_path, book)
        assert room.sign_in_teacher("POEM42", "correct horse").student_id is None
        assert room.sign_in_student("Ada", "POEM42", "ada-quill").student_id == "ada"
        with pytest.raises(SignInFailed):
            room.sign_in_teacher("POEM42", "wrong password")


def test_short_password_rejected(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_FROM_SCRATCH_TEACHER_PASSWORD", "short")
    assert main(["classroom", "--class-code", "POEM42", "--course-dir", str(tmp_path)]) == 2
    assert "at least 8 characters" in capsys.readouterr().err


def test_course_dir_file_rejected(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_FROM_SCRATCH_TEACHER_PASSWORD", "correct horse")
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("keep me", encoding="utf-8")
    assert main(["classroom", "--class-code", "POEM42", "--course-dir", str(not_a_folder)]) == 2
    err = capsys.readouterr().err
    assert "--course-dir" in err
    assert "pass a folder you can write to" in err
    assert "Traceback" not in err
    assert not_a_folder.read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize("url, expected", [
    ("bogus://127.0.0.1/course", "check --database-url"),
    ("not a url", "check --database-url"),
])
def test_bad_database_url_gets_clear_error(url, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_FROM_SCRATCH_TEACHER_PASSWORD", "correct horse")
    assert main(["classroom", "--class-code", "POEM42", "--course-dir", str(tmp_path), "--database-url", url]) == 2
    assert expected in capsys.readouterr().err


def test_redact_password_masks_secret():
    assert redact_password("postgresql://ada:secret@127.0.0.1/course") == "postgresql://ada:***@127.0.0.1/course"


def test_server_command_names_course_dir(tmp_path):
    command = server_command(tmp_path)
    assert f"LLM_FROM_SCRATCH_COURSE_DIR={tmp_path.resolve()}" in command
    assert server_command(Path("/srv/class")) == (
        "LLM_FROM_SCRATCH_CLASSROOM=1 LLM_FROM_SCRATCH_COURSE_DIR=/srv/class streamlit run app.py"
    )


def test_database_url_variable_used(tmp_path, monkeypatch):
    database = tmp_path / "elsewhere.db"
    monkeypatch.setenv("LLM_FROM_SCRATCH_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("LLM_FROM_SCRATCH_TEACHER_PASSWORD", "correct horse")
    assert main(["classroom", "--class-code", "POEM42", "--course-dir", str(tmp_path / "course")]) == 0
    assert database.is_file()
    assert not (tmp_path / "course" / "course_data" / "gradebook.db").exists()
