"""The cost study's section: cost tables, measured digital solves, assumptions, quoted figures,
throughput figures, and the crossover and scaling summary.

Writes ``tables/cost.{md,tex,csv}`` (one row per layout, timing, scheme and N),
``tables/digital.{md,csv}`` (every measurement), ``tables/assumptions.md`` (every assumption with its
source, and derived values), ``tables/quoted.md`` (published figures, never mixed with measurements),
``figures/throughput_<layout>_<timing>`` (throughput vs N, log-log), the receiver budget
(``tables/receiver``, ``figures/receiver``) and, for ``cost.receiver_links``, the budget of the measured
links (``tables/receiver_links``, ``tables/receiver_crossover``, ``figures/receiver_links``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..amc import SolverConfig
from ..amc.cost import (
    OPAMPS,
    CostConfig,
    ReceiverConfig,
    adc_energy_j,
    assumption_rows,
    digital_solve_macs,
    digital_time_energy,
    opamp_power_w,
)
from ..amc.cost.receiver import CLARKE_COHERENCE
from ..amc.hpmvm import partial_sum_adc_bits
from ..scenario import CostStudyConfig
from ..studies import STUDIES
from ..studies.cost import COLUMNS, crossover_n, scaling_exponents
from ..studies.digital import best_digital
from ..studies.quoted import quoted_figures_table
from .common import ReportContext, Section, format_table, new_figure, save_figure, write_table


def plot_throughput(
    table: pd.DataFrame,
    digital: pd.DataFrame | None,
    path: Path,
    formats: list[str],
    labels: Mapping[str, float] = OPAMPS,
) -> None:
    """Throughput vs ``n`` (log-log): analog per op-amp label against every measured digital series.

    Args:
        table: Output of :func:`comparison_table`.
        digital: Output of :func:`measure_digital` (per device and dtype, the best op and batch per
            ``n`` is drawn); None draws the analog curves only.
        path, formats: Output file without suffix, and its formats.
        labels: Op-amp labels (and GBWP, for the legend) present in ``table``.
    """
    fig, axes = new_figure(figsize=(6.4, 4.4))
    ax = axes[0, 0]
    iterations = int(table["iterations"].iloc[0])
    for label, gbwp in labels.items():
        ax.plot(
            table["n"],
            table[f"analog_solves_per_s_{label}"],
            "o-",
            label=f"analog HP-INV, {iterations} it., GBWP {gbwp / 1e6:g} MHz ({label}; model)",
        )
    if digital is not None and len(digital):
        for (device, dtype), grp in best_digital(digital).groupby(["device", "dtype"]):
            ax.plot(grp["n"], grp["solves_per_s"], "s--", label=f"digital {device} {dtype} (measured)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("system size N (real unknowns)")
    ax.set_ylabel("throughput (solves/s)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    save_figure(fig, path, formats)


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def assumptions_table(cost: CostConfig, solver: SolverConfig, receiver: ReceiverConfig | None = None) -> pd.DataFrame:
    """Every assumption of the cost model and the receiver budget (name, value, unit, source), then derived values
    (``derived.*``)."""
    rows = [{**r, "value": _fmt(r["value"])} for r in assumption_rows(cost, solver, receiver)]
    derived = [
        ("opamp_power", f"{opamp_power_w(cost) * 1e6:.3g}", "uW", "at gbwp_hz, from the op-amp fields"),
        ("lpinv_adc_energy", f"{adc_energy_j(solver.lpinv.converters.adc_bits, cost) * 1e12:.3g}", "pJ",
         "per conversion, from the ADC FoMs"),
    ]  # fmt: skip
    for n in (8, 128):
        bits = partial_sum_adc_bits(n, solver)
        derived.append((f"hpmvm_adc_energy(n={n})", f"{adc_energy_j(bits, cost) * 1e12:.3g}", "pJ",
                        f"{bits}-bit partial-sum ADC, per conversion"))  # fmt: skip
    lu, substitution = (digital_time_energy(m, cost)[1] for m in digital_solve_macs(16))
    derived += [
        ("clarke_coherence", f"{CLARKE_COHERENCE}", "-", "coherence time x max Doppler shift, 50 % correlation "
         "[Rappaport, Wireless Communications, eq. 5.40.c]"),
        ("digital_fallback(n=16)", f"{lu * 1e9:.3g} + {substitution * 1e9:.3g}", "nJ",
         "LU (n^3/3 MACs) per fallen-back matrix + two triangular solves (n^2 MACs) per solve, at fp_mac_energy_j"),
    ]  # fmt: skip
    rows += [{"name": f"derived.{n}", "value": v, "unit": u, "source": s} for n, v, u, s in derived]
    return pd.DataFrame(rows)


def _reference_n(sizes) -> int:
    """The N of the summary's throughput column: 128 (the paper's) when costed, else the largest."""
    return 128 if 128 in sizes else int(max(sizes))


def _n(value: float | None) -> str:
    return "never on this grid" if value is None else f"{value:.0f}"


def summary(study: CostStudyConfig, table: pd.DataFrame, rates: pd.DataFrame) -> str:
    """Crossover N and scaling exponents per (layout, timing, scheme), and the measured settling rates."""
    n_ref = _reference_n(study.sizes)
    lines = [
        f"Analog HP-INV model ({study.iterations} iterations per solve) against `torch.linalg.solve`/`inv` "
        f"({study.digital_dtype}) measured on this machine. Every assumption: `tables/assumptions.md`; "
        "published figures (never mixed with measurements): `tables/quoted.md`.",
        "",
        "| layout | timing | scheme | crossover N (16 MHz) | crossover N (300 MHz) | analog/digital "
        f"throughput at N={n_ref} (16 MHz) | (300 MHz) | analog time/iteration ~ N^p | digital time/solve ~ N^p |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (layout, timing, scheme), g in table.groupby(["layout", "timing", "scheme"], sort=False):
        slopes = scaling_exponents(g)
        at = g.set_index("n")
        lines.append(
            f"| {layout} | {timing} | {scheme} | {_n(crossover_n(g, 'slow'))} | {_n(crossover_n(g, 'fast'))} | "
            f"{at.loc[n_ref, 'ratio_slow']:.3g} | {at.loc[n_ref, 'ratio_fast']:.3g} | "
            f"{slopes['analog_slow']:.2f} | {slopes['digital']:.2f} |"
        )
    lines += [
        "",
        f"Settling mode assumes lambda_min(D^-1 G) = {study.model.lpinv_rate} for every INV array. Measured on "
        "32 programmed Gram matrices (real forms of 4N x N/2 Rayleigh channels) per N, slowest array per "
        "system (rows with small lambda mean that the settling-mode rows above are optimistic for that layout):",
        "",
        rates.to_markdown(index=False, floatfmt=".3g"),
        "",
    ]
    return "\n".join(lines)


RECEIVER_COLUMNS = [
    "timing", "users", "subcarriers_per_gram", "speed_kmh", "rewrite_interval_s", "writes_per_s", "solves_per_write",
    "detected_bps", "write_w", "solve_w", "pj_per_bit_solve", "pj_per_bit", "chips", "lifetime_days",
    "write_dominates_above_kmh",
]  # fmt: skip


def receiver_summary(receiver: pd.DataFrame, quoted: pd.DataFrame) -> str:
    """Where the writes start to dominate and how the energy per bit compares with the quoted ASICs
    (``quoted``: :func:`~mimo_amc.studies.quoted.quoted_figures_table`)."""
    asic = quoted[quoted.config.str.contains("QAM")].energy_per_bit_j.dropna() * 1e12
    above = receiver.write_dominates_above_kmh.dropna()
    where = (f"above {above.min():.3g} km/h for some configurations" if len(above)
             else "at no UE speed (the rewrite interval cannot fall below a slot)")  # fmt: skip
    share = (receiver.pj_per_bit / receiver.pj_per_bit_solve - 1).max()
    return (
        f"Writes cost more energy than the solves {where}; they add at most {share:.0%} to the energy per "
        f"detected bit. The analog receiver needs {receiver.pj_per_bit.min():.3g}-{receiver.pj_per_bit.max():.3g} "
        f"pJ/bit against {asic.min():.3g}-{asic.max():.3g} pJ/bit quoted for digital MIMO-detector ASICs "
        "(`tables/quoted.md`; literature, not measured here): "
        + (
            "it is below the best quoted ASIC for some configurations."
            if receiver.pj_per_bit.min() < asic.min()
            else "it stays above every quoted ASIC at every UE speed and grouping."
        )
    )


def plot_receiver(
    receiver: pd.DataFrame,
    quoted: pd.DataFrame,
    path: Path,
    formats: list[str],
    keys: tuple[str, ...] = ("users", "subcarriers_per_gram"),
    label: str = "analog, K = {users}, {subcarriers_per_gram} subcarrier(s)/Gram",
    dashed: tuple[str, object] | None = None,
    title: str = "",
) -> None:
    """Energy per detected bit vs UE speed (writes included), one curve per value of ``keys`` (named by ``label``,
    a format string over them; one colour per value of the first key, dashed where column ``dashed[0]`` equals
    ``dashed[1]``); quoted ASICs as grey lines."""
    fig, axes = new_figure(figsize=(6.4, 4.4))
    ax = axes[0, 0]
    timing = receiver.timing.iloc[0]
    mine = receiver[receiver.timing == timing]
    colors = {v: f"C{i % 10}" for i, v in enumerate(mine[keys[0]].drop_duplicates())}
    for values, g in mine.groupby(list(keys), sort=False):
        g = g.sort_values("speed_kmh")
        style = "s--" if dashed is not None and g[dashed[0]].iloc[0] == dashed[1] else "o-"
        name = label.format(**dict(zip(keys, values, strict=True)))
        ax.plot(g.speed_kmh.clip(lower=0.1), g.pj_per_bit, style, color=colors[values[0]], label=name)
    for r in quoted[quoted.energy_per_bit_j.notna()].itertuples():
        ax.axhline(r.energy_per_bit_j * 1e12, color="0.5", ls=":", lw=0.8)
        ax.text(0.11, r.energy_per_bit_j * 1e12, f"{r.design} (quoted)", fontsize=6, va="bottom", color="0.3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("UE speed (km/h; 0 drawn at 0.1)")
    ax.set_ylabel("energy per detected bit (pJ), writes included")
    ax.set_title(f"Receiver budget ({timing} timing; model){title}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6)
    save_figure(fig, path, formats)


LINK_COLUMNS = [
    "link", "mode", "timing", "subcarriers_per_gram", "speed_kmh", "iterations", "outage_fraction", "fallback",
    "rewrite_interval_s", "solves_per_write", "write_w", "solve_w", "fallback_w", "pj_per_bit_solve", "pj_per_bit",
    "chips",
]  # fmt: skip


CROSSOVER_COLUMNS = [
    "link", "mode", "subcarriers_per_gram", "iterations", "outage_fraction", "pj_per_bit_static",
    "pj_per_bit_per_slot", "write_equals_solve_us", "write_equals_solve_kmh", "write_dominates_above_kmh",
]  # fmt: skip


def links_summary(crossover: pd.DataFrame) -> str:
    """Where the measured links' writes start to cost more than their solves and where their energy per bit
    crosses the quoted detector ASICs' (``crossover``: the cost study's ``receiver_crossover`` table), with that
    table for the first timing model (0 km/h: above the ASIC at every speed; inf: at none)."""
    first = crossover[crossover.timing == crossover.timing.iloc[0]]
    asics = [c for c in first.columns if c.startswith("above_")]
    reached = first.write_dominates_above_kmh.dropna()
    writes = (
        f"above {reached.min():.3g} km/h for some links"
        if len(reached)
        else "at no UE speed: they would at rewrite intervals of "
        f"{first.write_equals_solve_us.min():.3g}-{first.write_equals_solve_us.max():.3g} us (coherence times of UEs "
        f"at {first.write_equals_solve_kmh.min():.3g}-{first.write_equals_solve_kmh.max():.3g} km/h), below one slot, "
        "and a receiver rewrites at most once per slot (one DMRS estimate)"
    )
    always = bool((first[asics] == 0).all().all())
    asic = (
        "above every quoted detector ASIC at every UE speed, fixed K and adaptive alike"
        if always
        else "below some quoted ASIC up to the speeds in the table"
    )
    text = (
        f"Links priced with the iterations measured on them ({first.timing.iloc[0]} timing; sources in "
        f"`tables/receiver_crossover.csv`): {first.pj_per_bit_static.min():.4g}-{first.pj_per_bit_per_slot.max():.4g} "
        f"pJ/bit from a static UE to one rewrite per slot. Writes cost more than the solves {writes}. The analog "
        f"receiver stays {asic} (quoted figures are literature, `tables/quoted.md`)."
    )
    return text + "\n\n" + format_table(first[CROSSOVER_COLUMNS + asics]).to_markdown(index=False)


def section(ctx: ReportContext) -> Section | None:
    """Every cost table and figure (see the module docstring)."""
    rows = ctx.store.table("cost")
    if rows.empty:
        return None
    directory, tables = ctx.directory, ctx.directory / "tables"
    several = rows.point.nunique() > 1
    shown = rows[[c for c in (["point"] if several else []) + COLUMNS if c in rows.columns]]
    blocks = [("Cost per solve", write_table(shown, tables / "cost", ""))]
    figures, digital_frames, receivers, links, crossovers = [], [], [], [], []
    for p in ctx.points:
        study = p.scenario.cost
        units = [u for u in STUDIES["cost"].units(p) if ctx.store.has(u)] if study else []
        for unit in units:
            digital = ctx.store.extra_table(unit, "digital")
            digital_frames.append(digital.assign(point=p.index) if several else digital)
            receivers.append(ctx.store.extra_table(unit, "receiver").assign(point=p.index))
            if study.receiver_links:
                links.append(ctx.store.extra_table(unit, "receiver_links").assign(point=p.index))
                crossovers.append(ctx.store.extra_table(unit, "receiver_crossover").assign(point=p.index))
            mine = rows[rows.point == p.index]
            title = "Cost study" + (f" (point {p.index})" if several else "")
            blocks.insert(len(blocks) - 1, (title, summary(study, mine, ctx.store.extra_table(unit, "rates"))))
            for (layout, timing), g in mine.groupby(["layout", "timing"], sort=False):
                name = f"throughput_{layout}_{timing}" + (f"_point{p.index}" if several else "")
                plot_throughput(g[g.scheme == study.schemes[0]], digital, directory / "figures" / name, ctx.formats)
                figures.append(f"figures/{name}.png")
    quoted = quoted_figures_table()
    if receivers:
        receiver = pd.concat(receivers, ignore_index=True)
        shown = receiver[[c for c in (["point"] if several else []) + RECEIVER_COLUMNS]]
        text = receiver_summary(receiver, quoted) + "\n\n" + write_table(shown, tables / "receiver", "")
        blocks.insert(len(blocks) - 1, ("Receiver budget (model, writes included)", text))
        first = receiver[receiver.point == receiver.point.iloc[0]]
        plot_receiver(first, quoted, directory / "figures" / "receiver", ctx.formats)
        figures.append("figures/receiver.png")
    if links:
        link_rows, crossover = pd.concat(links, ignore_index=True), pd.concat(crossovers, ignore_index=True)
        shown = link_rows[[c for c in (["point"] if several else []) + LINK_COLUMNS]]
        write_table(crossover, tables / "receiver_crossover", "", formats=("csv", "md"))
        write_table(shown, tables / "receiver_links", "")
        text = links_summary(crossover) + "\n\nEvery link, mode, grouping and UE speed: `tables/receiver_links.md`."
        blocks.insert(len(blocks) - 1, ("Receiver budget of measured links (model, writes included)", text))
        first = link_rows[(link_rows.point == link_rows.point.iloc[0]) & (link_rows.subcarriers_per_gram == 1)]
        plot_receiver(first, quoted, directory / "figures" / "receiver_links", ctx.formats, ("link", "mode"),
                      "{link}, {mode}", ("mode", "adaptive"), ", one Gram matrix per subcarrier")  # fmt: skip
        figures.append("figures/receiver_links.png")
    digital = pd.concat(digital_frames, ignore_index=True)
    write_table(digital, tables / "digital", "", formats=("csv", "md"))
    chip = ctx.points[0].scenario
    assumptions = assumptions_table(chip.cost.model, chip.amc, chip.cost.receiver)
    write_table(assumptions, tables / "assumptions", "", formats=("md",))
    write_table(quoted, tables / "quoted", "", formats=("md",))
    return Section(blocks, figures)
