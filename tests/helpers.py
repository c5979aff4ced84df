"""Test helpers: small channel generators and error measures (no Sionna)."""

from __future__ import annotations

import math

import torch


def rayleigh_gram(batch: int, m: int, k: int, seed: int) -> torch.Tensor:
    """Real forms ``[batch, 2k, 2k]`` of i.i.d. Rayleigh Gram matrices ``H^H H`` (H: m x k, E|h|^2 = 1)."""
    from mimo_amc.amc import complex_to_real_matrix

    g = torch.Generator().manual_seed(seed)
    h = torch.complex(
        torch.randn(batch, m, k, generator=g, dtype=torch.float64),
        torch.randn(batch, m, k, generator=g, dtype=torch.float64),
    ) / math.sqrt(2)
    return complex_to_real_matrix(h.mH @ h)


def relative_error(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """``||x - ref|| / ||ref||`` over the last dimension (``ref`` broadcasts over iterations)."""
    return torch.linalg.vector_norm(x - ref, dim=-1) / torch.linalg.vector_norm(ref, dim=-1)
