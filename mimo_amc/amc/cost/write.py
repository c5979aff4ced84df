"""Time, energy and wear of writing one matrix onto the chip with write-verify.

**Write-verify model.** A cell is programmed by a first pulse, then verified (read) and corrected
pulse by pulse until its conductance lies in the acceptance range ``+-tol`` (a fraction of
``g_max``) around its target. The accepted conductance is spread uniformly over that range, so
the programming error a write leaves is ``sigma = tol / sqrt(3)``, and a chip configured with
programming error ``prog_sigma`` needs ``tol = sqrt(3) prog_sigma`` (:func:`acceptance_range`).
That uniform-window rule reproduces aihwkit's measured ReRAM CMO fit (``sigma`` after a 2 % and a
0.2 % acceptance range) within 7 %. The error after the first pulse has std ``write_first_sigma``
and every further verify-and-correct pulse shrinks it by ``write_verify_shrink``, so a cell takes
on average::

    pulses(tol) = 1 + max(0, ln(write_first_sigma / tol) / ln(1 / write_verify_shrink))

pulses, each followed by a verify read (:func:`pulses_per_cell`).

**What one Gram matrix writes** (the partition of :class:`~mimo_amc.amc.partition.Partition`,
every signed entry a differential pair of two devices): the LP-INV's INV arrays (the leaves of
the BlockAMC tree), its BlockAMC MVM arrays (``A21`` and ``A12`` of every split) at the LP-INV's
``prog_sigma``, and the ``num_slices`` HP-MVM slices of the ``n x n`` matrix tiled onto
``hpmvm.array_size`` arrays at the HP-MVM's ``prog_sigma``. Every array has its own drivers and is
written concurrently, ``write_rows_parallel`` rows at a time; the write time is that of the slowest
array. Energy per pulse is ``V_prog^2 g_max t_pulse`` (the cell at its highest conductance, an
upper bound), per verify read ``V_read^2 g t_verify`` plus one LP-INV ADC conversion.

**Wear.** Every write costs each cell ``pulses`` switching cycles, so at ``w`` rewrites per second
the most-pulsed cells (the HP-MVM's, the tighter tolerance) fail after
``endurance_cycles / (pulses w)`` seconds (:meth:`WriteCost.lifetime_s`).

**Not counted:** the digital equilibration and Schur complements formed before writing, moving the
matrix onto the chip, and the forming step of fresh devices.

Example:
    >>> w = write_cost(16, CostConfig(), SolverConfig())
    >>> w.lpinv_cells, w.hpmvm_cells
    (512, 4096)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import SolverConfig
from ..partition import Partition
from .circuit import adc_energy_j
from .params import CostConfig

ACCEPTANCE_PER_SIGMA = math.sqrt(3.0)
"""Acceptance half-width over the std it leaves: a uniform error on ``+-tol`` has std ``tol / sqrt(3)``."""


def acceptance_range(prog_sigma: float) -> float:
    """Write-verify acceptance half-width (fraction of ``g_max``) that leaves error std ``prog_sigma``.

    Example:
        >>> round(acceptance_range(0.01), 5)
        0.01732
    """
    if prog_sigma <= 0:
        raise ValueError(f"prog_sigma must be > 0 to price a write-verify; got {prog_sigma}")
    return ACCEPTANCE_PER_SIGMA * prog_sigma


def pulses_per_cell(prog_sigma: float, cost: CostConfig) -> float:
    """Mean programming pulses (each with its verify read) to write a cell to error std ``prog_sigma``.

    Example:
        >>> round(pulses_per_cell(0.1 / 8 / math.sqrt(3), CostConfig()), 6)  # tol = first sigma / 8
        4.0
    """
    tol = acceptance_range(prog_sigma)
    return 1.0 + max(0.0, math.log(cost.write_first_sigma / tol) / math.log(1.0 / cost.write_verify_shrink))


def pulse_energy_j(cost: CostConfig, solver: SolverConfig) -> float:
    """Energy of one programming pulse, joules: ``V_prog^2 g_max t_pulse``.

    Example:
        >>> round(pulse_energy_j(CostConfig(), SolverConfig()) * 1e12, 3)
        11.34
    """
    return cost.write_voltage_v**2 * solver.device.g_max_us * 1e-6 * cost.write_pulse_s


def verify_energy_j(cost: CostConfig, solver: SolverConfig) -> float:
    """Energy of verifying one cell once, joules: its read (mean level) plus one LP-INV ADC conversion."""
    dev = solver.device
    g_mean_s = (dev.g_min_us + cost.mean_level_fraction * (dev.g_max_us - dev.g_min_us)) * 1e-6
    read = cost.voltage_mean_square * cost.read_voltage_v**2 * g_mean_s * cost.verify_read_s
    return read + adc_energy_j(solver.lpinv.converters.adc_bits, cost)


def _lpinv_arrays(partition: Partition) -> list[tuple[int, int]]:
    """``(rows, entries)`` of every LP-INV array (INV leaves and BlockAMC MVM blocks) of a partition."""
    if partition.is_leaf:
        return [(partition.n, partition.n * partition.n)]
    assert partition.a11 is not None and partition.schur is not None
    n1, n2 = partition.a11.n, partition.schur.n
    return [*_lpinv_arrays(partition.a11), *_lpinv_arrays(partition.schur), (n2, n2 * n1), (n1, n1 * n2)]


@dataclass(frozen=True)
class WriteCost:
    """Cost of writing one ``n x n`` matrix (LP-INV arrays and HP-MVM slices) with write-verify.

    Attributes:
        n: Unknowns (real system size).
        lpinv_cells / hpmvm_cells: Devices written (two per signed entry).
        lpinv_pulses / hpmvm_pulses: Mean pulses per device (each with its verify read).
        lpinv_s / hpmvm_s: Time of the slowest LP-INV / HP-MVM array, seconds.
        time_s: Write time, seconds (every array concurrently: the larger of the two).
        lpinv_j / hpmvm_j: Energy of the LP-INV / HP-MVM arrays, joules.
        energy_j: Total energy, joules.
    """

    n: int
    lpinv_cells: int
    hpmvm_cells: int
    lpinv_pulses: float
    hpmvm_pulses: float
    lpinv_s: float
    hpmvm_s: float
    time_s: float
    lpinv_j: float
    hpmvm_j: float
    energy_j: float
    endurance_cycles: float

    def lifetime_s(self, rewrites_per_s: float) -> float:
        """Seconds until the most-pulsed cells reach their endurance at ``rewrites_per_s`` writes per second.

        Example:
            >>> w = write_cost(16, CostConfig(), SolverConfig())
            >>> round(w.lifetime_s(1e4) / 86400, 1)  # days at 10,000 rewrites per second
            113.8
        """
        if rewrites_per_s <= 0:
            raise ValueError(f"rewrites_per_s must be > 0; got {rewrites_per_s}")
        return self.endurance_cycles / (max(self.lpinv_pulses, self.hpmvm_pulses) * rewrites_per_s)


def write_cost(n: int, cost: CostConfig | None = None, solver: SolverConfig | None = None) -> WriteCost:
    """Time and energy of writing one ``n x n`` real matrix onto the chip (see the module docstring).

    Args:
        n: Unknowns (``2 K`` for ``K`` complex users).
        cost: Cost assumptions (default :class:`CostConfig`).
        solver: Chip configuration (array sizes, slices, programming errors). Default :class:`SolverConfig`.

    Raises:
        ValueError: for ``n < 1`` or a programming error of 0 (an ideal write has no finite cost).
    """
    cost, solver = cost or CostConfig(), solver or SolverConfig()
    if n < 1:
        raise ValueError(f"n must be >= 1; got {n}")
    cycle_s = cost.write_pulse_s + cost.verify_read_s
    cycle_j = pulse_energy_j(cost, solver) + verify_energy_j(cost, solver)

    lp_pulses = pulses_per_cell(solver.lpinv.prog_sigma, cost)
    lp_arrays = _lpinv_arrays(Partition.of(n, solver.lpinv.array_size))
    lp_cells = 2 * sum(entries for _, entries in lp_arrays)
    lp_rows = max(rows for rows, _ in lp_arrays)

    hp = solver.hpmvm
    hp_pulses = pulses_per_cell(hp.prog_sigma, cost)
    hp_cells = 2 * hp.num_slices * n * n
    hp_rows = min(n, hp.array_size)

    lp_s = math.ceil(lp_rows / cost.write_rows_parallel) * lp_pulses * cycle_s
    hp_s = math.ceil(hp_rows / cost.write_rows_parallel) * hp_pulses * cycle_s
    lp_j = lp_cells * lp_pulses * cycle_j
    hp_j = hp_cells * hp_pulses * cycle_j
    return WriteCost(
        n=n,
        lpinv_cells=lp_cells,
        hpmvm_cells=hp_cells,
        lpinv_pulses=lp_pulses,
        hpmvm_pulses=hp_pulses,
        lpinv_s=lp_s,
        hpmvm_s=hp_s,
        time_s=max(lp_s, hp_s),
        lpinv_j=lp_j,
        hpmvm_j=hp_j,
        energy_j=lp_j + hp_j,
        endurance_cycles=cost.endurance_cycles,
    )
