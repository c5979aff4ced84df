"""The receiver's budget: a base station's uplink detection load on the analog chip, writes included.

A receiver detects every data resource element (RE) of every slot. With one Gram matrix per group
of ``subcarriers_per_gram`` subcarriers, the chip holds ``G = subcarriers / subcarriers_per_gram``
matrices and rewrites each of them once per *rewrite interval*

    T_w = max(slot_s, T_c),      T_c = 0.423 / f_D,   f_D = v f_c / c,

i.e. once per slot (a new DMRS estimate) while the channel changes faster than that, and once per
coherence time ``T_c`` (Clarke's model, the 50 %-correlation definition; Rappaport, *Wireless
Communications*, eq. 5.40.c) of a slower UE (never for a static one). Per second that is ``G / T_w``
writes (each priced by :func:`~mimo_amc.amc.cost.write.write_cost`) and
``subcarriers * symbols_per_slot / slot_s`` solves (each :func:`~mimo_amc.amc.cost.solve.solve_cost`),
for ``K bits_per_symbol`` detected bits each.

**Iterations per solve** are either a fixed ``K`` or what adaptive iterations measured on a link
(:class:`AdaptiveLoad`, e.g. a BER study's ``tables/adaptive``): the mean iterations per solve (the early
stop; :func:`~mimo_amc.amc.cost.solve.expected_solve_cost`) and the fallback of the outage. Per fallen-back
solve the fallback adds ('best': nothing)

* ``digital``: a digital solve on the chip's digital unit (:func:`~mimo_amc.amc.cost.solve.digital_solve_macs`
  fp32 multiply-adds): the LU once per fallen-back *matrix*, the two triangular solves per fallen-back solve;
* ``fcg``: ``fallback_iterations_mean`` FCG iterations on the same arrays;
* ``loading``: one rewrite of the LP-INV arrays per fallen-back matrix (the HP-MVM slices keep ``A``) and
  ``fallback_iterations_mean`` iterations of the chip's outer scheme.

A fallen-back matrix is rewritten or factorised once per rewrite interval, like any written matrix.

Derived per configuration: writes and solves per second, solves per write, the energy of each and of
the fallbacks (watts), energy per detected bit with and without the writes, the chip time needed per
second of traffic (how many chips in parallel keep up; one chip's latency per slot is that times the
slot), the chip lifetime at that rewrite rate, the coherence time below which the writes would cost
more energy than the solves and the UE speed above which they do (``None`` when they never do: ``T_w``
cannot fall below a slot).

Not counted: channel estimation, the digital Gram and Schur complements formed before each write,
the matched filter ``H^H y``, the stopping rule's digital tolerance and moving data on and off the chip.

Example:
    >>> b = receiver_budget(8, 8, 120.0, ReceiverConfig(), 3, CostConfig(timing="fixed"), SolverConfig())
    >>> round(b.rewrite_interval_s * 1e3, 2), round(b.solves_per_write)  # 128x8-class, 120 km/h, per subcarrier
    (1.09, 30)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import Fallback, SolverConfig
from .params import CostConfig, ReceiverConfig
from .solve import digital_solve_macs, digital_time_energy, expected_solve_cost
from .write import write_cost

SPEED_OF_LIGHT_MPS = 299_792_458.0
CLARKE_COHERENCE = 0.423
"""Coherence time times maximum Doppler shift (50 % correlation; Rappaport eq. 5.40.c)."""


def coherence_time_s(speed_kmh: float, carrier_hz: float) -> float:
    """Channel coherence time, seconds (``inf`` for a static UE).

    Example:
        >>> round(coherence_time_s(3.0, 3.5e9) * 1e3, 1)  # pedestrian at 3.5 GHz, ms
        43.5
    """
    if speed_kmh < 0 or carrier_hz <= 0:
        raise ValueError(f"need speed_kmh >= 0 and carrier_hz > 0; got {speed_kmh}, {carrier_hz}")
    doppler = speed_kmh / 3.6 * carrier_hz / SPEED_OF_LIGHT_MPS
    return math.inf if doppler == 0 else CLARKE_COHERENCE / doppler


def speed_for_coherence_kmh(coherence_s: float, carrier_hz: float) -> float:
    """The UE speed whose coherence time is ``coherence_s`` (the inverse of :func:`coherence_time_s`).

    Example:
        >>> round(speed_for_coherence_kmh(coherence_time_s(3.0, 3.5e9), 3.5e9), 9)
        3.0
    """
    return CLARKE_COHERENCE / coherence_s * SPEED_OF_LIGHT_MPS / carrier_hz * 3.6


@dataclass(frozen=True)
class AdaptiveLoad:
    """What adaptive iterations measured on a link cost per solve (a BER study's ``tables/adaptive`` row).

    Attributes:
        iterations_mean: Analog iterations per solve, mean over solves (early stop included).
        outage_fraction: Solves handed to the fallback.
        fallback: The fallback (:class:`~mimo_amc.amc.config.StoppingConfig` ``fallback``).
        fallback_iterations_mean: Analog iterations of the fallback's re-solve per fallen-back solve
            (``fcg``, ``loading``; 0 otherwise).
        matrix_outage_fraction: Written matrices with at least one fallen-back solve (they are factorised or
            rewritten once); None = ``outage_fraction`` (a matrix falls back for all of its solves or none).
    """

    iterations_mean: float
    outage_fraction: float
    fallback: Fallback
    fallback_iterations_mean: float = 0.0
    matrix_outage_fraction: float | None = None

    def __post_init__(self) -> None:
        if not self.iterations_mean >= 1:
            raise ValueError(f"iterations_mean must be >= 1; got {self.iterations_mean}")
        for name in ("outage_fraction", "matrix_outage_fraction"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise ValueError(f"{name} must lie in [0, 1]; got {value}")
        if self.fallback in ("fcg", "loading") and self.outage_fraction > 0 and not self.fallback_iterations_mean >= 1:
            raise ValueError(f"a {self.fallback} fallback re-solves: fallback_iterations_mean must be >= 1; "
                             f"got {self.fallback_iterations_mean}")  # fmt: skip


@dataclass(frozen=True)
class ReceiverBudget:
    """Detection load of one receiver configuration on the analog chip (see the module docstring).

    Attributes:
        users: Spatial layers ``K`` (one complex unknown each; ``n = 2K`` real unknowns).
        iterations: Analog iterations per solve (the fixed ``K``, or the adaptive mean).
        outage_fraction: Solves handed to the fallback (0 for fixed ``K``).
        fallback: The fallback priced (None for fixed ``K``).
        speed_kmh: UE speed.
        subcarriers_per_gram: Subcarriers sharing one Gram matrix.
        coherence_s: Channel coherence time, seconds.
        rewrite_interval_s: ``T_w``, seconds.
        writes_per_s / solves_per_s: Matrices written and systems solved per second.
        solves_per_write: Solves per written matrix.
        detected_bps: Detected (uncoded) bits per second.
        write_w / solve_w / fallback_w: Power of the writes, of the analog solves and of the fallbacks, watts.
        pj_per_bit_solve / pj_per_bit: Energy per detected bit without and with the writes (fallbacks in
            both), pJ.
        chips: Chip-seconds of work per second of traffic (write, solve and fallback time): chips that keep up.
        lifetime_days: Chip lifetime at ``writes_per_s / chips`` rewrites per chip and second, days.
        write_equals_solve_coherence_s: The rewrite interval at which the writes would cost as much energy as
            the analog solves (it is reached only where it exceeds a slot).
        write_dominates_above_kmh: UE speed above which the writes cost more energy than the analog solves
            (None: never, the interval above is below a slot).
    """

    users: int
    iterations: float
    outage_fraction: float
    fallback: str | None
    speed_kmh: float
    subcarriers_per_gram: int
    coherence_s: float
    rewrite_interval_s: float
    writes_per_s: float
    solves_per_s: float
    solves_per_write: float
    detected_bps: float
    write_w: float
    solve_w: float
    fallback_w: float
    pj_per_bit_solve: float
    pj_per_bit: float
    chips: float
    lifetime_days: float
    write_equals_solve_coherence_s: float
    write_dominates_above_kmh: float | None


def fallback_cost(
    n: int, adaptive: AdaptiveLoad, cost: CostConfig, solver: SolverConfig
) -> tuple[tuple[float, float], tuple[float, float]]:
    """``((time_s, energy_j) per fallen-back matrix, (time_s, energy_j) per fallen-back solve)`` of the fallback
    (module docstring)."""
    if adaptive.fallback == "digital":
        factorise, substitute = digital_solve_macs(n)
        return digital_time_energy(factorise, cost), digital_time_energy(substitute, cost)
    if adaptive.fallback == "best" or adaptive.outage_fraction == 0:
        return (0.0, 0.0), (0.0, 0.0)
    if adaptive.fallback == "fcg":
        return (0.0, 0.0), expected_solve_cost(
            n, adaptive.fallback_iterations_mean, cost, solver.model_copy(update={"outer": "fcg"})
        )
    rewrite = write_cost(n, cost, solver)  # 'loading': the LP-INV arrays only
    return (rewrite.lpinv_s, rewrite.lpinv_j), expected_solve_cost(n, adaptive.fallback_iterations_mean, cost, solver)


def receiver_budget(
    users: int,
    bits_per_symbol: int,
    speed_kmh: float,
    load: ReceiverConfig,
    iterations: int,
    cost: CostConfig,
    solver: SolverConfig,
    subcarriers_per_gram: int | None = None,
    adaptive: AdaptiveLoad | None = None,
) -> ReceiverBudget:
    """The budget of detecting ``users`` layers of ``bits_per_symbol`` bits for UEs at ``speed_kmh``.

    Args:
        users: Layers ``K``.
        bits_per_symbol: Bits per QAM symbol.
        speed_kmh: UE speed, km/h.
        load: Numerology and carrier (:class:`~mimo_amc.amc.cost.params.ReceiverConfig`).
        iterations: HP-INV iterations per solve (fixed ``K``; ignored with ``adaptive``).
        cost: Cost assumptions.
        solver: Chip configuration.
        subcarriers_per_gram: Subcarriers per Gram matrix (default: the first of ``load``'s).
        adaptive: Measured adaptive iterations and outage (:class:`AdaptiveLoad`), or None for fixed ``K``.
    """
    group = subcarriers_per_gram or load.subcarriers_per_gram[0]
    if users < 1 or bits_per_symbol < 1 or group < 1:
        raise ValueError(f"need users, bits_per_symbol, subcarriers_per_gram >= 1; got {users}, "
                         f"{bits_per_symbol}, {group}")  # fmt: skip
    n = 2 * users
    write = write_cost(n, cost, solver)
    mean_iterations = float(iterations) if adaptive is None else adaptive.iterations_mean
    solve_s, solve_j = expected_solve_cost(n, mean_iterations, cost, solver)
    grams = math.ceil(load.subcarriers / group)
    coherence = coherence_time_s(speed_kmh, load.carrier_hz)
    interval = max(load.slot_s, coherence)
    writes = grams / interval
    solves = load.subcarriers * load.symbols_per_slot / load.slot_s
    bits = solves * users * bits_per_symbol
    write_w, solve_w = writes * write.energy_j, solves * solve_j
    chips = writes * write.time_s + solves * solve_s
    fallback_w = 0.0
    if adaptive is not None:
        (matrix_s, matrix_j), (per_solve_s, per_solve_j) = fallback_cost(n, adaptive, cost, solver)
        matrices = (
            adaptive.outage_fraction if adaptive.matrix_outage_fraction is None else adaptive.matrix_outage_fraction
        )
        fallback_w = matrices * writes * matrix_j + adaptive.outage_fraction * solves * per_solve_j
        chips += matrices * writes * matrix_s + adaptive.outage_fraction * solves * per_solve_s
    # Writes cost more than solves once T_w < T* = G E_w / (solves/s E_s); T_w >= slot_s bounds it.
    t_star = grams * write.energy_j / solve_w
    above = None if t_star <= load.slot_s else speed_for_coherence_kmh(t_star, load.carrier_hz)
    return ReceiverBudget(
        users=users,
        iterations=mean_iterations,
        outage_fraction=0.0 if adaptive is None else adaptive.outage_fraction,
        fallback=None if adaptive is None else adaptive.fallback,
        speed_kmh=speed_kmh,
        subcarriers_per_gram=group,
        coherence_s=coherence,
        rewrite_interval_s=interval,
        writes_per_s=writes,
        solves_per_s=solves,
        solves_per_write=solves / writes if writes else math.inf,
        detected_bps=bits,
        write_w=write_w,
        solve_w=solve_w,
        fallback_w=fallback_w,
        pj_per_bit_solve=(solve_w + fallback_w) / bits * 1e12,
        pj_per_bit=(write_w + solve_w + fallback_w) / bits * 1e12,
        chips=chips,
        lifetime_days=write.lifetime_s(writes / max(chips, 1.0)) / 86400 if writes else math.inf,
        write_equals_solve_coherence_s=t_star,
        write_dominates_above_kmh=above,
    )


def speed_at_energy_kmh(static: ReceiverBudget, per_slot: ReceiverBudget, target_pj: float, carrier_hz: float) -> float:
    """The UE speed above which the energy per detected bit (writes included) exceeds ``target_pj``.

    Per bit the energy is ``a + b / T_w``: ``a`` the solves and the per-solve part of the fallbacks (the budget
    of a static UE, ``static``), ``b / T_w`` the writes and the per-matrix part of the fallbacks at rewrite
    interval ``T_w`` (from ``per_slot``, the same configuration rewritten once per slot). Returns 0 when even a
    static UE costs more than ``target_pj`` and ``inf`` when one rewrite per slot still costs less.

    Example:
        >>> load, cost, chip = ReceiverConfig(), CostConfig(timing="fixed"), SolverConfig()
        >>> static, slot = (receiver_budget(8, 8, v, load, 3, cost, chip, 1) for v in (0.0, 500.0))
        >>> target = (static.pj_per_bit + slot.pj_per_bit) / 2
        >>> v = speed_at_energy_kmh(static, slot, target, load.carrier_hz)
        >>> round(receiver_budget(8, 8, v, load, 3, cost, chip, 1).pj_per_bit / target, 9)
        1.0
    """
    same = (static.users, static.subcarriers_per_gram) == (per_slot.users, per_slot.subcarriers_per_gram)
    if not same or static.writes_per_s != 0 or per_slot.coherence_s > per_slot.rewrite_interval_s:
        raise ValueError("need the budgets of one configuration for a static UE and for one rewrite per slot")
    a = static.pj_per_bit
    if target_pj <= a:
        return 0.0
    b = (per_slot.pj_per_bit - a) * per_slot.rewrite_interval_s
    interval = b / (target_pj - a)
    return math.inf if interval <= per_slot.rewrite_interval_s else speed_for_coherence_kmh(interval, carrier_hz)
