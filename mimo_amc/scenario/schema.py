"""The complete experiment: :class:`Scenario`, its sweep and output sections.

A scenario has the sections ``link`` (:class:`~.link.LinkConfig`), ``detectors``
(:class:`~.detectors.DetectorsConfig`), ``amc`` (:class:`~mimo_amc.amc.SolverConfig`, optionally
``preset: NAME``), ``monte_carlo`` (:class:`~.studies.MonteCarloConfig`), ``sweep``
(:class:`SweepConfig`), the optional study sections ``image``, ``precision``, ``cost`` and ``pusch``
(:mod:`.studies`) and ``output``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from ..amc import Section, SolverConfig
from .chip import chip_config, resolve_preset
from .detectors import DetectorInfo, DetectorsConfig
from .link import LinkConfig
from .studies import AccuracyConfig, CostStudyConfig, ImageConfig, MonteCarloConfig, PUSCHStudyConfig


def short(value: Any, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters (a message never repeats a huge value)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} characters)"


MAX_POINTS = 10_000
"""Most points a sweep may have: each is validated up front and runs at least one unit."""


class SweepConfig(Section):
    """Sweep over dotted scenario keys: the cartesian product of ``grid`` times the rows of ``zip``.

    Example (YAML)::

        sweep:
          grid: {amc.device.bits: [3, 4], link.num_users: [4, 8]}
          zip: {amc.lpinv.prog_sigma: [0.01, 0.02], amc.hpmvm.prog_sigma: [1.0e-4, 2.0e-4]}
    """

    grid: dict[str, list[Any]] = Field(default_factory=dict, description="key -> values (cartesian product)")
    zip: dict[str, list[Any]] = Field(default_factory=dict, description="key -> values (zipped, equal lengths)")

    @field_validator("grid", "zip")
    @classmethod
    def _values(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"the sweep over {key!r} has no values; give at least one")
            kinds = {"number" if isinstance(x, int | float) and not isinstance(x, bool) else type(x).__name__
                     for x in values}  # fmt: skip
            if len(kinds) > 1:
                raise ValueError(f"the sweep over {key!r} mixes {' and '.join(sorted(kinds))} values; give one type")
        return v

    @model_validator(mode="after")
    def _zip_lengths(self) -> SweepConfig:
        lengths = {k: len(v) for k, v in self.zip.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"zip lists must have equal lengths; got {lengths}")
        for key, values in self.grid.items():
            if (twice := next((x for i, x in enumerate(values) if x in values[:i]), None)) is not None:
                raise ValueError(f"the sweep over {key!r} lists {short(twice)} twice; give each value once")
        rows = list(zip(*self.zip.values(), strict=True))
        if (twice := next((r for i, r in enumerate(rows) if r in rows[:i]), None)) is not None:
            raise ValueError(f"the zip sweep repeats the row {dict(zip(self.zip, twice, strict=True))}; give each once")
        if both := sorted(set(self.grid) & set(self.zip)):
            raise ValueError(f"{both} appear in both grid and zip; sweep each key in one of them")
        if self.size > MAX_POINTS:
            raise ValueError(f"the sweep has {self.size} points; at most {MAX_POINTS} are allowed (split it up)")
        return self

    @property
    def size(self) -> int:
        """Number of sweep points (grid product times zip rows)."""
        return math.prod(len(v) for v in self.grid.values()) * (len(next(iter(self.zip.values()))) if self.zip else 1)


class OutputConfig(Section):
    """Where and in which formats results are written."""

    directory: str | None = Field(None, description="Results folder; default results/<scenario name>.")
    figures: list[Literal["png", "pdf"]] = Field(default_factory=lambda: ["png", "pdf"], min_length=1)


class Scenario(Section):
    """A complete, validated experiment."""

    OPTIONAL_STUDIES: ClassVar[tuple[str, ...]] = ("image", "precision", "cost", "pusch")
    """Sections that switch a study on by being present (the BER study runs when ``link.snr_db`` is set)."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        max_length=100,
        description="Used as the results folder name: letters, digits, '_', '-', '.', not starting with '.'.",
    )
    description: str = ""
    link: LinkConfig = Field(default_factory=LinkConfig)
    detectors: DetectorsConfig = Field(default_factory=DetectorsConfig)
    amc: SolverConfig = Field(default_factory=SolverConfig, description="The chip (preset: NAME names one).")
    monte_carlo: MonteCarloConfig = Field(default_factory=MonteCarloConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    image: ImageConfig | None = Field(None, description="Also send an image over the link (optional).")
    precision: AccuracyConfig | None = Field(None, description="Also measure solver precision per iteration.")
    cost: CostStudyConfig | None = Field(
        None, description="Also project hardware cost against measured digital solves."
    )
    pusch: PUSCHStudyConfig | None = Field(
        None, description="Also run a coded 5G NR PUSCH link (LDPC, TB error rate per iteration)."
    )
    output: OutputConfig = Field(default_factory=OutputConfig)

    @field_validator("amc", mode="before")
    @classmethod
    def _preset(cls, value: Any) -> Any:
        return resolve_preset(value) if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _variants(self) -> Scenario:
        changes = {f"detectors.variants.{name}.amc": v.amc for name, v in self.detectors.variants.items()}
        for i, link in enumerate(self.cost.receiver_links if self.cost else []):
            changes[f"cost.receiver_links[{i}].amc"] = link.amc
        for label, change in changes.items():
            try:
                chip_config(change, base=self.amc)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(f"{label}: field {where!r} = {short(first.get('input'))}: {first['msg']}") from None
            except ValueError as exc:  # an unknown preset
                raise ValueError(f"{label}: {exc}") from None
        return self

    @model_validator(mode="after")
    def _shown_iterations(self) -> Scenario:
        shown = self.image.show_iterations if self.image else None
        allowed = range(self.detectors.iterations + 1)
        if shown and (bad := [i for i in shown if i not in allowed]):
            raise ValueError(
                f"image.show_iterations {bad} outside 0..{self.detectors.iterations} (detectors.iterations); "
                "0 shows only the one-shot detectors"
            )
        return self

    @model_validator(mode="after")
    def _something_to_run(self) -> Scenario:
        if not self.studies:
            raise ValueError(
                "link.snr_db is empty and there is no image, precision, cost or pusch section: give an SNR point"
            )
        return self

    @property
    def studies(self) -> list[str]:
        """The studies this scenario runs: ``ber`` (when ``link.snr_db`` is set), then the optional ones present."""
        ber = ["ber"] if self.link.snr_db else []
        return ber + [s for s in self.OPTIONAL_STUDIES if getattr(self, s) is not None]

    def detector(self, name: str) -> DetectorInfo:
        """The catalogue entry of a detector of this scenario (built-in or analog variant)."""
        return self.detectors.info(name)

    def chip(self, name: str | None = None) -> SolverConfig:
        """The chip of an analog detector: the ``amc`` section, with a variant's changes for a variant name."""
        if name in self.detectors.variants:
            return chip_config(self.detectors.variants[name].amc, base=self.amc)
        return self.amc

    def outer(self, name: str) -> str | None:
        """The outer scheme of an analog detector (None for digital ones)."""
        return self.chip(name).outer if self.detector(name).family == "analog" else None

    @property
    def results_dir(self) -> Path:
        """The results folder: ``output.directory`` or ``results/<name>``."""
        return Path(self.output.directory or Path("results") / self.name)

    def to_yaml(self) -> str:
        """The fully expanded scenario (every default written out) as YAML."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)
