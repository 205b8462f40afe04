"""Command line: `python -m grader.notebooks_cli OUT_DIR` writes the nbgrader source notebooks.

OUT_DIR becomes an nbgrader course folder: `OUT_DIR/source/lessonNN/<exercise>.ipynb`. Run
`nbgrader generate_assignment lessonNN` inside it to make the student version.
"""

import argparse
import logging
import sys
from pathlib import Path

from grader.notebooks import write_source


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the notebooks subcommand's arguments to `parser` (shared with `python -m grader`)."""
    parser.add_argument("out_dir", type=Path, help="nbgrader course folder to write source/lessonNN/ into")
    parser.add_argument("--force", action="store_true",
                        help="replace source notebooks that already exist, with any edits made to them")


def run(args: argparse.Namespace) -> int:
    existing = sorted((args.out_dir / "source").glob("lesson*/*.ipynb"))
    if existing and not args.force:
        print(f"error: {args.out_dir / 'source'} already contains {len(existing)} notebooks "
              f"(first: {existing[0]}); writing would replace them and any edits made to them. "
              f"Pass --force to replace them, or choose another folder", file=sys.stderr)
        return 2

    try:
        paths = write_source(args.out_dir)
    except OSError as error:
        print(f"error: cannot write notebooks under {args.out_dir} ({error.strerror}: {error.filename}); "
              f"pass a folder you can write to", file=sys.stderr)
        return 2

    lessons = sorted({path.parent.name for path in paths})
    print(f"wrote {len(paths)} notebooks in {len(lessons)} assignments under {args.out_dir / 'source'}")
    print(f"next: cd {args.out_dir} && nbgrader generate_assignment {lessons[0]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.notebooks_cli",
                                     description="Write one nbgrader source notebook per exercise.")
    add_arguments(parser)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
