"""Tables (Markdown, LaTeX booktabs, CSV) and figures (PNG, PDF) from a results folder.

``write_report(results/<scenario>)`` reads ``results.parquet`` and ``scenario.yaml`` and writes

* ``tables/ber.{md,tex,csv}``: BER per sweep point and SNR, one column per detector and
  reported iteration (iteration 1 = LP-INV alone);
* ``tables/parity.{md,tex,csv}``: per SNR, the first iteration at which each iterative
  detector's BER is indistinguishable from the reference (its 95 % interval or +-10 %),
  next to the fraction of channel matrices that do not converge or converge slowly;
* ``figures/ber_point<i>``: BER vs SNR, one curve per iteration plus the FP32/FP64
  references, with confidence intervals; ``figures/solver_error_point<i>``: relative error
  of the solve against the exact float64 solution vs iteration; ``figures/nonconverged``:
  non-converged fraction against the first swept parameter (sweeps only);
* ``report.md``: all tables and figures on one page.
"""

from __future__ import annotations

import numbers
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .config import Scenario, load_scenario, sweep_points
from .link import LinkConfig
from .metrics import parity_iterations
from .montecarlo import ITERATION_NOTE
from .store import ResultStore, atomic_write, atomic_write_text

SNR_LABELS = {
    "es_no": "Es/N0 per receive antenna (dB)",
    "eb_no": "Eb/N0 per receive antenna (dB)",
    "es_no_array": "Es/N0 referred to the array (dB)",
    "eb_no_array": "Eb/N0 referred to the array (dB)",
}


def _sweep_keys(frame: pd.DataFrame, scenario: Scenario) -> list[str]:
    """Swept keys with scalar values (list-valued ones, e.g. an SNR list per point, are left out)."""
    keys = [*scenario.sweep.grid, *scenario.sweep.zip]
    return [k for k in keys if k in frame and not isinstance(frame[k].iloc[0], list | tuple | np.ndarray)]


def _point_label(frame: pd.DataFrame, scenario: Scenario) -> str:
    keys = _sweep_keys(frame, scenario)
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={frame[k].iloc[0]}" for k in keys) or scenario.name


def _points(frame: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    return [(int(i), f) for i, f in frame.groupby("point", sort=True)]


def ber_table(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Wide BER table: rows (point, SNR), columns detector or ``detector k`` per iteration."""
    rows = []
    for _, f in _points(frame):
        label = _point_label(f, scenario)
        for snr, g in f.groupby("snr_db", sort=True):
            row = {"point": label, "snr_db": snr}
            for _, r in g.iterrows():
                col = r.detector if r.iteration == 0 else f"{r.detector} {r.iteration}"
                row[col] = r.ber
            rows.append(row)
    return pd.DataFrame(rows)


def reference_for(detector: str, available: set[str], scenario: Scenario) -> str | None:
    """The exact detector an iterative one is judged against: one of the same kind (ZF or MMSE),
    the scenario's reference when it is of that kind, else ``<kind>_fp32`` / ``<kind>_fp64``; None
    when none of that kind was run."""
    variant = scenario.detectors.variants.get(detector)
    kind = variant.kind if variant else ("mmse" if detector.endswith("_mmse") else "zf")
    reference = scenario.detectors.reference
    candidates = [reference] if _kind(reference) == kind else []
    candidates += [f"{kind}_fp32", f"{kind}_fp64"]
    return next((c for c in candidates if c in available), None)


def _kind(detector: str) -> str:
    return "mmse" if detector.endswith(("_mmse", "_lmmse")) or detector.startswith("mmse_") else "zf"


def parity_table(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """First parity iteration per point, SNR and iterative detector (see :func:`parity_iterations`)."""
    out = []
    for _, f in _points(frame):
        available = set(f.detector)
        for det in sorted(set(f.detector[f.iteration > 0])):
            reference = reference_for(det, available, scenario)
            if reference is None:
                continue
            p = parity_iterations(f, det, reference)
            p.insert(0, "reference", reference)
            p.insert(0, "detector", det)
            p.insert(0, "point", _point_label(f, scenario))
            last = int(f[f.detector == det].iteration.max())
            p["parity_iteration"] = [
                f"none within {last}" if v is None or pd.isna(v) else int(v) for v in p.parity_iteration
            ]
            out.append(p)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _write_table(table: pd.DataFrame, base: Path, caption: str) -> None:
    shown = table.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            digits = "g" if col == "snr_db" else ".3g"
            shown[col] = shown[col].map(lambda v, d=digits: "" if pd.isna(v) else format(v, d))
    atomic_write(base.with_suffix(".csv"), lambda tmp: table.to_csv(tmp, index=False))
    atomic_write_text(base.with_suffix(".md"), f"{caption}\n\n{shown.to_markdown(index=False)}\n")
    latex = shown.to_latex(index=False, caption=caption, escape=True)
    atomic_write_text(base.with_suffix(".tex"), latex)


def plot_ber(f: pd.DataFrame, scenario: Scenario, link: LinkConfig, path: Path, formats: list[str]) -> None:
    """BER vs SNR of one sweep point (``link``: the point's own link): references, then one curve per iteration."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    one_shot = f[f.iteration == 0]
    styles = {"zf_fp32": ("k", "-", "o"), "zf_fp64": ("0.45", "--", "s"), "mmse_fp32": ("k", "-.", "o")}
    for det, g in one_shot.groupby("detector", sort=False):
        color, ls, marker = styles.get(det, ("0.3", ":", "^"))
        _errorbar(ax, g, f"{det} (reference)" if det == scenario.detectors.reference else det, color, ls, marker)
    iterative = f[f.iteration > 0]
    # Colour: iteration (viridis for analog, plasma for digital iterative); line style: detector.
    for d, (det, g) in enumerate(iterative.groupby("detector", sort=False)):
        its = sorted(set(g.iteration))
        cmap = plt.get_cmap("viridis" if det.startswith("analog") else "plasma")
        ls = ["-", "--", "-.", ":"][d % 4]
        for j, it in enumerate(its):
            color = cmap(0.1 + 0.8 * j / max(1, len(its) - 1))
            label = f"{det}, iteration {it}" + (" (LP-INV alone)" if it == 1 and _is_richardson(det, f) else "")
            _errorbar(ax, g[g.iteration == it], label, color, ls, ".")
    ax.set_yscale("log")
    ax.set_xlabel(SNR_LABELS[link.snr_type])
    ax.set_ylabel("bit error rate")
    ax.set_title(f"{link.num_rx_antennas}x{link.num_users} {link.modulation}, "
                 f"{link.channel.model} — {_point_label(f, scenario)}", fontsize=9)  # fmt: skip
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path, formats)


def _is_richardson(det: str, f: pd.DataFrame) -> bool:
    """An analog detector whose iteration 1 is LP-INV alone (the paper's refinement, not FCG/FGMRES)."""
    if not det.startswith("analog"):
        return False
    outer = f.loc[f.detector == det, "outer"].dropna() if "outer" in f else []
    return len(outer) == 0 or outer.iloc[0] == "richardson"


def _errorbar(ax, g: pd.DataFrame, label: str, color, ls: str, marker: str) -> None:
    g = g.sort_values("snr_db")
    ber = g.ber.where(g.ber > 0)
    err = [(ber - g.ber_ci_low).clip(lower=0), (g.ber_ci_high - ber).clip(lower=0)]
    ax.errorbar(g.snr_db, ber, yerr=err, label=label, color=color, ls=ls, marker=marker, ms=4, capsize=2, lw=1.2)


def plot_solver_error(f: pd.DataFrame, scenario: Scenario, path: Path, formats: list[str]) -> bool:
    """Geometric-mean relative solver error vs iteration, one curve per detector and SNR."""
    g = f[(f.iteration > 0) & f.solver_error_geomean.notna()]
    if g.empty:
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    for (det, snr), h in g.groupby(["detector", "snr_db"], sort=True):
        h = h.sort_values("iteration")
        ax.plot(h.iteration, h.solver_error_geomean, marker="o", ms=3, label=f"{det}, {snr:g} dB")
    ax.set_yscale("log")
    ax.set_xlabel("iteration (1 = LP-INV alone for analog Richardson; first step otherwise)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("relative error vs exact float64 solution")
    ax.set_title(_point_label(f, scenario), fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path, formats)
    return True


def plot_nonconverged(frame: pd.DataFrame, scenario: Scenario, path: Path, formats: list[str]) -> bool:
    """Non-converged (rho >= 1) and slow (rho > 0.5) fractions against the first swept key."""
    keys = _sweep_keys(frame, scenario)
    g = frame[frame.nonconverged_fraction.notna()] if "nonconverged_fraction" in frame else frame.iloc[:0]
    if not keys or g.empty or not pd.api.types.is_numeric_dtype(g[keys[0]]):
        return False
    x, others = keys[0], keys[1:]
    fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
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
    _save(fig, path, formats)
    return True


def plot_parity_vs_sweep(
    parity: pd.DataFrame, frame: pd.DataFrame, scenario: Scenario, path: Path, formats: list[str]
) -> bool:
    """Iterations needed for parity with the reference against the first swept parameter.

    One line per detector, SNR and value of the other swept parameters; "never within K" is drawn
    at K + 1, above the dotted line.
    """
    keys = _sweep_keys(frame, scenario)
    if not keys or parity.empty or frame.groupby("point").ngroups < 2:
        return False
    x, others = keys[0], keys[1:]
    points = {_point_label(g, scenario): g.iloc[0] for _, g in frame.groupby("point")}
    top = int(frame.iteration.max()) + 1
    table = parity.assign(
        x=[points[p][x] if isinstance(points[p][x], numbers.Number) else str(points[p][x]) for p in parity.point],
        rest=[", ".join(f"{k.rsplit('.', 1)[-1]}={points[p][k]}" for k in others) for p in parity.point],
        y=[top if isinstance(v, str) else v for v in parity.parity_iteration],
    )
    fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    for (det, snr, rest), g in table.groupby(["detector", "snr_db", "rest"], sort=True):
        ax.plot(g.x, g.y, marker="o", label=", ".join(v for v in (det, f"{snr:g} dB", rest) if v))
    ax.axhline(top, color="0.6", ls=":", lw=1)
    ax.text(0.01, top, f" never within {top - 1}", va="bottom", fontsize=7, transform=ax.get_yaxis_transform())
    ax.set_xlabel(x)
    ax.set_ylabel("iterations to BER parity with the reference")
    ax.set_ylim(0, top + 0.8)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path, formats)
    return True


def _save(fig, path: Path, formats: list[str], dpi: int = 150) -> None:
    for fmt in formats:
        atomic_write(path.with_suffix(f".{fmt}"), lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=dpi))
    plt.close(fig)


def image_table(images: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Image quality per point, detector and iteration (PSNR "lossless" for an exact copy)."""
    rows = []
    for _, f in _points(images):
        for _, r in f.iterrows():
            rows.append(
                {
                    "point": _point_label(f, scenario),
                    "detector": r.detector,
                    "iteration": r.iteration,
                    "snr_db": r.snr_db,
                    "psnr_db": "lossless" if r.lossless else f"{r.psnr_db:.2f}",
                    "ssim": round(float(r.ssim), 4),
                    "wrong_pixels": int(r.wrong_pixels),
                    "wrong_pixels_pct": round(100 * r.wrong_pixels / r.pixels, 3),
                    "bit_errors": int(r.bit_errors),
                    "pixels_differing_from_reference": r.get("pixels_differing_from_reference"),
                }
            )
    return pd.DataFrame(rows)


def plot_image_grid(
    points: list[tuple[str, Scenario, object, dict, pd.DataFrame]], path: Path, formats: list[str]
) -> None:
    """One row per sweep point and iterative detector: original, reference, every shown iteration.

    ``points``: ``(label, resolved scenario, original image, {(detector, iteration): image}, quality rows)``.
    """
    rows = []
    for label, scenario, original, received, table in points:
        quality = {(r.detector, int(r.iteration)): r for _, r in table.iterrows()}
        reference = (scenario.detectors.reference, 0)
        shown = scenario.image.show_iterations if scenario.image else None
        head = [("original", original, None)]
        if reference in received:
            head.append((reference[0], received[reference], quality[reference]))
        iterative = sorted({d for d, it in received if it > 0})
        for det in iterative or [None]:
            keys = [k for k in sorted(received) if k != reference and (det is None or k[0] == det)]
            keys = [k for k in keys if shown is None or k[1] in shown or k[1] == 0]
            panels = head + [(f"{d} it. {it}" if it else d, received[(d, it)], quality[(d, it)]) for d, it in keys]
            rows.append((label, original.ndim == 2, panels))
    cols = max(len(p) for _, _, p in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(2.1 * cols, 2.4 * len(rows)), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    for ax_row, (label, gray, panels) in zip(axes, rows, strict=True):
        for ax in ax_row:
            ax.axis("off")
        for ax, (title, img, q) in zip(ax_row, panels, strict=False):
            ax.imshow(img, cmap="gray" if gray else None, vmin=0, vmax=255)
            if q is not None:
                psnr = "lossless" if q.lossless else f"PSNR {q.psnr_db:.1f} dB"
                title = f"{title}\n{psnr}, SSIM {q.ssim:.3f}"
            ax.set_title(title, fontsize=7)
        ax_row[0].set_title("original\n" + label.replace(", ", "\n"), fontsize=6)
    _save(fig, path, formats, dpi=100)


def precision_table(rows: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Median relative error per iteration, one row per point, size, layout and scheme."""
    out = []
    for _, f in _points(rows):
        for (n, layout, scheme), g in f.groupby(["n", "layout", "scheme"], sort=False):
            row = {"point": _point_label(f, scenario), "n": n, "layout": layout, "scheme": scheme}
            row |= {f"it {int(r.iteration)}": r.median_error for r in g.itertuples()}
            first = g.iloc[0]
            row |= {"bits/iteration (1-8)": first.bits_per_iteration, "median rho": first.median_contraction,
                    "nonconverged": first.nonconverged_fraction}  # fmt: skip
            out.append(row)
    return pd.DataFrame(out)


def plot_precision(rows: pd.DataFrame, scenario: Scenario, directory: Path, formats: list[str]) -> list[str]:
    """Median error vs iteration per configuration; with several sizes also the final error vs n."""
    fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
    for (point, n, layout, scheme), g in rows.groupby(["point", "n", "layout", "scheme"], sort=False):
        label = ", ".join(x for x in (_point_label(rows[rows.point == point], scenario), f"n={n}", layout, scheme) if x)
        ax.plot(g.iteration, g.median_error, marker="o", ms=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("iteration (1 = LP-INV alone for analog Richardson; first step otherwise)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("median relative error ||x_k - x|| / ||x||")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6)
    _save(fig, directory / "figures" / "precision", formats)
    names = ["figures/precision.png"]
    if rows.n.nunique() > 1:
        final = rows[rows.iteration == rows.iteration.max()]
        fig, ax = plt.subplots(figsize=(6.4, 4.6), constrained_layout=True)
        for (point, layout, scheme), g in final.groupby(["point", "layout", "scheme"], sort=False):
            label = ", ".join(x for x in (_point_label(rows[rows.point == point], scenario), layout, scheme) if x)
            ax.plot(g.n, g.median_error, marker="o", label=f"{label} (median)")
            ax.plot(g.n, g.p90_error, marker="s", ls="--", label=f"{label} (90th percentile)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("real unknowns n")
        ax.set_ylabel(f"relative error after {int(rows.iteration.max())} iterations")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
        _save(fig, directory / "figures" / "precision_vs_size", formats)
        names.append("figures/precision_vs_size.png")
    return names


def write_report(directory: str | Path) -> Path:
    """Write every table and figure of a results folder; returns the path of ``report.md``."""
    directory = Path(directory)
    scenario = load_scenario(directory / "scenario.yaml")
    results, images = directory / "results.parquet", directory / "image.parquet"
    frame = pd.read_parquet(results) if results.is_file() else pd.DataFrame(columns=["point", "detector"])
    formats = scenario.output.figures
    snr = SNR_LABELS[scenario.link.snr_type]
    note = f"BER per SNR ({snr}); {ITERATION_NOTE}."
    ber = ber_table(frame, scenario)
    if len(ber):
        _write_table(ber, directory / "tables" / "ber", note)
    parity = parity_table(frame, scenario)
    parity_note = (
        f"First iteration from which the BER stays within the 95 % interval (or +-10 %) of the reference "
        "detector (interval on the effective number of bits: channel realisations are clusters, see "
        f"ber_design_effect in results); {ITERATION_NOTE}. nonconverged_fraction: channel matrices with "
        "contraction >= 1 (or singular); slow_fraction: contraction > 0.5."
    )
    if len(parity):
        _write_table(parity, directory / "tables" / "parity", parity_note)
    figures = []
    points = sweep_points(scenario)
    for i, f in _points(frame):
        plot_ber(f, scenario, points[i].scenario.link, directory / "figures" / f"ber_point{i}", formats)
        figures.append(f"figures/ber_point{i}.png")
        if plot_solver_error(f, scenario, directory / "figures" / f"solver_error_point{i}", formats):
            figures.append(f"figures/solver_error_point{i}.png")
    if plot_nonconverged(frame, scenario, directory / "figures" / "nonconverged", formats):
        figures.append("figures/nonconverged.png")
    if plot_parity_vs_sweep(parity, frame, scenario, directory / "figures" / "parity_vs_sweep", formats):
        figures.insert(0, "figures/parity_vs_sweep.png")
    image_rows = pd.read_parquet(images) if images.is_file() else pd.DataFrame()
    if len(image_rows):
        _write_table(image_table(image_rows, scenario), directory / "tables" / "image",
                     f"Image recovery per detector and iteration; {ITERATION_NOTE}.")  # fmt: skip
        store = ResultStore(directory)
        grid = [
            (_point_label(image_rows[image_rows.point == p.index], scenario), p.scenario, *store.load_images(p),
             image_rows[image_rows.point == p.index])
            for p in points
            if store.has_study(p, "image")
        ]  # fmt: skip
        plot_image_grid(grid, directory / "figures" / "image_grid", formats)
        figures.append("figures/image_grid.png")
    precision = directory / "precision.parquet"
    precision_rows = pd.read_parquet(precision) if precision.is_file() else pd.DataFrame()
    if len(precision_rows):
        _write_table(precision_table(precision_rows, scenario), directory / "tables" / "precision",
                     f"Median relative error of the solve per iteration; {ITERATION_NOTE}.")  # fmt: skip
        figures += plot_precision(precision_rows, scenario, directory, formats)
    parts = [f"# {scenario.name}", "", scenario.description, ""]
    if len(ber):
        parts += ["## BER", "", (directory / "tables/ber.md").read_text()]
    if len(parity):
        parts += ["## Parity with the reference", "", (directory / "tables/parity.md").read_text()]
    if len(image_rows):
        parts += ["## Image recovery", "", (directory / "tables/image.md").read_text()]
    if len(precision_rows):
        parts += ["## Solver precision", "", (directory / "tables/precision.md").read_text()]
    if "png" in formats:
        parts += ["## Figures", ""] + [f"![{Path(p).stem}]({p})" for p in figures]
    report = directory / "report.md"
    atomic_write_text(report, "\n".join(parts) + "\n")
    return report
