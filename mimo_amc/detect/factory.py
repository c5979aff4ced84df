"""Detectors from catalogue names: the only place where a name becomes an equalizer object.

What a name means (kind, family, precision, method) is the catalogue's
(:mod:`mimo_amc.scenario.detectors`); this module builds the matching equalizer.
"""

from __future__ import annotations

from typing import Literal

import torch

from ..amc import DEFAULT_ITERATIONS, SolverConfig
from ..scenario import CATALOGUE, DetectorInfo, Scenario, derive_seed
from .equalizers import AnalogEqualizer, DigitalEqualizer, Equalizer, SionnaEqualizer
from .iterative import IterativeEqualizer


def build_detector(
    info: DetectorInfo,
    *,
    iterations: int = DEFAULT_ITERATIONS,
    solver: SolverConfig | None = None,
    device: torch.device | str | None = None,
    seed: int | None = None,
    soft_output: Literal["exact", "residual"] = "exact",
    bits_per_symbol: int | None = None,
) -> Equalizer:
    """The equalizer of a catalogue entry.

    Args:
        info: Catalogue entry (a built-in detector or an analog variant).
        iterations: Iterations of the iterative and analog detectors.
        solver: Chip of an analog detector (default :class:`SolverConfig`).
        device: Device of the analog solver.
        seed: Seed of the analog solver.
        soft_output: Soft outputs of an analog or iterative detector (see :class:`AnalogEqualizer`,
            :class:`IterativeEqualizer`).
        bits_per_symbol: The link's bits per symbol (an analog detector's constellation-derived stopping tolerance).
    """
    if info.family == "sionna":
        return SionnaEqualizer("zf" if info.kind == "zf" else "lmmse")
    if info.family == "digital":
        return DigitalEqualizer(info.kind, info.precision)
    if info.family == "analog":
        return AnalogEqualizer(
            info.kind, solver, iterations=iterations, device=device, seed=seed, name=info.name,
            soft_output=soft_output, bits_per_symbol=bits_per_symbol,
        )  # fmt: skip
    return IterativeEqualizer(info.method, info.kind, iterations, soft_output)  # type: ignore[arg-type]


def make_detector(
    name: str,
    *,
    iterations: int = DEFAULT_ITERATIONS,
    solver: SolverConfig | None = None,
    device: torch.device | str | None = None,
    seed: int | None = None,
) -> Equalizer:
    """A built-in detector by name (see :data:`~mimo_amc.scenario.CATALOGUE`).

    Example:
        >>> make_detector("cg_mmse", iterations=3).name
        'cg_mmse'
    """
    if name not in CATALOGUE:
        raise ValueError(f"unknown detector {name!r}; choose from {', '.join(CATALOGUE)}")
    return build_detector(CATALOGUE[name], iterations=iterations, solver=solver, device=device, seed=seed)


def make_detectors(
    scenario: Scenario,
    seed: int,
    device: torch.device | str,
    soft_output: Literal["exact", "residual"] = "exact",
    bits_per_symbol: int | None = None,
) -> list[Equalizer]:
    """Every detector of a scenario (``detectors.names``, then the analog variants), each seeded from ``seed``
    (``soft_output``: of the analog and iterative detectors; ``bits_per_symbol``: of the constellation detected,
    default the link's)."""
    names = [*scenario.detectors.names, *scenario.detectors.variants]
    return [
        build_detector(
            scenario.detector(name),
            iterations=scenario.detectors.iterations,
            solver=scenario.chip(name),
            device=device,
            seed=derive_seed(seed, name),
            soft_output=soft_output,
            bits_per_symbol=bits_per_symbol or scenario.link.bits_per_symbol,
        )
        for name in names
    ]
