"""Circuit cost model of the chip: parameters (:mod:`.params`), circuit primitives
(:mod:`.circuit`), the cost of one solve (:mod:`.solve`), of writing one matrix (:mod:`.write`) and a
receiver's budget (:mod:`.receiver`).
Comparison tables, measured digital baselines and quoted literature figures are not the chip's
and live in :mod:`mimo_amc.studies`.
"""

from .circuit import (
    LPINVSettling,
    OperationTimes,
    adc_energy_j,
    circuit_rate,
    dac_energy_j,
    lpinv_settling,
    opamp_power_w,
    operation_times,
    settling_time_s,
    time_constant_s,
)
from .params import FAST_GBWP_HZ, MEASURED_GBWP_HZ, OPAMPS, CostConfig, ReceiverConfig, assumption_rows
from .receiver import (
    AdaptiveLoad,
    ReceiverBudget,
    coherence_time_s,
    fallback_cost,
    receiver_budget,
    speed_at_energy_kmh,
)
from .solve import (
    OperationCountsLike,
    SolveCost,
    detected_bits_per_s,
    digital_solve_macs,
    digital_time_energy,
    expected_solve_cost,
    solve_cost,
)
from .write import WriteCost, acceptance_range, pulse_energy_j, pulses_per_cell, verify_energy_j, write_cost

__all__ = [
    "FAST_GBWP_HZ",
    "MEASURED_GBWP_HZ",
    "OPAMPS",
    "AdaptiveLoad",
    "CostConfig",
    "LPINVSettling",
    "OperationCountsLike",
    "OperationTimes",
    "ReceiverBudget",
    "ReceiverConfig",
    "SolveCost",
    "WriteCost",
    "acceptance_range",
    "adc_energy_j",
    "assumption_rows",
    "circuit_rate",
    "coherence_time_s",
    "dac_energy_j",
    "detected_bits_per_s",
    "digital_solve_macs",
    "digital_time_energy",
    "expected_solve_cost",
    "fallback_cost",
    "lpinv_settling",
    "opamp_power_w",
    "operation_times",
    "pulse_energy_j",
    "pulses_per_cell",
    "receiver_budget",
    "settling_time_s",
    "solve_cost",
    "speed_at_energy_kmh",
    "time_constant_s",
    "verify_energy_j",
    "write_cost",
]
