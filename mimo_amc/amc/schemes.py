"""Outer iterations around the two analog primitives: Richardson (HP-INV), flexible CG, flexible GMRES.

Every scheme sees the chip only through

* ``lpinv(r)``: the noisy LP-INV preconditioner ``A0~^-1`` (programming errors, converters,
  fresh read noise on every call; neither exactly linear nor symmetric), and
* ``hpmvm(x)``: the bit-sliced HP-MVM product ``A x``,

both on column vectors ``[..., n, R]`` (``R`` right-hand sides per matrix). Everything else is
digital float64: inner products per column (every right-hand side has its own scalars, shape
``[..., 1, R]``), vector updates and, for FGMRES, a small least-squares problem. The loops run
over iterations only; matrices and right-hand sides are batched.

Each scheme starts from ``x_0 = 0`` (so ``r_0 = b`` exactly) and returns every iterate
``x_1..x_K`` with its *true* residual ``r_k = b - HPMVM(x_k)``, the residual an experiment would
measure. Iteration 1 is one LP-INV application (plus, for the Krylov schemes, the step length
chosen digitally).

Analog and digital operations per iteration ``k`` (``n``-element inner products and norms;
vector updates and the FGMRES least squares on ``(k+1) x k`` are not counted):

============ ======= ======= ==============================
scheme       LP-INV  HP-MVM  dot products
============ ======= ======= ==============================
richardson   1       1       0
fcg          1       2       2 at ``k = 1``, 4 after
fgmres       1       2       ``k + 1`` (+1 for ``||b||`` at ``k = 1``)
============ ======= ======= ==============================

Breakdown rules (both Krylov schemes): a digital ratio whose denominator is non-finite or at
most ``BREAKDOWN`` in magnitude (or whose numerator or value is non-finite) is replaced by 0, and
a column whose LP-INV output is not finite gets the zero direction. A converged column (residual
exactly 0) therefore keeps its iterate, and no column ever divides by zero. (Richardson has no
such guard: its results stay those of the paper's loop, and ``HPINVResult.overflow`` flags them.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .config import OuterScheme

Operator = Callable[[torch.Tensor], torch.Tensor]
"""An analog primitive acting on column vectors ``[..., n, R] -> [..., n, R]``."""

BREAKDOWN = 1e-300
"""Denominators (``p.q``, ``z.r``, Arnoldi norms) at or below this magnitude count as breakdown."""


@dataclass(frozen=True)
class OperationCounts:
    """Operations of one outer iteration.

    Attributes:
        lpinv: LP-INV applications (each one full BlockAMC pass, see :class:`BlockAMCPlan`).
        hpmvm: Bit-sliced HP-MVM products ``A x``.
        dot_products: Digital inner products or norms of length ``n``.
    """

    lpinv: int
    hpmvm: int
    dot_products: int


def operation_counts(outer: OuterScheme, iteration: int, n: int) -> OperationCounts:
    """Analog and digital operations of iteration ``iteration`` (1-based) of ``outer``.

    Args:
        outer: ``"richardson"``, ``"fcg"`` or ``"fgmres"``.
        iteration: 1-based iteration index ``k``.
        n: System size, the length of every counted inner product (``2 n`` flops each); the
            counts of these schemes do not depend on it.

    Example:
        >>> operation_counts("fgmres", 3, 16)
        OperationCounts(lpinv=1, hpmvm=2, dot_products=4)
    """
    if iteration < 1 or n < 1:
        raise ValueError(f"iteration and n must be >= 1; got iteration={iteration}, n={n}")
    if outer == "richardson":
        return OperationCounts(1, 1, 0)
    if outer == "fcg":
        return OperationCounts(1, 2, 2 if iteration == 1 else 4)
    if outer == "fgmres":
        return OperationCounts(1, 2, iteration + 1 + (iteration == 1))
    raise ValueError(f"unknown outer scheme {outer!r}; expected 'richardson', 'fcg' or 'fgmres'")


def _dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Per-column inner products ``[..., n, R] x [..., n, R] -> [..., 1, R]``."""
    return (u * v).sum(dim=-2, keepdim=True)


def column_norms(u: torch.Tensor) -> torch.Tensor:
    """Per-column Euclidean norms ``[..., n, R] -> [..., 1, R]``.

    ``sqrt(sum u^2)``, the unscaled sum ``torch.linalg.vector_norm`` computes too, without its
    strided reduction over ``dim=-2``, which is ~10x slower on CPU.
    """
    return _dot(u, u).sqrt()


def _safe_ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den``, or 0 where that is a breakdown (see :data:`BREAKDOWN`) or not finite."""
    ok = (den.abs() > BREAKDOWN) & torch.isfinite(den) & torch.isfinite(num)
    ratio = num / torch.where(ok, den, 1.0)
    return torch.where(ok & torch.isfinite(ratio), ratio, 0.0)


def _precondition(lpinv: Operator, r: torch.Tensor) -> torch.Tensor:
    """``LPINV(r)`` on ``[..., n, R]``, with a column whose output is not finite set to 0 (breakdown)."""
    z = lpinv(r)
    return torch.where(torch.isfinite(z).all(dim=-2, keepdim=True), z, 0.0)


def richardson(
    lpinv: Operator, hpmvm: Operator, b: torch.Tensor, iterations: int, damping: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's HP-INV refinement: ``x_k = x_{k-1} + omega LPINV(r_{k-1})``, ``r_k = b - HPMVM(x_k)``.

    Args:
        lpinv, hpmvm: The analog primitives on ``[..., n, R]``.
        b: Right-hand sides ``[..., n, R]`` (float64).
        iterations: ``K``.
        damping: ``omega``.

    Returns:
        ``(iterates, residuals)``, both ``[..., K, n, R]``.
    """
    x, r = torch.zeros_like(b), b
    iterates, residuals = [], []
    for _ in range(iterations):
        step = lpinv(r)
        x = x + (step if damping == 1 else damping * step)  # omega = 1 skips an exact multiplication
        r = b - hpmvm(x)
        iterates.append(x)
        residuals.append(r)
    return torch.stack(iterates, dim=-3), torch.stack(residuals, dim=-3)


def flexible_cg(
    lpinv: Operator, hpmvm: Operator, b: torch.Tensor, iterations: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flexible preconditioned CG for SPD ``A`` (Notay 2000; Golub & Ye 1999), Polak-Ribiere ``beta``.

    ::

        z_k = LPINV(r_k)
        beta_k = z_k.(r_k - r_{k-1}) / (z_{k-1}.r_{k-1})      (beta_0 = 0)
        p_k = z_k + beta_k p_{k-1}
        q_k = HPMVM(p_k)
        alpha_k = (p_k.r_k) / (p_k.q_k)
        x_{k+1} = x_k + alpha_k p_k
        r_{k+1} = b - HPMVM(x_{k+1})                           (true residual)

    The Polak-Ribiere ``beta`` tolerates a preconditioner that changes from call to call (fresh
    read noise, converters), where standard PCG's Fletcher-Reeves ``z_k.r_k / (z_{k-1}.r_{k-1})``
    loses its convergence guarantee. ``alpha_k`` minimises the A-norm error along ``p_k`` for the
    measured residual (PCG's ``z_k.r_k / (p_k.q_k)`` equals it only when ``p_{k-1}.r_k = 0``
    exactly). Being a line search, each step cannot increase the A-norm error of an SPD system
    beyond the HP-MVM's errors, even where the Richardson contraction factor is >= 1.

    Breakdown: where ``|z_{k-1}.r_{k-1}|`` is at or below :data:`BREAKDOWN` (or not finite),
    ``beta_k = 0`` and the direction restarts with ``p_k = z_k``; where ``|p_k.q_k|`` is, the
    step is ``alpha_k = 0`` and that column keeps ``x_k`` (and tries again with a fresh LP-INV
    read next iteration). ``b = 0`` or an exactly converged column stays put.

    Args:
        lpinv, hpmvm: The analog primitives on ``[..., n, R]``.
        b: Right-hand sides ``[..., n, R]`` (float64).
        iterations: ``K``.

    Returns:
        ``(iterates, residuals)``, both ``[..., K, n, R]``.
    """
    x, r = torch.zeros_like(b), b
    previous: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # p_{k-1}, r_{k-1}, z_{k-1}.r_{k-1}
    iterates, residuals = [], []
    for _ in range(iterations):
        z = _precondition(lpinv, r)
        zr = _dot(z, r)
        if previous is None:
            p, pr = z, zr  # beta_0 = 0
        else:
            p_prev, r_prev, zr_prev = previous
            p = z + _safe_ratio(_dot(z, r - r_prev), zr_prev) * p_prev
            pr = _dot(p, r)
        alpha = _safe_ratio(pr, _dot(p, hpmvm(p)))
        x = x + alpha * p
        previous = (p, r, zr)
        r = b - hpmvm(x)
        iterates.append(x)
        residuals.append(r)
    return torch.stack(iterates, dim=-3), torch.stack(residuals, dim=-3)


def flexible_gmres(
    lpinv: Operator, hpmvm: Operator, b: torch.Tensor, iterations: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flexible GMRES without restart (Saad 1993), right-preconditioned by the LP-INV.

    ::

        v_1 = r_0 / ||r_0||,  r_0 = b
        for j = 1..K:
            z_j = LPINV(v_j);  w = HPMVM(z_j)
            for i = 1..j:  h_ij = w.v_i;  w -= h_ij v_i          (modified Gram-Schmidt)
            h_{j+1,j} = ||w||;  v_{j+1} = w / h_{j+1,j}
            y_j = argmin ||beta e_1 - H_j y||,  H_j: (j+1) x j Hessenberg
            x_j = Z_j y_j;  r_j = b - HPMVM(x_j)                  (true residual)

    Storing ``Z_j = [z_1..z_j]`` (not ``V_j``) makes the scheme exact for a preconditioner
    that changes between calls. The small least-squares problem is solved anew every
    iteration, batched over matrices and right-hand sides, with the pseudo-inverse
    (minimum-norm solution, SVD), so every iterate ``x_1..x_K`` is available and a rank-
    deficient ``H_j`` after a breakdown is harmless. The reported residual is the true one,
    measured by one extra HP-MVM per iteration, not the Arnoldi estimate ``|beta e_1 - H_j y_j|``
    (which ignores the HP-MVM's errors in ``x_j``).

    Breakdown: where ``||r_0||`` or ``h_{j+1,j}`` is at or below :data:`BREAKDOWN` (or not
    finite), the next basis vector is 0 (``h_{j+1,j} = 0``): the column's Krylov space is
    exhausted, later directions vanish and the least squares keeps its solution.

    Args:
        lpinv, hpmvm: The analog primitives on ``[..., n, R]``.
        b: Right-hand sides ``[..., n, R]`` (float64).
        iterations: ``K`` (also the Krylov dimension; memory grows as ``K n``).

    Returns:
        ``(iterates, residuals)``, both ``[..., K, n, R]``.
    """
    beta = column_norms(b)  # [..., 1, R]
    basis = [b * _safe_ratio(torch.ones_like(beta), beta)]
    directions: list[torch.Tensor] = []
    columns = b.shape[:-2] + b.shape[-1:]  # [..., R]
    hessenberg = b.new_zeros(*columns, iterations + 1, iterations)
    target = b.new_zeros(*columns, iterations + 1, 1)  # beta e_1
    target[..., 0, 0] = beta[..., 0, :]
    iterates, residuals = [], []
    for j in range(iterations):
        z = _precondition(lpinv, basis[j])
        w = hpmvm(z)
        for i, v in enumerate(basis):
            h = _dot(w, v)
            w = w - h * v
            hessenberg[..., i, j] = h[..., 0, :]
        norm = column_norms(w)
        inverse = _safe_ratio(torch.ones_like(norm), norm)
        hessenberg[..., j + 1, j] = torch.where(inverse != 0, norm, 0.0)[..., 0, :]
        basis.append(w * inverse)
        directions.append(z)
        y = torch.linalg.pinv(hessenberg[..., : j + 2, : j + 1]) @ target[..., : j + 2, :]  # [..., R, j+1, 1]
        x = torch.einsum("...nrj,...rj->...nr", torch.stack(directions, dim=-1), y[..., 0])
        iterates.append(x)
        residuals.append(b - hpmvm(x))
    return torch.stack(iterates, dim=-3), torch.stack(residuals, dim=-3)
