"""Solver precision study: relative error per iteration on Gram systems of Rayleigh channels.

The optional ``precision`` section of a scenario (:class:`PrecisionStudy`) solves ``systems``
real ``n x n`` systems per size ``n``, the real forms of ``H^H H`` with ``H`` an i.i.d. Rayleigh
``(ratio n/2) x n/2`` channel (so ``n = 16`` with ratio 16 is the paper's 128x8 case), with
``b = A x`` for a Gaussian ``x``, on the scenario's chip, for every outer scheme and LP-INV layout
(``blockamc``: the configured INV arrays; ``monolithic``: one ``n x n`` array). Per iteration it
reports the median and 90th-percentile relative error ``||x_k - x|| / ||x||``; per configuration the
average bits gained per iteration, the median contraction factor and the non-converged fraction.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import pandas as pd
import torch
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .amc import AnalogSolver, SolverConfig, complex_to_real_matrix
from .amc.config import OuterScheme


def _even_sizes(sizes: list[int]) -> list[int]:
    for n in sizes:
        if n < 2 or n % 2:
            raise ValueError(f"sizes must be even numbers >= 2 (real forms of complex systems); got {n}")
    return sizes


RealSizes = Annotated[list[int], AfterValidator(_even_sizes)]
"""Sizes of real forms of complex systems: even numbers >= 2."""


class PrecisionStudy(BaseModel):
    """The ``precision`` section of a scenario.

    Example:
        >>> PrecisionStudy(sizes=[16, 32]).antenna_ratio
        16
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    systems: int = Field(256, ge=1, le=100_000, description="Systems per size.")
    sizes: RealSizes = Field(default_factory=lambda: [16], min_length=1, description="Real unknowns n (even).")
    antenna_ratio: int = Field(16, ge=1, le=256, description="M/K of the Rayleigh channel (16: 128x8 at n=16).")
    iterations: int = Field(10, ge=1, le=200)
    schemes: list[OuterScheme] = Field(default_factory=lambda: ["richardson"], min_length=1)
    layouts: list[Literal["blockamc", "monolithic"]] = Field(default_factory=lambda: ["blockamc"], min_length=1)


def rayleigh_grams(systems: int, n: int, ratio: int, generator: torch.Generator) -> torch.Tensor:
    """``A [systems, n, n]``: real forms of ``H^H H``, ``H`` i.i.d. Rayleigh ``(ratio n/2) x (n/2)``."""
    k = n // 2
    h = torch.complex(*torch.randn(2, systems, ratio * k, k, generator=generator, dtype=torch.float64)) / math.sqrt(2)
    return complex_to_real_matrix(h.mH @ h)


def rayleigh_systems(systems: int, n: int, ratio: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A [systems, n, n], x [systems, n])``: :func:`rayleigh_grams` and Gaussian solutions."""
    a = rayleigh_grams(systems, n, ratio, generator)
    return a, torch.randn(systems, n, generator=generator, dtype=torch.float64)


def run_precision(study: PrecisionStudy, solver: SolverConfig, seed: int, device: str = "cpu") -> pd.DataFrame:
    """One row per (size, layout, scheme, iteration); see the module docstring."""
    rows = []
    for n in study.sizes:
        a, x = rayleigh_systems(study.systems, n, study.antenna_ratio, torch.Generator().manual_seed(seed + n))
        b = (a @ x.unsqueeze(-1)).squeeze(-1)
        for layout in study.layouts:
            for scheme in study.schemes:
                chip = solver.model_copy(update={"outer": scheme, "iterations": study.iterations})
                if layout == "monolithic":
                    chip = chip.single_array(n)
                result = AnalogSolver(chip, device=device, seed=seed).solve(a, b)
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
