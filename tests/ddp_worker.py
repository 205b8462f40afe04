"""Run under torchrun by tests/test_distributed.py: train a tiny GPT, save this rank's weights."""

import sys
from pathlib import Path

import torch

from reference import distributed
from reference.config import preset
from reference.model import GPT
from reference.training import TrainConfig, train


def main(out_dir: Path) -> None:
    group = distributed.start("cpu")
    torch.manual_seed(0)  # every rank starts from the same weights, as DDP requires
    model = GPT(preset("tiny"))
    tokens = torch.randint(0, 256, (2000,), generator=torch.Generator().manual_seed(1))
    config = TrainConfig(batch_size=4, max_steps=5, eval_interval=5, eval_batches=1)
    state = train(model, tokens, tokens, config, group=group)
    torch.save({"state": model.state_dict(), "steps": state.step}, out_dir / f"rank{group.rank}.pt")
    distributed.stop(group)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
