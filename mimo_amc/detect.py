"""Linear MIMO detectors with Sionna's equalizer signature, digital and analog.

Every detector here is an *equalizer* callable as ``f(y, h, s, precision=None) ->
(x_hat, no_eff)``, so ``sionna.phy.mimo.LinearDetector(equalizer=f, ...)`` (and the OFDM
``LinearDetector``) accept it, and additionally offers :meth:`Equalizer.detect`, which
returns every iterate ``[..., I, K]`` so that one run evaluates every iteration count.

All detectors solve the Gram system of the matched-filter output, ``A z = H^H y`` with
``A = H^H H`` (ZF) or ``A = H^H H + N0 I`` (MMSE). MMSE estimates are unbiased per user,
``x_k = z_k / (1 - N0 [A^-1]_kk)``, as in :func:`sionna.phy.mimo.lmmse_equalizer`.

**Effective noise** ``no_eff`` is that of the exact detector (ZF: ``N0 [A^-1]_kk``; MMSE:
``1 / (1 - N0 [A^-1]_kk) - 1``), computed digitally from the exact inverse for the digital,
iterative and analog detectors alike. It does not include the residual solver error of
an iterative or analog solve: soft outputs of early iterates are therefore overconfident.

**Block fading.** Pass ``h [..., 1, M, K]`` with ``y [..., T, M]``: the Gram matrix of each
realisation is formed (and, for the analog detector, written to the chip) once and the
``T`` received vectors are solved against it.

**Noise.** The detectors assume white noise, ``s = N0 I`` (checked).

Detector names (see :data:`DETECTORS`): ``zf_fp32``, ``zf_fp64``, ``mmse_fp32``, ``mmse_fp64``
(digital, complex64 / complex128 all the way), ``sionna_zf``, ``sionna_lmmse`` (Sionna's own
equalizers, double precision), ``analog_zf``, ``analog_mmse`` (the simulated HP-INV chip),
and the digital iterative baselines ``neumann_zf``, ``gauss_seidel_zf``, ``cg_zf`` (and
``_mmse``). One-shot detectors report iteration 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sionna.phy.config import config as sionna_config
from sionna.phy.mimo import lmmse_equalizer, zf_equalizer

from .amc import (
    AnalogSolver,
    HPINVResult,
    SolverConfig,
    complex_to_real_matrix,
    complex_to_real_vector,
    real_to_complex_vector,
)

Kind = Literal["zf", "mmse"]


@dataclass(frozen=True)
class Detection:
    """Output of :meth:`Equalizer.detect`.

    Attributes:
        x_hat: ``[..., I, K]`` complex128 estimates, one per reported iteration.
        no_eff: ``[..., K]`` float64 effective noise variance of the exact detector.
        iterations: the ``I`` iteration counts of ``x_hat`` (``(0,)`` for one-shot detectors).
        solver_result: the analog solve (per channel realisation: ``contraction``,
            ``converged``, ``hpmvm_tv_bound``; computed on access), or None.
    """

    x_hat: torch.Tensor
    no_eff: torch.Tensor
    iterations: tuple[int, ...]
    solver_result: HPINVResult | None = None


@dataclass(frozen=True)
class GramSystem:
    """The detection problem in canonical form.

    ``R`` received vectors share each channel matrix: ``A [*, K, K]``, ``rhs [*, R, K]``
    (``H^H y`` per vector), ``no [*]``; :meth:`restore` maps ``[*, R, ...]`` back to the
    caller's batch shape ``[..., ...]``.
    """

    gram: torch.Tensor
    rhs: torch.Tensor
    no: torch.Tensor
    batch_shape: tuple[int, ...]
    kind: Kind

    @classmethod
    def build(cls, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor, kind: Kind, dtype: torch.dtype) -> GramSystem:
        """Form ``A`` and ``H^H y`` in ``dtype`` from Sionna-shaped inputs (module docstring)."""
        y, h = y.to(dtype), h.to(dtype)
        yb, hb = tuple(y.shape[:-1]), tuple(h.shape[:-2])
        no = white_noise_variance(s).to(y.real.dtype)
        no = no.expand(torch.broadcast_shapes(no.shape, yb))
        shared = len(hb) == len(yb) and len(yb) > 0 and hb[-1] == 1 and hb[:-1] == yb[:-1]
        if shared and bool((no == no[..., :1]).all()):
            hc, yc, no = h.squeeze(-3), y, no[..., 0]
        else:
            shape = torch.broadcast_shapes(hb, yb)
            hc, yc, no = h.expand(*shape, *h.shape[-2:]), y.expand(*shape, y.shape[-1]).unsqueeze(-2), no
            no = no.expand(shape)
            yb = tuple(shape)
        gram = hc.mH @ hc
        if kind == "mmse":
            gram = gram + no[..., None, None] * torch.eye(gram.shape[-1], dtype=dtype, device=gram.device)
        return cls(gram, yc @ hc.conj(), no, yb, kind)

    def restore(self, t: torch.Tensor, trailing: int) -> torch.Tensor:
        """``[*, R, <trailing dims>] -> [batch..., <trailing dims>]``."""
        return t.reshape(*self.batch_shape, *t.shape[t.dim() - trailing :])

    def finish(self, z: torch.Tensor) -> Detection:
        """Unbias MMSE estimates and attach the exact effective noise; ``z [*, R, I, K]``."""
        diag_inv = torch.linalg.inv(self.gram).diagonal(dim1=-2, dim2=-1).real  # [*, K]
        no = self.no[..., None]
        if self.kind == "zf":
            no_eff = no * diag_inv
        else:
            gain = 1 - no * diag_inv  # diag(W H)
            z = z / gain[..., None, None, :]
            no_eff = 1 / gain - 1
        no_eff = no_eff.unsqueeze(-2).expand(*z.shape[:-2], no_eff.shape[-1])  # [*, R, K]
        return Detection(self.restore(z, 2), self.restore(no_eff, 1), (0,))


def white_noise_variance(s: torch.Tensor) -> torch.Tensor:
    """``N0 [...]`` of a white noise covariance ``s = N0 I`` of shape ``[..., M, M]``.

    Raises:
        ValueError: if ``s`` is not a (batch of) scaled identity matrices.
    """
    batch = s.shape[:-2]
    # Check each distinct matrix once: broadcast (stride-0) batch dimensions repeat one matrix.
    s = s[tuple(slice(0, 1) if stride == 0 else slice(None) for stride in s.stride()[:-2])]
    diag = s.diagonal(dim1=-2, dim2=-1)
    no = diag.real.mean(-1)
    # Off-diagonal energy = total energy - diagonal energy (torch's complex norms are slow).
    off = _energy(s, 2) - _energy(diag, 1)
    spread = _energy(diag - no[..., None], 1).sqrt()
    scale = no * s.shape[-1] ** 0.5
    if (off.clamp_min(0).sqrt() > 1e-6 * scale).any() or (spread > 1e-6 * scale).any():
        raise ValueError("the detectors assume white noise s = N0 * I; whiten the channel first")
    return no.expand(batch)


def _energy(t: torch.Tensor, dims: int) -> torch.Tensor:
    """Sum of ``|t|^2`` over the last ``dims`` dimensions (an einsum: no squared temporary)."""
    parts = (torch.view_as_real(t) if t.is_complex() else t.unsqueeze(-1)).flatten(-dims - 1)
    return torch.einsum("...i,...i->...", parts, parts)


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
        self.kind = kind
        self.dtype = torch.complex64 if precision == "single" else torch.complex128
        self.name = f"{kind}_{'fp32' if precision == 'single' else 'fp64'}"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        system = GramSystem.build(y, h, s, self.kind, self.dtype)
        z = torch.linalg.solve(system.gram, system.rhs.mT).mT  # one factorisation per matrix
        return system.finish(z.unsqueeze(-2))


class SionnaEqualizer(Equalizer):
    """Sionna's own ``zf_equalizer`` / ``lmmse_equalizer`` (double precision), as a reference."""

    def __init__(self, kind: Literal["zf", "lmmse"]) -> None:
        self._fn = zf_equalizer if kind == "zf" else lmmse_equalizer
        self.kind: Kind = "zf" if kind == "zf" else "mmse"
        self.name = f"sionna_{kind}"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        x_hat, no_eff = self._fn(y, h, s, precision="double")
        return Detection(x_hat.unsqueeze(-2), no_eff, (0,))


class IterativeEqualizer(Equalizer):
    """Digital iterative solvers of the Gram system (float64), every iterate reported.

    * ``neumann``: the Neumann series with the diagonal as first term (implicit form, i.e.
      Jacobi): ``z_k = z_{k-1} + D^-1 (b - A z_{k-1})``, ``z_0 = 0``, so ``z_1 = D^-1 b``;
    * ``gauss_seidel``: ``z_k = (D + L)^-1 (b - U z_{k-1})``, ``z_0 = 0``;
    * ``cg``: conjugate gradient from ``z_0 = 0`` (``k`` matrix-vector products for ``z_k``).
    """

    def __init__(self, method: Literal["neumann", "gauss_seidel", "cg"], kind: Kind, iterations: int) -> None:
        self.method, self.kind, self.iterations = method, kind, iterations
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


class AnalogEqualizer(Equalizer):
    """ZF / MMSE whose Gram system is solved by the simulated analog HP-INV chip.

    The complex system is mapped to its real form ``[[Re, -Im], [Im, Re]]`` (``2K x 2K``,
    symmetric for a Hermitian Gram matrix), written to the chip once per channel
    realisation and refined for ``config.iterations`` iterations; iteration 1 is LP-INV
    alone. Every iterate is returned.

    Args:
        kind: ``"zf"`` or ``"mmse"``.
        config: Analog chip and refinement parameters.
        device: Torch device of the solver.
        seed: Seed of the solver's generator (programming errors, read noise); each call
            draws fresh programming errors (a new chip write) and read noise.
        name: Name in result tables (default ``analog_<kind>``), e.g. to compare chip variants.

    Example:
        >>> eq = AnalogEqualizer("zf", SolverConfig(iterations=4), device="cpu", seed=0)
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
        device: torch.device | str | None = None,
        seed: int | None = None,
        name: str | None = None,
    ) -> None:
        self.kind = kind
        self.solver = AnalogSolver(config, device=device, seed=seed)
        self.name = name or f"analog_{kind}"

    def detect(self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> Detection:
        dev = self.solver.device
        system = GramSystem.build(y.to(dev), h.to(dev), s.to(dev), self.kind, torch.complex128)
        result = self.solver.program(complex_to_real_matrix(system.gram)).solve(complex_to_real_vector(system.rhs))
        d = system.finish(real_to_complex_vector(result.iterates))
        return Detection(d.x_hat, d.no_eff, tuple(range(1, result.iterates.shape[-2] + 1)), result)


DetectorName = Literal[
    "zf_fp32", "zf_fp64", "mmse_fp32", "mmse_fp64", "sionna_zf", "sionna_lmmse", "analog_zf", "analog_mmse",
    "neumann_zf", "gauss_seidel_zf", "cg_zf", "neumann_mmse", "gauss_seidel_mmse", "cg_mmse",
]  # fmt: skip
#: Every detector name (see :func:`make_detector`).
DETECTORS: tuple[str, ...] = get_args(DetectorName)


class AnalogVariant(BaseModel):
    """An analog detector with its own chip: ``amc`` holds changes to the scenario's ``amc`` section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind = Field("zf", description="'zf' or 'mmse'.")
    amc: dict[str, Any] = Field(default_factory=dict, description="Nested changes, e.g. {device: {bits: 4}}.")

    def solver(self, base: SolverConfig) -> SolverConfig:
        """``base`` with this variant's changes (validated)."""
        return SolverConfig.model_validate(_merge(base.model_dump(), self.amc))


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


class DetectorsConfig(BaseModel):
    """Which detectors a scenario evaluates.

    Example:
        >>> DetectorsConfig(names=["zf_fp32", "analog_zf"], iterations=5).names
        ['zf_fp32', 'analog_zf']
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    names: list[DetectorName] = Field(
        default_factory=lambda: ["zf_fp32", "zf_fp64", "analog_zf"],
        min_length=1,
        description="Detectors evaluated on the same data (see mimo_amc.detect.DETECTORS).",
    )
    iterations: int = Field(
        5, ge=1, le=200, description="Iterations of the analog and digital iterative detectors (all reported)."
    )
    reference: DetectorName = Field("zf_fp32", description="Detector that BER parity is judged against.")
    variants: dict[str, AnalogVariant] = Field(
        default_factory=dict,
        description="Extra analog detectors, each with its own changes to the scenario's amc section, "
        "evaluated on the same data as the others, e.g. {analog_zf_fcg: {kind: zf, amc: {outer: fcg}}}.",
    )

    @model_validator(mode="after")
    def _reference_is_run(self) -> DetectorsConfig:
        if self.reference not in self.names:
            raise ValueError(f"reference {self.reference!r} is not among the detectors {self.names}; add it to names")
        return self

    @field_validator("variants")
    @classmethod
    def _variant_names(cls, variants: dict[str, AnalogVariant]) -> dict[str, AnalogVariant]:
        for name in variants:
            if name in DETECTORS or not name.replace("_", "").isalnum():
                raise ValueError(f"variant name {name!r} must be letters, digits and '_' and not a built-in detector")
        return variants


def make_detector(
    name: str,
    *,
    iterations: int,
    solver: SolverConfig | None = None,
    device: torch.device | str | None = None,
    seed: int | None = None,
) -> Equalizer:
    """Build a detector from its name (see :data:`DETECTORS`).

    Args:
        name: Detector name.
        iterations: Iterations of the iterative and analog detectors.
        solver: Analog chip configuration (``iterations`` overrides its iteration count).
        device: Device of the analog solver.
        seed: Seed of the analog solver.
    """
    if name not in DETECTORS:
        raise ValueError(f"unknown detector {name!r}; choose from {', '.join(DETECTORS)}")
    if name.startswith("sionna_"):
        return SionnaEqualizer(name.removeprefix("sionna_"))
    method, kind = name.rsplit("_", 1)
    if kind in ("fp32", "fp64"):
        return DigitalEqualizer(method, "single" if kind == "fp32" else "double")
    if method == "analog":
        cfg = (solver or SolverConfig()).model_copy(update={"iterations": iterations})
        return AnalogEqualizer(kind, cfg, device=device, seed=seed)
    return IterativeEqualizer(method, kind, iterations)


class NearestPointSlicer:
    """Hard decisions by nearest constellation point, for square QAM and BPSK.

    A square QAM constellation is the product of two PAM axes, so the nearest point is
    found per axis (bucketing against the mid-points), which equals Sionna's max-log hard
    demapping at a fraction of the cost.

    Args:
        constellation: Sionna constellation (its ``points`` and Gray labelling are used).

    Example:
        >>> from sionna.phy.mapping import Constellation
        >>> slicer = NearestPointSlicer(Constellation("qam", 4, precision="double", device="cpu"))
        >>> slicer.bits(torch.tensor([0.3 + 0.9j])).tolist()
        [[0.0, 0.0, 0.0, 1.0]]
    """

    def __init__(self, constellation) -> None:
        points = constellation.points.to(torch.complex128)
        self.num_bits = constellation.num_bits_per_symbol
        self._re = torch.unique(points.real.round(decimals=12))
        self._im = torch.unique(points.imag.round(decimals=12))
        if len(self._re) * len(self._im) != len(points):
            raise ValueError("nearest-point slicing needs a square (product) constellation")
        i_re = torch.argmin((points.real[:, None] - self._re).abs(), dim=1)
        i_im = torch.argmin((points.imag[:, None] - self._im).abs(), dim=1)
        self._index = torch.empty(len(self._re), len(self._im), dtype=torch.long, device=points.device)
        self._index[i_re, i_im] = torch.arange(len(points), device=points.device)
        shifts = torch.arange(self.num_bits - 1, -1, -1, device=points.device)
        self._labels = ((torch.arange(len(points), device=points.device)[:, None] >> shifts) & 1).double()

    def indices(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Constellation indices ``[...]`` (int64) of the nearest points to ``x_hat [...]``."""
        re, im = self._re.to(x_hat.device), self._im.to(x_hat.device)
        i_re = torch.bucketize(x_hat.real.double().contiguous(), (re[1:] + re[:-1]) / 2)
        i_im = torch.bucketize(x_hat.imag.double().contiguous(), (im[1:] + im[:-1]) / 2)
        return self._index.to(x_hat.device)[i_re, i_im]

    def bits(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Hard-decided bits ``[..., num_bits]`` (float 0/1, MSB first) of ``x_hat [...]``."""
        return self._labels.to(x_hat.device)[self.indices(x_hat)]
