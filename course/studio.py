"""The poet studio's background trainings: each student's assembled poet trains in a sandbox.

The app never imports student code. `StudioManager.start` writes a job folder with the
student's files, the settings and the encoded corpus, and runs `course.studio.main` in it. Where
bubblewrap works, that process has no network and a read-only file system, and it sees the
repository only as `grader/`, `reference/` and `course/`. The gradebook and other students'
work therefore stay out of its reach. The sandboxed process trains with the assembled functions and writes one JSON line per
step (step, loss, tokens per second) to a private pipe; a thread in the app reads them into a
`TrainingRun`. Student prints go to `output.txt` in the job folder, not to that pipe.

`StudioManager.write` runs a finished training's weights in a fresh sandboxed process, which
generates a poem and then runs the model once more on the poem's first line to record the
attention weights that the student's own `scaled_dot_product_attention` returns (see
`course.assembly.record_attention`). The app receives those weights as numbers in a
`WrittenPoem`, so it can draw the student's attention without importing their code.

A student has at most one training at a time, and a semaphore caps the trainings of the whole
server. Stopping creates the file `stop` in the job folder; the process saves its weights and
exits, or is killed after a grace period.

Deliberately left out: the audit hook that blocks process creation in the grader's workers.
Here bubblewrap's namespaces and the killed process group contain child processes instead.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from course.assembly import REFERENCE, UNAVAILABLE, YOURS, PoetFactory, generate_ids, next_token_batch, record_attention
from grader.sandbox import REPOSITORY, bwrap_status, worker_environment
from reference.config import GPTConfig
from reference.optim import make_optimizer

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "weights.pt"
# Largest file the training process may write: the weights of the largest studio model are a few
# MB, and student prints go to output.txt, which must not fill the disk.
MAX_FILE_BYTES = 64 * 2**20
STOP_FILE = "stop"
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class StudioSettings:
    """One training of a student's poet: model shape, steps and the sandbox's limits."""

    steps: int = 300  # optimizer steps; about a minute for the default shape on two CPU threads
    batch_size: int = 16  # sequences per step
    context_length: int = 64  # tokens per window; shorter than the demo poet's 128 to train faster
    n_layer: int = 2
    n_head: int = 4
    d_model: int = 96
    max_lr: float = 2e-3  # peak learning rate, as the reference trainer's default
    min_lr: float = 2e-4  # a tenth of the peak
    warmup: float = 0.1  # fraction of the steps spent warming up
    grad_clip: float = 1.0
    eval_interval: int = 50  # steps between validation losses
    seed: int = 1337
    threads: int = 2  # PyTorch threads per training, so that several fit on one server
    memory_mb: int = 3072  # address space for the training process, on top of what torch maps
    time_limit_s: float = 900.0  # wall clock for the whole training, after which it is killed

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "context_length", "n_layer", "n_head", "d_model",
                     "eval_interval", "threads", "memory_mb"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0 < self.min_lr <= self.max_lr:
            raise ValueError(f"need 0 < min_lr <= max_lr, got min_lr={self.min_lr}, max_lr={self.max_lr}")
        if self.time_limit_s <= 0:
            raise ValueError(f"time_limit_s must be > 0 seconds, got {self.time_limit_s}")

    def model_config(self, vocab_size: int) -> GPTConfig:
        """Return the GPT shape for a tokenizer of `vocab_size` tokens (raises on a bad width/heads pair)."""
        return GPTConfig(vocab_size=vocab_size, context_length=self.context_length, n_layer=self.n_layer,
                         n_head=self.n_head, d_model=self.d_model)


def job_data(tokenizer, train_tokens: torch.Tensor, val_tokens: torch.Tensor) -> dict:
    """Pack a reference `BPETokenizer` and the encoded corpus as a training job's data."""
    merges = [[left, right, new] for (left, right), new in tokenizer.merges.items()]
    return {"tokenizer": {"vocab_size": tokenizer.vocab_size, "merges": merges, "pattern": tokenizer.pattern},
            "train_tokens": train_tokens, "val_tokens": val_tokens}


@dataclass(frozen=True)
class WrittenPoem:
    """A poem from the sandbox, and the attention that the student's model computed on its first line."""

    text: str
    line: str = ""  # the poem's first non-empty line, which the attention covers
    ids: list[int] = field(default_factory=list)  # that line's token ids, at most context_length
    attention: list[torch.Tensor] | None = None  # n_layer x (H, T, T), or None when unavailable
    source: str = UNAVAILABLE  # whose scaled_dot_product_attention computed it: yours, reference or unavailable
    reason: str = ""  # one line on why attention is None


def first_line(text: str) -> str:
    r"""Return the first line of `text` that is not blank, or "" when there is none.

    >>> first_line("\n  \nThe sea at night\nsings")
    'The sea at night'
    """
    return next((line for line in text.splitlines() if line.strip()), "")


class StudioBusy(RuntimeError):
    """A training cannot start now: this student's is running, or the server is at its limit."""


@dataclass
class TrainingRun:
    """One training's state in the app: its status, the step records and the job folder."""

    student_id: str
    folder: Path
    settings: StudioSettings
    pieces: dict[str, str]
    status: str = "starting"  # starting, training, finished, stopped, failed
    message: str = ""
    records: list[dict] = field(default_factory=list)
    evaluations: list[dict] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    process: subprocess.Popen | None = None
    # Called from the reading thread after each validation pass and when the run ends.
    on_change: Callable[[TrainingRun], None] | None = None

    @property
    def running(self) -> bool:
        return self.status in ("starting", "training")

    @property
    def weights_path(self) -> Path:
        return self.folder / WEIGHTS_FILE

    def stop(self) -> None:
        """Ask the training to save its weights and end; it is killed if it does not within STOP_GRACE_S."""
        if self.running:
            (self.folder / STOP_FILE).touch()

    def progress(self) -> float:
        """Return the fraction of steps done, from 0 to 1."""
        return self.records[-1]["step"] / self.settings.steps if self.records else 0.0


class StudioManager:
    """Starts and tracks trainings: one per student, at most `max_concurrent` on the server."""

    def __init__(self, max_concurrent: int = 2, sandbox: bool | None = None, hidden_paths: tuple[Path, ...] = ()):
        if max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, got {max_concurrent}")
        usable, reason = bwrap_status()
        if sandbox and not usable:
            raise RuntimeError(f"the sandbox was required but {reason}; install bubblewrap or pass sandbox=False")
        self.sandboxed = usable if sandbox is None else sandbox
        self.sandbox_note = "sandboxed with bwrap" if self.sandboxed else f"running without the sandbox ({reason})"
        self.hidden_paths = tuple(Path(path).resolve() for path in hidden_paths)
        self.max_concurrent = max_concurrent
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._lock = threading.Lock()
        self._runs: dict[str, TrainingRun] = {}
        self._scratch = Path(tempfile.mkdtemp(prefix="poet-studio-"))
        # bwrap's --die-with-parent ends a process when the thread that started it exits, and a
        # Streamlit rerun's thread ends with the rerun, so one long-lived thread starts them all.
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="studio-launcher")

    def run_of(self, student_id: str) -> TrainingRun | None:
        """Return the student's latest training, running or not."""
        with self._lock:
            return self._runs.get(student_id)

    def start(self, student_id: str, factory: PoetFactory, pieces: dict[str, str], settings: StudioSettings,
              data: dict, on_change: Callable[[TrainingRun], None] | None = None) -> TrainingRun:
        """Start a training of the student's assembled poet on `data` (tokenizer, train and val tokens)."""
        with self._lock:
            current = self._runs.get(student_id)
            if current is not None and current.running:
                raise StudioBusy("your poet is already training; stop it or wait until it finishes")
            if not self._slots.acquire(blocking=False):
                raise StudioBusy(f"the server already trains {self.max_concurrent} poets, its limit; "
                                 f"try again in a minute")
            folder = Path(tempfile.mkdtemp(dir=self._scratch, prefix="run-"))
            run = TrainingRun(student_id, folder, settings, pieces, on_change=on_change)
            self._runs[student_id] = run

        try:
            _write_job(folder, "train", factory, settings, data)
            run.process = self._launch(folder, settings)
        except Exception:
            self._slots.release()
            run.status = "failed"
            raise
        logger.info("started training for student %s in %s", student_id, folder)
        threading.Thread(target=self._follow, args=(run,), daemon=True, name=f"studio-{student_id}").start()
        return run

    def write(self, run: TrainingRun, factory: PoetFactory, data: dict, prompt: str, max_new_tokens: int,
              temperature: float, top_k: int | None, top_p: float | None, seed: int,
              timeout_s: float = 120.0) -> WrittenPoem:
        """Write a poem with a finished run's weights in a fresh sandboxed process, and record its attention."""
        if not run.weights_path.is_file():
            raise FileNotFoundError("this training saved no weights yet; train the poet first")
        folder = Path(tempfile.mkdtemp(dir=self._scratch, prefix="write-"))
        shutil.copy(run.weights_path, folder / WEIGHTS_FILE)
        request = {"prompt": prompt, "max_new_tokens": max_new_tokens, "temperature": temperature,
                   "top_k": top_k, "top_p": top_p, "seed": seed}
        _write_job(folder, "write", factory, run.settings, {"tokenizer": data["tokenizer"]}, request)
        process = self._launch(folder, run.settings)
        try:
            output, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _kill(process)
            raise TimeoutError(f"writing took longer than {timeout_s:.0f} s; ask for fewer new tokens") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        replies = [json.loads(line) for line in output.decode().splitlines() if line.strip()]
        if not replies or replies[-1].get("event") != "poem":
            message = replies[-1].get("message") if replies else f"the writing process exited with status {process.returncode}"
            raise RuntimeError(f"your poet could not write: {message}")
        return _written_poem(replies[-1], run.settings.model_config(data["tokenizer"]["vocab_size"]), run.student_id)

    def close(self) -> None:
        """Kill every running training and remove the job folders."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            if run.process is not None and run.process.poll() is None:
                _kill(run.process)
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _launch(self, folder: Path, settings: StudioSettings) -> subprocess.Popen:
        return self._launcher.submit(self._spawn, folder, settings).result()

    def _spawn(self, folder: Path, settings: StudioSettings) -> subprocess.Popen:
        python = [sys.executable, "-I", "-c",
                  f"import sys; sys.path.insert(0, {str(REPOSITORY)!r}); from course.studio import main; main()"]
        command = self._bwrap_arguments(folder) + ["--"] + python if self.sandboxed else python
        environment = {**worker_environment(), "OMP_NUM_THREADS": str(settings.threads)}
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                cwd=folder, env=environment, start_new_session=True)

    def _bwrap_arguments(self, folder: Path) -> list[str]:
        arguments = [shutil.which("bwrap"), "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent",
                     "--new-session", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        # Hide the repository and every listed folder, then put back only the code the poet needs.
        for hidden in (REPOSITORY, *self.hidden_paths):
            if hidden.is_dir():
                arguments += ["--tmpfs", str(hidden)]
        for package in ("grader", "reference", "course"):
            arguments += ["--ro-bind", str(REPOSITORY / package), str(REPOSITORY / package)]
        environment = Path(sys.prefix)
        if environment != Path(sys.base_prefix):
            arguments += ["--ro-bind", str(environment), str(environment)]
        return arguments + ["--bind", str(folder), str(folder), "--chdir", str(folder)]

    def _follow(self, run: TrainingRun) -> None:
        deadline = time.monotonic() + run.settings.time_limit_s
        stop_deadline = None
        try:
            for line in _lines(run.process, lambda: deadline):
                event = json.loads(line)
                _apply_event(run, event)
                if event.get("event") == "eval":
                    _notify(run)
                if (run.folder / STOP_FILE).exists() and stop_deadline is None:
                    stop_deadline = time.monotonic() + STOP_GRACE_S
                    deadline = min(deadline, stop_deadline)
            if run.process.poll() is None:
                _kill(run.process)
                run.status, run.message = ("stopped", "stopped (the process was killed after the grace period)") \
                    if stop_deadline else ("failed", f"timed out after {run.settings.time_limit_s:.0f} s")
            elif run.running:
                run.status = "failed"
                run.message = run.message or f"the training process exited with status {run.process.wait()}"
        except (ValueError, OSError) as error:
            logger.error("training of student %s failed: %s", run.student_id, error)
            _kill(run.process)
            run.status, run.message = "failed", f"the training process sent an unreadable reply: {error}"
        finally:
            self._slots.release()
            logger.info("training of student %s ended: %s %s", run.student_id, run.status, run.message)
            _notify(run)


def _notify(run: TrainingRun) -> None:
    if run.on_change is None:
        return
    try:
        run.on_change(run)
    except Exception as error:  # noqa: BLE001 - a failing observer must not end the training's bookkeeping
        logger.error("status callback for student %s failed: %s", run.student_id, error)


def _lines(process: subprocess.Popen, deadline):
    """Yield stdout lines until the process closes its pipe or `deadline()` passes."""
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline() - time.monotonic()
            if remaining <= 0:
                return
            if not selector.select(min(remaining, 1.0)):
                continue
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, _, buffer = buffer.partition(b"\n")
                yield line.decode()


def _apply_event(run: TrainingRun, event: dict) -> None:
    kind = event.get("event")
    if kind == "step":
        run.status = "training"
        run.records.append(event)
    elif kind == "eval":
        run.evaluations.append(event)
    elif kind == "done":
        run.status = "stopped" if event.get("stopped") else "finished"
    elif kind == "error":
        run.status, run.message = "failed", event.get("message", "unknown error")


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _written_poem(reply: dict, config: GPTConfig, student_id: str) -> WrittenPoem:
    """Check the attention in a "poem" reply against the model's shape; keep the poem either way."""
    text = reply["text"]
    line = reply.get("attention_line") if isinstance(reply.get("attention_line"), str) else ""
    ids = reply.get("attention_ids") if isinstance(reply.get("attention_ids"), list) else []
    source = reply.get("attention_source", UNAVAILABLE)
    if source == UNAVAILABLE:
        return WrittenPoem(text, line, ids, None, UNAVAILABLE, reply.get("attention_reason", "no reason was given"))

    # The reply crosses from the sandbox, where student code runs, so its numbers are checked here.
    try:
        attention = torch.tensor(reply["attention"], dtype=torch.float32)  # (n_layer, H, T, T)
    except (KeyError, TypeError, ValueError) as error:
        logger.warning("unreadable attention in the poem reply for student %s: %s", student_id, error)
        return WrittenPoem(text, line, ids, None, UNAVAILABLE,
                           f"the writing process sent unreadable attention ({error})")
    expected = (config.n_layer, config.n_head, len(ids), len(ids))
    valid_ids = bool(ids) and all(isinstance(i, int) and 0 <= i < config.vocab_size for i in ids)
    if source not in (YOURS, REFERENCE) or tuple(attention.shape) != expected or not valid_ids:
        logger.warning("invalid attention in the poem reply for student %s: source %r, shape %s, %d ids",
                       student_id, source, tuple(attention.shape), len(ids))
        return WrittenPoem(text, line, ids, None, UNAVAILABLE,
                           f"the writing process sent attention of shape {tuple(attention.shape)} from {source!r}, "
                           f"expected shape {expected} from 'yours' or 'reference'")
    return WrittenPoem(text, line, ids, list(attention.unbind(0)), source)


def _write_job(folder: Path, mode: str, factory: PoetFactory, settings: StudioSettings, data: dict,
               request: dict | None = None) -> None:
    job = {"mode": mode, "settings": asdict(settings), "files": factory.workspace_files,
           "yours": sorted(factory.yours), "tokenizer": data["tokenizer"], "request": request}
    (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
    if mode == "train":
        torch.save({"train": data["train_tokens"], "val": data["val_tokens"]}, folder / "tokens.pt")


# ------------------------------------------------------------------------------------------
# the sandboxed side: runs in the job folder, imports the student's code


def main() -> None:
    """Run the job in the current folder: train, or write a poem. Replies go to the original stdout."""
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    output = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(output, 1)
    os.dup2(output, 2)

    def reply(event: str, **fields) -> None:
        replies.write(json.dumps({"event": event, **fields}) + "\n")

    job = json.loads(Path("job.json").read_text(encoding="utf-8"))
    settings = StudioSettings(**job["settings"])
    _apply_limits(settings.memory_mb)
    torch.set_num_threads(settings.threads)
    try:
        factory = PoetFactory(job["files"], frozenset(job["yours"]))
        functions = factory.functions(Path.cwd() / "workspace")
        if job["mode"] == "train":
            _train(functions, settings, job["tokenizer"], reply)
        else:
            workspace = Path.cwd() / "workspace"
            reply("poem", **_write_poem(functions, settings, job["tokenizer"], job["request"], workspace))
    except Exception as error:  # noqa: BLE001 - student code may raise anything; the app shows it
        reply("error", message=f"{type(error).__name__}: {error}")


def _apply_limits(memory_mb: int) -> None:
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (mapped + memory_mb * 2**20,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_FILE_BYTES,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _train(functions, settings: StudioSettings, tokenizer: dict, reply) -> None:
    from course.assembly import AssembledGPT

    tokens = torch.load("tokens.pt", weights_only=True)
    torch.manual_seed(settings.seed)
    model = AssembledGPT(settings.model_config(tokenizer["vocab_size"]), functions)
    optimizer = make_optimizer(model.weights, settings.max_lr, weight_decay=0.1)
    generator = torch.Generator().manual_seed(settings.seed)
    stopped = False
    for step in range(1, settings.steps + 1):
        if Path(STOP_FILE).exists():
            stopped = True
            break
        started = time.perf_counter()
        lr = functions.learning_rate((step - 1) / settings.steps, settings.max_lr, settings.min_lr, settings.warmup)
        for group in optimizer.param_groups:
            group["lr"] = lr
        inputs, targets = next_token_batch(functions, tokens["train"], settings.batch_size, settings.context_length, generator)
        loss = functions.training_step(model, optimizer, inputs, targets, settings.grad_clip)
        tokens_per_second = inputs.numel() / (time.perf_counter() - started)
        reply("step", step=step, loss=float(loss), lr=lr, tokens_per_second=tokens_per_second)
        if step % settings.eval_interval == 0 or step == settings.steps:
            reply("eval", step=step, val_loss=_validation_loss(model, functions, tokens["val"], settings))
    torch.save(model.weights.state_dict(), WEIGHTS_FILE)
    reply("done", stopped=stopped)


@torch.no_grad()
def _validation_loss(model, functions, tokens: torch.Tensor, settings: StudioSettings) -> float:
    generator = torch.Generator().manual_seed(0)  # the same windows at every evaluation
    inputs, targets = next_token_batch(functions, tokens, settings.batch_size, settings.context_length, generator)
    return float(functions.cross_entropy(model(inputs), targets))


def _write_poem(functions, settings: StudioSettings, tokenizer: dict, request: dict, workspace: Path) -> dict:
    """Generate the poem, then record its attention; return the fields of the "poem" reply."""
    from course.assembly import AssembledGPT

    model = AssembledGPT(settings.model_config(tokenizer["vocab_size"]), functions)
    model.weights.load_state_dict(torch.load(WEIGHTS_FILE, weights_only=True))
    merges = {(left, right): new for left, right, new in tokenizer["merges"]}
    ids = functions.bpe_encode(request["prompt"] or "\n", merges, tokenizer["pattern"])
    out = generate_ids(model, list(ids), request["max_new_tokens"], request["temperature"], request["top_k"],
                       request["top_p"], request["seed"])
    text = request["prompt"] + functions.bpe_decode(out[len(ids):], merges)
    return {"text": text, **_poem_attention(model, functions, text, merges, tokenizer["pattern"], workspace)}


def _poem_attention(model, functions, text: str, merges: dict, pattern: str, workspace: Path) -> dict:
    line = first_line(text)
    if not line:
        return {"attention_source": UNAVAILABLE, "attention_reason": "the poem has no line with text to attend over"}
    fields = {"attention_line": line}
    try:
        ids = [int(i) for i in functions.bpe_encode(line, merges, pattern)][:model.config.context_length]
        fields["attention_ids"] = ids
        record = record_attention(model, ids, workspace)
    except Exception as error:  # noqa: BLE001 - student code may raise anything, and the poem is still shown
        message = (str(error).splitlines() or [""])[0]  # the reason must fit on one line
        return {**fields, "attention_source": UNAVAILABLE,
                "attention_reason": f"the attention pass raised {type(error).__name__}: {message}"}
    if record.weights is None:
        return {**fields, "attention_source": UNAVAILABLE, "attention_reason": record.reason}
    # Four decimals keep the reply small: 4 layers of 4 heads on 64 tokens measured about 0.4 MB of JSON.
    attention = [weights.double().round(decimals=4).tolist() for weights in record.weights]
    return {**fields, "attention_source": record.source, "attention": attention}


if __name__ == "__main__":
    main()
