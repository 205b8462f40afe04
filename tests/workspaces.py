"""Student workspaces for app tests: the reference laid out as a student's finished work."""

import re
from pathlib import Path

from grader.grading import solution_files


def write_reference_workspace(folder: Path) -> Path:
    """Lay the reference out as a student's `exercises/` folder that imports nothing outside it."""
    for relative, source in solution_files().items():
        if relative == "grader_mistakes.py":
            continue
        # The app sends only exercises/ to the grader, so the reference copy moves inside it.
        target = relative if relative.startswith("exercises/") else f"exercises/{relative}"
        source = re.sub(r"\bfrom reference\b", "from exercises.reference", source)
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return folder
