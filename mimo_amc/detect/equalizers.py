"""Linear MIMO equalizers with Sionna's signature, digital and analog.

Every equalizer here is callable as ``f(y, h, s, precision=None) -> (x_hat, no_eff)``, so
``sionna.phy.mimo.LinearDetector(equalizer=f, ...)`` (and the OFDM ``LinearDetector``) accept it,
and additionally offers :meth:`Equalizer.detect`, which returns every iterate ``[..., I, K]`` so
that one run evaluates every iteration count. All of them solve the Gram system of
:mod:`mimo_amc.detect.gram` (its docstring states the shapes, block fading and the noise model).

**Effective noise** ``no_eff`` is that of the exact detector (ZF: ``N0 [A^-1]_kk``; MMSE:
``1 / (1 - N0 [A^-1]_kk) - 1``), computed digitally from the exact inverse for the digital,
iterative and analog detectors alike. It does not include the residual solver error of
an iterative or analog solve: soft outputs of early iterates are therefore overconfident.
"""

from __future__ import annotations

from typing import Literal

import torch
from sionna.phy.config import config as sionna_config
from sionna.phy.mimo import lmmse_equalizer, zf_equalizer

from ..amc import (
    DEFAULT_ITERATIONS,
    AnalogSolver,
    SolverConfig,
    complex_to_real_matrix,
    complex_to_real_vector,
    real_to_complex_vector,
)
from ..scenario.detectors import Kind
from .gram import Detection, GramSystem


def check_kind(kind: str) -> Kind:
    """``kind`` if it is ``"zf"`` or ``"mmse"`` (exactly), else a ValueError naming the value."""
    if kind not in ("zf", "mmse"):
        raise ValueError(f"kind must be 'zf' or 'mmse' (lower case); got {kind!r}")
    return kind  # type: ignore[return-value]


class Equalizer:
    """Base class: Sionna's equalizer signature on top of :meth:`detect`.

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
        cdtype, dtype = (torch.complex64, torch.float32) if precision == "single" else (torch.complex128, torch.float64)
        d = self.detect(y, h, s)
        return d.x_hat[..., -1, :].to(cdtype), d.no_eff.to(dtype)


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
        device: Torch device of the solver.
        seed: Seed of the solver's generator (programming errors, read noise); each call
            draws fresh programming errors (a new chip write) and read noise.
        name: Name in result tables (default ``analog_<kind>``), e.g. to compare chip variants.

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
    ) -> None:
        self.kind = check_kind(kind)
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ValueError(f"iterations must be a whole number >= 1; got {iterations!r}")
        self.iterations = iterations
        self.solver = AnalogSolver(config, device=device, seed=seed)
        self.name = name or f"analog_{kind}"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        dev = self.solver.device
        system = GramSystem.build(y.to(dev), h.to(dev), s.to(dev), self.kind, torch.complex128)
        chip = self.solver.program(complex_to_real_matrix(system.gram))
        rule, tol = self.solver.config.stopping, None
        if rule is not None and rule.noise_fraction is not None:  # tol from the noise in H^H y: E|H^H n|^2 = N0 tr A
            noise = (system.no * system.gram.diagonal(dim1=-2, dim2=-1).real.sum(-1)).sqrt()  # [*]
            tol = rule.noise_fraction * noise.unsqueeze(-1) / torch.linalg.vector_norm(system.rhs, dim=-1)
        result = chip.solve(complex_to_real_vector(system.rhs), self.iterations, tol)
        if result.stopped is not None:
            d = system.finish(real_to_complex_vector(result.stopped.solution.unsqueeze(-2)))
            return Detection(d.x_hat, d.no_eff, (self.iterations,), result)
        d = system.finish(real_to_complex_vector(result.iterates))
        return Detection(d.x_hat, d.no_eff, tuple(range(1, result.iterates.shape[-2] + 1)), result)
