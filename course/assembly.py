"""Assemble the student's poet: their passing exercises where they pass, the reference elsewhere.

`assemble_poet` is pure bookkeeping and runs in the app: it decides, exercise by exercise, whose
function the poet will use, and returns a `PoetFactory`. Only the factory touches student code,
and only inside the studio's sandboxed training process (`course.studio`), never in the app.

The assembled model keeps its weights in a reference `GPT`, with the same parameter names and
initialization. Its forward pass is the student's `gpt_forward` when that passes. Otherwise it is
the reference composition below, in which each inner piece (embed, transformer_block,
multi_head_attention, scaled_dot_product_attention, softmax, ...) is again the student's when it
passes. A passing outer piece therefore hides the inner ones: the student's
`transformer_block` decides for itself which attention it calls.

`record_attention` runs the assembled model once more, also inside the sandbox, and keeps the
weights that each layer's `scaled_dot_product_attention` returns, so that the studio can draw
attention computed by the student's own code.

Deliberately left out: the tokenizer's merges are the demo poet's (the student's `bpe_train` is
not run, because training merges on a corpus takes minutes in pure Python), and the training
text is encoded in the app with the reference tokenizer.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import torch
from torch import Tensor, nn

from reference import attention as reference_attention
from reference import batching, functional, gelu, layernorm, loss, multihead, sampling, schedule
from reference.config import GPTConfig
from reference.model import GPT
from reference.optim import clip_gradient_norm

YOURS = "yours"
REFERENCE = "reference"

# Exercise id -> the reference function the poet uses when the student's does not pass yet.
REFERENCE_FUNCTIONS: dict[str, Callable] = {
    "bpe_encode": functional.bpe_encode,
    "bpe_decode": functional.bpe_decode,
    "embed": functional.embed,
    "softmax": reference_attention.softmax,
    "causal_mask": reference_attention.causal_mask,
    "scaled_dot_product_attention": reference_attention.scaled_dot_product_attention,
    "split_heads": multihead.split_heads,
    "multi_head_attention": functional.multi_head_attention,
    "layer_norm": layernorm.layer_norm,
    "gelu": gelu.gelu,
    "feed_forward": functional.feed_forward,
    "transformer_block": functional.transformer_block,
    "gpt_forward": functional.gpt_forward,
    "next_token_pair": batching.next_token_pair,
    "cross_entropy": loss.cross_entropy,
    "training_step": functional.training_step,
    "learning_rate": schedule.learning_rate,
    "next_token_probabilities": sampling.next_token_probabilities,
}

# Role of each piece in the poet, shown on the studio page.
PIECE_ROLES: dict[str, str] = {
    "bpe_encode": "encodes your prompts",
    "bpe_decode": "turns the poet's ids back into verse",
    "embed": "token and position embeddings",
    "softmax": "turns attention scores into weights",
    "causal_mask": "hides the future from each token",
    "scaled_dot_product_attention": "one head's attention",
    "split_heads": "splits the width into heads",
    "multi_head_attention": "all heads of a layer",
    "layer_norm": "the block's and the final normalization",
    "gelu": "the feed-forward nonlinearity",
    "feed_forward": "the per-token network of a block",
    "transformer_block": "one pre-norm block",
    "gpt_forward": "the whole forward pass",
    "next_token_pair": "cuts inputs and targets from each window",
    "cross_entropy": "the training loss",
    "training_step": "one optimizer step",
    "learning_rate": "warm-up and cosine decay",
    "next_token_probabilities": "temperature, top-k and top-p when writing",
}


def assemble_poet(workspace_files: Mapping[str, str], passing_exercise_ids) -> tuple[dict[str, str], PoetFactory]:
    """Decide whose function each piece of the poet uses; return the pieces and a model factory.

    Every exercise in `passing_exercise_ids` that the poet uses is "yours", every other piece
    "reference". Exercises the poet does not use (such as `utf8_bytes`) are ignored.

    >>> pieces, _ = assemble_poet({}, {"softmax", "utf8_bytes"})
    >>> pieces["softmax"], pieces["embed"], "utf8_bytes" in pieces
    ('yours', 'reference', False)
    """
    if isinstance(passing_exercise_ids, str):
        raise TypeError(
            f"passing_exercise_ids must be a collection of exercise ids, got the string {passing_exercise_ids!r}; "
            f"wrap a single id in a set"
        )
    passing = set(passing_exercise_ids)
    pieces = {piece: YOURS if piece in passing else REFERENCE for piece in REFERENCE_FUNCTIONS}
    yours = frozenset(piece for piece, owner in pieces.items() if owner == YOURS)
    return pieces, PoetFactory(dict(workspace_files), yours)


@dataclass(frozen=True)
class PoetFactory:
    """Builds the assembled poet's functions and model. Call it only inside the sandbox."""

    workspace_files: dict[str, str]
    yours: frozenset[str] = field(default_factory=frozenset)

    def functions(self, workspace: Path) -> PoetFunctions:
        """Write the student's files into `workspace`, import their passing pieces, fill in the rest."""
        chosen = dict(REFERENCE_FUNCTIONS)
        if self.yours:
            _write_workspace(workspace, self.workspace_files)
            for piece in sorted(self.yours):
                chosen[piece] = _student_function(piece)
        return PoetFunctions(chosen, self.yours)

    def model(self, config: GPTConfig, workspace: Path) -> AssembledGPT:
        """Build an untrained assembled GPT with the reference's initialization."""
        return AssembledGPT(config, self.functions(workspace))


def _write_workspace(workspace: Path, files: Mapping[str, str]) -> None:
    workspace.mkdir(parents=True, exist_ok=True)
    for relative, source in files.items():
        path = (workspace / relative).resolve()
        if workspace.resolve() not in path.parents:
            raise ValueError(f"workspace file {relative!r} points outside the workspace; use a relative path")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    if str(workspace) not in sys.path:
        sys.path.insert(0, str(workspace))


def _student_function(piece: str) -> Callable:
    from grader.catalog import BY_ID

    exercise = BY_ID[piece]
    return getattr(importlib.import_module(exercise.module), exercise.function)


@dataclass(frozen=True)
class PoetFunctions:
    """The chosen function for every piece, and the composition of the ones that are not the student's."""

    chosen: dict[str, Callable]
    yours: frozenset[str]
    # Piece -> a stand-in that wins over both the student's function and the composition.
    replaced: Mapping[str, Callable] = field(default_factory=dict)

    def with_piece(self, piece: str, function: Callable) -> PoetFunctions:
        """Return a copy that calls `function` for `piece`, in place of the student's function or the composition."""
        return PoetFunctions(self.chosen, self.yours, {**self.replaced, piece: function})

    def __getattr__(self, piece: str) -> Callable:
        if piece in self.replaced:
            return self.replaced[piece]
        # The reference's composite pieces are rebuilt from the chosen inner pieces, so that a
        # student's softmax is used even while their attention is not written yet.
        if piece in self.yours or piece not in COMPOSITIONS:
            try:
                return self.chosen[piece]
            except KeyError:
                raise AttributeError(piece) from None
        return COMPOSITIONS[piece].__get__(self)


def _attention(self: PoetFunctions, q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, H, T, T)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = self.softmax(scores, dim=-1)
    return weights @ v, weights  # (B, H, T, D), (B, H, T, T)


def _multi_head_attention(self: PoetFunctions, x: Tensor, qkv_weight: Tensor, qkv_bias: Tensor,
                          proj_weight: Tensor, proj_bias: Tensor, n_head: int) -> Tensor:
    C = x.size(-1)
    q, k, v = nn.functional.linear(x, qkv_weight, qkv_bias).split(C, dim=-1)  # 3 x (B, T, C)
    q, k, v = (self.split_heads(t, n_head) for t in (q, k, v))  # 3 x (B, H, T, D)
    y, _ = self.scaled_dot_product_attention(q, k, v, mask=self.causal_mask(x.size(1), x.device))
    return nn.functional.linear(multihead.merge_heads(y), proj_weight, proj_bias)  # (B, T, C)


def _feed_forward(self: PoetFunctions, x: Tensor, fc_weight: Tensor, fc_bias: Tensor,
                  proj_weight: Tensor, proj_bias: Tensor) -> Tensor:
    hidden = self.gelu(nn.functional.linear(x, fc_weight, fc_bias))  # (B, T, 4C)
    return nn.functional.linear(hidden, proj_weight, proj_bias)  # (B, T, C)


def _transformer_block(self: PoetFunctions, x: Tensor, params: Mapping[str, Tensor], n_head: int) -> Tensor:
    normed = self.layer_norm(x, params["norm1.weight"], params["norm1.bias"])
    x = x + self.multi_head_attention(normed, params["attention.qkv.weight"], params["attention.qkv.bias"],
                                      params["attention.proj.weight"], params["attention.proj.bias"], n_head)
    normed = self.layer_norm(x, params["norm2.weight"], params["norm2.bias"])
    return x + self.feed_forward(normed, params["feedforward.fc.weight"], params["feedforward.fc.bias"],
                                 params["feedforward.proj.weight"], params["feedforward.proj.bias"])


def _gpt_forward(self: PoetFunctions, idx: Tensor, params: Mapping[str, Tensor], n_head: int) -> Tensor:
    x = self.embed(idx, params["embeddings.token.weight"], params["embeddings.position.weight"])  # (B, T, C)
    n_layer = 1 + max(int(name.split(".")[1]) for name in params if name.startswith("blocks."))
    for layer in range(n_layer):
        prefix = f"blocks.{layer}."
        x = self.transformer_block(x, {name[len(prefix):]: value for name, value in params.items()
                                       if name.startswith(prefix)}, n_head)
    x = self.layer_norm(x, params["final_norm.weight"], params["final_norm.bias"])
    return x @ params["embeddings.token.weight"].T  # (B, T, V): the head is the tied embedding


def _training_step(self: PoetFunctions, model: nn.Module, optimizer: torch.optim.Optimizer,
                   inputs: Tensor, targets: Tensor, max_grad_norm: float) -> float:
    optimizer.zero_grad(set_to_none=True)
    step_loss = self.cross_entropy(model(inputs), targets)
    step_loss.backward()
    clip_gradient_norm(list(model.parameters()), max_grad_norm)
    optimizer.step()
    return step_loss.item()


COMPOSITIONS = {
    "scaled_dot_product_attention": _attention,
    "multi_head_attention": _multi_head_attention,
    "feed_forward": _feed_forward,
    "transformer_block": _transformer_block,
    "gpt_forward": _gpt_forward,
    "training_step": _training_step,
}


class AssembledGPT(nn.Module):
    """A GPT whose forward pass is the assembled functions; its weights are a reference `GPT`'s."""

    def __init__(self, config: GPTConfig, functions: PoetFunctions):
        super().__init__()
        self.config = config
        self.weights = GPT(config)
        self.functions = functions

    def forward(self, idx: Tensor) -> Tensor:
        """Return logits (B, T, V) for token ids (B, T)."""
        # named_parameters, not state_dict: state_dict detaches, and training needs the gradients.
        params = dict(self.weights.named_parameters())
        return self.functions.gpt_forward(idx, params, self.config.n_head)


def next_token_batch(functions: PoetFunctions, tokens: Tensor, batch_size: int, context_length: int,
                     generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Cut `batch_size` random windows of T + 1 ids and split each with the chosen `next_token_pair`."""
    inputs, targets = batching.random_batch(tokens, batch_size, context_length, generator)  # (B, T) each
    windows = torch.cat([inputs, targets[:, -1:]], dim=1)  # (B, T + 1)
    pairs = [functions.next_token_pair(window) for window in windows]
    return torch.stack([pair[0] for pair in pairs]), torch.stack([pair[1] for pair in pairs])


@torch.no_grad()
def generate_ids(model: AssembledGPT, ids: list[int], max_new_tokens: int, temperature: float,
                 top_k: int | None, top_p: float | None, seed: int) -> list[int]:
    """Extend `ids` by sampled tokens with the chosen `next_token_probabilities`; return all ids."""
    sampling.check_sampling_settings(temperature, top_k, top_p)
    if not ids:
        raise ValueError("the prompt encodes to no tokens; give at least one character")
    generator = torch.Generator().manual_seed(seed)
    idx = torch.tensor([ids], dtype=torch.long)  # (1, T)
    model.eval()
    for _ in range(max_new_tokens):
        logits = model(idx[:, -model.config.context_length:])[:, -1, :]  # (1, V)
        probabilities = model.functions.next_token_probabilities(logits, temperature, top_k, top_p)
        idx = torch.cat([idx, torch.multinomial(probabilities, 1, generator=generator)], dim=1)
    return idx[0].tolist()


# ------------------------------------------------------------------------------------------
# recording the attention weights that the assembled model computes

ATTENTION_PIECE = "scaled_dot_product_attention"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class AttentionRecord:
    """The attention weights of one forward pass, and whose `scaled_dot_product_attention` computed them."""

    weights: list[Tensor] | None  # n_layer x (H, T, T), or None when they could not be recorded
    source: str  # YOURS, REFERENCE or UNAVAILABLE
    reason: str = ""  # one line on why weights is None


@torch.no_grad()
def record_attention(model: AssembledGPT, ids: list[int], workspace: Path) -> AttentionRecord:
    """Run `model` once on `ids` and keep the weights (1, H, T, T) that each layer's attention returns.

    Two kinds of call are recorded. The poet's functions call the chosen
    `scaled_dot_product_attention` (the student's when it passes, else the reference composition).
    The student's modules under `workspace` may call their own through a module global of that name,
    for example after `from exercises.lesson04_attention import scaled_dot_product_attention`, and
    those calls count as "yours" whether or not that exercise passes. A student piece that computes
    attention inline makes neither call, and the record is then unavailable.
    """
    if not ids or len(ids) > model.config.context_length:
        raise ValueError(f"need 1 to {model.config.context_length} token ids to record attention, got {len(ids)}; "
                         f"crop the ids to the context length")
    calls: list[tuple[Tensor | None, str]] = []
    functions = model.functions
    source = YOURS if ATTENTION_PIECE in functions.yours else REFERENCE
    patched: list[tuple[ModuleType, Callable]] = []
    try:
        recorder = _recorder(getattr(functions, ATTENTION_PIECE), source, calls)
        model.functions = functions.with_piece(ATTENTION_PIECE, recorder)
        patched = _patch_workspace_modules(workspace, calls)
        model.eval()
        model(torch.tensor([ids], dtype=torch.long))
    finally:
        # Restore the student's globals, because the same modules may run again in this process.
        model.functions = functions
        for module, original in patched:
            setattr(module, ATTENTION_PIECE, original)
    return _attention_record(calls, model.config, len(ids))


def _recorder(function: Callable, source: str, calls: list[tuple[Tensor | None, str]]) -> Callable:
    def recording(*args, **kwargs):
        result = function(*args, **kwargs)
        # A call that returns no (output, weights) pair still counts, so that the layers stay aligned.
        weights = result[1] if isinstance(result, tuple) and len(result) == 2 else None
        calls.append((weights.detach() if isinstance(weights, Tensor) else None, source))
        return result

    return recording


def _patch_workspace_modules(workspace: Path,
                             calls: list[tuple[Tensor | None, str]]) -> list[tuple[ModuleType, Callable]]:
    """Replace the global `scaled_dot_product_attention` of each loaded `exercises.*` module under `workspace`."""
    root = workspace.resolve()
    patched = []
    for name, module in list(sys.modules.items()):
        if name != "exercises" and not name.startswith("exercises."):
            continue
        original = getattr(module, "__dict__", {}).get(ATTENTION_PIECE)
        file = getattr(module, "__file__", None)
        if not callable(original) or file is None or root not in Path(file).resolve().parents:
            continue
        if any(module is done for done, _ in patched):  # one module under two names would record twice
            continue
        patched.append((module, original))
        setattr(module, ATTENTION_PIECE, _recorder(original, YOURS, calls))
    return patched


def _attention_record(calls: list[tuple[Tensor | None, str]], config: GPTConfig, T: int) -> AttentionRecord:
    if not calls:
        return AttentionRecord(None, UNAVAILABLE, f"your code computes attention without calling {ATTENTION_PIECE}, "
                                                  f"so there were no weights to record")
    if len(calls) != config.n_layer:
        return AttentionRecord(None, UNAVAILABLE, f"{ATTENTION_PIECE} ran {len(calls)} times in one forward pass "
                                                  f"of {config.n_layer} layers, expected once per layer")
    expected = (1, config.n_head, T, T)
    for weights, _ in calls:
        shape = None if weights is None else tuple(weights.shape)
        if shape != expected:
            return AttentionRecord(None, UNAVAILABLE, f"{ATTENTION_PIECE} returned attention weights of shape {shape}, "
                                                      f"expected (1, H, T, T) = {expected}")
    sources = {source for _, source in calls}
    if len(sources) > 1:
        return AttentionRecord(None, UNAVAILABLE, f"the layers called different {ATTENTION_PIECE} functions "
                                                  f"({', '.join(sorted(sources))})")
    return AttentionRecord([weights[0] for weights, _ in calls], sources.pop())
