"""Coded 5G NR PUSCH uplink built from Sionna's NR blocks: what the ``pusch`` study runs.

``K`` single-layer UEs (one antenna port, DMRS port ``k`` for UE ``k``, no precoding) each send one
LDPC-coded transport block (TB) per slot: :class:`sionna.phy.nr.PUSCHTransmitter` (TB CRC, LDPC,
scrambling, rate matching, QAM mapping, DMRS) on ``num_prbs`` PRBs, 14 OFDM symbols, in the
frequency domain. The channel is Sionna's OFDM channel (one tap per resource element, no ICI):

* ``tdl`` / ``cdl``: TR 38.901 TDL / CDL (profile, delay spread, UE speed), single-link models in
  Sionna, so each UE gets its own independent link (``B K`` links are drawn and folded into the UE
  dimension); CDL uses a single omni antenna at the UE and the base-station array of
  :func:`bs_array`;
* ``umi`` / ``uma``: the system-level models, ``K`` UEs dropped in one sector per slot
  (:func:`sionna.phy.channel.gen_single_sector_topology`).

With ``normalize`` (default) every UE's channel has unit energy per slot, averaged over antennas
and REs (ideal power control). The noise is AWGN with ``N0 = 10^(-snr/10)``: the SNR is Es/N0 per
receive antenna. The receiver's parts are Sionna's too: perfect CSI or
:class:`sionna.phy.nr.PUSCHLSChannelEstimator`, the :class:`~sionna.phy.mapping.Demapper`
(max-log), :class:`~sionna.phy.nr.LayerDemapper` and :class:`~sionna.phy.nr.TBDecoder`
(descrambling, LDPC decoding, CRC), composed here as :class:`sionna.phy.nr.PUSCHReceiver` does, so
that a detector's output (of every iterate) can be decoded without running the estimator again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from sionna.phy.channel import ApplyOFDMChannel, cir_to_ofdm_channel, gen_single_sector_topology, subcarrier_frequencies
from sionna.phy.channel.tr38901 import CDL, TDL, PanelArray, UMa, UMi
from sionna.phy.mapping import Demapper
from sionna.phy.mimo import StreamManagement
from sionna.phy.nr import LayerDemapper, PUSCHConfig, PUSCHLSChannelEstimator, PUSCHTransmitter, TBDecoder
from sionna.phy.ofdm import EPDetector, KBestDetector, LinearDetector

from .scenario.studies import PUSCHStudyConfig


def bs_array(num_antennas: int, carrier_frequency_hz: float, **blocks: str) -> PanelArray:
    """The base station's panel: dual cross-polarised 38.901 elements in ``rows x cols`` (``M = 2 rows cols``)
    for even ``M``, as square as ``M`` allows; a vertically polarised row for odd ``M``. ``blocks``:
    ``precision`` and ``device``."""
    if num_antennas % 2:
        return PanelArray(1, num_antennas, "single", "V", "38.901", carrier_frequency_hz, **blocks)
    pairs = num_antennas // 2
    rows = max(r for r in range(1, math.isqrt(pairs) + 1) if pairs % r == 0)
    return PanelArray(rows, pairs // rows, "dual", "cross", "38.901", carrier_frequency_hz, **blocks)


@dataclass(frozen=True)
class PUSCHSlots:
    """A batch of ``B`` received slots.

    Attributes:
        bits: ``[B, K, tb_size]`` information bits of every UE's TB.
        coded_bits: ``[B, K, num_coded_bits]`` scrambled codeword bits (what the demapper's LLRs estimate).
        x: ``[B, K, 1, 14, fft_size]`` transmitted resource grids.
        h: ``[B, 1, M, K, 1, 14, fft_size]`` true channel per resource element.
        y: ``[B, 1, M, 14, fft_size]`` received grids.
        no: Noise variance per receive antenna (0-d tensor).
    """

    bits: torch.Tensor
    coded_bits: torch.Tensor
    x: torch.Tensor
    h: torch.Tensor
    y: torch.Tensor
    no: torch.Tensor


class PUSCHLink:
    """The transmitter, channel and receiver blocks of one ``pusch`` section (module docstring).

    Args:
        cfg: The ``pusch`` section.
        precision: Precision of the Sionna blocks (``"single"``: Sionna's default receiver).
        device: Torch device of every block.

    Example:
        >>> link = PUSCHLink(PUSCHStudyConfig(num_users=2, num_rx_antennas=4, num_prbs=1), device="cpu")
        >>> link.tb_size, link.num_bits_per_symbol, link.resource_grid.num_data_symbols
        (304, 4, 144)
    """

    def __init__(self, cfg: PUSCHStudyConfig, *, precision: str = "single", device: str = "cpu") -> None:
        self.cfg, self.precision, self.device = cfg, precision, str(device)
        base = PUSCHConfig()
        base.carrier.subcarrier_spacing = cfg.subcarrier_spacing_khz
        base.carrier.n_size_grid = cfg.num_prbs
        base.num_antenna_ports = 1
        base.num_layers = 1
        base.dmrs.config_type = cfg.dmrs_config_type
        base.dmrs.length = cfg.dmrs_length
        base.dmrs.additional_position = cfg.dmrs_additional_position
        base.dmrs.num_cdm_groups_without_data = 2 if cfg.dmrs_config_type == 1 else 3
        base.tb.mcs_index = cfg.mcs_index
        base.tb.mcs_table = cfg.mcs_table
        configs = []
        for k in range(cfg.num_users):
            c = base.clone()
            c.dmrs.dmrs_port_set = [k]
            configs.append(c)
        self.config = base
        blocks = {"precision": precision, "device": self.device}
        self.transmitter = PUSCHTransmitter(configs, output_domain="freq", **blocks)
        self.resource_grid = self.transmitter.resource_grid
        self.num_bits_per_symbol = int(base.tb.num_bits_per_symbol)
        self.tb_size = base.tb_size
        self.coderate = float(base.tb.target_coderate)
        self.slot_duration_s = 1e-3 * 15 / cfg.subcarrier_spacing_khz
        self.stream_management = StreamManagement(np.ones([1, cfg.num_users], bool), 1)
        self.estimator = (
            None
            if cfg.csi == "perfect"
            else PUSCHLSChannelEstimator(
                self.resource_grid,
                cfg.dmrs_length,
                cfg.dmrs_additional_position,
                base.dmrs.num_cdm_groups_without_data,
                interpolation_type=cfg.interpolation,
                **blocks,
            )
        )
        self.demapper = Demapper("maxlog", "qam", self.num_bits_per_symbol, precision="double", device=self.device)
        self.layer_demapper = LayerDemapper(
            self.transmitter._layer_mapper, num_bits_per_symbol=self.num_bits_per_symbol, **blocks
        )
        self.decoder = TBDecoder(self.transmitter._tb_encoder, **blocks)
        self._apply = ApplyOFDMChannel(**blocks)
        self._channel = self._channel_model()
        self._frequencies = subcarrier_frequencies(
            self.resource_grid.fft_size, self.resource_grid.subcarrier_spacing, **blocks
        )

    def _channel_model(self):
        ch, fc, m = self.cfg.channel, self.cfg.channel.carrier_frequency_hz, self.cfg.num_rx_antennas
        blocks = {"precision": self.precision, "device": self.device}
        speed = {"min_speed": ch.ue_speed_mps, "max_speed": ch.ue_speed_mps}
        if ch.model == "tdl":
            return TDL(ch.profile, ch.delay_spread_ns * 1e-9, fc, num_rx_ant=m, num_tx_ant=1, **speed, **blocks)
        ut, bs = PanelArray(1, 1, "single", "V", "omni", fc, **blocks), bs_array(m, fc, **blocks)
        if ch.model == "cdl":
            return CDL(ch.profile, ch.delay_spread_ns * 1e-9, fc, ut, bs, "uplink", **speed, **blocks)
        model = UMi if ch.model == "umi" else UMa
        return model(fc, ch.o2i_model, ut, bs, "uplink", **blocks)

    def channel(self, batch: int) -> torch.Tensor:
        """``h [B, 1, M, K, 1, 14, fft_size]``: the channel of ``batch`` slots (module docstring)."""
        rg, k, ch = self.resource_grid, self.cfg.num_users, self.cfg.channel
        steps, rate = rg.num_ofdm_symbols, 1 / rg.ofdm_symbol_duration
        if ch.model in ("tdl", "cdl"):
            a, tau = self._channel(batch * k, steps, rate)  # a [B K, 1, M, 1, 1, P, T], tau [B K, 1, 1, P]
            a = a.reshape(batch, k, self.cfg.num_rx_antennas, *a.shape[-2:]).transpose(1, 2)  # [B, M, K, P, T]
            a = a[:, None, :, :, None]
            tau = tau.reshape(batch, 1, k, tau.shape[-1])
        else:
            speed = ch.ue_speed_mps
            topology = gen_single_sector_topology(
                batch, k, ch.model, min_ut_velocity=speed, max_ut_velocity=speed,
                precision=self.precision, device=self.device,
            )  # fmt: skip
            self._channel.set_topology(*topology)
            a, tau = self._channel(steps, rate)
        return cir_to_ofdm_channel(self._frequencies, a, tau, normalize=ch.normalize)

    def sample(self, batch: int, snr_db: float) -> PUSCHSlots:
        """``batch`` slots sent over fresh channels and AWGN at ``snr_db`` (Es/N0 per receive antenna)."""
        x, bits = self.transmitter(batch)
        coded = self.transmitter._tb_encoder(bits)
        h = self.channel(batch)
        dtype = torch.float32 if self.precision == "single" else torch.float64
        no = torch.tensor(10.0 ** (-snr_db / 10), dtype=dtype, device=self.device)
        return PUSCHSlots(bits, coded, x, h, self._apply(x, h, no), no)

    def estimate(self, slots: PUSCHSlots) -> tuple[torch.Tensor, torch.Tensor]:
        """``(h_hat, err_var)`` in Sionna's OFDM-detector layout: the true channel (error 0) or the LS estimate."""
        if self.estimator is None:
            return slots.h, torch.zeros(1, dtype=slots.no.dtype, device=slots.no.device)
        return self.estimator(slots.y, slots.no)

    def sionna_detector(self, name: str) -> LinearDetector | KBestDetector | EPDetector:
        """Sionna's OFDM detector ``lmmse``, ``zf`` (max-log LLRs), ``kbest`` or ``ep`` for this grid."""
        rg, sm, nb = self.resource_grid, self.stream_management, self.num_bits_per_symbol
        blocks = {"precision": self.precision, "device": self.device}
        if name in ("lmmse", "zf"):
            return LinearDetector(name, "bit", "maxlog", rg, sm, "qam", nb, **blocks)
        if name == "kbest":
            return KBestDetector("bit", self.cfg.num_users, self.cfg.kbest_k, rg, sm, "qam", nb, **blocks)
        if name == "ep":
            return EPDetector("bit", rg, sm, nb, **blocks)
        raise ValueError(f"unknown Sionna detector {name!r}; choose from lmmse, zf, kbest, ep")

    def llrs(self, x_hat: torch.Tensor, no_eff: torch.Tensor) -> torch.Tensor:
        """Max-log LLRs ``[..., n * bits]`` of estimates ``x_hat [..., n]`` with effective noise ``no_eff [..., n]``."""
        return self.demapper(x_hat, no_eff)

    def decode(self, llr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(info bits [N, K, tb_size], CRC ok [N, K])`` of detector LLRs ``[N, K, 1, n * bits]``."""
        return self.decoder(self.layer_demapper(llr))
