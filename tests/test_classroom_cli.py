"""`python -m grader classroom` sets the secrets that classroom sign-in then accepts."""

import pytest

from grader.__main__ import main
from grader.classroom import Classroom, SignInFailed
from grader.gradebook import Gradebook, default_url


def test_setup_then_sign_in(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_FROM_SCRATCH_TEACHER_PASSWORD", "correct horse")
    assert main(["classroom", "--class-code", "POEM42", "--course-dir", str(tmp_path)]) == 0
    assert "correct horse" not in capsys.readouterr().out

    with Gradebook(default_url(tmp_path)) as book:
        room = Classroom(tmp_path, book)
        assert room.sign_in_teacher("POEM42", "correct horse").student_id is None
        assert room.sign_in_student("Ada", "POEM42").student_id == "ada"
        with pytest.raises(SignInFailed):
            room.sign_in_teacher("POEM42", "wrong password")


def test_short_password_rejected(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LLM_FROM_SCRATCH_TEACHER_PASSWORD", "short")
    assert main(["classroom", "--class-code", "POEM42", "--course-dir", str(tmp_path)]) == 2
    assert "at least 8 characters" in capsys.readouterr().err
