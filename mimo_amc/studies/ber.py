"""The BER study: a Monte Carlo loop per (sweep point, SNR), every detector on the same data.

For one SNR point, batches of channel realisations are drawn until every
``(detector, iteration)`` row has at least ``target_bit_errors`` bit errors or
``max_bits`` bits have been simulated per row. All detectors see the same bits,
channels and noise of each batch; the exact float64 ZF / MMSE estimate of the same batch
serves as the reference for the solver-error columns.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

import pandas as pd
import sionna.phy
import torch

from ..detect import DigitalEqualizer, Equalizer, NearestPointSlicer, make_detectors
from ..link import Uplink
from ..metrics import DetectionTally
from ..scenario import LinkConfig, MonteCarloConfig, Scenario, SweepPoint
from .base import Progress, Unit, UnitResult


def simulate_snr(
    link_cfg: LinkConfig,
    detectors: Sequence[Equalizer],
    mc: MonteCarloConfig,
    snr_db: float,
    *,
    seed: int,
    device: torch.device | str = "cpu",
    progress: Progress | None = None,
) -> pd.DataFrame:
    """BER/SER/EVM and solver metrics of every detector at one SNR point.

    Args:
        link_cfg: Uplink parameters.
        detectors: Equalizers to evaluate on the same data.
        mc: Stopping rule.
        snr_db: SNR in dB (convention ``link_cfg.snr_type``).
        seed: Seed of the link's random streams for this point.
        device: Torch device of the link.
        progress: Called after every batch with ``(bits per row, fewest bit errors of a row)``.

    Returns:
        One row per ``(detector, iteration)`` (see :meth:`DetectionTally.to_frame`) plus the
        ``snr_db``, ``snr_type``, ``no`` and ``wall_time_s`` columns.
    """
    start = time.perf_counter()
    sionna.phy.config.seed = seed
    link = Uplink(link_cfg, device=device)
    slicer = NearestPointSlicer(link.constellation)
    references = {kind: DigitalEqualizer(kind, "double") for kind in ("zf", "mmse")}
    tally = DetectionTally()
    with torch.no_grad():
        while True:
            batch = link.sample(mc.realizations_per_batch, snr_db)
            y, h, s = batch.y, batch.h_est.unsqueeze(1), batch.s
            exact = {}
            for det in detectors:
                kind = det.kind
                if kind not in exact:
                    exact[kind] = references[kind].detect(y, h, s).x_hat[..., 0, :]
                d = det.detect(y, h, s)
                tally.add(det.name, d, slicer.bits(d.x_hat), batch.bits, batch.x, exact[kind])
            if progress is not None:
                progress(tally.bits, tally.min_bit_errors())
            if tally.min_bit_errors() >= mc.target_bit_errors or tally.bits >= mc.max_bits:
                break
    frame = tally.to_frame(mc.confidence)
    frame.insert(0, "snr_db", snr_db)
    frame.insert(1, "snr_type", link_cfg.snr_type)
    frame.insert(2, "no", batch.no)
    frame["wall_time_s"] = time.perf_counter() - start
    return frame


def batch_bytes(scenario: Scenario, realizations: int) -> int:
    """Rough peak memory of one Monte Carlo batch of ``realizations`` channels, bytes.

    An order-of-magnitude guard (it counts the large tensors of one batch: received vectors and their
    temporaries, every detector's iterates with their decisions and errors, the analog solver's iterates
    and residuals), used to refuse inputs that cannot fit before any work. Conservative: measured on a
    512x64 256-QAM batch of 64 x 100 (FP32 ZF + analog ZF K = 3) it gives 1.5 GiB for 0.5 GiB used.
    """
    link = scenario.link
    t, m, k = link.coherence_block, link.num_rx_antennas, link.num_users
    detectors = len(scenario.detectors.names) + len(scenario.detectors.variants)
    its = scenario.detectors.iterations + 1
    per_use = 16 * m * 4 + detectors * its * k * (16 * 3 + 8 * 3 * link.bits_per_symbol) + 8 * its * 2 * k * 6
    channels = 16 * m * k * 4 + 8 * (2 * k) ** 2 * 40  # estimates, Gram matrices, programmed slices
    if link.channel.model in ("umi", "uma"):
        channels += 16 * m * k * link.channel.num_subcarriers * 4 // max(1, realizations)
    return realizations * (t * per_use + channels)


class BERStudy:
    """BER, SER, EVM and solver metrics per (sweep point, SNR, detector, iteration): one unit per SNR."""

    name: ClassVar[str] = "ber"
    table: ClassVar[str] = "results"

    def units(self, point: SweepPoint) -> list[Unit]:
        return [
            Unit(self.name, point, f"snr_{float(snr)!r}", float(snr), point.snr_seed(snr))
            for snr in point.scenario.link.snr_db
        ]

    def check(self, scenario: Scenario) -> None:
        return None

    def memory_bytes(self, scenario: Scenario) -> int:
        return batch_bytes(scenario, scenario.monte_carlo.realizations_per_batch)

    def run(self, scenario: Scenario, unit: Unit, device: torch.device | str, progress: Progress | None) -> UnitResult:
        assert unit.target is not None
        detectors = make_detectors(scenario, unit.seed, device)
        frame = simulate_snr(
            scenario.link, detectors, scenario.monte_carlo, unit.target, seed=unit.seed, device=device,
            progress=progress,
        )  # fmt: skip
        return UnitResult(frame)
