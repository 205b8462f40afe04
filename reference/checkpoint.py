"""Saving and loading training checkpoints: weights, model config, tokenizer and progress in one file.

Checkpoints are plain dictionaries of tensors, numbers, strings and lists, so they load with
`torch.load(..., weights_only=True)`, which never runs code from the file. A checkpoint written
on a GPU, by a compiled model or by DistributedDataParallel loads on a CPU-only machine.
"""

import logging
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from reference.config import GPTConfig

logger = logging.getLogger(__name__)

FORMAT = "llm-from-scratch-checkpoint"
VERSION = 1
# Prefixes that wrappers add to parameter names: torch.compile and DistributedDataParallel.
WRAPPER_PREFIXES = ("_orig_mod.", "module.")


class CheckpointError(ValueError):
    """A file that is not a usable checkpoint of this project, with the reason and the fix."""


def save_checkpoint(path: str | Path, **contents) -> None:
    """Write a checkpoint atomically: a crash mid-write leaves the previous file untouched.

    `contents` should include model_config (a GPTConfig), model (a state dict) and tokenizer (a
    dict from the tokenizer's to_dict); anything else JSON-like (step, history, ...) is kept.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"format": FORMAT, "version": VERSION, **contents}
    if isinstance(record.get("model_config"), GPTConfig):
        record["model_config"] = asdict(record["model_config"])
    record["model"] = strip_wrapper_prefixes(record["model"])

    # Write to a temporary file in the same folder, then rename: a rename is atomic on POSIX
    # and Windows file systems, so readers see the old file or the new one, never half of one.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    # mkstemp creates the file readable by its owner only; a checkpoint is ordinary data.
    os.chmod(temporary, 0o644)
    try:
        torch.save(record, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    logger.info("saved checkpoint %s (step %s)", path, contents.get("step"))


def load_checkpoint(path: str | Path) -> dict:
    """Read and validate a checkpoint onto the CPU; raise CheckpointError with a fix if unusable."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder, not a file; pass the .pt file inside it")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} not found; train one with `python -m reference train --out {path}`")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged or foreign file
        raise CheckpointError(
            f"{path} could not be read as a PyTorch checkpoint ({type(error).__name__}: {error}); "
            f"it may be damaged, or not a file written by `python -m reference train`"
        ) from error

    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is a PyTorch file but not a checkpoint of this course; "
            f"train one with `python -m reference train`"
        )
    if record.get("version", 0) > VERSION:
        raise CheckpointError(
            f"{path} has checkpoint version {record['version']}, newer than this code reads ({VERSION}); update the course code"
        )
    for key in ("model_config", "model", "tokenizer"):
        if key not in record:
            raise CheckpointError(f"{path} is missing {key!r}; it was not written by a complete training run")

    record["model_config"] = GPTConfig(**record["model_config"])
    record["model"] = strip_wrapper_prefixes(record["model"])
    return record


def strip_wrapper_prefixes(state_dict: dict) -> dict:
    """Remove torch.compile's and DDP's name prefixes so any saved model loads into a plain GPT.

    >>> list(strip_wrapper_prefixes({"module._orig_mod.lm_head.weight": 0}))
    ['lm_head.weight']
    """
    cleaned = {}
    for name, value in state_dict.items():
        stripped = True
        while stripped:
            stripped = False
            for prefix in WRAPPER_PREFIXES:
                if name.startswith(prefix):
                    name, stripped = name[len(prefix) :], True
        cleaned[name] = value
    return cleaned
