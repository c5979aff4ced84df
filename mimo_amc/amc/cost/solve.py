"""Time and energy of one HP-INV solve, from the analog operations it takes.

The model counts every analog operation of one solve (LP-INV applications through BlockAMC,
bit-sliced HP-MVM products) and prices each with its time and energy; every assumption is a
field of :class:`~mimo_amc.amc.cost.params.CostConfig`.

**Sequencing.** BlockAMC (:class:`~mimo_amc.amc.partition.Partition`) is a chain: each of
its ``inv_ops`` INV and ``mvm_ops`` MVM operations waits for the previous one, so its depth
is ``inv_ops + mvm_ops`` and one LP-INV application takes ``inv_ops t_inv + mvm_ops t_mvm``.
An HP-MVM product is ``S x T x tiles^2`` array reads (matrix slices x input digits x
tiles of ``hpmvm.array_size``), run in parallel or serially (:attr:`CostConfig.hpmvm_schedule`).
The outer scheme's operation counts per iteration (:class:`~mimo_amc.amc.schemes.OperationCounts`)
are an input.

**Not counted** (state this when quoting results): writing the matrices (write-verify, priced
separately by :mod:`.write`, amortised over a coherence block), the digital equilibration and Schur complements
formed at write time, leakage and idle power (op-amps are power-gated to the operation they serve),
control logic, and moving data on and off the chip. Throughput is that of one solver
instance working on one solve at a time (no pipelining of independent solves).

Example:
    >>> c = solve_cost(8, 3, CostConfig(timing="fixed"))
    >>> round((c.lpinv_s + c.hpmvm_s) * 1e9, 6)
    540.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Protocol

from ..config import SolverConfig
from ..hpmvm import partial_sum_adc_bits
from ..partition import Partition
from ..schemes import operation_counts
from .circuit import OperationTimes, adc_energy_j, dac_energy_j, opamp_power_w, operation_times
from .params import CostConfig


class OperationCountsLike(Protocol):
    """Operations of one outer iteration (e.g. :class:`~mimo_amc.amc.schemes.OperationCounts`)."""

    @property
    def lpinv(self) -> int: ...

    @property
    def hpmvm(self) -> int: ...

    @property
    def dot_products(self) -> int: ...


def _finite_bits(solver: SolverConfig) -> None:
    """The cost model prices converters and cells: they must have finite bits."""
    conv = solver.lpinv.converters
    if solver.device.bits == 0 or conv.dac_bits == 0 or conv.adc_bits == 0:
        raise ValueError("the cost model needs finite cell and LP-INV converter bits (bits = 0 means ideal)")


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


def _lpinv_application(n: int, cost: CostConfig, solver: SolverConfig, times: OperationTimes) -> tuple[float, _Energy]:
    """Time and energy of one LP-INV application (BlockAMC chain of ``plan.depth`` operations)."""
    partition = Partition.of(n, solver.lpinv.array_size)
    plan = partition.plan()
    energy = _Energy()
    for op in partition.operations():
        t = times.inv_s if op.inv else times.mvm_s
        opamps = op.outputs * (cost.lpinv_opamps_per_row if op.inv else cost.mvm_opamps_per_output)
        energy += _analog_op(
            cost, solver, time_s=t, inputs=op.inputs, outputs=op.outputs, opamps=opamps, cells=op.outputs * op.inputs
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
        adc=conversions * adc_energy_j(partial_sum_adc_bits(n, solver), cost),
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


def expected_solve_cost(
    n: int, iterations_mean: float, cost: CostConfig | None = None, solver: SolverConfig | None = None
) -> tuple[float, float]:
    """Mean ``(time_s, energy_j)`` of solves that run ``iterations_mean`` outer iterations on average.

    The cost of ``k`` iterations is affine in ``k`` for Richardson and FCG (the same operations every
    iteration after the first), so the mean cost of any distribution of ``k`` is the cost at its mean:
    linear interpolation between the neighbouring whole counts. For FGMRES (dot products growing with ``k``)
    it is an approximation.

    Example:
        >>> t, e = expected_solve_cost(16, 2.5, CostConfig(timing="fixed"))
        >>> lo, hi = solve_cost(16, 2, CostConfig(timing="fixed")), solve_cost(16, 3, CostConfig(timing="fixed"))
        >>> round(t / ((lo.time_s + hi.time_s) / 2), 12), round(e / ((lo.energy_j + hi.energy_j) / 2), 12)
        (1.0, 1.0)
    """
    if not iterations_mean >= 1:
        raise ValueError(f"iterations_mean must be >= 1; got {iterations_mean}")
    low = math.floor(iterations_mean)
    frac = iterations_mean - low
    a = solve_cost(n, low, cost, solver)
    if frac == 0:
        return a.time_s, a.energy_j
    b = solve_cost(n, low + 1, cost, solver)
    return a.time_s + frac * (b.time_s - a.time_s), a.energy_j + frac * (b.energy_j - a.energy_j)


def digital_solve_macs(n: int) -> tuple[float, float]:
    """Multiply-adds of a digital solve of an ``n x n`` real system: ``(factorisation, substitution)`` =
    ``(n^3 / 3, n^2)`` (LU, then the two triangular solves of one right-hand side).

    Example:
        >>> digital_solve_macs(16)
        (1365.3333333333333, 256)
    """
    return n**3 / 3, n**2


def digital_time_energy(macs: float, cost: CostConfig) -> tuple[float, float]:
    """``(time_s, energy_j)`` of ``macs`` fp32 multiply-adds on the chip's digital unit (``digital_lanes`` at
    ``digital_clock_hz``, ``fp_mac_energy_j`` each [Horowitz14]).

    Example:
        >>> t, e = digital_time_energy(1600, CostConfig())
        >>> round(t * 1e9, 6), round(e * 1e9, 6)
        (100.0, 7.36)
    """
    return macs / cost.digital_lanes / cost.digital_clock_hz, macs * cost.fp_mac_energy_j
