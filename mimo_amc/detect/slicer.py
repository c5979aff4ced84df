"""Hard decisions: the nearest constellation point of each estimate, and its Gray-labelled bits."""

from __future__ import annotations

import torch


class NearestPointSlicer:
    """Hard decisions by nearest constellation point, for square QAM and BPSK.

    A square QAM constellation is the product of two PAM axes, so the nearest point is
    found per axis (bucketing against the mid-points), which equals Sionna's max-log hard
    demapping at a fraction of the cost.

    Args:
        constellation: Sionna constellation (its ``points`` and Gray labelling are used).

    Example:
        >>> from sionna.phy.mapping import Constellation
        >>> slicer = NearestPointSlicer(Constellation("qam", 4, precision="double", device="cpu"))
        >>> slicer.bits(torch.tensor([0.3 + 0.9j])).tolist()
        [[0.0, 0.0, 0.0, 1.0]]
    """

    def __init__(self, constellation) -> None:
        points = constellation.points.to(torch.complex128)
        self.num_bits = constellation.num_bits_per_symbol
        self._re = torch.unique(points.real.round(decimals=12))
        self._im = torch.unique(points.imag.round(decimals=12))
        if len(self._re) * len(self._im) != len(points):
            raise ValueError("nearest-point slicing needs a square (product) constellation")
        i_re = torch.argmin((points.real[:, None] - self._re).abs(), dim=1)
        i_im = torch.argmin((points.imag[:, None] - self._im).abs(), dim=1)
        self._index = torch.empty(len(self._re), len(self._im), dtype=torch.long, device=points.device)
        self._index[i_re, i_im] = torch.arange(len(points), device=points.device)
        shifts = torch.arange(self.num_bits - 1, -1, -1, device=points.device)
        self._labels = ((torch.arange(len(points), device=points.device)[:, None] >> shifts) & 1).double()

    def indices(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Constellation indices ``[...]`` (int64) of the nearest points to ``x_hat [...]``."""
        re, im = self._re.to(x_hat.device), self._im.to(x_hat.device)
        i_re = torch.bucketize(x_hat.real.double().contiguous(), (re[1:] + re[:-1]) / 2)
        i_im = torch.bucketize(x_hat.imag.double().contiguous(), (im[1:] + im[:-1]) / 2)
        return self._index.to(x_hat.device)[i_re, i_im]

    def bits(self, x_hat: torch.Tensor) -> torch.Tensor:
        """Hard-decided bits ``[..., num_bits]`` (float 0/1, MSB first) of ``x_hat [...]``."""
        return self._labels.to(x_hat.device)[self.indices(x_hat)]
