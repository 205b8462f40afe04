"""The shape of a GPT model as a small frozen dataclass, with named presets.

Training settings (learning rate, batch size, ...) live in `reference.training`, not here: a
checkpoint's model config must describe the weights alone.
"""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class GPTConfig:
    """The hyperparameters that fix the shapes of a GPT's weights."""

    vocab_size: int = 1024
    # The longest sequence the model sees at once: position embeddings exist only up to here.
    context_length: int = 128
    n_layer: int = 4
    n_head: int = 4
    d_model: int = 128
    # The feed-forward hidden layer is this many times wider than d_model, as in GPT-2.
    ffn_multiplier: int = 4
    # Zero for the poet: a few minutes of training never reach the point of overfitting.
    dropout: float = 0.0
    # GPT-2 has biases in every Linear and LayerNorm; keeping them makes its parameter count match.
    bias: bool = True

    def __post_init__(self) -> None:
        for name in ("vocab_size", "context_length", "n_layer", "n_head", "d_model", "ffn_multiplier"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.d_model % self.n_head != 0:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_head ({self.n_head}), "
                f"because each head gets d_model // n_head channels; pick n_head from "
                f"{[h for h in range(1, self.d_model + 1) if self.d_model % h == 0][:8]}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head


PRESETS: dict[str, GPTConfig] = {
    # The smallest model that still shows every piece: for tests and the first lessons.
    "tiny": GPTConfig(vocab_size=256, context_length=32, n_layer=2, n_head=2, d_model=32),
    # The AI poet: sized to learn verse in a few minutes on a two-core laptop CPU.
    "poet": GPTConfig(vocab_size=1024, context_length=128, n_layer=4, n_head=4, d_model=192),
    # GPT-2 small's shapes (124,439,808 parameters with tied embeddings).
    "gpt2-small": GPTConfig(vocab_size=50257, context_length=1024, n_layer=12, n_head=12, d_model=768),
}


def preset(name: str, **overrides) -> GPTConfig:
    """Return the named preset, with any field replaced by `overrides`."""
    if name not in PRESETS:
        raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
    return replace(PRESETS[name], **overrides)
