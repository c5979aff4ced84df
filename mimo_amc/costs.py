"""Cost study: analog latency/energy projections against digital solves measured on this machine.

The optional ``cost`` section of a scenario (:class:`CostStudy`) evaluates the analytic model of
:mod:`mimo_amc.amc.cost` for every system size, outer scheme, LP-INV layout and timing mode, measures
batched ``torch.linalg.solve``/``inv`` here (float32 and float64, CPU and CUDA when present), and
writes into the results folder

* ``tables/cost.{md,tex,csv}``: one row per (layout, timing, scheme, N): analog ns and nJ per solve
  under the slow (16 MHz) and fast (300 MHz) op-amp, the energy broken down by kind, the operations
  per iteration of the scheme, the measured digital solves/s and the throughput ratio;
* ``tables/digital.{md,csv}`` (every measurement), ``tables/assumptions.md`` (every assumption with
  its source), ``tables/quoted.md`` (published reference figures, never mixed with measurements);
* ``figures/throughput_<layout>_<timing>.{png,pdf}``: throughput vs N, log-log;
* ``cost.md``: crossover N and scaling exponents per configuration.

Layouts: ``blockamc`` uses the configured INV array size (8x8 arrays, BlockAMC above);
``monolithic`` gives every N its own N x N INV array, as the paper's time-complexity argument
assumes (analog time per iteration independent of N in the fixed-time mode).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import torch
from pydantic import BaseModel, ConfigDict, Field

from .amc import AnalogSolver, SolverConfig
from .amc.config import OuterScheme
from .amc.cost import (
    CostConfig,
    assumptions_markdown,
    comparison_table,
    crossover_n,
    lpinv_settling,
    measure_digital,
    plot_throughput,
    quoted_figures_table,
    scaling_exponents,
)
from .amc.schemes import operation_counts
from .precision import RealSizes, rayleigh_grams
from .store import atomic_write, atomic_write_text

Layout = Literal["blockamc", "monolithic"]


class CostStudy(BaseModel):
    """The ``cost`` section of a scenario.

    Example:
        >>> CostStudy().sizes
        [8, 16, 32, 64, 128, 256]
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: CostConfig = Field(default_factory=CostConfig, description="Circuit and energy assumptions.")
    sizes: RealSizes = Field(
        default_factory=lambda: [8, 16, 32, 64, 128, 256],
        min_length=1,
        description="Real system sizes N (even, >= 2: N = 2K unknowns of a complex K-user system).",
    )
    iterations: int = Field(3, ge=1, le=100, description="HP-INV iterations per solve.")
    schemes: list[OuterScheme] = Field(default_factory=lambda: ["richardson"], min_length=1)
    layouts: list[Layout] = Field(default_factory=lambda: ["blockamc", "monolithic"], min_length=1)
    timings: list[Literal["fixed", "settling"]] = Field(default_factory=lambda: ["fixed", "settling"], min_length=1)
    digital_batches: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=lambda: [256, 4096], min_length=1, description="Batch sizes of the digital measurements."
    )
    digital_dtype: Literal["float32", "float64"] = Field("float32", description="Digital series compared with.")
    bits_per_symbol: int = Field(8, ge=1, le=10, description="For detected bits/s: N = 2K real unknowns.")


def run_cost_study(study: CostStudy, solver: SolverConfig, directory: str | Path) -> pd.DataFrame:
    """Evaluate ``study`` for the chip ``solver`` and write tables and figures into ``directory``."""
    directory = Path(directory)
    devices = ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    digital = measure_digital(study.sizes, study.digital_batches, devices=devices)
    device = "cuda" if "cuda" in devices else "cpu"
    frames, notes = [], []
    for layout in study.layouts:
        for timing in study.timings:
            for scheme in study.schemes:
                table = _variant(study, solver, digital, layout, timing, scheme, device)
                frames.append(table)
                notes.append(_summary(table, layout, timing, scheme))
                if scheme == study.schemes[0]:
                    base = directory / "figures" / f"throughput_{layout}_{timing}"
                    plot_throughput(table, digital, base.with_suffix(".png"), base.with_suffix(".pdf"))
    rates = measured_rates(study, solver)
    table = pd.concat(frames, ignore_index=True)
    _write(table, directory / "tables" / "cost", _COLUMNS)
    _write(digital, directory / "tables" / "digital", list(digital.columns))
    atomic_write_text(directory / "tables" / "assumptions.md", assumptions_markdown(study.model, solver) + "\n")
    atomic_write_text(directory / "tables" / "quoted.md", quoted_figures_table().to_markdown(index=False) + "\n")
    atomic_write_text(directory / "cost.md", _report(study, notes, rates))
    return table


def measured_rates(study: CostStudy, solver: SolverConfig, samples: int = 32, seed: int = 0) -> pd.DataFrame:
    """``min Re eig(D^-1 G)`` of actually programmed INV arrays, per layout and N.

    Systems are real forms of ``H^H H`` with ``H`` an i.i.d. Rayleigh ``4N x N/2`` matrix (M/K = 8);
    per system the slowest array counts. The settling mode of the model assumes one fixed
    ``model.lpinv_rate`` for every N and layout; this table shows how far the programmed arrays
    are from it.
    """
    g = torch.Generator().manual_seed(seed)
    rows = []
    for layout in study.layouts:
        for n in study.sizes:
            k = max(1, n // 2)
            a = rayleigh_grams(samples, 2 * k, 8, g)
            chip = solver if layout == "blockamc" else solver.single_array(2 * k)
            rate = lpinv_settling(AnalogSolver(chip, device="cpu", seed=seed).program(a), study.model).rate
            slowest = rate.amin(-1)
            unstable = float((slowest <= 0).double().mean())
            p10 = float(slowest.quantile(0.1))
            median = float(slowest.median())
            rows.append({"layout": layout, "n": 2 * k, "median": median, "p10": p10, "unstable": unstable})
    return pd.DataFrame(rows)


_COLUMNS = [
    "layout", "timing", "scheme", "n", "iterations", "lpinv_ops", "hpmvm_ops", "dot_products",
    "analog_ns_per_solve_slow", "analog_ns_per_solve_fast", "analog_ns_per_iteration_slow", "t_lpinv_ns_slow",
    "t_hpmvm_ns_slow", "t_digital_ns_slow",
    "analog_nj_per_solve_slow", "e_lpinv_nj_slow", "e_hpmvm_nj_slow", "e_vector_nj_slow", "e_adc_nj_slow",
    "e_dac_nj_slow", "e_opamp_nj_slow", "e_array_nj_slow", "e_digital_nj_slow", "analog_pj_per_bit_slow",
    "digital_solves_per_s", "ratio_slow", "ratio_fast",
]  # fmt: skip


def _variant(
    study: CostStudy,
    solver: SolverConfig,
    digital: pd.DataFrame,
    layout: Layout,
    timing: str,
    scheme: OuterScheme,
    device: str,
) -> pd.DataFrame:
    """The comparison table of one (layout, timing, scheme), with the scheme's operation counts."""
    model = study.model.model_copy(update={"timing": timing})
    rows = []
    for n in study.sizes:
        chip = solver.model_copy(update={"outer": scheme})
        if layout == "monolithic":
            chip = chip.single_array(n)
        counts = [operation_counts(scheme, k, n) for k in range(1, study.iterations + 1)]
        row = comparison_table(
            digital, [n], study.iterations, model, chip, counts, digital_device=device,
            digital_dtype=study.digital_dtype, bits_per_symbol=study.bits_per_symbol,
        )  # fmt: skip
        last = counts[-1]
        row.insert(0, "layout", layout)
        row.insert(1, "timing", timing)
        row.insert(2, "scheme", scheme)
        row["lpinv_ops"], row["hpmvm_ops"], row["dot_products"] = last.lpinv, last.hpmvm, last.dot_products
        rows.append(row)
    return pd.concat(rows, ignore_index=True)


def _summary(table: pd.DataFrame, layout: str, timing: str, scheme: str) -> str:
    slopes = scaling_exponents(table)
    cross = {label: crossover_n(table, label) for label in ("slow", "fast")}
    at = table.set_index("n")
    n_ref = _reference_n(at.index)
    return (
        f"| {layout} | {timing} | {scheme} | {_n(cross['slow'])} | {_n(cross['fast'])} | "
        f"{at.loc[n_ref, 'ratio_slow']:.3g} | {at.loc[n_ref, 'ratio_fast']:.3g} | "
        f"{slopes['analog_slow']:.2f} | {slopes['digital']:.2f} |"
    )


def _reference_n(sizes) -> int:
    """The N of the summary's throughput column: 128 (the paper's) when costed, else the largest."""
    return 128 if 128 in sizes else int(max(sizes))


def _n(value: float | None) -> str:
    return "never on this grid" if value is None else f"{value:.0f}"


def _report(study: CostStudy, notes: list[str], rates: pd.DataFrame) -> str:
    return "\n".join(
        [
            "# Cost study",
            "",
            f"Analog HP-INV model ({study.iterations} iterations per solve) against `torch.linalg.solve`/`inv` "
            f"({study.digital_dtype}) measured on this machine. Every assumption: `tables/assumptions.md`; "
            "published figures (never mixed with measurements): `tables/quoted.md`.",
            "",
            "| layout | timing | scheme | crossover N (16 MHz) | crossover N (300 MHz) | analog/digital "
            f"throughput at N={_reference_n(study.sizes)} (16 MHz) | (300 MHz) | analog time/iteration ~ N^p | "
            "digital time/solve ~ N^p |",
            "|---|---|---|---|---|---|---|---|---|",
            *notes,
            "",
            f"Settling mode assumes lambda_min(D^-1 G) = {study.model.lpinv_rate} for every INV array. Measured on "
            f"{32} programmed Gram matrices (real forms of 4N x N/2 Rayleigh channels) per N, slowest array per "
            "system (rows with small lambda mean that the settling-mode rows above are optimistic for that layout):",
            "",
            rates.to_markdown(index=False, floatfmt=".3g"),
            "",
        ]
    )


def _write(table: pd.DataFrame, base: Path, columns: list[str]) -> None:
    shown = table[[c for c in columns if c in table.columns]]
    atomic_write(base.with_suffix(".csv"), lambda tmp: shown.to_csv(tmp, index=False))
    text = shown.to_markdown(index=False, floatfmt=".4g")
    atomic_write_text(base.with_suffix(".md"), text + "\n")
    if base.name == "cost":
        atomic_write_text(base.with_suffix(".tex"), shown.to_latex(index=False, float_format="%.4g", escape=True))
