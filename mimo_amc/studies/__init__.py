"""Studies: every kind of experiment the harness runs, behind one protocol (:mod:`.base`).

:data:`STUDIES` is the registry that the runner, the store, the CLI and the report iterate over, in
this order: ``ber`` (:mod:`.ber`), ``image`` (:mod:`.image`), ``precision`` (solver accuracy,
:mod:`.accuracy`), ``cost`` (:mod:`.cost`) and ``pusch`` (the coded 5G NR link, :mod:`.pusch`). A
scenario runs the studies it names in ``Scenario.studies``.

Example:
    >>> list(STUDIES)
    ['ber', 'image', 'precision', 'cost', 'pusch']
    >>> STUDIES["ber"].table
    'results'
"""

from __future__ import annotations

import os

import torch

from ..amc import tune_allocator
from ..scenario import Scenario, ScenarioError, SweepPoint, sweep_points
from .accuracy import AccuracyStudy
from .base import Progress, Study, Unit, UnitResult
from .ber import BERStudy
from .cost import CostStudy
from .image import ImageStudy
from .pusch import PUSCHStudy

STUDIES: dict[str, Study] = {s.name: s for s in (BERStudy(), ImageStudy(), AccuracyStudy(), CostStudy(), PUSCHStudy())}
"""Every study by name (the names ``Scenario.studies`` lists)."""


def scenario_units(points: list[SweepPoint], only: list[str] | None = None) -> list[Unit]:
    """Every unit of the sweep, study by study in registry order (``only``: just these studies)."""
    units = []
    for name, study in STUDIES.items():
        if only is not None and name not in only:
            continue
        units += [u for p in points if name in p.scenario.studies for u in study.units(p)]
    return units


def machine_memory_bytes() -> int:
    """Physical memory of this machine, bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_scenario(scenario: Scenario) -> None:
    """Every study's own checks of ``scenario``, and a refusal of any unit whose memory estimate exceeds
    the budget ``monte_carlo.max_memory_gb`` (default half of the machine's memory), all before any unit runs.

    Raises:
        ScenarioError: naming the study, the sweep point, the estimate and the budget.
    """
    machine = machine_memory_bytes()
    for point in sweep_points(scenario):
        mc = point.scenario.monte_carlo
        budget = machine / 2 if mc.max_memory_gb is None else mc.max_memory_gb * 2**30
        source = f"half of this machine's {machine / 2**30:.3g} GiB" if mc.max_memory_gb is None else "the budget"
        for name in point.scenario.studies:
            STUDIES[name].check(point.scenario)
            need = STUDIES[name].memory_bytes(point.scenario)
            if need > budget:
                raise ScenarioError(
                    f"the {name} study of sweep point {point.index} needs about {need / 2**30:.3g} GiB per unit, "
                    f"more than monte_carlo.max_memory_gb = {budget / 2**30:.3g} GiB ({source}); reduce "
                    "monte_carlo.realizations_per_batch, link.coherence_block, link.channel.num_subcarriers, the "
                    "image size or the precision systems (or raise the budget)."
                )


def run_unit(unit: Unit, device: torch.device | str, threads: int, progress: Progress | None = None) -> UnitResult:
    """Compute one unit in this process: a pure function of the unit (its resolved point and seed).

    ``threads`` torch CPU threads are used (results can depend on it in the last bits). They are set
    only when they differ from the current count: with torch 2.13's MKL, an explicit
    ``torch.set_num_threads(2)`` on a 2-core machine makes later batched ``torch.linalg.inv_ex`` calls
    of the cost study fail ("Pivots given to lu_solve must all be greater or equal to 1"), while the
    same count left at its default does not. The process's allocator keeps freed tensor memory for reuse
    (:func:`~mimo_amc.amc.tune_allocator`: fewer page faults, the same numbers).
    """
    tune_allocator()
    if threads != torch.get_num_threads():
        torch.set_num_threads(threads)
    return STUDIES[unit.study].run(unit.point.scenario, unit, device, progress)


__all__ = ["STUDIES", "Study", "Unit", "UnitResult", "check_scenario", "run_unit", "scenario_units"]
