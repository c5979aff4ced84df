"""Uplink generation, detectors (digital, iterative, analog) and their Sionna compatibility."""

from __future__ import annotations

import math

import pytest
import sionna.phy
import torch
from sionna.phy.mimo import LinearDetector

from mimo_amc.amc import SolverConfig
from mimo_amc.detect import (
    AnalogEqualizer,
    DigitalEqualizer,
    IterativeEqualizer,
    NearestPointSlicer,
    make_detector,
    white_noise_variance,
)
from mimo_amc.link import Uplink, noise_variance
from mimo_amc.scenario import CATALOGUE, ChannelConfig, CSIConfig, LinkConfig


def _batch(m=16, k=4, realizations=100, uses=100, snr=20.0, seed=1, **link):
    sionna.phy.config.seed = seed
    up = Uplink(LinkConfig(num_rx_antennas=m, num_users=k, coherence_block=uses, **link), device="cpu")
    return up, up.sample(realizations, snr)


# ------------------------------------------------------------------ link
def test_snr_conventions():
    cfg = LinkConfig(num_rx_antennas=64, num_users=8, modulation="16qam", snr_db=[10.0])
    assert noise_variance(cfg, 10.0) == pytest.approx(0.1)
    assert noise_variance(cfg.model_copy(update={"snr_type": "eb_no"}), 10.0) == pytest.approx(0.1 / 4)
    assert noise_variance(cfg.model_copy(update={"snr_type": "es_no_array"}), 10.0) == pytest.approx(6.4)
    assert noise_variance(cfg.model_copy(update={"snr_type": "eb_no_array"}), 10.0) == pytest.approx(1.6)


def test_rayleigh_link_statistics():
    """E|h|^2 = 1, unit-energy symbols, noise variance N0: checked on 1.6 M samples (0.2 % precision)."""
    _, b = _batch(m=16, k=4, realizations=1000, uses=100, snr=10.0)
    assert abs(b.h.abs().square().mean() - 1) < 0.02  # 64k channel entries
    assert abs(b.x.abs().square().mean() - 1) < 0.01
    noise = b.y - (b.h.unsqueeze(1) @ b.x.unsqueeze(-1)).squeeze(-1)
    assert abs(noise.abs().square().mean() / b.no - 1) < 0.01
    assert b.bits.shape == (1000, 100, 4, 8) and set(b.bits.unique().tolist()) == {0.0, 1.0}


def test_kronecker_correlation_between_neighbouring_antennas():
    cfg = {"channel": ChannelConfig(model="kronecker", bs_correlation=0.7)}
    _, b = _batch(m=8, k=2, realizations=20000, uses=1, **cfg)
    corr = (b.h[:, 0, :] * b.h[:, 1, :].conj()).mean()
    assert abs(corr.abs() - 0.7) < 0.03  # 40k products, std ~0.006
    assert abs(b.h.abs().square().mean() - 1) < 0.02


@pytest.mark.parametrize(
    "csi, expected",
    [(CSIConfig(kind="ls", pilot_length=8), 0.1 / 8), (CSIConfig(kind="nmse", nmse_db=-13.0), 10**-1.3)],
)
def test_imperfect_csi_error_variance(csi, expected):
    _, b = _batch(m=16, k=4, realizations=2000, uses=1, snr=10.0, csi=csi)
    assert abs((b.h_est - b.h).abs().square().mean() / expected - 1) < 0.03  # 128k samples


def test_umi_channel_is_normalised_per_user():
    _, b = _batch(m=16, k=4, realizations=128, uses=2, channel=ChannelConfig(model="umi", num_subcarriers=32))
    assert b.h.shape == (128, 16, 4)
    assert abs(b.h.abs().square().mean() - 1) < 0.05


def test_invalid_link_configs_name_the_problem():
    with pytest.raises(ValueError, match="num_users"):
        LinkConfig(num_rx_antennas=4, num_users=8)
    with pytest.raises(ValueError, match=r"snr_db\[1\]"):
        LinkConfig(snr_db=[10.0, -400.0])
    with pytest.raises(ValueError, match="modulation"):
        LinkConfig(modulation="1024qam")


# ------------------------------------------------------------------ slicing and noise
@pytest.mark.parametrize("modulation", ["bpsk", "qpsk", "16qam", "64qam", "256qam"])
def test_slicer_matches_sionna_maxlog_hard_decisions(modulation):
    from sionna.phy.mapping import Demapper

    up, _ = _batch(m=4, k=1, realizations=1, uses=1, modulation=modulation)
    g = torch.Generator().manual_seed(0)
    x = torch.complex(
        torch.randn(50000, generator=g, dtype=torch.float64), torch.randn(50000, generator=g, dtype=torch.float64)
    )
    demapper = Demapper("maxlog", constellation=up.constellation, hard_out=True, precision="double", device="cpu")
    ref = demapper(x, torch.tensor(0.1, dtype=torch.float64)).reshape(50000, -1)
    assert torch.equal(NearestPointSlicer(up.constellation).bits(x), ref)


def test_white_noise_check():
    assert white_noise_variance(0.3 * torch.eye(4, dtype=torch.complex128)) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="white noise"):
        white_noise_variance(torch.diag(torch.tensor([1.0, 2.0], dtype=torch.complex128)))


# ------------------------------------------------------------------ detectors
def test_zero_noise_every_detector_is_exact():
    up, b = _batch(m=32, k=4, realizations=20, uses=10, snr=100.0)
    slicer = NearestPointSlicer(up.constellation)
    y = (b.h.unsqueeze(1) @ b.x.unsqueeze(-1)).squeeze(-1)
    s = 1e-9 * torch.eye(32, dtype=torch.complex128).expand(20, 1, 32, 32)
    for name in CATALOGUE:
        det = make_detector(name, iterations=12, solver=SolverConfig(ideal=True), device="cpu", seed=0)
        d = det.detect(y, b.h.unsqueeze(1), s)
        assert torch.equal(slicer.bits(d.x_hat[..., -1, :]), b.bits), name


def test_zf_effective_noise_matches_empirical_error_variance():
    """no_eff = N0 [(H^H H)^-1]_kk: the normalised error (x_hat - x)/sqrt(no_eff) has unit variance."""
    _, b = _batch(m=16, k=4, realizations=500, uses=100, snr=10.0)
    x_hat, no_eff = DigitalEqualizer("zf", "double")(b.y, b.h.unsqueeze(1), b.s)
    z = (x_hat - b.x) / no_eff.sqrt()
    assert abs(z.abs().square().mean() - 1) < 0.01  # 200k samples: std 0.002


def test_iterative_baselines_converge_to_zf():
    _, b = _batch(m=128, k=8, realizations=50, uses=20, snr=5.0)
    h = b.h.unsqueeze(1)
    ref = DigitalEqualizer("zf", "double").detect(b.y, h, b.s).x_hat[..., 0, :]
    err = {}
    for method in ("neumann", "gauss_seidel", "cg"):
        d = IterativeEqualizer(method, "zf", 8).detect(b.y, h, b.s)
        err[method] = [float((d.x_hat[..., i, :] - ref).abs().max()) for i in range(8)]
    assert err["cg"][-1] < 1e-9  # CG is exact after K = 8 steps
    assert err["gauss_seidel"][-1] < err["gauss_seidel"][1] / 100
    assert err["neumann"][-1] < err["neumann"][1] / 10


def test_ideal_analog_zf_equals_fp64_zf_on_every_symbol():
    """Acceptance (issue 3): ideal solver, 10,000 received vectors, 128x8 256-QAM."""
    up, b = _batch(m=128, k=8, realizations=100, uses=100, snr=5.0)
    h = b.h.unsqueeze(1)
    slicer = NearestPointSlicer(up.constellation)
    analog = AnalogEqualizer("zf", SolverConfig(ideal=True), iterations=3, device="cpu", seed=0).detect(b.y, h, b.s)
    fp64 = DigitalEqualizer("zf", "double").detect(b.y, h, b.s)
    ref = slicer.indices(fp64.x_hat[..., 0, :])
    assert (ref != slicer.indices(b.x)).any()  # there are symbol errors to agree on
    for i in range(3):
        assert torch.equal(slicer.indices(analog.x_hat[..., i, :]), ref)


def test_analog_equalizer_plugs_into_sionna_linear_detector():
    """Acceptance (issue 3): LinearDetector(analog ZF, bit, hard) gives the project's own bits.

    Both paths use a solver seeded alike, so the chip writes and read noise are the same draws.
    """
    up, b = _batch(m=16, k=4, realizations=50, uses=20, snr=20.0)
    h = b.h.unsqueeze(1)
    own = AnalogEqualizer("zf", SolverConfig(), iterations=3, device="cpu", seed=7).detect(b.y, h, b.s)
    own_bits = NearestPointSlicer(up.constellation).bits(own.x_hat[..., -1, :])
    eq = AnalogEqualizer("zf", SolverConfig(), iterations=3, device="cpu", seed=7)
    det = LinearDetector(
        eq, "bit", "maxlog", constellation=up.constellation, hard_out=True, precision="double", device="cpu"
    )
    sionna_bits = det(b.y, h, b.s)
    assert sionna_bits.shape == own_bits.shape == (50, 20, 4, 8)
    assert torch.equal(sionna_bits, own_bits)
    assert (own_bits != b.bits).any()  # not trivially error-free


def test_sionna_zf_reference_agrees_with_our_fp32_and_fp64_zf():
    up, b = _batch(m=32, k=8, realizations=40, uses=50, snr=12.0, modulation="16qam")
    slicer = NearestPointSlicer(up.constellation)
    h = b.h.unsqueeze(1)
    bits = {
        n: slicer.bits(make_detector(n, iterations=1).detect(b.y, h, b.s).x_hat[..., 0, :])
        for n in ("sionna_zf", "zf_fp64", "zf_fp32")
    }
    assert torch.equal(bits["sionna_zf"], bits["zf_fp64"])
    assert float((bits["zf_fp32"] != bits["zf_fp64"]).double().mean()) < 1e-4


def test_make_detector_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown detector 'zf_fp16'"):
        make_detector("zf_fp16", iterations=1)


@pytest.mark.parametrize("kind", ["ZF", "lmmse", "zf "])
def test_equalizers_reject_a_kind_that_is_not_exactly_zf_or_mmse(kind):
    builds = (
        lambda: AnalogEqualizer(kind, device="cpu", seed=0),
        lambda: DigitalEqualizer(kind, "double"),
        lambda: IterativeEqualizer("cg", kind, 3),
    )
    for build in builds:
        with pytest.raises(ValueError, match="'zf' or 'mmse'"):
            build()


def test_detector_names_carry_their_kind_family_and_iterations():
    """The catalogue is the one list of names: every entry builds, with its kind, name and iteration count."""
    for name, info in CATALOGUE.items():
        det = make_detector(name, iterations=4, device="cpu", seed=0)
        assert det.name == name and det.kind == info.kind, name
    analog = make_detector("analog_mmse", iterations=4, device="cpu", seed=0)
    assert isinstance(analog, AnalogEqualizer) and analog.iterations == 4


def test_analog_mmse_is_unbiased_and_converges_to_digital_mmse():
    _, b = _batch(m=16, k=4, realizations=200, uses=50, snr=15.0)
    h = b.h.unsqueeze(1)
    ref = DigitalEqualizer("mmse", "double").detect(b.y, h, b.s)
    d = AnalogEqualizer("mmse", SolverConfig(device={"bits": 4}), iterations=12, device="cpu", seed=1).detect(
        b.y, h, b.s
    )
    rel = (d.x_hat[..., -1, :] - ref.x_hat[..., 0, :]).abs().max() / ref.x_hat.abs().max()
    assert rel < 1e-5
    gain = (ref.x_hat[..., 0, :] * b.x.conj()).mean().real / b.x.abs().square().mean()
    assert abs(gain - 1) < 0.01
    assert math.isclose(float(d.no_eff.mean()), float(ref.no_eff.mean()))
