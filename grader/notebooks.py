"""The course as nbgrader assignments: one source folder per lesson, one notebook per exercise.

Each notebook has a locked task cell, a locked imports cell, a solution cell and one graded test
cell per check. The solution is the reference function's body between nbgrader's
`### BEGIN SOLUTION` / `### END SOLUTION` markers, with the reference helpers it calls defined
inside the body, because nbgrader replaces a module-level solution region with a `raise`.
Each test cell calls `grader.notebook_checks.assert_check`, which runs the same checks as
`python -m grader check`. The gradebook creates the same cell names, so scores from classroom
mode and from `nbgrader autograde` land in the same graded cells.

Deliberately left out: the lesson text; each notebook states only its exercise's task.
"""

from __future__ import annotations

import ast
import inspect
import logging
import textwrap
import types
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nbformat

from grader.catalog import EXERCISES
from grader.checks import Exercise

logger = logging.getLogger(__name__)

NBGRADER_SCHEMA_VERSION = 3  # the cell metadata schema of nbgrader 0.9
IMPORTS = ("from __future__ import annotations\n\nimport math\nfrom collections.abc import Mapping\n\n"
           "import torch\nimport torch.nn.functional as F\nfrom torch import Tensor, nn")


@dataclass(frozen=True)
class PlannedCell:
    """One cell of an exercise notebook as nbgrader records it."""

    name: str
    cell_type: str  # "code" or "markdown"
    source: str
    locked: bool
    solution: bool = False
    points: int | None = None  # a graded cell's max_score; None for other cells


def assignment_name(lesson: int) -> str:
    """Return the nbgrader assignment name of a lesson.

    >>> assignment_name(4)
    'lesson04'
    """
    return f"lesson{lesson:02d}"


def check_cell_name(position: int) -> str:
    """Return the graded cell name of a check by its position in the exercise.

    >>> check_cell_name(3)
    'check-3'
    """
    return f"check-{position}"


@lru_cache(maxsize=None)
def planned_cells(exercise: Exercise) -> tuple[PlannedCell, ...]:
    """Lay out one exercise's notebook: task, imports, solution, then one graded cell per check."""
    from grader.grading import build_checks  # grading imports torch's heavy parts; load it on use

    checks = build_checks(exercise, hidden_seed=0)  # only names and points are used, not inputs
    cells = [
        PlannedCell("task", "markdown", _task_text(exercise), locked=True),
        PlannedCell("imports", "code", imports_source(exercise.reference), locked=True),
        PlannedCell("solution", "code", solution_source(exercise.reference), locked=False, solution=True),
    ]
    for position, check in enumerate(checks):
        source = (f"# {check.name} ({check.points} points)\n"
                  "from grader.notebook_checks import assert_check\n"
                  f"assert_check({exercise.id!r}, {position}, In)")
        cells.append(PlannedCell(check_cell_name(position), "code", source, locked=True, points=check.points))
    return tuple(cells)


def build_notebook(exercise: Exercise) -> nbformat.NotebookNode:
    """Build the nbgrader source notebook of one exercise."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for planned in planned_cells(exercise):
        make = nbformat.v4.new_markdown_cell if planned.cell_type == "markdown" else nbformat.v4.new_code_cell
        cell = make(planned.source)
        cell.metadata["nbgrader"] = {
            "grade": planned.points is not None, "grade_id": planned.name, "locked": planned.locked,
            "schema_version": NBGRADER_SCHEMA_VERSION, "solution": planned.solution, "task": False}
        if planned.points is not None:
            cell.metadata["nbgrader"]["points"] = planned.points
        notebook.cells.append(cell)
    return notebook


def write_source(out_dir: Path) -> list[Path]:
    """Write `out_dir/source/lessonNN/<exercise>.ipynb` for every exercise; return the paths."""
    paths = []
    for exercise in EXERCISES:
        path = out_dir / "source" / assignment_name(exercise.lesson) / f"{exercise.id}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(build_notebook(exercise), path)
        paths.append(path)
    logger.info("wrote %d source notebooks under %s", len(paths), out_dir)
    return paths


def imports_source(function: types.FunctionType) -> str:
    """Return the imports cell: common imports plus the globals the signature's defaults name."""
    lines = textwrap.dedent(inspect.getsource(function)).splitlines()
    arguments = ast.parse("\n".join(lines)).body[0].args
    defaults = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
    names = sorted({node.id for default in defaults for node in ast.walk(default) if isinstance(node, ast.Name)})
    extras = [_definition(name, function.__globals__[name], {}, set()) for name in names
              if name in function.__globals__]
    return "\n\n".join([IMPORTS, *(extra for extra in extras if extra)])


def solution_source(function: types.FunctionType) -> str:
    """Return the stub's signature and docstring with the reference body as the solution region."""
    source = textwrap.dedent(inspect.getsource(function))
    lines = source.splitlines()
    body_start = _body_start(lines)
    helpers = [textwrap.indent(text, "    ") for text in _helper_definitions(function)]
    body = textwrap.indent(textwrap.dedent("\n".join(lines[body_start:])), "    ")
    solution = "\n".join(["    ### BEGIN SOLUTION", *helpers, body, "    ### END SOLUTION"])
    return "\n".join(lines[:body_start]) + "\n" + solution


def _body_start(lines: list[str]) -> int:
    """Return the index of the first line after the signature and docstring of a function's source."""
    definition = ast.parse("\n".join(lines)).body[0]
    statements = definition.body
    has_docstring = isinstance(statements[0], ast.Expr) and isinstance(getattr(statements[0], "value", None), ast.Constant)
    if has_docstring and len(statements) > 1:
        return statements[1].lineno - 1
    return statements[0].end_lineno if has_docstring else statements[0].lineno - 1


def _helper_definitions(function: types.FunctionType) -> list[str]:
    """Return the source of every reference helper `function` uses, dependencies first."""
    ordered: dict[str, str] = {}
    _collect(function, ordered, seen={function.__name__})
    return list(ordered.values())


def _collect(target, ordered: dict[str, str], seen: set[str]) -> None:
    # Names are read from the source, not from getclosurevars, which misses names used only in
    # default values and in nested code such as generator expressions.
    module_globals = vars(inspect.getmodule(target))
    tree = ast.parse(textwrap.dedent(inspect.getsource(target)))
    used = sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)})
    for name in used:
        if name in seen or name.startswith("__") or name not in module_globals:
            continue
        seen.add(name)
        definition = _definition(name, module_globals[name], ordered, seen)
        if definition:
            ordered[name] = definition


def _definition(name: str, value, ordered: dict[str, str], seen: set[str]) -> str | None:
    module = getattr(value, "__module__", "") or ""
    if isinstance(value, types.ModuleType):
        return None if name in ("math", "torch", "nn", "F") else f"import {value.__name__} as {name}"
    if (inspect.isfunction(value) or inspect.isclass(value)) and module.startswith("reference"):
        _collect(value, ordered, seen)
        return textwrap.dedent(inspect.getsource(value))
    if isinstance(value, logging.Logger):
        return f"import logging\n{name} = logging.getLogger({value.name!r})"
    if isinstance(value, (str, int, float, bool, tuple, frozenset)) or value is None:
        return f"{name} = {value!r}"
    if module and module != "builtins":
        return f"from {module} import {getattr(value, '__name__', name)} as {name}"
    return None


def _task_text(exercise: Exercise) -> str:
    docstring = inspect.getdoc(exercise.reference) or ""
    summary = docstring.splitlines()[0] if docstring else exercise.title
    return (f"# Lesson {exercise.lesson}: {exercise.title}\n\n{summary}\n\n"
            f"Write `{exercise.function}` in the cell below, then run the test cells. They run the same "
            f"checks as `python -m grader check {exercise.id}`.")
