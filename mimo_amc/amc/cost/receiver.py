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

Derived per configuration: writes and solves per second, solves per write, the energy of each
(watts), energy per detected bit with and without the writes, the chip time needed per second of
traffic (how many chips in parallel keep up; one chip's latency per slot is that times the slot),
the chip lifetime at that rewrite rate, and the UE speed above which the writes cost more energy
than the solves (``None`` when they never do: ``T_w`` cannot fall below a slot).

Not counted: channel estimation, the digital Gram and Schur complements formed before each write,
the matched filter ``H^H y`` and moving data on and off the chip.

Example:
    >>> b = receiver_budget(8, 8, 120.0, ReceiverConfig(), 3, CostConfig(timing="fixed"), SolverConfig())
    >>> round(b.rewrite_interval_s * 1e3, 2), round(b.solves_per_write)  # 128x8-class, 120 km/h, per subcarrier
    (1.09, 30)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import SolverConfig
from .params import CostConfig, ReceiverConfig
from .solve import solve_cost
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
class ReceiverBudget:
    """Detection load of one receiver configuration on the analog chip (see the module docstring).

    Attributes:
        users: Spatial layers ``K`` (one complex unknown each; ``n = 2K`` real unknowns).
        speed_kmh: UE speed.
        subcarriers_per_gram: Subcarriers sharing one Gram matrix.
        coherence_s: Channel coherence time, seconds.
        rewrite_interval_s: ``T_w``, seconds.
        writes_per_s / solves_per_s: Matrices written and systems solved per second.
        solves_per_write: Solves per written matrix.
        detected_bps: Detected (uncoded) bits per second.
        write_w / solve_w: Power of the writes and of the solves, watts.
        pj_per_bit_solve / pj_per_bit: Energy per detected bit without and with the writes, pJ.
        chips: Chip-seconds of work per second of traffic (write and solve time): chips that keep up.
        lifetime_days: Chip lifetime at ``writes_per_s / chips`` rewrites per chip and second, days.
        write_dominates_above_kmh: UE speed above which the writes cost more energy than the solves
            (None: never; 0: at every speed).
    """

    users: int
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
    pj_per_bit_solve: float
    pj_per_bit: float
    chips: float
    lifetime_days: float
    write_dominates_above_kmh: float | None


def receiver_budget(
    users: int,
    bits_per_symbol: int,
    speed_kmh: float,
    load: ReceiverConfig,
    iterations: int,
    cost: CostConfig,
    solver: SolverConfig,
    subcarriers_per_gram: int | None = None,
) -> ReceiverBudget:
    """The budget of detecting ``users`` layers of ``bits_per_symbol`` bits for UEs at ``speed_kmh``.

    Args:
        users: Layers ``K``.
        bits_per_symbol: Bits per QAM symbol.
        speed_kmh: UE speed, km/h.
        load: Numerology and carrier (:class:`~mimo_amc.amc.cost.params.ReceiverConfig`).
        iterations: HP-INV iterations per solve.
        cost: Cost assumptions.
        solver: Chip configuration.
        subcarriers_per_gram: Subcarriers per Gram matrix (default: the first of ``load``'s).
    """
    group = subcarriers_per_gram or load.subcarriers_per_gram[0]
    if users < 1 or bits_per_symbol < 1 or group < 1:
        raise ValueError(f"need users, bits_per_symbol, subcarriers_per_gram >= 1; got {users}, "
                         f"{bits_per_symbol}, {group}")  # fmt: skip
    n = 2 * users
    write = write_cost(n, cost, solver)
    solve = solve_cost(n, iterations, cost, solver)
    grams = math.ceil(load.subcarriers / group)
    coherence = coherence_time_s(speed_kmh, load.carrier_hz)
    interval = max(load.slot_s, coherence)
    writes = grams / interval
    solves = load.subcarriers * load.symbols_per_slot / load.slot_s
    bits = solves * users * bits_per_symbol
    write_w, solve_w = writes * write.energy_j, solves * solve.energy_j
    chips = writes * write.time_s + solves * solve.time_s
    # Writes cost more than solves once T_w < T* = G E_w / (solves/s E_s); T_w >= slot_s bounds it.
    t_star = grams * write.energy_j / solve_w
    above = None if t_star <= load.slot_s else speed_for_coherence_kmh(t_star, load.carrier_hz)
    return ReceiverBudget(
        users=users,
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
        pj_per_bit_solve=solve_w / bits * 1e12,
        pj_per_bit=(write_w + solve_w) / bits * 1e12,
        chips=chips,
        lifetime_days=write.lifetime_s(writes / max(chips, 1.0)) / 86400 if writes else math.inf,
        write_dominates_above_kmh=above,
    )
