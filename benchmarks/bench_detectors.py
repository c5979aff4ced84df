"""Detection speed, measured in the same run against baselines.

* analog ZF with K = 3 (programming every channel's Gram matrix once, all iterates kept) against
  the project's own FP32 ZF (Gram + batched solve in complex64) on **identical inputs** (the
  harness's complex128 ``y``, ``h`` and broadcast white covariance ``s``), at 128x8 .. 512x64 and
  with 1 and 2 torch threads; with ``--compile`` also with the compiled LP-INV applications
  (``MIMO_AMC_COMPILE=1``, eager and compiled interleaved, the first compiled call timed apart);
* the project's FP32 ZF against Sionna's ``zf_equalizer`` (single precision), both as
  equalizers, and as complete hard detectors: our ZF + nearest-point slicing against
  ``sionna.phy.mimo.LinearDetector("zf", "bit", "maxlog", hard_out=True)``;
* simulated bits per second end to end: the harness (``mimo_amc.studies.ber.simulate_snr``) with
  FP32 ZF alone and with FP32 ZF + analog ZF (K = 3), against Sionna's ``sim_ber`` running a
  link of Sionna blocks (binary source, mapper, block-fading flat channel, AWGN,
  ``LinearDetector("zf")`` hard bits) on the same 128x8 256-QAM workload;
* the peak memory (resident set growth) of one 512x64 Monte Carlo batch at the default batch size.

Usage:
    python benchmarks/bench_detectors.py [--realizations 100] [--uses 100] [--repeats 5] [--compile]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable

import sionna.phy
import torch
from sionna.phy.channel import AWGN, ApplyFlatFadingChannel, GenerateFlatFadingChannel
from sionna.phy.mapping import BinarySource, Mapper
from sionna.phy.mimo import LinearDetector, zf_equalizer
from sionna.phy.utils import sim_ber
from timing import median, median_ratio, paired_times

from mimo_amc.amc import SolverConfig, compiling, tune_allocator
from mimo_amc.detect import AnalogEqualizer, DigitalEqualizer, NearestPointSlicer, make_detector
from mimo_amc.link import Uplink, noise_variance
from mimo_amc.scenario import LinkConfig, MonteCarloConfig, Scenario
from mimo_amc.studies.ber import batch_bytes, simulate_snr

SIZES = [(128, 8), (128, 16), (256, 32), (512, 64)]
TARGETS = {(128, 8): "<= 3x", (512, 64): "<= 8x"}


def _link(m: int, k: int, uses: int, device: str = "cpu") -> tuple[LinkConfig, Uplink]:
    cfg = LinkConfig(num_rx_antennas=m, num_users=k, modulation="256qam", coherence_block=uses)
    return cfg, Uplink(cfg, device=device)


def detector_inputs(m: int, k: int, realizations: int, uses: int, device: str) -> tuple[torch.Tensor, ...]:
    """The harness's ``y``, block-fading ``h`` and broadcast white ``s`` of one 256-QAM batch at 5 dB."""
    sionna.phy.config.seed = 0
    _, link = _link(m, k, uses, device)
    b = link.sample(realizations, 5.0)
    return b.y, b.h.unsqueeze(1), b.s


def analog_ratio_rows(realizations: int, uses: int, repeats: int, threads: list[int], device: str = "cpu") -> list[str]:
    """Analog ZF (K = 3) / FP32 ZF on identical inputs, every size and thread count."""
    where = " on CUDA" if device == "cuda" else ""
    lines = [
        f"### Analog ZF (K = 3, all iterates) / FP32 ZF{where}, identical inputs, {realizations} channels x "
        f"{uses} uses",
        "",
        "| M x K | torch threads | FP32 ZF (ms) | analog ZF K = 3 (ms) | ratio | target |",
        "|---|---|---|---|---|---|",
    ]
    before = torch.get_num_threads()
    ratios: dict[tuple[int, int, int], float] = {}
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for m, k in SIZES:
            y, h, s = detector_inputs(m, k, realizations, uses, device)
            fp32 = DigitalEqualizer("zf", "single")
            analog = AnalogEqualizer("zf", SolverConfig(), iterations=3, device=device, seed=0)
            t = paired_times(
                {"fp32": lambda: fp32.detect(y, h, s), "analog": lambda: analog.detect(y, h, s)},  # noqa: B023 (run here)
                repeats,
            )
            ratio = median_ratio(t, "analog", "fp32")
            ratios[(m, k, n_threads)] = ratio
            lines.append(
                f"| {m} x {k} | {n_threads} | {1e3 * median(t['fp32']):.1f} | {1e3 * median(t['analog']):.1f} | "
                f"{ratio:.2f}x | {TARGETS.get((m, k), '')} |"
            )
    torch.set_num_threads(before)
    lines.append("")
    for n_threads in threads:
        growth = ratios[(512, 64, n_threads)] / ratios[(128, 8, n_threads)]
        lines.append(f"Growth of the ratio from 128x8 to 512x64 with {n_threads} thread(s): {growth:.2f}x.")
    return [*lines, ""]


def compiled_rows(realizations: int, uses: int, repeats: int, threads: list[int]) -> list[str]:
    """Analog ZF (K = 3) eager and with ``MIMO_AMC_COMPILE=1`` (compiled LP-INV applications) / FP32 ZF,
    interleaved in one run; the first compiled call (compilation included) is timed apart."""
    lines = [
        f"### Compiled LP-INV applications (`{compiling.ENV}=1`), analog ZF K = 3 / FP32 ZF, {realizations} "
        f"channels x {uses} uses",
        "",
        "| M x K | torch threads | FP32 ZF (ms) | analog eager (ms) | analog compiled (ms) | ratio eager | "
        "ratio compiled | first compiled call (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    before = torch.get_num_threads()
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for m, k in SIZES:
            y, h, s = detector_inputs(m, k, realizations, uses, "cpu")
            fp32 = DigitalEqualizer("zf", "single")
            analog = AnalogEqualizer("zf", SolverConfig(), iterations=3, device="cpu", seed=0)

            def run(flag: str) -> object:
                os.environ[compiling.ENV] = flag
                return analog.detect(y, h, s)  # noqa: B023 (run here)

            start = time.perf_counter()
            run("1")
            first = time.perf_counter() - start
            t = paired_times(
                {"fp32": lambda: fp32.detect(y, h, s), "eager": lambda: run("0"), "compiled": lambda: run("1")},  # noqa: B023
                repeats,
            )
            os.environ.pop(compiling.ENV)
            lines.append(
                f"| {m} x {k} | {n_threads} | {1e3 * median(t['fp32']):.1f} | {1e3 * median(t['eager']):.1f} | "
                f"{1e3 * median(t['compiled']):.1f} | {median_ratio(t, 'eager', 'fp32'):.2f}x | "
                f"{median_ratio(t, 'compiled', 'fp32'):.2f}x | {first:.0f} |"
            )
    torch.set_num_threads(before)
    return [*lines, ""]


def sionna_rows(realizations: int, uses: int, repeats: int) -> list[str]:
    """Our FP32 ZF against Sionna's equalizer and LinearDetector (128x8)."""
    sionna.phy.config.seed = 0
    _, link = _link(128, 8, uses)
    b = link.sample(realizations, 5.0)
    y32, h32, s32 = b.y.to(torch.complex64), b.h.unsqueeze(1).to(torch.complex64), b.s.to(torch.complex64)
    ours = DigitalEqualizer("zf", "single")
    slicer = NearestPointSlicer(link.constellation)
    sionna_det = LinearDetector("zf", "bit", "maxlog", constellation=link.constellation, hard_out=True,
                                precision="single", device="cpu")  # fmt: skip

    def fp32() -> object:
        return ours.detect(y32, h32, s32)

    # Each comparison is timed on its own, interleaved per repeat: Sionna's LinearDetector
    # allocates ~GBs, and timing it between two others slows their next allocations (page faults).
    t = {
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
    ms = {key: 1e3 * median(v) for key, v in t.items()}
    return [
        f"### FP32 ZF against Sionna, 128x8 256-QAM, {realizations} x {uses} vectors ({torch.get_num_threads()} "
        "threads)",
        "",
        "| comparison | time (ms) | reference (ms) | ratio | target |",
        "|---|---|---|---|---|",
        f"| our FP32 ZF equalizer / Sionna `zf_equalizer` | {ms['fp32_zf_eq']:.1f} | "
        f"{ms['sionna_zf_equalizer']:.1f} | {median_ratio(t, 'fp32_zf_eq', 'sionna_zf_equalizer'):.2f}x | < 1x |",
        f"| our FP32 ZF + slicer / Sionna `LinearDetector('zf')` hard bits | {ms['fp32_zf_hard']:.1f} | "
        f"{ms['sionna_linear_detector']:.1f} | {median_ratio(t, 'fp32_zf_hard', 'sionna_linear_detector'):.2f}x "
        "| < 1x |",
        "",
    ]


def _sionna_link(cfg: LinkConfig, uses: int) -> Callable[[int, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """``mc_fun`` for ``sim_ber``: Sionna blocks only, block fading over ``uses`` channel uses."""
    k, m, nb = cfg.num_users, cfg.num_rx_antennas, cfg.bits_per_symbol
    source, mapper = BinarySource(), Mapper("qam", nb)
    channel, apply, awgn = GenerateFlatFadingChannel(k, m), ApplyFlatFadingChannel(), AWGN()
    detector = LinearDetector("zf", "bit", "maxlog", "qam", nb, hard_out=True)

    def mc_fun(batch_size: int, ebno_db: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        no = noise_variance(cfg, float(ebno_db))
        bits = source([batch_size // uses, uses, k, nb])
        x = mapper(bits).squeeze(-1)  # [B, T, K]
        h = channel(batch_size // uses).unsqueeze(1).expand(-1, uses, -1, -1)
        y = awgn(apply(x, h), no)
        s = no * torch.eye(m, dtype=y.dtype).expand(*y.shape[:-1], m, m)
        return bits.reshape(-1, k * nb), detector(y, h, s).reshape(-1, k * nb)

    return mc_fun


def end_to_end_rows(realizations: int, uses: int, repeats: int) -> list[str]:
    """Simulated bits per second of the harness against Sionna's ``sim_ber`` (128x8 256-QAM, 5 dB)."""
    cfg, _ = _link(128, 8, uses)
    vectors = realizations * uses
    mc = MonteCarloConfig(realizations_per_batch=realizations, target_bit_errors=10**9, max_bits=vectors * 64 * 3)
    fp32 = [make_detector("zf_fp32", device="cpu", seed=1)]
    both = [*fp32, make_detector("analog_zf", iterations=3, device="cpu", seed=1)]
    mc_fun = _sionna_link(cfg, uses)
    bits_sionna = vectors * 64 * 3

    def harness(dets: list) -> float:
        start = time.perf_counter()
        frame = simulate_snr(cfg, dets, mc, 5.0, seed=1)
        return int(frame.bits.max()) / (time.perf_counter() - start)

    def peer() -> float:
        start = time.perf_counter()
        sim_ber(mc_fun, torch.tensor([5.0]), batch_size=vectors, max_mc_iter=3, num_target_bit_errors=10**12,
                early_stop=False, verbose=False)  # fmt: skip
        return bits_sionna / (time.perf_counter() - start)

    rates: dict[str, list[float]] = {"fp32": [], "both": [], "sionna": []}
    peer()  # warm-up
    for _ in range(repeats):
        rates["fp32"].append(harness(fp32))
        rates["both"].append(harness(both))
        rates["sionna"].append(peer())
    ratio = median([a / b for a, b in zip(rates["both"], rates["sionna"], strict=True)])
    mb = {key: median(v) / 1e6 for key, v in rates.items()}
    return [
        f"### End to end, 128x8 256-QAM at 5 dB, batches of {realizations} x {uses} ({torch.get_num_threads()} "
        "threads)",
        "",
        "Simulated bits per second per detector row (link, detection, decisions, error counting).",
        "",
        "| simulation | M bit/s |",
        "|---|---|",
        f"| harness, FP32 ZF | {mb['fp32']:.2f} |",
        f"| harness, FP32 ZF + analog ZF K = 3 (one row each) | {mb['both']:.2f} |",
        f"| Sionna `sim_ber`, Sionna blocks + `LinearDetector('zf')` | {mb['sionna']:.2f} |",
        "",
        f"Harness with the analog detector / Sionna `sim_ber`: **{ratio:.1f}x** (target >= 5x).",
        "",
    ]


def memory_rows(uses: int) -> list[str]:
    """Resident-set growth of one 512x64 batch at the default ``realizations_per_batch`` (run it first in a
    process: the peak resident set only grows)."""
    cfg, _ = _link(512, 64, uses)
    mc = MonteCarloConfig(target_bit_errors=1, max_bits=1)
    dets = [make_detector(n, iterations=3, device="cpu", seed=1) for n in ("zf_fp32", "analog_zf")]
    scenario = Scenario(name="memory", link=cfg, detectors={"names": ["zf_fp32", "analog_zf"], "iterations": 3},
                        monte_carlo=mc)  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    simulate_snr(cfg, dets, mc, 20.0, seed=1)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 2**20  # KiB -> GiB
    guard = batch_bytes(scenario, mc.realizations_per_batch) / 2**30
    return [
        "### Memory",
        "",
        f"One 512x64 256-QAM batch ({mc.realizations_per_batch} realisations x {uses} uses, FP32 ZF + analog ZF "
        f"K = 3), measured first in the process: peak resident set grew by **{grown:.2f} GiB**; the harness's "
        f"pre-run memory estimate for it (what a run is refused against) is {guard:.2f} GiB.",
        "",
    ]


def report(realizations: int, uses: int, repeats: int, threads: list[int], compiled: bool = False) -> str:
    """Markdown sections of the detector benchmarks (with ``compiled``, also :func:`compiled_rows`)."""
    return "\n".join(
        [
            *analog_ratio_rows(realizations, uses, repeats, threads),
            *(compiled_rows(realizations, uses, repeats, threads) if compiled else []),
            *sionna_rows(realizations, uses, repeats),
            *end_to_end_rows(realizations, uses, repeats),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--realizations", type=int, default=100)
    parser.add_argument("--uses", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--compile", action="store_true", help=f"also measure {compiling.ENV}=1")
    args = parser.parse_args(argv)
    tune_allocator()  # as the harness runs (mimo_amc.studies.run_unit)
    print(report(args.realizations, args.uses, args.repeats, args.threads, args.compile))


if __name__ == "__main__":
    main()
