"""The uplink's received signal: one product per realisation gives the per-use product."""

from __future__ import annotations

import sionna.phy

from mimo_amc.link import Uplink
from mimo_amc.scenario import LinkConfig


def test_received_signal_is_the_per_use_channel_product():
    """``y = x @ h.mT`` (no per-use copy of ``h``) equals ``h x_t`` for every use, to rounding (1e-13)."""
    sionna.phy.config.seed = 3
    cfg = LinkConfig(num_rx_antennas=32, num_users=4, modulation="16qam", coherence_block=50)
    b = Uplink(cfg, device="cpu").sample(20, 300.0)  # N0 = 1e-30: y is the noiseless product
    per_use = (b.h.unsqueeze(1) @ b.x.unsqueeze(-1)).squeeze(-1)
    assert b.y.shape == per_use.shape == (20, 50, 32)
    assert float((b.y - per_use).abs().max() / per_use.abs().max()) < 1e-13
