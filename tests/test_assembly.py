"""The assembled poet (`course.assembly`) and its sandboxed trainings (`course.studio`)."""

import time
from pathlib import Path

import pytest
import torch

from course.assembly import (
    REFERENCE_FUNCTIONS, AssembledGPT, PoetFunctions, assemble_poet, generate_ids,
)
from course.studio import StudioBusy, StudioManager, StudioSettings, job_data
from grader.grading import solution_files
from reference.bpe import BPETokenizer
from reference.config import preset
from reference.model import GPT
from reference.sampling import generate

TINY = preset("tiny")


def reference_functions() -> PoetFunctions:
    return PoetFunctions(dict(REFERENCE_FUNCTIONS), frozenset())


def twin_models(functions: PoetFunctions) -> tuple[AssembledGPT, GPT]:
    torch.manual_seed(0)
    assembled = AssembledGPT(TINY, functions)
    twin = GPT(TINY)
    twin.load_state_dict(assembled.weights.state_dict())
    return assembled.eval(), twin.eval()


def test_assemble_poet_docstring_example():
    pieces, _ = assemble_poet({}, {"softmax", "utf8_bytes"})
    assert pieces["softmax"] == "yours"
    assert pieces["embed"] == "reference"
    assert "utf8_bytes" not in pieces


def test_assemble_poet_marks_only_passing_pieces():
    pieces, factory = assemble_poet({"exercises/x.py": ""}, ["gelu", "cross_entropy"])
    assert {piece for piece, owner in pieces.items() if owner == "yours"} == {"gelu", "cross_entropy"}
    assert factory.yours == frozenset({"gelu", "cross_entropy"})


def test_assemble_poet_rejects_single_string():
    with pytest.raises(TypeError, match="wrap a single id"):
        assemble_poet({}, "softmax")


def test_all_reference_assembly_matches_gpt_module():
    assembled, twin = twin_models(reference_functions())
    idx = torch.randint(TINY.vocab_size, (2, 9), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(assembled(idx), twin(idx), atol=1e-5, rtol=1e-5)


def test_student_solutions_match_gpt_module(tmp_path):
    # The reference laid out as a student's files, imported the way the sandbox imports them.
    _, factory = assemble_poet(solution_files(), set(REFERENCE_FUNCTIONS))
    assembled, twin = twin_models(factory.functions(tmp_path / "workspace"))
    idx = torch.randint(TINY.vocab_size, (2, 9), generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(assembled(idx), twin(idx), atol=1e-5, rtol=1e-5)


def test_composition_calls_student_softmax_per_layer():
    calls = []

    def counting_softmax(x, dim=-1):
        calls.append(tuple(x.shape))
        return torch.softmax(x, dim=dim)

    functions = PoetFunctions({**REFERENCE_FUNCTIONS, "softmax": counting_softmax}, frozenset({"softmax"}))
    assembled, twin = twin_models(functions)
    idx = torch.randint(TINY.vocab_size, (1, 5), generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(assembled(idx), twin(idx), atol=1e-5, rtol=1e-5)
    assert calls == [(1, TINY.n_head, 5, 5)] * TINY.n_layer


def test_assembled_model_gradients_reach_every_weight():
    assembled, _ = twin_models(reference_functions())
    idx = torch.randint(TINY.vocab_size, (2, 6), generator=torch.Generator().manual_seed(4))
    assembled(idx).logsumexp(-1).sum().backward()
    missing = [name for name, parameter in assembled.weights.named_parameters() if parameter.grad is None]
    assert missing == []


def test_generate_ids_matches_reference_generate():
    assembled, twin = twin_models(reference_functions())
    ids = [5, 17, 42]
    ours = generate_ids(assembled, ids, 12, temperature=0.9, top_k=20, top_p=None, seed=7)
    expected = generate(twin, torch.tensor([ids]), 12, 0.9, 20, None, seed=7)[0].tolist()
    assert ours == expected


def test_studio_settings_reject_bad_steps():
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        StudioSettings(steps=0)


# ---------------------------------------------------------------------------------------------
# sandboxed trainings


@pytest.fixture(scope="module")
def tiny_data():
    text = "".join(f"line {n}: the sea sings to the shore, and the shore to the sea\n" for n in range(60))
    tokenizer = BPETokenizer.train(text, 270)
    tokens = torch.tensor(tokenizer.encode_ordinary(text))
    split = int(0.8 * len(tokens))
    return job_data(tokenizer, tokens[:split], tokens[split:])


def wait_until_done(run, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while run.running and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not run.running, f"the training did not end within {seconds} s"


SMALL = StudioSettings(steps=4, batch_size=2, context_length=16, n_layer=1, n_head=2, d_model=16, eval_interval=2)


def test_studio_training_finishes_and_writes(tiny_data):
    manager = StudioManager()
    try:
        pieces, factory = assemble_poet(solution_files(), {"softmax", "next_token_probabilities"})
        run = manager.start("ada", factory, pieces, SMALL, tiny_data)
        wait_until_done(run)
        assert run.status == "finished", run.message
        assert [record["step"] for record in run.records] == [1, 2, 3, 4]
        assert [evaluation["step"] for evaluation in run.evaluations] == [2, 4]
        poem = manager.write(run, factory, tiny_data, "the sea", 8, 0.8, None, None, 0)
        assert poem.startswith("the sea")
    finally:
        manager.close()


def test_studio_reports_student_exception(tiny_data):
    broken = {"exercises/__init__.py": "",
              "exercises/lesson06_block.py": "def gelu(x):\n    raise RuntimeError('gelu is broken on purpose')\n"}
    manager = StudioManager()
    try:
        pieces, factory = assemble_poet(broken, {"gelu"})
        run = manager.start("ada", factory, pieces, SMALL, tiny_data)
        wait_until_done(run)
        assert run.status == "failed"
        assert "gelu is broken on purpose" in run.message
    finally:
        manager.close()


def test_studio_limits_concurrent_trainings(tiny_data):
    manager = StudioManager(max_concurrent=1)
    try:
        pieces, factory = assemble_poet({}, set())
        slow = StudioSettings(steps=2000, batch_size=2, context_length=16, n_layer=1, n_head=2, d_model=16)
        first = manager.start("ada", factory, pieces, slow, tiny_data)
        with pytest.raises(StudioBusy, match="already training"):
            manager.start("ada", factory, pieces, slow, tiny_data)
        with pytest.raises(StudioBusy, match="limit"):
            manager.start("grace", factory, pieces, slow, tiny_data)
        first.stop()
        wait_until_done(first)
        assert first.status == "stopped"
        assert Path(first.weights_path).is_file()
    finally:
        manager.close()
