"""The nbgrader assignments: notebook layout, and generate_assignment -> autograde -> gradebook."""

from __future__ import annotations

import nbformat
import pytest

from grader.__main__ import main as grader_main
from grader.catalog import BY_ID, EXERCISES
from grader.gradebook import Gradebook
from grader.grading import grade
from grader.notebook_checks import module_source
from grader.nbgrader_run import BEGIN, END, complete_with_solution, nbgrader_environment, run_nbgrader
from grader.notebooks import assignment_name, build_notebook, check_cell_name, planned_cells, write_source
from grader.pool import WorkerPool



def test_assignment_name_example():
    assert assignment_name(4) == "lesson04"


def test_check_cell_name_example():
    assert check_cell_name(3) == "check-3"


def test_module_source_example():
    history = ["", "from __future__ import annotations\nx = 1", "assert_check  # from grader.notebook_checks import"]
    assert module_source(history) == "from __future__ import annotations\n\nx = 1"


def test_module_source_drops_cells_that_do_not_compile():
    assert module_source(["def f(:\n", "y = 2"]) == "from __future__ import annotations\n\ny = 2"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.id)
def test_notebook_graded_cells_match_checks(exercise):
    notebook = build_notebook(exercise)
    graded = [c.metadata["nbgrader"] for c in notebook.cells if c.metadata["nbgrader"]["grade"]]
    planned = [c for c in planned_cells(exercise) if c.points is not None]
    assert [g["grade_id"] for g in graded] == [check_cell_name(i) for i in range(len(planned))]
    assert [g["points"] for g in graded] == [c.points for c in planned]
    solutions = [c for c in notebook.cells if c.metadata["nbgrader"]["solution"]]
    assert len(solutions) == 1
    assert BEGIN in solutions[0].source
    assert END in solutions[0].source
    nbformat.validate(notebook)


@pytest.mark.slow
def test_every_solution_notebook_passes_grader(tmp_path):
    """The solution cells, joined as a test cell joins them, pass every check of their exercise."""
    paths = write_source(tmp_path)
    assert len(paths) == len(EXERCISES)
    lesson_cells: dict[str, list[str]] = {}
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        lesson_cells.setdefault(BY_ID[path.stem].stub_path, []).extend(
            c.source for c in notebook.cells if c.cell_type == "code")
    # One lesson file per lesson, as a student's exercises/ folder has, so one grading job covers all.
    files = {"exercises/__init__.py": "", **{path: module_source(cells) for path, cells in lesson_cells.items()}}
    with WorkerPool(size=1, sandbox=False) as pool:
        results = grade([path.stem for path in paths], files, pool)
    failures = {r.id: [c.message for c in r.checks if c.earned < c.points] for r in results if not r.passed}
    assert failures == {}


@pytest.mark.slow
def test_generate_autograde_writes_same_gradebook(tmp_path):
    course = tmp_path / "course"
    write_source(course)
    solved, unsolved = "utf8_bytes", "char_encode"  # lesson 1: one notebook filled in, one left as given
    lesson = assignment_name(BY_ID[solved].lesson)
    database = f"sqlite:///{course / 'gradebook.db'}"

    # Classroom mode wrote an attempt before the teacher generated the assignment.
    source_text = module_source([c.source for c in nbformat.read(
        course / "source" / lesson / f"{solved}.ipynb", as_version=4).cells if c.cell_type == "code"])
    with WorkerPool(size=1, sandbox=False) as pool:
        direct = grade([solved], {"exercises/__init__.py": "", BY_ID[solved].stub_path: source_text}, pool)[0]
    with Gradebook(database) as book:
        book.add_attempt("ada", direct, source_text)

    environment = nbgrader_environment(tmp_path)
    run_nbgrader(course, environment, "generate_assignment", lesson, "--force")
    released = nbformat.read(course / "release" / lesson / f"{solved}.ipynb", as_version=4)
    student_solution = next(c.source for c in released.cells if c.metadata["nbgrader"].get("solution"))
    assert "raise NotImplementedError" in student_solution
    assert "encode(" not in student_solution

    submitted = course / "submitted" / "bob" / lesson
    submitted.mkdir(parents=True)
    source = nbformat.read(course / "source" / lesson / f"{solved}.ipynb", as_version=4)
    nbformat.write(complete_with_solution(released, source), submitted / f"{solved}.ipynb")
    nbformat.write(nbformat.read(course / "release" / lesson / f"{unsolved}.ipynb", as_version=4),
                   submitted / f"{unsolved}.ipynb")
    run_nbgrader(course, environment, "autograde", lesson, "--force", "--ExecutePreprocessor.kernel_name=python3",
              "--ExecutePreprocessor.timeout=120")

    with Gradebook(database) as book:
        bob, ada = book.find_scores("bob"), book.find_scores("ada")
    assert bob[solved] == (direct.points, direct.points)
    assert bob[solved] == ada[solved]
    assert bob[unsolved][0] == 0.0


def test_notebooks_command_keeps_edited_notebooks(tmp_path, capsys):
    assert grader_main(["notebooks", str(tmp_path)]) == 0
    edited = tmp_path / "source" / "lesson04" / "softmax.ipynb"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Lesson 4", "Lesson 4 (edited)"), encoding="utf-8")
    capsys.readouterr()

    assert grader_main(["notebooks", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"already contains {len(EXERCISES)} notebooks" in err
    assert "--force" in err
    assert "Lesson 4 (edited)" in edited.read_text(encoding="utf-8")

    assert grader_main(["notebooks", str(tmp_path), "--force"]) == 0
    assert "Lesson 4 (edited)" not in edited.read_text(encoding="utf-8")


def test_notebooks_command_unwritable_folder(tmp_path, capsys):
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("keep me", encoding="utf-8")
    assert grader_main(["notebooks", str(not_a_folder)]) == 2
    err = capsys.readouterr().err
    assert "pass a folder you can write to" in err
    assert "Traceback" not in err
