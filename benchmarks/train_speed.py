"""Training speed of the reference poet against a fused-kernel baseline of the same shape.

Prints tokens per second for both models, their model FLOP utilisation (MFU) against a float32
matmul peak measured in this same run, and the ratio reference / baseline. The two models train
in alternating rounds, so a busy machine slows both alike, and the medians are reported.

    python benchmarks/train_speed.py [--rounds 5] [--steps 10] [--threads 2]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.fused_baseline import FusedGPT  # noqa: E402
from reference.config import GPTConfig, preset  # noqa: E402
from reference.loss import cross_entropy  # noqa: E402
from reference.model import GPT, count_parameters  # noqa: E402
from reference.optim import make_optimizer  # noqa: E402


def matmul_peak_flops(size: int = 512, repeats: int = 20, tries: int = 3) -> float:
    """Measure float32 matmul throughput in FLOP/s: the practical peak of this CPU right now.

    The best of a few short tries is kept, because other work on the machine can only slow a
    try down, never speed it up.
    """
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b  # warm-up: the first call pays for thread start-up
    best = 0.0
    for _ in range(tries):
        start = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - start))
    return best


def flops_per_token(config: GPTConfig, n_parameters: int) -> float:
    """Estimate training FLOPs per token: 6 per weight plus 12 * n_layer * T * C for attention.

    Each weight costs 2 FLOPs in the forward pass and 4 in the backward pass. QK^T and AV each
    cost 2 * T * C per token and layer forward, times 3 with the backward pass; the causal half
    is counted in full because the kernels compute it. This is an estimate, not a count.
    """
    embedding = config.context_length * config.d_model  # position lookups cost no FLOPs
    return 6 * (n_parameters - embedding) + 12 * config.n_layer * config.context_length * config.d_model


def train_steps(model, optimizer, batch: tuple[torch.Tensor, torch.Tensor], steps: int) -> float:
    """Run `steps` training steps on one fixed batch; return tokens per second."""
    inputs, targets = batch
    start = time.perf_counter()
    for _ in range(steps):
        loss = cross_entropy(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return inputs.numel() * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="poet", help="model shape to compare")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per step")
    parser.add_argument("--rounds", type=int, default=7, help="alternating measurement rounds per model")
    parser.add_argument("--steps", type=int, default=10, help="training steps per round")
    parser.add_argument("--threads", type=int, default=None, help="PyTorch CPU threads (default: PyTorch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = preset(args.preset)
    torch.manual_seed(0)
    models = {"reference": GPT(config), "fused baseline": FusedGPT(config)}
    optimizers = {name: make_optimizer(model, 1e-3, 0.1) for name, model in models.items()}
    windows = torch.randint(0, config.vocab_size, (args.batch_size, config.context_length + 1))
    batch = (windows[:, :-1], windows[:, 1:])

    for name, model in models.items():
        train_steps(model, optimizers[name], batch, steps=3)  # warm-up

    # Alternate the models and measure the peak in every round, so that a burst of other work
    # on the machine lands on both models alike. Each round's ratio compares neighbours in time.
    speeds = {name: [] for name in models}
    peak, ratios = 0.0, []
    for _ in range(args.rounds):
        peak = max(peak, matmul_peak_flops())
        for name, model in models.items():
            speeds[name].append(train_steps(model, optimizers[name], batch, args.steps))
        ratios.append(speeds["reference"][-1] / speeds["fused baseline"][-1])

    n_parameters = count_parameters(models["reference"])
    per_token = flops_per_token(config, n_parameters)
    print(f"model: {args.preset} {config}, {n_parameters:,} parameters, batch {args.batch_size}")
    print(f"threads: {torch.get_num_threads()}; float32 matmul peak measured in this run: {peak / 1e9:.1f} GFLOP/s")
    for name, values in speeds.items():
        median = statistics.median(values)
        print(f"{name:>15}: {median:8.0f} tokens/s (rounds: {', '.join(f'{v:.0f}' for v in values)}), MFU {median * per_token / peak:.1%}")
    print(f"ratio reference / fused baseline: {statistics.median(ratios):.2f} (median of rounds: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.90)")


if __name__ == "__main__":
    main()
