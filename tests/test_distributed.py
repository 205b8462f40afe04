"""Training under torchrun with two CPU processes (gloo) keeps every copy of the model identical."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reference.config import preset
from reference.model import GPT

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def torchrun(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(free_port()), *args,
    ]
    environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=timeout)


def test_two_processes_keep_identical_weights(tmp_path):
    result = torchrun(str(REPO / "tests" / "ddp_worker.py"), str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]

    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert rank0["steps"] == rank1["steps"] == 5
    initial = GPT(preset("tiny")).state_dict()
    for name, weights in rank0["state"].items():
        assert torch.equal(weights, rank1["state"][name]), name
    # The weights really moved, so the equality above is not that of two untouched copies.
    assert not torch.equal(rank0["state"]["blocks.0.attention.qkv.weight"], initial["blocks.0.attention.qkv.weight"])


def test_train_command_runs_under_torchrun(tmp_path):
    corpus = tmp_path / "poems.txt"
    corpus.write_text("Shall I compare thee to a summer's day?\nThou art more lovely and more temperate.\n" * 150)
    out = tmp_path / "poet.pt"
    result = torchrun(
        "-m", "reference", "train", "--corpus", str(corpus), "--cache-dir", str(tmp_path / "cache"),
        "--out", str(out), "--vocab-size", "280", "--context-length", "16", "--layers", "1", "--heads", "2",
        "--width", "16", "--batch-size", "4", "--steps", "4", "--eval-interval", "2", "--eval-batches", "1",
        "--device", "cpu", "--quiet",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = torch.load(out, weights_only=True)
    assert record["step"] == 4
    assert not any(name.startswith("module.") for name in record["model"])
