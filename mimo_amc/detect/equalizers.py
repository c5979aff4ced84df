"""Linear MIMO equalizers with Sionna's signature, digital and analog.

Every equalizer here is callable as ``f(y, h, s, precision=None) -> (x_hat, no_eff)``, so
``sionna.phy.mimo.LinearDetector(equalizer=f, ...)`` (and the OFDM ``LinearDetector``) accept it,
and additionally offers :meth:`Equalizer.detect`, which returns every iterate ``[..., I, K]`` so
that one run evaluates every iteration count. All of them solve the Gram system of
:mod:`mimo_amc.detect.gram` (its docstring states the shapes, block fading and the noise model).

**Effective noise** ``no_eff`` (:attr:`Detection.no_eff`) is that of the exact detector (ZF:
``N0 [A^-1]_kk``; MMSE: ``1 / (1 - N0 [A^-1]_kk) - 1``), computed from one digital ``K x K``
inverse per Gram matrix for every detector. It does not include the remaining solver error of an
iterative or analog solve, so the soft outputs of early iterates are overconfident. The analog
detector's ``soft_output="residual"`` instead builds calibrated soft outputs from what the chip
computes, with no exact inverse: its own estimate of ``diag(A^-1)`` (the unit vectors solved once
per written matrix) and, per received vector, stream and iterate, the squared solver error
estimated from the residual it measures (:class:`AnalogEqualizer`).
"""

from __future__ import annotations

from typing import Literal

import torch
from sionna.phy.config import config as sionna_config
from sionna.phy.mimo import lmmse_equalizer, zf_equalizer

from ..amc import (
    DEFAULT_ITERATIONS,
    AnalogSolver,
    OperationCounts,
    ProgrammedSystem,
    SolverConfig,
    complex_to_real_matrix,
    complex_to_real_vector,
    operation_counts,
    real_to_complex_vector,
)
from ..scenario.detectors import Kind
from .gram import Detection, GramSystem
from .tolerance import check_constellation, stopping_tolerance


def check_kind(kind: str) -> Kind:
    """``kind`` if it is ``"zf"`` or ``"mmse"`` (exactly), else a ValueError naming the value."""
    if kind not in ("zf", "mmse"):
        raise ValueError(f"kind must be 'zf' or 'mmse' (lower case); got {kind!r}")
    return kind  # type: ignore[return-value]


def check_soft_output(soft_output: str) -> Literal["exact", "residual"]:
    """``soft_output`` if it is ``"exact"`` or ``"residual"``, else a ValueError naming the value."""
    if soft_output not in ("exact", "residual"):
        raise ValueError(f"soft_output must be 'exact' or 'residual'; got {soft_output!r}")
    return soft_output  # type: ignore[return-value]


class Equalizer:
    """Base class: Sionna's equalizer signature on top of :meth:`detect`.

    The contract of :func:`sionna.phy.mimo.lmmse_equalizer` / ``zf_equalizer``: any batch dimensions,
    any Hermitian positive definite noise covariance ``s`` (whitened, see :mod:`.gram`), outputs in
    ``precision`` (``"single"``: complex64 / float32, ``"double"``: complex128 / float64; ``None``:
    ``sionna.phy.config.precision``) on the device of ``y``. Digital equalizers are differentiable
    (gradients flow through the solve); the analog one refuses inputs that require gradients.

    Attributes:
        name: Name in result tables.
        kind: ``"zf"`` or ``"mmse"``: which exact solution the detector approximates.
    """

    name: str = "equalizer"
    kind: Kind = "zf"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        """Every iterate for ``y [..., M]``, ``h [..., M, K]`` (broadcastable), ``s [..., M, M]``."""
        raise NotImplementedError

    def __call__(
        self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor, precision: str | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sionna equalizer: ``(x_hat [..., K], no_eff [..., K])`` of the last iterate."""
        precision = precision or sionna_config.precision
        if precision not in ("single", "double"):
            raise ValueError(f"precision must be 'single', 'double' or None; got {precision!r}")
        cdtype, dtype = (torch.complex64, torch.float32) if precision == "single" else (torch.complex128, torch.float64)
        x_hat, no_eff = self.detect(y, h, s).soft_output
        return x_hat[..., -1, :].to(y.device, cdtype), no_eff[..., -1, :].to(y.device, dtype)


class DigitalEqualizer(Equalizer):
    """Exact ZF / MMSE by a batched LU solve of the Gram system, in single or double precision.

    Example:
        >>> eq = DigitalEqualizer("zf", "single")
        >>> h = torch.randn(2, 8, 3, dtype=torch.complex64)
        >>> x = torch.randn(2, 3, dtype=torch.complex64)
        >>> s = 1e-6 * torch.eye(8, dtype=torch.complex64).expand(2, 8, 8)
        >>> x_hat, no_eff = eq((h @ x[..., None])[..., 0], h, s)
        >>> bool((x_hat - x).abs().max() < 1e-4), x_hat.dtype
        (True, torch.complex64)
    """

    def __init__(self, kind: Kind, precision: Literal["single", "double"]) -> None:
        self.kind = check_kind(kind)
        if precision not in ("single", "double"):
            raise ValueError(f"precision must be 'single' or 'double'; got {precision!r}")
        self.dtype = torch.complex64 if precision == "single" else torch.complex128
        self.name = f"{kind}_{'fp32' if precision == 'single' else 'fp64'}"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        system = GramSystem.build(y, h, s, self.kind, self.dtype)
        z = torch.linalg.solve(system.gram, system.rhs.mT).mT  # one factorisation per matrix
        return system.finish(z.unsqueeze(-2))


class SionnaEqualizer(Equalizer):
    """Sionna's own ``zf_equalizer`` / ``lmmse_equalizer`` (double precision), as a reference."""

    def __init__(self, kind: Literal["zf", "lmmse"]) -> None:
        if kind not in ("zf", "lmmse"):
            raise ValueError(f"kind must be 'zf' or 'lmmse' (lower case); got {kind!r}")
        self._fn = zf_equalizer if kind == "zf" else lmmse_equalizer
        self.kind: Kind = "zf" if kind == "zf" else "mmse"
        self.name = f"sionna_{kind}"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        x_hat, no_eff = self._fn(y, h, s, precision="double")
        return Detection(x_hat.unsqueeze(-2), no_eff, (0,))


class AnalogEqualizer(Equalizer):
    """ZF / MMSE whose Gram system is solved by the simulated analog HP-INV chip.

    The complex system is mapped to its real form ``[[Re, -Im], [Im, Re]]`` (``2K x 2K``,
    symmetric for a Hermitian Gram matrix), written to the chip once per channel
    realisation and refined for ``iterations`` iterations; iteration 1 is LP-INV
    alone. Every iterate is returned, or, when the chip has a stopping rule
    (``config.stopping``), only the adaptive solution, reported at iteration ``iterations`` (the cap).

    Args:
        kind: ``"zf"`` or ``"mmse"``.
        config: Analog chip and refinement parameters.
        iterations: Iterations ``K`` of every solve (all reported).
        device: Torch device of the solver (default ``sionna.phy.config.device``); outputs of
            ``__call__`` return to the device of ``y``.
        seed: Seed of the solver's generator (programming errors, read noise); each call
            draws fresh programming errors (a new chip write) and read noise. Default:
            ``sionna.phy.config.seed`` (random when that is None too).
        name: Name in result tables (default ``analog_<kind>``), e.g. to compare chip variants.
        soft_output: ``"exact"``: the exact detector's ``no_eff`` (digital inverse) for every iterate;
            ``"residual"``: also the calibrated pair :attr:`Detection.x_hat_residual`,
            :attr:`Detection.no_eff_residual` (what ``__call__`` then returns), from the chip alone (below).
        bits_per_symbol: Bits per constellation symbol, for a stopping rule whose tolerance is derived from
            the constellation (``stopping.ber_change``, :mod:`mimo_amc.detect.tolerance`); None otherwise.

    **The calibrated soft outputs** (``soft_output="residual"``) use no exact inverse. Per written
    matrix the chip also solves the ``K`` unit vectors ``e_j`` (beside the received vectors: same write,
    same ``iterations``, same stopping rule with its fixed ``tol``): entry ``j`` of the iterate-``k``
    solution of ``e_j`` is the chip's estimate of ``[A^-1]_jj``, from which iterate ``k``'s MMSE gain
    and noise term follow
    (:meth:`~mimo_amc.detect.gram.GramSystem.calibrate`, which clips it to the bounds every such ``A``
    satisfies). The solver error of iterate ``k`` of each received vector is estimated as
    ``e_k = LP-INV(r_k)``, ``r_k = b - HP-MVM(x_k)`` (equilibrated coordinates), and ``|e_k|^2`` is added.

    **Cost of the calibration** (:meth:`operations`). Per written matrix, ``K`` more solves of
    ``k`` iterations each (``K k`` LP-INV and ``K k`` HP-MVM for Richardson), amortised over the
    matrix's received vectors; per received vector, one LP-INV: ``LP-INV(r_k)`` is the preconditioned
    residual that Richardson and FCG compute at the start of iteration ``k + 1`` anyway, and ``r_k`` is
    measured by every scheme (the simulation draws them afresh, with their own read noise). With one
    write per resource element (Sionna's per-RE equalization) the ``K`` unit-vector solves are not
    amortised: ``K + 1`` solves per received vector instead of one.

    Example:
        >>> eq = AnalogEqualizer("zf", SolverConfig(), iterations=4, device="cpu", seed=0)
        >>> h = torch.randn(5, 1, 32, 4, dtype=torch.complex128)  # 5 channels, shared by 7 uses
        >>> x = torch.randn(5, 7, 4, dtype=torch.complex128)
        >>> s = 1e-4 * torch.eye(32, dtype=torch.complex128).expand(5, 1, 32, 32)
        >>> d = eq.detect((h @ x[..., None])[..., 0], h, s)
        >>> d.x_hat.shape, d.iterations
        (torch.Size([5, 7, 4, 4]), (1, 2, 3, 4))
    """

    def __init__(
        self,
        kind: Kind,
        config: SolverConfig | None = None,
        *,
        iterations: int = DEFAULT_ITERATIONS,
        device: torch.device | str | None = None,
        seed: int | None = None,
        name: str | None = None,
        soft_output: Literal["exact", "residual"] = "exact",
        bits_per_symbol: int | None = None,
    ) -> None:
        self.kind = check_kind(kind)
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ValueError(f"iterations must be a whole number >= 1; got {iterations!r}")
        self.iterations = iterations
        self.soft_output = check_soft_output(soft_output)
        self.bits_per_symbol = bits_per_symbol
        self.solver = AnalogSolver(
            config,
            device=device if device is not None else sionna_config.device,
            seed=seed if seed is not None else sionna_config.seed,
        )
        check_constellation(self.solver.config.stopping, bits_per_symbol)
        self.name = name or f"analog_{kind}"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        if any(t.requires_grad for t in (y, h, s) if isinstance(t, torch.Tensor)):
            raise ValueError(
                "the analog equalizer is not differentiable (the chip is a simulated circuit: programming, "
                "converters, read noise); detach y, h and s, or train with DigitalEqualizer in its place"
            )
        dev = self.solver.device
        system = GramSystem.build(y.to(dev), h.to(dev), s.to(dev), self.kind, torch.complex128)
        chip = self.solver.program(complex_to_real_matrix(system.gram))
        rhs = complex_to_real_vector(system.rhs)  # [*, R, 2K]
        r, k = rhs.shape[-2], system.gram.shape[-1]
        calibrated = self.soft_output == "residual"
        if calibrated:  # the K unit vectors: K more right-hand sides of the same write (diag(A^-1), below)
            rhs = torch.cat([rhs, complex_to_real_vector(system.unit_rhs())], dim=-2)
        rule = self.solver.config.stopping
        tol = None if rule is None else stopping_tolerance(system, rule, self.bits_per_symbol)
        if tol is not None and calibrated:  # the unit vectors carry no noise: the rule's fixed tolerance
            tol = torch.cat([tol, tol.new_full((*tol.shape[:-1], k), rule.tol)], dim=-1)
        solved = chip.solve(rhs, self.iterations, tol)
        if solved.stopped is not None:  # adaptive: one solution per vector, at the cap's position
            every, its = solved.stopped.solution.unsqueeze(-2), (self.iterations,)
        else:
            every, its = solved.iterates, tuple(range(1, solved.iterates.shape[-2] + 1))
        result, reported = solved.leading(r), every[..., :r, :, :]
        z = real_to_complex_vector(reported)
        d = system.finish(z)
        if not calibrated:
            return Detection(d.x_hat, d.no_eff, its, result)
        diag_inv = every[..., r:, :, :k].diagonal(dim1=-3, dim2=-1)  # [*, I, K]: entry j of the solution of e_j
        error = real_to_complex_vector(solver_error(chip, rhs[..., :r, :], reported))
        x_cal, no_eff_cal = system.calibrate(z, diag_inv, error)
        return Detection(d.x_hat, d.no_eff, its, result, x_cal, no_eff_cal)

    def operations(
        self, iteration: int, vectors: int, matrices: int, streams: int, calibrated: bool
    ) -> OperationCounts:
        """Operations of a receiver that stops at iterate ``iteration`` (1-based), in total over ``matrices``
        written matrices and the ``vectors`` received vectors solved against them.

        Args:
            iteration: ``k``: every solve runs iterations ``1..k`` of ``config.outer``
                (:func:`~mimo_amc.amc.operation_counts`; with a stopping rule the cap, an upper bound).
            vectors: Received vectors (all matrices together).
            matrices: Written matrices.
            streams: ``K`` (the complex system's size).
            calibrated: Add the calibration: ``K`` unit-vector solves per matrix, one LP-INV per vector.

        Example:
            >>> AnalogEqualizer("mmse", device="cpu", seed=0).operations(3, 100, 2, 4, calibrated=True)
            OperationCounts(lpinv=424, hpmvm=324, dot_products=0)
        """
        steps = [operation_counts(self.solver.config.outer, j, 2 * streams) for j in range(1, iteration + 1)]
        solves = vectors + (matrices * streams if calibrated else 0)
        return OperationCounts(
            lpinv=solves * sum(c.lpinv for c in steps) + (vectors if calibrated else 0),
            hpmvm=solves * sum(c.hpmvm for c in steps),
            dot_products=solves * sum(c.dot_products for c in steps),
        )


def solver_error(chip: ProgrammedSystem, b: torch.Tensor, iterates: torch.Tensor) -> torch.Tensor:
    """The chip's estimate ``LP-INV(b - HP-MVM(x_k))`` of the error ``A^-1 b - x_k`` of every iterate.

    Args:
        chip: The programmed matrices ``[*, n, n]``.
        b: Right-hand sides ``[*, R, n]`` (float64).
        iterates: ``[*, R, I, n]`` (as in :attr:`HPINVResult.iterates`).

    Returns:
        ``[*, R, I, n]``, in the unequilibrated coordinates of ``iterates``.
    """
    i, n = iterates.shape[-2:]
    scale = chip.scaling.unsqueeze(-2)  # [*, 1, n]
    x_eq = (iterates / scale.unsqueeze(-2)).flatten(-3, -2).mT  # [*, n, R I]
    b_eq = (b * scale).unsqueeze(-2).expand(*b.shape[:-1], i, n).flatten(-3, -2).mT
    correction = chip.lpinv(b_eq - chip.hpmvm(x_eq))  # [*, n, R I]
    return (correction * chip.scaling.unsqueeze(-1)).mT.reshape(iterates.shape)
