"""BER of the analog ZF detector per iteration against FP32 ZF, in about 40 lines of the public API.

python examples/ber_loop.py            # 128x8 256-QAM, 3 SNR points, ~20 s on 2 cores
python examples/ber_loop.py --quick    # reduced size (CI)
"""

import sys

import sionna.phy
import torch

from mimo_amc import AnalogEqualizer, DigitalEqualizer, LinkConfig, NearestPointSlicer, SolverConfig, Uplink

quick = "--quick" in sys.argv
sionna.phy.config.seed = 1
link = Uplink(LinkConfig(num_rx_antennas=128, num_users=8, modulation="256qam", coherence_block=100), device="cpu")
slicer = NearestPointSlicer(link.constellation)
analog = AnalogEqualizer("zf", SolverConfig(), iterations=4, device="cpu", seed=0)  # default 3-bit chip
fp32 = DigitalEqualizer("zf", "single")

print("Es/N0 (dB)  FP32 ZF     analog ZF, iterations 1..4 (1 = LP-INV alone)")
for snr_db in [0.0, 4.0] if quick else [0.0, 4.0, 8.0]:
    errors, bits = torch.zeros(5), 0
    for _ in range(2 if quick else 20):  # batches of 100 channels x 100 channel uses
        batch = link.sample(num_realizations=100, snr_db=snr_db)
        h = batch.h_est.unsqueeze(1)  # one channel per coherence block: written to the chip once
        x32 = fp32.detect(batch.y, h, batch.s).x_hat  # [100, 100, 1, 8]
        xa = analog.detect(batch.y, h, batch.s).x_hat  # [100, 100, 4, 8]: every iterate
        decided = slicer.bits(torch.cat([x32.to(xa.dtype), xa], dim=-2))  # [100, 100, 5, 8, 8]
        errors += (decided != batch.bits.unsqueeze(2)).sum(dim=(0, 1, 3, 4)).double()
        bits += batch.bits.numel()
    print(f"{snr_db:10.1f}  " + "  ".join(f"{e / bits:.2e}" for e in errors))
