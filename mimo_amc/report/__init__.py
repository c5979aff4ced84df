"""Reports: tables (Markdown, LaTeX booktabs, CSV) and figures (PNG, PDF) of a results folder.

The only part of the package that imports matplotlib, through its Figure API (no global backend
switch, no pyplot state). One section per study (:data:`SECTIONS`, in the study registry's order)
and one page, ``report.md``, assembled from them by :func:`write_report`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..scenario import load_scenario, sweep_points
from ..store import ResultStore, atomic_write_text
from ..studies import STUDIES
from . import accuracy, ber, cost, image, pusch
from .common import ReportContext, Section

SECTIONS: dict[str, Callable[[ReportContext], Section | None]] = {
    "ber": ber.section,
    "image": image.section,
    "precision": accuracy.section,
    "cost": cost.section,
    "pusch": pusch.section,
}
"""The report section of every study (keys: :data:`mimo_amc.studies.STUDIES`)."""
assert list(SECTIONS) == list(STUDIES), "every study needs its report section"


def write_report(directory: str | Path) -> Path:
    """Write every table and figure of a results folder and its ``report.md``; returns the page's path."""
    directory = Path(directory)
    scenario = load_scenario(directory / "scenario.yaml")
    ctx = ReportContext(directory, scenario, sweep_points(scenario), ResultStore(directory))
    sections = [s for s in (render(ctx) for render in SECTIONS.values()) if s is not None]
    parts = [f"# {scenario.name}", "", scenario.description, ""]
    for s in sections:
        for heading, text in s.blocks:
            parts += [f"## {heading}", "", text]
    figures = [f for s in sections for f in s.figures]
    if "png" in ctx.formats:
        parts += ["## Figures", ""] + [f"![{Path(p).stem}]({p})" for p in figures]
    report = directory / "report.md"
    atomic_write_text(report, "\n".join(parts) + "\n")
    return report


__all__ = ["SECTIONS", "write_report"]
