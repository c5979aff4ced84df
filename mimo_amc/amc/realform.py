"""Real-valued form of complex linear systems.

A complex system ``A z = c`` with ``A = Ar + j Ai`` is equivalent to the real system

    [[Ar, -Ai], [Ai, Ar]] [zr; zi] = [cr; ci],

which is symmetric when ``A`` is Hermitian (e.g. a Gram matrix ``H^H H``).
"""

from __future__ import annotations

import torch


def complex_to_real_matrix(a: torch.Tensor) -> torch.Tensor:
    """``[..., m, n]`` complex -> ``[..., 2m, 2n]`` real ``[[Re, -Im], [Im, Re]]``.

    Example:
        >>> complex_to_real_matrix(torch.tensor([[1 + 2j]])).tolist()
        [[1.0, -2.0], [2.0, 1.0]]
    """
    top = torch.cat([a.real, -a.imag], dim=-1)
    bottom = torch.cat([a.imag, a.real], dim=-1)
    return torch.cat([top, bottom], dim=-2)


def complex_to_real_vector(z: torch.Tensor) -> torch.Tensor:
    """``[..., n]`` complex -> ``[..., 2n]`` real ``[Re; Im]``."""
    return torch.cat([z.real, z.imag], dim=-1)


def real_to_complex_vector(v: torch.Tensor) -> torch.Tensor:
    """``[..., 2n]`` real ``[Re; Im]`` -> ``[..., n]`` complex (inverse of :func:`complex_to_real_vector`)."""
    n = v.shape[-1] // 2
    return torch.complex(v[..., :n], v[..., n:])
