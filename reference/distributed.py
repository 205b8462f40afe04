"""Data-parallel training across processes with torch.distributed, as started by `torchrun`.

Every process keeps a full copy of the model and trains on its own batches. After each backward
pass DistributedDataParallel averages the gradients, so all copies take the same step and stay
identical. On CPUs the processes talk over the gloo backend, on GPUs over NCCL.
"""

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessGroup:
    """The place of this process in the run: its rank among world_size processes, and its device."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """True for the process that logs, evaluates for the record and writes checkpoints."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    """Return True when torchrun (or another launcher) set the rendezvous variables."""
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


def start(device: str = "auto") -> ProcessGroup:
    """Join the process group if torchrun started this process; otherwise run alone."""
    chosen = pick_device(device)
    if not launched_by_torchrun():
        return ProcessGroup(device=chosen)

    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    backend = "nccl" if chosen.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    logger.info("rank %d of %d joined the %s process group on %s", rank, world_size, backend, chosen)
    return ProcessGroup(rank, world_size, chosen)


def stop(group: ProcessGroup) -> None:
    """Leave the process group, if there is one."""
    if group.is_distributed and dist.is_initialized():
        dist.destroy_process_group()


def broadcast_float(value: float, group: ProcessGroup) -> float:
    """Return rank 0's value on every rank, so that clock-based decisions agree everywhere."""
    if not group.is_distributed:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=group.device)
    dist.broadcast(tensor, src=0)
    return tensor.item()


def pick_device(device: str) -> torch.device:
    """Resolve "auto" to CUDA when available, else CPU; reject a device that is not there."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but no CUDA GPU is available; use --device cpu")
    return torch.device(device)
