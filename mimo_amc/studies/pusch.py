"""The coded-link study: 5G NR PUSCH with LDPC, TB error rate per detector and iteration.

The optional ``pusch`` section (:class:`~mimo_amc.scenario.PUSCHStudyConfig`) runs one unit per SNR
point. Batches of slots are drawn from :class:`~mimo_amc.nr.PUSCHLink` (Sionna's transmitter, 3GPP
channel and AWGN) until every ``(detector, iteration)`` row has ``target_block_errors`` TB errors or
``max_slots`` slots were sent. Per batch the channel is estimated once (perfect or LS) and every
detector sees the same received slots and estimates:

* Sionna's OFDM detectors (``sionna_detectors``: LMMSE, ZF, K-best, EP) produce LLRs directly;
* the scenario's detectors (``detectors`` section: digital, iterative, analog and its variants) run
  through :class:`~mimo_amc.detect.ofdm.GroupedOFDMDetector`: **each slot is detected once** (one
  chip write per coherence group), and every reported iterate is demapped (max-log), layer-demapped,
  descrambled and LDPC-decoded, so the BLER of every iteration count comes from the same channels,
  noise and chip writes.

Rows (:class:`~mimo_amc.metrics.BlockTally`) carry BLER with a Clopper-Pearson interval (slots are
the clusters), coded and uncoded BER, goodput, chip writes per slot, the non-converged fraction of
the written matrices, the soft-output calibration ratio and the time per slot of each receiver stage.
"""

from __future__ import annotations

import time
from typing import ClassVar

import pandas as pd
import sionna.phy
import torch

from ..detect import make_detectors
from ..detect.ofdm import GroupedOFDMDetector
from ..metrics import BlockTally
from ..nr import PUSCHLink
from ..scenario import Scenario, SweepPoint, derive_seed
from .base import Progress, Unit, UnitResult


def simulate_snr(
    scenario: Scenario,
    snr_db: float,
    *,
    seed: int,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Every row of one SNR point (module docstring); columns of :meth:`BlockTally.to_frame` plus ``family``,
    ``kind``, ``outer``, ``snr_db``, ``no``, ``time_estimate_s`` (per slot) and ``wall_time_s``."""
    cfg = scenario.pusch
    assert cfg is not None
    start = time.perf_counter()
    sionna.phy.config.seed = seed
    link = PUSCHLink(cfg, precision=cfg.precision, device=str(device))
    soft_output = "residual" if "residual" in cfg.soft_outputs else "exact"
    sionna_detectors = {f"sionna_{name}_ofdm": link.sionna_detector(name) for name in cfg.sionna_detectors}
    grouped = {
        eq.name: GroupedOFDMDetector(
            eq, link.resource_grid, group_symbols=cfg.group_symbols, group_subcarriers=cfg.group_subcarriers
        )
        for eq in make_detectors(
            scenario, derive_seed(seed, "detectors"), device, soft_output, link.num_bits_per_symbol
        )
    }
    tally, estimate_time = BlockTally(), 0.0
    with torch.no_grad():
        while True:
            slots = link.sample(cfg.slots_per_batch, snr_db)
            t0 = time.perf_counter()
            h_hat, err_var = link.estimate(slots)
            estimate_time += time.perf_counter() - t0
            for name, detector in sionna_detectors.items():
                t0 = time.perf_counter()
                llr = detector(slots.y, h_hat, err_var, slots.no)
                t1 = time.perf_counter()
                decoded, ok = link.decode(llr)
                tally.add_time(name, 0, "detect", t1 - t0)
                tally.add_time(name, 0, "decode", time.perf_counter() - t1)
                tally.add(name, 0, slots.bits, decoded, ok, slots.coded_bits, link.layer_demapper(llr))
            for name, detector in grouped.items():
                _detect_and_decode(link, name, detector, slots, h_hat, err_var, cfg.soft_outputs, tally)
            if progress is not None:
                progress(tally.slots, tally.min_tb_errors())
            if tally.min_tb_errors() >= cfg.target_block_errors or tally.slots >= cfg.max_slots:
                break
    frame = tally.to_frame(cfg.confidence, link.slot_duration_s)
    infos = {name: scenario.detector(name) for name in grouped}
    infos |= {f"{name}_calibrated": info for name, info in infos.items()}
    frame.insert(1, "family", [infos[d].family if d in infos else "sionna_ofdm" for d in frame.detector])
    sionna_kinds = {"lmmse": "mmse", "zf": "zf", "kbest": "nonlinear", "ep": "nonlinear"}
    frame.insert(2, "kind", [infos[d].kind if d in infos else sionna_kinds[d.split("_")[1]] for d in frame.detector])
    frame.insert(3, "outer", [scenario.outer(infos[d].name) if d in infos else None for d in frame.detector])
    frame.insert(4, "soft_output", ["residual" if d.endswith("_calibrated") else "exact" for d in frame.detector])
    frame.insert(0, "snr_db", snr_db)
    frame.insert(1, "no", float(slots.no))
    frame["time_estimate_s"] = estimate_time / max(tally.slots, 1)
    frame["wall_time_s"] = time.perf_counter() - start
    return frame


def _detect_and_decode(link, name, detector, slots, h_hat, err_var, soft_outputs, tally: BlockTally) -> None:
    """Detect the batch once with ``detector`` and decode every reported iterate, with every soft output
    (``exact`` rows under ``name``, ``residual`` rows under ``<name>_calibrated``), into ``tally``."""
    t0 = time.perf_counter()
    d = detector.detect(slots.y, h_hat, err_var, slots.no)  # x_hat [B, K, 1, I, n]
    detect_time = time.perf_counter() - t0
    x = detector.data_symbols(slots.x.to(torch.complex128))  # [B, K, 1, n]
    iterations, batch = d.iterations, slots.y.shape[0]
    converged = None if d.converged is None else detector.per_data_re(d.converged)[:, :, 0]  # [B, K, n]
    variants = {name: (d.x_hat, d.no_eff)}
    if d.no_eff_residual is not None and "residual" in soft_outputs:
        variants = {name: (d.x_hat, d.no_eff)} if "exact" in soft_outputs else {}
        variants[f"{name}_calibrated"] = (d.x_hat_residual, d.no_eff_residual)
    for label, (x_hat, no_eff) in variants.items():
        t1 = time.perf_counter()
        llr = link.llrs(x_hat, no_eff).movedim(3, 0)  # [I, B, K, 1, n bits]
        t2 = time.perf_counter()
        decoded, ok = link.decode(llr.flatten(0, 1))
        t3 = time.perf_counter()
        decoded = decoded.reshape(len(iterations), batch, *decoded.shape[1:])
        ok = ok.reshape(len(iterations), batch, *ok.shape[1:])
        for i, it in enumerate(iterations):
            tally.add(label, it, slots.bits, decoded[i], ok[i], slots.coded_bits, link.layer_demapper(llr[i]))
            tally.add_estimates(label, it, x_hat[:, :, 0, i], x[:, :, 0], no_eff[:, :, 0, i], converged)
            tally.add_chip(label, it, d.writes, d.converged, detector.operations(it, label != name))
            # One detection serves every iterate: each row carries its whole time.
            tally.add_time(label, it, "detect", detect_time)
            tally.add_time(label, it, "demap", (t2 - t1) / len(iterations))
            tally.add_time(label, it, "decode", (t3 - t2) / len(iterations))


class PUSCHStudy:
    """The ``pusch`` section: one unit per SNR point (every detector and iteration)."""

    name: ClassVar[str] = "pusch"
    table: ClassVar[str] = "pusch"

    def units(self, point: SweepPoint) -> list[Unit]:
        cfg = point.scenario.pusch
        assert cfg is not None
        key = point.section_key("pusch")
        return [
            Unit(self.name, point, f"pusch_{key}_snr_{float(snr)!r}", float(snr), derive_seed(point.seed, key, snr))
            for snr in cfg.snr_db
        ]

    def check(self, scenario: Scenario) -> None:
        return None

    def memory_bytes(self, scenario: Scenario) -> int:
        cfg = scenario.pusch
        assert cfg is not None
        res = 14 * 12 * cfg.num_prbs
        m, k, its = cfg.num_rx_antennas, cfg.num_users, scenario.detectors.iterations + 1
        # channel and estimates (complex128, a few copies), every iterate with its noise, LLRs, Gram systems
        per_slot = res * (16 * m * k * 6 + 16 * m * 4 + its * k * (16 * 3 + 8 * 8 * 4) + 8 * (2 * k) ** 2 * 40)
        return cfg.slots_per_batch * per_slot

    def run(self, scenario: Scenario, unit: Unit, device: torch.device | str, progress: Progress | None) -> UnitResult:
        assert unit.target is not None
        return UnitResult(simulate_snr(scenario, unit.target, seed=unit.seed, device=device, progress=progress))
