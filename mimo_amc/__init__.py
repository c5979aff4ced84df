"""mimo_amc: massive-MIMO detection on simulated analog matrix computing (RRAM) hardware.

The public API, importable from the package top level (loaded on first use, so that
``mimo_amc.amc`` stays free of Sionna):

* solver: :class:`AnalogSolver`, :class:`SolverConfig`, :class:`HPINVResult`, and :func:`tune_allocator`
  (keeps freed tensor memory for reuse: 1.3-1.4x faster large batches; :mod:`mimo_amc.amc`);
* link and detectors: :class:`LinkConfig`, :class:`Uplink`, :class:`AnalogEqualizer`,
  :class:`DigitalEqualizer`, :class:`EqualizerBlock` (either as a ``sionna.phy.Block``),
  :class:`NearestPointSlicer` (:mod:`mimo_amc.link`, :mod:`mimo_amc.detect`);
* experiments: :class:`MonteCarloConfig`, :func:`load_scenario`, :class:`Scenario` (:mod:`mimo_amc.scenario`),
  :func:`simulate_snr` (:mod:`mimo_amc.studies.ber`), :func:`run_scenario` (:mod:`mimo_amc.runner`).

The package's layers, each importing only those before it: ``amc`` (the chip) -> ``scenario`` (the
schema) -> ``link`` / ``detect`` -> ``metrics`` -> ``studies`` -> ``store`` -> ``report`` -> ``runner``
-> ``reproduce`` -> ``cli``.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_API = {
    "AnalogSolver": "amc",
    "SolverConfig": "amc",
    "HPINVResult": "amc",
    "tune_allocator": "amc",
    "LinkConfig": "scenario",
    "MonteCarloConfig": "scenario",
    "Scenario": "scenario",
    "load_scenario": "scenario",
    "Uplink": "link",
    "AnalogEqualizer": "detect",
    "DigitalEqualizer": "detect",
    "EqualizerBlock": "detect",
    "NearestPointSlicer": "detect",
    "simulate_snr": "studies.ber",
    "run_scenario": "runner",
}
__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    raise AttributeError(f"module 'mimo_amc' has no attribute {name!r}")
