"""Named chips: complete :class:`SolverConfig` values with the source of each, kept apart from the
parameter definitions (as aihwkit keeps its presets apart from its device configs).

A scenario names one with ``amc: {preset: NAME}`` and may override any field on top of it
(``amc: {preset: zuo2025_4bit, lpinv: {prog_sigma: 0.02}}``); ``mimo-amc validate FILE --show``
prints the resolved chip.

Example:
    >>> sorted(PRESETS)
    ['ideal', 'zuo2025', 'zuo2025_4bit']
    >>> preset("zuo2025_4bit").device.bits
    4
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import DeviceConfig, SolverConfig


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
