"""`python -m grader classroom`: set the class code and the teacher password for classroom mode.

The password is read from a prompt (or from $LLM_FROM_SCRATCH_TEACHER_PASSWORD for scripts),
never from the command line, where other users of the server could read it in the process list.
"""

import argparse
import getpass
import os
import shlex
import sys
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from grader.classroom import Classroom
from grader.gradebook import Gradebook, GradebookError, configured_url

PASSWORD_VARIABLE = "LLM_FROM_SCRATCH_TEACHER_PASSWORD"
REPOSITORY = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--class-code", required=True, help="the code students type to sign in (at least 4 characters)")
    parser.add_argument("--course-dir", type=Path, default=REPOSITORY,
                        help="folder whose course_data/ contains the gradebook and workspaces (default: this checkout)")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL of the gradebook (default: $LLM_FROM_SCRATCH_DATABASE_URL, else SQLite in COURSE_DIR/course_data/); the app reads the same variable")


def run(args: argparse.Namespace) -> int:
    password = os.environ.get(PASSWORD_VARIABLE)
    if password is None:
        password = getpass.getpass("teacher password (at least 8 characters): ")
        if getpass.getpass("the same password again: ") != password:
            print("error: the two passwords differ; nothing was changed", file=sys.stderr)
            return 2

    url = args.database_url or configured_url(args.course_dir)
    try:
        book = Gradebook(url)
    except (OSError, ImportError, SQLAlchemyError, GradebookError) as error:
        print(f"error: {gradebook_open_error(error, args.course_dir, url)}", file=sys.stderr)
        return 2

    with book:
        try:
            Classroom(args.course_dir, book).configure(args.class_code, password)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    print(f"class code and teacher password set in {redact_password(url)}")
    print(f"start the server for the class with: {server_command(args.course_dir)}")
    if args.database_url:
        print("and set LLM_FROM_SCRATCH_DATABASE_URL to the same --database-url for that server")
    return 0


def gradebook_open_error(error: Exception, course_dir: Path, url: str) -> str:
    """Return the message for a gradebook that failed to open, naming the option to change."""
    if isinstance(error, OSError):
        return (f"cannot create the gradebook under --course-dir {course_dir} "
                f"({error.strerror}: {error.filename}); pass a folder you can write to")
    if isinstance(error, ImportError):
        return (f"the database driver for {redact_password(url)} is not installed ({error}); "
                f"install it into this environment, or leave out --database-url to use SQLite")
    return f"cannot open the gradebook at {redact_password(url)} ({error}); check --database-url"


def redact_password(url: str) -> str:
    """Return `url` with any password masked, for messages.

    >>> redact_password("postgresql://ada:secret@127.0.0.1/course")
    'postgresql://ada:***@127.0.0.1/course'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (SQLAlchemyError, ValueError):
        return "the given --database-url"


def server_command(course_dir: Path) -> str:
    """Return the shell command that starts the app on `course_dir`'s gradebook.

    >>> server_command(Path("/srv/class"))
    'LLM_FROM_SCRATCH_CLASSROOM=1 LLM_FROM_SCRATCH_COURSE_DIR=/srv/class streamlit run app.py'
    """
    # The app reads its course folder from this variable; without it a server started from a
    # checkout opens the checkout's gradebook, where this class code was never set.
    if course_dir.resolve() == REPOSITORY:
        return "LLM_FROM_SCRATCH_CLASSROOM=1 streamlit run app.py"
    return f"LLM_FROM_SCRATCH_CLASSROOM=1 LLM_FROM_SCRATCH_COURSE_DIR={shlex.quote(str(course_dir.resolve()))} streamlit run app.py"
