"""Running nbgrader's own commands on a course folder, offline, with this project's grader importable.

The tests and the grader benchmark use these to take an assignment through nbgrader's standard
workflow: generate_assignment, a submitted notebook, autograde.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

REPOSITORY = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def nbgrader_environment(folder: Path) -> dict[str, str]:
    """Return an environment for nbgrader: this venv's bin on PATH (nbgrader runs `alembic` by
    name), the repository importable, and a `python3` kernel spec in `folder` for this interpreter."""
    kernel = folder / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True, exist_ok=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    environment = dict(os.environ)
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    environment["PYTHONPATH"] = f"{REPOSITORY}{os.pathsep}{environment.get('PYTHONPATH', '')}"
    environment["JUPYTER_PATH"] = str(folder / "jupyter")
    environment["JUPYTER_CONFIG_DIR"] = str(folder / "jupyter-config")  # ignore the machine's own config
    return environment


def run_nbgrader(course: Path, environment: dict, *arguments: str) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGUMENTS` on the course folder and its SQLite gradebook; raise if it fails."""
    command = [sys.executable, "-m", "nbgrader", *arguments, f"--CourseDirectory.root={course}",
               f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}"]
    completed = subprocess.run(command, cwd=course, env=environment, capture_output=True, text=True, timeout=240)
    if completed.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(arguments)} failed:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}")
    return completed


def complete_with_solution(student_notebook: nbformat.NotebookNode, source_notebook: nbformat.NotebookNode):
    """Fill the student version's solution cell with the teacher's solution, as a student who
    solved the exercise would; return the student notebook."""
    solution = next(c.source for c in source_notebook.cells if c.metadata["nbgrader"]["solution"])
    for cell in student_notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = "\n".join(line for line in solution.splitlines() if line.strip() not in (BEGIN, END))
    return student_notebook
