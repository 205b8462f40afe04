"""A warm pool of worker processes, and the one narrow door to student code: `WorkerPool.run`.

Each worker imports PyTorch as soon as it starts and then waits for one job, so a check only pays
for the student's own calls. Taking a worker starts its replacement at once. `run` enforces the
per-call timeout, turns a dead or hung worker into a result that says what happened, and moves
the calls that did not run to a fresh worker, so one hostile call cannot stop the rest.
"""

import json
import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from grader.codec import CodecError, decode
from grader.sandbox import REPOSITORY, bwrap_status, describe_exit, worker_command, worker_environment

logger = logging.getLogger(__name__)

# A worker imports torch before it answers; on a loaded 2-core machine that can take seconds.
STARTUP_TIMEOUT_S = 60.0
# A reply line longer than this is not a result of any exercise, so it ends the worker.
MAX_REPLY_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Limits:
    """Resource limits for one job. The defaults suit every exercise of the course with room to spare."""

    timeout_s: float = 5.0  # per call, wall clock; the reference needs well under 0.5 s
    memory_mb: int = 1024  # address space on top of what the worker mapped after importing torch
    output_bytes: int = 64 * 1024  # captured prints per call; more fails with "too much output"


@dataclass
class _Worker:
    process: subprocess.Popen
    workdir: Path
    sandboxed: bool
    started: float = field(default_factory=time.perf_counter)
    buffer: bytes = b""


class WorkerPool:
    """Warm workers that run student calls, inside bubblewrap when `sandbox` allows it.

    `sandbox=None` uses bwrap where it works; True requires it (RuntimeError if unusable); False
    runs without it. `hidden_paths` are folders a student must not read (the gradebook, other
    students' work); the repository is always hidden.
    """

    def __init__(self, size: int = 2, sandbox: bool | None = None, limits: Limits = Limits(),
                 hidden_paths: tuple[Path, ...] = ()):
        usable, reason = bwrap_status()
        if sandbox and not usable:
            raise RuntimeError(f"the sandbox was required but {reason}; install bubblewrap or pass sandbox=False")
        self.sandboxed = usable if sandbox is None else sandbox
        self.sandbox_note = "sandboxed with bwrap" if self.sandboxed else f"running without the sandbox ({reason})"
        if not self.sandboxed:
            logger.warning("grader %s", self.sandbox_note)

        self.limits = limits
        self.hidden_paths = [Path(p).resolve() for p in hidden_paths]
        self._scratch = Path(tempfile.mkdtemp(prefix="grader-pool-"))
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._size = size
        self._closed = False
        with self._lock:
            for _ in range(size):
                self._idle.append(self._start_worker())

    # ------------------------------------------------------------------------------------
    # the public door

    def run(self, files: dict[str, str], calls: list[dict]) -> list[dict]:
        """Run `calls` against the student's `files`; return one result dict per call, in order.

        A call is {"id", "group", "module", "function", "kind", "args", "kwargs", ...} with
        args and kwargs encoded by `grader.codec`. A result has "status" ("ok", "exception",
        "timeout", ...) and, when ok, a decoded "value".
        """
        results: dict[str, dict] = {}
        retried: set[str] = set()
        pending = list(calls)
        while pending:
            worker = self._take()
            finished = self._serve(worker, files, pending, results)
            # A broken worker is the grader's fault, not the student's, so such a call gets one more try.
            for call in finished:
                if results[call["id"]]["status"] == "broken" and call["id"] not in retried:
                    logger.warning("retrying call %s on a fresh worker: %s", call["id"], results[call["id"]]["message"])
                    retried.add(call["id"])
                    del results[call["id"]]
            timed_out_groups = {c["group"] for c in finished if c["id"] in results
                                and results[c["id"]]["status"] in ("timeout", "crashed", "exited")}
            pending = [c for c in pending if c["id"] not in results]
            # A call that hung or killed its process will most likely do so again, and each retry
            # costs a fresh worker; the other exercises still get their turn.
            for call in [c for c in pending if c["group"] in timed_out_groups]:
                results[call["id"]] = {"status": "skipped", "message": "an earlier call of this exercise timed out or crashed"}
            pending = [c for c in pending if c["id"] not in results]
        return [results[call["id"]] for call in calls]

    def close(self) -> None:
        """Stop every idle worker and remove the scratch folder."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for worker in idle:
            self._stop(worker)
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # ------------------------------------------------------------------------------------
    # workers

    def _start_worker(self) -> _Worker:
        workdir = Path(tempfile.mkdtemp(dir=self._scratch, prefix="worker-"))
        command = worker_command(workdir, self.sandboxed, self.hidden_paths)
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd=workdir, env=worker_environment(), start_new_session=True,
        )
        return _Worker(process, workdir, self.sandboxed)

    def _take(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is closed; create a new WorkerPool")
            worker = self._idle.pop(0) if self._idle else self._start_worker()
            # Start the replacement now, so it imports torch while this one works.
            self._idle.append(self._start_worker())
            return worker

    def _stop(self, worker: _Worker) -> None:
        try:
            os.killpg(worker.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.process.wait()
        for stream in (worker.process.stdin, worker.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(worker.workdir, ignore_errors=True)

    # ------------------------------------------------------------------------------------
    # one job on one worker

    def _serve(self, worker: _Worker, files: dict, calls: list[dict], results: dict) -> list[dict]:
        finished: list[dict] = []
        try:
            ready = self._read_line(worker, STARTUP_TIMEOUT_S)
            if ready is None:
                raise RuntimeError(f"a grader worker did not start within {STARTUP_TIMEOUT_S} s")
            job = {"workdir": str(worker.workdir), "files": files, "calls": calls,
                   "memory_mb": self.limits.memory_mb, "output_bytes": self.limits.output_bytes,
                   "sandboxed": worker.sandboxed,
                   "hidden_paths": [str(REPOSITORY / "reference"), *map(str, self.hidden_paths)]}
            for call in calls:
                call.setdefault("timeout", self.limits.timeout_s)
            worker.process.stdin.write(json.dumps(job).encode() + b"\n")
            worker.process.stdin.flush()

            for call in calls:
                result = self._receive(worker, call)
                results[call["id"]] = result
                finished.append(call)
                if result["status"] in ("timeout", "crashed", "exited", "broken"):
                    break
        except (BrokenPipeError, OSError) as error:
            logger.error("grader worker %s failed: %s", worker.process.pid, error)
            if calls and calls[0]["id"] not in results:
                results[calls[0]["id"]] = {"status": "broken", "message": f"the worker process failed: {error}"}
                finished.append(calls[0])
        finally:
            self._stop(worker)
        return finished

    def _receive(self, worker: _Worker, call: dict) -> dict:
        line = self._read_line(worker, call["timeout"])
        if line is None:
            # bwrap may outlive its dead child for a moment; give it that moment before calling this a hang.
            try:
                worker.process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                pass
        if line is None and worker.process.poll() is None:
            os.killpg(worker.process.pid, signal.SIGKILL)
            return {"status": "timeout", "message": f"no result within {call['timeout']} s; look for a loop that never ends",
                    **self._stuck_location(worker)}
        if line is None:
            status, message = describe_exit(worker.process.wait(), worker.sandboxed)
            return {"status": status, "message": message, **self._stuck_location(worker)}
        try:
            result = decode(line.decode("utf-8"))
            if not isinstance(result, dict) or result.get("id") != call["id"] or not isinstance(result.get("status"), str):
                raise CodecError("the reply does not belong to this call")
        except (CodecError, UnicodeDecodeError, ValueError) as error:
            return {"status": "broken", "message": f"the worker's reply could not be read: {error}"}
        return result

    def _read_line(self, worker: _Worker, timeout: float) -> bytes | None:
        """Return one line from the worker, or None on timeout or end of stream."""
        deadline = time.monotonic() + timeout
        stream = worker.process.stdout
        with selectors.DefaultSelector() as selector:
            selector.register(stream, selectors.EVENT_READ)
            while b"\n" not in worker.buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    return None
                chunk = os.read(stream.fileno(), 1 << 20)
                if not chunk:
                    return None
                worker.buffer += chunk
                if len(worker.buffer) > MAX_REPLY_BYTES:
                    return None
        line, _, worker.buffer = worker.buffer.partition(b"\n")
        return line

    def _stuck_location(self, worker: _Worker) -> dict:
        """Find the student's line in the traceback that faulthandler wrote before a timeout or crash."""
        try:
            text = (worker.workdir / "output.txt").read_text(errors="replace")[-20000:]
        except OSError:
            return {}
        workspace = str(worker.workdir / "workspace") + "/"
        matches = re.findall(r'File "' + re.escape(workspace) + r'([^"]+)", line (\d+)', text)
        if not matches:
            return {}
        # faulthandler prints the innermost frame first.
        relative, line = matches[0]
        return {"file": relative, "line": int(line)}
