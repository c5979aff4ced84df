"""The solver-accuracy (``precision``) study's section: median error per iteration, table and figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..scenario import ITERATION_NOTE, Scenario
from .common import ReportContext, Section, by_point, new_figure, point_label, save_figure, write_table


def precision_table(rows: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Median relative error per iteration, one row per point, size, layout and scheme."""
    out = []
    for _, f in by_point(rows):
        for (n, layout, scheme), g in f.groupby(["n", "layout", "scheme"], sort=False):
            row = {"point": point_label(f, scenario), "n": n, "layout": layout, "scheme": scheme}
            row |= {f"it {int(r.iteration)}": r.median_error for r in g.itertuples()}
            first = g.iloc[0]
            row |= {"bits/iteration (1-8)": first.bits_per_iteration, "median rho": first.median_contraction,
                    "nonconverged": first.nonconverged_fraction}  # fmt: skip
            out.append(row)
    return pd.DataFrame(out)


def plot_precision(rows: pd.DataFrame, scenario: Scenario, directory: Path, formats: list[str]) -> list[str]:
    """Median error vs iteration per configuration; with several sizes also the final error vs n."""
    fig, axes = new_figure()
    ax = axes[0, 0]
    for (point, n, layout, scheme), g in rows.groupby(["point", "n", "layout", "scheme"], sort=False):
        label = ", ".join(x for x in (point_label(rows[rows.point == point], scenario), f"n={n}", layout, scheme) if x)
        ax.plot(g.iteration, g.median_error, marker="o", ms=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("iteration (1 = LP-INV alone for analog Richardson; first step otherwise)")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("median relative error ||x_k - x|| / ||x||")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6)
    save_figure(fig, directory / "figures" / "precision", formats)
    names = ["figures/precision.png"]
    if rows.n.nunique() > 1:
        final = rows[rows.iteration == rows.iteration.max()]
        fig, axes = new_figure()
        ax = axes[0, 0]
        for (point, layout, scheme), g in final.groupby(["point", "layout", "scheme"], sort=False):
            label = ", ".join(x for x in (point_label(rows[rows.point == point], scenario), layout, scheme) if x)
            ax.plot(g.n, g.median_error, marker="o", label=f"{label} (median)")
            ax.plot(g.n, g.p90_error, marker="s", ls="--", label=f"{label} (90th percentile)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("real unknowns n")
        ax.set_ylabel(f"relative error after {int(rows.iteration.max())} iterations")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
        save_figure(fig, directory / "figures" / "precision_vs_size", formats)
        names.append("figures/precision_vs_size.png")
    return names


def section(ctx: ReportContext) -> Section | None:
    """Precision table and the error-vs-iteration (and, for several sizes, error-vs-size) figures."""
    rows = ctx.store.table("precision")
    if rows.empty:
        return None
    caption = f"Median relative error of the solve per iteration; {ITERATION_NOTE}."
    text = write_table(precision_table(rows, ctx.scenario), ctx.directory / "tables" / "precision", caption)
    return Section([("Solver precision", text)], plot_precision(rows, ctx.scenario, ctx.directory, ctx.formats))
