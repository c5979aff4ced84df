"""The solver-accuracy study: relative error per iteration on Gram systems of Rayleigh channels.

The optional ``precision`` section of a scenario (:class:`~mimo_amc.scenario.AccuracyConfig`) solves ``systems``
real ``n x n`` systems per size ``n``, the real forms of ``H^H H`` with ``H`` an i.i.d. Rayleigh
``(ratio n/2) x n/2`` channel (so ``n = 16`` with ratio 16 is the paper's 128x8 case), with
``b = A x`` for a Gaussian ``x``, on the scenario's chip, for every outer scheme and LP-INV layout
(``blockamc``: the configured INV arrays; ``monolithic``: one ``n x n`` array). Per iteration it
reports the median and 90th-percentile relative error ``||x_k - x|| / ||x||``; per configuration the
average bits gained per iteration, the median contraction factor and the non-converged fraction.
"""

from __future__ import annotations

import math
from typing import ClassVar

import pandas as pd
import torch

from ..amc import AnalogSolver, SolverConfig, complex_to_real_matrix
from ..scenario import AccuracyConfig, Scenario, SweepPoint, derive_seed
from .base import Progress, Unit, UnitResult, section_unit


def rayleigh_grams(systems: int, n: int, ratio: int, generator: torch.Generator) -> torch.Tensor:
    """``A [systems, n, n]``: real forms of ``H^H H``, ``H`` i.i.d. Rayleigh ``(ratio n/2) x (n/2)``."""
    k = n // 2
    h = torch.complex(*torch.randn(2, systems, ratio * k, k, generator=generator, dtype=torch.float64)) / math.sqrt(2)
    return complex_to_real_matrix(h.mH @ h)


def rayleigh_systems(systems: int, n: int, ratio: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A [systems, n, n], x [systems, n])``: :func:`rayleigh_grams` and Gaussian solutions."""
    a = rayleigh_grams(systems, n, ratio, generator)
    return a, torch.randn(systems, n, generator=generator, dtype=torch.float64)


def run_accuracy(
    study: AccuracyConfig, solver: SolverConfig, seed: int, device: torch.device | str = "cpu"
) -> pd.DataFrame:
    """One row per (size, layout, scheme, iteration); see the module docstring."""
    rows = []
    for n in study.sizes:
        a, x = rayleigh_systems(study.systems, n, study.antenna_ratio, torch.Generator().manual_seed(seed + n))
        b = (a @ x.unsqueeze(-1)).squeeze(-1)
        for layout in study.layouts:
            for scheme in study.schemes:
                chip = solver.model_copy(update={"outer": scheme})
                if layout == "monolithic":
                    chip = chip.single_array(n)
                result = AnalogSolver(chip, device=device, seed=seed).solve(a, b, study.iterations)
                err = torch.linalg.vector_norm(result.iterates.cpu() - x.unsqueeze(-2), dim=-1)
                err = err / torch.linalg.vector_norm(x, dim=-1, keepdim=True)  # [systems, K]
                median = err.median(dim=0).values
                last = min(8, study.iterations)
                gain = math.log2(median[0] / median[last - 1]) / (last - 1) if last > 1 else math.nan
                contraction = result.contraction.cpu()
                for k in range(study.iterations):
                    rows.append(
                        {
                            "n": n,
                            "layout": layout,
                            "scheme": scheme,
                            "iteration": k + 1,
                            "median_error": float(median[k]),
                            "p90_error": float(err[:, k].quantile(0.9)),
                            "bits_per_iteration": gain,
                            "median_contraction": float(contraction.median()),
                            "nonconverged_fraction": float((~result.converged.cpu()).double().mean()),
                            "systems": study.systems,
                        }
                    )
    return pd.DataFrame(rows)


class AccuracyStudy:
    """The ``precision`` section: one unit per sweep point (every size, layout and scheme)."""

    name: ClassVar[str] = "precision"
    table: ClassVar[str] = "precision"

    def units(self, point: SweepPoint) -> list[Unit]:
        return [section_unit(self.name, point, "precision", derive_seed(point.seed, "precision"))]

    def check(self, scenario: Scenario) -> None:
        return None

    def memory_bytes(self, scenario: Scenario) -> int:
        study = scenario.precision
        assert study is not None
        n = max(study.sizes)
        hpmvm = scenario.amc.hpmvm.num_slices * 4 * 2  # float32 slice deviations, and their tiles
        return study.systems * (8 * n * n * (12 + hpmvm) + 8 * n * study.iterations * 4)

    def run(self, scenario: Scenario, unit: Unit, device: torch.device | str, progress: Progress | None) -> UnitResult:
        assert scenario.precision is not None
        return UnitResult(run_accuracy(scenario.precision, scenario.amc, unit.seed, device))
