"""Sign-in tokens that let a classroom sign-in survive a page reload."""

from pathlib import Path

import pytest

from course.session_tokens import COOKIE_NAME, SessionTokens, clear_cookie_script, set_cookie_script
from grader.classroom import Identity, Workspace


class FakeClock:
    """A clock the test moves by hand, so expiry is checked without waiting."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def student(name: str) -> Identity:
    return Identity(name, Workspace(name, Path(f"/srv/class/{name}")))


def test_token_restores_its_identity_only():
    tokens = SessionTokens()
    ada, teacher = student("ada"), Identity(None, None)
    ada_token, teacher_token = tokens.issue(ada), tokens.issue(teacher)
    assert ada_token != teacher_token
    assert len(ada_token) >= 40  # 32 random bytes, URL-safe base64
    assert tokens.restore(ada_token) is ada
    assert tokens.restore(teacher_token) is teacher
    assert tokens.restore("forged-token") is None
    assert tokens.restore(None) is None
    assert tokens.restore(12345) is None


def test_token_expires_after_lifetime():
    clock = FakeClock()
    tokens = SessionTokens(lifetime_s=60, clock=clock)
    token = tokens.issue(student("ada"))
    clock.now += 59
    assert tokens.restore(token) is not None
    clock.now += 1
    assert tokens.restore(token) is None


def test_revoke_forgets_one_token():
    tokens = SessionTokens()
    first, second = tokens.issue(student("ada")), tokens.issue(student("ada"))
    tokens.revoke(first)
    tokens.revoke(None)  # a session that never signed in has no token
    assert tokens.restore(first) is None
    assert tokens.restore(second) is not None


def test_revoke_student_forgets_every_token_of_that_student():
    tokens = SessionTokens()
    ada_tokens = [tokens.issue(student("ada")) for _ in range(3)]
    grace = tokens.issue(student("grace"))
    teacher = tokens.issue(Identity(None, None))
    assert tokens.revoke_student("ada") == 3
    assert all(tokens.restore(token) is None for token in ada_tokens)
    assert tokens.restore(grace) is not None
    assert tokens.restore(teacher) is not None


def test_lifetime_must_be_positive():
    with pytest.raises(ValueError, match="lifetime_s must be > 0 seconds, got 0"):
        SessionTokens(lifetime_s=0)


def test_cookie_scripts_set_and_clear_the_cookie():
    assert "max-age=60" in set_cookie_script("abc", 60)
    script = set_cookie_script("abc", 3600)
    assert f"{COOKIE_NAME}=abc;" in script
    assert "SameSite=Strict" in script
    assert "path=/" in script
    assert f"{COOKIE_NAME}=;" in clear_cookie_script()
    assert "max-age=0" in clear_cookie_script()
