"""The assembled poet (`course.assembly`) and its sandboxed trainings (`course.studio`)."""

import math
import sys
import time
from pathlib import Path

import pytest
import torch

from course.assembly import (
    REFERENCE_FUNCTIONS, AssembledGPT, PoetFunctions, assemble_poet, generate_ids, record_attention,
)
from course.studio import StudioBusy, StudioManager, StudioSettings, _written_poem, first_line, job_data
from grader.grading import solution_files
from reference.bpe import BPETokenizer
from reference.config import preset
from reference.model import GPT
from reference.sampling import generate
from tests.workspaces import write_reference_workspace

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


# ---------------------------------------------------------------------------------------------
# recording the student's attention


# Two pieces of a student's lesson 5: each fills {attend} with its way of computing attention.
LESSON05_TEMPLATE = """
import math

import torch
from torch import nn
{imports}

def multi_head_attention(x, qkv_weight, qkv_bias, proj_weight, proj_bias, n_head):
    B, T, C = x.shape
    q, k, v = nn.functional.linear(x, qkv_weight, qkv_bias).split(C, dim=-1)
    q, k, v = (t.view(B, T, n_head, C // n_head).transpose(1, 2) for t in (q, k, v))
    mask = torch.ones(T, T, dtype=torch.bool).tril()
{attend}
    return nn.functional.linear(y.transpose(1, 2).reshape(B, T, C), proj_weight, proj_bias)
"""
CALLS_LESSON04 = LESSON05_TEMPLATE.format(
    imports="from exercises.lesson04_attention import scaled_dot_product_attention",
    attend="    y, _ = scaled_dot_product_attention(q, k, v, mask=mask)")
INLINE = LESSON05_TEMPLATE.format(
    imports="",
    attend="    scores = (q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))).masked_fill(~mask, float('-inf'))\n"
           "    y = torch.softmax(scores, dim=-1) @ v")

# A student's lesson 4 attention, with the 1/sqrt(D) scaling or, by mistake, without it.
LESSON04_TEMPLATE = """
import math

import torch


def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1){scale}
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights
"""
SCALED = LESSON04_TEMPLATE.format(scale=" / math.sqrt(q.size(-1))")
UNSCALED = LESSON04_TEMPLATE.format(scale="")


def student_files(lesson04: str, lesson05: str = "") -> dict[str, str]:
    return {"exercises/__init__.py": "", "exercises/lesson04_attention.py": lesson04,
            "exercises/lesson05_multihead.py": lesson05}


def reference_workspace_files(folder: Path) -> dict[str, str]:
    write_reference_workspace(folder)
    return {str(path.relative_to(folder)): path.read_text() for path in folder.rglob("*.py")}


@pytest.fixture
def fresh_exercises(monkeypatch):
    """Import each test's workspace anew: `exercises` modules cached by an earlier test would shadow it."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    cached = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "exercises"}
    for name in cached:
        del sys.modules[name]
    yield
    for name in [name for name in sys.modules if name.split(".")[0] == "exercises"]:
        del sys.modules[name]
    sys.modules.update(cached)


def sharp_twin_models(functions: PoetFunctions) -> tuple[AssembledGPT, GPT]:
    """Like `twin_models`, with query-key weights large enough that attention is far from uniform."""
    assembled, _ = twin_models(functions)
    with torch.no_grad():
        for block in assembled.weights.blocks:
            block.attention.qkv.weight.mul_(25.0)
    twin = GPT(TINY)
    twin.load_state_dict(assembled.weights.state_dict())
    return assembled, twin.eval()


IDS = [3, 14, 15, 92, 65, 35, 89, 79]


def reference_attention_maps(twin: GPT, ids: list[int]) -> list[torch.Tensor]:
    with torch.no_grad():
        _, attention = twin.forward_with_attention(torch.tensor([ids]))
    return [weights[0] for weights in attention]  # n_layer x (H, T, T)


@pytest.mark.parametrize("yours, source", [
    (set(REFERENCE_FUNCTIONS), "yours"),  # their gpt_forward reaches attention through module globals
    ({"scaled_dot_product_attention"}, "yours"),  # the reference composition calls their function
    (set(), "reference"),
])
def test_record_attention_matches_gpt_module(tmp_path, fresh_exercises, yours, source):
    _, factory = assemble_poet(reference_workspace_files(tmp_path / "student"), yours)
    workspace = tmp_path / "workspace"
    assembled, twin = sharp_twin_models(factory.functions(workspace))
    record = record_attention(assembled, IDS, workspace)
    assert record.source == source, record.reason
    assert len(record.weights) == TINY.n_layer
    assert_maps_match_reference(record, twin)


def assert_maps_match_reference(record, twin) -> None:
    """Check each recorded layer against the reference GPT's own attention on the same weights."""
    expected = reference_attention_maps(twin, IDS)
    for layer in range(TINY.n_layer):
        torch.testing.assert_close(record.weights[layer], expected[layer], atol=1e-5, rtol=0)


def test_record_attention_restores_student_globals(tmp_path, fresh_exercises):
    _, factory = assemble_poet(student_files(SCALED, CALLS_LESSON04), {"multi_head_attention"})
    workspace = tmp_path / "workspace"
    assembled, _ = twin_models(factory.functions(workspace))
    lesson05 = sys.modules["exercises.lesson05_multihead"]
    before = lesson05.scaled_dot_product_attention
    record_attention(assembled, IDS, workspace)
    assert lesson05.scaled_dot_product_attention is before


def test_record_attention_through_imported_function(tmp_path, fresh_exercises):
    # Only multi_head_attention passes, so the poet never calls their attention itself. Their
    # multi_head_attention calls it, through the name it imported from lesson 4.
    _, factory = assemble_poet(student_files(SCALED, CALLS_LESSON04), {"multi_head_attention"})
    workspace = tmp_path / "workspace"
    assembled, twin = sharp_twin_models(factory.functions(workspace))
    record = record_attention(assembled, IDS, workspace)
    assert record.source == "yours", record.reason
    assert_maps_match_reference(record, twin)


def test_record_attention_inline_is_unavailable(tmp_path, fresh_exercises):
    _, factory = assemble_poet(student_files(SCALED, INLINE), {"multi_head_attention"})
    workspace = tmp_path / "workspace"
    assembled, _ = twin_models(factory.functions(workspace))
    record = record_attention(assembled, IDS, workspace)
    assert record.source == "unavailable"
    assert record.weights is None
    assert "without calling scaled_dot_product_attention" in record.reason


def test_record_attention_shows_student_mistake(tmp_path, fresh_exercises):
    # Their attention leaves out the 1/sqrt(D) scaling, so its maps must differ from the reference's.
    _, factory = assemble_poet(student_files(UNSCALED), {"scaled_dot_product_attention"})
    workspace = tmp_path / "workspace"
    assembled, twin = sharp_twin_models(factory.functions(workspace))
    record = record_attention(assembled, IDS, workspace)
    assert record.source == "yours", record.reason
    expected = reference_attention_maps(twin, IDS)
    assert (record.weights[0] - expected[0]).abs().max() > 0.05

    # Layer 0 receives the same input either way, so its unscaled maps can be rebuilt from PyTorch's modules.
    T, H = len(IDS), TINY.n_head
    with torch.no_grad():
        block = twin.blocks[0]
        x = block.norm1(twin.embeddings(torch.tensor([IDS])))  # (1, T, C)
        q, k, _ = block.attention.qkv(x).split(TINY.d_model, dim=-1)  # 3 x (1, T, C)
        q, k = (t.view(1, T, H, TINY.d_model // H).transpose(1, 2) for t in (q, k))  # 2 x (1, H, T, D)
        scores = (q @ k.transpose(-2, -1)).masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), -math.inf)
        unscaled = torch.softmax(scores, dim=-1)[0]  # (H, T, T)
    torch.testing.assert_close(record.weights[0], unscaled, atol=1e-5, rtol=0)


def test_first_line_docstring_example():
    assert first_line("\n  \nThe sea at night\nsings") == "The sea at night"
    assert first_line(" \n") == ""


def test_written_poem_rejects_wrong_attention_shape():
    reply = {"event": "poem", "text": "the sea", "attention_line": "the sea", "attention_ids": [1, 2],
             "attention_source": "yours", "attention": [[[[1.0, 0.0], [0.5, 0.5]]]]}  # one head, expected two
    poem = _written_poem(reply, StudioSettings(n_layer=1, n_head=2, d_model=16).model_config(300), "ada")
    assert poem.text == "the sea"
    assert poem.attention is None
    assert poem.source == "unavailable"
    assert "expected shape (1, 2, 2, 2)" in poem.reason


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
        assert poem.text.startswith("the sea")
        assert poem.source == "reference", poem.reason
        assert len(poem.attention) == SMALL.n_layer
    finally:
        manager.close()


def test_studio_write_sends_student_attention(tiny_data, tmp_path):
    # Two layers, so that the order of the recorded maps matters.
    settings = StudioSettings(steps=4, batch_size=2, context_length=16, n_layer=2, n_head=2, d_model=16,
                              eval_interval=2)
    manager = StudioManager()
    try:
        pieces, factory = assemble_poet(reference_workspace_files(tmp_path / "student"), set(REFERENCE_FUNCTIONS))
        run = manager.start("ada", factory, pieces, settings, tiny_data)
        wait_until_done(run)
        assert run.status == "finished", run.message
        poem = manager.write(run, factory, tiny_data, "the sea\nsings", 8, 0.8, None, None, 0)
        twin = GPT(settings.model_config(tiny_data["tokenizer"]["vocab_size"]))
        twin.load_state_dict(torch.load(run.weights_path, weights_only=True))
    finally:
        manager.close()

    assert poem.source == "yours", poem.reason
    assert poem.line == "the sea"
    merges = {(left, right): new for left, right, new in tiny_data["tokenizer"]["merges"]}
    tokenizer = BPETokenizer(merges, tiny_data["tokenizer"]["pattern"])
    assert poem.ids == tokenizer.encode_ordinary("the sea")[:settings.context_length]
    expected = reference_attention_maps(twin.eval(), poem.ids)
    assert len(poem.attention) == settings.n_layer
    for layer in range(settings.n_layer):
        # The reply rounds to 4 decimals, which adds up to 5e-5 to the 1e-5 of the computation.
        torch.testing.assert_close(poem.attention[layer], expected[layer], atol=6e-5, rtol=0)


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
