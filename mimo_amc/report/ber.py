"""The BER study's section: tables (Markdown, LaTeX booktabs, CSV) and figures (PNG, PDF).

From ``results.parquet`` it writes

* ``tables/ber.{md,tex,csv}``: BER per sweep point and SNR, one column per detector and
  reported iteration (iteration 1 = LP-INV alone);
* ``tables/parity.{md,tex,csv}``: per SNR, the first iteration at which each iterative
  detector's BER is indistinguishable from the reference (its 95 % interval or +-10 %),
  next to the fraction of channel matrices that do not converge or converge slowly;
* ``tables/adaptive.{md,tex,csv}`` (adaptive detectors only): BER and parity, iterations used
  (mean, p99, max), outage and fallback, beside the fixed-K parity iteration;
* ``figures/ber_point<i>``: BER vs SNR, one curve per iteration plus the FP32/FP64
  references, with confidence intervals; ``figures/solver_error_point<i>``: relative error
  of the solve against the exact float64 solution vs iteration; ``figures/nonconverged``:
  non-converged fraction against the first swept parameter (sweeps only);
  ``figures/parity_map``: iterations to parity over a two-parameter sweep, one panel per
  detector and SNR (sweeps of exactly two parameters only);
"""

from __future__ import annotations

import numbers
from pathlib import Path

import matplotlib
import pandas as pd

from ..metrics import parity_band, parity_iterations
from ..metrics.tally import ADAPTIVE_COLUMNS
from ..scenario import ITERATION_NOTE, LinkConfig, Scenario, parity_reference
from .common import (
    SNR_LABELS,
    ReportContext,
    Section,
    by_point,
    new_figure,
    point_label,
    rate_errorbar,
    save_figure,
    sweep_keys,
    write_table,
)


def ber_table(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Wide BER table: rows (point, SNR), columns detector or ``detector k`` per iteration."""
    rows = []
    for _, f in by_point(frame):
        label = point_label(f, scenario)
        for snr, g in f.groupby("snr_db", sort=True):
            row = {"point": label, "snr_db": snr}
            for _, r in g.iterrows():
                col = r.detector if r.iteration == 0 else f"{r.detector} {r.iteration}"
                row[col] = r.ber
            rows.append(row)
    return pd.DataFrame(rows)


def parity_table(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """First parity iteration per point, SNR and iterative detector (see :func:`parity_iterations`)."""
    out = []
    for _, f in by_point(frame):
        available = set(f.detector)
        for det in sorted(set(f.detector[f.iteration > 0])):
            reference = parity_reference(scenario.detector(det), scenario.detectors.reference, available)
            if reference is None:
                continue
            p = parity_iterations(f, det, reference)
            p.insert(0, "reference", reference)
            p.insert(0, "detector", det)
            p.insert(0, "point", point_label(f, scenario))
            last = int(f[f.detector == det].iteration.max())
            p["parity_iteration"] = [
                f"none within {last}" if v is None or pd.isna(v) else int(v) for v in p.parity_iteration
            ]
            out.append(p)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def adaptive_table(frame: pd.DataFrame, scenario: Scenario, parity: pd.DataFrame) -> pd.DataFrame:
    """Per point, SNR and adaptive detector (a stopping rule): its BER, whether it lies in the reference's
    parity band, the iterations it used (mean, p99, max), the outage, the fallback and its re-solve iterations,
    beside ``fixed_parity_iteration``, the parity iteration of the fixed-K ``analog_<kind>`` detector of the
    same point and outer scheme (None when the scenario has none)."""
    out = []
    for _, f in by_point(frame):
        label = point_label(f, scenario)
        available = set(f.detector)
        for det in sorted(set(f.detector[f.iterations_mean.notna()])):
            mine = f[f.detector == det]
            reference = parity_reference(scenario.detector(det), scenario.detectors.reference, available)
            band = parity_band(f, reference).set_index("snr_db") if reference else None
            fixed = f"analog_{mine.kind.iloc[0]}"
            same = (f.detector == fixed) & (f.outer == mine.outer.iloc[0])
            fixed_parity = parity[(parity.point == label) & (parity.detector == fixed)].set_index("snr_db")
            for r in mine.itertuples():
                row = {"point": label, "detector": det, "reference": reference, "snr_db": r.snr_db, "ber": r.ber}
                row["in_band"] = (
                    None if band is None else bool(band.band_low[r.snr_db] <= r.ber <= band.band_high[r.snr_db])
                )
                row |= {c: getattr(r, c) for c in ADAPTIVE_COLUMNS}
                known = same.any() and r.snr_db in fixed_parity.index
                row["fixed_parity_iteration"] = fixed_parity.parity_iteration[r.snr_db] if known else None
                out.append(row)
    return pd.DataFrame(out)


def plot_ber(f: pd.DataFrame, scenario: Scenario, link: LinkConfig, path: Path, formats: list[str]) -> None:
    """BER vs SNR of one sweep point (``link``: the point's own link): references, then one curve per iteration."""
    fig, axes = new_figure()
    ax = axes[0, 0]
    one_shot = f[f.iteration == 0]
    styles = {"zf_fp32": ("k", "-", "o"), "zf_fp64": ("0.45", "--", "s"), "mmse_fp32": ("k", "-.", "o")}
    for det, g in one_shot.groupby("detector", sort=False):
        color, ls, marker = styles.get(det, ("0.3", ":", "^"))
        rate_errorbar(
            ax, g, "ber", f"{det} (reference)" if det == scenario.detectors.reference else det, color, ls, marker
        )
    iterative = f[f.iteration > 0]
    # Colour: iteration (viridis for analog, plasma for digital iterative); line style: detector.
    for d, (det, g) in enumerate(iterative.groupby("detector", sort=False)):
        its = sorted(set(g.iteration))
        analog = scenario.detector(det).family == "analog"
        cmap = matplotlib.colormaps["viridis" if analog else "plasma"]
        ls = ["-", "--", "-.", ":"][d % 4]
        for j, it in enumerate(its):
            color = cmap(0.1 + 0.8 * j / max(1, len(its) - 1))
            lpinv_alone = it == 1 and analog and scenario.outer(det) == "richardson"
            label = f"{det}, iteration {it}" + (" (LP-INV alone)" if lpinv_alone else "")
            rate_errorbar(ax, g[g.iteration == it], "ber", label, color, ls, ".")
    ax.set_yscale("log")
    ax.set_xlabel(SNR_LABELS[link.snr_type])
    ax.set_ylabel("bit error rate")
    ax.set_title(f"{link.num_rx_antennas}x{link.num_users} {link.modulation}, "
                 f"{link.channel.model} — {point_label(f, scenario)}", fontsize=9)  # fmt: skip
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path, formats)


def plot_solver_error(f: pd.DataFrame, scenario: Scenario, path: Path, formats: list[str]) -> bool:
    """Geometric-mean relative solver error vs iteration, one curve per detector and SNR."""
    g = f[(f.iteration > 0) & f.solver_error_geomean.notna()]
    if g.empty:
        return False
    fig, axes = new_figure()
    ax = axes[0, 0]
    for (det, snr), h in g.groupby(["detector", "snr_db"], sort=True):
        h = h.sort_values("iteration")
        ax.plot(h.iteration, h.solver_error_geomean, marker="o", ms=3, label=f"{det}, {snr:g} dB")
    ax.set_yscale("log")
    ax.set_xlabel("iteration (1 = LP-INV alone for analog Richardson; first step otherwise)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("relative error vs exact float64 solution")
    ax.set_title(point_label(f, scenario), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path, formats)
    return True


def plot_nonconverged(frame: pd.DataFrame, scenario: Scenario, path: Path, formats: list[str]) -> bool:
    """Non-converged (rho >= 1) and slow (rho > 0.5) fractions against the first swept key."""
    keys = sweep_keys(frame, scenario)
    g = frame[frame.nonconverged_fraction.notna()] if "nonconverged_fraction" in frame else frame.iloc[:0]
    if not keys or g.empty or not pd.api.types.is_numeric_dtype(g[keys[0]]):
        return False
    x, others = keys[0], keys[1:]
    fig, axes = new_figure()
    ax = axes[0, 0]
    per_point = g.groupby(["point", "detector"], as_index=False).first()
    for key, h in per_point.groupby(["detector", *others], sort=True):
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join([str(key[0]), *(f"{k}={v}" for k, v in zip(others, key[1:], strict=True))])
        h = h.sort_values(x)
        ax.plot(h[x], h.nonconverged_fraction, marker="o", label=f"{label}: rho >= 1")
        ax.plot(h[x], h.slow_fraction, marker="s", ls="--", label=f"{label}: rho > 0.5")
    ax.set_xlabel(x)
    ax.set_ylabel("fraction of channel matrices")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, path, formats)
    return True


def plot_parity_vs_sweep(
    parity: pd.DataFrame, frame: pd.DataFrame, scenario: Scenario, path: Path, formats: list[str]
) -> bool:
    """Iterations needed for parity with the reference against the first swept parameter.

    One line per detector, SNR and value of the other swept parameters; "never within K" is drawn
    at K + 1, above the dotted line.
    """
    keys = sweep_keys(frame, scenario)
    if not keys or parity.empty or frame.groupby("point").ngroups < 2:
        return False
    x, others = keys[0], keys[1:]
    points = {point_label(g, scenario): g.iloc[0] for _, g in frame.groupby("point")}
    top = int(frame.iteration.max()) + 1
    table = parity.assign(
        x=[points[p][x] if isinstance(points[p][x], numbers.Number) else str(points[p][x]) for p in parity.point],
        rest=[", ".join(f"{k.rsplit('.', 1)[-1]}={points[p][k]}" for k in others) for p in parity.point],
        y=[top if isinstance(v, str) else v for v in parity.parity_iteration],
    )
    fig, axes = new_figure()
    ax = axes[0, 0]
    for (det, snr, rest), g in table.groupby(["detector", "snr_db", "rest"], sort=True):
        ax.plot(g.x, g.y, marker="o", label=", ".join(v for v in (det, f"{snr:g} dB", rest) if v))
    ax.axhline(top, color="0.6", ls=":", lw=1)
    ax.text(0.01, top, f" never within {top - 1}", va="bottom", fontsize=7, transform=ax.get_yaxis_transform())
    ax.set_xlabel(x)
    ax.set_ylabel("iterations to BER parity with the reference")
    ax.set_ylim(0, top + 0.8)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path, formats)
    return True


def plot_parity_map(
    parity: pd.DataFrame, frame: pd.DataFrame, scenario: Scenario, path: Path, formats: list[str]
) -> bool:
    """Iterations to parity over a sweep of exactly two parameters: one panel per detector and SNR, the
    first parameter across, the second up, each cell labelled with its iteration ("never" in red)."""
    keys = sweep_keys(frame, scenario)
    if len(keys) != 2 or parity.empty:
        return False
    x_key, y_key = keys
    points = {point_label(g, scenario): g.iloc[0] for _, g in frame.groupby("point")}
    xs = list(dict.fromkeys(frame.sort_values("point")[x_key]))
    ys = list(dict.fromkeys(frame.sort_values("point")[y_key]))
    top = int(frame.iteration.max()) + 1
    panels = list(parity.groupby(["detector", "snr_db"], sort=True))
    fig, axes = new_figure(1, len(panels), figsize=(3.4 * len(panels) + 0.8, 3.6))
    cmap = matplotlib.colormaps["viridis"].with_extremes(over="tab:red")
    image = None
    for ax, ((det, snr), g) in zip(axes[0], panels, strict=True):
        grid = pd.DataFrame(float("nan"), index=ys, columns=xs)
        for row in g.itertuples():
            point = points[row.point]
            never = isinstance(row.parity_iteration, str)
            value = top if never else row.parity_iteration
            grid.loc[point[y_key], point[x_key]] = value
            ax.text(
                xs.index(point[x_key]),
                ys.index(point[y_key]),
                "never" if never else str(value),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if value < top / 2 else "black",
            )
        image = ax.imshow(grid.to_numpy(), origin="lower", cmap=cmap, vmin=0, vmax=top - 1, aspect="auto")
        ax.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, numbers.Number) else str(v) for v in xs])
        ax.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, numbers.Number) else str(v) for v in ys])
        ax.set_xlabel(x_key)
        ax.set_ylabel(y_key)
        ax.set_title(f"{det} vs {g.reference.iloc[0]}, {snr:g} dB", fontsize=9)
    fig.colorbar(
        image, ax=axes[0].tolist(), extend="max", label=f"iterations to BER parity (red: never within {top - 1})"
    )
    save_figure(fig, path, formats)
    return True


def section(ctx: ReportContext) -> Section | None:
    """BER and parity tables, BER / solver-error / non-converged / parity-vs-sweep / parity-map figures."""
    frame = ctx.store.table("results")
    if frame.empty:
        return None
    scenario, directory, formats = ctx.scenario, ctx.directory, ctx.formats
    blocks, figures = [], []
    note = f"BER per SNR ({SNR_LABELS[scenario.link.snr_type]}); {ITERATION_NOTE}."
    blocks.append(("BER", write_table(ber_table(frame, scenario), directory / "tables" / "ber", note)))
    parity = parity_table(frame, scenario)
    if len(parity):
        parity_note = (
            "First iteration from which the BER stays within the 95 % interval (or +-10 %) of the reference "
            "detector (interval on the effective number of bits: channel realisations are clusters, see "
            f"ber_design_effect in results); {ITERATION_NOTE}. nonconverged_fraction: channel matrices with "
            "contraction >= 1 (or singular); slow_fraction: contraction > 0.5."
        )
        blocks.append(("Parity with the reference", write_table(parity, directory / "tables" / "parity", parity_note)))
        adaptive = adaptive_table(frame, scenario, parity)
        if len(adaptive):
            adaptive_note = (
                "Adaptive detectors (a stopping rule on the measured residual): BER, whether it lies in the "
                "reference's parity band (its 95 % interval or +-10 %), analog iterations per solve (mean, 99th "
                "percentile, max), the outage (solves handed to the fallback, and channel matrices with such a "
                "solve), the fallback and the mean analog "
                "iterations of its re-solve per fallen-back solve (0 for a digital solve), beside the parity "
                "iteration of the fixed-K analog detector of the same kind."
            )
            blocks.append(
                ("Adaptive iterations", write_table(adaptive, directory / "tables" / "adaptive", adaptive_note))
            )
    for i, f in by_point(frame):
        plot_ber(f, scenario, ctx.points[i].scenario.link, directory / "figures" / f"ber_point{i}", formats)
        figures.append(f"figures/ber_point{i}.png")
        if plot_solver_error(f, scenario, directory / "figures" / f"solver_error_point{i}", formats):
            figures.append(f"figures/solver_error_point{i}.png")
    if plot_nonconverged(frame, scenario, directory / "figures" / "nonconverged", formats):
        figures.append("figures/nonconverged.png")
    if plot_parity_vs_sweep(parity, frame, scenario, directory / "figures" / "parity_vs_sweep", formats):
        figures.insert(0, "figures/parity_vs_sweep.png")
    if plot_parity_map(parity, frame, scenario, directory / "figures" / "parity_map", formats):
        figures.insert(0, "figures/parity_map.png")
    return Section(blocks, figures)
