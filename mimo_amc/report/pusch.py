"""The coded-link (PUSCH) study's section: BLER, goodput and calibration tables, BLER-vs-SNR figures.

From ``pusch.parquet`` it writes

* ``tables/pusch_bler.{md,tex,csv}``: BLER per sweep point and SNR, one column per detector and
  reported iteration;
* ``tables/pusch_detail.{md,tex,csv}``: every row with its BLER interval, coded/uncoded BER, goodput,
  chip writes per slot, non-converged fraction, calibration ratio and receiver times;
* ``tables/pusch_parity.{md,tex,csv}``: per SNR, the first iteration from which each iterative
  detector's BLER stays within the reference's 95 % interval (or +-10 %), or "none within K";
* ``figures/pusch_bler_point<i>``: BLER vs SNR, Sionna's detectors plus one curve per iteration.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pandas as pd

from ..metrics import bler_parity_iterations
from ..scenario import ITERATION_NOTE, PUSCHStudyConfig, Scenario
from .common import (
    ReportContext,
    Section,
    by_point,
    new_figure,
    point_label,
    rate_errorbar,
    save_figure,
    write_table,
)

DETAIL_COLUMNS = [
    "point", "snr_db", "detector", "iteration", "slots", "tb_errors", "bler", "bler_ci_low", "bler_ci_high",
    "coded_ber", "uncoded_ber", "goodput_bits_per_slot", "goodput_mbps", "writes_per_slot", "lpinv_per_slot",
    "hpmvm_per_slot", "nonconverged_fraction", "calibration_median", "calibration_min", "calibration_max",
    "calibration_converged_median", "calibration_converged_min", "calibration_converged_max",
    "time_detect_s", "time_demap_s", "time_decode_s", "time_estimate_s",
]  # fmt: skip


def _column(r: pd.Series) -> str:
    return r.detector if r.iteration == 0 else f"{r.detector} {r.iteration}"


def bler_table(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Wide BLER table: rows (point, SNR), columns detector or ``detector k`` per iteration."""
    rows = []
    for _, f in by_point(frame):
        for snr, g in f.groupby("snr_db", sort=True):
            row = {"point": point_label(f, scenario), "snr_db": snr}
            row |= {_column(r): r.bler for _, r in g.iterrows()}
            rows.append(row)
    return pd.DataFrame(rows)


def detail_table(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Every row of the study with its metrics (:data:`DETAIL_COLUMNS` that exist)."""
    out = [f.assign(point=point_label(f, scenario)) for _, f in by_point(frame)]
    table = pd.concat(out, ignore_index=True).sort_values(["point", "snr_db", "detector", "iteration"], kind="stable")
    return table[[c for c in DETAIL_COLUMNS if c in table]]


def parity_table(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """First BLER-parity iteration per point, SNR and iterative detector against the Sionna reference."""
    assert scenario.pusch is not None
    reference = f"sionna_{scenario.pusch.reference}_ofdm"
    out = []
    for _, f in by_point(frame):
        for det in sorted(set(f.detector[f.iteration > 0])):
            p = bler_parity_iterations(f, det, reference)
            last = int(f[f.detector == det].iteration.max())
            p["parity_iteration"] = [
                f"none within {last}" if v is None or pd.isna(v) else int(v) for v in p.parity_iteration
            ]
            p.insert(0, "reference", reference)
            p.insert(0, "detector", det)
            p.insert(0, "point", point_label(f, scenario))
            out.append(p)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def plot_bler(f: pd.DataFrame, scenario: Scenario, cfg: PUSCHStudyConfig, path: Path, formats: list[str]) -> None:
    """BLER vs SNR of one sweep point (rows ``f``, its resolved ``pusch`` section ``cfg``, named in the title):
    Sionna's and one-shot detectors, then one curve per iteration."""
    fig, axes = new_figure()
    ax = axes[0, 0]
    for d, (det, g) in enumerate(f[f.iteration == 0].groupby("detector", sort=False)):
        rate_errorbar(
            ax, g, "bler", det, "k" if d == 0 else f"{0.2 + 0.15 * d:.2f}", ["-", "--", "-.", ":"][d % 4], "os^v"[d % 4]
        )
    for d, (det, g) in enumerate(f[f.iteration > 0].groupby("detector", sort=False)):
        its = sorted(set(g.iteration))
        cmap = matplotlib.colormaps["viridis" if g.family.iloc[0] == "analog" else "plasma"]
        for j, it in enumerate(its):
            color = cmap(0.1 + 0.8 * j / max(1, len(its) - 1))
            rate_errorbar(
                ax, g[g.iteration == it], "bler", f"{det}, iteration {it}", color, ["-", "--", "-.", ":"][d % 4], "."
            )
    ax.set_yscale("log")
    ax.set_xlabel("Es/N0 per receive antenna (dB)")
    ax.set_ylabel("transport block error rate")
    ch = cfg.channel
    channel = f"{ch.model.upper()}-{ch.profile}" if ch.model in ("tdl", "cdl") else ch.model.upper()
    ax.set_title(f"PUSCH {cfg.num_rx_antennas}x{cfg.num_users}, MCS {cfg.mcs_index} (table {cfg.mcs_table}), "
                 f"{channel}, {cfg.csi} CSI — {point_label(f, scenario)}", fontsize=8)  # fmt: skip
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    save_figure(fig, path, formats)


def section(ctx: ReportContext) -> Section | None:
    """BLER, detail and parity tables; one BLER figure per sweep point."""
    frame = ctx.store.table("pusch")
    if frame.empty:
        return None
    scenario, directory = ctx.scenario, ctx.directory
    bler_note = f"Transport-block error rate per SNR (Es/N0 per receive antenna); {ITERATION_NOTE}."
    blocks = [
        ("PUSCH BLER", write_table(bler_table(frame, scenario), directory / "tables" / "pusch_bler", bler_note)),
        ("PUSCH details", write_table(detail_table(frame, scenario), directory / "tables" / "pusch_detail",
                                      "BLER with its 95 % Clopper-Pearson interval (slots are clusters), coded BER "
                                      "(decoded information bits), uncoded BER (hard decisions of the LLRs), goodput "
                                      "(information bits of correct TBs), Gram matrices written per slot, analog "
                                      "LP-INV applications and HP-MVM products per slot (calibrated rows: the "
                                      "calibration's included), fraction of "
                                      "written matrices that do not contract, E|x_hat - x|^2 / E no_eff per stream "
                                      "(median, min, max over the streams) over every RE and over the REs of "
                                      "contracting matrices (calibration_converged), receiver time per slot by "
                                      "stage.")),
    ]  # fmt: skip
    parity = parity_table(frame, scenario)
    if len(parity):
        note = ("First iteration from which the BLER stays within the reference's 95 % interval (or +-10 %); "
                f"{ITERATION_NOTE}.")  # fmt: skip
        blocks.append(("PUSCH parity", write_table(parity, directory / "tables" / "pusch_parity", note)))
    figures = []
    for i, f in by_point(frame):
        cfg = ctx.points[i].scenario.pusch
        assert cfg is not None
        plot_bler(f, scenario, cfg, directory / "figures" / f"pusch_bler_point{i}", ctx.formats)
        figures.append(f"figures/pusch_bler_point{i}.png")
    return Section(blocks, figures)
