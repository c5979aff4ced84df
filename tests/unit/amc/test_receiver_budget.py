"""The receiver budget: rewrite rate from the coherence time, energy per bit with writes, the crossover speed."""

from __future__ import annotations

import math

import pytest

from mimo_amc.amc import SolverConfig
from mimo_amc.amc.cost import (
    AdaptiveLoad,
    CostConfig,
    ReceiverConfig,
    coherence_time_s,
    receiver_budget,
    solve_cost,
    write_cost,
)

COST, CHIP = CostConfig(timing="fixed"), SolverConfig()


def test_coherence_time_follows_clarke():
    # 3 km/h at 3.5 GHz: f_D = (3 / 3.6) * 3.5e9 / c = 9.73 Hz, T_c = 0.423 / f_D = 43.5 ms.
    assert coherence_time_s(3.0, 3.5e9) == pytest.approx(0.423 / (3 / 3.6 * 3.5e9 / 299_792_458.0))
    assert coherence_time_s(3.0, 3.5e9) == pytest.approx(43.48e-3, rel=1e-3)
    assert coherence_time_s(0.0, 3.5e9) == math.inf
    with pytest.raises(ValueError, match="speed_kmh"):
        coherence_time_s(-1.0, 3.5e9)


def test_budget_counts_writes_solves_and_energy_per_bit():
    load = ReceiverConfig()
    fast = receiver_budget(8, 8, 500.0, load, 3, COST, CHIP, subcarriers_per_gram=12)
    write, solve = write_cost(16, COST, CHIP), solve_cost(16, 3, COST, CHIP)
    assert fast.rewrite_interval_s == load.slot_s  # T_c(500 km/h) = 0.26 ms < one slot: once per slot
    assert fast.writes_per_s == pytest.approx(273 / 0.5e-3)  # 3,276 / 12 Gram matrices per slot
    assert fast.solves_per_s == pytest.approx(3276 * 14 / 0.5e-3)
    assert fast.solves_per_write == pytest.approx(12 * 14)
    assert fast.detected_bps == pytest.approx(fast.solves_per_s * 8 * 8)
    assert fast.write_w == pytest.approx(fast.writes_per_s * write.energy_j)
    assert fast.pj_per_bit == pytest.approx(
        (fast.write_w + fast.solves_per_s * solve.energy_j) / fast.detected_bps * 1e12
    )
    assert fast.chips == pytest.approx(fast.writes_per_s * write.time_s + fast.solves_per_s * solve.time_s)
    static = receiver_budget(8, 8, 0.0, load, 3, COST, CHIP)
    assert static.writes_per_s == 0 and static.pj_per_bit == static.pj_per_bit_solve == fast.pj_per_bit_solve
    slow = receiver_budget(8, 8, 3.0, load, 3, COST, CHIP, subcarriers_per_gram=12)
    assert slow.writes_per_s == pytest.approx(273 / coherence_time_s(3.0, 3.5e9))
    assert static.pj_per_bit < slow.pj_per_bit < fast.pj_per_bit


def test_write_dominates_above_the_crossover_speed():
    # One solve per write per slot: writes (~8x a 3-iteration solve) dominate once T_c < E_w / E_s slots.
    load = ReceiverConfig(symbols_per_slot=1)
    b = receiver_budget(8, 8, 3.0, load, 3, COST, CHIP, subcarriers_per_gram=1)
    ratio = write_cost(16, COST, CHIP).energy_j / solve_cost(16, 3, COST, CHIP).energy_j
    assert ratio > 1 and b.write_dominates_above_kmh is not None
    assert coherence_time_s(b.write_dominates_above_kmh, load.carrier_hz) == pytest.approx(ratio * load.slot_s)
    assert b.write_equals_solve_coherence_s == pytest.approx(ratio * load.slot_s)
    below = receiver_budget(8, 8, 0.9 * b.write_dominates_above_kmh, load, 3, COST, CHIP, subcarriers_per_gram=1)
    above = receiver_budget(8, 8, 1.1 * b.write_dominates_above_kmh, load, 3, COST, CHIP, subcarriers_per_gram=1)
    assert below.write_w < below.solve_w and above.write_w > above.solve_w
    # With 14 solves per write in every slot the writes never dominate (T_w cannot fall below a slot).
    assert receiver_budget(8, 8, 500.0, ReceiverConfig(), 3, COST, CHIP).write_dominates_above_kmh is None


def test_adaptive_budget_prices_the_early_stop_and_each_fallback():
    """128x8-class (n = 16) at 120 km/h, 12 subcarriers per Gram matrix, fixed timing: 2.5 iterations per solve
    on average cost the mean of 2 and 3; 1 % of the solves (2 % of the written matrices) fall back."""
    load = ReceiverConfig()
    args = (8, 8, 120.0, load, 3, COST, CHIP, 12)
    fixed = receiver_budget(*args)
    mean_j = (solve_cost(16, 2, COST, CHIP).energy_j + solve_cost(16, 3, COST, CHIP).energy_j) / 2
    writes, solves, bits = fixed.writes_per_s, fixed.solves_per_s, fixed.detected_bps
    write_j = write_cost(16, COST, CHIP)
    best = receiver_budget(*args, adaptive=AdaptiveLoad(2.5, 0.01, "best"))
    assert best.iterations == 2.5 and best.fallback_w == 0 and best.fallback == "best" and fixed.fallback is None
    assert best.solve_w == pytest.approx(solves * mean_j)
    assert best.pj_per_bit == pytest.approx((fixed.write_w + solves * mean_j) / bits * 1e12)
    assert best.pj_per_bit < fixed.pj_per_bit
    # digital: LU (16^3 / 3 = 1365.3 MACs) per fallen-back matrix, two triangular solves (256 MACs) per solve,
    # 4.6 pJ per fp32 MAC on 16 lanes at 1 GHz.
    digital = receiver_budget(*args, adaptive=AdaptiveLoad(2.5, 0.01, "digital", matrix_outage_fraction=0.02))
    assert digital.fallback_w == pytest.approx(0.02 * writes * 1365.3333 * 4.6e-12 + 0.01 * solves * 256 * 4.6e-12)
    assert digital.chips - best.chips == pytest.approx(0.02 * writes * 1365.3333 / 16e9 + 0.01 * solves * 256 / 16e9)
    assert digital.pj_per_bit_solve == pytest.approx((solves * mean_j + digital.fallback_w) / bits * 1e12)
    # fcg: 4 FCG iterations per fallen-back solve, nothing per matrix.
    fcg = receiver_budget(*args, adaptive=AdaptiveLoad(2.5, 0.01, "fcg", fallback_iterations_mean=4.0))
    fcg_j = solve_cost(16, 4, COST, CHIP.model_copy(update={"outer": "fcg"})).energy_j
    assert fcg.fallback_w == pytest.approx(0.01 * solves * fcg_j)
    # loading: an LP-INV rewrite per fallen-back matrix, 5 Richardson iterations per fallen-back solve.
    loading = receiver_budget(*args, adaptive=AdaptiveLoad(2.5, 0.01, "loading", 5.0, 0.02))
    assert loading.fallback_w == pytest.approx(
        0.02 * writes * write_j.lpinv_j + 0.01 * solves * solve_cost(16, 5, COST, CHIP).energy_j
    )
    assert loading.chips - best.chips == pytest.approx(
        0.02 * writes * write_j.lpinv_s + 0.01 * solves * solve_cost(16, 5, COST, CHIP).time_s
    )
    for bad, match in [
        (dict(iterations_mean=0.5), "iterations_mean"),
        (dict(outage_fraction=1.5), "outage_fraction"),
        (dict(fallback="fcg"), "fallback_iterations_mean"),
    ]:
        with pytest.raises(ValueError, match=match):
            AdaptiveLoad(**{"iterations_mean": 2.0, "outage_fraction": 0.1, "fallback": "digital", **bad})
