"""How a worker process is started: inside bubblewrap where it works, plainly otherwise.

Inside bubblewrap a worker has no network, sees the file system read-only, and sees an empty
folder where the repository is (so no `reference/`, gradebook or other students' work), except
for the grader package, the virtual environment and its own scratch folder. Without bubblewrap
the worker still gets the limits that `grader.worker` sets and the pool's timeout, and the
grader reports that it runs without the sandbox.
"""

import functools
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

REPOSITORY = Path(__file__).resolve().parents[1]


@functools.cache
def bwrap_status() -> tuple[bool, str]:
    """Return (usable, reason): whether `bwrap` exists and can create the namespaces it needs."""
    executable = shutil.which("bwrap")
    if executable is None:
        return False, "bwrap is not installed (Debian package bubblewrap)"
    probe = [executable, "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"]
    try:
        completed = subprocess.run(probe, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, f"bwrap failed to start: {error}"
    if completed.returncode != 0:
        return False, f"bwrap cannot create namespaces here: {completed.stderr.decode(errors='replace').strip()}"
    return True, "bwrap works"


def worker_command(workdir: Path, sandboxed: bool, hidden_paths: list[Path]) -> list[str]:
    """Build the command line that starts one worker, writing only to `workdir`."""
    python = [sys.executable, "-I", "-c",
              f"import sys; sys.path.insert(0, {str(REPOSITORY)!r}); from grader.worker import main; main()"]
    if not sandboxed:
        return python
    return _bwrap_arguments(workdir, hidden_paths) + ["--"] + python


def worker_environment() -> dict[str, str]:
    """Return the environment of a worker: no inherited secrets, one thread per library."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def _bwrap_arguments(workdir: Path, hidden_paths: list[Path]) -> list[str]:
    arguments = [shutil.which("bwrap"), "--ro-bind", "/", "/", "--unshare-all", "--die-with-parent",
                 "--new-session", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]

    # Later mounts go on top of earlier ones: hide the repository and every listed folder,
    # then put back only what the worker needs to run.
    for hidden in [REPOSITORY, *hidden_paths]:
        if Path(hidden).is_dir():
            arguments += ["--tmpfs", str(hidden)]
    arguments += ["--ro-bind", str(REPOSITORY / "grader"), str(REPOSITORY / "grader")]
    environment = Path(sys.prefix)
    if environment != Path(sys.base_prefix):
        arguments += ["--ro-bind", str(environment), str(environment)]
    arguments += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    return arguments


def describe_exit(returncode: int, sandboxed: bool) -> tuple[str, str]:
    """Name how a worker ended: ("crashed", "signal SIGSEGV ...") or ("exited", "status 3")."""
    import signal

    signal_number = -returncode if returncode < 0 else None
    # bwrap reports a child killed by a signal as exit status 128 + the signal number.
    if sandboxed and returncode > 128:
        signal_number = returncode - 128
    if signal_number:
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            name = f"signal {signal_number}"
        meaning = {"SIGSEGV": "segmentation fault", "SIGKILL": "killed", "SIGABRT": "aborted",
                   "SIGBUS": "bus error", "SIGFPE": "arithmetic error"}.get(name, "")
        return "crashed", f"the Python process crashed with {name}" + (f" ({meaning})" if meaning else "")
    return "exited", f"the Python process exited with status {returncode} before returning a result (os._exit?)"
