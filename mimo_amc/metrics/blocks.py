"""Running tallies of the coded (PUSCH) link, per detector and reported iteration.

:class:`BlockTally` accumulates, batch by batch: transport-block (TB) errors (a TB is in error when
its CRC fails or any decoded information bit differs), decoded-information-bit errors (coded BER),
hard-decision errors of the detector's LLRs against the scrambled codeword bits (uncoded BER), the
information bits of correctly decoded TBs (goodput), and, where the detector returns estimates,
``sum |x_hat - x|^2`` and ``sum no_eff`` per stream (the soft-output calibration ratio), the
converged flags of the matrices written to the chip and its analog operations per slot. BLER intervals
treat slots as clusters: the ``K`` TBs of a slot share its channel draw and chip writes (:mod:`.intervals`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import torch

from ..amc import OperationCounts
from .intervals import clopper_pearson, design_effect


@dataclass
class _Row:
    slots: int = 0
    tbs: int = 0
    tb_errors: int = 0
    tb_error_sq_sum: float = 0.0
    info_bits: int = 0
    info_bit_errors: int = 0
    coded_bits: int = 0
    coded_bit_errors: int = 0
    goodput_bits: int = 0
    error_energy: torch.Tensor | None = None
    no_eff_sum: torch.Tensor | None = None
    matrices: int = 0
    nonconverged: int = 0
    writes_per_slot: float = math.nan
    lpinv_per_slot: float = math.nan
    hpmvm_per_slot: float = math.nan
    times: dict[str, float] = field(default_factory=dict)


class BlockTally:
    """TB, bit and calibration tallies per ``(detector, iteration)`` row (module docstring).

    Example:
        >>> t = BlockTally()
        >>> ok = torch.tensor([[True, False]])
        >>> bits = torch.zeros(1, 2, 8)
        >>> t.add("lmmse", 0, bits, bits, ok, torch.zeros(1, 2, 16), torch.zeros(1, 2, 16))
        >>> f = t.to_frame()
        >>> int(f.tb_errors[0]), float(f.bler[0])
        (1, 0.5)
    """

    def __init__(self) -> None:
        self._rows: dict[tuple[str, int], _Row] = {}

    def row(self, detector: str, iteration: int) -> _Row:
        """The running row of ``(detector, iteration)`` (created empty)."""
        return self._rows.setdefault((detector, iteration), _Row())

    def add(
        self,
        detector: str,
        iteration: int,
        bits: torch.Tensor,
        decoded: torch.Tensor,
        crc_ok: torch.Tensor,
        coded_bits: torch.Tensor,
        llr: torch.Tensor,
    ) -> None:
        """Add one batch of ``B`` slots.

        Args:
            bits, decoded: ``[B, K, tb_size]`` sent and decoded information bits.
            crc_ok: ``[B, K]`` bool, TB CRC status.
            coded_bits: ``[B, K, n]`` scrambled codeword bits; ``llr [B, K, n]`` the detector's LLRs of them
                (positive: bit 1).
        """
        r = self.row(detector, iteration)
        wrong = (decoded != bits).any(-1) | ~crc_ok  # [B, K]
        per_slot = wrong.sum(-1).double()
        r.slots += wrong.shape[0]
        r.tbs += wrong.numel()
        r.tb_errors += int(wrong.sum())
        r.tb_error_sq_sum += float((per_slot**2).sum())
        r.info_bits += bits.numel()
        r.info_bit_errors += int((decoded != bits).sum())
        r.coded_bits += coded_bits.numel()
        r.coded_bit_errors += int(((llr > 0).to(coded_bits.dtype) != coded_bits).sum())
        r.goodput_bits += int((~wrong).sum()) * bits.shape[-1]

    def add_estimates(
        self,
        detector: str,
        iteration: int,
        x_hat: torch.Tensor,
        x: torch.Tensor,
        no_eff: torch.Tensor,
        converged: torch.Tensor | None = None,
    ) -> None:
        """Add ``sum |x_hat - x|^2`` and ``sum no_eff`` per stream, over every RE and over the REs whose written
        matrix contracts (``converged``, bool; every RE when None); all ``[B, K, n]`` (``n`` data REs)."""
        r = self.row(detector, iteration)
        keep = torch.ones_like(no_eff, dtype=torch.bool) if converged is None else converged.expand(no_eff.shape)
        error = (x_hat - x).abs().square()
        # [2, K]: every RE, converged REs (where() keeps an inf no_eff of another RE out of the converged sum)
        energy = torch.stack([error.sum((0, 2)), torch.where(keep, error, 0).sum((0, 2))]).double().cpu()
        no_eff = torch.stack([no_eff.sum((0, 2)), torch.where(keep, no_eff, 0).sum((0, 2))]).double().cpu()
        r.error_energy = energy if r.error_energy is None else r.error_energy + energy
        r.no_eff_sum = no_eff if r.no_eff_sum is None else r.no_eff_sum + no_eff

    def add_chip(
        self,
        detector: str,
        iteration: int,
        writes: int,
        converged: torch.Tensor | None,
        operations: OperationCounts | None = None,
    ) -> None:
        """Record the Gram matrices formed per slot and, for the chip, ``converged [B, writes]`` and the
        analog ``operations`` per slot (LP-INV applications and HP-MVM products)."""
        r = self.row(detector, iteration)
        r.writes_per_slot = float(writes)
        if operations is not None:
            r.lpinv_per_slot, r.hpmvm_per_slot = float(operations.lpinv), float(operations.hpmvm)
        if converged is not None:
            r.matrices += converged.numel()
            r.nonconverged += int((~converged).sum())

    def add_time(self, detector: str, iteration: int, stage: str, seconds: float) -> None:
        """Add wall time of a receiver stage (``detect``, ``demap``, ``decode``) to a row."""
        times = self.row(detector, iteration).times
        times[stage] = times.get(stage, 0.0) + seconds

    def min_tb_errors(self) -> int:
        """Fewest TB errors over the rows (0 when empty)."""
        return min((r.tb_errors for r in self._rows.values()), default=0)

    @property
    def slots(self) -> int:
        """Slots tallied per row (the same for every row)."""
        return max((r.slots for r in self._rows.values()), default=0)

    def to_frame(self, confidence: float = 0.95, slot_duration_s: float = math.nan) -> pd.DataFrame:
        """One row per ``(detector, iteration)``.

        Columns: ``detector, iteration, slots, tbs, tb_errors, bler, bler_ci_low, bler_ci_high,
        bler_design_effect, coded_ber, uncoded_ber, goodput_bits_per_slot, goodput_mbps,
        writes_per_slot, lpinv_per_slot, hpmvm_per_slot (analog operations; NaN for digital detectors),
        nonconverged_fraction, calibration_median, calibration_min, calibration_max`` (the ratio
        ``E|x_hat - x|^2 / E no_eff`` of each stream over every RE: median, min, max over the streams; NaN for
        detectors without estimates), ``calibration_converged_{median,min,max}`` (the same over the REs whose
        written matrix contracts: a few REs of non-contracting matrices, with errors and estimates many orders
        of magnitude larger, otherwise set both sums) and ``time_<stage>_s`` per slot.
        """
        out = []
        for (det, it), r in self._rows.items():
            deff = design_effect(r.tb_errors, r.tbs, r.slots, r.tb_error_sq_sum)
            lo, hi = clopper_pearson(r.tb_errors, r.tbs, confidence, deff)
            ratio = r.error_energy / r.no_eff_sum if r.error_energy is not None else None
            goodput = r.goodput_bits / max(r.slots, 1)
            row = {
                "detector": det,
                "iteration": it,
                "slots": r.slots,
                "tbs": r.tbs,
                "tb_errors": r.tb_errors,
                "bler": r.tb_errors / max(r.tbs, 1),
                "bler_ci_low": lo,
                "bler_ci_high": hi,
                "bler_design_effect": deff,
                "coded_ber": r.info_bit_errors / max(r.info_bits, 1),
                "uncoded_ber": r.coded_bit_errors / max(r.coded_bits, 1),
                "goodput_bits_per_slot": goodput,
                "goodput_mbps": goodput / slot_duration_s / 1e6,
                "writes_per_slot": r.writes_per_slot,
                "lpinv_per_slot": r.lpinv_per_slot,
                "hpmvm_per_slot": r.hpmvm_per_slot,
                "nonconverged_fraction": r.nonconverged / r.matrices if r.matrices else math.nan,
            }
            for i, prefix in enumerate(("calibration", "calibration_converged")):
                for stat in ("median", "min", "max"):
                    row[f"{prefix}_{stat}"] = float(getattr(ratio[i], stat)()) if ratio is not None else math.nan
            for stage, seconds in r.times.items():
                row[f"time_{stage}_s"] = seconds / max(r.slots, 1)
            out.append(row)
        return pd.DataFrame(out)
