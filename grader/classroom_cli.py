"""`python -m grader classroom`: set the class code and the teacher password for classroom mode.

The password is read from a prompt (or from $LLM_FROM_SCRATCH_TEACHER_PASSWORD for scripts),
never from the command line, where other users of the server could read it in the process list.
"""

import argparse
import getpass
import os
import sys
from pathlib import Path

from grader.classroom import Classroom
from grader.gradebook import Gradebook, default_url

PASSWORD_VARIABLE = "LLM_FROM_SCRATCH_TEACHER_PASSWORD"
REPOSITORY = Path(__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--class-code", required=True, help="the code students type to sign in (at least 4 characters)")
    parser.add_argument("--course-dir", type=Path, default=REPOSITORY,
                        help="folder whose course_data/ holds the gradebook and workspaces (default: this checkout)")
    parser.add_argument("--database-url", default=None,
                        help="SQLAlchemy URL of the gradebook (default: SQLite in COURSE_DIR/course_data/)")


def run(args: argparse.Namespace) -> int:
    password = os.environ.get(PASSWORD_VARIABLE)
    if password is None:
        password = getpass.getpass("teacher password (at least 8 characters): ")
        if getpass.getpass("the same password again: ") != password:
            print("error: the two passwords differ; nothing was changed", file=sys.stderr)
            return 2

    url = args.database_url or default_url(args.course_dir)
    with Gradebook(url) as book:
        try:
            Classroom(args.course_dir, book).configure(args.class_code, password)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    print(f"class code and teacher password set in {url}")
    print("start the server for the class with: LLM_FROM_SCRATCH_CLASSROOM=1 streamlit run app.py")
    return 0
