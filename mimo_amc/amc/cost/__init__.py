"""Circuit cost model of the chip: parameters (:mod:`.params`), circuit primitives
(:mod:`.circuit`), the cost of one solve (:mod:`.solve`) and of writing one matrix (:mod:`.write`).
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
from .receiver import ReceiverBudget, coherence_time_s, receiver_budget
from .solve import OperationCountsLike, SolveCost, detected_bits_per_s, solve_cost
from .write import WriteCost, acceptance_range, pulse_energy_j, pulses_per_cell, verify_energy_j, write_cost

__all__ = [
    "FAST_GBWP_HZ",
    "MEASURED_GBWP_HZ",
    "OPAMPS",
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
    "lpinv_settling",
    "opamp_power_w",
    "operation_times",
    "pulse_energy_j",
    "pulses_per_cell",
    "receiver_budget",
    "settling_time_s",
    "solve_cost",
    "time_constant_s",
    "verify_energy_j",
    "write_cost",
]
