"""HP-INV: iterative refinement of an analog low-precision inverse.

::

    x_0 = 0, r_0 = b
    for k = 1..K:
        d_k = LP-INV(r_{k-1})          # the DAC stage rescales r to its full range
        x_k = x_{k-1} + omega * d_k
        r_k = b - HP-MVM(A, x_k)       # bit-sliced, high precision

Iteration 1 is the LP-INV solution alone. The error obeys
``e_k = (I - omega A0~^-1 A) e_{k-1} + noise``, so the refinement converges only if the
contraction factor ``rho(I - omega A0~^-1 A) < 1``; every result carries it per matrix.

``SolverConfig.outer`` swaps this stationary loop for a Krylov method built on the same two
analog primitives, the LP-INV as a (noisy, variable) preconditioner: flexible CG (``"fcg"``, for
SPD matrices such as Gram matrices) or flexible GMRES (``"fgmres"``); see
:mod:`mimo_amc.amc.schemes`. They ignore ``damping`` (their step lengths are computed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

import torch

from .config import SolverConfig, StoppingConfig
from .hpmvm import BitSlicedMVM
from .lpinv import LPINV, non_finite
from .schemes import column_norms, flexible_cg, flexible_gmres, richardson

DEFAULT_ITERATIONS = 10
"""Iterations of :meth:`AnalogSolver.solve` when none are given (the paper's 16x16 demonstration)."""


def check_finite(name: str, t: torch.Tensor) -> None:
    """Raise ValueError naming ``name`` and the count of its NaN/inf entries, if it has any.

    Fast: broadcast (stride-0) dimensions are checked once, and NaN and inf propagate through a
    sum, so the entries are only counted when the sum is not finite (also when finite values
    overflow it, which the count then clears).
    """
    stored = t
    for dim, stride in enumerate(t.stride()):
        if stride == 0:
            stored = stored.narrow(dim, 0, 1)
    if stored.is_complex():
        stored = torch.view_as_real(stored)
    if bool(torch.isfinite(stored.sum())):
        return
    bad = int((~torch.isfinite(t)).sum())
    if bad:
        raise ValueError(f"{name} has {bad} non-finite (NaN or inf) entries of {t.numel()}")


def default_device() -> torch.device:
    """``cuda`` when available, else ``cpu``: the one default of every part of the package."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass(frozen=True)
class HPINVResult:
    """Every iterate of an HP-INV solve.

    Attributes:
        iterates: ``[..., K, n]`` (or ``[..., R, K, n]`` for ``R`` right-hand sides per
            matrix), float64: ``iterates[..., k-1, :]`` is ``x_k``. Always finite.
        residual_norms: ``[..., K]`` (or ``[..., R, K]``): ``||b - A x_k|| / ||b||`` as
            measured by the HP-MVM (``inf`` where an iterate overflowed), the true residual for
            every ``outer`` scheme.
        singular: ``[...]`` bool: a programmed INV array was singular (its output is zero).
        overflow: ``[...]`` bool: some iterate overflowed float64; such entries are set to 0.
        hpmvm_tv_bound: ``[...]``: bound on the probability that the HP-MVM fast path
            skipped a wrongly rounded read (see :mod:`mimo_amc.amc.hpmvm`).
        stopped: The adaptive outcome when ``config.stopping`` is set, else None.
    """

    iterates: torch.Tensor
    residual_norms: torch.Tensor
    singular: torch.Tensor
    overflow: torch.Tensor
    hpmvm_tv_bound: torch.Tensor
    _system: ProgrammedSystem = field(repr=False)
    stopped: AdaptiveOutcome | None = None

    def leading(self, count: int) -> HPINVResult:
        """The result of the first ``count`` right-hand sides per matrix of a multi-right-hand-side solve
        (``iterates [..., R, K, n]``), e.g. to drop auxiliary columns solved on the same write."""
        if self.iterates.dim() != self.residual_norms.dim() + 1 or self.singular.dim() != self.residual_norms.dim() - 2:
            raise ValueError("leading() needs a solve with R right-hand sides per matrix (b of shape [..., R, n])")
        stopped = None if self.stopped is None else self.stopped.leading(count)
        return replace(self, iterates=self.iterates[..., :count, :, :],
                       residual_norms=self.residual_norms[..., :count, :], stopped=stopped)  # fmt: skip

    @property
    def solution(self) -> torch.Tensor:
        """``[..., n]`` (or ``[..., R, n]``): the adaptive solution when a stopping rule is set, else ``x_K``."""
        return self.stopped.solution if self.stopped is not None else self.iterates[..., -1, :]

    @cached_property
    def contraction(self) -> torch.Tensor:
        """``[...]``: ``rho(I - omega A0~^-1 A)`` per matrix (computed on first access)."""
        return self._system.contraction

    @property
    def converged(self) -> torch.Tensor:
        """``[...]`` bool: contraction factor below 1, no singular array, no overflow.

        The same flag for every ``outer`` scheme: it certifies the programmed preconditioner
        (the Richardson contraction), not the run. It is conservative for ``fcg``/``fgmres``,
        which choose their steps optimally and can converge where it fails (e.g. ``fcg`` on an
        SPD matrix with contraction >= 1); judge their runs by :attr:`residual_norms`.
        """
        return (self.contraction < 1) & ~self.singular & ~self.overflow


@dataclass(frozen=True)
class AdaptiveOutcome:
    """What the stopping rule (:class:`~mimo_amc.amc.config.StoppingConfig`) made of each solve.

    Attributes:
        solution: ``[..., n]`` (or ``[..., R, n]``): the iterate where the solve stopped, or the
            fallback's answer.
        iterations: ``[...]`` (or ``[..., R]``) int64: analog iterations the solve ran (the one where
            it met the tolerance or was found diverging; the cap when it did neither).
        fallback: ``[...]`` (or ``[..., R]``) bool: the solve diverged or missed the tolerance
            within the cap and took the fallback.
        fallback_iterations: like ``iterations``: analog iterations of the fallback's re-solve (``fcg``,
            ``loading``), 0 where the solve did not fall back and for ``digital`` and ``best``.
        method: The fallback (``StoppingConfig.fallback``).
    """

    solution: torch.Tensor
    iterations: torch.Tensor
    fallback: torch.Tensor
    fallback_iterations: torch.Tensor
    method: str

    def leading(self, count: int) -> AdaptiveOutcome:
        """The outcome of the first ``count`` of ``R`` right-hand sides per matrix."""
        return self._per_solve(lambda t: t[..., :count])

    def squeezed(self) -> AdaptiveOutcome:
        """The outcome of a single right-hand side per matrix (the ``R = 1`` dimension removed)."""
        return self._per_solve(lambda t: t.squeeze(-1))

    def _per_solve(self, along: Callable[[torch.Tensor], torch.Tensor]) -> AdaptiveOutcome:
        """Every per-solve field with ``along`` applied to its last dimension, the solves ``R`` (``solution``'s
        ``n`` moved out of the way)."""
        return AdaptiveOutcome(
            along(self.solution.movedim(-1, 0)).movedim(0, -1),
            along(self.iterations),
            along(self.fallback),
            along(self.fallback_iterations),
            self.method,
        )


def stopping_point(
    residual_norms: torch.Tensor, tol: float | torch.Tensor, divergence_growth: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Where each solve stops on its measured residual (vectorised, no loop over solves).

    Args:
        residual_norms: ``[..., K]`` measured ``||r_k|| / ||b||`` (``inf`` where overflowed).
        tol: The tolerance, a number or ``[...]`` per solve.
        divergence_growth: A residual above this factor times the smallest earlier one is divergence.

    Returns:
        ``(converged, iterations, pick)``, each ``[...]``: the solve met ``tol`` before any growth; the
        iterations it ran (where it met the tolerance or was found diverging, the cap when neither); the
        0-based index of its answer (the stopping iterate, or the smallest residual among those run).
    """
    k_max = residual_norms.shape[-1]
    steps = torch.arange(k_max, device=residual_norms.device)
    never = torch.full_like(residual_norms[..., 0], k_max, dtype=torch.int64)

    def first(mask: torch.Tensor) -> torch.Tensor:
        """0-based index of the first True along the last dimension (``K`` where none)."""
        return torch.where(mask.any(-1), mask.to(torch.int8).argmax(-1), never)

    limit = tol.unsqueeze(-1) if isinstance(tol, torch.Tensor) else tol
    met = first(residual_norms < limit)
    best_before = residual_norms.cummin(-1).values.roll(1, dims=-1)
    grew = (residual_norms > divergence_growth * best_before) & (steps >= 1)
    grew |= ~torch.isfinite(residual_norms)
    diverged = first(grew)
    converged = met < diverged  # met the tolerance before any growth
    iterations = torch.where(converged, met, torch.minimum(diverged, never - 1)) + 1
    ran = steps < iterations.unsqueeze(-1)
    best = torch.where(ran, residual_norms, torch.inf).argmin(-1)
    return converged, iterations, torch.where(converged, met, best)


def pick_iterates(iterates: torch.Tensor, pick: torch.Tensor) -> torch.Tensor:
    """``iterates [..., K, n]`` at the 0-based iteration ``pick [...]`` of each solve: ``[..., n]``."""
    return iterates.gather(-2, pick[..., None, None].expand(*pick.shape, 1, iterates.shape[-1])).squeeze(-2)


def apply_stopping(
    iterates: torch.Tensor,
    residual_norms: torch.Tensor,
    rule: StoppingConfig,
    resolve: Callable[[], tuple[torch.Tensor, torch.Tensor]],
    tol: torch.Tensor | None = None,
) -> AdaptiveOutcome:
    """Stop every solve on its measured residual and hand the non-converging ones to the fallback.

    Every solve ran the full cap ``K``; a solve's iterates do not depend on the others' (read
    noise is drawn per read), so taking the iterate at each solve's own stopping point is the
    same as stopping it there (:func:`stopping_point`).

    Args:
        iterates: ``[..., K, n]`` every iterate.
        residual_norms: ``[..., K]`` measured ``||r_k|| / ||b||`` (``inf`` where overflowed).
        rule: Tolerance, divergence factor and fallback.
        resolve: Returns the fallback's answers ``[..., n]`` and its analog iterations ``[...]`` for every
            solve (only those that fall back are used); called unless ``rule.fallback`` is ``"best"`` or no
            solve falls back.
        tol: ``[...]`` per-solve tolerances replacing ``rule.tol`` (e.g. derived from the noise), or None.

    Returns:
        :class:`AdaptiveOutcome`.
    """
    converged, iterations, pick = stopping_point(
        residual_norms, rule.tol if tol is None else tol, rule.divergence_growth
    )
    solution = pick_iterates(iterates, pick)  # 'best': the smallest residual among the iterations run
    fallback = ~converged
    extra = torch.zeros_like(iterations)
    if rule.fallback != "best" and bool(fallback.any()):
        answers, resolve_iterations = resolve()
        solution = torch.where(fallback.unsqueeze(-1), answers, solution)
        extra = torch.where(fallback, resolve_iterations, extra)
    return AdaptiveOutcome(solution, iterations, fallback, extra, rule.fallback)


class ProgrammedSystem:
    """Matrices written onto the chip once (LP-INV arrays and HP-MVM slices).

    Writing samples every programming error; each :meth:`solve` then reads the
    arrays with fresh read noise. Build it with :meth:`AnalogSolver.program`.
    """

    def __init__(self, matrix: torch.Tensor, cfg: SolverConfig, generator: torch.Generator) -> None:
        self.config = cfg
        self.matrix = matrix
        n = matrix.shape[-1]
        if cfg.equilibrate:
            diag = matrix.diagonal(dim1=-2, dim2=-1).abs()
            self.scaling = torch.where(diag > 0, diag.rsqrt(), torch.ones_like(diag))  # [..., n]
        else:
            self.scaling = torch.ones(matrix.shape[:-1], dtype=matrix.dtype, device=matrix.device)
        self.equilibrated = matrix * self.scaling[..., :, None]
        self.equilibrated *= self.scaling[..., None, :]
        self.batch_shape = tuple(matrix.shape[:-2])
        self.generator = generator
        self.lpinv = LPINV(self.equilibrated, cfg, generator)
        self.hpmvm = BitSlicedMVM(self.equilibrated, cfg, generator)
        self.size = n

    @property
    def contraction(self) -> torch.Tensor:
        """``[...]``: spectral radius of ``I - omega A0~^-1 A`` (float64; ``inf`` where not finite)."""
        eye = torch.eye(self.size, dtype=torch.float64, device=self.matrix.device)
        error_map = eye - self.config.damping * self.lpinv.linear_operator() @ self.equilibrated
        finite = torch.isfinite(error_map).flatten(-2).all(-1)
        # LAPACK must never see inf/NaN (MKL's balancing aborts the process on them).
        rho = torch.linalg.eigvals(torch.where(finite[..., None, None], error_map, 0.0)).abs().amax(-1)
        return torch.where(finite, rho, torch.inf)

    def solve(
        self, b: torch.Tensor, iterations: int = DEFAULT_ITERATIONS, tol: torch.Tensor | None = None
    ) -> HPINVResult:
        """Refine ``A x = b`` for ``K`` iterations of ``config.outer`` (in equilibrated coordinates).

        Args:
            b: ``[..., n]`` with the matrices' batch shape, or ``[..., R, n]`` for ``R``
                right-hand sides per matrix (e.g. the channel uses of a coherence block).
            iterations: ``K >= 1`` (iteration 1 is LP-INV alone for Richardson); with a stopping
                rule (``config.stopping``) the cap.
            tol: Per-solve tolerances ``[...]`` (or ``[..., R]``) of the stopping rule, replacing
                ``config.stopping.tol``; only with a stopping rule.

        Returns:
            :class:`HPINVResult` with every iterate ``x_1..x_K``.
        """
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ValueError(f"iterations must be a whole number >= 1; got {iterations!r}")
        k_max = iterations
        if b.is_complex():
            raise TypeError("b must be real (map a complex right-hand side with complex_to_real_vector)")
        check_finite("b", b)
        multi = b.dim() == self.matrix.dim()
        batch = tuple(b.shape[: self.matrix.dim() - 2])
        if b.shape[-1] != self.size or (b.dim() != self.matrix.dim() - 1 and not multi) or batch != self.batch_shape:
            raise ValueError(
                f"b must have shape [..., {self.size}] or [..., R, {self.size}] matching the matrices "
                f"{tuple(self.matrix.shape)}; got {tuple(b.shape)}"
            )
        cols = b.to(torch.float64) if multi else b.to(torch.float64).unsqueeze(-2)
        cols = cols.mT  # [..., n, R]
        x, res = self._refine(self.lpinv, self.config.outer, cols, k_max)
        overflow = non_finite(x, 3)  # [...]: x is [..., R, K, n]; once per solve, after the iterations
        if bool(overflow.any()):
            x = torch.where(torch.isfinite(x), x, 0.0)
        stopped = None
        if tol is not None and self.config.stopping is None:
            raise ValueError("tol needs a stopping rule (config.stopping)")
        if self.config.stopping is not None:
            tols = None if tol is None else (tol if multi else tol.unsqueeze(-1)).to(res)
            stopped = apply_stopping(x, res, self.config.stopping, lambda: self._fallback(cols, k_max, tols), tols)
        if not multi:
            x, res = x.squeeze(-3), res.squeeze(-2)
            stopped = stopped.squeezed() if stopped is not None else None
        return HPINVResult(x, res, self.lpinv.singular, overflow, self.hpmvm.tv_bound, self, stopped)

    def _refine(self, lpinv: LPINV, outer: str, cols: torch.Tensor, k_max: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``K`` iterations of ``outer`` with ``lpinv`` and this system's HP-MVM on ``cols [..., n, R]`` (in the
        equilibrated system).

        Returns:
            ``(x [..., R, K, n], residual_norms [..., R, K])`` in the unequilibrated system: ``x`` may hold
            non-finite entries (overflow), ``residual_norms`` is ``inf`` where not finite.
        """
        scale = self.scaling[..., :, None]
        b_eq = scale * cols
        if outer == "richardson":
            z, r = richardson(lpinv, self.hpmvm, b_eq, k_max, self.config.damping)
        else:
            scheme = flexible_cg if outer == "fcg" else flexible_gmres
            z, r = scheme(lpinv, self.hpmvm, b_eq, k_max)
        # [..., K, n, R] -> [..., R, K, n]; back to the unequilibrated system.
        x = (scale.unsqueeze(-3) * z).movedim(-1, -3)
        norm_b = column_norms(cols).clamp_min(torch.finfo(torch.float64).tiny)  # [..., 1, R]
        res = (column_norms(r / scale.unsqueeze(-3)).squeeze(-2) / norm_b).mT  # [..., R, K]
        return x, torch.where(torch.isfinite(res), res, torch.inf)

    def _fallback(self, cols: torch.Tensor, k_max: int, tol: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The fallback's answers ``[..., R, n]`` and analog iterations ``[..., R]`` for every right-hand side
        (``cols [..., n, R]``; see :class:`~mimo_amc.amc.config.StoppingConfig` ``fallback``)."""
        rule = self.config.stopping
        assert rule is not None
        if rule.fallback == "digital":
            exact = torch.linalg.solve(self.matrix, cols).mT
            return exact, torch.zeros(exact.shape[:-1], dtype=torch.int64, device=exact.device)
        if rule.fallback == "fcg":
            x, res = self._refine(self.lpinv, "fcg", cols, k_max)
        else:  # 'loading': rewrite the LP-INV arrays with a loaded diagonal (the HP-MVM keeps A)
            lp = self.config.lpinv.model_copy(update={"diagonal_loading": rule.fallback_loading})
            loaded = LPINV(self.equilibrated, self.config.model_copy(update={"lpinv": lp}), self.generator)
            x, res = self._refine(loaded, self.config.outer, cols, k_max)
        _, iterations, pick = stopping_point(res, rule.tol if tol is None else tol, rule.divergence_growth)
        return pick_iterates(torch.where(torch.isfinite(x), x, 0.0), pick), iterations


class AnalogSolver:
    """Simulated RRAM analog matrix-equation solver (LP-INV + HP-MVM refinement).

    Args:
        config: Chip and algorithm parameters; defaults follow the paper brief.
        device: Torch device; defaults to CUDA when available.
        seed: Seed of the solver's own random generator (programming errors, read noise).

    Example:
        >>> import torch
        >>> from mimo_amc.amc import AnalogSolver, SolverConfig
        >>> g = torch.Generator().manual_seed(1)
        >>> h = torch.randn(64, 8, generator=g, dtype=torch.float64)
        >>> A, x = h.T @ h, torch.randn(8, generator=g, dtype=torch.float64)
        >>> res = AnalogSolver(SolverConfig(), device="cpu", seed=0).solve(A, A @ x, iterations=8)
        >>> res.iterates.shape
        torch.Size([8, 8])
        >>> bool(torch.linalg.vector_norm(res.solution - x) / torch.linalg.vector_norm(x) < 1e-5)
        True
    """

    def __init__(
        self,
        config: SolverConfig | None = None,
        *,
        device: torch.device | str | None = None,
        seed: int | None = None,
    ) -> None:
        self.config = (config or SolverConfig()).resolved()
        self.device = torch.device(device) if device is not None else default_device()
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r}: torch finds no CUDA device on this machine; use 'cpu'")
        self.generator = torch.Generator(device=self.device)
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)

    def program(self, matrix: torch.Tensor) -> ProgrammedSystem:
        """Write real matrices ``[..., n, n]`` onto the arrays (once)."""
        if matrix.is_complex():
            raise TypeError(
                "the analog solver takes real matrices; map complex systems with "
                "mimo_amc.amc.complex_to_real_matrix / complex_to_real_vector"
            )
        if matrix.dim() < 2 or matrix.shape[-1] != matrix.shape[-2] or matrix.shape[-1] == 0:
            raise ValueError(f"matrix must be square [..., n, n] with n >= 1; got {tuple(matrix.shape)}")
        check_finite("matrix", matrix)
        return ProgrammedSystem(matrix.to(self.device, torch.float64), self.config, self.generator)

    def solve(self, matrix: torch.Tensor, b: torch.Tensor, iterations: int = DEFAULT_ITERATIONS) -> HPINVResult:
        """Program ``matrix`` and refine ``A x = b`` (see :meth:`ProgrammedSystem.solve`)."""
        return self.program(matrix).solve(b.to(self.device), iterations)
