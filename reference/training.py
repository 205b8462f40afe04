"""The training loop: batches, AdamW, the learning-rate schedule, clipping, evaluation, checkpoints.

It trains on one process or, under torchrun, on several with DistributedDataParallel. It knows
nothing of text: it takes token streams, and the caller (`reference.cli`) does the tokenizing.
"""

import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from reference.batching import random_batch
from reference.distributed import ProcessGroup, broadcast_float
from reference.loss import cross_entropy
from reference.optim import clip_gradient_norm, make_optimizer
from reference.schedule import learning_rate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: every setting with its unit. Model shapes live in GPTConfig."""

    batch_size: int = 16  # sequences per step (per process under torchrun)
    max_steps: int = 5000  # optimizer steps; training stops at max_steps or max_minutes, first
    max_minutes: float | None = None  # wall-clock budget in minutes; None means steps only
    max_lr: float = 2e-3  # peak learning rate, reached at the end of warm-up
    min_lr: float = 2e-4  # floor of the cosine decay, a tenth of the peak as in GPT-3
    warmup: float = 0.1  # fraction of the run spent warming up
    weight_decay: float = 0.1  # AdamW decoupled weight decay, on matrices only
    grad_clip: float = 1.0  # maximum global gradient norm; 0 turns clipping off
    eval_interval: int = 100  # steps between validation passes (and checkpoints)
    eval_batches: int = 8  # validation batches per pass
    seed: int = 1337  # seeds initialization and batch order, for repeatable runs

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_steps < 1 or self.eval_interval < 1 or self.eval_batches < 1:
            raise ValueError(
                "batch_size, max_steps, eval_interval and eval_batches must be >= 1, got "
                f"{self.batch_size}, {self.max_steps}, {self.eval_interval}, {self.eval_batches}"
            )
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise ValueError(f"max_minutes must be > 0 or None, got {self.max_minutes}")
        if not 0 < self.min_lr <= self.max_lr:
            raise ValueError(f"need 0 < min_lr <= max_lr, got min_lr={self.min_lr}, max_lr={self.max_lr}")


@dataclass
class TrainState:
    """Progress of a run (steps, time, tokens, evaluations), saved in checkpoints for resuming."""

    step: int = 0
    elapsed_seconds: float = 0.0
    tokens_seen: int = 0
    history: list[dict] = field(default_factory=list)


class TrainingError(RuntimeError):
    """An error that stops training, such as a NaN loss; its message names the fix."""


def evaluate(model: nn.Module, tokens: Tensor, batch_size: int, context_length: int, n_batches: int) -> float:
    """Return the mean loss on evenly spaced windows of `tokens`: the same windows every time."""
    windows_available = tokens.numel() - context_length
    if windows_available < 1:
        raise ValueError(
            f"the validation text has {tokens.numel()} tokens, fewer than context_length + 1 = "
            f"{context_length + 1}; give more validation text or a shorter context"
        )
    n_windows = min(batch_size * n_batches, windows_available)
    starts = torch.linspace(0, windows_available - 1, n_windows).long()

    was_training = model.training
    model.eval()
    losses = []
    with torch.no_grad():
        for chunk in starts.split(batch_size):
            windows = tokens[chunk[:, None] + torch.arange(context_length + 1)]  # (B, T + 1)
            inputs, targets = windows[:, :-1], windows[:, 1:]
            losses.append(cross_entropy(model(inputs), targets).item() * len(chunk))
    model.train(was_training)
    return sum(losses) / n_windows


def train(
    model: nn.Module,
    train_tokens: Tensor,
    val_tokens: Tensor,
    config: TrainConfig,
    *,
    group: ProcessGroup = ProcessGroup(),
    state: TrainState | None = None,
    optimizer_state: dict | None = None,
    chars_per_token: float | None = None,
    on_eval: Callable[[dict, nn.Module, torch.optim.Optimizer, TrainState], None] | None = None,
    on_step: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainState:
    """Train `model` in place on next-token prediction; return the final TrainState.

    on_eval runs on the main process after each validation pass, and the CLI saves a checkpoint
    there. on_step runs after every step with the step's numbers. should_stop lets a caller,
    such as the app's stop button, end the run early. chars_per_token converts validation loss per
    token into loss per character, which compares across tokenizers.
    """
    context_length = model.config.context_length
    state = state or TrainState()
    device = group.device
    model.to(device)
    train_tokens, val_tokens = train_tokens.to(device), val_tokens.to(device)

    # Each process draws different batches (seed + rank); DDP averages their gradients.
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed + 1000 * group.rank + state.step)
    optimizer = make_optimizer(model, config.max_lr, config.weight_decay)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    trained = DistributedDataParallel(model) if group.is_distributed else model
    trained.train()

    start_time = time.perf_counter() - state.elapsed_seconds
    while True:
        progress = _progress(state, config, time.perf_counter() - start_time, group)
        if progress >= 1.0 or (should_stop is not None and should_stop()):
            break

        lr = learning_rate(progress, config.max_lr, config.min_lr, config.warmup)
        step_start = time.perf_counter()
        loss, grad_norm = _train_step(trained, optimizer, lr, train_tokens, config, context_length, generator)
        state.step += 1
        state.tokens_seen += config.batch_size * context_length * group.world_size
        state.elapsed_seconds = time.perf_counter() - start_time

        if not math.isfinite(loss):
            raise TrainingError(
                f"the training loss became {loss} at step {state.step} (learning rate {lr:.2e}); "
                f"lower --lr or keep --grad-clip at 1.0, and resume from the last checkpoint"
            )
        record = {
            "step": state.step, "train_loss": loss, "lr": lr, "grad_norm": grad_norm,
            "tokens_per_second": config.batch_size * context_length * group.world_size / (time.perf_counter() - step_start),
            "elapsed_seconds": state.elapsed_seconds, "progress": progress,
        }
        if on_step is not None:
            on_step(record)

        if state.step % config.eval_interval == 0:
            _evaluate_and_record(model, val_tokens, config, state, record, chars_per_token, group, optimizer, on_eval)

    # Always finish with a validation pass, so the last checkpoint carries its loss.
    if not state.history or state.history[-1]["step"] != state.step:
        record = {"step": state.step, "elapsed_seconds": state.elapsed_seconds}
        _evaluate_and_record(model, val_tokens, config, state, record, chars_per_token, group, optimizer, on_eval)
    return state


def _progress(state: TrainState, config: TrainConfig, elapsed: float, group: ProcessGroup) -> float:
    # The run ends at max_steps or max_minutes, whichever comes first. Clocks differ between
    # processes, so rank 0's progress is the one every rank uses: otherwise their learning
    # rates, and then their weights, would drift apart.
    progress = state.step / config.max_steps
    if config.max_minutes is not None:
        progress = max(progress, elapsed / (60.0 * config.max_minutes))
    return broadcast_float(progress, group)


def _train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    lr: float,
    tokens: Tensor,
    config: TrainConfig,
    context_length: int,
    generator: torch.Generator,
) -> tuple[float, float]:
    for parameter_group in optimizer.param_groups:
        parameter_group["lr"] = lr

    inputs, targets = random_batch(tokens, config.batch_size, context_length, generator)  # (B, T) each
    loss = cross_entropy(model(inputs), targets)

    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = clip_gradient_norm(list(model.parameters()), config.grad_clip) if config.grad_clip > 0 else torch.tensor(0.0)
    optimizer.step()
    return loss.item(), grad_norm.item()


def _evaluate_and_record(model, val_tokens, config, state, record, chars_per_token, group, optimizer, on_eval) -> None:
    # Every rank has identical weights, so rank 0's validation loss is the loss of all of them.
    if not group.is_main:
        return
    val_loss = evaluate(model, val_tokens, config.batch_size, model.config.context_length, config.eval_batches)
    entry = {**record, "val_loss": val_loss}
    if chars_per_token:
        entry["val_loss_per_char"] = val_loss / chars_per_token
    state.history.append(entry)
    logger.info("step %d: validation loss %.4f", state.step, val_loss)
    if on_eval is not None:
        on_eval(entry, model, optimizer, state)


def state_to_dict(state: TrainState) -> dict:
    """Return the state as plain data for a checkpoint."""
    return asdict(state)
