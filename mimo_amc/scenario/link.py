"""The ``link`` section: antennas, users, modulation, channel model, CSI, block fading, SNR points.

The physics (Sionna blocks, the SNR convention) is in :mod:`mimo_amc.link`; this is the schema only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..amc import Section

Modulation = Literal["bpsk", "qpsk", "16qam", "64qam", "256qam"]
SNRType = Literal["es_no", "eb_no", "es_no_array", "eb_no_array"]

#: Sionna constellation type and bits per symbol of each modulation.
MODULATIONS: dict[str, tuple[str, int]] = {
    "bpsk": ("pam", 1),
    "qpsk": ("qam", 2),
    "16qam": ("qam", 4),
    "64qam": ("qam", 6),
    "256qam": ("qam", 8),
}


class ChannelConfig(Section):
    """Channel model between the users and the base-station array."""

    model: Literal["rayleigh", "kronecker", "umi", "uma"] = Field(
        "rayleigh", description="i.i.d. Rayleigh, Kronecker-correlated Rayleigh, or 3GPP TR 38.901 UMi / UMa."
    )
    bs_correlation: float = Field(
        0.0, ge=0, le=0.99, description="Kronecker: exponential correlation coefficient between BS antennas."
    )
    user_correlation: float = Field(
        0.0, ge=0, le=0.99, description="Kronecker: exponential correlation coefficient between users."
    )
    carrier_frequency_hz: float = Field(3.5e9, gt=0, description="3GPP: carrier frequency.")
    subcarrier_spacing_hz: float = Field(30e3, gt=0, description="3GPP: OFDM subcarrier spacing.")
    num_subcarriers: int = Field(
        64, ge=1, le=65536, description="3GPP: subcarriers per drop (one realisation each; NR uses up to 3300)."
    )
    o2i_model: Literal["low", "high"] = Field("low", description="3GPP: outdoor-to-indoor loss model.")


class CSIConfig(Section):
    """Channel knowledge at the receiver."""

    kind: Literal["perfect", "ls", "nmse"] = Field(
        "perfect",
        description="'perfect'; 'ls': least-squares estimate from orthogonal pilots sent over the same "
        "channel and noise; 'nmse': the true channel plus independent CN(0, nmse) errors.",
    )
    pilot_length: int | None = Field(None, ge=1, description="'ls': pilot symbols per user (default: K).")
    nmse_db: float = Field(-20.0, le=10, description="'nmse': estimation error power relative to E|h|^2 = 1.")


class LinkConfig(Section):
    """Uplink parameters.

    Example:
        >>> cfg = LinkConfig(num_rx_antennas=128, num_users=8, snr_db=[-10, -5])
        >>> cfg.bits_per_symbol
        8
    """

    num_rx_antennas: int = Field(16, ge=1, le=4096, description="Base-station antennas M.")
    num_users: int = Field(4, ge=1, le=1024, description="Single-antenna users K (streams).")
    modulation: Modulation = Field("256qam", description="Gray-mapped constellation.")
    channel: ChannelConfig = Field(default_factory=ChannelConfig)
    csi: CSIConfig = Field(default_factory=CSIConfig)
    coherence_block: int = Field(100, ge=1, description="Channel uses T per channel realisation (block fading).")
    snr_db: list[float] = Field(
        default_factory=lambda: [20.0], description="SNR points of the BER sweep in dB (see snr_type)."
    )
    snr_type: SNRType = Field("es_no", description="SNR convention (see mimo_amc.link).")

    @model_validator(mode="after")
    def _check(self) -> LinkConfig:
        if self.num_users > self.num_rx_antennas:
            raise ValueError(
                f"num_users ({self.num_users}) must not exceed num_rx_antennas ({self.num_rx_antennas}): "
                "zero-forcing needs M >= K"
            )
        for i, v in enumerate(self.snr_db):
            if not -60 <= v <= 100:
                raise ValueError(f"snr_db[{i}] = {v} dB is outside the supported range [-60, 100] dB")
            if v in self.snr_db[:i]:
                raise ValueError(f"snr_db[{i}] = {v} dB is listed twice; give each SNR point once")
        if self.csi.kind == "ls" and (self.csi.pilot_length or self.num_users) < self.num_users:
            raise ValueError(
                f"csi.pilot_length ({self.csi.pilot_length}) must be at least num_users ({self.num_users}) "
                "for orthogonal pilots"
            )
        return self

    @property
    def bits_per_symbol(self) -> int:
        """Bits per QAM symbol of :attr:`modulation`."""
        return MODULATIONS[self.modulation][1]
