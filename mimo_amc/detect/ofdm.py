"""The project's OFDM detector: one Gram matrix per coherence group, every iterate of every stream.

Sionna's OFDM detectors (:class:`sionna.phy.ofdm.LinearDetector`) call an equalizer on every
resource element (RE) separately: through them the analog chip is rewritten for every RE and only
its last iterate is seen. :class:`GroupedOFDMDetector` instead cuts the resource grid
``[num_ofdm_symbols, num_effective_subcarriers]`` into coherence groups of ``group_symbols x
group_subcarriers`` REs, forms (and, for the analog detector, writes) **one** Gram matrix per
group from the group's mean channel estimate, and solves every RE of the group against it
(:class:`~mimo_amc.detect.gram.GramSystem`'s shared-channel mode). Groups holding no data RE are
skipped. It returns every iterate, the effective noise of every RE and, for the analog chip, the
convergence flag of every written matrix and the HP-MVM residual of every RE and iterate.

Conventions follow Sionna's OFDM detectors for a single receiver that detects every stream
(uplink): ``y [B, 1, M, S, fft_size]``, ``h_hat [B, 1, M, num_tx, num_streams, S, F]``, ``err_var``
broadcastable to ``h_hat``, ``no`` broadcastable to ``[B, 1, M]`` (per-antenna noise allowed). The
noise of an RE at antenna ``m`` is ``no_m + sum_k err_var_mk`` (Sionna's ``s = no I + diag(sum
err_var)``); the group's covariance is its mean over the group's REs, diagonal, and whitened by
:class:`GramSystem` when it is not white. Data REs are gathered in Sionna's order (the stable
argsort of the pilot mask), so the output feeds Sionna's demapper, layer demapper and TB decoder.
With 1 x 1 groups the detector is exactly Sionna's per-RE equalization.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from sionna.phy.ofdm import RemoveNulledSubcarriers, ResourceGrid

from ..amc import OperationCounts
from .equalizers import AnalogEqualizer, Equalizer


@dataclass(frozen=True)
class GridDetection:
    """Output of :meth:`GroupedOFDMDetector.detect`.

    Attributes:
        x_hat: ``[B, num_tx, num_streams, I, num_data_symbols]`` complex128 estimates per iterate.
        no_eff: ``[B, num_tx, num_streams, I, num_data_symbols]`` float64 effective noise variances of the
            exact detector.
        iterations: The ``I`` iteration counts (``(0,)`` for a one-shot detector).
        writes: Gram matrices formed (written to the chip) per slot: the groups holding data.
        converged: ``[B, writes]`` bool per written matrix (analog chip), or None.
        residual_norms: ``[B, writes, R, I]`` relative HP-MVM residuals (``R`` REs per group, pilot REs
            of a group included), or None.
        x_hat_residual: Like ``x_hat``, unbiased with the detector's own ``diag(A^-1)`` estimate
            (:attr:`Detection.x_hat_residual`), or None.
        no_eff_residual: Like ``no_eff``, the calibrated effective noise of every iterate
            (:attr:`Detection.no_eff_residual`), or None.
    """

    x_hat: torch.Tensor
    no_eff: torch.Tensor
    iterations: tuple[int, ...]
    writes: int
    converged: torch.Tensor | None = None
    residual_norms: torch.Tensor | None = None
    x_hat_residual: torch.Tensor | None = None
    no_eff_residual: torch.Tensor | None = None


class GroupedOFDMDetector:
    """Detect a batch of OFDM slots with one Gram matrix per coherence group (module docstring).

    Args:
        equalizer: Any equalizer of :mod:`mimo_amc.detect` (digital, iterative, analog, Sionna).
        resource_grid: Sionna resource grid of the slots (its pilot mask selects the data REs).
        group_symbols: OFDM symbols per coherence group (must divide ``num_ofdm_symbols``).
        group_subcarriers: Subcarriers per coherence group (must divide ``num_effective_subcarriers``).

    Attributes:
        data_res: Resource elements per slot that carry data for some stream (the vectors a receiver solves).

    Example:
        >>> import numpy as np
        >>> from sionna.phy.ofdm import ResourceGrid
        >>> from mimo_amc.detect import DigitalEqualizer
        >>> rg = ResourceGrid(14, 24, 30e3, num_tx=2, pilot_pattern="kronecker", pilot_ofdm_symbol_indices=[2])
        >>> det = GroupedOFDMDetector(DigitalEqualizer("mmse", "double"), rg, group_symbols=7, group_subcarriers=12)
        >>> det.writes
        4
        >>> y = torch.randn(3, 1, 8, 14, 24, dtype=torch.complex128)
        >>> h = torch.randn(3, 1, 8, 2, 1, 14, 24, dtype=torch.complex128)
        >>> d = det.detect(y, h, 0.0, torch.tensor(0.1))
        >>> d.x_hat.shape
        torch.Size([3, 2, 1, 1, 312])
    """

    def __init__(
        self, equalizer: Equalizer, resource_grid: ResourceGrid, *, group_symbols: int = 1, group_subcarriers: int = 1
    ) -> None:
        symbols, subcarriers = resource_grid.num_ofdm_symbols, resource_grid.num_effective_subcarriers
        for name, size, total in (("group_symbols", group_symbols, symbols), ("group_subcarriers", group_subcarriers,
                                                                                 subcarriers)):  # fmt: skip
            if isinstance(size, bool) or not isinstance(size, int) or size < 1 or total % size:
                divisors = [d for d in range(1, total + 1) if total % d == 0]
                raise ValueError(f"{name} must divide {total} (the grid's size); got {size!r}, allowed {divisors}")
        self.equalizer = equalizer
        self.group = (group_symbols, group_subcarriers)
        self._remove_nulled = RemoveNulledSubcarriers(resource_grid, precision="double", device="cpu")
        mask = resource_grid.pilot_pattern.mask  # [num_tx, num_streams, S, F], 1 = pilot or nulled
        self.num_tx, self.num_streams = int(mask.shape[0]), int(mask.shape[1])
        n_data = resource_grid.pilot_pattern.num_data_symbols
        # Sionna's data order: stable argsort of the flattened mask, per stream.
        self._data_ind = torch.argsort(mask.flatten(-2).to(torch.int32), dim=-1, stable=True)[..., :n_data].cpu()
        data = (mask == 0).any(0).any(0)  # [S, F]: REs that carry data for some stream
        gs, gf = self.group
        has_data = data.reshape(symbols // gs, gs, subcarriers // gf, gf).any(3).any(1)  # [Sg, Fg]
        self._groups = has_data.flatten().nonzero().squeeze(-1).cpu()
        self._grid = (symbols, subcarriers)
        self.data_res = int(data.sum())

    @property
    def writes(self) -> int:
        """Gram matrices formed per slot (groups that hold a data RE)."""
        return int(self._groups.numel())

    def operations(self, iteration: int, calibrated: bool) -> OperationCounts | None:
        """Analog operations per slot of a receiver stopping at ``iteration`` (:meth:`AnalogEqualizer.operations`
        with :attr:`writes` matrices and :attr:`data_res` received vectors, the REs that carry data: a receiver
        solves those only, while the simulation solves every RE of a group), or None for a digital equalizer."""
        if not isinstance(self.equalizer, AnalogEqualizer):
            return None
        streams = self.num_tx * self.num_streams
        return self.equalizer.operations(iteration, self.data_res, self.writes, streams, calibrated)

    def _to_groups(self, t: torch.Tensor) -> torch.Tensor:
        """``[B, S, F, ...] -> [B, writes, gs * gf, ...]`` (the groups that hold data)."""
        (s, f), (gs, gf) = self._grid, self.group
        tail = t.shape[3:]
        t = t.reshape(t.shape[0], s // gs, gs, f // gf, gf, *tail).transpose(2, 3)
        t = t.reshape(t.shape[0], (s // gs) * (f // gf), gs * gf, *tail)
        return t[:, self._groups.to(t.device)]

    def _from_groups(self, t: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`_to_groups`: ``[B, writes, gs * gf, ...] -> [B, S, F, ...]`` (zeros elsewhere)."""
        (s, f), (gs, gf) = self._grid, self.group
        tail = t.shape[3:]
        full = t.new_zeros(t.shape[0], (s // gs) * (f // gf), gs * gf, *tail)
        full[:, self._groups.to(t.device)] = t
        full = full.reshape(t.shape[0], s // gs, f // gf, gs, gf, *tail).transpose(2, 3)
        return full.reshape(t.shape[0], s, f, *tail)

    def detect(
        self, y: torch.Tensor, h_hat: torch.Tensor, err_var: torch.Tensor | float, no: torch.Tensor | float
    ) -> GridDetection:
        """Every iterate of every stream at every data RE (shapes in the module docstring)."""
        if y.dim() != 5 or y.shape[1] != 1 or h_hat.dim() != 7 or h_hat.shape[1] != 1:
            raise ValueError(
                "expected one receiver: y [B, 1, M, S, fft_size] and h_hat [B, 1, M, num_tx, num_streams, S, F]; "
                f"got y {tuple(y.shape)}, h_hat {tuple(h_hat.shape)}"
            )
        if tuple(h_hat.shape[3:5]) != (self.num_tx, self.num_streams):
            raise ValueError(
                f"h_hat has {tuple(h_hat.shape[3:5])} (num_tx, num_streams); the resource grid has "
                f"{(self.num_tx, self.num_streams)}"
            )
        batch, m = y.shape[0], y.shape[2]
        y = self._remove_nulled(y.to(torch.complex128))[:, 0].permute(0, 2, 3, 1)  # [B, S, F, M]
        h = h_hat[:, 0].to(torch.complex128).flatten(2, 3).permute(0, 3, 4, 1, 2)  # [B, S, F, M, K]
        err = torch.as_tensor(err_var, dtype=torch.float64, device=y.device)
        err = err.broadcast_to(h_hat.shape)[:, 0].sum((2, 3)).permute(0, 2, 3, 1)  # [B, S, F, M]
        noise = torch.as_tensor(no, dtype=torch.float64, device=y.device)
        noise = noise.reshape(*noise.shape, *([1] * (3 - noise.dim()))).broadcast_to(batch, 1, m)[:, 0]
        sigma = err + noise[:, None, None, :]  # [B, S, F, M]
        hg = self._to_groups(h).mean(2, keepdim=True)  # [B, G, 1, M, K]
        sg = torch.diag_embed(self._to_groups(sigma).mean(2, keepdim=True)).to(torch.complex128)  # [B, G, 1, M, M]
        d = self.equalizer.detect(self._to_groups(y), hg, sg)  # x_hat [B, G, R, I, K], no_eff [B, G, R, K]
        x_hat = self._from_groups(d.x_hat)  # [B, S, F, I, K]
        no_eff = self._from_groups(d.no_eff.unsqueeze(-2).expand(d.x_hat.shape))
        calibrated = [None if t is None else self._data(self._from_groups(t)) for t in (d.x_hat_residual,
                                                                                      d.no_eff_residual)]  # fmt: skip
        result = d.solver_result
        return GridDetection(
            self._data(x_hat),
            self._data(no_eff),
            d.iterations,
            self.writes,
            None if result is None else result.converged,
            None if result is None else result.residual_norms,
            *calibrated,
        )

    def per_data_re(self, t: torch.Tensor) -> torch.Tensor:
        """A per-write quantity ``[B, writes]`` (e.g. :attr:`GridDetection.converged`) at every data RE of every
        stream, ``[B, num_tx, num_streams, num_data_symbols]`` in Sionna's order."""
        streams = self.num_tx * self.num_streams
        r = self.group[0] * self.group[1]
        grid = self._from_groups(t[:, :, None, None, None].expand(*t.shape, r, 1, streams))  # [B, S, F, 1, K]
        return self._data(grid)[..., 0, :]

    def _data(self, t: torch.Tensor) -> torch.Tensor:
        """``[B, S, F, I, K] -> [B, num_tx, num_streams, I, num_data_symbols]`` in Sionna's data order."""
        b, s, f, i, _ = t.shape
        t = t.reshape(b, s, f, i, self.num_tx, self.num_streams).permute(0, 4, 5, 3, 1, 2)  # [B, tx, st, I, S, F]
        return self.data_symbols(t)

    def data_symbols(self, grid: torch.Tensor) -> torch.Tensor:
        """The data REs of resource grids ``[B, num_tx, num_streams, ..., S, F]`` in Sionna's order:
        ``[B, num_tx, num_streams, ..., num_data_symbols]`` (e.g. the transmitted symbols of a slot)."""
        t = grid.flatten(-2)
        index = self._data_ind.to(t.device).reshape(1, self.num_tx, self.num_streams, *([1] * (t.dim() - 4)), -1)
        return torch.gather(t, -1, index.expand(*t.shape[:-1], index.shape[-1]))
