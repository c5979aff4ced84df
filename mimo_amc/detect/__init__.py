"""Detection: the Gram system, equalizers with Sionna's contract, the slicer, and the detector factory.

An *equalizer* (Sionna's sense) maps ``(y, h, s)`` to soft symbol estimates ``(x_hat, no_eff)``;
with the slicer (hard decisions) it forms a *detector*; :class:`EqualizerBlock` wraps any of them as a
:class:`sionna.phy.Block`. Which names exist and what they mean is the
catalogue's (:mod:`mimo_amc.scenario.detectors`).
"""

from .block import EqualizerBlock
from .equalizers import AnalogEqualizer, DigitalEqualizer, Equalizer, SionnaEqualizer
from .factory import build_detector, make_detector, make_detectors
from .gram import Detection, GramSystem, white_noise_variance
from .iterative import IterativeEqualizer
from .slicer import NearestPointSlicer

__all__ = [
    "AnalogEqualizer",
    "Detection",
    "DigitalEqualizer",
    "Equalizer",
    "EqualizerBlock",
    "GramSystem",
    "IterativeEqualizer",
    "NearestPointSlicer",
    "SionnaEqualizer",
    "build_detector",
    "make_detector",
    "make_detectors",
    "white_noise_variance",
]
