"""Readable and JSON reports of graded exercises."""

import json
from dataclasses import asdict

from grader.grading import ExerciseResult


def to_text(results: list[ExerciseResult]) -> str:
    """Render results for a person: one block per exercise, failing checks with their reasons."""
    lines = [f"({results[0].sandbox})"] if results else []
    for result in results:
        mark = "PASS" if result.passed else "FAIL"
        lines.append(f"{mark} {result.id} (lesson {result.lesson}, {result.title}): {result.earned}/{result.points} points")
        for check in result.checks:
            status = "ok  " if check.earned == check.points else "FAIL"
            lines.append(f"  {status} {check.name} [{check.earned}/{check.points}; tolerance {check.tolerance}]")
            if check.message:
                lines.append(f"       {check.message}")
        for hint in result.hints:
            lines.append(f"  hint: {hint}")
    total, points = sum(r.earned for r in results), sum(r.points for r in results)
    lines.append(f"total: {total}/{points} points, {sum(r.passed for r in results)}/{len(results)} exercises passed")
    return "\n".join(lines)


def to_json(results: list[ExerciseResult]) -> str:
    """Render results for machines; hidden checks carry only their name and outcome."""
    return json.dumps([
        {**asdict(result), "earned": result.earned, "points": result.points, "passed": result.passed}
        for result in results
    ], indent=2)
