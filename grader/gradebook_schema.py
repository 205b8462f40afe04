"""The gradebook's own tables, which sit beside nbgrader's in the same database.

nbgrader stores one score per graded cell and submission, so it cannot hold a history. These
tables keep every check run (an attempt): who, which exercise, when, the result of each check,
the hints shown and the sha256 of the code. They use their own declarative base, so
`Base.metadata.create_all` on nbgrader's engine adds them without touching nbgrader's schema.

Deliberately left out: migrations. A later change to these tables needs an alembic revision of
its own, separate from nbgrader's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    """Declarative base of the course's tables (nbgrader's models use a base of their own)."""


class Attempt(Base):
    """One press of Check on one exercise by one student."""

    __tablename__ = "course_attempt"

    # A uuid4 chosen by the caller before the first try, so a retried write stores it once.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128), index=True)
    exercise_id: Mapped[str] = mapped_column(String(128), index=True)
    lesson: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    code_sha256: Mapped[str] = mapped_column(String(64))
    earned: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    hints_shown: Mapped[list] = mapped_column(JSON, default=list)
    checks: Mapped[list[CheckRun]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", order_by="CheckRun.position")

    @property
    def passed(self) -> bool:
        return self.earned == self.points


class CheckRun(Base):
    """The result of one check within an attempt."""

    __tablename__ = "course_check_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attempt_id: Mapped[str] = mapped_column(ForeignKey("course_attempt.id", ondelete="CASCADE"), index=True)
    # Index of the check in `grader.grading.build_checks`, which is also its graded cell's index.
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(256))
    points: Mapped[int] = mapped_column(Integer)
    earned: Mapped[int] = mapped_column(Integer)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    cause: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    attempt: Mapped[Attempt] = relationship(back_populates="checks")


class SelfCheckAnswer(Base):
    """One answer to a lesson's self-check question, graded on the spot by the lesson page."""

    __tablename__ = "course_self_check_answer"

    # A uuid4 chosen by the caller, so a retried write stores the answer once.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    student_id: Mapped[str] = mapped_column(String(128), index=True)
    lesson_id: Mapped[str] = mapped_column(String(128), index=True)
    question_id: Mapped[str] = mapped_column(String(128))
    answer: Mapped[str] = mapped_column(Text)
    correct: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class Setting(Base):
    """One course setting, such as the class code's salted hash (never the plain secret)."""

    __tablename__ = "course_setting"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
