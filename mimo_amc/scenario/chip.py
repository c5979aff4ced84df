"""The chip of a scenario: the ``amc`` section, a named preset, and changes on top of either.

Example:
    >>> chip_config({"preset": "zuo2025_4bit", "lpinv": {"prog_sigma": 0.02}}).device.bits
    4
    >>> chip_config({"device": {"bits": 2}}, base=chip_config({"preset": "ideal"})).ideal
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..amc import SolverConfig, preset


def merge(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied recursively (nested mappings merge, other values replace)."""
    out = dict(base)
    for key, value in changes.items():
        old = out.get(key)
        out[key] = merge(old, value) if isinstance(value, Mapping) and isinstance(old, Mapping) else value
    return out


def resolve_preset(data: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An ``amc`` mapping with its ``preset`` key (if any) expanded: the named chip, then the other keys.

    Without a preset the keys apply to ``base`` (default: nothing, i.e. the field defaults).

    Raises:
        ValueError: for an unknown preset name or a preset that is not a string.
    """
    rest = {k: v for k, v in data.items() if k != "preset"}
    if "preset" not in data:
        return merge(base or {}, rest)
    name = data["preset"]
    if not isinstance(name, str):
        raise ValueError(f"preset must be the name of a chip preset; got {name!r}")
    return merge(preset(name).model_dump(), rest)


def chip_config(changes: Mapping[str, Any], base: SolverConfig | None = None) -> SolverConfig:
    """The :class:`SolverConfig` of ``changes`` (which may name a ``preset``) applied to ``base``."""
    return SolverConfig.model_validate(resolve_preset(changes, base.model_dump() if base else None))
