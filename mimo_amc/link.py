"""Multi-user massive-MIMO uplink built from Sionna blocks.

``K`` single-antenna users send Gray-mapped QAM symbols to an ``M``-antenna base
station over a flat (per resource element) channel ``y = H x + n``:

* bits: :class:`sionna.phy.mapping.BinarySource`; symbols: :class:`sionna.phy.mapping.Mapper`
  (unit average energy);
* channels (``E|h_mk|^2 = 1``): i.i.d. Rayleigh (:class:`sionna.phy.channel.GenerateFlatFadingChannel`),
  Kronecker-correlated Rayleigh (:class:`sionna.phy.channel.KroneckerModel` with
  :func:`sionna.phy.channel.exp_corr_mat`), or 3GPP TR 38.901 UMi/UMa through Sionna's OFDM
  channel (each subcarrier of each user drop is one realisation; users are static and the
  channel is normalised per user, i.e. ideal power control);
* noise: :class:`sionna.phy.channel.AWGN`.

**Block fading.** Each channel realisation serves a coherence block of ``T`` channel uses,
so a receiver (and the analog chip) writes one Gram matrix per realisation and then solves
``T`` received vectors with it.

**SNR convention** (``snr_type``, written into every results table). Symbols have unit
energy and ``E|h|^2 = 1``, so with noise variance ``N0`` per receive antenna:

* ``es_no`` (default): Es/N0 per receive antenna, ``N0 = 10^(-snr/10)``;
* ``eb_no``: Eb/N0 per receive antenna, ``N0 = 1 / (Eb/N0 * bits_per_symbol)``
  (Sionna's :func:`~sionna.phy.utils.ebnodb2no`, which counts no array gain);
* ``es_no_array`` / ``eb_no_array``: the same referred to the whole array (the received
  energy per user summed over ``M`` antennas), i.e. ``N0`` multiplied by ``M``.

With ZF the post-detection SNR is about ``(M - K + 1) Es/N0``, so at 128x8 the interesting
per-antenna range lies ~20 dB below that of 16x4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from sionna.phy.channel import AWGN, GenerateFlatFadingChannel, KroneckerModel, exp_corr_mat
from sionna.phy.mapping import BinarySource, Constellation, Mapper
from sionna.phy.utils import ebnodb2no

from .amc import default_device
from .scenario.link import MODULATIONS, LinkConfig


def noise_variance(cfg: LinkConfig, snr_db: float) -> float:
    """Noise variance ``N0`` per receive antenna of one SNR point in the ``cfg.snr_type`` convention.

    Example:
        >>> noise_variance(LinkConfig(), 20.0)
        0.01
    """
    bits = cfg.bits_per_symbol
    if cfg.snr_type.startswith("eb_no"):
        no = float(ebnodb2no(snr_db, bits, 1.0, precision="double", device="cpu"))
    else:
        no = 10.0 ** (-snr_db / 10)
    return no * cfg.num_rx_antennas if cfg.snr_type.endswith("_array") else no


@dataclass(frozen=True)
class LinkBatch:
    """One batch of ``B`` channel realisations with ``T`` channel uses each.

    Attributes:
        bits: ``[B, T, K, bits_per_symbol]`` float 0/1, transmitted bits.
        x: ``[B, T, K]`` complex128 transmitted symbols (unit average energy).
        h: ``[B, M, K]`` complex128 true channels.
        h_est: ``[B, M, K]`` complex128 channels known to the receiver.
        y: ``[B, T, M]`` complex128 received vectors.
        no: Noise variance per receive antenna (linear).
    """

    bits: torch.Tensor
    x: torch.Tensor
    h: torch.Tensor
    h_est: torch.Tensor
    y: torch.Tensor
    no: float

    @property
    def s(self) -> torch.Tensor:
        """Noise covariance ``no * I_M`` as ``[B, 1, M, M]`` (broadcasts over channel uses)."""
        m = self.h.shape[-2]
        return (self.no * torch.eye(m, dtype=self.h.dtype, device=self.h.device)).expand(len(self.h), 1, m, m)


class Uplink:
    """Generator of uplink batches (Sionna blocks, double precision).

    Args:
        cfg: Link parameters.
        device: Torch device; default :func:`mimo_amc.amc.default_device`.

    Randomness comes from Sionna's global generator: set ``sionna.phy.config.seed`` first
    for reproducible batches.

    Example:
        >>> import sionna.phy
        >>> sionna.phy.config.seed = 1
        >>> link = Uplink(LinkConfig(num_rx_antennas=16, num_users=4), device="cpu")
        >>> batch = link.sample(num_realizations=3, snr_db=20.0)
        >>> tuple(batch.y.shape), tuple(batch.h.shape), tuple(batch.bits.shape)
        ((3, 100, 16), (3, 16, 4), (3, 100, 4, 8))
    """

    def __init__(self, cfg: LinkConfig, device: torch.device | str | None = None) -> None:
        self.cfg = cfg
        self.device = str(device if device is not None else default_device())
        kw = {"precision": "double", "device": self.device}
        ctype, bits = MODULATIONS[cfg.modulation]
        self.constellation = Constellation(ctype, bits, **kw)
        self._source = BinarySource(**kw)
        self._mapper = Mapper(constellation=self.constellation, **kw)
        self._awgn = AWGN(**kw)
        m, k = cfg.num_rx_antennas, cfg.num_users
        ch = cfg.channel
        if ch.model in ("rayleigh", "kronecker"):
            corr = None
            if ch.model == "kronecker":
                corr = KroneckerModel(
                    r_tx=exp_corr_mat(ch.user_correlation, k, **kw) if ch.user_correlation > 0 else None,
                    r_rx=exp_corr_mat(ch.bs_correlation, m, **kw) if ch.bs_correlation > 0 else None,
                    **kw,
                )
            self._flat = GenerateFlatFadingChannel(k, m, spatial_corr=corr, **kw)
        else:
            self._ofdm = _OFDMChannelMatrices(cfg, kw)

    def channels(self, num_realizations: int) -> torch.Tensor:
        """``[B, M, K]`` complex128 channel realisations."""
        if self.cfg.channel.model in ("rayleigh", "kronecker"):
            return self._flat(num_realizations)
        return self._ofdm(num_realizations)

    def sample(self, num_realizations: int, snr_db: float) -> LinkBatch:
        """Random bits over ``B = num_realizations`` channels with ``T`` channel uses each."""
        cfg = self.cfg
        shape = [num_realizations, cfg.coherence_block, cfg.num_users, cfg.bits_per_symbol]
        return self.transmit(self._source(shape), snr_db)

    def transmit(self, bits: torch.Tensor, snr_db: float) -> LinkBatch:
        """Send given bits ``[B, T, K, bits_per_symbol]`` (0/1) over ``B`` fresh channel realisations."""
        b, t, k, nb = bits.shape
        if (k, nb) != (self.cfg.num_users, self.cfg.bits_per_symbol):
            expected = f"[B, T, {self.cfg.num_users}, {self.cfg.bits_per_symbol}]"
            raise ValueError(f"bits must have shape {expected}; got {tuple(bits.shape)}")
        bits = bits.to(self.device, torch.float64)
        x = self._mapper(bits.reshape(b, t, k * nb))
        h = self.channels(b)
        no = noise_variance(self.cfg, snr_db)
        y = self._awgn(x @ h.mT, no)  # [B, T, M]: one product per realisation, no per-use copy of h
        return LinkBatch(bits, x, h, self._estimate(h, no), y, no)

    def _estimate(self, h: torch.Tensor, no: float) -> torch.Tensor:
        csi = self.cfg.csi
        if csi.kind == "perfect":
            return h
        if csi.kind == "nmse":
            return self._awgn(h, 10 ** (csi.nmse_db / 10))
        # Least squares from orthogonal unit-modulus pilots P [K, Tp] (DFT rows), P P^H = Tp I.
        k = self.cfg.num_users
        tp = csi.pilot_length or k  # >= k (LinkConfig checks it)
        n = torch.arange(tp, dtype=torch.float64, device=h.device)
        p = torch.exp(-2j * math.pi * torch.arange(k, dtype=torch.float64, device=h.device)[:, None] * n / tp)
        y_pilot = self._awgn(h @ p, no)
        return y_pilot @ p.mH / tp


class _OFDMChannelMatrices:
    """Per-subcarrier channel matrices of a 3GPP UMi/UMa uplink (Sionna OFDM channel)."""

    def __init__(self, cfg: LinkConfig, kw: dict[str, str]) -> None:
        from sionna.phy.channel import GenerateOFDMChannel, gen_single_sector_topology
        from sionna.phy.channel.tr38901 import PanelArray, UMa, UMi
        from sionna.phy.ofdm import ResourceGrid

        ch = cfg.channel
        rows = max(r for r in range(1, math.isqrt(cfg.num_rx_antennas) + 1) if cfg.num_rx_antennas % r == 0)
        bs = PanelArray(
            num_rows_per_panel=rows,
            num_cols_per_panel=cfg.num_rx_antennas // rows,
            polarization="single",
            polarization_type="V",
            antenna_pattern="38.901",
            carrier_frequency=ch.carrier_frequency_hz,
            **kw,
        )
        ut = PanelArray(
            num_rows_per_panel=1,
            num_cols_per_panel=1,
            polarization="single",
            polarization_type="V",
            antenna_pattern="omni",
            carrier_frequency=ch.carrier_frequency_hz,
            **kw,
        )
        model_cls = UMi if ch.model == "umi" else UMa
        self._model = model_cls(
            carrier_frequency=ch.carrier_frequency_hz,
            o2i_model=ch.o2i_model,
            ut_array=ut,
            bs_array=bs,
            direction="uplink",
            **kw,
        )
        rg = ResourceGrid(
            num_ofdm_symbols=1,
            fft_size=ch.num_subcarriers,
            subcarrier_spacing=ch.subcarrier_spacing_hz,
            num_tx=cfg.num_users,
            num_streams_per_tx=1,
            **kw,
        )
        self._generate = GenerateOFDMChannel(self._model, rg, normalize_channel=True, **kw)
        self._topology = gen_single_sector_topology
        self._cfg, self._kw = cfg, kw

    def __call__(self, num_realizations: int) -> torch.Tensor:
        f = self._cfg.channel.num_subcarriers
        drops = math.ceil(num_realizations / f)
        self._model.set_topology(
            *self._topology(
                drops,
                self._cfg.num_users,
                self._cfg.channel.model,
                min_ut_velocity=0.0,
                max_ut_velocity=0.0,
                **self._kw,
            )
        )
        h = self._generate(drops)  # [drops, 1, M, K, 1, 1, F]
        h = h[:, 0, :, :, 0, 0].permute(0, 3, 1, 2)  # [drops, F, M, K]
        return h.reshape(-1, *h.shape[-2:])[:num_realizations]
