"""The Sionna equalizer contract of our equalizers, in the spirit of Sionna's own equalizer tests.

Written for this project (not copied): error statistics under coloured noise against ``no_eff``,
agreement with ``sionna.phy.mimo.zf_equalizer`` / ``lmmse_equalizer``, per-antenna noise through the
OFDM ``LinearDetector``, precision of inputs and outputs, batch dimensions, gradients, seeds, devices.
"""

from __future__ import annotations

import numpy as np
import pytest
import sionna.phy
import torch
from sionna.phy.channel import exp_corr_mat
from sionna.phy.mapping import QAMSource
from sionna.phy.mimo import StreamManagement, lmmse_equalizer, whiten_channel, zf_equalizer
from sionna.phy.ofdm import LinearDetector, ResourceGrid

from mimo_amc.amc import SolverConfig
from mimo_amc.detect import AnalogEqualizer, DigitalEqualizer

M, K = 8, 4


def _equalizers(kind: str):
    return [
        DigitalEqualizer(kind, "single"),
        DigitalEqualizer(kind, "double"),
        AnalogEqualizer(kind, SolverConfig(ideal=True), iterations=2, device="cpu", seed=0),
    ]


def _coloured_batch(n: int, seed: int):
    """``n`` systems with 16-QAM symbols and noise of covariance ``s = 0.1 R`` (R: exponential, a = 0.6)."""
    sionna.phy.config.seed = seed
    x = QAMSource(4, precision="double", device="cpu")([n, K])
    g = torch.Generator().manual_seed(seed)
    h = torch.randn(n, M, K, generator=g, dtype=torch.complex128)
    s = 0.1 * exp_corr_mat(0.6, M, precision="double", device="cpu").expand(n, M, M)
    white = torch.randn(n, M, generator=g, dtype=torch.complex128)
    noise = (torch.linalg.cholesky(s) @ white.unsqueeze(-1)).squeeze(-1)
    return x, h, (h @ x.unsqueeze(-1)).squeeze(-1) + noise, s


@pytest.mark.parametrize("kind", ["zf", "mmse"])
def test_coloured_noise_error_statistics(kind):
    """Empirical E[e] ~ 0 and E|e|^2 / E[no_eff] within 3 % of 1 (20 000 x 4 errors: ~0.5 % spread),
    and every estimate equal to Sionna's equalizer on the same coloured-noise systems."""
    x, h, y, s = _coloured_batch(20_000, 1)
    if kind == "mmse":
        ref_x, ref_no = lmmse_equalizer(y, h, s, precision="double")  # whitens (whiten_interference=True)
    else:
        # Sionna's zf_equalizer does not whiten (plain pseudo-inverse, no_eff = diag(G S G^H)); ours is
        # ZF of the whitened channel (generalised least squares): Sionna's ZF after Sionna's whitening.
        yw, hw, _ = whiten_channel(y, h, s)
        ref_x, ref_no = zf_equalizer(yw, hw, torch.eye(M, dtype=torch.complex128).expand_as(s), precision="double")
    for eq in _equalizers(kind):
        x_hat, no_eff = eq(y, h, s, precision="double")
        tol = 1e-4 if eq.name.endswith("fp32") else 1e-9
        assert torch.allclose(x_hat, ref_x, atol=tol), eq.name
        assert torch.allclose(no_eff, ref_no, rtol=tol * 10), eq.name
        err = x_hat - x
        assert err.mean().abs() < 0.01, eq.name
        ratio = err.abs().square().mean() / no_eff.mean()
        assert 0.97 < ratio < 1.03, (eq.name, float(ratio))


def test_per_antenna_noise_through_the_ofdm_linear_detector():
    """Sionna's OFDM LinearDetector set-up (2 transmitters x 2 streams, Kronecker pilots), with a different
    noise variance at every receive antenna: our equalizers give Sionna LMMSE's LLRs."""
    rg = ResourceGrid(14, 64, 30e3, num_tx=2, num_streams_per_tx=2, pilot_pattern="kronecker",
                      pilot_ofdm_symbol_indices=[2, 11], precision="double")  # fmt: skip
    sm = StreamManagement(np.ones([1, 2]), 2)
    g = torch.Generator().manual_seed(4)
    y = torch.randn(3, 1, M, 14, 64, generator=g, dtype=torch.complex128)
    h = torch.randn(3, 1, M, 2, 2, 14, 64, generator=g, dtype=torch.complex128)
    no = 0.05 + torch.rand(3, 1, M, generator=g, dtype=torch.float64)
    err_var = torch.tensor(0.01, dtype=torch.float64)
    args = ("bit", "maxlog", rg, sm, "qam", 4)
    ref = LinearDetector("lmmse", *args, precision="double", device="cpu")(y, h, err_var, no)
    for eq in _equalizers("mmse")[1:]:
        llr = LinearDetector(eq, *args, precision="double", device="cpu")(y, h, err_var, no)
        assert torch.allclose(llr, ref, rtol=1e-8, atol=1e-8), eq.name


@pytest.mark.parametrize("precision", ["single", "double"])
def test_precision_of_inputs_and_outputs(precision):
    _x, h, y, s = _coloured_batch(16, 2)
    cdtype = torch.complex64 if precision == "single" else torch.complex128
    for eq in _equalizers("mmse"):
        x_hat, no_eff = eq(y.to(cdtype), h.to(cdtype), s.to(cdtype), precision=precision)
        assert x_hat.dtype == cdtype and no_eff.dtype == cdtype.to_real(), eq.name
        assert x_hat.device == y.device
    chip = _equalizers("mmse")[2]
    assert chip.detect(y.to(torch.complex64), h.to(torch.complex64), s.to(torch.complex64)).x_hat.dtype == (
        torch.complex128
    )  # float64 inside the solver whatever the inputs
    with pytest.raises(ValueError, match="precision must be"):
        chip(y, h, s, precision="half")


def test_arbitrary_batch_dimensions():
    _x, h, y, s = _coloured_batch(2 * 3 * 5, 3)
    for eq in _equalizers("zf"):
        flat_x, flat_no = eq(y, h, s, precision="double")
        shaped = eq(y.reshape(2, 3, 5, M), h.reshape(2, 3, 5, M, K), s.reshape(2, 3, 5, M, M), precision="double")
        assert shaped[0].shape == (2, 3, 5, K) and shaped[1].shape == (2, 3, 5, K)
        assert torch.allclose(shaped[0].reshape(-1, K), flat_x, atol=1e-5)
        assert torch.allclose(shaped[1].reshape(-1, K), flat_no, rtol=1e-5)


def test_gradients_flow_through_digital_and_are_refused_by_the_chip():
    x, h, y, s = _coloured_batch(8, 5)
    h = h.clone().requires_grad_(True)
    x_hat, no_eff = DigitalEqualizer("mmse", "double")(y, h, s, precision="double")
    ((x_hat - x).abs().square().sum() + no_eff.sum()).backward()
    assert h.grad is not None and torch.isfinite(h.grad).all() and h.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="not differentiable"):
        _equalizers("mmse")[2](y, h, s)


def test_seed_and_device_follow_sionna_config():
    _x, h, y, s = _coloured_batch(8, 6)
    sionna.phy.config.seed = 21
    first = AnalogEqualizer("mmse", SolverConfig(), iterations=2)(y, h, s)
    second = AnalogEqualizer("mmse", SolverConfig(), iterations=2)(y, h, s)
    assert torch.equal(first[0], second[0])  # seed=None: sionna.phy.config.seed makes the chip reproducible
    assert AnalogEqualizer("zf").solver.device == torch.device(sionna.phy.config.device)
