"""The analog ZF equalizer inside Sionna's OFDM receiver, over a 3GPP UMi channel.

Sionna's ``sionna.phy.ofdm.LinearDetector`` accepts any equalizer with the signature
``f(y, h, s) -> (x_hat, no_eff)``; here it is the simulated RRAM chip (HP-INV, 3 iterations).

    python examples/ofdm_3gpp.py           # 32-antenna BS, 4 users, 64 subcarriers, 2 drops
    python examples/ofdm_3gpp.py --quick   # reduced size (CI)
"""

import sys

import sionna.phy
import torch
from sionna.phy.channel import OFDMChannel, gen_single_sector_topology
from sionna.phy.channel.tr38901 import PanelArray, UMi
from sionna.phy.mapping import BinarySource, Mapper
from sionna.phy.mimo import StreamManagement
from sionna.phy.ofdm import LinearDetector, ResourceGrid, ResourceGridMapper
from sionna.phy.utils import compute_ber

from mimo_amc import AnalogEqualizer, SolverConfig
from mimo_amc.amc import preset

quick = "--quick" in sys.argv
sionna.phy.config.seed = 2
kw = {"precision": "double", "device": "cpu"}
users, (rows, cols), nb, fc, drops = 4, (4, 4 if quick else 8), 4, 3.5e9, 2
bs = PanelArray(num_rows_per_panel=rows, num_cols_per_panel=cols, polarization="single", polarization_type="V",
                antenna_pattern="38.901", carrier_frequency=fc, **kw)  # fmt: skip
ut = PanelArray(num_rows_per_panel=1, num_cols_per_panel=1, polarization="single", polarization_type="V",
                antenna_pattern="omni", carrier_frequency=fc, **kw)  # fmt: skip
umi = UMi(carrier_frequency=fc, o2i_model="low", ut_array=ut, bs_array=bs, direction="uplink", **kw)
umi.set_topology(*gen_single_sector_topology(drops, users, "umi", min_ut_velocity=0.0, max_ut_velocity=0.0, **kw))
rg = ResourceGrid(num_ofdm_symbols=2 if quick else 14, fft_size=32 if quick else 64, subcarrier_spacing=30e3,
                  num_tx=users, num_streams_per_tx=1, **kw)  # fmt: skip
sm = StreamManagement(torch.ones(1, users).numpy(), 1)
channel = OFDMChannel(umi, rg, normalize_channel=True, return_channel=True, **kw)

bits = BinarySource(**kw)([drops, users, 1, rg.num_data_symbols * nb])
x = ResourceGridMapper(rg, **kw)(Mapper("qam", nb, **kw)(bits))
no = 10 ** (-20 / 10)  # Es/N0 = 20 dB per receive antenna
y, h = channel(x, no)
chips = {  # (chip, iterations)
    "ideal chip": (preset("ideal"), 1),
    "3-bit chip, paper's refinement, 3 it.": (preset("zuo2025"), 3),
    "3-bit chip, flexible CG, 3 it.": (SolverConfig(outer="fcg"), 3),
    "4-bit chip, paper's refinement, 3 it.": (preset("zuo2025_4bit"), 3),
}
# Realistic UMi channels are far worse conditioned than i.i.d. Rayleigh ones: with 3-bit cells a
# large share of the programmed Gram matrices does not contract (rho >= 1), which the paper's
# Richardson refinement cannot survive; flexible CG and 4-bit cells can.
for name, (cfg, iterations) in chips.items():
    eq = AnalogEqualizer("zf", cfg, iterations=iterations, device="cpu", seed=0)
    det = LinearDetector(eq, "bit", "maxlog", rg, sm, constellation_type="qam", num_bits_per_symbol=nb,
                         hard_out=True, **kw)  # fmt: skip
    bits_hat = det(y, h, torch.zeros_like(h.real), no)
    print(f"{name}: BER {float(compute_ber(bits, bits_hat)):.2e} over {bits.numel()} bits")
