"""Simulated RRAM analog matrix computing: LP-INV, bit-sliced HP-MVM, HP-INV, BlockAMC.

Pure torch, batched over any leading shape, float64 inside; no Sionna import.
"""

from .config import ConverterConfig, DeviceConfig, HPMVMConfig, LPINVConfig, SolverConfig
from .devices import program_pairs, slice_digits, slice_weights
from .hpmvm import BitSlicedMVM
from .lpinv import LPINV, BlockAMCPlan
from .realform import complex_to_real_matrix, complex_to_real_vector, real_to_complex_vector
from .schemes import OperationCounts, operation_counts
from .solver import AnalogSolver, HPINVResult, ProgrammedSystem, default_device

__all__ = [
    "LPINV",
    "AnalogSolver",
    "BitSlicedMVM",
    "BlockAMCPlan",
    "ConverterConfig",
    "DeviceConfig",
    "HPINVResult",
    "HPMVMConfig",
    "LPINVConfig",
    "OperationCounts",
    "ProgrammedSystem",
    "SolverConfig",
    "complex_to_real_matrix",
    "complex_to_real_vector",
    "default_device",
    "operation_counts",
    "program_pairs",
    "real_to_complex_vector",
    "slice_digits",
    "slice_weights",
]
