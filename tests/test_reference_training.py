"""Loss, batching, optimizer, schedule, checkpoints and the training loop of the reference."""

import math

import pytest
import torch
import torch.nn.functional as F

from reference.batching import next_token_pair, random_batch
from reference.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, strip_wrapper_prefixes
from reference.config import preset
from reference.loss import cross_entropy
from reference.model import GPT
from reference.optim import clip_gradient_norm, parameter_groups
from reference.schedule import learning_rate
from reference.training import TrainConfig, TrainingError, evaluate, train


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(0)


def test_cross_entropy_matches_torch(generator):
    logits = torch.randn(3, 5, 11, generator=generator) * 4
    targets = torch.randint(0, 11, (3, 5), generator=generator)
    expected = F.cross_entropy(logits.view(-1, 11), targets.view(-1))
    torch.testing.assert_close(cross_entropy(logits, targets), expected)


def test_cross_entropy_gradient_matches_torch(generator):
    logits = torch.randn(4, 7, generator=generator, requires_grad=True)
    targets = torch.randint(0, 7, (4,), generator=generator)
    (ours,) = torch.autograd.grad(cross_entropy(logits, targets), logits)
    (theirs,) = torch.autograd.grad(F.cross_entropy(logits, targets), logits)
    torch.testing.assert_close(ours, theirs)


def test_cross_entropy_survives_huge_logits():
    loss = cross_entropy(torch.tensor([[1000.0, 0.0]]), torch.tensor([1]))
    assert loss.item() == pytest.approx(1000.0)


def test_cross_entropy_rejects_out_of_range_targets():
    with pytest.raises(ValueError, match="targets must be ids"):
        cross_entropy(torch.zeros(2, 4), torch.tensor([0, 4]))


def test_next_token_pair_shifts_by_one():
    inputs, targets = next_token_pair(torch.tensor([5, 6, 7, 8]))
    assert inputs.tolist() == [5, 6, 7]
    assert targets.tolist() == [6, 7, 8]


def test_random_batch_targets_follow_inputs(generator):
    tokens = torch.arange(100)
    inputs, targets = random_batch(tokens, batch_size=4, context_length=8, generator=generator)
    assert inputs.shape == targets.shape == (4, 8)
    assert torch.equal(targets, inputs + 1)


def test_random_batch_rejects_short_stream():
    with pytest.raises(ValueError, match="context_length \\+ 1 = 9"):
        random_batch(torch.arange(8), batch_size=2, context_length=8)


def test_weight_decay_only_on_matrices():
    model = GPT(preset("tiny"))
    decay, no_decay = parameter_groups(model, weight_decay=0.1)
    assert all(p.dim() >= 2 for p in decay["params"])
    assert all(p.dim() == 1 for p in no_decay["params"])
    assert no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_clip_gradient_norm_matches_torch(generator):
    ours = [torch.randn(3, 4, generator=generator) for _ in range(3)]
    theirs = [t.clone() for t in ours]
    for tensors in (ours, theirs):
        for t in tensors:
            t.requires_grad_()
            t.grad = t.detach() * 10
    norm = clip_gradient_norm(ours, max_norm=1.0)
    expected_norm = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.0)
    torch.testing.assert_close(norm, expected_norm)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a.grad, b.grad)


def test_learning_rate_warmup_and_decay():
    assert learning_rate(0.0, 1e-3, 1e-4, warmup=0.1) == 0.0
    assert learning_rate(0.05, 1e-3, 1e-4, warmup=0.1) == pytest.approx(5e-4)
    assert learning_rate(0.1, 1e-3, 1e-4, warmup=0.1) == pytest.approx(1e-3)
    assert learning_rate(0.55, 1e-3, 1e-4, warmup=0.1) == pytest.approx(5.5e-4)
    assert learning_rate(1.0, 1e-3, 1e-4, warmup=0.1) == pytest.approx(1e-4)


def test_learning_rate_rejects_bad_warmup():
    with pytest.raises(ValueError, match="warmup"):
        learning_rate(0.5, 1e-3, 1e-4, warmup=1.0)


def test_tiny_model_overfits_one_batch():
    torch.manual_seed(0)
    model = GPT(preset("tiny"))
    tokens = torch.randint(0, 256, (33,))
    config = TrainConfig(batch_size=4, max_steps=150, max_lr=3e-3, min_lr=1e-3, eval_interval=150, eval_batches=1, weight_decay=0.0)
    state = train(model, tokens, tokens, config)
    assert state.step == 150
    assert state.history[-1]["val_loss"] < 0.05


def test_training_is_repeatable_with_a_seed():
    tokens = torch.randint(0, 256, (500,), generator=torch.Generator().manual_seed(1))
    config = TrainConfig(batch_size=2, max_steps=5, eval_interval=5, eval_batches=1)
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        state = train(GPT(preset("tiny")), tokens, tokens, config)
        losses.append(state.history[-1]["val_loss"])
    assert losses[0] == losses[1]


def test_nan_loss_stops_with_clear_error():
    torch.manual_seed(0)
    model = GPT(preset("tiny"))
    with torch.no_grad():
        model.embeddings.token.weight[0, 0] = float("nan")
    tokens = torch.zeros(100, dtype=torch.long)
    with pytest.raises(TrainingError, match="loss became nan at step 1"):
        train(model, tokens, tokens, TrainConfig(batch_size=2, max_steps=3))


def test_validation_text_too_short_is_reported():
    with pytest.raises(ValueError, match="validation text has 10 tokens"):
        evaluate(GPT(preset("tiny")), torch.zeros(10, dtype=torch.long), 2, 32, 1)


def test_checkpoint_roundtrip_is_exact(tmp_path):
    torch.manual_seed(0)
    config = preset("tiny")
    model = GPT(config)
    path = tmp_path / "poet.pt"
    save_checkpoint(path, model_config=config, model=model.state_dict(), tokenizer={"kind": "test"}, step=7)
    record = load_checkpoint(path)
    restored = GPT(record["model_config"])
    restored.load_state_dict(record["model"])
    assert record["model_config"] == config
    assert record["step"] == 7
    for (name, a), (_, b) in zip(model.state_dict().items(), restored.state_dict().items()):
        assert torch.equal(a, b), name
    assert restored.lm_head.weight is restored.embeddings.token.weight


def test_checkpoint_from_compiled_model_loads(tmp_path):
    config = preset("tiny")
    compiled = torch.compile(GPT(config))  # compiles lazily: only its parameter names change here
    assert next(iter(compiled.state_dict())).startswith("_orig_mod.")
    save_checkpoint(tmp_path / "compiled.pt", model_config=config, model=compiled.state_dict(), tokenizer={})
    GPT(config).load_state_dict(load_checkpoint(tmp_path / "compiled.pt")["model"])


def test_checkpoint_from_ddp_wrapped_compiled_model_loads(tmp_path):
    config = preset("tiny")
    state = {f"module._orig_mod.{name}": value for name, value in GPT(config).state_dict().items()}
    save_checkpoint(tmp_path / "wrapped.pt", model_config=config, model=state, tokenizer={})
    GPT(config).load_state_dict(load_checkpoint(tmp_path / "wrapped.pt")["model"])


def test_strip_wrapper_prefixes_docstring_example():
    assert list(strip_wrapper_prefixes({"module._orig_mod.lm_head.weight": 0})) == ["lm_head.weight"]


def test_checkpoint_errors_name_the_problem(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="could not be read"):
        load_checkpoint(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(CheckpointError, match="not a checkpoint of this course"):
        load_checkpoint(foreign)


def test_failed_save_keeps_previous_checkpoint(tmp_path):
    config = preset("tiny")
    path = tmp_path / "poet.pt"
    save_checkpoint(path, model_config=config, model=GPT(config).state_dict(), tokenizer={}, step=1)
    with pytest.raises(Exception):
        save_checkpoint(path, model_config=config, model=GPT(config).state_dict(), tokenizer={}, step=lambda: None)
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["poet.pt"]


def test_gpu_checkpoint_loads_on_cpu(tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here; the CPU map_location is still exercised by every other load")
    config = preset("tiny")
    model = GPT(config).cuda()
    save_checkpoint(tmp_path / "gpu.pt", model_config=config, model=model.state_dict(), tokenizer={})
    record = load_checkpoint(tmp_path / "gpu.pt")
    assert all(t.device.type == "cpu" for t in record["model"].values())


def test_doubling_learning_rate_formula_is_cosine():
    midpoint = learning_rate(0.5, 2.0, 0.0, warmup=0.0)
    assert midpoint == pytest.approx(1.0)
    quarter = learning_rate(0.25, 2.0, 0.0, warmup=0.0)
    assert quarter == pytest.approx(1.0 + math.cos(math.pi / 4))
