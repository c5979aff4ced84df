"""Data converters: signed uniform DAC/ADC quantisation with a per-operation full scale.

A ``b``-bit converter maps ``[-full_scale, full_scale]`` onto the integers
``-(2**(b-1) - 1) .. 2**(b-1) - 1`` (round to nearest, saturating); ``b = 0`` is ideal.
"""

from __future__ import annotations

import torch


def converter_levels(bits: int) -> float:
    """Levels per sign of a ``bits``-bit converter (``2**(bits-1) - 1``; 1 for an ideal one).

    Example:
        >>> converter_levels(8), converter_levels(0)
        (127.0, 1.0)
    """
    return float(2 ** (bits - 1) - 1) if bits else 1.0


def full_scale(x: torch.Tensor, dim: int = -2) -> torch.Tensor:
    """Largest magnitude along ``dim`` (kept); a tiny positive number for an all-zero vector."""
    return x.abs().amax(dim=dim, keepdim=True).clamp_min_(torch.finfo(x.dtype).tiny)
