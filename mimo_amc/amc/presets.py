"""Named chips: complete :class:`SolverConfig` values with the source of each, kept apart from the
parameter definitions (as aihwkit keeps its presets apart from its device configs).

A scenario names one with ``amc: {preset: NAME}`` and may override any field on top of it
(``amc: {preset: zuo2025_4bit, lpinv: {prog_sigma: 0.02}}``); ``mimo-amc validate FILE --show``
prints the resolved chip.

Example:
    >>> sorted(PRESETS)
    ['ideal', 'isaac', 'pcm_aihwkit', 'zuo2025', 'zuo2025_4bit']
    >>> preset("zuo2025_4bit").device.bits
    4
    >>> describe(preset("zuo2025_4bit").model_copy(update={"damping": 0.7}))
    'preset zuo2025_4bit with damping = 0.7 (preset: 1.0)'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import DeviceConfig, HPMVMConfig, LPINVConfig, SolverConfig


@dataclass(frozen=True)
class Preset:
    """A named chip.

    Attributes:
        config: The chip.
        source: Where its values come from.
    """

    config: SolverConfig
    source: str


PRESETS: dict[str, Preset] = {
    "zuo2025": Preset(
        SolverConfig(),
        "Zuo et al., Nature Electronics 8, 1222 (2025): 3-bit TaOx cells (0.5-35 uS), 8x8 LP-INV arrays with "
        "BlockAMC, 8 x 3-bit HP-MVM slices; unpublished Methods details as reconstructed in the paper brief "
        "(the default of every field).",
    ),
    "zuo2025_4bit": Preset(
        SolverConfig(device=DeviceConfig(bits=4)),
        "The zuo2025 chip with 4-bit cells (16 levels over the same window): the paper brief's fix for the "
        "16x4 error floor of 3-bit cells.",
    ),
    "ideal": Preset(
        SolverConfig(ideal=True),
        "Every non-ideality off (CrossSim convention): reproduces the float64 digital solution.",
    ),
    "pcm_aihwkit": Preset(
        SolverConfig(
            device=DeviceConfig(
                g_min_us=0.1, g_max_us=25.0, drift_nu=0.049, drift_nu_std=0.008, drift_t0_s=20.0, drift_time_s=20.0
            ),
            lpinv=LPINVConfig(prog_sigma=0.035),
            hpmvm=HPMVMConfig(prog_sigma=0.035),
        ),
        "Phase-change memory cells as fitted in IBM aihwkit's PCMLikeNoiseModel (aihwkit "
        "src/aihwkit/inference/noise/pcm.py; Nandakumar et al., ICECS 2019; used by Joshi et al., Nature "
        "Communications 11, 2473 (2020)): g_max 25 uS (aihwkit maps zero to 0 uS; the model needs g_min > 0: "
        "0.1 uS, cancelled by the differential pair); programming noise sigma(g) = 0.26348 + 1.9650 g/g_max - "
        "1.1731 (g/g_max)^2 uS, here state-independent at its RMS over the 8 levels of a 3-bit cell, 3.5 % of "
        "g_max (1.1 % at level 0 to 4.3 % at level 6), on the LP-INV and on the HP-MVM arrays alike (PCM has "
        "no tighter write-verify for the MVM slices); drift exponent nu = 0.049 +- 0.008 (the fit's mean and "
        "spread for g >= g_max / 3, levels 3-7; lower levels drift faster, up to 0.1, which a single nu cannot "
        "express) with t0 = 20 s, read at t = t0 (as verified; drift_time_s ages it, and the model has no global "
        "drift compensation, so one hour, t = 3620 s, scales every device by ~0.78). Not modelled: the "
        "state-dependence of both fits and the accumulated 1/f read noise (0.88 % (g/g_max)^-0.65 relative "
        "times sqrt(ln((t + 250 ns) / 500 ns))). Cells used at 3 bits, like zuo2025, and its circuits.",
    ),
    "isaac": Preset(
        SolverConfig(device=DeviceConfig(bits=2), hpmvm=HPMVMConfig(input_digit_bits=1, input_slices=16, adc_bits=8)),
        "ISAAC's crossbar tile (Shafiee et al., ISCA 2016): 2-bit cells, 16-bit fixed-point matrix as 8 slices "
        "of 2 bits, 16-bit inputs applied one bit per step (1-bit DAC), 8-bit partial-sum ADC, 128x128 arrays; "
        "the rest (LP-INV circuit, devices, noise) is zuo2025's, since ISAAC has no inversion circuit. Not "
        "expressible: separate cell bits for INV and MVM arrays (the LP-INV here holds 2-bit slices too), "
        "ISAAC's weight-flipping encoding that lets 8 ADC bits read 128-row sums of up to 384 (without it "
        "the 8-bit ADC saturates above 127 on arrays of more than 42 rows), and its ADC sharing between "
        "crossbars (a cost-model question).",
    ),
}
"""Every named chip (name -> :class:`Preset`)."""


def preset(name: str) -> SolverConfig:
    """The chip named ``name``.

    Raises:
        ValueError: for an unknown name (the message lists the known ones).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown chip preset {name!r}; choose from {', '.join(sorted(PRESETS))}")
    return PRESETS[name].config


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        out |= _flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value}
    return out


def nearest_preset(cfg: SolverConfig) -> tuple[str, dict[str, tuple[Any, Any]]]:
    """The preset that ``cfg`` differs from in the fewest fields (the first in :data:`PRESETS` on a tie), and
    those fields: ``{dotted field: (preset's value, cfg's value)}``.

    Example:
        >>> nearest_preset(SolverConfig(device=DeviceConfig(bits=4)))
        ('zuo2025_4bit', {})
    """
    mine = _flat(cfg.model_dump())
    best: tuple[str, dict[str, tuple[Any, Any]]] | None = None
    for name, chip in PRESETS.items():
        theirs = _flat(chip.config.model_dump())
        diff = {k: (theirs[k], v) for k, v in mine.items() if theirs[k] != v}
        if best is None or len(diff) < len(best[1]):
            best = (name, diff)
    assert best is not None
    return best


def describe(cfg: SolverConfig) -> str:
    """``cfg`` in one line, as its nearest preset and the fields that differ from it."""
    name, diff = nearest_preset(cfg)
    changes = ", ".join(f"{k} = {new} (preset: {old})" for k, (old, new) in diff.items())
    return f"preset {name}" + (f" with {changes}" if changes else "")
