"""Command line: `python -m grader check EXERCISE`, `--all`, `--json`, `--solutions reference`, and
`python -m grader notebooks OUT_DIR` for the nbgrader source notebooks, and
`python -m grader classroom --class-code CODE` to set up classroom mode."""

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from grader import classroom_cli, notebooks_cli
from grader.catalog import BY_ID, EXERCISES
from grader.grading import WorkspaceError, grade, read_workspace, solution_files
from grader.pool import Limits, WorkerPool
from grader.report import to_json, to_text

REPOSITORY = Path(__file__).resolve().parents[1]


def build_parser() -> argparse.ArgumentParser:
    listing = "\n".join(f"  {e.id:30} lesson {e.lesson}: {e.title} ({e.stub_path})" for e in EXERCISES)
    parser = argparse.ArgumentParser(
        prog="python -m grader", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Check exercises against the reference implementation.",
        epilog=f"exercises:\n{listing}")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="grade one exercise or all of them",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=f"exercises:\n{listing}")
    check.add_argument("exercise", nargs="?", help="exercise id (see the list below)")
    check.add_argument("--all", action="store_true", help="grade every exercise")
    check.add_argument("--json", action="store_true", help="print the results as JSON")
    check.add_argument("--path", type=Path, default=REPOSITORY,
                       help="folder that contains the student's exercises/ folder (default: this repository)")
    check.add_argument("--solutions", choices=["reference"],
                       help="grade the reference itself, laid out as a student's exercises/ folder")
    check.add_argument("--timeout", type=float, default=Limits.timeout_s, help="seconds per call (default %(default)s)")
    check.add_argument("--no-sandbox", action="store_true", help="run without bubblewrap even where it works")

    notebooks = commands.add_parser("notebooks", help="write the nbgrader source notebooks, one per exercise")
    notebooks_cli.add_arguments(notebooks)

    classroom = commands.add_parser("classroom", help="set the class code and teacher password for classroom mode")
    classroom_cli.add_arguments(classroom)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "notebooks":
        return notebooks_cli.run(args)
    if args.command == "classroom":
        return classroom_cli.run(args)
    if args.all == bool(args.exercise):
        print("give one exercise id or --all; `python -m grader check --help` lists the exercises", file=sys.stderr)
        return 2
    if args.exercise and args.exercise not in BY_ID:
        print(f"unknown exercise {args.exercise!r}; choose one of: {', '.join(BY_ID)}", file=sys.stderr)
        return 2

    # `not > 0` also rejects NaN; a zero or negative limit would fail every call as a timeout.
    if not args.timeout > 0:
        print(f"--timeout must be > 0 seconds, got {args.timeout}; pass the seconds one call may take "
              f"(default {Limits.timeout_s})", file=sys.stderr)
        return 2

    ids = list(BY_ID) if args.all else [args.exercise]
    if args.solutions:
        files = solution_files()
    else:
        folder = args.path / "exercises"
        if not folder.is_dir():
            print(f"no exercises/ folder in {args.path}; pass --path to the folder that contains it", file=sys.stderr)
            return 2
        try:
            files = {f"exercises/{name}": source for name, source in read_workspace(folder).items()}
        except WorkspaceError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

        missing = sorted({BY_ID[exercise_id].stub_path for exercise_id in ids} - set(files))
        if missing:
            print(f"{', '.join(missing)} not found in {args.path}; copy the missing files from the "
                  f"course's exercises/ folder", file=sys.stderr)
            return 2

    with WorkerPool(size=2, sandbox=False if args.no_sandbox else None, limits=Limits(timeout_s=args.timeout)) as pool:
        results = grade(ids, files, pool)
    print(to_json(results) if args.json else to_text(results))
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
