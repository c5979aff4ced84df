"""Cost model of the chip: circuit settling against the ODE, the paper's fixed-time arithmetic, energy
bookkeeping, BlockAMC sequencing and the partial-sum ADC width. The comparison with measured digital
solves (tables, figures, crossover) is the cost study's: ``tests/unit/studies/test_cost_study.py``."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import rayleigh_gram
from scipy.integrate import solve_ivp

from mimo_amc.amc import (
    AnalogSolver,
    BitSlicedMVM,
    CostConfig,
    OperationCounts,
    Partition,
    SolverConfig,
    lpinv_settling,
    partial_sum_adc_bits,
    solve_cost,
)
from mimo_amc.amc.cost import FAST_GBWP_HZ, MEASURED_GBWP_HZ, circuit_rate, operation_times

FIXED = CostConfig(timing="fixed")
NS = 1e-9


@pytest.mark.parametrize(("m", "k"), [(16, 2), (16, 4)])  # real 4x4 and 8x8 INV arrays
def test_settling_matches_circuit_ode(m: int, k: int) -> None:
    """Integrate ``dv/dt = -w0 (D^-1 G + I/A0) v - w0 D^-1 i`` for programmed arrays.

    The asymptotic decay rate of the ODE's error agrees with ``1/tau`` within 5 %. The settling
    time to 2^-8 of the final value is at most the formula's ``tau ln 256`` (+5 %) and at least
    60 % of it: the formula assumes the initial error lies along the slowest mode with unit
    weight, a random input projects less onto it, so the circuit settles somewhat earlier.
    """
    system = AnalogSolver(SolverConfig(), device="cpu", seed=0).program(rayleigh_gram(3, m, k, seed=3))
    settling = lpinv_settling(system)  # 16 MHz, 8-bit ADC
    (array,) = system.lpinv.inv_arrays()
    gain = system.config.lpinv.opamp_gain
    w0 = 2 * math.pi * MEASURED_GBWP_HZ
    rng = np.random.default_rng(7)
    for b in range(3):
        g, d = array.conductance[b].numpy(), array.row_load[b].numpy()
        mat = g / d[:, None] + np.eye(2 * k) / gain
        i_in = rng.standard_normal(2 * k)
        final = -np.linalg.solve(mat, i_in / d)
        tau = float(settling.tau_s[b, 0])
        assert float(settling.rate[b, 0]) == pytest.approx(np.linalg.eigvals(mat).real.min(), rel=1e-9)
        horizon = 16 * tau
        sol = solve_ivp(
            lambda t, v, mat=mat, i_in=i_in, d=d: -w0 * (mat @ v + i_in / d),
            (0.0, horizon),
            np.zeros(2 * k),
            method="DOP853",
            rtol=1e-12,
            atol=1e-15,
            dense_output=True,
        )
        t = np.linspace(0.0, horizon, 100_001)
        err = sol.sol(t) - final[:, None]
        rel = np.abs(err).max(0) / np.abs(final).max()
        settle = t[np.nonzero(rel > 2.0**-8)[0][-1] + 1]
        assert 0.6 <= settle / float(settling.settle_s[b, 0]) <= 1.05
        tail = t > 0.75 * horizon
        rate = -np.polyfit(t[tail], np.log(np.linalg.norm(err[:, tail], axis=0)), 1)[0]
        assert rate * tau == pytest.approx(1.0, rel=0.05)


def test_circuit_rate_unstable_and_gain() -> None:
    g = torch.tensor([[[2.0, 0.0], [0.0, -1.0]], [[2.0, 1.0], [1.0, 2.0]]], dtype=torch.float64)
    load = torch.full((2, 2), 4.0, dtype=torch.float64)
    rate = circuit_rate(g, load)
    assert rate.tolist() == pytest.approx([-0.25, 0.25])
    assert circuit_rate(g, load, opamp_gain=1e2)[1] == pytest.approx(0.26)
    assert circuit_rate(g, load, input_conductance=4.0)[1] == pytest.approx(0.125)


def test_default_rate_is_the_measured_tail() -> None:
    """``CostConfig.lpinv_rate`` lies between the 1st and 25th percentile of programmed 128x8 Gram matrices."""
    system = AnalogSolver(SolverConfig(), device="cpu", seed=0).program(rayleigh_gram(128, 128, 8, seed=1))
    worst = lpinv_settling(system).rate.amin(-1)
    lo, hi = torch.quantile(worst, torch.tensor([0.01, 0.25], dtype=torch.float64)).tolist()
    assert lo < CostConfig().lpinv_rate < hi


def test_lpinv_settling_application_sequence() -> None:
    a = rayleigh_gram(4, 32, 8, seed=2)  # real 16x16: BlockAMC, one stage on 8x8 arrays
    cost = CostConfig(gbwp_hz=FAST_GBWP_HZ)
    system = AnalogSolver(SolverConfig(), device="cpu", seed=1).program(a)
    assert system.lpinv.partition == Partition.of(16, 8)
    s = lpinv_settling(system, cost)
    assert s.uses == Partition.of(16, 8).inv_array_uses() == (2, 1) and s.rate.shape == (4, 2)
    mvm = operation_times(16, cost, SolverConfig()).mvm_s
    conv = cost.dac_settling_s + 8 * cost.adc_time_per_bit_s
    expected = 2 * (s.settle_s[:, 0] + conv) + (s.settle_s[:, 1] + conv) + 2 * mvm
    torch.testing.assert_close(s.application_s, expected)
    torch.testing.assert_close(s.settle_s, s.tau_s * 8 * math.log(2))


def test_fixed_time_reproduces_paper_arithmetic() -> None:
    """3 iterations x (120 ns LP-INV + 60 ns MVM) = 540 ns for a system that fits one array."""
    c = solve_cost(8, 3, FIXED)
    assert c.lpinv_s == pytest.approx(360 * NS) and c.hpmvm_s == pytest.approx(180 * NS)
    assert c.lpinv_s + c.hpmvm_s == pytest.approx(540 * NS)
    assert c.digital_s == pytest.approx(3 * 3 * 1 * NS)  # 3 vector passes of ceil(8/16) cycles at 1 GHz
    assert c.time_s == pytest.approx(549 * NS)
    # HP-MVM schedule: 8 matrix slices x 8 input digits x 1 tile.
    assert solve_cost(8, 3, FIXED.model_copy(update={"hpmvm_schedule": "digit_serial"})).hpmvm_s == pytest.approx(
        3 * 8 * 60 * NS
    )
    assert solve_cost(8, 3, FIXED.model_copy(update={"hpmvm_schedule": "serial"})).hpmvm_s == pytest.approx(
        3 * 64 * 60 * NS
    )
    # 256 unknowns on 128x128 MVM arrays: 2x2 tiles, serial reads 8 x 8 x 4.
    big = SolverConfig(lpinv={"array_size": 256})
    assert solve_cost(256, 1, FIXED.model_copy(update={"hpmvm_schedule": "serial"}), big).hpmvm_s == pytest.approx(
        256 * 60 * NS
    )


@pytest.mark.parametrize("n", [8, 12, 16, 17, 32, 100, 256])
def test_blockamc_plan_sets_lpinv_time(n: int) -> None:
    partition = Partition.of(n, 8)
    plan = partition.plan()
    assert plan.depth == plan.inv_ops + plan.mvm_ops
    uses = partition.inv_array_uses()
    assert sum(uses) == plan.inv_ops and len(uses) == plan.inv_arrays
    ops = partition.operations()  # the sequence the cost model prices
    assert len(ops) == plan.depth and sum(o.inv for o in ops) == plan.inv_ops
    c = solve_cost(n, 2, FIXED)
    assert c.lpinv_s == pytest.approx(2 * (plan.inv_ops * 120 + plan.mvm_ops * 60) * NS)


def test_blockamc_16_on_8x8() -> None:
    c = solve_cost(16, 3, FIXED)
    assert c.lpinv_s == pytest.approx(3 * (3 * 120 + 2 * 60) * NS)  # depth 5 per application
    assert c.time_s == pytest.approx(c.lpinv_s + 3 * 60 * NS + 9 * NS)
    # One 16x16 INV array instead: a third of the LP-INV time, less LP-INV energy.
    mono = solve_cost(16, 3, FIXED, SolverConfig(lpinv={"array_size": 16}))
    assert mono.lpinv_s == pytest.approx(c.lpinv_s / 4)
    assert mono.lpinv_j < c.lpinv_j


@pytest.mark.parametrize("timing", ["settling", "fixed"])
@pytest.mark.parametrize("n", [8, 16, 64, 256])
def test_energy_parts_sum_and_scale_with_iterations(timing: str, n: int) -> None:
    cost = CostConfig(timing=timing)
    c = solve_cost(n, 3, cost)
    kinds = c.dac_j + c.adc_j + c.opamp_j + c.array_j + c.digital_j
    assert kinds == pytest.approx(c.energy_j, rel=1e-12)
    assert c.lpinv_j + c.hpmvm_j + c.vector_j == pytest.approx(c.energy_j, rel=1e-12)
    assert c.lpinv_s + c.hpmvm_s + c.digital_s == pytest.approx(c.time_s, rel=1e-12)
    assert min(c.dac_j, c.adc_j, c.opamp_j, c.array_j, c.digital_j) > 0
    six = solve_cost(n, 6, cost)
    assert six.energy_j == pytest.approx(2 * c.energy_j, rel=1e-12)
    assert six.time_s == pytest.approx(2 * c.time_s, rel=1e-12)


def test_settling_mode_op_times_and_opamps() -> None:
    slow, fast = CostConfig(), CostConfig(gbwp_hz=FAST_GBWP_HZ)
    t = operation_times(8, slow, SolverConfig())
    w0 = 2 * math.pi * MEASURED_GBWP_HZ
    assert t.inv_s == pytest.approx(1e-9 + 8 * math.log(2) / (w0 * 0.36) + 8 * 0.5e-9)
    assert t.hpmvm_step_s == pytest.approx(1e-9 + 2 * 10 * math.log(2) / w0 + 10 * 0.5e-9)  # 10-bit ADC at n = 8
    cs, cf = solve_cost(64, 3, slow), solve_cost(64, 3, fast)
    assert cf.time_s < cs.time_s / 5
    assert cf.adc_j == pytest.approx(cs.adc_j)  # conversions do not depend on the op-amp
    # Op-amps stay on during DAC settling and conversion, which a faster op-amp does not shorten.
    assert cs.opamp_j < cf.opamp_j < FAST_GBWP_HZ / MEASURED_GBWP_HZ * cs.opamp_j
    # Without them, op-amp power grows with GBWP exactly as settling time shrinks.
    ideal = {"dac_settling_s": 0.0, "adc_time_per_bit_s": 0.0}
    es = solve_cost(64, 3, slow.model_copy(update=ideal)).opamp_j
    assert solve_cost(64, 3, fast.model_copy(update=ideal)).opamp_j == pytest.approx(es, rel=1e-12)


def test_operation_counts_input() -> None:
    base = solve_cost(32, 4, FIXED)
    assert solve_cost(32, 4, FIXED, counts=OperationCounts(1, 1, 0)) == base
    ns = SimpleNamespace(lpinv=1, hpmvm=2, dot_products=4)
    krylov = solve_cost(32, 4, FIXED, counts=ns)
    assert krylov.hpmvm_s == pytest.approx(2 * base.hpmvm_s)
    assert krylov.digital_s - base.digital_s == pytest.approx(4 * 4 * 2 * NS)  # 4 dots of ceil(32/16) cycles
    assert krylov.vector_j - base.vector_j == pytest.approx(4 * 4 * 32 * 4.6e-12)
    fgmres = solve_cost(32, 3, FIXED, SolverConfig(outer="fgmres"))
    explicit = [OperationCounts(1, 2, 3), OperationCounts(1, 2, 3), OperationCounts(1, 2, 4)]
    assert fgmres == solve_cost(32, 3, FIXED, counts=explicit)
    with pytest.raises(ValueError, match="per-iteration counts"):
        solve_cost(32, 2, FIXED, counts=explicit)
    with pytest.raises(ValueError, match="finite"):
        solve_cost(8, 1, FIXED, SolverConfig(lpinv={"converters": {"adc_bits": 0}}))


@pytest.mark.parametrize(("n", "bits"), [(8, 10), (16, 11), (200, 14)])
def test_partial_sum_adc_bits(n: int, bits: int) -> None:
    """ceil(log2(rows 7 7 + 1)) + 1 with rows = min(n, 128): 392, 784 and 6272 need 9, 10 and 13 bits plus sign.

    One function derives the width for the simulator and the cost model alike.
    """
    cfg = SolverConfig()
    assert partial_sum_adc_bits(n, cfg) == bits
    mvm = BitSlicedMVM(torch.eye(n, dtype=torch.float64), cfg, torch.Generator().manual_seed(0))
    assert mvm.adc_bits == bits
    assert partial_sum_adc_bits(n, SolverConfig(hpmvm={"adc_bits": 8})) == 8
