"""The project's equalizers as a :class:`sionna.phy.Block`, with Sionna's ``precision`` and ``device``.

Sionna's receivers take a plain equalizer function (``sionna.phy.mimo.lmmse_equalizer``), and so do
our :class:`~mimo_amc.detect.equalizers.Equalizer` objects; Sionna users who compose blocks expect
a :class:`~sionna.phy.Block` instead (a ``torch.nn.Module`` that casts its inputs to its precision
and device, as every Sionna block does). :class:`EqualizerBlock` is that wrapper around any of them.
"""

from __future__ import annotations

import torch
from sionna.phy import Block

from .equalizers import Equalizer


class EqualizerBlock(Block):
    """Any equalizer of :mod:`mimo_amc.detect` (digital, iterative, analog) as a Sionna block.

    Inputs are cast to the block's precision and moved to its device (Sionna's ``Block`` convention);
    ``call(y, h, s, precision=None)`` returns the equalizer's ``(x_hat, no_eff)`` (the last iterate;
    the calibrated pair for ``soft_output="residual"``) on the block's device, in ``precision`` (the
    keyword Sionna's ``LinearDetector`` passes) or else the block's precision. The equalizer keeps
    its own compute device (an :class:`~mimo_amc.detect.AnalogEqualizer`'s solver device) and float64
    inside its solver whatever the block's precision.

    Args:
        equalizer: The wrapped equalizer.
        precision: ``"single"`` (complex64 / float32 in and out), ``"double"`` or None
            (``sionna.phy.config.precision``).
        device: Torch device of inputs and outputs, or None (``sionna.phy.config.device``).

    Input:
        y: ``[..., M]`` received vectors; h: ``[..., M, K]`` channels; s: ``[..., M, M]`` noise covariance
        (shapes of :func:`sionna.phy.mimo.lmmse_equalizer`).

    Output:
        ``(x_hat [..., K], no_eff [..., K])``.

    Example:
        >>> import numpy as np
        >>> from sionna.phy.mimo import StreamManagement
        >>> from sionna.phy.ofdm import LinearDetector, ResourceGrid
        >>> from mimo_amc.amc import SolverConfig
        >>> from mimo_amc.detect import AnalogEqualizer
        >>> block = EqualizerBlock(AnalogEqualizer("mmse", SolverConfig(), iterations=3, device="cpu", seed=0),
        ...                        precision="single", device="cpu")
        >>> rg = ResourceGrid(14, 12, 30e3, num_tx=2, pilot_pattern="kronecker", pilot_ofdm_symbol_indices=[2])
        >>> detector = LinearDetector(block, "bit", "maxlog", rg, StreamManagement(np.ones([1, 2]), 1), "qam", 4)
        >>> y = torch.randn(3, 1, 8, 14, 12, dtype=torch.complex64)
        >>> h = torch.randn(3, 1, 8, 2, 1, 14, 12, dtype=torch.complex64)
        >>> llr = detector(y, h, torch.tensor(0.0), torch.tensor(0.1))
        >>> llr.shape, llr.dtype, block.device
        (torch.Size([3, 2, 1, 624]), torch.float32, 'cpu')
    """

    def __init__(self, equalizer: Equalizer, *, precision: str | None = None, device: str | None = None) -> None:
        if not isinstance(equalizer, Equalizer):
            raise TypeError(f"equalizer must be a mimo_amc.detect Equalizer; got {type(equalizer).__name__}")
        super().__init__(precision=precision, device=device)
        self.equalizer = equalizer

    def call(
        self, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor, precision: str | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.equalizer(y, h, s, precision=precision or self.precision)
