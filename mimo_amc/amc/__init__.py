"""Simulated RRAM analog matrix computing: LP-INV, bit-sliced HP-MVM, HP-INV, BlockAMC, and its cost.

Pure torch, batched over any leading shape, float64 inside; it imports only torch, pydantic and
the standard library (no Sionna, pandas or matplotlib; a test enforces it). Layers, bottom up:
``config`` (parameters and sources) -> ``devices``, ``converters``, ``partition`` (BlockAMC),
``wires`` (crossbar IR drop) -> ``lpinv``, ``hpmvm`` -> ``schemes`` -> ``solver``; ``presets`` (named
chips) and ``cost`` (the circuit cost model) on top; ``compiling`` and ``allocator`` are runtime settings
(no chip parameters).
"""

from .allocator import tune_allocator
from .config import (
    ConverterConfig,
    DeviceConfig,
    HPMVMConfig,
    LPINVConfig,
    Section,
    SolverConfig,
    StoppingConfig,
    WireConfig,
)
from .cost import CostConfig, SolveCost, lpinv_settling, solve_cost
from .devices import program_pairs, slice_digits, slice_weights
from .hpmvm import BitSlicedMVM, partial_sum_adc_bits
from .lpinv import LPINV
from .partition import BlockAMCPlan, Partition
from .presets import PRESETS, preset
from .realform import complex_to_real_matrix, complex_to_real_vector, real_to_complex_vector
from .schemes import OperationCounts, operation_counts
from .solver import DEFAULT_ITERATIONS, AnalogSolver, HPINVResult, ProgrammedSystem, default_device

__all__ = [
    "DEFAULT_ITERATIONS",
    "LPINV",
    "PRESETS",
    "AnalogSolver",
    "BitSlicedMVM",
    "BlockAMCPlan",
    "ConverterConfig",
    "CostConfig",
    "DeviceConfig",
    "HPINVResult",
    "HPMVMConfig",
    "LPINVConfig",
    "OperationCounts",
    "Partition",
    "ProgrammedSystem",
    "Section",
    "SolveCost",
    "SolverConfig",
    "StoppingConfig",
    "WireConfig",
    "complex_to_real_matrix",
    "complex_to_real_vector",
    "default_device",
    "lpinv_settling",
    "operation_counts",
    "partial_sum_adc_bits",
    "preset",
    "program_pairs",
    "real_to_complex_vector",
    "slice_digits",
    "slice_weights",
    "solve_cost",
    "tune_allocator",
]
