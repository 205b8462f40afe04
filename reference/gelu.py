"""GELU, the smooth activation of GPT-2: x times the probability that a standard normal is below x."""

import math

import torch
from torch import Tensor


def gelu(x: Tensor) -> Tensor:
    """Exact GELU: x * Phi(x), with Phi the standard normal CDF written through erf.

    >>> gelu(torch.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1587,  0.0000,  0.8413])
    """
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x: Tensor) -> Tensor:
    """Compute the tanh approximation of GELU that the original GPT-2 code used (within 1e-3 of exact).

    >>> gelu_tanh(torch.tensor([-1.0, 0.0, 1.0]))
    tensor([-0.1588,  0.0000,  0.8412])
    """
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
