"""The experiment schema: scenario sections on one base, YAML and ``--set`` loading, sweeps and seeds.

Imports only pydantic, PyYAML and the chip's parameter classes (:mod:`mimo_amc.amc`): validating a
scenario loads no Sionna, scikit-image, pandas or matplotlib (a test checks it).
"""

from .chip import chip_config
from .detectors import CATALOGUE, ITERATION_NOTE, AnalogVariant, DetectorInfo, DetectorsConfig, parity_reference
from .errors import ScenarioError
from .link import MODULATIONS, ChannelConfig, CSIConfig, LinkConfig
from .loader import apply_override, load_scenario, scenario_from_dict
from .schema import OutputConfig, Scenario, SweepConfig
from .studies import (
    BUNDLED_IMAGES,
    AccuracyConfig,
    CostStudyConfig,
    ImageConfig,
    MonteCarloConfig,
    PUSCHChannelConfig,
    PUSCHStudyConfig,
)
from .sweep import SweepPoint, config_key, derive_seed, sweep_points

__all__ = [
    "BUNDLED_IMAGES",
    "CATALOGUE",
    "ITERATION_NOTE",
    "MODULATIONS",
    "AccuracyConfig",
    "AnalogVariant",
    "CSIConfig",
    "ChannelConfig",
    "CostStudyConfig",
    "DetectorInfo",
    "DetectorsConfig",
    "ImageConfig",
    "LinkConfig",
    "MonteCarloConfig",
    "OutputConfig",
    "PUSCHChannelConfig",
    "PUSCHStudyConfig",
    "Scenario",
    "ScenarioError",
    "SweepConfig",
    "SweepPoint",
    "apply_override",
    "chip_config",
    "config_key",
    "derive_seed",
    "load_scenario",
    "parity_reference",
    "scenario_from_dict",
    "sweep_points",
]
