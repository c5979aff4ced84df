"""Figures quoted from the literature (digital MIMO-detector ASICs, the paper's GPU claim).

Literature, never measured here: kept apart from every measurement, and every table made from them
says so (``kind = "quoted"``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd


@dataclass(frozen=True)
class QuotedFigure:
    """A figure quoted from the literature, never measured here.

    Attributes:
        design: Who and where.
        config: System configuration (antennas x users, modulation, algorithm).
        technology: Process or platform.
        throughput_bps: Quoted throughput in bit/s (None if not given).
        energy_per_bit_j: Quoted energy per bit in J (None if not given).
        source: Where the figure is quoted from (peers-notes section 3 URL or paper).
        note: Caveats, verification status.
    """

    design: str
    config: str
    technology: str
    throughput_bps: float | None
    energy_per_bit_j: float | None
    source: str
    note: str


QUOTED_FIGURES: tuple[QuotedFigure, ...] = (
    QuotedFigure(
        "Peng et al., TCAS-I 2018",
        "128x8, 64-QAM MMSE, weighted Jacobi",
        "65 nm ASIC",
        1.02e9,
        633e-12,
        "https://fdocuments.in/document/a-158-gbpsw-040-gbpsmm-implementation-of-mmse-ieee-transactions-on-circuits.html",
        "646 mW at 680 MHz (1.58 Gb/s/W)",
    ),
    QuotedFigure(
        "Tang, Chen, Zhang, VLSI 2016 / JSSC 2021",
        "128x32, 256-QAM message passing",
        "40 nm ASIC",
        2.76e9,
        79.8e-12,
        "https://bohrium.dp.tech/paper/arxiv/30d69b09b720ac0e254275c4dd18d582e0a4f6563aefc85f8b79d12eb4e5583a",
        "221 mW; average 4.9 iterations at 27 dB with early termination",
    ),
    QuotedFigure(
        "Jeon, Castaneda, Studer, SSC-L 2019 (LAMA)",
        "32x32, 256-QAM SISO",
        "28 nm ASIC",
        354e6,
        427e-12,
        "https://vdocument.in/a-354mbs-037mm2-151mw-32-user-256-qam-near-map-soft-studerpapers19sscllamapdf.html",
        "151 mW",
    ),
    QuotedFigure(
        "Castaneda et al. 2021",
        "32-antenna mmWave equalizer, resolution-adaptive",
        "65 nm ASIC",
        9.98e9,
        39.7e-12,
        "https://ar5iv.labs.arxiv.org/html/2107.11089",
        "",
    ),
    QuotedFigure(
        "Mirfarshbafan & Studer 2024 (SPADE)",
        "mmWave beamspace LMMSE",
        "22FDX ASIC",
        46e9,
        12e-12,
        "https://www.sciencestack.ai/paper/2407.06755",
        "58.8 Gb/s with body bias",
    ),
    QuotedFigure(
        "Prabhu et al., ISSCC 2017",
        "128x8 precoder-detector",
        "28 nm FD-SOI ASIC",
        300e6,
        60e-12,
        "peers-notes section 3",
        "unverified in the corpus",
    ),
    QuotedFigure(
        "Tang et al., ISSCC 2018",
        "128x16 link-adaptive detector",
        "28 nm FD-SOI ASIC",
        1.8e9,
        70e-12,
        "peers-notes section 3",
        "approximate; unverified in the corpus",
    ),
    QuotedFigure(
        "Zuo et al. 2025 vs H100 GPU (claim)",
        "16x4, 128x8 ZF, 256-QAM; N = 128 systems",
        "40 nm RRAM vs H100",
        None,
        None,
        "paper-brief.md (Published numbers 4)",
        "claimed: beats one GPU core at N = 32; >1000x throughput and >100x energy efficiency at N = 128 "
        "with faster op-amps; ~10x / 3-5x with measured op-amp speed. No absolute GPU figure is public.",
    ),
)
"""MIMO-detector ASICs and the paper's GPU claim, as quoted in ``shared/peers-notes.md``
section 3 and ``shared/paper-brief.md``: literature, not measurements."""


def quoted_figures_table() -> pd.DataFrame:
    """:data:`QUOTED_FIGURES` as a DataFrame, every row marked ``kind = "quoted"`` (not measured)."""
    return pd.DataFrame([{"kind": "quoted", **asdict(f)} for f in QUOTED_FIGURES])
