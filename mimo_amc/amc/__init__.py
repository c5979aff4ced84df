"""Simulated RRAM analog matrix computing: LP-INV, bit-sliced HP-MVM, HP-INV, BlockAMC.

Pure torch, batched over any leading shape, float64 inside; no Sionna import.
"""

from .config import ConverterConfig, DeviceConfig, HPMVMConfig, LPINVConfig, SolverConfig
from .cost import (
    QUOTED_FIGURES,
    CostConfig,
    LPINVSettling,
    SolveCost,
    assumptions_markdown,
    circuit_rate,
    comparison_table,
    crossover_n,
    lpinv_settling,
    measure_digital,
    plot_throughput,
    scaling_exponents,
    settling_time_s,
    solve_cost,
)
from .devices import program_pairs, slice_digits, slice_weights
from .hpmvm import BitSlicedMVM
from .lpinv import LPINV, BlockAMCPlan
from .realform import complex_to_real_matrix, complex_to_real_vector, real_to_complex_vector
from .schemes import OperationCounts, operation_counts
from .solver import AnalogSolver, HPINVResult, ProgrammedSystem, default_device

__all__ = [
    "LPINV",
    "QUOTED_FIGURES",
    "AnalogSolver",
    "BitSlicedMVM",
    "BlockAMCPlan",
    "ConverterConfig",
    "CostConfig",
    "DeviceConfig",
    "HPINVResult",
    "HPMVMConfig",
    "LPINVConfig",
    "LPINVSettling",
    "OperationCounts",
    "ProgrammedSystem",
    "SolveCost",
    "SolverConfig",
    "assumptions_markdown",
    "circuit_rate",
    "comparison_table",
    "complex_to_real_matrix",
    "complex_to_real_vector",
    "crossover_n",
    "default_device",
    "lpinv_settling",
    "measure_digital",
    "operation_counts",
    "plot_throughput",
    "program_pairs",
    "real_to_complex_vector",
    "scaling_exponents",
    "settling_time_s",
    "slice_digits",
    "slice_weights",
    "solve_cost",
]
