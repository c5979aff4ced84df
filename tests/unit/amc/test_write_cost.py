"""Write model of the chip: write-verify against its sources, hand-counted cells, times, energy, wear."""

from __future__ import annotations

import math

import pytest

from mimo_amc.amc import CostConfig, SolverConfig
from mimo_amc.amc.cost import (
    acceptance_range,
    assumption_rows,
    pulse_energy_j,
    pulses_per_cell,
    verify_energy_j,
    write_cost,
)

COST = CostConfig()


@pytest.mark.parametrize(
    ("acceptance", "slope", "offset_ns"),
    [(0.02, 11.29e-3, 11.2), (0.002, 1.0687e-3, 0.811)],  # aihwkit ReRamCMO: sigma = slope g + offset
)
def test_acceptance_window_reproduces_aihwkit_cmo_fit(acceptance: float, slope: float, offset_ns: float) -> None:
    """Uniform error over the acceptance window: sigma / g within 10 % of aihwkit's fit at g = 50 uS."""
    g_ns = 50e3
    source = slope + offset_ns / g_ns
    model = acceptance / math.sqrt(3)
    assert model == pytest.approx(source, rel=0.10)
    assert acceptance_range(model) == pytest.approx(acceptance, rel=1e-12)


def test_pulses_per_cell_hand_cases() -> None:
    # first sigma 10 %, shrink 1/2: tol = 10 % / 2^k takes 1 + k pulses; a loose tolerance takes 1.
    for k in (0, 1, 3, 10):
        assert pulses_per_cell(0.1 / 2**k / math.sqrt(3), COST) == pytest.approx(1 + k, rel=1e-12)
    assert pulses_per_cell(0.5, COST) == 1.0
    # 1 % acceptance range: 1 + log2(10) = 4.32 pulses.
    assert pulses_per_cell(0.01 / math.sqrt(3), COST) == pytest.approx(1 + math.log2(10), rel=1e-12)
    with pytest.raises(ValueError, match="prog_sigma"):
        pulses_per_cell(0.0, COST)


def test_pulse_and_verify_energy_from_sources() -> None:
    # Stanford RRAM model pulse (1.8 V, 100 ns) on a 35 uS cell: 1.8^2 * 35e-6 * 100e-9 = 11.34 pJ.
    assert pulse_energy_j(COST, SolverConfig()) == pytest.approx(11.34e-12, rel=1e-3)
    # verify: read of the mean level (0.5 + 0.5 * 34.5 uS) at 0.2 V (mean square 1/3) for 60 ns + 8-bit ADC 2.56 pJ.
    read = 0.04 / 3 * 17.75e-6 * 60e-9
    assert verify_energy_j(COST, SolverConfig()) == pytest.approx(read + 2.56e-12, rel=1e-9)


def test_write_cost_16x16_hand_counted() -> None:
    """128x8 Gram (16x16 real), BlockAMC on 8x8: two 8x8 INV arrays and two 8x8 MVM blocks; 8 HP-MVM slices."""
    solver = SolverConfig()
    w = write_cost(16, COST, solver)
    assert w.lpinv_cells == 2 * (2 * 64 + 2 * 64)
    assert w.hpmvm_cells == 2 * 8 * 256
    lp, hp = pulses_per_cell(0.01, COST), pulses_per_cell(1e-4, COST)
    assert (w.lpinv_pulses, w.hpmvm_pulses) == (lp, hp)
    assert lp == pytest.approx(1 + math.log2(0.1 / (math.sqrt(3) * 0.01)), rel=1e-12)  # 3.53
    cycle_s = 160e-9  # 100 ns pulse + 60 ns verify
    assert w.lpinv_s == pytest.approx(8 * lp * cycle_s, rel=1e-12)  # 8 rows, one at a time
    assert w.hpmvm_s == pytest.approx(16 * hp * cycle_s, rel=1e-12)  # one 16-row tile per slice
    assert w.time_s == max(w.lpinv_s, w.hpmvm_s)
    cycle_j = pulse_energy_j(COST, solver) + verify_energy_j(COST, solver)
    assert w.energy_j == pytest.approx((512 * lp + 4096 * hp) * cycle_j, rel=1e-12)
    # Two rows at a time halve every array's time.
    assert write_cost(16, CostConfig(write_rows_parallel=2), solver).time_s == pytest.approx(w.time_s / 2, rel=1e-12)


def test_write_cost_odd_partition_and_tiles() -> None:
    # n = 12 on 8x8: INV leaves 6 and 6, MVM blocks 6x6 twice; HP-MVM tiles of 4 rows -> 4-row writes.
    solver = SolverConfig.model_validate({"hpmvm": {"array_size": 4}})
    w = write_cost(12, COST, solver)
    assert w.lpinv_cells == 2 * 4 * 36
    assert w.hpmvm_s == pytest.approx(4 * w.hpmvm_pulses * 160e-9, rel=1e-12)
    with pytest.raises(ValueError, match="n must be"):
        write_cost(0)


def test_lifetime_at_rewrite_rate() -> None:
    w = write_cost(16, COST, SolverConfig())
    # 1e12 cycles / (10.17 pulses x 1e4 writes/s) = 9.83e6 s = 113.8 days.
    assert w.lifetime_s(1e4) == pytest.approx(1e12 / (w.hpmvm_pulses * 1e4), rel=1e-12)
    assert w.lifetime_s(1e4) / 86400 == pytest.approx(113.8, abs=0.05)
    with pytest.raises(ValueError, match="rewrites_per_s"):
        w.lifetime_s(0.0)


def test_write_assumptions_in_table() -> None:
    names = {r["name"]: r for r in assumption_rows(COST, SolverConfig())}
    for field in ("write_first_sigma", "write_verify_shrink", "write_pulse_s", "endurance_cycles"):
        assert names[field]["source"]
    assert "StanfordRRAM" in names["write_pulse_s"]["source"]
    # No published pulses-per-tolerance figure was found: the pulse-count model is stated as an assumption.
    assert "Assumption" in names["write_first_sigma"]["source"]
    assert "No published count of write-verify pulses" in names["write_first_sigma"]["source"]
    assert "assumption" in names["write_verify_shrink"]["source"]
    assert names["solver.hpmvm.prog_sigma"]["value"] == 1e-4
