"""The grader: full marks for the reference, zero for stubs, hints for known mistakes, and
containment of hostile student code with and without the sandbox."""

import socket
import threading
from pathlib import Path

import pytest
import torch

from grader.__main__ import main as grader_main
from grader.catalog import EXERCISES
from grader.checks import compare, deviates_like
from grader.codec import CodecError, decode, encode
from grader.grading import grade, read_workspace, solution_files
from grader.pool import Limits, WorkerPool
from grader.sandbox import bwrap_status
from grader.worker import _finish_result, _has_children

REPOSITORY = Path(__file__).resolve().parents[1]
IDS = [exercise.id for exercise in EXERCISES]
SANDBOX_USABLE, SANDBOX_REASON = bwrap_status()


@pytest.fixture(scope="session")
def pool():
    # Nothing graded with this pool should hang, so a generous timeout only guards against a
    # slow, busy machine: the training-step check once took more than 5 s under heavy load.
    with WorkerPool(size=2, limits=Limits(timeout_s=15.0)) as shared:
        yield shared


@pytest.fixture(scope="session")
def reference_results(pool):
    return {result.id: result for result in grade(IDS, solution_files(), pool)}


@pytest.fixture(scope="session")
def mistake_results(pool):
    """Grade every exercise's i-th mistake in one round per i; maps (id, i) to the result."""
    graded = {}
    for index in range(max(len(e.mistakes) for e in EXERCISES)):
        overrides = {e.id: e.mistakes[index].function.__name__ for e in EXERCISES if len(e.mistakes) > index}
        for result in grade(list(overrides), solution_files(overrides), pool):
            graded[result.id, index] = result
    return graded


def test_codec_docstring_example():
    assert decode(encode({(1, 2): 3, "x": (1.5, None)})) == {(1, 2): 3, "x": (1.5, None)}


def test_codec_roundtrips_tensors():
    for tensor in (torch.randn(2, 3), torch.zeros(0, 4), torch.arange(5), torch.tensor([True]), torch.randn(3).bfloat16()):
        decoded = decode(encode(tensor))
        assert decoded.dtype == tensor.dtype
        assert torch.equal(decoded, tensor)


@pytest.mark.parametrize("message", [
    '{"__tensor__": {"dtype": "object", "shape": [1], "data": ""}}',
    '{"__tensor__": {"dtype": "float32", "shape": [2], "data": "AAAA"}}',
    '{"__pickle__": "gASV"}',
    "not json",
])
def test_codec_rejects_invalid_messages(message):
    with pytest.raises(CodecError):
        decode(message)


def test_compare_docstring_example():
    assert compare([1, 2, 3], [1, 5, 3], 0, 0).message == "output differs first at index 1: expected 2, got 5"


def test_compare_names_tensor_difference():
    expected = torch.zeros(2, 3)
    actual = expected.clone()
    actual[1, 2] = 0.5
    mismatch = compare(expected, actual, 1e-5, 1e-4)
    assert mismatch.kind == "values"
    assert "max abs error 0.5" in mismatch.message
    assert "(1, 2)" in mismatch.message


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_scores_full_marks(reference_results, exercise_id):
    result = reference_results[exercise_id]
    failures = [(c.name, c.message) for c in result.checks if c.earned < c.points]
    assert failures == []
    assert result.passed


def test_stubs_score_zero_not_implemented(pool):
    files = {f"exercises/{name}": source for name, source in read_workspace(REPOSITORY / "exercises").items()}
    for result in grade(IDS, files, pool):
        assert result.earned == 0, result.id
        assert all("not implemented yet" in check.message for check in result.checks), result.id


@pytest.mark.parametrize("exercise_id,index", [(e.id, i) for e in EXERCISES for i in range(len(e.mistakes))])
def test_mistake_fails_with_its_hint(mistake_results, exercise_id, index):
    result = mistake_results[exercise_id, index]
    hint = next(e for e in EXERCISES if e.id == exercise_id).mistakes[index].hint
    assert not result.passed
    assert hint in result.hints


def test_hint_for_mistake_combined_with_a_fix(pool):
    # No max subtracted (so 1000 overflows), yet a fully masked row correctly gives zeros: the
    # whole output matches no known mistake, but every wrong element matches the overflow one.
    source = ("import torch\n"
              "def softmax(x, dim=-1):\n"
              "    e = x.exp()\n"
              "    total = e.sum(dim=dim, keepdim=True)\n"
              "    return torch.where(total > 0, e / total, torch.zeros_like(e))\n")
    result, = grade(["softmax"], {"exercises/lesson04_attention.py": source}, pool)
    assert not result.passed
    assert result.hints == ["exp() overflowed: subtract the maximum of each row before exp()"]


def test_no_hint_when_wrong_beyond_known_mistakes(pool):
    source = "import torch\ndef softmax(x, dim=-1):\n    return 1.01 * torch.softmax(x, dim=dim)\n"
    result, = grade(["softmax"], {"exercises/lesson04_attention.py": source}, pool)
    assert not result.passed
    assert result.hints == []


def test_deviates_like_compares_wrong_elements_only():
    nan = float("nan")
    expected, wrong = torch.tensor([0.5, 0.5, 0.0]), torch.tensor([nan, 0.5, nan])
    assert deviates_like(torch.tensor([nan, 0.5, 0.0]), expected, wrong, 1e-6, 1e-6) == (True, True)
    assert deviates_like(torch.tensor([0.4, 0.5, 0.0]), expected, wrong, 1e-6, 1e-6) == (False, True)
    assert deviates_like(expected.clone(), expected, wrong, 1e-6, 1e-6) == (True, False)
    pair = (torch.tensor([nan]), torch.tensor([1.0]))
    assert deviates_like(pair, (torch.tensor([1.0]), torch.tensor([1.0])), pair, 1e-6, 1e-6) == (True, True)
    assert deviates_like([1, 2], [1, 2], [1, 3], 1e-6, 1e-6) is None
    assert deviates_like(torch.zeros(2), torch.zeros(3), torch.zeros(2), 1e-6, 1e-6) is None


def test_syntax_error_names_line(pool):
    files = {"exercises/lesson06_block.py": "def gelu(x):\n    return x +\n"}
    result, = grade(["gelu"], files, pool)
    assert "syntax error at exercises/lesson06_block.py line 2" in result.checks[0].message


def test_exception_names_line_and_message(pool):
    files = {"exercises/lesson06_block.py": "def gelu(x):\n    y = 1\n    return x[99, 99, 99]\n"}
    result, = grade(["gelu"], files, pool)
    message = result.checks[0].message
    assert "exercises/lesson06_block.py line 3" in message
    assert "IndexError" in message


def test_wrong_shape_reported(pool):
    files = {"exercises/lesson06_block.py": "def gelu(x):\n    return x.sum(-1)\n"}
    result, = grade(["gelu"], files, pool)
    assert "has shape (2, 5), expected (2, 5, 8)" in result.checks[0].message


def test_nan_reported(pool):
    files = {"exercises/lesson06_block.py": "def gelu(x):\n    return x * float('nan')\n"}
    result, = grade(["gelu"], files, pool)
    assert "contains nan" in result.checks[1].message


def test_hidden_check_shows_no_details(pool):
    files = {"exercises/lesson06_block.py": "def gelu(x):\n    return x * 0.5\n"}
    result, = grade(["gelu"], files, pool)
    hidden = [check for check in result.checks if check.hidden]
    assert hidden and hidden[0].earned == 0
    assert hidden[0].message == "failed (this check's inputs and details are hidden)"
    assert hidden[0].hints == []


# ------------------------------------------------------------------------------------------
# hostile student code, one behaviour per exercise of lessons 1 to 4

HOSTILE = '''
import os, sys, socket, subprocess, ctypes, torch

def utf8_bytes(text):
    while True:
        pass

def char_encode(text, vocab):
    blocks = []
    while True:
        blocks.append(torch.empty(10**8))

def get_pair_counts(ids, counts=None):
    while True:
        print("spam" * 1000)

def merge(ids, pair, new_id):
    sys.exit(3)

def bpe_train(text, vocab_size, pattern=None):
    os._exit(7)

def bpe_encode(text, merges, pattern=None):
    ctypes.string_at(0)

def bpe_decode(ids, merges):
    return subprocess.run(["true"]).returncode

def embed(idx, token_weight, position_weight):
    return open(REFERENCE).read()

def softmax(x, dim=-1):
    connection = socket.create_connection(("127.0.0.1", PORT), timeout=1)
    connection.sendall(b"leak")
    return x
'''

EXPECTED = {
    "utf8_bytes": "timed out",
    "char_encode": "ran out of memory",
    "get_pair_counts": "printed too much output",
    "merge": "sys.exit(3)",
    "bpe_train": "exited with status 7",
    "bpe_encode": "SIGSEGV",
    "bpe_decode": "tried to start a process",
    "embed": "exception",
    "softmax": "network",
}


@pytest.fixture(scope="module")
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def accept():
        try:
            while True:
                accepted.append(server.accept())
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()


def _grade_hostile(pool, port):
    source = HOSTILE.replace("REFERENCE", repr(str(REPOSITORY / "reference" / "attention.py"))).replace("PORT", str(port))
    files = {"exercises/hostile.py": source}
    for lesson in ("lesson01_text", "lesson02_bpe", "lesson03_embeddings", "lesson04_attention"):
        files[f"exercises/{lesson}.py"] = "from exercises.hostile import *  # noqa: F403\n"
    return {result.id: result for result in grade(list(EXPECTED), files, pool)}


def _assert_contained(results, accepted):
    for exercise_id, phrase in EXPECTED.items():
        first = results[exercise_id].checks[0]
        assert first.earned == 0, exercise_id
        assert phrase in first.message, (exercise_id, first.message)
    reference_source = (REPOSITORY / "reference" / "attention.py").read_text()
    assert all(reference_source[:200] not in check.message for r in results.values() for check in r.checks)
    assert accepted == []


def test_hostile_code_contained_in_sandbox(listener):
    if not SANDBOX_USABLE:
        pytest.skip(f"bwrap cannot run here: {SANDBOX_REASON}")
    port, accepted = listener
    with WorkerPool(size=2, sandbox=True, limits=Limits(timeout_s=2.0)) as sandboxed:
        results = _grade_hostile(sandboxed, port)
    _assert_contained(results, accepted)
    assert "No such file" in results["embed"].checks[0].message
    assert all(r.sandbox == "sandboxed with bwrap" for r in results.values())


def test_hostile_code_contained_without_sandbox(listener):
    port, accepted = listener
    with WorkerPool(size=2, sandbox=False, limits=Limits(timeout_s=2.0)) as plain:
        results = _grade_hostile(plain, port)
    _assert_contained(results, accepted)
    assert "is not allowed" in results["embed"].checks[0].message
    assert all(r.sandbox.startswith("running without the sandbox") for r in results.values())


def test_pool_serves_after_hostile_code(pool):
    files = {"exercises/lesson06_block.py": "import os\ndef gelu(x):\n    os._exit(1)\n"}
    grade(["gelu"], files, pool)
    result, = grade(["gelu"], solution_files(), pool)
    assert result.passed


def test_hidden_check_says_not_run_after_timeout():
    files = {"exercises/lesson04_attention.py": "def softmax(x, dim=-1):\n    while True:\n        pass\n"}
    with WorkerPool(size=1, sandbox=False, limits=Limits(timeout_s=1.0)) as quick:
        result, = grade(["softmax"], files, quick)
    first, hidden = result.checks[0], [check for check in result.checks if check.hidden]
    assert first.cause == "timeout"
    assert hidden
    assert all(check.message.startswith("not run (an earlier call") for check in hidden)


def test_child_check_skips_ended_thread(tmp_path):
    # /proc/self/task lists a thread that has ended by the time its children file is read.
    (tmp_path / "101").mkdir()
    (tmp_path / "102").mkdir()
    (tmp_path / "102" / "children").write_text("")
    assert _has_children(tmp_path) is False

    (tmp_path / "102" / "children").write_text("4242 ")
    assert _has_children(tmp_path) is True


def test_worker_failure_named_as_broken(tmp_path):
    capture = open(tmp_path / "output.txt", "w+b")
    capture.close()  # reading the call's prints now fails inside the worker, not in student code
    reply = decode(_finish_result({"id": "softmax/0", "status": "ok", "value": 1, "events": []}, capture, 100))
    assert reply["status"] == "broken"
    assert reply["id"] == "softmax/0"
    assert reply["message"].startswith("ValueError")
    assert "after the call returned" in reply["message"]


def test_broken_call_retried_once(tmp_path):
    # The first worker's bookkeeping fails after the student's call, as a vanished thread once
    # made it do. That fault is the grader's, so the pool runs the call again on a fresh worker.
    marker = tmp_path / "first-try"
    source = (
        "import os, torch, grader.worker\n"
        "def gelu(x):\n"
        f"    if not os.path.exists({str(marker)!r}):\n"
        f"        open({str(marker)!r}, 'w').close()\n"
        "        def fail(tasks=None):\n"
        "            raise FileNotFoundError('the thread ended')\n"
        "        grader.worker._has_children = fail\n"
        "    return 0.5 * x * (1 + torch.erf(x / 2 ** 0.5))\n"
    )
    with WorkerPool(size=1, sandbox=False) as plain:
        result, = grade(["gelu"], {"exercises/lesson06_block.py": source}, plain)
    assert marker.exists()
    assert result.passed, [(c.name, c.message) for c in result.checks]


@pytest.mark.parametrize("timeout", ["0", "-3", "nan"])
def test_check_rejects_timeout_not_positive(timeout, capsys):
    assert grader_main(["check", "softmax", "--timeout", timeout]) == 2
    assert f"--timeout must be > 0 seconds, got {float(timeout)}" in capsys.readouterr().err


def test_check_names_missing_exercise_file(tmp_path, capsys):
    (tmp_path / "exercises").mkdir()
    assert grader_main(["check", "softmax", "--path", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "exercises/lesson04_attention.py not found" in err
    assert "Traceback" not in err


def test_check_names_non_utf8_file(tmp_path, capsys):
    folder = tmp_path / "exercises"
    folder.mkdir()
    (folder / "lesson04_attention.py").write_bytes(b"# caf\xe9\n")
    assert grader_main(["check", "softmax", "--path", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'lesson04_attention.py'} is not valid UTF-8" in err
    assert "save it as UTF-8" in err
