"""Stopping tolerances derived from the constellation and the post-detection SNR (mimo_amc.detect.tolerance)."""

from __future__ import annotations

import math

import pydantic
import pytest
import torch

from mimo_amc.amc import SolverConfig, StoppingConfig
from mimo_amc.detect import AnalogEqualizer, GramSystem
from mimo_amc.detect.tolerance import decision_argument, error_budget, q_elasticity, stopping_tolerance

F64 = torch.float64


def _symbol_error_rate(snr: torch.Tensor, bits: int) -> torch.Tensor:
    """Exact symbol error rate of Gray BPSK / square M-QAM in AWGN at symbol SNR ``snr`` (linear)."""
    q = torch.special.log_ndtr(-decision_argument(snr, bits)).exp()
    if bits == 1:
        return q
    p = 2 * (1 - 2 ** (-bits / 2)) * q  # one sqrt(M)-PAM decision
    return p * (2 - p)  # 1 - (1 - p)^2 without the cancellation at small p


@pytest.mark.parametrize("bits", [1, 2, 4, 6, 8])
def test_error_budget_keeps_the_symbol_error_change_within_ber_change(bits: int) -> None:
    """eps from error_budget raises the exact SER by at most delta (the bound) from -10 to 45 dB, and by at least
    90 % of delta where the SER is below 1e-4, where the bound is tight (measured: 99.7 % of delta)."""
    delta = 0.05
    snr = 10 ** (torch.linspace(-10, 45, 221, dtype=F64) / 10)
    eps = error_budget(snr, bits, delta)
    ser, worse = _symbol_error_rate(snr, bits), _symbol_error_rate(snr / (1 + eps), bits)
    change = worse / ser - 1
    valid = ser > 1e-250  # beyond this float64 has no SER to compare
    assert bool((change[valid] <= delta * (1 + 1e-9)).all()), float(change[valid].max())
    steep = valid & (ser < 1e-4)
    assert bool((change[steep] >= 0.9 * delta).all()), float(change[steep].min())


def test_q_elasticity_limits() -> None:
    """E(u) = u phi(u) / (2 Q(u)): 0 at u = 0, increasing, below its asymptote (u^2 + 1) / 2 and within 2 % of it
    at u = 8 (the high-SNR form of the derivation)."""
    u = torch.linspace(0, 12, 241, dtype=F64)
    e = q_elasticity(u)
    assert float(e[0]) == 0.0
    assert bool((e.diff() > 0).all())
    asymptote = (u.square() + 1) / 2
    assert bool((e < asymptote).all())
    assert float(e[u == 8.0] / asymptote[u == 8.0]) > 0.98


def test_tolerances_by_hand_on_orthogonal_channels() -> None:
    """Orthogonal columns of norms^2 g = (30, 60, 90), N0 = 2: ZF post-detection SNR g_k / N0 exactly. The
    ber_change tolerance uses eps of the steepest stream (SNR 45) and the noise sqrt(N0 sum g); noise_fraction
    uses eps = noise_fraction^2; MMSE (its Gram carries N0 I) gives the same tolerances."""
    g, no = torch.tensor([30.0, 60.0, 90.0], dtype=F64), 2.0
    h = torch.zeros(1, 1, 6, 3, dtype=torch.complex128)
    h[0, 0, :3, :] = torch.diag(g.sqrt()).to(torch.complex128)
    y = torch.randn(1, 5, 6, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
    s = no * torch.eye(6, dtype=torch.complex128).expand(1, 1, 6, 6)
    norm_b = torch.linalg.vector_norm(y @ h[0, 0].conj(), dim=-1)  # ||H^H y|| per vector, [1, 5]
    noise = math.sqrt(no * float(g.sum()))
    u = math.sqrt(3 * 45.0 / 255)
    slope = u * math.exp(-u * u / 2) / math.sqrt(2 * math.pi) / (2 * 0.5 * math.erfc(u / math.sqrt(2)))
    eps = 1.05 ** (1 / slope) - 1
    for kind in ("zf", "mmse"):
        system = GramSystem.build(y, h, s, kind, torch.complex128)
        derived = stopping_tolerance(system, StoppingConfig(ber_change=0.05), 8)
        torch.testing.assert_close(derived, math.sqrt(eps) * noise / norm_b, rtol=1e-10, atol=0)
        fixed = stopping_tolerance(system, StoppingConfig(noise_fraction=0.1), None)
        torch.testing.assert_close(fixed, 0.1 * noise / norm_b, rtol=1e-10, atol=0)
        assert stopping_tolerance(system, StoppingConfig(), None) is None


def test_constellation_is_required_and_checked() -> None:
    chip = SolverConfig(stopping=StoppingConfig(ber_change=0.05))
    with pytest.raises(ValueError, match="needs the constellation: pass bits_per_symbol"):
        AnalogEqualizer("zf", chip, device="cpu", seed=0)
    with pytest.raises(ValueError, match=r"bits_per_symbol must be 1 \(BPSK\) or even"):
        AnalogEqualizer("zf", chip, device="cpu", seed=0, bits_per_symbol=3)
    with pytest.raises(pydantic.ValidationError, match="at most one of noise_fraction"):
        StoppingConfig(noise_fraction=0.1, ber_change=0.05)
