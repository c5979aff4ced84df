"""Detection speed on one 128x8 256-QAM batch (block fading), measured in the same run.

* analog ZF with K = 3 (programming every channel's Gram matrix once, all iterates kept)
  against the project's own FP32 ZF (Gram + batched solve, complex64);
* the project's FP32 ZF against Sionna's ``zf_equalizer`` (single precision), both as
  equalizers, and as complete hard detectors: our ZF + nearest-point slicing against
  ``sionna.phy.mimo.LinearDetector("zf", "bit", "maxlog", hard_out=True)``;
* simulated bits per second end to end (link, FP32 ZF, FP64 ZF and analog ZF K = 3,
  decisions and error counting) with ``mimo_amc.studies.ber.simulate_snr``.

Usage:
    python benchmarks/bench_detectors.py [--realizations 100] [--uses 100] [--repeats 7]
"""

from __future__ import annotations

import argparse
import time

import sionna.phy
import torch
from sionna.phy.mimo import LinearDetector, zf_equalizer
from timing import median, median_ratio, paired_times

from mimo_amc.amc import SolverConfig
from mimo_amc.detect import AnalogEqualizer, DigitalEqualizer, NearestPointSlicer, make_detector
from mimo_amc.link import Uplink
from mimo_amc.scenario import LinkConfig, MonteCarloConfig
from mimo_amc.studies.ber import simulate_snr


def report(realizations: int, uses: int, repeats: int) -> str:
    """Markdown section with the detector benchmark."""
    sionna.phy.config.seed = 0
    link_cfg = LinkConfig(num_rx_antennas=128, num_users=8, modulation="256qam", coherence_block=uses)
    link = Uplink(link_cfg, device="cpu")
    b = link.sample(realizations, 5.0)
    y32, h32, s32 = b.y.to(torch.complex64), b.h.unsqueeze(1).to(torch.complex64), b.s.to(torch.complex64)
    h = b.h.unsqueeze(1)
    ours = DigitalEqualizer("zf", "single")
    analog = AnalogEqualizer("zf", SolverConfig(), iterations=3, device="cpu", seed=0)
    slicer = NearestPointSlicer(link.constellation)
    sionna_det = LinearDetector("zf", "bit", "maxlog", constellation=link.constellation, hard_out=True,
                                precision="single", device="cpu")  # fmt: skip

    def fp32() -> object:
        return ours.detect(y32, h32, s32)

    # Each comparison is timed on its own, interleaved per repeat: Sionna's LinearDetector
    # allocates ~GBs, and timing it between two others slows their next allocations (page faults).
    t = {
        **paired_times({"fp32_zf": fp32, "analog_zf_k3": lambda: analog.detect(b.y, h, b.s)}, repeats),
        **paired_times(
            {"fp32_zf_eq": fp32, "sionna_zf_equalizer": lambda: zf_equalizer(y32, h32, s32, precision="single")},
            repeats,
        ),
        **paired_times(
            {
                "fp32_zf_hard": lambda: slicer.bits(fp32().x_hat[..., 0, :]),
                "sionna_linear_detector": lambda: sionna_det(y32, h32, s32),
            },
            repeats,
        ),
    }
    vectors = realizations * uses
    mc = MonteCarloConfig(realizations_per_batch=realizations, target_bit_errors=10**9, max_bits=vectors * 64 * 5)
    dets = [make_detector(n, iterations=3, device="cpu", seed=1) for n in ("zf_fp32", "zf_fp64", "analog_zf")]
    start = time.perf_counter()
    frame = simulate_snr(link_cfg, dets, mc, 5.0, seed=1)
    e2e = int(frame.bits.max()) / (time.perf_counter() - start)
    ms = {k: 1e3 * median(v) for k, v in t.items()}
    return "\n".join(
        [
            f"### Detection, 128x8 256-QAM, {realizations} channels x {uses} uses = {vectors} vectors "
            f"({torch.get_num_threads()} threads)",
            "",
            "| comparison | time (ms) | reference (ms) | ratio | target |",
            "|---|---|---|---|---|",
            f"| analog ZF, K = 3, all iterates / our FP32 ZF | {ms['analog_zf_k3']:.1f} | {ms['fp32_zf']:.1f} | "
            f"{median_ratio(t, 'analog_zf_k3', 'fp32_zf'):.2f}x | <= 3x |",
            f"| our FP32 ZF equalizer / Sionna `zf_equalizer` | {ms['fp32_zf_eq']:.1f} | "
            f"{ms['sionna_zf_equalizer']:.1f} | {median_ratio(t, 'fp32_zf_eq', 'sionna_zf_equalizer'):.2f}x | < 1x |",
            f"| our FP32 ZF + slicer / Sionna `LinearDetector('zf')` hard bits | {ms['fp32_zf_hard']:.1f} | "
            f"{ms['sionna_linear_detector']:.1f} | {median_ratio(t, 'fp32_zf_hard', 'sionna_linear_detector'):.2f}x "
            "| < 1x |",
            "",
            f"End to end (link + FP32 ZF + FP64 ZF + analog ZF K = 3 + decisions + counting): "
            f"**{e2e / 1e6:.2f} M simulated bits/s** per detector row.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realizations", type=int, default=100)
    parser.add_argument("--uses", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(report(args.realizations, args.uses, args.repeats))


if __name__ == "__main__":
    main()
