"""Analytic hardware cost of one HP-INV solve, and measured digital baselines.

The model counts every analog operation of one solve (LP-INV applications through
BlockAMC, bit-sliced HP-MVM products) and prices each with its time and energy; every
assumption is a named field of :class:`CostConfig` with its source, and
:func:`assumptions_markdown` prints them all. Quoted literature figures live apart, in
:data:`QUOTED_FIGURES`, and are never mixed with what :func:`measure_digital` measures.

**LP-INV dynamics** (Sun et al., PNAS 116, 4123 (2019); Sun et al., IEEE TED
(2020), arXiv:2005.04530). Row node ``i`` of the INV array sits at the inverting input of
op-amp ``i``, whose output drives column ``i``; KCL gives ``D u = G v + i_in`` with ``G``
the programmed ``G+ - G-`` and ``D`` the total conductance on each node (row load plus the
input conductance). A single-pole op-amp ``A(s) = A0 / (1 + s / w_p)``, ``w0 = 2 pi GBWP
= A0 w_p``, obeys ``dv/dt = -w_p v - w0 u``, hence

    dv/dt = -w0 M v - w0 D^-1 i_in,        M = D^-1 G + I / A0,

whose steady state ``(G + D / A0) v = -i_in`` is what :class:`~mimo_amc.amc.lpinv.LPINV`
simulates. The slowest mode decays with the rate ``lambda = min Re eig(M)``: time constant
``tau = 1 / (2 pi GBWP lambda)``, and settling to the ADC's ``b`` bits takes about
``tau ln(2**b)`` (:func:`settling_time_s`). The circuit is unstable where ``lambda <= 0``.

**Sequencing.** BlockAMC (:class:`~mimo_amc.amc.lpinv.BlockAMCPlan`) is a chain: each of
its ``inv_ops`` INV and ``mvm_ops`` MVM operations waits for the previous one, so its depth
is ``inv_ops + mvm_ops`` and one LP-INV application takes ``inv_ops t_inv + mvm_ops t_mvm``.
An HP-MVM product is ``S x T x tiles^2`` array reads (matrix slices x input digits x
tiles of ``hpmvm.array_size``), run in parallel or serially (:attr:`CostConfig.hpmvm_schedule`).
The outer scheme's operation counts per iteration (:class:`~mimo_amc.amc.schemes.OperationCounts`)
are an input.

**Not counted** (state this when quoting results): writing the matrices (write-verify,
amortised over a coherence block), the digital equilibration and Schur complements formed at
write time, leakage and idle power (op-amps are power-gated to the operation they serve),
control logic, and moving data on and off the chip. Throughput is that of one solver
instance working on one solve at a time (no pipelining of independent solves).

Example:
    >>> c = solve_cost(8, 3, CostConfig(timing="fixed"))
    >>> round((c.lpinv_s + c.hpmvm_s) * 1e9, 6)
    540.0
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import pandas as pd
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from pydantic import BaseModel, ConfigDict, Field

from .config import SolverConfig
from .lpinv import BlockAMCPlan, blockamc_split
from .schemes import operation_counts

if TYPE_CHECKING:
    from .solver import ProgrammedSystem

MEASURED_GBWP_HZ = 16e6
"""Op-amp gain-bandwidth product of the measured-class ("slow") op-amp [Brief]."""

FAST_GBWP_HZ = 300e6
"""Op-amp gain-bandwidth product of the "fast" op-amp of the paper's projection [Brief]."""

OPAMPS: Mapping[str, float] = {"slow": MEASURED_GBWP_HZ, "fast": FAST_GBWP_HZ}
"""Default op-amp variants evaluated by :func:`comparison_table` (label -> GBWP in Hz)."""


def _param(default: Any, unit: str, description: str, **constraints: Any) -> Any:
    """A documented field whose unit is kept for :func:`assumptions_markdown`."""
    return Field(default, description=description, json_schema_extra={"unit": unit}, **constraints)


class CostConfig(BaseModel):
    """Every assumption of the cost model, with its unit and source.

    Sources: [Zuo25] Zuo et al., Nature Electronics 8, 1222 (2025); [Brief]
    ``shared/paper-brief.md``; [Sun20] Sun et al., IEEE TED 2020 (arXiv:2005.04530);
    [Murmann] B. Murmann, "ADC Performance Survey 1997-2025",
    https://github.com/bmurmann/ADC-survey (FoM definitions and ranges); [Horowitz14]
    M. Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm, 0.9 V energies).
    "Assumption" marks a value chosen here, not measured or published for this chip.

    Example:
        >>> CostConfig().gbwp_hz, CostConfig(gbwp_hz=FAST_GBWP_HZ).lpinv_fixed_s
        (16000000.0, 1.2e-07)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- timing -------------------------------------------------------------------------
    timing: Literal["settling", "fixed"] = _param(
        "settling",
        "-",
        "How operation times are obtained: 'settling' from the op-amp dynamics [Sun20], "
        "'fixed' uses the paper's measured per-operation times (GBWP then only sets op-amp power).",
    )
    gbwp_hz: float = _param(
        MEASURED_GBWP_HZ,
        "Hz",
        "Op-amp gain-bandwidth product, single pole [Brief: 16 MHz measured-class, 300 MHz 'fast'; evaluate both].",
        gt=0,
    )
    lpinv_fixed_s: float = _param(
        120e-9,
        "s",
        "Fixed-time mode: one LP-INV (INV array) operation, conversions included [Zuo25/Brief: ~120 ns measured].",
        gt=0,
    )
    mvm_fixed_s: float = _param(
        60e-9,
        "s",
        "Fixed-time mode: one analog MVM step (BlockAMC MVM or one HP-MVM read), conversions included "
        "[Zuo25/Brief: ~60 ns measured].",
        gt=0,
    )
    lpinv_rate: float = _param(
        0.36,
        "-",
        "Settling mode: lambda = min Re eig(D^-1 G + I/A0) assumed for every INV array. Measured with "
        "lpinv_settling on 500 programmed equilibrated 128x8 i.i.d. Rayleigh Gram matrices (real 16x16, "
        "BlockAMC on 8x8, default SolverConfig): 10th percentile of the per-matrix slowest array 0.36, "
        "median 0.42 (16x4: median 0.21, 64x16: 0.28). Assumption: the chip allows the 10th-percentile time.",
        gt=0,
    )
    input_conductance_us: float = _param(
        0.0,
        "uS",
        "Conductance through which the input reaches each INV row node; it adds to D. Assumption: 0 = "
        "ideal current input (a 35 uS input resistor slows 128x8 Gram arrays about 1.6x).",
        ge=0,
    )
    mvm_noise_gain: float = _param(
        2.0,
        "-",
        "Settling mode: noise gain 1 + G_line / G_f of the open-loop MVM's transimpedance amplifiers; "
        "settling takes noise_gain ln(2^bits) / (2 pi GBWP). Assumption: G_f sized to the line's "
        "total conductance so that the largest partial sum reaches full scale.",
        ge=1,
    )
    dac_settling_s: float = _param(1e-9, "s", "Settling mode: DAC output settling per operation (assumption).", ge=0)
    adc_time_per_bit_s: float = _param(
        0.5e-9,
        "s",
        "Settling mode: SAR ADC, one comparator cycle per bit (assumption: an 8-bit conversion in 4 ns, "
        "~250 MS/s, mid-range in [Murmann]).",
        ge=0,
    )
    hpmvm_schedule: Literal["parallel", "digit_serial", "serial"] = _param(
        "parallel",
        "-",
        "HP-MVM read schedule: 'parallel' = every (slice, input digit, tile) read at once on its own array "
        "(one MVM time, as in the paper's arithmetic); 'digit_serial' = slices and tiles in parallel, input "
        "digits one after another (T times); 'serial' = one array read at a time (S T tiles^2 times).",
    )
    # --- energy -------------------------------------------------------------------------
    adc_walden_fom_j: float = _param(
        10e-15,
        "J/conv-step",
        "ADC Walden FoM, E = FoM 2^bits [Murmann: FoM_W = P/(fs 2^ENOB)]. Assumption: 10 fJ, a mid-range "
        "SAR value (state of the art ~1 fJ); ENOB = nominal bits.",
        gt=0,
    )
    adc_schreier_fom_db: float = _param(
        175.0,
        "dB",
        "ADC Schreier FoM, thermal-noise bound E = 10^((6.02 bits + 1.76 - FoM_S)/10) / 2 (Nyquist); "
        "E = max(Walden, Schreier) [Murmann: FoM_S = SNDR + 10 log10(fs/2/P)]. Assumption: 175 dB "
        "(state of the art ~185 dB).",
        gt=0,
    )
    dac_unit_energy_j: float = _param(
        1e-15,
        "J/level",
        "DAC energy per conversion = unit energy x 2^bits (capacitive DAC, ~1 fF at ~1 V per unit "
        "element; assumption).",
        ge=0,
    )
    supply_v: float = _param(1.1, "V", "Analog supply of op-amps (assumption: 40 nm core supply).", gt=0)
    opamp_load_f: float = _param(
        1e-12,
        "F",
        "Op-amp load capacitance (array line + ADC input; assumption). Power follows from GBWP: gm = 2 pi GBWP C_L.",
        gt=0,
    )
    opamp_gm_over_id: float = _param(
        15.0, "1/V", "Input-pair transconductance efficiency gm/Id (moderate inversion; assumption).", gt=0
    )
    opamp_current_factor: float = _param(
        2.0,
        "-",
        "Total op-amp current / input-pair current (output stage and bias; assumption). Static power "
        "P = supply_v x factor x 2 pi GBWP C_L / (gm/Id).",
        ge=1,
    )
    lpinv_opamps_per_row: int = _param(
        2,
        "-",
        "Op-amps per INV row: the loop amplifier and the inverter that drives the G- devices with -v "
        "[Sun PNAS 2019 circuit for signed matrices].",
        ge=1,
    )
    mvm_opamps_per_output: int = _param(
        1,
        "-",
        "Transimpedance amplifiers per MVM output line (G+ and G- currents subtracted at its input; assumption).",
        ge=1,
    )
    read_voltage_v: float = _param(
        0.2, "V", "Full-scale voltage across a device during analog operation [Brief: 0.1-0.2 V].", gt=0
    )
    voltage_mean_square: float = _param(
        1 / 3,
        "-",
        "Mean of (V / read_voltage)^2 over devices and time (1/3 = uniform on [-1, 1]; assumption).",
        ge=0,
        le=1,
    )
    mean_level_fraction: float = _param(
        0.5,
        "-",
        "Mean |digit| / L of programmed cells: a pair conducts 2 g_min + fraction (g_max - g_min) on "
        "average (assumption; array read energy V^2 G t).",
        ge=0,
        le=1,
    )
    # --- digital ------------------------------------------------------------------------
    digital_clock_hz: float = _param(1e9, "Hz", "Clock of the on-chip digital unit (assumption).", gt=0)
    digital_lanes: int = _param(
        16, "-", "Parallel lanes of the digital unit: a length-n vector op takes ceil(n / lanes) cycles.", ge=1
    )
    vector_ops_per_iteration: int = _param(
        3,
        "-",
        "Digital vector passes per iteration besides dot products: x update, residual b - Ax, max|r| "
        "rescaling (Richardson; Krylov schemes add axpys not counted here).",
        ge=0,
    )
    int_add_energy_j: float = _param(
        0.1e-12, "J", "32-bit integer add: HP-MVM shift-and-add, per partial sum [Horowitz14].", ge=0
    )
    fp_add_energy_j: float = _param(0.9e-12, "J", "fp32 add, per vector element and pass [Horowitz14].", ge=0)
    fp_mac_energy_j: float = _param(
        4.6e-12, "J", "fp32 multiply-add (3.7 + 0.9 pJ), per dot-product element [Horowitz14].", ge=0
    )


class OperationCountsLike(Protocol):
    """Operations of one outer iteration (e.g. :class:`~mimo_amc.amc.schemes.OperationCounts`)."""

    @property
    def lpinv(self) -> int: ...

    @property
    def hpmvm(self) -> int: ...

    @property
    def dot_products(self) -> int: ...


@dataclass(frozen=True)
class QuotedFigure:
    """A figure quoted from the literature, never measured here.

    Attributes:
        design: Who and where.
        config: System configuration (antennas x users, modulation, algorithm).
        technology: Process or platform.
        throughput_bps: Quoted throughput in bit/s (None if not given).
        energy_per_bit_j: Quoted energy per bit in J (None if not given).
        source: Where the figure is quoted from (peers-notes section 3 URL or paper).
        note: Caveats, verification status.
    """

    design: str
    config: str
    technology: str
    throughput_bps: float | None
    energy_per_bit_j: float | None
    source: str
    note: str


QUOTED_FIGURES: tuple[QuotedFigure, ...] = (
    QuotedFigure(
        "Peng et al., TCAS-I 2018",
        "128x8, 64-QAM MMSE, weighted Jacobi",
        "65 nm ASIC",
        1.02e9,
        633e-12,
        "https://fdocuments.in/document/a-158-gbpsw-040-gbpsmm-implementation-of-mmse-ieee-transactions-on-circuits.html",
        "646 mW at 680 MHz (1.58 Gb/s/W)",
    ),
    QuotedFigure(
        "Tang, Chen, Zhang, VLSI 2016 / JSSC 2021",
        "128x32, 256-QAM message passing",
        "40 nm ASIC",
        2.76e9,
        79.8e-12,
        "https://bohrium.dp.tech/paper/arxiv/30d69b09b720ac0e254275c4dd18d582e0a4f6563aefc85f8b79d12eb4e5583a",
        "221 mW; average 4.9 iterations at 27 dB with early termination",
    ),
    QuotedFigure(
        "Jeon, Castaneda, Studer, SSC-L 2019 (LAMA)",
        "32x32, 256-QAM SISO",
        "28 nm ASIC",
        354e6,
        427e-12,
        "https://vdocument.in/a-354mbs-037mm2-151mw-32-user-256-qam-near-map-soft-studerpapers19sscllamapdf.html",
        "151 mW",
    ),
    QuotedFigure(
        "Castaneda et al. 2021",
        "32-antenna mmWave equalizer, resolution-adaptive",
        "65 nm ASIC",
        9.98e9,
        39.7e-12,
        "https://ar5iv.labs.arxiv.org/html/2107.11089",
        "",
    ),
    QuotedFigure(
        "Mirfarshbafan & Studer 2024 (SPADE)",
        "mmWave beamspace LMMSE",
        "22FDX ASIC",
        46e9,
        12e-12,
        "https://www.sciencestack.ai/paper/2407.06755",
        "58.8 Gb/s with body bias",
    ),
    QuotedFigure(
        "Prabhu et al., ISSCC 2017",
        "128x8 precoder-detector",
        "28 nm FD-SOI ASIC",
        300e6,
        60e-12,
        "peers-notes section 3",
        "unverified in the corpus",
    ),
    QuotedFigure(
        "Tang et al., ISSCC 2018",
        "128x16 link-adaptive detector",
        "28 nm FD-SOI ASIC",
        1.8e9,
        70e-12,
        "peers-notes section 3",
        "approximate; unverified in the corpus",
    ),
    QuotedFigure(
        "Zuo et al. 2025 vs H100 GPU (claim)",
        "16x4, 128x8 ZF, 256-QAM; N = 128 systems",
        "40 nm RRAM vs H100",
        None,
        None,
        "paper-brief.md (Published numbers 4)",
        "claimed: beats one GPU core at N = 32; >1000x throughput and >100x energy efficiency at N = 128 "
        "with faster op-amps; ~10x / 3-5x with measured op-amp speed. No absolute GPU figure is public.",
    ),
)
"""MIMO-detector ASICs and the paper's GPU claim, as quoted in ``shared/peers-notes.md``
section 3 and ``shared/paper-brief.md``: literature, not measurements."""


def quoted_figures_table() -> pd.DataFrame:
    """:data:`QUOTED_FIGURES` as a DataFrame, every row marked ``kind = "quoted"`` (not measured)."""
    return pd.DataFrame([{"kind": "quoted", **asdict(f)} for f in QUOTED_FIGURES])


# --- circuit primitives ------------------------------------------------------------------


def opamp_power_w(cost: CostConfig) -> float:
    """Static power of one op-amp at ``cost.gbwp_hz``, watts (see :attr:`CostConfig.opamp_current_factor`).

    Example:
        >>> round(opamp_power_w(CostConfig()) * 1e6, 2)
        14.74
    """
    gm = 2 * math.pi * cost.gbwp_hz * cost.opamp_load_f
    return cost.supply_v * cost.opamp_current_factor * gm / cost.opamp_gm_over_id


def adc_energy_j(bits: int, cost: CostConfig) -> float:
    """Energy of one ``bits``-bit ADC conversion, joules: max of the Walden and Schreier estimates.

    Example:
        >>> round(adc_energy_j(8, CostConfig()) * 1e12, 3)
        2.56
    """
    walden = cost.adc_walden_fom_j * 2.0**bits
    schreier = 0.5 * 10.0 ** ((6.02 * bits + 1.76 - cost.adc_schreier_fom_db) / 10)
    return max(walden, schreier)


def dac_energy_j(bits: int, cost: CostConfig) -> float:
    """Energy of one ``bits``-bit DAC conversion, joules."""
    return cost.dac_unit_energy_j * 2.0**bits


def circuit_rate(
    conductance: torch.Tensor,
    row_load: torch.Tensor,
    input_conductance: float = 0.0,
    opamp_gain: float | None = None,
) -> torch.Tensor:
    """Slowest decay rate ``lambda = min Re eig(D^-1 G + I / A0)`` of INV circuits (dimensionless).

    Args:
        conductance: ``G = G+ - G-``, ``[..., m, m]``, any conductance unit.
        row_load: Total device conductance on each row node, ``[..., m]``, same unit.
        input_conductance: Input conductance added to every node, same unit.
        opamp_gain: Op-amp DC gain ``A0``; None = infinite.

    Returns:
        ``[...]`` float64; the circuit's slowest mode decays as ``exp(-2 pi GBWP lambda t)``,
        and it is unstable where ``lambda <= 0``.
    """
    m = conductance.to(torch.float64) / (row_load.to(torch.float64) + input_conductance)[..., :, None]
    if opamp_gain is not None:
        m = m + torch.eye(m.shape[-1], dtype=m.dtype, device=m.device) / opamp_gain
    return torch.linalg.eigvals(m).real.amin(-1)


def time_constant_s(rate: torch.Tensor, gbwp_hz: float) -> torch.Tensor:
    """``tau = 1 / (2 pi GBWP rate)``, seconds, for rates ``[...]`` (``inf`` where ``rate <= 0``: unstable)."""
    tau = 1.0 / (2 * math.pi * gbwp_hz * rate.clamp_min(torch.finfo(rate.dtype).tiny))
    return torch.where(rate > 0, tau, torch.inf)


def settling_time_s(rate: torch.Tensor, gbwp_hz: float, bits: int) -> torch.Tensor:
    """Settling to ``bits`` bits, ``tau ln(2**bits)``, seconds (``inf`` where ``rate <= 0``).

    This is a design estimate: it assumes the initial error projects onto the slowest mode with
    unit weight. For a particular input the projection is usually smaller, so the circuit settles
    somewhat earlier (see ``tests/test_cost.py``: 70-100 % of this time for Gram matrices), while
    the asymptotic decay rate equals ``1 / tau``.

    Example:
        >>> round(float(settling_time_s(torch.tensor(0.5, dtype=torch.float64), 16e6, 8)) * 1e9, 2)
        110.32
    """
    return time_constant_s(rate, gbwp_hz) * (bits * math.log(2))


def _finite_bits(solver: SolverConfig) -> None:
    """The cost model prices converters and cells: they must have finite bits."""
    conv = solver.lpinv.converters
    if solver.device.bits == 0 or conv.dac_bits == 0 or conv.adc_bits == 0:
        raise ValueError("the cost model needs finite cell and LP-INV converter bits (bits = 0 means ideal)")


def hpmvm_adc_bits(n: int, solver: SolverConfig) -> int:
    """Partial-sum ADC bits of the HP-MVM of an ``n x n`` system (as :class:`~mimo_amc.amc.hpmvm.BitSlicedMVM`).

    Example:
        >>> hpmvm_adc_bits(8, SolverConfig()), hpmvm_adc_bits(128, SolverConfig())
        (10, 14)
    """
    hp = solver.hpmvm
    if hp.adc_bits is not None:
        return hp.adc_bits
    max_sum = min(n, hp.array_size) * solver.device.levels * (2**hp.input_digit_bits - 1)
    return math.ceil(math.log2(max_sum + 1)) + 1


@dataclass(frozen=True)
class OperationTimes:
    """Duration of one analog operation of each kind, seconds.

    Attributes:
        inv_s: One INV-array operation (DAC, settling, ADC).
        mvm_s: One BlockAMC MVM operation on an LP-INV-class array.
        hpmvm_step_s: One HP-MVM read step.
    """

    inv_s: float
    mvm_s: float
    hpmvm_step_s: float


def operation_times(n: int, cost: CostConfig, solver: SolverConfig) -> OperationTimes:
    """Per-operation times of an ``n``-unknown system (fixed mode, or settling with ``cost.lpinv_rate``).

    Example:
        >>> t = operation_times(16, CostConfig(timing="fixed"), SolverConfig())
        >>> round(t.inv_s * 1e9, 6), round(t.mvm_s * 1e9, 6), round(t.hpmvm_step_s * 1e9, 6)
        (120.0, 60.0, 60.0)
    """
    if cost.timing == "fixed":
        return OperationTimes(cost.lpinv_fixed_s, cost.mvm_fixed_s, cost.mvm_fixed_s)
    lp_bits, hp_bits = solver.lpinv.converters.adc_bits, hpmvm_adc_bits(n, solver)
    w0 = 2 * math.pi * cost.gbwp_hz

    def op(bits: int, settle_rate: float) -> float:
        """DAC settling, settling to ``bits`` bits at this rate, SAR conversion."""
        return cost.dac_settling_s + bits * math.log(2) / (w0 * settle_rate) + bits * cost.adc_time_per_bit_s

    mvm_rate = 1.0 / cost.mvm_noise_gain
    return OperationTimes(op(lp_bits, cost.lpinv_rate), op(lp_bits, mvm_rate), op(hp_bits, mvm_rate))


def inv_array_uses(n: int, array_size: int) -> tuple[int, ...]:
    """Operations of each INV array per LP-INV application, in :meth:`LPINV.inv_arrays` order.

    BlockAMC applies the ``A11`` sub-solver twice and the Schur complement's once.

    Example:
        >>> inv_array_uses(16, 8), inv_array_uses(32, 8)
        ((2, 1), (4, 2, 2, 1))
    """
    n1 = blockamc_split(n, array_size)
    if n1 is None:
        return (1,)
    return tuple(2 * u for u in inv_array_uses(n1, array_size)) + inv_array_uses(n - n1, array_size)


@dataclass(frozen=True)
class LPINVSettling:
    """Settling of the programmed INV arrays of a batch of systems.

    Attributes:
        rate: ``[..., A]`` ``min Re eig(D^-1 G + I/A0)`` of each of the ``A`` INV arrays (dimensionless).
        tau_s: ``[..., A]`` time constants ``1 / (2 pi GBWP rate)``, seconds (``inf`` if unstable).
        settle_s: ``[..., A]`` settling to the LP-INV ADC's bits, ``tau ln(2**bits)``, seconds.
        uses: Operations of each array per LP-INV application (:func:`inv_array_uses`).
        application_s: ``[...]`` one LP-INV application: every INV operation (DAC, settling of its
            array, ADC) and the BlockAMC MVMs, in sequence, seconds.
    """

    rate: torch.Tensor
    tau_s: torch.Tensor
    settle_s: torch.Tensor
    uses: tuple[int, ...]
    application_s: torch.Tensor


def lpinv_settling(system: ProgrammedSystem, cost: CostConfig | None = None) -> LPINVSettling:
    """Settling times of the actually programmed INV arrays of ``system`` at ``cost.gbwp_hz``.

    Uses each array's ``conductance`` and ``row_load`` (digit units), ``cost.input_conductance_us``
    converted to digit units, the op-amp gain and the LP-INV ADC bits of ``system.config``.

    Example:
        >>> from mimo_amc.amc import AnalogSolver
        >>> a = torch.eye(16, dtype=torch.float64) + 0.1
        >>> s = lpinv_settling(AnalogSolver(device="cpu", seed=0).program(a))
        >>> s.rate.shape, s.uses
        (torch.Size([2]), (2, 1))
    """
    cost = cost or CostConfig()
    cfg = system.config
    dev = cfg.device
    step_us = (dev.g_max_us - dev.g_min_us) / dev.levels
    arrays = system.lpinv.inv_arrays()
    rate = torch.stack(
        [
            circuit_rate(a.conductance, a.row_load, cost.input_conductance_us / step_us, cfg.lpinv.opamp_gain)
            for a in arrays
        ],
        dim=-1,
    )
    bits = cfg.lpinv.converters.adc_bits
    tau = time_constant_s(rate, cost.gbwp_hz)
    settle = tau * (bits * math.log(2))
    uses = inv_array_uses(system.size, cfg.lpinv.array_size)
    ops = operation_times(system.size, cost.model_copy(update={"timing": "settling"}), cfg)
    per_inv = cost.dac_settling_s + bits * cost.adc_time_per_bit_s
    weights = torch.tensor(uses, dtype=torch.float64, device=rate.device)
    plan = BlockAMCPlan.of(system.size, cfg.lpinv.array_size)
    application = ((settle + per_inv) * weights).sum(-1) + plan.mvm_ops * ops.mvm_s
    return LPINVSettling(rate, tau, settle, uses, application)


# --- cost of one solve -------------------------------------------------------------------


@dataclass(frozen=True)
class _Energy:
    """Energy by kind, joules."""

    dac: float = 0.0
    adc: float = 0.0
    opamp: float = 0.0
    array: float = 0.0
    digital: float = 0.0

    def __add__(self, other: _Energy) -> _Energy:
        return _Energy(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values(), strict=True)))

    def scaled(self, k: float) -> _Energy:
        return _Energy(*(k * a for a in asdict(self).values()))

    @property
    def total(self) -> float:
        return self.dac + self.adc + self.opamp + self.array + self.digital


def _pair_conductance_s(cost: CostConfig, solver: SolverConfig) -> float:
    """Mean conductance of a programmed differential pair, siemens."""
    dev = solver.device
    return (2 * dev.g_min_us + cost.mean_level_fraction * (dev.g_max_us - dev.g_min_us)) * 1e-6


def _analog_op(
    cost: CostConfig, solver: SolverConfig, *, time_s: float, inputs: int, outputs: int, opamps: int, cells: int
) -> _Energy:
    """One LP-INV-class operation: ``inputs`` DAC and ``outputs`` ADC conversions (LP-INV converter bits),
    ``opamps`` powered for ``time_s``, ``cells`` differential pairs biased for ``time_s``."""
    return _Energy(
        dac=inputs * dac_energy_j(solver.lpinv.converters.dac_bits, cost),
        adc=outputs * adc_energy_j(solver.lpinv.converters.adc_bits, cost),
        opamp=opamps * opamp_power_w(cost) * time_s,
        array=cells * _pair_conductance_s(cost, solver) * cost.voltage_mean_square * cost.read_voltage_v**2 * time_s,
    )


def _blockamc_ops(n: int, array_size: int) -> list[tuple[bool, int, int]]:
    """Every operation of one LP-INV application in order: ``(is_inv, outputs, inputs)``."""
    n1 = blockamc_split(n, array_size)
    if n1 is None:
        return [(True, n, n)]
    a11, schur = _blockamc_ops(n1, array_size), _blockamc_ops(n - n1, array_size)
    return [*a11, (False, n - n1, n1), *schur, (False, n1, n - n1), *a11]


def _lpinv_application(n: int, cost: CostConfig, solver: SolverConfig, times: OperationTimes) -> tuple[float, _Energy]:
    """Time and energy of one LP-INV application (BlockAMC chain of ``plan.depth`` operations)."""
    plan = BlockAMCPlan.of(n, solver.lpinv.array_size)
    energy = _Energy()
    for is_inv, outputs, inputs in _blockamc_ops(n, solver.lpinv.array_size):
        t = times.inv_s if is_inv else times.mvm_s
        opamps = outputs * (cost.lpinv_opamps_per_row if is_inv else cost.mvm_opamps_per_output)
        energy += _analog_op(
            cost, solver, time_s=t, inputs=inputs, outputs=outputs, opamps=opamps, cells=outputs * inputs
        )
    # The chain is sequential: plan.depth == plan.inv_ops + plan.mvm_ops.
    return plan.inv_ops * times.inv_s + plan.mvm_ops * times.mvm_s, energy


def _hpmvm_product(n: int, cost: CostConfig, solver: SolverConfig, times: OperationTimes) -> tuple[float, _Energy]:
    """Time and energy of one bit-sliced HP-MVM product ``A x`` of an ``n x n`` system."""
    hp = solver.hpmvm
    tiles = math.ceil(n / min(n, hp.array_size))
    per_digit = hp.num_slices * hp.input_slices  # slice x input-digit pairs
    reads = per_digit * tiles * tiles
    steps = {"parallel": 1, "digit_serial": hp.input_slices, "serial": reads}[cost.hpmvm_schedule]
    t_step = times.hpmvm_step_s
    conversions = per_digit * tiles * n  # ADC reads (and TIA activations); DAC drives likewise
    pair_s = _pair_conductance_s(cost, solver)
    energy = _Energy(
        dac=conversions * dac_energy_j(hp.input_digit_bits + 1, cost),
        adc=conversions * adc_energy_j(hpmvm_adc_bits(n, solver), cost),
        opamp=conversions * cost.mvm_opamps_per_output * opamp_power_w(cost) * t_step,
        array=per_digit * n * n * pair_s * cost.voltage_mean_square * cost.read_voltage_v**2 * t_step,
        digital=conversions * cost.int_add_energy_j,  # shift-and-add, pipelined with the reads
    )
    return steps * t_step, energy


@dataclass(frozen=True)
class SolveCost:
    """Time and energy of one HP-INV solve.

    The time parts and the energy parts by kind each sum to the total; so do the energy
    parts by stage (``lpinv_j + hpmvm_j + vector_j``, shift-and-add counted in HP-MVM).

    Attributes:
        n: Unknowns (real system size).
        iterations: Outer iterations ``K``.
        gbwp_hz: Op-amp GBWP.
        timing: ``"settling"`` or ``"fixed"``.
        lpinv_s, hpmvm_s, digital_s: Time in LP-INV applications, HP-MVM products and digital
            vector work (dot products, updates), seconds.
        time_s: Total time, seconds.
        dac_j, adc_j, opamp_j, array_j, digital_j: Energy by kind, joules (``digital_j`` includes
            HP-MVM shift-and-add, vector updates and dot products).
        lpinv_j, hpmvm_j, vector_j: Energy by stage, joules.
        energy_j: Total energy, joules.
    """

    n: int
    iterations: int
    gbwp_hz: float
    timing: str
    lpinv_s: float
    hpmvm_s: float
    digital_s: float
    time_s: float
    dac_j: float
    adc_j: float
    opamp_j: float
    array_j: float
    digital_j: float
    lpinv_j: float
    hpmvm_j: float
    vector_j: float
    energy_j: float

    @property
    def solves_per_s(self) -> float:
        """Throughput of one solver instance, solves per second."""
        return 1.0 / self.time_s


def _iteration_counts(
    counts: OperationCountsLike | Sequence[OperationCountsLike] | None, iterations: int, n: int, solver: SolverConfig
) -> list[OperationCountsLike]:
    if counts is None:
        return [operation_counts(solver.outer, k, n) for k in range(1, iterations + 1)]
    if isinstance(counts, Sequence):
        if len(counts) != iterations:
            raise ValueError(f"got {len(counts)} per-iteration counts for {iterations} iterations")
        return list(counts)
    return [counts] * iterations


def solve_cost(
    n: int,
    iterations: int,
    cost: CostConfig | None = None,
    solver: SolverConfig | None = None,
    counts: OperationCountsLike | Sequence[OperationCountsLike] | None = None,
) -> SolveCost:
    """Time and energy of one solve of an ``n x n`` real system in ``iterations`` outer iterations.

    Args:
        n: Unknowns (``2 K`` for ``K`` complex users).
        iterations: Outer iterations ``K``.
        cost: Cost assumptions (default :class:`CostConfig`).
        solver: Chip configuration (array sizes, bits, slices, converters; ``ideal`` is ignored: the
            cost is that of the configured hardware). Default :class:`SolverConfig`.
        counts: Operations per iteration: one object with ``lpinv``, ``hpmvm``, ``dot_products``
            (the same every iteration), or a sequence of ``iterations`` such objects; None = the
            counts of ``solver.outer`` (:func:`~mimo_amc.amc.schemes.operation_counts`; the paper's
            Richardson refinement, 1 LP-INV + 1 HP-MVM + 0 dot products, by default).

    Returns:
        :class:`SolveCost`.

    Example:
        >>> c = solve_cost(16, 3, CostConfig(timing="fixed"))
        >>> round(c.lpinv_s * 1e9, 6), round(c.hpmvm_s * 1e9, 6)
        (1440.0, 180.0)
    """
    cost, solver = cost or CostConfig(), solver or SolverConfig()
    _finite_bits(solver)
    if n < 1 or iterations < 1:
        raise ValueError(f"n and iterations must be >= 1; got n={n}, iterations={iterations}")
    times = operation_times(n, cost, solver)
    t_inv, e_inv = _lpinv_application(n, cost, solver, times)
    t_mvm, e_mvm = _hpmvm_product(n, cost, solver, times)
    pass_s = math.ceil(n / cost.digital_lanes) / cost.digital_clock_hz
    lpinv_s = hpmvm_s = digital_s = 0.0
    e_lpinv, e_hpmvm, e_vector = _Energy(), _Energy(), _Energy()
    for c in _iteration_counts(counts, iterations, n, solver):
        lpinv_s += c.lpinv * t_inv
        hpmvm_s += c.hpmvm * t_mvm
        digital_s += (cost.vector_ops_per_iteration + c.dot_products) * pass_s
        e_lpinv += e_inv.scaled(c.lpinv)
        e_hpmvm += e_mvm.scaled(c.hpmvm)
        e_vector += _Energy(
            digital=n * (cost.vector_ops_per_iteration * cost.fp_add_energy_j + c.dot_products * cost.fp_mac_energy_j)
        )
    total = e_lpinv + e_hpmvm + e_vector
    return SolveCost(
        n=n,
        iterations=iterations,
        gbwp_hz=cost.gbwp_hz,
        timing=cost.timing,
        lpinv_s=lpinv_s,
        hpmvm_s=hpmvm_s,
        digital_s=digital_s,
        time_s=lpinv_s + hpmvm_s + digital_s,
        dac_j=total.dac,
        adc_j=total.adc,
        opamp_j=total.opamp,
        array_j=total.array,
        digital_j=total.digital,
        lpinv_j=e_lpinv.total,
        hpmvm_j=e_hpmvm.total,
        vector_j=e_vector.total,
        energy_j=total.total,
    )


def detected_bits_per_s(solves_per_s: float, users: int, bits_per_symbol: int) -> float:
    """MIMO detection throughput: every solve detects ``users`` symbols of ``bits_per_symbol`` bits.

    Example:
        >>> detected_bits_per_s(1e6, users=8, bits_per_symbol=8)
        64000000.0
    """
    return solves_per_s * users * bits_per_symbol


# --- measured digital baselines ----------------------------------------------------------

_DIGITAL_OPS: Mapping[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "solve": torch.linalg.solve,
    "inv": lambda a, b: torch.linalg.inv(a) @ b,
}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def measure_digital(
    sizes: Sequence[int],
    batch_sizes: Sequence[int],
    *,
    dtypes: Sequence[torch.dtype] = (torch.float32, torch.float64),
    devices: Sequence[str] | None = None,
    ops: Sequence[Literal["solve", "inv"]] = ("solve", "inv"),
    repeats: int = 5,
    warmup: int = 2,
    min_repeat_s: float = 2e-3,
    max_batch_elements: int = 2**24,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure batched digital solves ``A x = b`` on this machine.

    ``"solve"`` is ``torch.linalg.solve(A, b)`` (LU with pivoting); ``"inv"`` is
    ``torch.linalg.inv(A) @ b``. Matrices are ``randn / sqrt(n) + 4 I`` (well conditioned), one
    right-hand side each. After ``warmup`` calls, each of ``repeats`` timings runs enough calls to
    last ``min_repeat_s`` (CUDA synchronised); the reported figure is the median.

    Args:
        sizes: System sizes ``n``.
        batch_sizes: Systems per call; a pair with ``batch n^2 > max_batch_elements`` is skipped
            unless it is the smallest batch size.
        dtypes: Real dtypes to measure.
        devices: Torch devices; default ``cpu`` plus ``cuda`` when available.
        ops: ``"solve"`` and/or ``"inv"``.
        repeats, warmup, min_repeat_s: Timing protocol.
        max_batch_elements: Memory cap on ``batch n^2``.
        seed: Seed of the random matrices.

    Returns:
        One row per (device, dtype, op, n, batch): ``device``, ``dtype``, ``op``, ``n``, ``batch``,
        ``threads`` (CPU threads used by torch), ``calls`` (per timing), ``seconds_per_call``
        (median), ``solves_per_s`` (median, ``batch / seconds_per_call``), ``kind = "measured"``.
    """
    devices = list(devices) if devices is not None else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    rows = []
    smallest = min(batch_sizes)
    for device in devices:
        gen = torch.Generator(device=device).manual_seed(seed)
        for dtype in dtypes:
            for n in sizes:
                for batch in batch_sizes:
                    if batch * n * n > max_batch_elements and batch != smallest:
                        continue
                    a = torch.randn(batch, n, n, generator=gen, device=device, dtype=dtype) / math.sqrt(n)
                    a += 4 * torch.eye(n, device=device, dtype=dtype)
                    b = torch.randn(batch, n, 1, generator=gen, device=device, dtype=dtype)
                    for op in ops:
                        fn = _retrying(_DIGITAL_OPS[op])
                        for _ in range(warmup):
                            fn(a, b)
                        _sync(device)
                        t0 = time.perf_counter()
                        fn(a, b)
                        _sync(device)
                        calls = max(1, math.ceil(min_repeat_s / max(time.perf_counter() - t0, 1e-9)))
                        timings = []
                        for _ in range(repeats):
                            t0 = time.perf_counter()
                            for _ in range(calls):
                                fn(a, b)
                            _sync(device)
                            timings.append((time.perf_counter() - t0) / calls)
                        seconds = statistics.median(timings)
                        rows.append(
                            {
                                "kind": "measured",
                                "device": device,
                                "dtype": str(dtype).removeprefix("torch."),
                                "op": op,
                                "n": n,
                                "batch": batch,
                                "threads": torch.get_num_threads(),
                                "calls": calls,
                                "seconds_per_call": seconds,
                                "solves_per_s": batch / seconds,
                            }
                        )
    return pd.DataFrame(rows)


def _retrying(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> Callable[[torch.Tensor, torch.Tensor], Any]:
    """``fn`` retried up to 4 times on a RuntimeError: torch 2.13's CPU batched LU has failed
    intermittently here ("Pivots given to lu_solve must all be greater or equal to 1") on
    well-conditioned inputs that factorise fine when repeated (not reproducible in isolation)."""

    def call(a: torch.Tensor, b: torch.Tensor) -> Any:
        for _ in range(4):
            try:
                return fn(a, b)
            except RuntimeError:
                continue
        return fn(a, b)

    return call


def _best_digital(digital: pd.DataFrame) -> pd.DataFrame:
    """Per ``n`` (and device, dtype): the row with the highest measured solves/s over ops and batches."""
    idx = digital.groupby(["device", "dtype", "n"])["solves_per_s"].idxmax()
    return digital.loc[idx].sort_values(["device", "dtype", "n"]).reset_index(drop=True)


# --- comparison, figure, assumptions -----------------------------------------------------


def comparison_table(
    digital: pd.DataFrame | None = None,
    sizes: Sequence[int] = (8, 16, 32, 64, 128, 256),
    iterations: int = 3,
    cost: CostConfig | None = None,
    solver: SolverConfig | None = None,
    counts: OperationCountsLike | Sequence[OperationCountsLike] | None = None,
    opamps: Mapping[str, float] = OPAMPS,
    digital_device: str = "cpu",
    digital_dtype: str = "float32",
    bits_per_symbol: int = 8,
) -> pd.DataFrame:
    """Analog cost per solve for every ``n`` under each op-amp, against the measured digital rate.

    Args:
        digital: Output of :func:`measure_digital` (None: digital columns are NaN).
        sizes: System sizes ``n`` (real unknowns).
        iterations, cost, solver, counts: As in :func:`solve_cost`; ``cost.gbwp_hz`` is replaced
            by each entry of ``opamps``.
        opamps: Label -> GBWP in Hz; every analog column is suffixed ``_<label>``.
        digital_device, digital_dtype: Which measured rows to compare with; per ``n`` the best
            solves/s over ops and batch sizes is used.
        bits_per_symbol: For the MIMO columns: ``n = 2 K`` real unknowns detect ``K = n // 2``
            users' symbols of this many bits per solve.

    Returns:
        One row per ``n``: ``n``, ``iterations``; per op-amp label ``analog_ns_per_solve``,
        ``analog_ns_per_iteration``, ``analog_solves_per_s``, ``analog_nj_per_solve``, time parts
        ``t_lpinv_ns``, ``t_hpmvm_ns``, ``t_digital_ns``, energy parts by kind ``e_dac_nj``,
        ``e_adc_nj``, ``e_opamp_nj``, ``e_array_nj``, ``e_digital_nj`` and by stage
        ``e_lpinv_nj``, ``e_hpmvm_nj``, ``e_vector_nj``, MIMO ``analog_gbps`` and
        ``analog_pj_per_bit``, and ``ratio`` (analog / digital throughput); then
        ``digital_solves_per_s``, ``digital_op``, ``digital_batch`` (measured).
    """
    cost = cost or CostConfig()
    best = pd.DataFrame(columns=["n", "solves_per_s", "op", "batch"])
    if digital is not None and len(digital):
        sel = digital[(digital["device"] == digital_device) & (digital["dtype"] == digital_dtype)]
        if len(sel):
            best = _best_digital(sel)
    rows = []
    for n in sizes:
        row: dict[str, Any] = {"n": n, "iterations": iterations}
        match = best[best["n"] == n]
        dig = float(match["solves_per_s"].iloc[0]) if len(match) else math.nan
        for label, gbwp in opamps.items():
            c = solve_cost(n, iterations, cost.model_copy(update={"gbwp_hz": gbwp}), solver, counts)
            bits = detected_bits_per_s(1.0, n // 2, bits_per_symbol)  # per solve
            row |= {
                f"analog_ns_per_solve_{label}": c.time_s * 1e9,
                f"analog_ns_per_iteration_{label}": c.time_s * 1e9 / iterations,
                f"analog_solves_per_s_{label}": c.solves_per_s,
                f"analog_nj_per_solve_{label}": c.energy_j * 1e9,
                f"t_lpinv_ns_{label}": c.lpinv_s * 1e9,
                f"t_hpmvm_ns_{label}": c.hpmvm_s * 1e9,
                f"t_digital_ns_{label}": c.digital_s * 1e9,
                **{f"e_{k}_nj_{label}": getattr(c, f"{k}_j") * 1e9 for k in ("dac", "adc", "opamp", "array")},
                f"e_digital_nj_{label}": c.digital_j * 1e9,
                **{f"e_{k}_nj_{label}": getattr(c, f"{k}_j") * 1e9 for k in ("lpinv", "hpmvm", "vector")},
                f"analog_gbps_{label}": c.solves_per_s * bits / 1e9,
                f"analog_pj_per_bit_{label}": c.energy_j / bits * 1e12,
                f"ratio_{label}": c.solves_per_s / dig,
            }
        row |= {
            "digital_solves_per_s": dig,
            "digital_op": match["op"].iloc[0] if len(match) else None,
            "digital_batch": int(match["batch"].iloc[0]) if len(match) else None,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def crossover_n(table: pd.DataFrame, label: str = "slow") -> float | None:
    """Smallest ``n`` where the analog throughput reaches the measured digital one.

    Interpolated linearly in ``log n`` vs ``log ratio`` between the first grid points where
    ``ratio_<label>`` goes from below 1 to at least 1; the first grid ``n`` if the analog is
    already ahead there; None if it never is (or no digital figure exists).

    Example:
        >>> t = pd.DataFrame({"n": [8, 16, 32], "ratio_slow": [0.5, 2.0, 4.0]})
        >>> round(crossover_n(t), 4)
        11.3137
    """
    t = table[["n", f"ratio_{label}"]].dropna().sort_values("n")
    n, r = t["n"].to_numpy(dtype=float), t[f"ratio_{label}"].to_numpy(dtype=float)
    for i in range(len(n)):
        if r[i] >= 1:
            if i == 0:
                return float(n[0])
            x0, x1, y0, y1 = np.log(n[i - 1]), np.log(n[i]), np.log(r[i - 1]), np.log(r[i])
            return float(np.exp(x0 + (0 - y0) * (x1 - x0) / (y1 - y0)))
    return None


def scaling_exponents(table: pd.DataFrame, labels: Sequence[str] = tuple(OPAMPS)) -> dict[str, float]:
    """Fitted exponents ``p`` of ``time ~ n^p`` over the table's ``n`` grid (least squares in log-log).

    Returns:
        ``analog_<label>``: analog time per iteration; ``digital``: measured digital time per
        solve (``1 / solves_per_s``) over the whole grid; ``digital_tail``: the same between the
        two largest ``n`` (closest to the asymptotic ``n^3``). Digital entries are NaN without data.
    """

    def slope(x: np.ndarray, y: np.ndarray) -> float:
        ok = np.isfinite(y) & (y > 0)
        return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0]) if ok.sum() >= 2 else math.nan

    n = table["n"].to_numpy(dtype=float)
    out = {f"analog_{lab}": slope(n, table[f"analog_ns_per_iteration_{lab}"].to_numpy(dtype=float)) for lab in labels}
    digital_time = 1.0 / table["digital_solves_per_s"].to_numpy(dtype=float)
    out["digital"] = slope(n, digital_time)
    out["digital_tail"] = slope(n[-2:], digital_time[-2:])
    return out


def plot_throughput(
    table: pd.DataFrame,
    digital: pd.DataFrame | None,
    png_path: str | Path,
    pdf_path: str | Path,
    labels: Mapping[str, float] = OPAMPS,
) -> tuple[Path, Path]:
    """Throughput vs ``n`` (log-log): analog per op-amp label against every measured digital series.

    Args:
        table: Output of :func:`comparison_table`.
        digital: Output of :func:`measure_digital` (per device and dtype, the best op and batch per
            ``n`` is drawn); None draws the analog curves only.
        png_path, pdf_path: Output files (parents are created).
        labels: Op-amp labels (and GBWP, for the legend) present in ``table``.

    Returns:
        The written ``(png_path, pdf_path)``.
    """
    fig = Figure(figsize=(6.4, 4.4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    iterations = int(table["iterations"].iloc[0])
    for label, gbwp in labels.items():
        ax.plot(
            table["n"],
            table[f"analog_solves_per_s_{label}"],
            "o-",
            label=f"analog HP-INV, {iterations} it., GBWP {gbwp / 1e6:g} MHz ({label}; model)",
        )
    if digital is not None and len(digital):
        for (device, dtype), grp in _best_digital(digital).groupby(["device", "dtype"]):
            ax.plot(grp["n"], grp["solves_per_s"], "s--", label=f"digital {device} {dtype} (measured)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("system size N (real unknowns)")
    ax.set_ylabel("throughput (solves/s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    paths = Path(png_path), Path(pdf_path)
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=150)
    return paths


_SOLVER_FIELDS: tuple[tuple[str, str], ...] = (
    ("device.bits", "bit"),
    ("device.g_min_us", "uS"),
    ("device.g_max_us", "uS"),
    ("lpinv.array_size", "-"),
    ("lpinv.opamp_gain", "-"),
    ("lpinv.converters.dac_bits", "bit"),
    ("lpinv.converters.adc_bits", "bit"),
    ("hpmvm.num_slices", "-"),
    ("hpmvm.array_size", "-"),
    ("hpmvm.input_digit_bits", "bit"),
    ("hpmvm.input_slices", "-"),
    ("hpmvm.adc_bits", "bit"),
    ("outer", "-"),
)


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def assumptions_markdown(cost: CostConfig | None = None, solver: SolverConfig | None = None) -> str:
    """Every assumption of the cost model as a Markdown table (name, value, unit, source); print it.

    Rows: every :class:`CostConfig` field, the :class:`SolverConfig` fields the model prices
    (``solver.*``), and derived values (``derived.*``). Quoted literature figures are not
    assumptions; see :func:`quoted_figures_table`.
    """
    cost, solver = cost or CostConfig(), solver or SolverConfig()
    lines = ["| name | value | unit | source |", "|---|---|---|---|"]
    for name, info in CostConfig.model_fields.items():
        extra = info.json_schema_extra
        unit = extra["unit"] if isinstance(extra, dict) else "-"
        lines.append(f"| {name} | {_fmt(getattr(cost, name))} | {unit} | {info.description} |")
    for path, unit in _SOLVER_FIELDS:
        model: Any = solver
        *parents, leaf = path.split(".")
        for p in parents:
            model = getattr(model, p)
        info = type(model).model_fields[leaf]
        lines.append(f"| solver.{path} | {_fmt(getattr(model, leaf))} | {unit} | {info.description} |")
    derived = [
        ("opamp_power", f"{opamp_power_w(cost) * 1e6:.3g}", "uW", "at gbwp_hz, from the op-amp fields"),
        (
            "lpinv_adc_energy",
            f"{adc_energy_j(solver.lpinv.converters.adc_bits, cost) * 1e12:.3g}",
            "pJ",
            "per conversion, from the ADC FoMs",
        ),
    ]
    for n in (8, 128):
        bits = hpmvm_adc_bits(n, solver)
        derived.append(
            (
                f"hpmvm_adc_energy(n={n})",
                f"{adc_energy_j(bits, cost) * 1e12:.3g}",
                "pJ",
                f"{bits}-bit partial-sum ADC, per conversion",
            )
        )
    lines += [f"| derived.{name} | {v} | {u} | {s} |" for name, v, u, s in derived]
    return "\n".join(lines)
