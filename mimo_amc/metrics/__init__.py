"""Metrics: error tallies (uncoded and coded), clustered confidence intervals, BER parity, image quality."""

from .blocks import BlockTally
from .image import image_quality
from .intervals import clopper_pearson, design_effect
from .parity import bler_parity_iterations, parity_band, parity_iterations
from .tally import DetectionTally

__all__ = [
    "BlockTally",
    "DetectionTally",
    "bler_parity_iterations",
    "clopper_pearson",
    "design_effect",
    "image_quality",
    "parity_band",
    "parity_iterations",
]
