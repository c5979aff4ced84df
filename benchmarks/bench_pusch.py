"""Coded-link (PUSCH) receiver speed, measured in the same run against Sionna's LMMSE detector.

One batch of slots of the LS-CSI point of ``scenarios/nr_pusch_tdl_16x4.yaml`` (TDL-C 16x4, 16-QAM
MCS 14, 4 PRBs, Sionna's LS estimator) at 0.5 dB, its waterfall; on the same slots and channel
estimates:

* the analog MMSE detector (default 3-bit chip, K = 3, every iterate, calibrated soft outputs, one
  chip write per resource element as in the scenario; also with the exact detector's ``no_eff``, to
  show what the calibration's unit-vector solves cost) through
  :class:`~mimo_amc.detect.ofdm.GroupedOFDMDetector`, plus max-log demapping of its last iterate
  (what Sionna's detector outputs), against Sionna's ``LinearDetector("lmmse", "bit", "maxlog")``
  (equalization and max-log demapping);
* the receiver's time per slot split into channel estimation, detection, demapping and decoding, as
  the ``pusch`` study runs it (every iterate demapped and decoded), beside Sionna's receiver
  (estimation, LMMSE detection with demapping, one decoding).

Usage:
    python benchmarks/bench_pusch.py [--repeats 5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sionna.phy
import torch
from timing import median, median_ratio, paired_times

from mimo_amc.amc import SolverConfig, tune_allocator
from mimo_amc.detect import AnalogEqualizer
from mimo_amc.detect.ofdm import GroupedOFDMDetector
from mimo_amc.nr import PUSCHLink
from mimo_amc.scenario import load_scenario, sweep_points

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "nr_pusch_tdl_16x4.yaml"
ITERATIONS = 3
SNR_DB = 0.5


def report(repeats: int) -> str:
    """Markdown section: analog MMSE (K = 3) / Sionna LMMSE detection, and the receiver's time split."""
    point = next(p for p in sweep_points(load_scenario(SCENARIO)) if p.scenario.pusch.csi == "ls")
    cfg = point.scenario.pusch
    sionna.phy.config.seed = 0
    link = PUSCHLink(cfg, precision=cfg.precision)
    slots = link.sample(cfg.slots_per_batch, SNR_DB)
    with torch.no_grad():
        h_hat, err_var = link.estimate(slots)
        sionna_lmmse = link.sionna_detector("lmmse")
        analog, analog_exact = (
            GroupedOFDMDetector(
                AnalogEqualizer("mmse", SolverConfig(), iterations=ITERATIONS, seed=0, soft_output=soft_output),
                link.resource_grid,
                group_symbols=cfg.group_symbols,
                group_subcarriers=cfg.group_subcarriers,
            )
            for soft_output in ("residual", "exact")
        )

        def detect():
            return analog.detect(slots.y, h_hat, err_var, slots.no)

        d = detect()
        llr_sionna = sionna_lmmse(slots.y, h_hat, err_var, slots.no)
        llr = link.llrs(d.x_hat_residual, d.no_eff_residual).movedim(3, 0).flatten(0, 1)  # [I B, K, 1, n bits]
        t = paired_times(
            {
                "estimate": lambda: link.estimate(slots),
                "sionna_lmmse": lambda: sionna_lmmse(slots.y, h_hat, err_var, slots.no),
                "analog_detect": detect,
                "analog_detect_exact": lambda: analog_exact.detect(slots.y, h_hat, err_var, slots.no),
                "analog_detect_demap": lambda: link.llrs(
                    (r := detect()).x_hat_residual[:, :, :, -1], r.no_eff_residual[:, :, :, -1]
                ),
                "demap": lambda: link.llrs(d.x_hat_residual, d.no_eff_residual),
                "decode_sionna": lambda: link.decode(llr_sionna),
                "decode": lambda: link.decode(llr),
            },
            repeats,
        )
    ms = {key: 1e3 * median(v) / cfg.slots_per_batch for key, v in t.items()}  # per slot
    sionna_rx = ms["estimate"] + ms["sionna_lmmse"] + ms["decode_sionna"]
    analog_rx = ms["estimate"] + ms["analog_detect"] + ms["demap"] + ms["decode"]

    def row(stage: str, ours: float, theirs: float | None) -> str:
        ref = "in detection" if theirs is None else f"{theirs:.2f}"
        return f"| {stage} | {ref} | {ours:.2f} | {100 * ours / analog_rx:.0f} % |"

    ch, threads = cfg.channel, torch.get_num_threads()
    return "\n".join(
        [
            f"### PUSCH receiver, analog MMSE (K = {ITERATIONS}) / Sionna LMMSE, {cfg.num_rx_antennas}x"
            f"{cfg.num_users} TDL-{ch.profile} {ch.delay_spread_ns:g} ns, MCS {cfg.mcs_index}, {cfg.num_prbs} PRBs, "
            f"LS CSI, {SNR_DB:g} dB, {cfg.slots_per_batch} slots ({threads} torch thread{'s' * (threads > 1)})",
            "",
            f"Same slots and LS estimates; the analog detector writes one Gram matrix per resource element "
            f"({analog.writes} per slot) and returns every iterate with its calibrated effective noise (the chip "
            f"also solves the {cfg.num_users} unit vectors per write for its diag(A^-1)).",
            "",
            "| detection | time per slot (ms) | Sionna `LinearDetector('lmmse')` (ms) | ratio | target |",
            "|---|---|---|---|---|",
            f"| analog MMSE, all {ITERATIONS} iterates + max-log LLRs of the last | {ms['analog_detect_demap']:.2f} | "
            f"{ms['sionna_lmmse']:.2f} | {median_ratio(t, 'analog_detect_demap', 'sionna_lmmse'):.2f}x | <= 2x |",
            f"| analog MMSE, all {ITERATIONS} iterates (no LLRs) | {ms['analog_detect']:.2f} | "
            f"{ms['sionna_lmmse']:.2f} | {median_ratio(t, 'analog_detect', 'sionna_lmmse'):.2f}x | |",
            f"| the same with the exact detector's no_eff (digital inverse; no unit-vector solves) | "
            f"{ms['analog_detect_exact']:.2f} | {ms['sionna_lmmse']:.2f} | "
            f"{median_ratio(t, 'analog_detect_exact', 'sionna_lmmse'):.2f}x | |",
            "",
            f"Receiver time per slot by stage (the `pusch` study decodes every one of the {ITERATIONS} iterates; "
            "Sionna's receiver decodes its one output):",
            "",
            "| stage | Sionna LMMSE receiver (ms) | analog MMSE receiver (ms) | share |",
            "|---|---|---|---|",
            row("channel estimation (LS, linear interpolation)", ms["estimate"], ms["estimate"]),
            row(f"detection ({ITERATIONS} iterates, calibrated no_eff)", ms["analog_detect"], ms["sionna_lmmse"]),
            row(f"max-log demapping ({ITERATIONS} iterates)", ms["demap"], None),
            row(f"LDPC decoding with descrambling and CRC ({ITERATIONS} iterates)", ms["decode"], ms["decode_sionna"]),
            f"| total | {sionna_rx:.2f} | {analog_rx:.2f} | 100 % |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    tune_allocator()  # as the harness runs (mimo_amc.studies.run_unit)
    print(report(args.repeats))


if __name__ == "__main__":
    main()
