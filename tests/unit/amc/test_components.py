"""Device programming, converters, LP-INV circuit and bit-sliced HP-MVM, checked one by one."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import rayleigh_gram
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mimo_amc.amc import (
    LPINV,
    BitSlicedMVM,
    ConverterConfig,
    DeviceConfig,
    HPMVMConfig,
    LPINVConfig,
    SolverConfig,
    program_pairs,
    slice_digits,
    slice_weights,
)
from mimo_amc.amc.hpmvm import round_to_slices

GEN = torch.Generator


# ----------------------------------------------------------------- slicing
@settings(max_examples=200, deadline=None)
@given(
    values=arrays("float64", st.integers(1, 40), elements=st.floats(-1, 1, allow_nan=False)),
    bits=st.integers(1, 5),
    num_slices=st.integers(1, 10),
)
def test_recombined_slices_within_half_lsb_of_last_slice(values, bits, num_slices):
    v = torch.from_numpy(values)
    digits = slice_digits(v, bits, num_slices)
    recombined = torch.einsum("s,s...->...", slice_weights(bits, num_slices), digits)
    lsb = 2.0 ** (-bits * (num_slices - 1))
    assert (recombined - v * (2**bits - 1)).abs().max() <= 0.5 * lsb * (1 + 1e-9)
    assert digits[0].abs().max() <= 2**bits - 1
    if num_slices > 1:
        assert digits[1:].abs().max() <= 2 ** (bits - 1)
    assert torch.equal(digits, torch.round(digits))
    # One rounding gives the same fixed-point value as the slice-by-slice expansion.
    assert torch.equal(round_to_slices(v, bits, num_slices), recombined)


# ----------------------------------------------------------------- devices
def test_programming_error_statistics():
    """Each device: Gaussian error of sigma * g_max, clamped at zero conductance (the off state)."""
    cfg = DeviceConfig()
    digits = torch.full((200_000,), 5.0, dtype=torch.float64)
    g_pos, g_neg = program_pairs(digits, cfg, 0.01, GEN().manual_seed(0))
    step = cfg.level_step_us
    assert step == pytest.approx((cfg.g_max_us - cfg.g_min_us) / cfg.levels)
    sigma, g0 = 0.01 * cfg.g_max_us / step, cfg.g_min_us / step
    # std of a 200k-sample std estimate: ~0.16 %; mean to sigma / sqrt(n)
    assert abs((g_pos - g0 - 5).std().item() / sigma - 1) < 0.01
    assert abs((g_pos - g0 - 5).mean().item()) < 5 * sigma / math.sqrt(len(digits))
    clamped = float((g_neg == 0).double().mean())
    p_clamp = float(torch.special.ndtr(torch.tensor(-g0 / sigma)))  # 0.5 uS floor, 0.35 uS error
    assert abs(clamped - p_clamp) < 5 * math.sqrt(p_clamp / len(digits))


def test_ideal_programming_is_exact_and_stuck_devices_appear_at_the_rate():
    digits = torch.randint(-7, 8, (100_000,), generator=GEN().manual_seed(1)).double()
    g_pos, g_neg = program_pairs(digits, DeviceConfig(), 0.0, GEN().manual_seed(0))
    assert torch.allclose(g_pos - g_neg, digits, rtol=0, atol=1e-12)
    cfg = DeviceConfig(stuck_at_rate=0.01, stuck_at_high_fraction=1.0)
    g_pos, _ = program_pairs(digits, cfg, 0.0, GEN().manual_seed(0))
    at_top = (g_pos == cfg.g_max_us / cfg.level_step_us) & (digits != 7)
    rate = at_top.double().sum() / (digits != 7).sum()
    assert abs(rate - 0.01) < 5 * math.sqrt(0.01 * 0.99 / len(digits))


def test_drift_scales_conductance_by_the_power_law():
    cfg = DeviceConfig(drift_nu=0.05, drift_time_s=1000.0)
    digits = torch.full((10,), 7.0, dtype=torch.float64)
    g_pos, g_neg = program_pairs(digits, cfg, 0.0, GEN().manual_seed(0))
    ideal_pos, ideal_neg = program_pairs(digits, DeviceConfig(), 0.0, GEN().manual_seed(0))
    assert torch.allclose(g_pos / ideal_pos, torch.full_like(g_pos, 1000.0**-0.05))
    assert torch.allclose(g_neg / ideal_neg, torch.full_like(g_neg, 1000.0**-0.05))


# ----------------------------------------------------------------- LP-INV
def _ideal_lp(**lpinv) -> SolverConfig:
    base = SolverConfig(ideal=True).resolved()
    return base.model_copy(update={"lpinv": base.lpinv.model_copy(update=lpinv)})


def test_lpinv_adc_error_is_within_half_an_lsb():
    """Exact matrix, ideal DAC, 8-bit ADC: every output is within half an LSB of A^-1 r."""
    a = rayleigh_gram(200, 32, 4, seed=2)
    r = torch.randn(200, 8, 1, generator=GEN().manual_seed(3), dtype=torch.float64)
    cfg = _ideal_lp(converters=ConverterConfig(dac_bits=0, adc_bits=8))
    out = LPINV(a, cfg, GEN().manual_seed(0))(r)
    exact = torch.linalg.solve(a, r)
    lsb = exact.abs().amax(dim=-2, keepdim=True) / 127
    assert ((out - exact).abs() <= 0.5 * lsb * (1 + 1e-9)).all()
    assert ((out - exact).abs() > 0.01 * lsb).any()  # the quantiser is really there


def test_lpinv_read_noise_has_the_configured_size():
    """1 % read noise of the ADC full scale, ideal converters: error std / full scale = 0.01."""
    a = torch.eye(8, dtype=torch.float64).expand(5000, 8, 8)
    r = torch.randn(5000, 8, 1, generator=GEN().manual_seed(4), dtype=torch.float64)
    out = LPINV(a, _ideal_lp(read_noise=0.01), GEN().manual_seed(0))(r)
    ratio = ((out - r) / r.abs().amax(dim=-2, keepdim=True)).std()
    assert abs(ratio.item() / 0.01 - 1) < 0.02  # 40k samples: std estimate to ~0.4 %


def test_finite_opamp_gain_loads_each_row_with_its_total_conductance():
    a = rayleigh_gram(4, 32, 4, seed=5)
    cfg = _ideal_lp(opamp_gain=100.0)
    lp = LPINV(a, cfg, GEN().manual_seed(0))
    scale = a.abs().amax(dim=(-2, -1), keepdim=True)
    step = cfg.device.level_step_us  # unquantised cells: one level spans the window
    assert step == cfg.device.g_max_us - cfg.device.g_min_us
    g0 = cfg.device.g_min_us / step
    digits = a / scale
    load = (2 * g0 + digits.abs()).sum(-1)
    expected = torch.linalg.inv(digits + torch.diag_embed(load / 100.0)) / scale
    assert torch.allclose(lp.linear_operator(), expected, rtol=1e-12, atol=1e-15)


# ----------------------------------------------------------------- HP-MVM
def test_hpmvm_without_device_errors_is_the_fixed_point_product():
    """Zero deviations and noise: the result is (24-bit A)(24-bit x), ~2^-24 from A x."""
    a = rayleigh_gram(100, 128, 8, seed=6)
    x = torch.randn(100, 16, 1, generator=GEN().manual_seed(7), dtype=torch.float64)
    cfg = SolverConfig(hpmvm=HPMVMConfig(prog_sigma=0.0, read_noise_lsb=0.0)).resolved()
    y = BitSlicedMVM(a, cfg, GEN().manual_seed(0))(x)
    a_max = a.abs().amax(dim=(-2, -1), keepdim=True)
    x_max = x.abs().amax(dim=-2, keepdim=True)
    fixed = (round_to_slices(a / a_max, 3, 8) * a_max / 7) @ (round_to_slices(x / x_max, 3, 8) * x_max / 7)
    assert torch.allclose(y, fixed, rtol=1e-14, atol=1e-14)
    rel = (y - a @ x).abs().amax(dim=-2) / (a.abs() @ x.abs()).amax(dim=-2)
    assert rel.max() < 2.0**-22


def _mvm_error_variance(cfg: SolverConfig, dense: bool, monkeypatch) -> tuple[float, float]:
    """Empirical and predicted variance of the weighted ADC errors with heavy read noise."""
    import mimo_amc.amc.hpmvm as hpmvm

    if dense:
        monkeypatch.setattr(hpmvm, "FAST_PATH_TOLERANCE", -1.0)
    n, batch = 16, 4000
    a = torch.eye(n, dtype=torch.float64).expand(batch, n, n) * 0.5
    x = torch.randn(batch, n, 1, generator=GEN().manual_seed(8), dtype=torch.float64)
    mvm = BitSlicedMVM(a, cfg.resolved(), GEN().manual_seed(9))
    y = mvm(x)
    x_max = x.abs().amax(dim=-2, keepdim=True)
    fixed = (round_to_slices(a / 0.5, 3, 8) * 0.5 / 7) @ (round_to_slices(x / x_max, 3, 8) * x_max / 7)
    err = (y - fixed) / (0.5 * x_max / 49)  # in units of one top-slice partial-sum LSB
    sigma = cfg.hpmvm.read_noise_lsb
    ks = torch.arange(-6, 7, dtype=torch.float64)
    p = torch.special.ndtr((ks + 0.5) / sigma) - torch.special.ndtr((ks - 0.5) / sigma)
    per_read = float((p * ks**2).sum())
    w = slice_weights(3, 8)
    predicted = per_read * float((w**2).sum()) ** 2  # independent reads, weights w_s w_t
    return float(err.var()), predicted


def test_hpmvm_dense_path_matches_rounding_theory(monkeypatch):
    """Read noise of 0.4 LSB on every partial sum: error variance = sum_st w_s^2 w_t^2 Var(round(n))."""
    cfg = SolverConfig(hpmvm=HPMVMConfig(prog_sigma=0.0, read_noise_lsb=0.4))
    empirical, predicted = _mvm_error_variance(cfg, dense=True, monkeypatch=monkeypatch)
    # 64k error samples (not all independent across slices, but reads are): 5 % is > 6 sigma.
    assert abs(empirical / predicted - 1) < 0.05


def test_fast_path_agrees_with_the_dense_path_at_default_parameters(monkeypatch):
    """Where the fast path claims skip probability < 1e-6, the dense evaluation finds no error."""
    import mimo_amc.amc.hpmvm as hpmvm

    a = rayleigh_gram(300, 128, 8, seed=11)
    x = torch.randn(300, 16, 4, generator=GEN().manual_seed(12), dtype=torch.float64)
    cfg = SolverConfig().resolved()
    fast = BitSlicedMVM(a, cfg, GEN().manual_seed(13))
    y_fast = fast(x)
    assert fast.tv_bound.max() < 1e-9
    monkeypatch.setattr(hpmvm, "FAST_PATH_TOLERANCE", -1.0)
    y_dense = BitSlicedMVM(a, cfg, GEN().manual_seed(13))(x)
    assert torch.equal(y_fast, y_dense)


def test_large_arrays_and_programming_error_make_partial_sums_round_wrongly():
    """[Brief] Errors appear as +-1 LSB roundings, more often with larger arrays and errors."""
    a = rayleigh_gram(50, 512, 64, seed=14)  # 128x128 real systems
    x = torch.randn(50, 128, 1, generator=GEN().manual_seed(15), dtype=torch.float64)
    exact = SolverConfig(hpmvm=HPMVMConfig(prog_sigma=0.0, read_noise_lsb=0.0)).resolved()
    ref = BitSlicedMVM(a, exact, GEN().manual_seed(0))(x)
    errors = []
    for sigma in (1e-4, 2e-3):
        cfg = SolverConfig(hpmvm=HPMVMConfig(prog_sigma=sigma)).resolved()
        y = BitSlicedMVM(a, cfg, GEN().manual_seed(0))(x)
        errors.append(float(((y - ref).abs() / ref.abs().amax()).max()))
    assert errors[0] < 1e-12 < 1e-9 < errors[1]


def test_adc_with_too_few_bits_saturates():
    a = torch.ones(2, 16, 16, dtype=torch.float64)
    x = torch.ones(2, 16, 1, dtype=torch.float64)
    cfg = SolverConfig(hpmvm=HPMVMConfig(prog_sigma=0.0, read_noise_lsb=0.0, adc_bits=8)).resolved()
    mvm = BitSlicedMVM(a, cfg, GEN().manual_seed(0))
    assert mvm.adc_bits == 8
    y = mvm(x)  # every top partial sum is 16 * 7 * 7 = 784 > 127
    assert (y < 16 * 0.5).all()
    assert BitSlicedMVM(a, SolverConfig().resolved(), GEN().manual_seed(0)).adc_bits == 11


def test_config_validation_names_the_problem():
    with pytest.raises(ValueError, match="g_max_us"):
        DeviceConfig(g_min_us=40.0)
    with pytest.raises(ValueError, match="bits"):
        DeviceConfig(bits=9)
    with pytest.raises(ValueError, match="extra"):
        LPINVConfig(array_sise=8)
    ideal = SolverConfig(ideal=True).resolved()
    assert ideal.device.bits == 0 and ideal.lpinv.read_noise == 0 and ideal.lpinv.opamp_gain is None


def test_skip_probability_is_accurate_deep_in_the_gaussian_tail():
    """The fast path's bound uses erfc: 2 Phi(-x) to double precision where ndtr underflows (x > 8.3)."""
    from scipy.special import ndtr

    mvm = BitSlicedMVM(torch.eye(4, dtype=torch.float64), SolverConfig().resolved(), GEN().manual_seed(0))
    sigma = (mvm._pair_sigma**2 * 100.0 + mvm._hp.read_noise_lsb**2) ** 0.5
    got = float(mvm._read_failure(torch.tensor([100.0], dtype=torch.float64)))
    assert got > 0 and abs(got / (2 * ndtr(-0.5 / sigma)) - 1) < 1e-9
