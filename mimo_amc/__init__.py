"""mimo_amc: massive-MIMO detection on simulated analog matrix computing hardware."""

from .amc import AnalogSolver, HPINVResult, SolverConfig

__all__ = ["AnalogSolver", "HPINVResult", "SolverConfig"]
__version__ = "0.1.0"
