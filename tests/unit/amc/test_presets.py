"""Named chips (mimo_amc.amc.presets) are the chips their sources describe. Their precision curves on the
paper_precision set-up are checked in tests/unit/studies/test_presets_precision.py."""

from __future__ import annotations

import pytest

from mimo_amc.amc import PRESETS, DeviceConfig, SolverConfig, preset
from mimo_amc.amc.hpmvm import partial_sum_adc_bits


def test_presets_are_the_chips_they_name():
    assert preset("zuo2025") == SolverConfig()
    assert preset("zuo2025_4bit") == SolverConfig(device=DeviceConfig(bits=4))
    assert preset("ideal").ideal and all(p.source for p in PRESETS.values())
    with pytest.raises(ValueError, match="zuo2025_4bit"):
        preset("zuo2099")


def test_isaac_preset_is_isaacs_tile():
    """Shafiee et al. 2016: 16-bit weights as 8 x 2-bit cells, 16-bit inputs one bit at a time, 8-bit ADCs,
    128x128 arrays. An 8-bit ADC covers sums of up to 42 rows of 1-bit inputs times digits of at most 3."""
    isaac = preset("isaac")
    assert isaac.device.bits * isaac.hpmvm.num_slices == 16
    assert isaac.hpmvm.input_digit_bits * isaac.hpmvm.input_slices == 16
    assert (isaac.hpmvm.array_size, isaac.hpmvm.adc_bits) == (128, 8)
    auto = isaac.model_copy(update={"hpmvm": isaac.hpmvm.model_copy(update={"adc_bits": None})})
    assert partial_sum_adc_bits(42, auto) == 8 < partial_sum_adc_bits(43, auto)


def test_pcm_preset_has_aihwkits_values():
    """aihwkit PCMLikeNoiseModel: g_max 25 uS, t0 20 s, drift nu 0.049 +- 0.008 for g >= g_max / 3; the
    programming-noise polynomial's RMS over 8 levels is 3.5 % of g_max, on both kinds of array."""
    pcm = preset("pcm_aihwkit")
    levels = [k / 7 for k in range(8)]
    rms = (sum((0.26348 + 1.9650 * x - 1.1731 * x**2) ** 2 for x in levels) / 8) ** 0.5 / 25.0
    assert pcm.lpinv.prog_sigma == pcm.hpmvm.prog_sigma == pytest.approx(rms, abs=5e-4)
    assert (pcm.device.g_max_us, pcm.device.drift_t0_s, pcm.device.drift_nu, pcm.device.drift_nu_std) == (
        25.0, 20.0, 0.049, 0.008,
    )  # fmt: skip
    assert pcm.device.drift_time_s == pcm.device.drift_t0_s  # read as verified: aging is an override
