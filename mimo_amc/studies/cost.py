"""The cost study: analog latency and energy per solve against digital solves measured here.

The optional ``cost`` section of a scenario (:class:`~mimo_amc.scenario.CostStudyConfig`) evaluates
the chip's cost model (:mod:`mimo_amc.amc.cost`) for every system size, outer scheme, LP-INV layout
and timing mode, and measures batched ``torch.linalg.solve``/``inv`` on this machine (float32 and
float64, CPU and CUDA when present, :mod:`.digital`). One unit per sweep point; its table has one
row per (layout, timing, scheme, N) (analog ns and nJ per solve under the slow, 16 MHz, and the fast,
300 MHz, op-amp, the energy by kind and stage, the scheme's operations per iteration, the measured
digital solves/s and the throughput ratio); its extra tables are every digital measurement
(``digital``) and the settling rates of actually programmed arrays (``rates``). Quoted literature
figures (:mod:`.quoted`) are never mixed into them.

Layouts: ``blockamc`` uses the configured INV array size (8x8 arrays, BlockAMC above);
``monolithic`` gives every N its own N x N INV array, as the paper's time-complexity argument
assumes (analog time per iteration independent of N in the fixed-time mode).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from ..amc import AnalogSolver, SolverConfig, default_device, lpinv_settling, operation_counts, solve_cost
from ..amc.config import OuterScheme
from ..amc.cost import (
    OPAMPS,
    AdaptiveLoad,
    CostConfig,
    OperationCountsLike,
    detected_bits_per_s,
    receiver_budget,
    speed_at_energy_kmh,
)
from ..amc.cost.receiver import speed_for_coherence_kmh
from ..scenario import CostStudyConfig, Scenario, SweepPoint, chip_config
from ..scenario.studies import Layout
from .accuracy import rayleigh_grams
from .base import Progress, Unit, UnitResult, section_unit
from .digital import available_devices, best_digital, measure_digital
from .quoted import quoted_figures_table


def comparison_table(
    digital: pd.DataFrame | None = None,
    sizes: Sequence[int] = (8, 16, 32, 64, 128, 256),
    iterations: int = 3,
    cost: CostConfig | None = None,
    solver: SolverConfig | None = None,
    counts: OperationCountsLike | Sequence[OperationCountsLike] | None = None,
    opamps: Mapping[str, float] = OPAMPS,
    digital_device: str = "cpu",
    digital_dtype: str = "float32",
    bits_per_symbol: int = 8,
) -> pd.DataFrame:
    """Analog cost per solve for every ``n`` under each op-amp, against the measured digital rate.

    Args:
        digital: Output of :func:`measure_digital` (None: digital columns are NaN).
        sizes: System sizes ``n`` (real unknowns).
        iterations, cost, solver, counts: As in :func:`solve_cost`; ``cost.gbwp_hz`` is replaced
            by each entry of ``opamps``.
        opamps: Label -> GBWP in Hz; every analog column is suffixed ``_<label>``.
        digital_device, digital_dtype: Which measured rows to compare with; per ``n`` the best
            solves/s over ops and batch sizes is used.
        bits_per_symbol: For the MIMO columns: ``n = 2 K`` real unknowns detect ``K = n // 2``
            users' symbols of this many bits per solve.

    Returns:
        One row per ``n``: ``n``, ``iterations``; per op-amp label ``analog_ns_per_solve``,
        ``analog_ns_per_iteration``, ``analog_solves_per_s``, ``analog_nj_per_solve``, time parts
        ``t_lpinv_ns``, ``t_hpmvm_ns``, ``t_digital_ns``, energy parts by kind ``e_dac_nj``,
        ``e_adc_nj``, ``e_opamp_nj``, ``e_array_nj``, ``e_digital_nj`` and by stage
        ``e_lpinv_nj``, ``e_hpmvm_nj``, ``e_vector_nj``, MIMO ``analog_gbps`` and
        ``analog_pj_per_bit``, and ``ratio`` (analog / digital throughput); then
        ``digital_solves_per_s``, ``digital_op``, ``digital_batch`` (measured).
    """
    cost = cost or CostConfig()
    best = pd.DataFrame(columns=["n", "solves_per_s", "op", "batch"])
    if digital is not None and len(digital):
        sel = digital[(digital["device"] == digital_device) & (digital["dtype"] == digital_dtype)]
        if len(sel):
            best = best_digital(sel)
    rows = []
    for n in sizes:
        row: dict[str, Any] = {"n": n, "iterations": iterations}
        match = best[best["n"] == n]
        dig = float(match["solves_per_s"].iloc[0]) if len(match) else math.nan
        for label, gbwp in opamps.items():
            c = solve_cost(n, iterations, cost.model_copy(update={"gbwp_hz": gbwp}), solver, counts)
            bits = detected_bits_per_s(1.0, n // 2, bits_per_symbol)  # per solve
            row |= {
                f"analog_ns_per_solve_{label}": c.time_s * 1e9,
                f"analog_ns_per_iteration_{label}": c.time_s * 1e9 / iterations,
                f"analog_solves_per_s_{label}": c.solves_per_s,
                f"analog_nj_per_solve_{label}": c.energy_j * 1e9,
                f"t_lpinv_ns_{label}": c.lpinv_s * 1e9,
                f"t_hpmvm_ns_{label}": c.hpmvm_s * 1e9,
                f"t_digital_ns_{label}": c.digital_s * 1e9,
                **{f"e_{k}_nj_{label}": getattr(c, f"{k}_j") * 1e9 for k in ("dac", "adc", "opamp", "array")},
                f"e_digital_nj_{label}": c.digital_j * 1e9,
                **{f"e_{k}_nj_{label}": getattr(c, f"{k}_j") * 1e9 for k in ("lpinv", "hpmvm", "vector")},
                f"analog_gbps_{label}": c.solves_per_s * bits / 1e9,
                f"analog_pj_per_bit_{label}": c.energy_j / bits * 1e12,
                f"ratio_{label}": c.solves_per_s / dig,
            }
        row |= {
            "digital_solves_per_s": dig,
            "digital_op": match["op"].iloc[0] if len(match) else None,
            "digital_batch": int(match["batch"].iloc[0]) if len(match) else None,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def crossover_n(table: pd.DataFrame, label: str = "slow") -> float | None:
    """Smallest ``n`` where the analog throughput reaches the measured digital one.

    Interpolated linearly in ``log n`` vs ``log ratio`` between the first grid points where
    ``ratio_<label>`` goes from below 1 to at least 1; the first grid ``n`` if the analog is
    already ahead there; None if it never is (or no digital figure exists).

    Example:
        >>> t = pd.DataFrame({"n": [8, 16, 32], "ratio_slow": [0.5, 2.0, 4.0]})
        >>> round(crossover_n(t), 4)
        11.3137
    """
    t = table[["n", f"ratio_{label}"]].dropna().sort_values("n")
    n, r = t["n"].to_numpy(dtype=float), t[f"ratio_{label}"].to_numpy(dtype=float)
    for i in range(len(n)):
        if r[i] >= 1:
            if i == 0:
                return float(n[0])
            x0, x1, y0, y1 = np.log(n[i - 1]), np.log(n[i]), np.log(r[i - 1]), np.log(r[i])
            return float(np.exp(x0 + (0 - y0) * (x1 - x0) / (y1 - y0)))
    return None


def scaling_exponents(table: pd.DataFrame, labels: Sequence[str] = tuple(OPAMPS)) -> dict[str, float]:
    """Fitted exponents ``p`` of ``time ~ n^p`` over the table's ``n`` grid (least squares in log-log).

    Returns:
        ``analog_<label>``: analog time per iteration; ``digital``: measured digital time per
        solve (``1 / solves_per_s``) over the whole grid; ``digital_tail``: the same between the
        two largest ``n`` (closest to the asymptotic ``n^3``). Digital entries are NaN without data.
    """

    def slope(x: np.ndarray, y: np.ndarray) -> float:
        ok = np.isfinite(y) & (y > 0)
        return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0]) if ok.sum() >= 2 else math.nan

    n = table["n"].to_numpy(dtype=float)
    out = {f"analog_{lab}": slope(n, table[f"analog_ns_per_iteration_{lab}"].to_numpy(dtype=float)) for lab in labels}
    digital_time = 1.0 / table["digital_solves_per_s"].to_numpy(dtype=float)
    out["digital"] = slope(n, digital_time)
    out["digital_tail"] = slope(n[-2:], digital_time[-2:])
    return out


def measured_rates(study: CostStudyConfig, solver: SolverConfig, samples: int = 32, seed: int = 0) -> pd.DataFrame:
    """``min Re eig(D^-1 G)`` of actually programmed INV arrays, per layout and N.

    Systems are real forms of ``H^H H`` with ``H`` an i.i.d. Rayleigh ``4N x N/2`` matrix (M/K = 8);
    per system the slowest array counts. The settling mode of the model assumes one fixed
    ``model.lpinv_rate`` for every N and layout; this table shows how far the programmed arrays
    are from it.
    """
    g = torch.Generator().manual_seed(seed)
    rows = []
    for layout in study.layouts:
        for n in study.sizes:
            k = max(1, n // 2)
            a = rayleigh_grams(samples, 2 * k, 8, g)
            chip = solver if layout == "blockamc" else solver.single_array(2 * k)
            rate = lpinv_settling(AnalogSolver(chip, device="cpu", seed=seed).program(a), study.model).rate
            slowest = rate.amin(-1)
            unstable = float((slowest <= 0).double().mean())
            p10 = float(slowest.quantile(0.1))
            median = float(slowest.median())
            rows.append({"layout": layout, "n": 2 * k, "median": median, "p10": p10, "unstable": unstable})
    return pd.DataFrame(rows)


COLUMNS = [
    "layout", "timing", "scheme", "n", "iterations", "lpinv_ops", "hpmvm_ops", "dot_products",
    "analog_ns_per_solve_slow", "analog_ns_per_solve_fast", "analog_ns_per_iteration_slow", "t_lpinv_ns_slow",
    "t_hpmvm_ns_slow", "t_digital_ns_slow",
    "analog_nj_per_solve_slow", "e_lpinv_nj_slow", "e_hpmvm_nj_slow", "e_vector_nj_slow", "e_adc_nj_slow",
    "e_dac_nj_slow", "e_opamp_nj_slow", "e_array_nj_slow", "e_digital_nj_slow", "analog_pj_per_bit_slow",
    "digital_solves_per_s", "ratio_slow", "ratio_fast",
]  # fmt: skip
"""The columns of the cost table shown in reports (the stored table has every column)."""


def _variant(
    study: CostStudyConfig,
    solver: SolverConfig,
    digital: pd.DataFrame,
    layout: Layout,
    timing: str,
    scheme: OuterScheme,
    device: str,
) -> pd.DataFrame:
    """The comparison table of one (layout, timing, scheme), with the scheme's operation counts."""
    model = study.model.model_copy(update={"timing": timing})
    rows = []
    for n in study.sizes:
        chip = solver.model_copy(update={"outer": scheme})
        if layout == "monolithic":
            chip = chip.single_array(n)
        counts = [operation_counts(scheme, k, n) for k in range(1, study.iterations + 1)]
        row = comparison_table(
            digital, [n], study.iterations, model, chip, counts, digital_device=device,
            digital_dtype=study.digital_dtype, bits_per_symbol=study.bits_per_symbol,
        )  # fmt: skip
        last = counts[-1]
        row.insert(0, "layout", layout)
        row.insert(1, "timing", timing)
        row.insert(2, "scheme", scheme)
        row["lpinv_ops"], row["hpmvm_ops"], row["dot_products"] = last.lpinv, last.hpmvm, last.dot_products
        rows.append(row)
    return pd.concat(rows, ignore_index=True)


def run_cost(study: CostStudyConfig, solver: SolverConfig) -> UnitResult:
    """Evaluate ``study`` for the chip ``solver``: the comparison rows, and the ``digital`` and ``rates`` tables."""
    devices = available_devices()
    digital = measure_digital(study.sizes, study.digital_batches, devices=devices)
    device = str(default_device())  # the digital series compared with: the default device's
    frames = [
        _variant(study, solver, digital, layout, timing, scheme, device)
        for layout in study.layouts
        for timing in study.timings
        for scheme in study.schemes
    ]
    table = pd.concat(frames, ignore_index=True)
    tables = {"digital": digital, "rates": measured_rates(study, solver), "receiver": receiver_table(study, solver)}
    if study.receiver_links:
        links, crossovers = receiver_links_tables(study, solver)
        tables |= {"receiver_links": links, "receiver_crossover": crossovers}
    return UnitResult(table, tables=tables)


def receiver_table(study: CostStudyConfig, solver: SolverConfig) -> pd.DataFrame:
    """The receiver budget (:func:`~mimo_amc.amc.cost.receiver_budget`, writes included) of the chip with
    BlockAMC, per timing model, ``K = N / 2`` layers of every size, subcarriers per Gram matrix and UE speed."""
    rows = []
    for timing in study.timings:
        model = study.model.model_copy(update={"timing": timing})
        for n in study.sizes:
            for group in study.receiver.subcarriers_per_gram:
                for speed in study.receiver.speeds_kmh:
                    budget = receiver_budget(n // 2, study.bits_per_symbol, speed, study.receiver,
                                             study.iterations, model, solver, group)  # fmt: skip
                    rows.append({"timing": timing, "n": n, **asdict(budget)})
    return pd.DataFrame(rows)


def detector_asics() -> pd.DataFrame:
    """The quoted digital MIMO-detector ASICs (QAM detectors with an energy per bit; literature, not measured)."""
    quoted = quoted_figures_table()
    return quoted[quoted.config.str.contains("QAM") & quoted.energy_per_bit_j.notna()]


def receiver_links_tables(study: CostStudyConfig, solver: SolverConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The receiver budget of every ``cost.receiver_links`` link with its measured iterations, fixed ``K`` and
    adaptive, per timing model, subcarriers per Gram matrix and UE speed (``receiver_links``); and per link,
    mode, timing and grouping the energy per bit of a static UE and of one rewrite per slot, the rewrite
    interval (and the UE speed of that coherence time) at which the writes would cost as much as the solves, and
    the UE speed above which the energy per bit exceeds each quoted detector ASIC's (``receiver_crossover``;
    0 = at every speed, inf = at none)."""
    asics = detector_asics()
    load = study.receiver
    fast = speed_for_coherence_kmh(load.slot_s / 2, load.carrier_hz)  # a UE rewritten once per slot
    rows, crossovers = [], []
    for link in study.receiver_links:
        chip = chip_config(link.amc, base=solver)
        modes: dict[str, AdaptiveLoad | None] = {"fixed": None}
        if link.adaptive is not None:
            modes["adaptive"] = link.adaptive.load()
        for timing, (mode, adaptive), group in itertools.product(
            study.timings, modes.items(), load.subcarriers_per_gram
        ):
            model = study.model.model_copy(update={"timing": timing})
            kw = {"load": load, "iterations": link.iterations, "cost": model, "solver": chip,
                  "subcarriers_per_gram": group, "adaptive": adaptive}  # fmt: skip
            head = {"link": link.name, "antennas": link.antennas, "mode": mode, "timing": timing}
            rows += [
                {**head, **asdict(receiver_budget(link.users, link.bits_per_symbol, speed, **kw))}
                for speed in load.speeds_kmh
            ]
            static = receiver_budget(link.users, link.bits_per_symbol, 0.0, **kw)
            per_slot = receiver_budget(link.users, link.bits_per_symbol, fast, **kw)
            cross = {**head, "subcarriers_per_gram": group, "iterations": static.iterations,
                     "outage_fraction": static.outage_fraction, "pj_per_bit_static": static.pj_per_bit,
                     "pj_per_bit_per_slot": per_slot.pj_per_bit,
                     "write_equals_solve_us": static.write_equals_solve_coherence_s * 1e6,
                     "write_equals_solve_kmh": speed_for_coherence_kmh(static.write_equals_solve_coherence_s,
                                                                       load.carrier_hz),
                     "write_dominates_above_kmh": static.write_dominates_above_kmh}  # fmt: skip
            for asic in asics.itertuples():
                pj = asic.energy_per_bit_j * 1e12
                name = f"above_{asic.design.split()[0].rstrip(',')}_{pj:.0f}pj_kmh"  # e.g. above_Peng_633pj_kmh
                cross[name] = speed_at_energy_kmh(static, per_slot, pj, load.carrier_hz)
            cross["source"] = link.source
            crossovers.append(cross)
    return pd.DataFrame(rows), pd.DataFrame(crossovers)


class CostStudy:
    """The ``cost`` section: one unit per sweep point."""

    name: ClassVar[str] = "cost"
    table: ClassVar[str] = "cost"

    def units(self, point: SweepPoint) -> list[Unit]:
        return [section_unit(self.name, point, "cost", point.seed)]

    def check(self, scenario: Scenario) -> None:
        return None

    def memory_bytes(self, scenario: Scenario) -> int:
        study = scenario.cost
        assert study is not None
        n = max(study.sizes)
        return 8 * 2**24 * 4 + 32 * 8 * n * n * (12 + scenario.amc.hpmvm.num_slices * 8)  # digital cap, rates

    def run(self, scenario: Scenario, unit: Unit, device: torch.device | str, progress: Progress | None) -> UnitResult:
        assert scenario.cost is not None
        return run_cost(scenario.cost, scenario.amc)
