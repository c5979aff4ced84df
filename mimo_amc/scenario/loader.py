"""Scenario files: YAML -> validated :class:`~.schema.Scenario`, ``--set`` overrides, error messages.

Every problem is reported before anything runs, as one :class:`ScenarioError` paragraph that names
the file, the field path (``amc.device.bits``), the value given and what is allowed.

Example:
    >>> s = scenario_from_dict({"name": "demo", "amc": {"preset": "zuo2025_4bit"}}, "demo.yaml")
    >>> s.amc.device.bits
    4
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .errors import ScenarioError, explain, hint, model_of
from .schema import Scenario
from .sweep import assign, sweep_points


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
        raise ScenarioError(explain(exc, source)) from None
    for key in [*scenario.sweep.grid, *scenario.sweep.zip]:
        if key == "amc.preset" or key.endswith(".amc.preset"):
            raise ScenarioError(
                f"{source}: sweep key {key!r}: a preset cannot be swept (it replaces the whole chip); compare "
                "chips with detectors.variants (amc: {preset: NAME}) instead."
            )
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
    if key != "amc.preset":  # the one key that is not a field: it names a chip (mimo_amc.amc.presets)
        _check_path(parts, source, f"--set {key}")
    assign(data, parts, value)


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
                f"{source}: {what}: unknown field {'.'.join(parts[: depth + 1])!r}. {hint(part, fields)}"
            )
        model = model_of(fields[part].annotation)
