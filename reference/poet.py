"""The AI poet: a trained GPT together with the tokenizer it was trained with."""

from dataclasses import dataclass, field
from pathlib import Path

import torch

from reference.bpe import BPETokenizer
from reference.checkpoint import CheckpointError, load_checkpoint
from reference.model import GPT
from reference.sampling import generate

# A poem starts after a line break, so an empty prompt is the start of a new line.
LINE_BREAK = "\n"


@dataclass
class Poet:
    """A model and its tokenizer, plus what its training recorded (steps, losses, corpus)."""

    model: GPT
    tokenizer: BPETokenizer
    info: dict = field(default_factory=dict)

    def encode_prompt(self, prompt: str) -> torch.Tensor:
        """Encode a prompt into ids (1, T); an empty prompt starts on a fresh line."""
        ids = self.tokenizer.encode(prompt or LINE_BREAK)
        return torch.tensor([ids], dtype=torch.long)

    def write(
        self,
        prompt: str = "",
        max_new_tokens: int = 120,
        temperature: float = 0.8,
        top_k: int | None = 40,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> str:
        """Continue the prompt with sampled tokens and return the prompt plus the new verse."""
        idx = self.encode_prompt(prompt)
        out = generate(self.model, idx, max_new_tokens, temperature, top_k, top_p, seed=seed)
        new_text = self.tokenizer.decode(out[0, idx.size(1) :].tolist())
        return prompt + new_text


def load_poet(path: str | Path) -> Poet:
    """Load a poet checkpoint onto the CPU, ready to write (in eval mode)."""
    record = load_checkpoint(path)
    model = GPT(record["model_config"])
    try:
        model.load_state_dict(record["model"])
    except RuntimeError as error:
        raise CheckpointError(
            f"the weights in {path} do not fit its own model config ({error}); the file is damaged"
        ) from error
    model.eval()

    tokenizer = BPETokenizer.from_dict(record["tokenizer"])
    if tokenizer.vocab_size > model.config.vocab_size:
        raise CheckpointError(
            f"{path}: tokenizer has {tokenizer.vocab_size} tokens but the model only {model.config.vocab_size}"
        )
    info = {key: record[key] for key in ("step", "history", "corpus", "train_config") if key in record}
    return Poet(model, tokenizer, info)
