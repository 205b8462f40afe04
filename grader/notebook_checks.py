"""The grader's side of an nbgrader test cell: run the exercise's checks on the notebook's code.

A test cell calls `assert_check(exercise_id, position, In)`. The notebook's code cells (IPython's
input history `In`, test cells left out) become the student's exercise file, which the worker
pool grades as `python -m grader check` does. The cell raises AssertionError when its check
fails, so nbgrader gives it 0 points, and otherwise full points.

Deliberately left out: IPython magics. A cell that uses one does not compile as plain Python and
is dropped from the graded file with a warning.
"""

from __future__ import annotations

import hashlib
import logging

from grader.catalog import BY_ID

logger = logging.getLogger(__name__)

FUTURE_IMPORT = "from __future__ import annotations"
TEST_CELL_MARKER = "from grader.notebook_checks import"
# One kernel serves one student's notebook, so results cached here never reach another student.
_graded: dict[tuple[str, str], object] = {}


def module_source(history: list[str]) -> str:
    """Join the notebook's executed code cells into one module, skipping test cells and broken cells.

    >>> module_source(["", "from __future__ import annotations\\nx = 1", "assert_check  # from grader.notebook_checks import"])
    'from __future__ import annotations\\n\\nx = 1'
    """
    cells = []
    for cell in history:
        if not cell.strip() or TEST_CELL_MARKER in cell:
            continue
        body = "\n".join(line for line in cell.splitlines() if line.strip() != FUTURE_IMPORT)
        try:
            compile(body, "<cell>", "exec", flags=0x1000000, dont_inherit=True)  # 0x1000000: CO_FUTURE_ANNOTATIONS
        except SyntaxError as error:
            logger.warning("left a cell out of the graded code because it does not compile: %s", error)
            continue
        cells.append(body.strip("\n"))
    return "\n\n".join([FUTURE_IMPORT, *cells])


def assert_check(exercise_id: str, position: int, history: list[str]) -> None:
    """Raise AssertionError with the check's message unless check `position` of the exercise passes."""
    if exercise_id not in BY_ID:
        raise ValueError(f"unknown exercise {exercise_id!r}; the notebook and the grader disagree, regenerate it")
    result = _grade(exercise_id, module_source(history))
    check = result.checks[position]
    if check.earned < check.points:
        hints = "".join(f"\nhint: {hint}" for hint in check.hints)
        raise AssertionError(f"{check.name}: {check.message or 'failed'}{hints}")
    print(f"ok: {check.name} ({check.earned}/{check.points} points)")


def _grade(exercise_id: str, source: str):
    from grader.grading import grade  # imported on use: a kernel that only defines code stays light
    from grader.pool import WorkerPool

    key = (exercise_id, hashlib.sha256(source.encode()).hexdigest())
    if key not in _graded:
        exercise = BY_ID[exercise_id]
        files = {"exercises/__init__.py": "", exercise.stub_path: source}
        with WorkerPool(size=1) as pool:
            _graded[key] = grade([exercise_id], files, pool)[0]
    return _graded[key]
