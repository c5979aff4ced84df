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

MAX_FILE_BYTES = 1_000_000
"""Largest scenario file read (a scenario is a few hundred bytes)."""

MAX_NODES = 100_000
"""Most values (scalars, list items, mapping entries) a scenario may hold once YAML aliases are expanded:
a few nested aliases can otherwise expand a 400-byte file into billions of values."""


def decode(raw: bytes, source: str) -> str:
    """The text of a scenario file: UTF-8 (optionally with a BOM), or UTF-16/32 with a BOM.

    Raises:
        ScenarioError: naming the line and byte of the first invalid UTF-8 sequence.
    """
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
                       (b"\xfe\xff", "utf-16")):  # fmt: skip
        if raw.startswith(bom):
            try:
                return raw.decode(codec)
            except UnicodeDecodeError as exc:
                raise ScenarioError(f"{source}: not valid {codec.upper()} text ({exc.reason}).") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            f"{source}: line {line}: byte {raw[exc.start]:#04x} at offset {exc.start} is not valid UTF-8; "
            "save the file as UTF-8 text."
        ) from None


def check_size(data: Any, source: str, limit: int = MAX_NODES) -> None:
    """Refuse data with more than ``limit`` values once aliases are expanded (counted with an early exit)."""
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        count += 1
        if count > limit:
            raise ScenarioError(
                f"{source}: more than {limit} values once YAML anchors and aliases are expanded; a scenario "
                "needs far fewer (is an alias nested in itself, or repeated many times?)."
            )
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


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
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(f"{path}: {len(raw)} bytes; a scenario file may have at most {MAX_FILE_BYTES}.")
    try:
        data = yaml.safe_load(decode(raw, str(path)))
    except RecursionError:
        raise ScenarioError(f"{path}: nested too deeply to be a scenario.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(f"{path}: malformed YAML{where}: {getattr(exc, 'problem', exc)}.") from None
    if data is None:
        data = {}
    check_size(data, str(path))
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
        if key.split(".")[0] in ("name", "description", "sweep", "output"):
            raise ScenarioError(
                f"{source}: sweep key {key!r}: only experiment parameters can be swept (link, detectors, amc, "
                "monte_carlo and the study sections); every point of a sweep shares the name and the results folder."
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
    except RecursionError:
        raise ScenarioError(f"{source}: --set {key}: the value is nested too deeply.") from None
    except yaml.YAMLError:
        raise ScenarioError(f"{source}: --set {item!r}: the value {raw!r} is not valid YAML.") from None
    check_size(value, f"{source}: --set {key}")
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
