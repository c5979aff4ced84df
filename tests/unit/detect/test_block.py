"""EqualizerBlock: the project's equalizers as a ``sionna.phy.Block`` (precision, device, Sionna's receivers)."""

from __future__ import annotations

import numpy as np
import pytest
import sionna.phy
import torch
from sionna.phy.mimo import StreamManagement
from sionna.phy.nr import PUSCHReceiver
from sionna.phy.ofdm import LinearDetector, ResourceGrid

from mimo_amc import EqualizerBlock
from mimo_amc.amc import SolverConfig
from mimo_amc.detect import AnalogEqualizer, DigitalEqualizer
from mimo_amc.nr import PUSCHLink
from mimo_amc.scenario import PUSCHStudyConfig


def _system(seed: int):
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(6, 8, 3, generator=g, dtype=torch.complex128)
    x = torch.randn(6, 3, generator=g, dtype=torch.complex128)
    s = 0.05 * torch.eye(8, dtype=torch.complex128).expand(6, 8, 8)
    return (h @ x[..., None])[..., 0], h, s


@pytest.mark.parametrize(("precision", "cdtype"), [("single", torch.complex64), ("double", torch.complex128)])
def test_precision_device_and_the_plain_equalizers_outputs(precision, cdtype):
    y, h, s = _system(0)
    for make in (lambda: DigitalEqualizer("mmse", "double"),
                 lambda: AnalogEqualizer("mmse", SolverConfig(), iterations=3, device="cpu", seed=5)):  # fmt: skip
        block = EqualizerBlock(make(), precision=precision, device="cpu")
        assert isinstance(block, sionna.phy.Block) and block.device == "cpu" and block.precision == precision
        x_hat, no_eff = block(y, h, s)  # complex128 inputs are cast to the block's precision
        assert x_hat.dtype == cdtype and no_eff.dtype == cdtype.to_real()
        assert x_hat.device == torch.device("cpu")
        # The same equalizer (same chip seed) on the inputs the block saw gives the same outputs.
        ref_x, ref_no = make()(y.to(cdtype), h.to(cdtype), s.to(cdtype), precision=precision)
        assert torch.equal(x_hat, ref_x) and torch.equal(no_eff, ref_no)
    with pytest.raises(TypeError, match="must be a mimo_amc"):
        EqualizerBlock(lambda y, h, s: (y, h))


def test_inside_sionna_ofdm_linear_detector_and_pusch_receiver():
    """As LinearDetector's equalizer: the LLRs of the plain equalizer; inside PUSCHReceiver (perfect CSI): the
    decoded bits of Sionna's own LMMSE receiver on every TB of a seeded batch."""
    rg = ResourceGrid(14, 24, 30e3, num_tx=2, pilot_pattern="kronecker", pilot_ofdm_symbol_indices=[2, 11])
    sm = StreamManagement(np.ones([1, 2]), 1)
    g = torch.Generator().manual_seed(1)
    y = torch.randn(2, 1, 8, 14, 24, generator=g, dtype=torch.complex64)
    h = torch.randn(2, 1, 8, 2, 1, 14, 24, generator=g, dtype=torch.complex64)
    no, err = torch.tensor(0.1), torch.tensor(0.01)
    args = ("bit", "maxlog", rg, sm, "qam", 4)
    eq = DigitalEqualizer("mmse", "double")
    llr = LinearDetector(EqualizerBlock(eq, precision="single"), *args, precision="single")(y, h, err, no)
    assert torch.equal(llr, LinearDetector(eq, *args, precision="single")(y, h, err, no))

    sionna.phy.config.seed = 3
    link = PUSCHLink(PUSCHStudyConfig(num_rx_antennas=8, num_users=2, num_prbs=2), device="cpu")
    slots = link.sample(8, -1.0)
    block = EqualizerBlock(AnalogEqualizer("mmse", SolverConfig(ideal=True), iterations=2, device="cpu", seed=0))
    receivers = [
        PUSCHReceiver(link.transmitter, mimo_detector=detector, channel_estimator="perfect",
                      stream_management=link.stream_management, return_tb_crc_status=True)
        for detector in (LinearDetector(block, *args[:2], link.resource_grid, link.stream_management, "qam", 4),
                         None)  # None: Sionna's default LMMSE detector
    ]  # fmt: skip
    (bits, ok), (ref_bits, ref_ok) = (rx(slots.y, slots.no, slots.h) for rx in receivers)
    assert 0 < int(ref_ok.sum()) < ref_ok.numel()  # the batch mixes decoded and failed TBs
    assert torch.equal(bits, ref_bits) and torch.equal(ok, ref_ok)
