"""Scenario files: YAML -> validated :class:`Scenario`, command-line overrides, sweeps.

A scenario has the sections ``link`` (:class:`~mimo_amc.link.LinkConfig`), ``detectors``
(:class:`~mimo_amc.detect.DetectorsConfig`), ``amc`` (:class:`~mimo_amc.amc.SolverConfig`),
``monte_carlo`` (:class:`~mimo_amc.montecarlo.MonteCarloConfig`), ``sweep``
(:class:`SweepConfig`), optional ``image`` (:class:`~mimo_amc.imaging.ImageConfig`), ``precision``
(:class:`~mimo_amc.precision.PrecisionStudy`) and ``cost`` (:class:`~mimo_amc.costs.CostStudy`), and
``output``. Every problem is reported before anything runs, as one :class:`ScenarioError` paragraph that names the file,
the field path (``amc.device.bits``), the value given and what is allowed.

Example:
    >>> s = scenario_from_dict({"name": "demo", "sweep": {"grid": {"amc.device.bits": [3, 4]}}}, "demo.yaml")
    >>> [p.overrides for p in sweep_points(s)]
    [{'amc.device.bits': 3}, {'amc.device.bits': 4}]
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .amc import SolverConfig
from .costs import CostStudy
from .detect import DetectorsConfig
from .imaging import ImageConfig
from .link import LinkConfig
from .montecarlo import MonteCarloConfig
from .precision import PrecisionStudy


class ScenarioError(Exception):
    """A scenario that cannot run; the message says where, what was given and what is allowed."""


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SweepConfig(_Config):
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
    def _non_empty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in v.items():
            if not values:
                raise ValueError(f"the sweep over {key!r} has no values; give at least one")
        return v

    @model_validator(mode="after")
    def _zip_lengths(self) -> SweepConfig:
        lengths = {k: len(v) for k, v in self.zip.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"zip lists must have equal lengths; got {lengths}")
        if both := sorted(set(self.grid) & set(self.zip)):
            raise ValueError(f"{both} appear in both grid and zip; sweep each key in one of them")
        return self


class OutputConfig(_Config):
    """Where and in which formats results are written."""

    directory: str | None = Field(None, description="Results folder; default results/<scenario name>.")
    figures: list[Literal["png", "pdf"]] = Field(default_factory=lambda: ["png", "pdf"], min_length=1)


class Scenario(_Config):
    """A complete, validated experiment."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Used as the results folder name.")
    description: str = ""
    link: LinkConfig = Field(default_factory=LinkConfig)
    detectors: DetectorsConfig = Field(default_factory=DetectorsConfig)
    amc: SolverConfig = Field(default_factory=SolverConfig)
    monte_carlo: MonteCarloConfig = Field(default_factory=MonteCarloConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)
    image: ImageConfig | None = Field(None, description="Also send an image over the link (optional).")
    precision: PrecisionStudy | None = Field(None, description="Also measure solver precision per iteration.")
    cost: CostStudy | None = Field(None, description="Also project hardware cost against measured digital solves.")
    output: OutputConfig = Field(default_factory=OutputConfig)

    @model_validator(mode="after")
    def _variants(self) -> Scenario:
        for name, variant in self.detectors.variants.items():
            try:
                variant.solver(self.amc)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise ValueError(
                    f"detectors.variants.{name}.amc: field {where!r} = {first.get('input')!r}: {first['msg']}"
                ) from None
        return self

    @model_validator(mode="after")
    def _iterations_in_one_place(self) -> Scenario:
        where = [f"detectors.variants.{n}.amc" for n, v in self.detectors.variants.items() if "iterations" in v.amc]
        if self.amc.iterations != SolverConfig.model_fields["iterations"].default:
            where.insert(0, "amc")
        if where:
            raise ValueError(
                f"{where[0]}.iterations is not used in a scenario: detectors.iterations sets the iterations of "
                "every iterative detector (the precision and cost sections have their own iterations)"
            )
        return self

    @model_validator(mode="after")
    def _something_to_run(self) -> Scenario:
        if not self.link.snr_db and self.image is None and self.precision is None and self.cost is None:
            raise ValueError("link.snr_db is empty and there is no image, precision or cost section: give an SNR point")
        return self

    @property
    def results_dir(self) -> Path:
        return Path(self.output.directory or Path("results") / self.name)

    def to_yaml(self) -> str:
        """The fully expanded scenario (every default written out) as YAML."""
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


@dataclass(frozen=True)
class SweepPoint:
    """One resolved configuration of a sweep.

    Attributes:
        index: Position in the sweep.
        overrides: The sweep's assignment ``{dotted key: value}``.
        scenario: The scenario with the assignment applied.
        key: Stable hash of everything that determines its results (not the SNR list).
        seed: Seed of the point, derived from ``monte_carlo.seed`` and ``key``.
    """

    index: int
    overrides: dict[str, Any]
    scenario: Scenario
    key: str
    seed: int

    def snr_seed(self, snr_db: float) -> int:
        """Seed of one SNR point (depends on the value, not on its position in the list)."""
        return derive_seed(self.seed, repr(float(snr_db)))

    def section_key(self, section: str) -> str:
        """Hash of a study section (``image``, ``precision``; 8 hex digits), naming its unit."""
        config = getattr(self.scenario, section)
        return hashlib.sha256((config.model_dump_json() if config else "").encode()).hexdigest()[:8]


def derive_seed(*parts: object) -> int:
    """A 31-bit seed from a stable hash of ``parts``."""
    return int(hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


# ----------------------------------------------------------------------- loading
def load_scenario(path: str | Path, overrides: typing.Sequence[str] = ()) -> Scenario:
    """Read, override (``KEY=VALUE``, YAML-typed values) and validate a scenario file.

    Raises:
        ScenarioError: for a missing or malformed file, a bad override or any invalid field
            (also of every sweep point).
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"{path}: no such scenario file.")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{path}: malformed YAML{where}: {getattr(exc, 'problem', exc)}.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: the top level must be a mapping of sections (link, detectors, amc, ...).")
    data.setdefault("name", path.stem)
    for item in overrides:
        apply_override(data, item, str(path))
    return scenario_from_dict(data, str(path))


def scenario_from_dict(data: dict[str, Any], source: str) -> Scenario:
    """Validate a scenario mapping (and every sweep point); ``source`` names it in errors."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_explain(exc, source)) from None
    for key in [*scenario.sweep.grid, *scenario.sweep.zip]:
        _check_path(key.split("."), source, f"sweep key {key!r}")
    sweep_points(scenario, source)
    return scenario


def apply_override(data: dict[str, Any], item: str, source: str) -> None:
    """Apply one ``--set KEY=VALUE`` to a scenario mapping (in place)."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ScenarioError(f"{source}: --set {item!r}: expected KEY=VALUE, e.g. --set amc.device.bits=4.")
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        raise ScenarioError(f"{source}: --set {item!r}: the value {raw!r} is not valid YAML.") from None
    parts = key.split(".")
    _check_path(parts, source, f"--set {key}")
    _assign(data, parts, value)


def _assign(data: dict[str, Any], parts: list[str], value: Any) -> None:
    for p in parts[:-1]:
        nxt = data.get(p)
        if not isinstance(nxt, dict):
            nxt = data[p] = {}
        data = nxt
    data[parts[-1]] = value


def _model_of(annotation: Any) -> type[BaseModel] | type[dict] | None:
    """The model (or dict) type inside a field annotation such as ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is dict:
        return dict
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _check_path(parts: list[str], source: str, what: str) -> None:
    model: type[BaseModel] | type[dict] | None = Scenario
    for depth, part in enumerate(parts):
        if model is dict:
            return
        if model is None:
            raise ScenarioError(
                f"{source}: {what}: {'.'.join(parts[:depth])!r} is a value, not a section, so it has no field {part!r}."
            )
        fields = model.model_fields
        if part not in fields:
            raise ScenarioError(
                f"{source}: {what}: unknown field {'.'.join(parts[: depth + 1])!r}. {_hint(part, fields)}"
            )
        model = _model_of(fields[part].annotation)


def _hint(name: str, allowed: typing.Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(name, allowed, n=1)
    maybe = f"Did you mean {close[0]!r}? " if close else ""
    return f"{maybe}Allowed: {', '.join(allowed)}."


def _child(annotation: Any, key: str | int) -> Any:
    """The annotation of field/item ``key`` inside ``annotation`` (models, dicts, lists, optionals)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = inner[0] if inner else annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(key) if isinstance(key, str) else None
        return field.annotation if field else None
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict and len(args) == 2:
        return args[1]
    if typing.get_origin(annotation) is list and args:
        return args[0]
    return None


def _explain(exc: ValidationError, source: str) -> str:
    """One paragraph per problem: file, field path, value given, what is allowed."""
    lines = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        msg = err["msg"].removeprefix("Value error, ")
        if not loc:
            lines.append(f"{source}: {msg}.")
            continue
        if err["type"] == "extra_forbidden":
            parent: Any = Scenario
            for p in err["loc"][:-1]:
                parent = _child(parent, p)
            model = _model_of(parent)
            allowed = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
            lines.append(f"{source}: field {loc!r}: unknown field. {_hint(str(err['loc'][-1]), allowed)}")
            continue
        given = err.get("input")
        shown = "" if isinstance(given, dict) else f" = {given!r}"
        lines.append(f"{source}: field {loc!r}{shown}: {msg}.")
    return " ".join(lines)


# ----------------------------------------------------------------------- sweeps
def sweep_points(scenario: Scenario, source: str = "sweep") -> list[SweepPoint]:
    """Every resolved configuration of the scenario's sweep (one point if there is none)."""
    grid, zipped = scenario.sweep.grid, scenario.sweep.zip
    grid_rows = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    zip_rows = [dict(zip(zipped, values, strict=True)) for values in zip(*zipped.values(), strict=True)] or [{}]
    base = scenario.model_dump(mode="json")
    points = []
    for index, (g, z) in enumerate(itertools.product(grid_rows, zip_rows)):
        overrides = {**g, **z}
        data = json.loads(json.dumps(base))
        for key, value in overrides.items():
            _assign(data, key.split("."), value)
        try:
            resolved = Scenario.model_validate(data)
        except ValidationError as exc:
            where = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
            raise ScenarioError(f"{source}: sweep point {index} ({where}): {_explain(exc, 'scenario')}") from None
        key = config_key(resolved)
        points.append(SweepPoint(index, overrides, resolved, key, derive_seed(scenario.monte_carlo.seed, key)))
    return points


def config_key(scenario: Scenario) -> str:
    """Hash of everything that determines a point's BER results: not the SNR list, not the image (12 hex)."""
    data = scenario.model_dump(
        mode="json", exclude={"name", "description", "sweep", "output", "image", "precision", "cost"}
    )
    data["link"].pop("snr_db")
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
