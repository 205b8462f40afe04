"""Grade exercises: make the inputs, run the student's calls in the pool, judge here.

The steps, in order: `build_checks` (inputs per check), `run_student_calls` (the only contact
with student code), `judge_check` (reference outputs, causes, comparison), `find_hints`
(which known mistake the outputs match). The reference and the mistakes run only here.
"""

import copy
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import torch

from grader.catalog import BY_ID, EXERCISES
from grader.checks import Check, Exercise, compare, deviates_like, same_outcome
from grader.codec import encode
from grader.pool import WorkerPool
from grader.worker import TinyLanguageModel

logger = logging.getLogger(__name__)

CAUSES = {
    "not_implemented": "not implemented yet (the stub still raises NotImplementedError)",
    "syntax_error": "syntax error",
    "exception": "your code raised an exception",
    "timeout": "timed out",
    "memory": "ran out of memory",
    "output_limit": "printed too much output",
    "crashed": "the process crashed",
    "exited": "the process exited",
    "no_grad": "no gradient",
    "bad_output": "the return value cannot be checked",
    "skipped": "not run",
    "broken": "the grader's worker failed",
}
EVENTS = {"network": "tried to open a network connection", "process": "tried to start a process",
          "file": "tried to read a file outside its workspace", "child process": "left a child process running"}


@dataclass
class CheckResult:
    name: str
    points: int
    earned: int
    hidden: bool
    tolerance: str
    message: str = ""
    cause: str = ""
    hints: list[str] = field(default_factory=list)


@dataclass
class ExerciseResult:
    id: str
    lesson: int
    title: str
    checks: list[CheckResult]
    hints: list[str]
    sandbox: str

    @property
    def earned(self) -> int:
        return sum(check.earned for check in self.checks)

    @property
    def points(self) -> int:
        return sum(check.points for check in self.checks)

    @property
    def passed(self) -> bool:
        return self.earned == self.points


def build_checks(exercise: Exercise, hidden_seed: int) -> list[Check]:
    """Make every check of an exercise with its inputs; the hidden one uses `hidden_seed`."""
    def inputs(seed: int, size: str):
        return exercise.make_inputs(torch.Generator().manual_seed(seed), size)

    tolerance = f"atol {exercise.atol:g}, rtol {exercise.rtol:g}"
    checks = [
        Check("returns the right type, shape and dtype", 1, [inputs(0, "small")], "structure", tolerance="exact"),
        Check("values match on small inputs", 2, [inputs(1, "small"), inputs(2, "small")], "values", tolerance=tolerance),
        Check("values match on edge cases (B=1, T=1, empty text)", 1, [inputs(3, "edge")], "values", tolerance=tolerance),
    ]
    if exercise.grad_wrt:
        checks.append(Check("input gradients match autograd's through the reference", 2, [inputs(4, "small")],
                            "gradients", tolerance=f"atol {10 * exercise.atol:g}, rtol {10 * exercise.rtol:g}"))
    for prop in exercise.properties:
        checks.append(Check(f"property: {prop.name}", 1, prop.make_calls(torch.Generator().manual_seed(5)), "property",
                            tolerance="stated in the failure message", prop=prop))
    checks.append(Check("hidden: values match on larger random inputs", 2, [inputs(hidden_seed, "large")], "values",
                        hidden=True, tolerance=tolerance))
    return checks


def grade(exercise_ids: list[str], files: dict[str, str], pool: WorkerPool) -> list[ExerciseResult]:
    """Grade the listed exercises against the student's `files` (path -> source)."""
    planned = []
    calls = []
    for exercise_id in exercise_ids:
        exercise = BY_ID[exercise_id]
        checks = build_checks(exercise, secrets.randbits(30))
        for check_index, check in enumerate(checks):
            for call_index, (args, kwargs) in enumerate(check.calls):
                call_id = f"{exercise.id}/{check_index}/{call_index}"
                calls.append(_call(exercise, check, call_id, args, kwargs))
        planned.append((exercise, checks))

    results = dict(zip((c["id"] for c in calls), run_student_calls(pool, files, calls)))
    graded = []
    for exercise, checks in planned:
        outcomes = [[results[f"{exercise.id}/{i}/{j}"] for j in range(len(c.calls))] for i, c in enumerate(checks)]
        graded.append(_grade_exercise(exercise, checks, outcomes, pool.sandbox_note))
    return graded


def run_student_calls(pool: WorkerPool, files: dict[str, str], calls: list[dict]) -> list[dict]:
    """Run calls in the pool, in order, on one worker at a time."""
    # TODO: split --all across the pool's workers; one worker takes about 4 s for all exercises now.
    return pool.run(files, calls)


def call_student_function(pool: WorkerPool, files: dict[str, str], exercise_id: str, args: list,
                          kwargs: dict | None = None) -> dict:
    """Run the student's function of one exercise on given inputs, in the pool's isolation.

    Returns the pool's result dict: "status" ("ok", "not_implemented", "exception", "timeout",
    ...), "value" when ok, and "message". The app uses it to show a student's piece at work.
    """
    exercise = BY_ID[exercise_id]
    call = {"id": f"{exercise.id}/show", "group": exercise.id, "module": exercise.module, "function": exercise.function,
            "kind": exercise.kind, "args": encode(list(args)), "kwargs": encode(kwargs or {})}
    return pool.run(files, [call])[0]


def _call(exercise: Exercise, check: Check, call_id: str, args, kwargs) -> dict:
    call = {"id": call_id, "group": exercise.id, "module": exercise.module, "function": exercise.function,
            "kind": exercise.kind, "args": encode(list(args)), "kwargs": encode(kwargs)}
    if check.judge == "gradients":
        output = _reference_output(exercise, args, kwargs)
        outputs = output if isinstance(output, tuple) else (output,)
        grad_output = [torch.randn(o.shape, generator=torch.Generator().manual_seed(7)) for o in outputs]
        call.update(grad_wrt=list(exercise.grad_wrt), grad_output=encode(grad_output))
    return call


def _reference_output(exercise: Exercise, args, kwargs, function=None):
    function = function or exercise.reference
    args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
    if exercise.kind == "training_step":
        return _run_training_steps(function, args[0])
    return function(*args, **kwargs)


def _run_training_steps(function, setup: dict) -> dict:
    model = TinyLanguageModel(setup["vocab_size"], setup["d_model"])
    model.load_state_dict(setup["state"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=setup["lr"], weight_decay=setup["weight_decay"])
    losses = [function(model, optimizer, x, y, setup["max_grad_norm"]) for x, y in setup["batches"]]
    return {"losses": losses, "state": {k: v.detach() for k, v in model.state_dict().items()}}


def _reference_gradients(exercise: Exercise, args, kwargs, grad_output, function=None):
    args = [a.detach().clone().requires_grad_(True) if i in exercise.grad_wrt else a for i, a in enumerate(copy.deepcopy(args))]
    output = (function or exercise.reference)(*args, **kwargs)
    outputs = output if isinstance(output, tuple) else (output,)
    sum((o * g).sum() for o, g in zip(outputs, grad_output)).backward()
    return [args[i].grad if args[i].grad is not None else torch.zeros_like(args[i]) for i in exercise.grad_wrt]


def _grade_exercise(exercise: Exercise, checks: list[Check], outcomes: list[list[dict]], sandbox: str) -> ExerciseResult:
    results = [judge_check(exercise, check, outcome) for check, outcome in zip(checks, outcomes)]
    hints = find_hints(exercise, checks, outcomes) if not all(r.earned == r.points for r in results) else []
    for result in results:
        if result.earned < result.points and not result.hidden and result.cause in ("", "values", "shape", "dtype", "nan", "type", "property"):
            result.hints = hints
    return ExerciseResult(exercise.id, exercise.lesson, exercise.title, results, hints, sandbox)


def judge_check(exercise: Exercise, check: Check, outcomes: list[dict]) -> CheckResult:
    """Score one check: plain causes first, then the comparison with the reference."""
    result = CheckResult(check.name, check.points, 0, check.hidden, check.tolerance)
    for outcome in outcomes:
        if outcome["status"] != "ok":
            result.cause = outcome["status"]
            events = [EVENTS.get(e, e) for e in outcome.get("events", [])]
            result.message = "; ".join(events + [_describe_failure(outcome)])
            return _hide(result)
    events = sorted({event for outcome in outcomes for event in outcome.get("events", [])})
    if events:
        result.cause = "sandbox"
        result.message = "; ".join(EVENTS.get(e, e) for e in events)
        return _hide(result)

    mismatch = None
    for (args, kwargs), outcome in zip(check.calls, outcomes):
        if check.judge == "property":
            break
        expected = _reference_output(exercise, args, kwargs)
        if check.judge == "gradients":
            grad_output = [torch.randn(o.shape, generator=torch.Generator().manual_seed(7))
                           for o in (expected if isinstance(expected, tuple) else (expected,))]
            expected_grads = _reference_gradients(exercise, args, kwargs, grad_output)
            mismatch = compare(expected_grads, outcome.get("grads"), 10 * exercise.atol, 10 * exercise.rtol, where="input gradients")
        else:
            mismatch = compare(expected, outcome.get("value"), exercise.atol, exercise.rtol, values=check.judge == "values")
        if mismatch:
            break
    if check.judge == "property":
        message = check.prop.holds(check.calls, [outcome.get("value") for outcome in outcomes])
        if message:
            result.cause, result.message = "property", message
            return _hide(result)
    elif mismatch:
        result.cause, result.message = mismatch.kind, mismatch.message
        return _hide(result)

    result.earned = check.points
    return result


def _hide(result: CheckResult) -> CheckResult:
    # A check that never ran reveals nothing about its inputs, so its message is "not run" like the others.
    if result.hidden and result.cause not in ("not_implemented", "syntax_error", "skipped"):
        result.message = "failed (this check's inputs and details are hidden)"
    return result


def _describe_failure(outcome: dict) -> str:
    cause = CAUSES.get(outcome["status"], outcome["status"])
    where = f" at {outcome['file']} line {outcome['line']}" if outcome.get("file") else ""
    code = f": {outcome['code']}" if outcome.get("code") else ""
    message = outcome.get("message") or ""
    if outcome["status"] == "not_implemented":
        return cause
    return f"{cause}{where}{code}" + (f" ({message})" if message else "")


def find_hints(exercise: Exercise, checks: list[Check], outcomes: list[list[dict]]) -> list[str]:
    """Return the hints of the mistakes whose outputs equal the student's on every visible value call."""
    visible = [(args_kwargs, outcome) for check, outcome_list in zip(checks, outcomes)
               if check.judge in ("values", "structure") and not check.hidden
               for args_kwargs, outcome in zip(check.calls, outcome_list)]
    if any(outcome["status"] not in ("ok",) for _, outcome in visible):
        statuses = {outcome["status"] for _, outcome in visible}
        if statuses & {"not_implemented", "syntax_error", "timeout", "crashed", "exited", "skipped", "memory", "output_limit"}:
            return []
    hints = [mistake.hint for mistake in exercise.mistakes
             if all(_matches(exercise, mistake.function, args, kwargs, outcome) for (args, kwargs), outcome in visible)]
    if hints:
        return hints
    # Only when no mistake explains the whole output: a partial match alone is weaker evidence,
    # and beside an exact match it would name mistakes that merely share the wrong elements.
    return [mistake.hint for mistake in exercise.mistakes if _matches_where_wrong(exercise, mistake.function, visible)]


def _matches_where_wrong(exercise: Exercise, function, visible: list) -> bool:
    """Return whether the student's outputs go wrong only where, and as, the mistake's outputs do.

    This catches a known mistake combined with a fix elsewhere, which the whole-output match
    misses. Only tensor outputs are compared this way.
    """
    deviates = False
    for (args, kwargs), outcome in visible:
        if outcome["status"] != "ok":
            return False
        try:
            wrong = _reference_output(exercise, args, kwargs, function)
        except Exception:  # noqa: BLE001 - a mistake that raises has no values to compare
            return False
        expected = _reference_output(exercise, args, kwargs)
        verdict = deviates_like(outcome.get("value"), expected, wrong, exercise.atol, exercise.rtol)
        if verdict is None or not verdict[0]:
            return False
        deviates = deviates or verdict[1]
    return deviates


def _matches(exercise: Exercise, function, args, kwargs, outcome: dict) -> bool:
    try:
        wrong = _reference_output(exercise, args, kwargs, function)
    except Exception:  # noqa: BLE001 - a mistake that raises matches a student whose code raised too
        return outcome["status"] == "exception"
    return outcome["status"] == "ok" and same_outcome(outcome.get("value"), wrong, exercise.atol, exercise.rtol)


class WorkspaceError(ValueError):
    """A student's workspace that cannot be read; the message names the file and the fix."""


def read_workspace(folder: Path) -> dict[str, str]:
    """Read a student's workspace: every .py file under `folder`, keyed by relative path.

    Raises WorkspaceError for a file that is not UTF-8, which Python cannot import either.
    """
    files = {}
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        try:
            files[str(path.relative_to(folder))] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise WorkspaceError(
                f"{path} is not valid UTF-8 (invalid byte at offset {error.start}); save it as UTF-8 and check again"
            ) from error
    return files


def solution_files(overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Lay out the reference as a student's exercises/ folder, with a copy of `reference/`.

    `overrides` maps an exercise id to the name of a function in `grader.mistakes`, which then
    stands in for that exercise (the tests use this to hand the grader each known mistake).
    """
    repository = Path(__file__).resolve().parents[1]
    files = {f"reference/{p.name}": p.read_text() for p in (repository / "reference").glob("*.py")}
    files["grader_mistakes.py"] = (repository / "grader" / "mistakes.py").read_text()
    files["exercises/__init__.py"] = ""
    lines: dict[str, list[str]] = {}
    for exercise in EXERCISES:
        override = (overrides or {}).get(exercise.id)
        source = f"from grader_mistakes import {override}" if override else \
            f"from {exercise.reference.__module__} import {exercise.reference.__name__}"
        name = override or exercise.reference.__name__
        lines.setdefault(exercise.stub_path, []).append(f"{source} as {exercise.function}  # noqa: F401" if name != exercise.function else source)
    for path, source_lines in lines.items():
        files[path] = "\n".join(source_lines) + "\n"
    return files
