"""The worker: a process with PyTorch imported that runs one student's calls and exits.

The pool starts workers ahead of time (inside bubblewrap where it works), so a check pays
for `import torch` before the student presses Check, not after. A worker serves one job, which
is one student's files and a list of calls, and then exits, so nothing a student's code leaves
behind reaches the next job. It reads the job as one JSON line on stdin and writes one JSON line
per call on the result pipe. Student prints go to a capped file instead.

Everything here runs next to untrusted code. The grader decodes replies only with
`grader.codec`, and the limits set here (memory, file size, the audit hook) are a second line
behind the sandbox and the pool's timeout, which a hostile student can bypass only through
ctypes and the like.
"""

import faulthandler
import importlib
import json
import os
import re
import resource
import signal
import sys
import time
import traceback
from pathlib import Path

import torch
from torch import Tensor, nn

from grader.codec import CodecError, decode, encode

# Audit events that start a process. Blocking them is what RLIMIT_NPROC would do, except that
# RLIMIT_NPROC does not bind root, which is who runs the grader in a container.
PROCESS_EVENTS = {"os.system", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.spawn",
                  "subprocess.Popen", "pty.spawn"}
NETWORK_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo"}


class TinyLanguageModel(nn.Module):
    """Embedding -> tanh -> Linear: a model small enough to train a step in a millisecond.

    The training-step exercise gets this model instead of the GPT, because the sandbox cannot see
    the reference package and the step does not depend on what the model is.
    """

    def __init__(self, vocab_size: int, d_model: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, idx: Tensor) -> Tensor:
        return self.head(torch.tanh(self.embedding(idx)))  # (B, T, V)


class _Guard:
    """The audit hook's switch and memory: off while the worker itself runs, on for student code."""

    def __init__(self):
        self.active = False
        self.block_network = True
        self.hidden_paths: list[str] = []
        self.events: set[str] = set()

    def __call__(self, event: str, args) -> None:
        if not self.active:
            return
        if event in PROCESS_EVENTS:
            self.events.add("process")
            raise PermissionError(f"starting a process ({event}) is not allowed in an exercise")
        if event in NETWORK_EVENTS:
            self.events.add("network")
            if self.block_network:
                raise PermissionError(f"network access ({event}) is not allowed in an exercise")
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            self._check_path(args[0])

    def _check_path(self, path) -> None:
        try:
            resolved = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return
        for hidden in self.hidden_paths:
            if resolved == hidden or resolved.startswith(hidden + os.sep):
                self.events.add("file")
                raise PermissionError(f"reading {resolved} is not allowed in an exercise")


def main() -> None:
    """Serve one job from stdin, then exit."""
    torch.set_num_threads(1)  # one core per worker, and no thread pool to fork or outgrow
    guard = _Guard()
    sys.addaudithook(guard)
    # Drop the repository from the import path, so a student's `import reference` fails.
    repository = str(Path(__file__).resolve().parents[1])
    sys.path[:] = [entry for entry in sys.path if entry not in ("", os.getcwd(), repository)]

    result_pipe = os.fdopen(os.dup(1), "w", buffering=1)
    result_pipe.write(json.dumps({"ready": os.getpid()}) + "\n")
    line = sys.stdin.readline()
    if not line:
        return
    job = json.loads(line)

    workspace = _write_workspace(Path(job["workdir"]), job["files"])
    capture = _redirect_output(Path(job["workdir"]) / "output.txt")
    _apply_limits(job["memory_mb"], job["output_bytes"])
    guard.block_network = not job["sandboxed"]
    # Inside the sandbox these folders do not exist at all; outside it the hook is the only guard.
    if not job["sandboxed"]:
        guard.hidden_paths = [os.path.realpath(path) for path in job["hidden_paths"]]
    sys.path.insert(0, str(workspace))

    for call in job["calls"]:
        # Dump the stack shortly before the pool's deadline, so a timeout can name the line.
        faulthandler.dump_traceback_later(0.8 * call["timeout"], file=capture)
        guard.events.clear()
        started = time.perf_counter()
        guard.active = True
        result = _run_call(call, workspace)
        guard.active = False
        faulthandler.cancel_dump_traceback_later()

        result.update(id=call["id"], seconds=time.perf_counter() - started, events=sorted(guard.events))
        result_pipe.write(_finish_result(result, capture, job["output_bytes"]) + "\n")
    result_pipe.flush()


def _finish_result(result: dict, capture, output_bytes: int) -> str:
    """Add the call's prints and child processes to `result`, and encode it.

    A failure here is the grader's fault, so it becomes a "broken" result that names the error.
    A worker that died instead would look like a student's os._exit.
    """
    try:
        result["output"] = _read_output(capture, output_bytes)
        if _has_children():
            result["events"].append("child process")
        return _encode_result(result)
    except Exception as error:  # noqa: BLE001 - any failure of the worker's own bookkeeping
        return encode({"id": result["id"], "status": "broken", "events": result["events"],
                       "message": f"{type(error).__name__}: {error} (in the grader's own code, after the call returned)"})


def _write_workspace(workdir: Path, files: dict[str, str]) -> Path:
    workspace = workdir / "workspace"
    for relative, source in files.items():
        path = (workspace / relative).resolve()
        if not path.is_relative_to(workspace.resolve()):
            raise ValueError(f"workspace file {relative!r} points outside the workspace")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    return workspace


def _redirect_output(path: Path):
    capture = open(path, "w+b")
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(capture.fileno(), 1)
    os.dup2(capture.fileno(), 2)
    faulthandler.enable(file=capture)  # a segfault leaves its traceback, with the line, here
    return capture


def _apply_limits(memory_mb: int, output_bytes: int) -> None:
    # The limit is added to what the worker already maps: importing torch alone maps far more
    # address space than it uses, so an absolute limit would have to guess that size.
    mapped = _mapped_bytes()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + memory_mb * 2**20,) * 2)
    # Prints beyond the cap fail with EFBIG instead of filling the disk (or a tmpfs in RAM).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (output_bytes,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    except (ValueError, OSError):
        pass  # the audit hook and the pid namespace still stop and clean up child processes


def _mapped_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _has_children(tasks: Path = Path("/proc/self/task")) -> bool:
    for task in tasks.iterdir():
        try:
            children = (task / "children").read_text()
        except OSError:
            # A thread can end between the listing and the read: faulthandler's watchdog thread
            # does so after every call, when cancel_dump_traceback_later stops it.
            continue
        if children.strip():
            return True
    return False


def _read_output(capture, limit: int) -> str:
    try:
        capture.flush()
        sys.stdout.flush()
    except OSError:
        pass
    capture.seek(0)
    text = capture.read(limit).decode("utf-8", errors="replace")
    capture.seek(0)
    capture.truncate()
    return text


def _run_call(call: dict, workspace: Path) -> dict:
    try:
        function = _load_function(call["module"], call["function"])
    except SyntaxError as error:
        return {"status": "syntax_error", "message": f"{error.msg}", "file": _relative(error.filename, workspace),
                "line": error.lineno, "code": (error.text or "").rstrip()}
    except BaseException as error:  # noqa: BLE001 - any failure while importing student code
        return _describe_exception(error, workspace, stage="import")

    try:
        args, kwargs = decode(call["args"]), decode(call["kwargs"])
        if call["kind"] == "training_step":
            return {"status": "ok", "value": _run_training_steps(function, args, kwargs)}
        if call.get("grad_wrt"):
            return _run_with_gradients(function, args, kwargs, call["grad_wrt"], decode(call["grad_output"]))
        return {"status": "ok", "value": function(*args, **kwargs)}
    except BaseException as error:  # noqa: BLE001 - student code may raise anything, SystemExit too
        return _describe_exception(error, workspace, stage="call")


def _load_function(module_name: str, function_name: str):
    module = importlib.import_module(module_name)
    if not hasattr(module, function_name):
        raise AttributeError(f"{module_name} has no function named {function_name}")
    return getattr(module, function_name)


def _run_with_gradients(function, args: list, kwargs: dict, wrt: list[int], grad_output) -> dict:
    args = list(args)
    for index in wrt:
        args[index] = args[index].detach().clone().requires_grad_(True)
    output = function(*args, **kwargs)

    outputs = output if isinstance(output, (tuple, list)) else (output,)
    grads = grad_output if isinstance(grad_output, (tuple, list)) else (grad_output,)
    total = sum((o * g).sum() for o, g in zip(outputs, grads) if isinstance(o, Tensor) and o.requires_grad)
    if not isinstance(total, Tensor):
        return {"status": "no_grad", "value": output,
                "message": "the output does not depend on the inputs through autograd "
                           "(was it detached, or computed with numpy or Python floats?)"}
    total.backward()
    input_grads = [args[i].grad if args[i].grad is not None else torch.zeros_like(args[i]) for i in wrt]
    return {"status": "ok", "value": output, "grads": input_grads}


def _run_training_steps(function, args: list, kwargs: dict) -> dict:
    setup = args[0]
    model = TinyLanguageModel(setup["vocab_size"], setup["d_model"])
    model.load_state_dict(setup["state"])
    optimizer = torch.optim.AdamW(model.parameters(), lr=setup["lr"], weight_decay=setup["weight_decay"])
    losses = [function(model, optimizer, inputs, targets, setup["max_grad_norm"]) for inputs, targets in setup["batches"]]
    return {"losses": losses, "state": {k: v.detach() for k, v in model.state_dict().items()}}


def _describe_exception(error: BaseException, workspace: Path, stage: str) -> dict:
    if isinstance(error, SystemExit):
        return {"status": "exited", "message": f"the code called sys.exit({error.code!r})"}
    if isinstance(error, NotImplementedError) and _raised_in_workspace(error, workspace):
        return {"status": "not_implemented", "message": str(error)}
    if isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and re.search(
            r"can't allocate memory|not enough memory|out of memory", str(error))):
        detail = str(error)[:200] or "the code allocated more than the grader's memory limit"
        return {"status": "memory", "message": f"{type(error).__name__}: {detail}"}
    if isinstance(error, OSError) and error.errno == 27:  # EFBIG: RLIMIT_FSIZE reached
        return {"status": "output_limit", "message": "remove or shorten the print calls"}

    frame = _last_workspace_frame(error, workspace)
    return {"status": "exception", "stage": stage, "message": f"{type(error).__name__}: {str(error)[:500]}",
            "file": frame[0] if frame else None, "line": frame[1] if frame else None,
            "code": frame[2] if frame else None}


def _raised_in_workspace(error: BaseException, workspace: Path) -> bool:
    return _last_workspace_frame(error, workspace) is not None


def _last_workspace_frame(error: BaseException, workspace: Path):
    found = None
    for frame in traceback.extract_tb(error.__traceback__):
        relative = _relative(frame.filename, workspace)
        if relative is not None:
            found = (relative, frame.lineno, (frame.line or "").strip())
    return found


def _relative(filename: str | None, workspace: Path) -> str | None:
    if not filename:
        return None
    try:
        return str(Path(filename).resolve().relative_to(workspace.resolve()))
    except ValueError:
        return None


def _encode_result(result: dict) -> str:
    try:
        return encode(result)
    except (CodecError, RecursionError) as error:
        value_type = type(result.get("value")).__name__
        result = {key: value for key, value in result.items() if key not in ("value", "grads")}
        result.update(status="bad_output", message=f"the return value ({value_type}) cannot be checked: {error}")
        return encode(result)


if __name__ == "__main__":
    main()
