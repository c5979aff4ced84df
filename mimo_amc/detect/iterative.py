"""Digital iterative detectors (Neumann series, Gauss-Seidel, conjugate gradient): what the analog
refinement is compared with at the same iteration counts."""

from __future__ import annotations

from typing import Literal

import torch

from ..scenario.detectors import Kind
from .equalizers import Equalizer, check_kind
from .gram import Detection, GramSystem


class IterativeEqualizer(Equalizer):
    """Digital iterative solvers of the Gram system (float64), every iterate reported.

    * ``neumann``: the Neumann series with the diagonal as first term (implicit form, i.e.
      Jacobi): ``z_k = z_{k-1} + D^-1 (b - A z_{k-1})``, ``z_0 = 0``, so ``z_1 = D^-1 b``;
    * ``gauss_seidel``: ``z_k = (D + L)^-1 (b - U z_{k-1})``, ``z_0 = 0``;
    * ``cg``: conjugate gradient from ``z_0 = 0`` (``k`` matrix-vector products for ``z_k``).
    """

    def __init__(self, method: Literal["neumann", "gauss_seidel", "cg"], kind: Kind, iterations: int) -> None:
        if method not in ("neumann", "gauss_seidel", "cg"):
            raise ValueError(f"method must be 'neumann', 'gauss_seidel' or 'cg'; got {method!r}")
        self.method, self.kind, self.iterations = method, check_kind(kind), iterations
        self.name = f"{method}_{kind}"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        system = GramSystem.build(y, h, s, self.kind, torch.complex128)
        a, b = system.gram, system.rhs.mT  # [*, K, K], [*, K, R]
        steps = {"neumann": _neumann, "gauss_seidel": _gauss_seidel, "cg": _conjugate_gradient}[self.method]
        z = torch.stack(steps(a, b, self.iterations), dim=-3).movedim(-1, -3)  # [*, R, I, K]
        d = system.finish(z)
        return Detection(d.x_hat, d.no_eff, tuple(range(1, self.iterations + 1)))


def _neumann(a: torch.Tensor, b: torch.Tensor, iterations: int) -> list[torch.Tensor]:
    d_inv = 1 / a.diagonal(dim1=-2, dim2=-1).unsqueeze(-1)
    z, out = torch.zeros_like(b), []
    for _ in range(iterations):
        z = z + d_inv * (b - a @ z)
        out.append(z)
    return out


def _gauss_seidel(a: torch.Tensor, b: torch.Tensor, iterations: int) -> list[torch.Tensor]:
    lower, upper = torch.tril(a), torch.triu(a, diagonal=1)
    z, out = torch.zeros_like(b), []
    for _ in range(iterations):
        z = torch.linalg.solve_triangular(lower, b - upper @ z, upper=False)
        out.append(z)
    return out


def _conjugate_gradient(a: torch.Tensor, b: torch.Tensor, iterations: int) -> list[torch.Tensor]:
    tiny = torch.finfo(torch.float64).tiny
    z, r = torch.zeros_like(b), b.clone()
    p, rr = r.clone(), (r.conj() * r).real.sum(-2, keepdim=True)
    out = []
    for _ in range(iterations):
        ap = a @ p
        alpha = rr / (p.conj() * ap).real.sum(-2, keepdim=True).clamp_min(tiny)
        z = z + alpha * p
        r = r - alpha * ap
        rr_new = (r.conj() * r).real.sum(-2, keepdim=True)
        p = r + (rr_new / rr.clamp_min(tiny)) * p
        rr = rr_new
        out.append(z)
    return out
