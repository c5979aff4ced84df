"""Parameters of the simulated analog matrix-computing (AMC) chip.

Every non-ideality is a named field with a documented default and its source.
The conventions follow CrossSim and the paper brief: ``bits = 0`` or ``sigma = 0``
turns one effect off, and ``SolverConfig(ideal=True)`` turns every effect off at
once, which reproduces the digital float64 solution.

Sources quoted below:

* [Zuo25] P. Zuo et al., "Precise and scalable analogue matrix equation solving
  using resistive random-access memory chips", Nature Electronics 8, 1222 (2025).
* [Brief] ``shared/paper-brief.md`` of this project (reconstructed Methods details).
* [Peers] ``shared/peers-notes.md`` (aihwkit, CrossSim and NeuroSim defaults).

Example:
    >>> from mimo_amc.amc import SolverConfig
    >>> cfg = SolverConfig()
    >>> cfg.device.bits, cfg.lpinv.array_size, cfg.hpmvm.num_slices
    (3, 8, 8)
    >>> SolverConfig(ideal=True).resolved().lpinv.prog_sigma
    0.0
"""

from __future__ import annotations

import decimal
import types
import typing
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

OuterScheme = Literal["richardson", "fcg", "fgmres"]
"""Outer iteration of the solver (see :mod:`mimo_amc.amc.schemes`)."""

Fallback = Literal["digital", "best", "fcg", "loading"]
"""What an adaptive solve that does not converge returns (see :class:`StoppingConfig`)."""


class Section(BaseModel):
    """The one base of every parameter and scenario section: frozen, unknown fields are errors.

    Example:
        >>> DeviceConfig(bitz=3)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for DeviceConfig
        bitz
        ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """Numbers mean numbers: a boolean is not one, and ``1e6`` (which YAML reads as text) is a
        whole number where the field wants one and the value is exactly integral."""
        kinds = _scalar_types(cls.model_fields[info.field_name].annotation)
        if isinstance(value, bool) and kinds & {int, float} and bool not in kinds:
            raise ValueError(f"expected a number, got the boolean {value}")
        if isinstance(value, str) and int in kinds and str not in kinds:
            try:
                number = decimal.Decimal(value.strip())
            except decimal.InvalidOperation:
                return value
            if number.is_finite() and number == number.to_integral_value():
                return int(number)
        return value


def _scalar_types(annotation: Any) -> set[Any]:
    """The plain types a field annotation admits (``int | None`` -> ``{int, NoneType}``)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return set().union(*(_scalar_types(a) for a in typing.get_args(annotation)))
    if typing.get_origin(annotation) is typing.Annotated:
        return _scalar_types(typing.get_args(annotation)[0])
    return {annotation} if isinstance(annotation, type) else set()


class DeviceConfig(Section):
    """RRAM cell model shared by every array of the chip.

    A signed matrix entry is a differential pair ``G+ - G-``. Each device holds one
    of ``2**bits`` conductance levels spread linearly over ``[g_min_us, g_max_us]``
    (level 0 = ``g_min_us``, the off state); a digit ``q`` in ``-L..L`` with
    ``L = 2**bits - 1`` programs ``G+ = g_min + max(q, 0) * dG`` and
    ``G- = g_min + max(-q, 0) * dG`` with ``dG = (g_max - g_min) / L``.
    """

    bits: int = Field(
        3,
        ge=0,
        le=8,
        description="Bits per cell: 2**bits conductance levels [Zuo25: 3-bit TaOx cells]. "
        "0 = unquantized (analog) cells.",
    )
    g_min_us: float = Field(0.5, gt=0, description="Lowest level, microsiemens [Zuo25: 0.5 uS].")
    g_max_us: float = Field(35.0, gt=0, description="Highest level, microsiemens [Zuo25: 35 uS].")
    stuck_at_rate: float = Field(
        0.0, ge=0, le=1, description="Fraction of devices stuck at g_min or g_max [Brief: off; sweep 0-1 %]."
    )
    stuck_at_high_fraction: float = Field(
        0.5, ge=0, le=1, description="Of the stuck devices, the fraction stuck at g_max (the rest at g_min)."
    )
    drift_nu: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Power-law drift exponent: G(t) = G0 (t/t0)^-nu [Brief: off; sweep 0-0.1].",
    )
    drift_nu_std: float = Field(0.0, ge=0, description="Device-to-device spread of nu (Gaussian, clipped at 0).")
    drift_time_s: float = Field(1.0, gt=0, description="Read time t after programming, seconds.")
    drift_t0_s: float = Field(1.0, gt=0, description="Reference time t0 of the drift law, seconds.")

    @model_validator(mode="after")
    def _window(self) -> DeviceConfig:
        if self.g_max_us <= self.g_min_us:
            raise ValueError(f"g_max_us ({self.g_max_us}) must be larger than g_min_us ({self.g_min_us})")
        return self

    @property
    def levels(self) -> int:
        """Largest digit magnitude ``L`` (``2**bits - 1``; 1 for unquantized cells)."""
        return 2**self.bits - 1 if self.bits > 0 else 1

    @property
    def level_step_us(self) -> float:
        """Conductance step ``dG = (g_max - g_min) / L`` between adjacent levels, microsiemens.

        The one place this is derived: arrays, HP-MVM deviations and the cost model use it.

        Example:
            >>> DeviceConfig().level_step_us
            4.928571428571429
        """
        return (self.g_max_us - self.g_min_us) / self.levels


class ConverterConfig(Section):
    """DAC at the input and ADC at the output of a low-precision analog operation.

    Both are signed uniform quantizers with ``2**(bits-1) - 1`` levels per sign over a
    full scale that is set per operation: the input vector is rescaled to the DAC's
    full range, and the ADC range follows the largest output (auto-ranging).
    ``bits = 0`` is an ideal converter.
    """

    dac_bits: int = Field(8, ge=0, le=24, description="LP-INV input DAC bits [Brief: 8; sweep 4-12].")
    adc_bits: int = Field(8, ge=0, le=24, description="LP-INV output ADC bits [Brief: 8; sweep 4-12].")


class LPINVConfig(Section):
    """Low-precision inversion circuit: op-amps with the array in the feedback loop.

    The array holds the most significant ``device.bits`` slice of each block of the
    (equilibrated) matrix. Systems larger than ``array_size`` are partitioned by
    BlockAMC onto arrays of that size; the BlockAMC matrix-vector products run on
    arrays of the same kind (same programming error, converters and read noise).
    """

    array_size: int = Field(8, ge=1, description="INV array size; BlockAMC above it [Zuo25: 8x8 arrays].")
    prog_sigma: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Programming error per device, Gaussian std as a fraction of g_max, drawn once "
        "per write [Brief: 1-2 %; Peers: aihwkit ReRAM ~1 %].",
    )
    read_noise: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Output read noise, Gaussian std as a fraction of the ADC full scale, drawn "
        "fresh on every read [Brief: 1 % of full scale].",
    )
    opamp_gain: float | None = Field(
        1e4,
        gt=1,
        description="Op-amp open-loop DC gain; None = infinite [Brief: 1e4-1e5; the low end is the default].",
    )
    diagonal_loading: float = Field(
        0.0,
        ge=0,
        le=10,
        description="Added to the diagonal of the (equilibrated) matrix before it is written to the LP-INV "
        "arrays, as a fraction of its largest diagonal entry: the preconditioner (A + d I)^-1 contracts "
        "for every SPD A and pushes quantisation-induced negative or tiny eigenvalues away. 0 = off.",
    )
    converters: ConverterConfig = Field(default_factory=ConverterConfig)


class HPMVMConfig(Section):
    """High-precision bit-sliced matrix-vector multiply that computes the residual.

    The matrix is stored as ``num_slices`` slices of ``device.bits`` bits (round-to-
    nearest signed digits), each slice on its own array; the input vector is applied
    as ``input_slices`` digit slices of ``input_digit_bits`` bits. Every analog partial
    sum over at most ``array_size`` inputs carries the slice's programming error and a
    fresh read noise, and the ADC rounds it to an integer (saturating if it has too
    few bits). Shift-and-add of the integers gives a fixed-point product.
    """

    num_slices: int = Field(8, ge=1, le=16, description="Matrix bit slices [Zuo25: 8 x 3 bit = 24 bit].")
    array_size: int = Field(128, ge=1, description="Rows summed into one ADC read [Brief: 128x128 MVM arrays].")
    prog_sigma: float = Field(
        1e-4,
        ge=0,
        le=1,
        description="Programming error per device, fraction of g_max. Default: tight enough "
        "(write-verify) that 128-row partial sums with 3-bit input digits round exactly "
        "(deviation std ~0.03 LSB) [Brief]. Realistic RRAM write-verify is 0.1-1 % "
        "(aihwkit ReRamCMO); the robustness scenarios show where exactness breaks.",
    )
    read_noise_lsb: float = Field(
        0.05,
        ge=0,
        le=10,
        description="Read noise on each partial sum, Gaussian std in ADC LSB (one integer step), "
        "fresh every read [Brief: a fraction of an LSB; the npj AIMC review studies 0.1 LSB].",
    )
    input_digit_bits: int = Field(3, ge=1, le=8, description="Bits per input digit slice [Brief: 3].")
    input_slices: int = Field(8, ge=1, le=24, description="Input digit slices (8 x 3 = 24-bit inputs).")
    adc_bits: int | None = Field(
        None,
        ge=2,
        le=32,
        description="Partial-sum ADC bits; None = auto-sized to read every possible integer "
        "partial sum exactly [Brief: about log2(rows * 7 * 7) + sign].",
    )


class WireConfig(Section):
    """Interconnect resistance of every crossbar array (LP-INV, its BlockAMC MVMs and the HP-MVM tiles).

    Each array is a resistive network (:mod:`mimo_amc.amc.wires`): a wire segment of ``segment_ohm``
    between neighbouring cells on every row and column, the driver's output resistance ``driver_ohm``
    where each input row is driven (DAC buffer, or the op-amp output in the INV circuit), and
    ``sense_ohm`` between each output column and its virtual ground (TIA or op-amp input). The
    network is linear, so an array computes ``G_eff x`` with an effective matrix that includes the
    IR drop. All three 0 (the default) is the ideal array, ``G_eff = G``.
    """

    segment_ohm: float = Field(
        0.0,
        ge=0,
        le=1e6,
        description="Wire resistance between neighbouring cells, ohm [Brief and shared/receiver-notes.md: "
        "~1.73 ohm in the Zuo25 chip (secondary sources; Peers: aihwkit 0.35 ohm)]. Default 0 (off): at 1.73 "
        "ohm the median error of paper_precision at iteration 10 changes by 0.2 % (1.15e-7 either way), "
        "its 90th percentile by 1.3x; from ~5 ohm the HP-MVM partial sums no longer round exactly.",
    )
    driver_ohm: float = Field(
        0.0,
        ge=0,
        le=1e6,
        description="Output resistance of each row driver (DAC buffer or INV op-amp), ohm [no published "
        "figure; 0 = ideal driver].",
    )
    sense_ohm: float = Field(
        0.0,
        ge=0,
        le=1e6,
        description="Resistance between each column and its virtual ground (TIA / op-amp input), ohm [no "
        "published figure; 0 = ideal virtual ground].",
    )

    @property
    def ideal(self) -> bool:
        """No wire, driver or sense resistance: every array computes with its programmed ``G``."""
        return self.segment_ohm == 0 and self.driver_ohm == 0 and self.sense_ohm == 0


class StoppingConfig(Section):
    """Adaptive iterations: stop each solve on the residual the HP-MVM measures, with a fallback.

    A solve (one right-hand side) stops at the first iteration ``k`` with
    ``||r_k|| / ||b|| < tol``; it is declared diverging at the first ``k >= 2`` with
    ``||r_k|| > divergence_growth * min_{j<k} ||r_j||``, and it falls back when it diverges first or
    does not reach ``tol`` within the iteration cap (see :meth:`~mimo_amc.amc.ProgrammedSystem.solve`).
    A detector may replace the fixed ``tol`` by one per solve derived from the noise (``noise_fraction``)
    or from the constellation and the post-detection SNR (``ber_change``; :mod:`mimo_amc.detect.tolerance`).
    """

    tol: float = Field(
        1e-3,
        gt=0,
        lt=1,
        description="Relative residual ||r_k|| / ||b|| at which a solve stops [Peers: hard 256-QAM decisions "
        "need a relative error of 1e-2 to 1e-3; assumption: the strict end].",
    )
    noise_fraction: float | None = Field(
        None,
        gt=0,
        description="When set, a detector derives each solve's tolerance from the noise already in b = H^H y: "
        "tol = noise_fraction sqrt(N0 tr H^H H) / ||b|| (the solver's residual a noise_fraction of the noise's, "
        "both mapped to the estimate by the same A^-1), replacing the fixed tol. Assumption: 0.1 (-20 dB).",
    )
    ber_change: float | None = Field(
        None,
        gt=0,
        le=1,
        description="When set, a detector derives each solve's tolerance from the constellation and the "
        "post-detection SNR: the solver error may raise the (nearest-neighbour) symbol error rate of the "
        "solve's steepest stream by at most this relative amount (mimo_amc.detect.tolerance), replacing the "
        "fixed tol. Assumption: 0.05, one standard error of a BER estimate from 400 errors (1/sqrt(400)) and "
        "half the +-10 % parity band, so that the bias stays below the Monte Carlo noise of the project's "
        "BER tables.",
    )
    divergence_growth: float = Field(
        2.0,
        gt=1,
        description="A solve diverges when its residual exceeds this factor times its smallest earlier one "
        "(assumption: 2, well above the read-noise jitter of a converged residual).",
    )
    fallback: Fallback = Field(
        "digital",
        description="What a non-converging solve returns: 'digital' = handed to an exact float64 digital "
        "solve of the unprogrammed matrix (costed as one digital solve); 'best' = the iterate of smallest "
        "measured residual (no extra cost); 'fcg' = re-solved with flexible CG on the same programmed arrays "
        "(up to the iteration cap, the same stopping rule; costed as that many FCG iterations); 'loading' = the "
        "LP-INV arrays rewritten with the diagonal loading fallback_loading and the system re-solved with the "
        "chip's outer scheme (costed as one LP-INV write and the re-solve's iterations). A re-solve that does "
        "not converge either returns its iterate of smallest measured residual.",
    )
    fallback_loading: float = Field(
        0.1,
        gt=0,
        le=10,
        description="Diagonal loading of the 'loading' fallback's rewrite, as lpinv.diagonal_loading (a "
        "fraction of the largest diagonal entry) [results/robustness_mmse: a 10 % loading removes the 16x4 "
        "3-bit error floor of Richardson].",
    )

    @model_validator(mode="after")
    def _one_derived_tolerance(self) -> StoppingConfig:
        if self.noise_fraction is not None and self.ber_change is not None:
            raise ValueError(
                f"set at most one of noise_fraction ({self.noise_fraction}) and ber_change ({self.ber_change}): "
                "each derives the per-solve tolerance on its own"
            )
        return self


class SolverConfig(Section):
    """Complete configuration of the HP-INV refinement solver.

    The chip only: how many iterations to run is an argument of
    :meth:`~mimo_amc.amc.AnalogSolver.solve` (iteration 1 is LP-INV alone).

    Example:
        >>> cfg = SolverConfig(device=DeviceConfig(bits=4))
        >>> cfg.device.levels, cfg.outer
        (15, 'richardson')
    """

    ideal: bool = Field(False, description="Turn every non-ideality off (reproduces float64 digital solves).")
    damping: float = Field(
        1.0, gt=0, le=2, description="Damping omega of the update x += omega * d (omega < 1 fights divergence)."
    )
    equilibrate: bool = Field(
        True, description="Diagonal equilibration D^-1/2 A D^-1/2 before programming [Brief: on]."
    )
    per_block_scaling: bool = Field(True, description="Quantize each BlockAMC block on its own full scale [Brief: on].")
    outer: OuterScheme = Field(
        "richardson",
        description="Outer iteration: 'richardson' is the paper's HP-INV refinement; 'fcg' (flexible CG, "
        "SPD systems) and 'fgmres' (flexible GMRES) use the LP-INV as preconditioner (mimo_amc.amc.schemes).",
    )
    device: DeviceConfig = Field(default_factory=DeviceConfig)
    lpinv: LPINVConfig = Field(default_factory=LPINVConfig)
    hpmvm: HPMVMConfig = Field(default_factory=HPMVMConfig)
    wires: WireConfig = Field(default_factory=WireConfig)
    stopping: StoppingConfig | None = Field(
        None,
        description="Adaptive iterations with a fallback (StoppingConfig); None = fixed K, every iterate reported.",
    )

    def single_array(self, n: int) -> SolverConfig:
        """The same chip with one ``n x n`` INV array, i.e. an ``[..., n, n]`` system without BlockAMC.

        Example:
            >>> SolverConfig().single_array(32).lpinv.array_size
            32
        """
        return self.model_copy(update={"lpinv": self.lpinv.model_copy(update={"array_size": n})})

    def resolved(self) -> SolverConfig:
        """The configuration actually simulated: with ``ideal`` every effect is off."""
        if not self.ideal:
            return self
        return self.model_copy(
            update={
                "device": DeviceConfig(bits=0, g_min_us=self.device.g_min_us, g_max_us=self.device.g_max_us),
                "lpinv": LPINVConfig(
                    array_size=self.lpinv.array_size,
                    prog_sigma=0.0,
                    read_noise=0.0,
                    opamp_gain=None,
                    converters=ConverterConfig(dac_bits=0, adc_bits=0),
                ),
                "hpmvm": self.hpmvm.model_copy(update={"prog_sigma": 0.0, "read_noise_lsb": 0.0}),
                "wires": WireConfig(),
            }
        )
