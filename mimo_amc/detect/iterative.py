"""Digital iterative detectors (Neumann series, Gauss-Seidel, conjugate gradient): what the analog
refinement is compared with at the same iteration counts."""

from __future__ import annotations

from typing import Literal

import torch

from ..scenario.detectors import Kind
from .equalizers import Equalizer, check_kind, check_soft_output
from .gram import Detection, GramSystem


class IterativeEqualizer(Equalizer):
    """Digital iterative solvers of the Gram system (float64), every iterate reported.

    * ``neumann``: the Neumann series with the diagonal as first term (implicit form, i.e.
      Jacobi): ``z_k = z_{k-1} + D^-1 (b - A z_{k-1})``, ``z_0 = 0``, so ``z_1 = D^-1 b``;
    * ``gauss_seidel``: ``z_k = (D + L)^-1 (b - U z_{k-1})``, ``z_0 = 0``;
    * ``cg``: conjugate gradient from ``z_0 = 0`` (``k`` matrix-vector products for ``z_k``).

    ``soft_output="residual"`` adds calibrated soft outputs (:attr:`Detection.x_hat_residual`,
    :attr:`Detection.no_eff_residual`; what ``__call__`` then returns) built, like the analog detector's,
    without the exact inverse: ``diag(A^-1)`` from the same method run on the ``K`` unit vectors (iterate
    ``k`` for iterate ``k``), and the solver error of iterate ``k`` estimated by the next step of the same
    iteration, ``e_k ~ z_{k+1} - z_k``: one more preconditioner application to the (exact, digital)
    residual ``r_k = b - A z_k`` (``D^-1 r_k`` for Neumann, ``(D + L)^-1 r_k`` for Gauss-Seidel; CG's step
    ``alpha_k p_k`` along the next search direction). Cost: ``K`` more solves per matrix and one more
    iteration per received vector.
    """

    def __init__(
        self,
        method: Literal["neumann", "gauss_seidel", "cg"],
        kind: Kind,
        iterations: int,
        soft_output: Literal["exact", "residual"] = "exact",
    ) -> None:
        if method not in ("neumann", "gauss_seidel", "cg"):
            raise ValueError(f"method must be 'neumann', 'gauss_seidel' or 'cg'; got {method!r}")
        self.method, self.kind, self.iterations = method, check_kind(kind), iterations
        self.soft_output = check_soft_output(soft_output)
        self.name = f"{method}_{kind}"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        system = GramSystem.build(y, h, s, self.kind, torch.complex128)
        a, b = system.gram, system.rhs.mT  # [*, K, K], [*, K, R]
        steps = {"neumann": _neumann, "gauss_seidel": _gauss_seidel, "cg": _conjugate_gradient}[self.method]
        its = tuple(range(1, self.iterations + 1))
        if self.soft_output == "exact":
            z = torch.stack(steps(a, b, self.iterations), dim=-3).movedim(-1, -3)  # [*, R, I, K]
            d = system.finish(z)
            return Detection(d.x_hat, d.no_eff, its)
        r = b.shape[-1]
        both = torch.cat([b, system.unit_rhs().mT], dim=-1)  # the unit vectors e_j as K more columns
        z_all = torch.stack(steps(a, both, self.iterations + 1), dim=-3).movedim(-1, -3)  # [*, R + K, I + 1, K]
        z = z_all[..., :r, :-1, :]
        diag_inv = z_all[..., r:, :-1, :].diagonal(dim1=-3, dim2=-1).real  # [*, I, K]
        d = system.finish(z)
        x_cal, no_eff_cal = system.calibrate(z, diag_inv, z_all[..., :r, 1:, :] - z)
        return Detection(d.x_hat, d.no_eff, its, None, x_cal, no_eff_cal)


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
