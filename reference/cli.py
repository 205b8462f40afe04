"""Command line for the poet: `train` a model on poetry, `write` poems from a checkpoint.

    python -m reference train --minutes 3 --out runs/poet.pt
    python -m reference write --checkpoint runs/poet.pt --prompt "The sea at night"

Under torchrun the same `train` command trains on several processes:

    torchrun --nproc-per-node 2 -m reference train --steps 200 --out runs/poet.pt
"""

import argparse
import logging
import os
import sys
from dataclasses import asdict, replace
from pathlib import Path

import torch
from tqdm import tqdm

from reference import distributed
from reference.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from reference.config import PRESETS, preset
from reference.model import GPT, count_parameters
from reference.poet import load_poet
from reference.preparation import prepare
from reference.training import TrainConfig, TrainingError, TrainState, train

DEMO_POET = Path(__file__).resolve().parent.parent / "course" / "assets" / "demo_poet.pt"


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except (ValueError, CheckpointError, TrainingError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m reference", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train_command(commands)
    _add_write_command(commands)
    return parser


def _add_train_command(commands) -> None:
    defaults = TrainConfig()
    command = commands.add_parser(
        "train", help="train a poet and save a checkpoint",
        description="Train a GPT poet on a corpus; print progress and validation loss; save a checkpoint.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    data = command.add_argument_group("data")
    data.add_argument("--corpus", default="poetry", help="corpus name (poetry, shakespeare) or a path to a .txt file or a folder of .txt files")
    data.add_argument("--max-chars", type=int, default=8_000_000, help="characters of the corpus to use (train and validation together)")
    data.add_argument("--tokenizer-chars", type=int, default=2_000_000, help="characters of training text the BPE tokenizer learns its merges from")
    data.add_argument("--cache-dir", type=Path, default=None, help="folder for the converted corpus and encoded tokens (default: $LLM_FROM_SCRATCH_CACHE or ~/.cache/llm-from-scratch)")

    model = command.add_argument_group("model shape (defaults come from --preset)")
    model.add_argument("--preset", default="poet", choices=sorted(PRESETS), help="model shape to start from")
    model.add_argument("--vocab-size", type=int, help="tokens in the BPE vocabulary (256 bytes plus merges)")
    model.add_argument("--context-length", type=int, help="tokens the model sees at once")
    model.add_argument("--layers", type=int, help="transformer blocks")
    model.add_argument("--heads", type=int, help="attention heads per block")
    model.add_argument("--width", type=int, help="model width d_model, in channels")

    run = command.add_argument_group("training")
    run.add_argument("--batch-size", type=int, default=defaults.batch_size, help="sequences per step, per process")
    run.add_argument("--steps", type=int, default=defaults.max_steps, help="total optimizer steps, counting those before --resume (training stops at --steps or --minutes, whichever comes first)")
    run.add_argument("--minutes", type=float, default=None, help="total wall-clock budget in minutes, counting the time before --resume")
    run.add_argument("--lr", type=float, default=defaults.max_lr, help="peak learning rate")
    run.add_argument("--min-lr", type=float, default=None, help="final learning rate (default: a tenth of --lr)")
    run.add_argument("--warmup", type=float, default=defaults.warmup, help="fraction of the run spent warming up the learning rate")
    run.add_argument("--weight-decay", type=float, default=defaults.weight_decay, help="AdamW weight decay on weight matrices")
    run.add_argument("--grad-clip", type=float, default=defaults.grad_clip, help="maximum global gradient norm (0 turns clipping off)")
    run.add_argument("--eval-interval", type=int, default=defaults.eval_interval, help="steps between validation passes and checkpoints")
    run.add_argument("--eval-batches", type=int, default=defaults.eval_batches, help="batches per validation pass")
    run.add_argument("--seed", type=int, default=defaults.seed, help="seed for initialization and batch order")
    run.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    run.add_argument("--threads", type=int, default=None, help="CPU threads for PyTorch (default: PyTorch's choice, usually one per core)")

    output = command.add_argument_group("checkpoints")
    output.add_argument("--out", type=Path, default=Path("runs/poet.pt"), help="checkpoint file to write (rewritten at every validation pass)")
    output.add_argument("--resume", type=Path, default=None, help="checkpoint to continue from (keeps its model shape and tokenizer)")
    output.add_argument("--no-optimizer", action="store_true", help="leave the optimizer state out of the checkpoint: a third of the size, but --resume then restarts AdamW's moments")
    output.add_argument("--quiet", action="store_true", help="no progress bar")
    command.set_defaults(run=run_train)


def _add_write_command(commands) -> None:
    command = commands.add_parser(
        "write", help="write poems with a trained poet",
        description="Continue a prompt with a trained poet and print the poems.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    command.add_argument("--checkpoint", type=Path, default=DEMO_POET, help="poet checkpoint written by `train`")
    command.add_argument("--prompt", default="", help="opening words; empty starts a fresh line")
    command.add_argument("--tokens", type=int, default=120, help="new tokens to write per poem")
    command.add_argument("--poems", type=int, default=1, help="number of poems")
    command.add_argument("--temperature", type=float, default=0.8, help="0 is greedy; higher is more adventurous")
    command.add_argument("--top-k", type=int, default=40, help="sample only from the k most likely tokens (0 for no limit)")
    command.add_argument("--top-p", type=float, default=None, help="sample only from the most likely tokens whose probabilities reach p")
    command.add_argument("--seed", type=int, default=None, help="seed for repeatable poems")
    command.set_defaults(run=run_write)


def run_write(args: argparse.Namespace) -> int:
    # Checked before loading, so that a typo fails at once instead of printing nothing.
    if args.poems < 1:
        raise ValueError(f"--poems must be >= 1, got {args.poems}; pass how many poems to write")
    if args.tokens < 1:
        raise ValueError(f"--tokens must be >= 1, got {args.tokens}; pass how many new tokens each poem gets")
    poet = load_poet(args.checkpoint)
    for number in range(args.poems):
        seed = None if args.seed is None else args.seed + number
        poem = poet.write(args.prompt, args.tokens, args.temperature, args.top_k or None, args.top_p, seed)
        if args.poems > 1:
            print(f"--- poem {number + 1} ---")
        print(poem.strip("\n"))
    return 0


def run_train(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    group = distributed.start(args.device)
    try:
        return _train(args, group)
    finally:
        distributed.stop(group)


def _train(args: argparse.Namespace, group: distributed.ProcessGroup) -> int:
    from course.corpus import default_cache_dir, load_corpus

    _check_train_options(args)
    config = TrainConfig(
        batch_size=args.batch_size, max_steps=args.steps, max_minutes=args.minutes,
        max_lr=args.lr, min_lr=args.min_lr if args.min_lr is not None else args.lr / 10,
        warmup=args.warmup, weight_decay=args.weight_decay, grad_clip=args.grad_clip,
        eval_interval=args.eval_interval, eval_batches=args.eval_batches, seed=args.seed,
    )
    resumed = load_checkpoint(args.resume) if args.resume else None
    model_config = resumed["model_config"] if resumed else _model_config(args)

    say = print if group.is_main and not args.quiet else (lambda *_: None)
    cache_dir = args.cache_dir or default_cache_dir()
    corpus = load_corpus(args.corpus, max_chars=args.max_chars, cache_dir=cache_dir)
    say(f"corpus: {corpus.description}")
    say(f"tokenizing {len(corpus.train):,} + {len(corpus.validation):,} characters ...")
    tokenizer = None
    if resumed:
        from reference.bpe import BPETokenizer

        tokenizer = BPETokenizer.from_dict(resumed["tokenizer"])
    data = prepare(corpus.train, corpus.validation, model_config.vocab_size, args.tokenizer_chars, cache_dir, tokenizer)
    _check_enough_text(data, model_config.context_length)

    torch.manual_seed(args.seed)
    model = GPT(model_config)
    state = TrainState()
    if resumed:
        model.load_state_dict(resumed["model"])
        state = TrainState(**resumed.get("state", {}))
    say(f"model: {count_parameters(model):,} parameters, {model_config}")
    say(f"data: {data.train_tokens.numel():,} training tokens, {data.chars_per_token:.2f} characters per token")

    def save(entry, model, optimizer, state):
        save_checkpoint(
            args.out, model_config=model_config, model=model.state_dict(), tokenizer=data.tokenizer.to_dict(),
            optimizer=None if args.no_optimizer else optimizer.state_dict(), train_config=asdict(config), state=asdict(state),
            step=state.step, history=state.history,
            corpus={"name": corpus.name, "description": corpus.description, "chars_per_token": data.chars_per_token},
        )
        line = f"step {entry['step']}: validation loss {entry['val_loss']:.3f} per token"
        if "val_loss_per_char" in entry:
            line += f", {entry['val_loss_per_char']:.3f} per character"
        (bar.write if bar else say)(line)

    bar = _progress_bar(config) if group.is_main and not args.quiet else None
    on_step = (lambda record: _update_bar(bar, record, config)) if bar else None
    try:
        state = train(
            model, data.train_tokens, data.val_tokens, config, group=group, state=state,
            optimizer_state=resumed.get("optimizer") if resumed else None,  # None when saved with --no-optimizer
            chars_per_token=data.chars_per_token, on_eval=save, on_step=on_step,
        )
    finally:
        if bar:
            bar.close()
    say(f"saved {args.out} after {state.step} steps ({state.elapsed_seconds / 60:.1f} minutes)")
    return 0


def _check_train_options(args: argparse.Namespace) -> None:
    """Reject invalid options by their flag names, before any data is loaded."""
    for flag in ("batch_size", "steps", "eval_interval", "eval_batches"):
        value = getattr(args, flag)
        if value < 1:
            raise ValueError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    if args.minutes is not None and args.minutes <= 0:
        raise ValueError(f"--minutes must be more than 0, got {args.minutes}; leave it out to train for --steps")
    if args.lr <= 0:
        raise ValueError(f"--lr must be more than 0, got {args.lr}; 2e-3 suits the poet")
    if args.min_lr is not None and not 0 < args.min_lr <= args.lr:
        raise ValueError(f"--min-lr must be more than 0 and at most --lr ({args.lr}), got {args.min_lr}")
    if not 0 <= args.warmup < 1:
        raise ValueError(f"--warmup is a fraction of the run in [0, 1), got {args.warmup}")
    if args.grad_clip < 0:
        raise ValueError(f"--grad-clip must be 0 (off) or more, got {args.grad_clip}")


def _model_config(args: argparse.Namespace):
    overrides = {
        "vocab_size": args.vocab_size, "context_length": args.context_length,
        "n_layer": args.layers, "n_head": args.heads, "d_model": args.width,
    }
    return preset(args.preset, **{key: value for key, value in overrides.items() if value is not None})


def _check_enough_text(data, context_length: int) -> None:
    for name, tokens in (("training", data.train_tokens), ("validation", data.val_tokens)):
        if tokens.numel() <= context_length:
            raise ValueError(
                f"the {name} text is only {tokens.numel()} tokens long, but one training window needs "
                f"context_length + 1 = {context_length + 1} tokens; give a larger corpus or lower --context-length"
            )


def _progress_bar(config: TrainConfig) -> tqdm:
    if config.max_minutes is not None:
        return tqdm(total=round(config.max_minutes * 60), unit="s", desc="training", dynamic_ncols=True)
    return tqdm(total=config.max_steps, unit="step", desc="training", dynamic_ncols=True)


def _update_bar(bar: tqdm, record: dict, config: TrainConfig) -> None:
    done = round(record["elapsed_seconds"]) if config.max_minutes is not None else record["step"]
    bar.update(max(0, min(done, bar.total) - bar.n))
    bar.set_postfix(loss=f"{record['train_loss']:.3f}", lr=f"{record['lr']:.1e}", tok_s=f"{record['tokens_per_second']:.0f}", refresh=False)
