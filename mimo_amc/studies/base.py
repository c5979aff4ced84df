"""The study protocol: what every study (BER, image, solver accuracy, cost, ...) provides.

A study is enabled by its scenario section (``Scenario.studies``), cuts every sweep point into
:class:`Unit` s, and computes one unit from the resolved scenario and the unit's seed alone, returning
a :class:`UnitResult` (a table, optionally arrays and extra tables). It never writes files: the
runner stores results (:mod:`mimo_amc.store`) and the report renders them (:mod:`mimo_amc.report`).
Adding a study is one module here, its entry in :data:`mimo_amc.studies.STUDIES`, its scenario
section and its report section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np
import pandas as pd
import torch

from ..scenario import Scenario, SweepPoint

Progress = Callable[[int, int], None]
"""Called by long units after every batch with ``(work done, fewest errors of a row)``."""


@dataclass(frozen=True)
class Unit:
    """One resumable piece of work: one study at one sweep point (and one SNR for the BER study).

    Attributes:
        study: Name of the study (a key of :data:`~mimo_amc.studies.STUDIES`).
        point: The sweep point.
        name: File stem in the results folder, unique within the point (``snr_12.0``, ``image_ab12cd34``).
        target: The SNR in dB of a BER unit; None for the other studies.
        seed: The unit's seed, derived from the point's seed.
    """

    study: str
    point: SweepPoint
    name: str
    target: float | None
    seed: int

    @property
    def label(self) -> str:
        """Short description for progress bars."""
        what = f"SNR {self.target:g} dB" if self.target is not None else self.study
        return f"{self.point.scenario.name} point {self.point.index} {what}"


@dataclass(frozen=True)
class UnitResult:
    """What a unit produced.

    Attributes:
        table: Its rows (unlabelled: the store adds the sweep point's labels).
        arrays: Named arrays to keep with it (e.g. received images).
        tables: Further named tables (e.g. the cost study's raw measurements).
    """

    table: pd.DataFrame
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


class Study(Protocol):
    """A study (see the module docstring)."""

    name: ClassVar[str]
    """Its name, as listed by ``Scenario.studies`` (the BER study is ``ber``, the others their section)."""
    table: ClassVar[str]
    """Name of its consolidated table in the results folder (``results``, ``image``, ...)."""

    def units(self, point: SweepPoint) -> list[Unit]:
        """The units of one sweep point."""
        ...

    def check(self, scenario: Scenario) -> None:
        """Problems of the resolved sweep point ``scenario`` that validation cannot see (e.g. an unreadable
        image file): raise ScenarioError."""
        ...

    def run(self, scenario: Scenario, unit: Unit, device: torch.device | str, progress: Progress | None) -> UnitResult:
        """Compute one unit of the resolved sweep point ``scenario``; a pure function of its arguments."""
        ...


def section_unit(study: str, point: SweepPoint, section: str, seed: int) -> Unit:
    """The single unit of a study that runs once per sweep point, named after its section's hash."""
    return Unit(study, point, f"{section}_{point.section_key(section)}", None, seed)
