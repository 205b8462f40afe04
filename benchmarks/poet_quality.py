"""Measure how well the default poet learns in a fixed time: validation loss per character.

Trains the default poet configuration on the default corpus for a wall-clock budget (3 minutes)
and prints the validation loss in nats per character, converted from the loss per token with the
validation text's characters-per-token ratio. Loss per character compares across tokenizers: a
character-level model's loss per token already is a loss per character.

    python benchmarks/poet_quality.py [--minutes 3] [--threads 2]
"""

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference.cli import main as cli_main  # noqa: E402
from reference.poet import load_poet  # noqa: E402

# About the validation loss that a minimal character-level GPT reaches on Shakespeare after a few
# CPU minutes (an estimate, not measured here). The poet should do at least as well on poetry.
TARGET_NATS_PER_CHAR = 1.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget in wall-clock minutes")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch CPU threads")
    parser.add_argument("--corpus", default="poetry", help="corpus name or path, as for `python -m reference train`")
    parser.add_argument("--out", type=Path, default=None, help="keep the checkpoint here (default: a temporary folder)")
    args, train_options = parser.parse_known_args()

    with tempfile.TemporaryDirectory() as folder:
        out = args.out or Path(folder) / "poet.pt"
        command = [
            "train", "--corpus", args.corpus, "--minutes", str(args.minutes), "--threads", str(args.threads),
            "--out", str(out), "--quiet", *train_options,
        ]
        status = cli_main(command)
        if status != 0:
            sys.exit(status)
        poet = load_poet(out)

    last = poet.info["history"][-1]
    print(f"command: python -m reference {' '.join(command)}")
    print(f"threads: {torch.get_num_threads()}, steps: {last['step']}, minutes: {last['elapsed_seconds'] / 60:.2f}, evaluations: {len(poet.info['history'])}")
    print(f"corpus: {poet.info['corpus']['description']}, {poet.info['corpus']['chars_per_token']:.2f} characters per token")
    print(f"validation loss: {last['val_loss']:.3f} nats per token = {last['val_loss_per_char']:.3f} nats per character "
          f"(target below {TARGET_NATS_PER_CHAR})")
    print("sample (seed 0, temperature 0.8, top-k 40):")
    print(poet.write("", max_new_tokens=80, seed=0))


if __name__ == "__main__":
    main()
