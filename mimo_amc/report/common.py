"""What every report section shares: one table writer, the figure helpers (matplotlib's Figure API,
no global backend or pyplot state) and the labels of sweep points."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..scenario import Scenario, SweepPoint
from ..store import ResultStore, atomic_write, atomic_write_text

SNR_LABELS = {
    "es_no": "Es/N0 per receive antenna (dB)",
    "eb_no": "Eb/N0 per receive antenna (dB)",
    "es_no_array": "Es/N0 referred to the array (dB)",
    "eb_no_array": "Eb/N0 referred to the array (dB)",
}


@dataclass(frozen=True)
class ReportContext:
    """What a section renders from: the folder, its resolved scenario and sweep points, the store."""

    directory: Path
    scenario: Scenario
    points: list[SweepPoint]
    store: ResultStore

    @property
    def formats(self) -> list[str]:
        """Figure formats of ``output.figures``."""
        return list(self.scenario.output.figures)


@dataclass(frozen=True)
class Section:
    """A rendered section: Markdown blocks ``(heading, text)`` and figure paths (relative to the folder)."""

    blocks: list[tuple[str, str]]
    figures: list[str]


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table with floats as text, 3 significant digits (``snr_db`` as given), NaN as empty."""
    shown = table.copy()
    for col in shown.columns:
        if pd.api.types.is_float_dtype(shown[col]):
            digits = "g" if col == "snr_db" else ".3g"
            shown[col] = shown[col].map(lambda v, d=digits: "" if pd.isna(v) else format(v, d))
    return shown


def write_table(table: pd.DataFrame, base: Path, caption: str, formats: Sequence[str] = ("csv", "md", "tex")) -> str:
    """Write ``base.csv`` (full precision), ``base.md`` and ``base.tex`` (LaTeX booktabs) and return the Markdown.

    The one table writer of every report: every number in Markdown and LaTeX has the format of
    :func:`format_table`.
    """
    shown = format_table(table)
    markdown = f"{caption}\n\n{shown.to_markdown(index=False)}\n" if caption else f"{shown.to_markdown(index=False)}\n"
    if "csv" in formats:
        atomic_write(base.with_suffix(".csv"), lambda tmp: table.to_csv(tmp, index=False))
    if "md" in formats:
        atomic_write_text(base.with_suffix(".md"), markdown)
    if "tex" in formats:
        atomic_write_text(base.with_suffix(".tex"), shown.to_latex(index=False, caption=caption or None, escape=True))
    return markdown


def new_figure(rows: int = 1, cols: int = 1, figsize: tuple[float, float] = (6.4, 4.6)) -> tuple[Figure, np.ndarray]:
    """A constrained-layout figure and its axes ``[rows, cols]`` (Figure API: no pyplot state)."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False)


def save_figure(fig: Figure, path: Path, formats: Sequence[str], dpi: int = 150) -> None:
    """Save ``fig`` as ``path.<format>`` for every format (atomic)."""
    for fmt in formats:
        atomic_write(path.with_suffix(f".{fmt}"), lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=dpi))


def sweep_keys(frame: pd.DataFrame, scenario: Scenario) -> list[str]:
    """Swept keys with scalar values (list-valued ones, e.g. an SNR list per point, are left out)."""
    keys = [*scenario.sweep.grid, *scenario.sweep.zip]
    return [k for k in keys if k in frame and not isinstance(frame[k].iloc[0], list | tuple | np.ndarray)]


def point_label(frame: pd.DataFrame, scenario: Scenario) -> str:
    """``key=value, ...`` of the swept values of one point's rows (the scenario name without a sweep)."""
    keys = sweep_keys(frame, scenario)
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={frame[k].iloc[0]}" for k in keys) or scenario.name


def by_point(frame: pd.DataFrame) -> list[tuple[int, pd.DataFrame]]:
    """The rows of each sweep point, in sweep order."""
    return [(int(i), f) for i, f in frame.groupby("point", sort=True)]


def rate_errorbar(ax, g: pd.DataFrame, rate: str, label: str, color, ls: str, marker: str) -> None:
    """Plot the error-rate column ``rate`` (``ber``, ``bler``) of ``g`` against SNR with its interval
    (columns ``<rate>_ci_low`` / ``<rate>_ci_high``); zero rates are left out of the log axis."""
    g = g.sort_values("snr_db")
    value = g[rate].where(g[rate] > 0)
    err = [(value - g[f"{rate}_ci_low"]).clip(lower=0), (g[f"{rate}_ci_high"] - value).clip(lower=0)]
    ax.errorbar(g.snr_db, value, yerr=err, label=label, color=color, ls=ls, marker=marker, ms=4, capsize=2, lw=1.2)
