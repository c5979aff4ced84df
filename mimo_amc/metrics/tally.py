"""Running error and solver tallies of the BER study, per detector and reported iteration.

:class:`DetectionTally` accumulates, batch by batch, per detector and per reported iteration: bit
and symbol errors, error vector magnitude, the relative error of the detector's estimate against the
exact float64 solution of the same (ZF or MMSE) system, and, for analog detectors, the fraction of
channel realisations whose programmed matrix does not contract (``rho >= 1``) or contracts slowly
(``rho > 0.5``); for adaptive analog detectors (a stopping rule) also the distribution of iterations
used per solve (mean, 99th percentile, max), the fraction of solves that took the fallback
(the outage) and of channel matrices with such a solve, which fallback it was and the analog
iterations of its re-solves. Its BER intervals
treat channel realisations as clusters (:mod:`.intervals`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import torch

from ..detect import Detection
from .intervals import clopper_pearson, design_effect


@dataclass
class _Row:
    bits: int = 0
    bit_errors: int = 0
    symbols: int = 0
    symbol_errors: int = 0
    error_energy: float = 0.0
    signal_energy: float = 0.0
    solver_error_sum: float = 0.0
    solver_log_error_sum: float = 0.0
    solver_vectors: int = 0
    clusters: int = 0
    error_sq_sum: float = 0.0


@dataclass
class _Solver:
    realizations: int = 0
    diverging: int = 0
    slow: int = 0
    tv_bound: float = 0.0
    iteration_counts: list[int] = field(default_factory=list)  # solves that used k iterations, at index k
    fallbacks: int = 0
    fallback_iterations: int = 0  # analog iterations of the fallbacks' re-solves, summed
    fallback_matrices: int = 0  # channel matrices with at least one fallen-back solve
    fallback_method: str | None = None


ADAPTIVE_COLUMNS = (
    "iterations_mean", "iterations_p99", "iterations_max", "outage_fraction", "matrix_outage_fraction", "fallback",
    "fallback_iterations_mean",
)  # fmt: skip
"""Columns of an adaptive detector's rows (NaN, or None for ``fallback``, for fixed-K and digital rows)."""


def _adaptive_columns(s: _Solver | None) -> dict[str, float | str | None]:
    """Iterations used per solve (mean, p99, max), the outage (fallback) fraction of solves and of channel
    matrices, the fallback method and the mean analog iterations of its re-solves per fallen-back solve; NaN
    (None) for fixed K."""
    solves = sum(s.iteration_counts) if s else 0
    if not solves:
        return {c: None if c == "fallback" else math.nan for c in ADAPTIVE_COLUMNS}
    assert s is not None
    counts = torch.tensor(s.iteration_counts, dtype=torch.float64)
    ks = torch.arange(len(counts), dtype=torch.float64)
    cdf = counts.cumsum(0) / solves
    return {
        "iterations_mean": float((counts * ks).sum() / solves),
        "iterations_p99": float(ks[int(torch.searchsorted(cdf, torch.tensor(0.99, dtype=torch.float64)))]),
        "iterations_max": float(ks[counts > 0].max()),
        "outage_fraction": s.fallbacks / solves,
        "matrix_outage_fraction": s.fallback_matrices / s.realizations,
        "fallback": s.fallback_method,
        "fallback_iterations_mean": s.fallback_iterations / s.fallbacks if s.fallbacks else 0.0,
    }


@dataclass
class DetectionTally:
    """Running totals per ``(detector, iteration)``; see the module docstring."""

    rows: dict[tuple[str, int], _Row] = field(default_factory=dict)
    solvers: dict[str, _Solver] = field(default_factory=dict)

    def add(
        self,
        name: str,
        detection: Detection,
        bits_hat: torch.Tensor,
        bits: torch.Tensor,
        x: torch.Tensor,
        reference: torch.Tensor | None,
    ) -> None:
        """Count one batch.

        Args:
            name: Detector name.
            detection: Its output, ``x_hat [..., I, K]``.
            bits_hat: Decided bits ``[..., I, K, bits_per_symbol]``.
            bits: Transmitted bits ``[..., K, bits_per_symbol]``.
            x: Transmitted symbols ``[..., K]``.
            reference: Exact float64 estimate of the same system ``[..., K]``, or None.
        """
        bit_err = (bits_hat != bits.unsqueeze(-3)).sum(dim=-1)  # [..., I, K]
        # Errors per channel realisation (leading batch dimension): [I, B].
        per_cluster = bit_err.movedim(-2, 0)
        clusters = per_cluster.shape[1] if per_cluster.dim() > 2 else 1
        per_cluster = per_cluster.reshape(per_cluster.shape[0], clusters, -1).sum(-1, dtype=torch.float64)
        error_sq = per_cluster.square().sum(-1)  # [I]
        err = (detection.x_hat - x.unsqueeze(-2)).abs().square()
        n_vec = x[..., 0].numel()
        if reference is not None:
            rel = torch.linalg.vector_norm(detection.x_hat - reference.unsqueeze(-2), dim=-1)
            rel = (rel / torch.linalg.vector_norm(reference, dim=-1).unsqueeze(-1)).flatten(0, -2)  # [vectors, I]
        for i, it in enumerate(detection.iterations):
            row = self.rows.setdefault((name, it), _Row())
            row.bits += bits.numel()
            row.bit_errors += int(bit_err[..., i, :].sum())
            row.clusters += clusters
            row.error_sq_sum += float(error_sq[i])
            row.symbols += x.numel()
            row.symbol_errors += int((bit_err[..., i, :] > 0).sum())
            row.error_energy += float(err[..., i, :].sum())
            row.signal_energy += float(x.abs().square().sum())
            if reference is not None:
                row.solver_error_sum += float(rel[:, i].sum())
                row.solver_log_error_sum += float(torch.log10(rel[:, i].clamp_min(1e-16)).sum())
                row.solver_vectors += n_vec
        result = detection.solver_result
        if result is not None:
            s = self.solvers.setdefault(name, _Solver())
            s.realizations += result.contraction.numel()
            s.diverging += int((~result.converged).sum())
            s.slow += int((result.contraction > 0.5).sum())
            s.tv_bound += float(result.hpmvm_tv_bound.sum())
            if result.stopped is not None:
                used = result.stopped.iterations.flatten().cpu()
                counts = torch.bincount(used, minlength=len(s.iteration_counts)).tolist()
                s.iteration_counts += [0] * (len(counts) - len(s.iteration_counts))
                s.iteration_counts = [a + b for a, b in zip(s.iteration_counts, counts, strict=True)]
                s.fallbacks += int(result.stopped.fallback.sum())
                s.fallback_iterations += int(result.stopped.fallback_iterations.sum())
                per_matrix = result.stopped.fallback.reshape(result.contraction.numel(), -1)
                s.fallback_matrices += int(per_matrix.any(-1).sum())
                s.fallback_method = result.stopped.method

    def min_bit_errors(self) -> int:
        """Fewest bit errors over all rows (drives the stopping rule)."""
        return min((r.bit_errors for r in self.rows.values()), default=0)

    @property
    def bits(self) -> int:
        """Bits simulated per row."""
        return max((r.bits for r in self.rows.values()), default=0)

    def to_frame(self, confidence: float = 0.95) -> pd.DataFrame:
        """One row per ``(detector, iteration)`` with rates, intervals (module docstring) and solver columns."""
        records = []
        for (name, it), r in self.rows.items():
            deff = design_effect(r.bit_errors, r.bits, r.clusters, r.error_sq_sum)
            lo, hi = clopper_pearson(r.bit_errors, r.bits, confidence, deff)
            s = self.solvers.get(name)
            records.append(
                {
                    "detector": name,
                    "iteration": it,
                    "bits": r.bits,
                    "bit_errors": r.bit_errors,
                    "ber": r.bit_errors / r.bits,
                    "ber_ci_low": lo,
                    "ber_ci_high": hi,
                    "ber_design_effect": deff,
                    "symbols": r.symbols,
                    "symbol_errors": r.symbol_errors,
                    "ser": r.symbol_errors / r.symbols,
                    "evm": math.sqrt(r.error_energy / r.signal_energy),
                    "solver_error_mean": r.solver_error_sum / r.solver_vectors if r.solver_vectors else math.nan,
                    "solver_error_geomean": (
                        10 ** (r.solver_log_error_sum / r.solver_vectors) if r.solver_vectors else math.nan
                    ),
                    "realizations": s.realizations if s else math.nan,
                    "nonconverged_fraction": s.diverging / s.realizations if s else math.nan,
                    "slow_fraction": s.slow / s.realizations if s else math.nan,
                    "hpmvm_tv_bound": s.tv_bound if s else math.nan,
                    **_adaptive_columns(s),
                }
            )
        return pd.DataFrame.from_records(records)
