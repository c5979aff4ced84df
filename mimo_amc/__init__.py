"""mimo_amc: massive-MIMO detection on simulated analog matrix computing (RRAM) hardware.

The public API, importable from the package top level (loaded on first use, so that
``mimo_amc.amc`` stays free of Sionna):

* solver: :class:`AnalogSolver`, :class:`SolverConfig`, :class:`HPINVResult` (:mod:`mimo_amc.amc`);
* link and detectors: :class:`LinkConfig`, :class:`Uplink`, :class:`AnalogEqualizer`,
  :class:`DigitalEqualizer`, :class:`NearestPointSlicer` (:mod:`mimo_amc.link`, :mod:`mimo_amc.detect`);
* experiments: :class:`MonteCarloConfig`, :func:`simulate_snr`, :func:`load_scenario`,
  :func:`run_scenario` (:mod:`mimo_amc.montecarlo`, :mod:`mimo_amc.config`, :mod:`mimo_amc.runner`).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "AnalogSolver": "amc",
    "SolverConfig": "amc",
    "HPINVResult": "amc",
    "LinkConfig": "link",
    "Uplink": "link",
    "AnalogEqualizer": "detect",
    "DigitalEqualizer": "detect",
    "NearestPointSlicer": "detect",
    "MonteCarloConfig": "montecarlo",
    "simulate_snr": "montecarlo",
    "load_scenario": "config",
    "run_scenario": "runner",
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'mimo_amc' has no attribute {name!r}")
