"""Sweeps and seeds: the resolved configuration of every sweep point, and the seeds derived from it.

Example:
    >>> from mimo_amc.scenario import scenario_from_dict
    >>> s = scenario_from_dict({"name": "demo", "sweep": {"grid": {"amc.device.bits": [3, 4]}}}, "demo.yaml")
    >>> [p.overrides for p in sweep_points(s)]
    [{'amc.device.bits': 3}, {'amc.device.bits': 4}]
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..amc import WireConfig
from .errors import ScenarioError, explain
from .schema import Scenario, short


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
            assign(data, key.split("."), value)
        try:
            resolved = Scenario.model_validate(data)
        except ValidationError as exc:
            where = ", ".join(f"{k}={short(v)}" for k, v in overrides.items())
            raise ScenarioError(f"{source}: sweep point {index} ({where}): {explain(exc, 'scenario')}") from None
        key = config_key(resolved)
        points.append(SweepPoint(index, overrides, resolved, key, derive_seed(scenario.monte_carlo.seed, key)))
    return points


KEY_LEGACY: dict[str, dict[str, Any]] = {"amc": {"iterations": 10}}
"""Fields that schema 1 hashed into :func:`config_key` and that have left the schema since, with the
only value a valid scenario could give them (``amc.iterations`` was fixed at its default). They stay
in the hash so that every stored result keeps its key and its seeds across versions."""


KEY_ADDED: dict[str, dict[str, Any]] = {"amc": {"wires": WireConfig().model_dump(mode="json"), "stopping": None}}
"""Fields added to the schema after results were stored, with their defaults: left out of
:func:`config_key` while at the default, so that those results keep their keys and seeds."""


def config_key(scenario: Scenario) -> str:
    """Hash of everything that determines a point's BER results (12 hex digits).

    Not the SNR list, the memory budget, the study sections, names or output; :data:`KEY_LEGACY` keeps the keys of
    earlier versions.
    """
    data = scenario.model_dump(
        mode="json", exclude={"name", "description", "sweep", "output", *Scenario.OPTIONAL_STUDIES}
    )
    data["link"].pop("snr_db")
    data["monte_carlo"].pop("max_memory_gb")  # a guard, not a parameter of the results
    for section, fields in KEY_LEGACY.items():
        data[section] |= fields
    for section, fields in KEY_ADDED.items():
        for name, default in fields.items():
            if data[section][name] == default:
                del data[section][name]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]


def assign(data: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set the dotted path ``parts`` of a nested mapping to ``value`` (creating sections on the way)."""
    for p in parts[:-1]:
        nxt = data.get(p)
        if not isinstance(nxt, dict):
            nxt = data[p] = {}
        data = nxt
    data[parts[-1]] = value
