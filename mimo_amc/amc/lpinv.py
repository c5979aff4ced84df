"""Low-precision analog inversion (LP-INV) and BlockAMC partitioning.

An :class:`LPINV` is written once for a batch of matrices and then applied to many
right-hand sides. Systems larger than the INV array follow the BlockAMC partition of
:class:`~mimo_amc.amc.partition.Partition` (the Schur complements ``S = A22 - A21 A11^-1 A12``
are formed digitally at write time).

Every INV and MVM step is one analog operation on its own array: the input vector is
rescaled to the DAC's full range and quantised, the circuit computes with the
*programmed* conductances (digit quantisation, programming error, faults, drift,
finite op-amp gain), read noise is added, and an auto-ranging ADC digitises the
output. Intermediate results are handed between arrays digitally (float64). An array whose
converters have at most 16 bits computes in float32 inside (DAC codes, product, read noise,
ADC codes): its quantisation steps are ``>= 2^-15`` of full scale, so float32's rounding
(``6e-8``) changes an ADC code only where the analog value lies within ``1e-7`` of a rounding
threshold.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from .config import SolverConfig
from .converters import converter_levels, full_scale
from .devices import program_pairs
from .partition import Partition
from .wires import differential_pair

Noise = Iterator[torch.Tensor] | None | object
"""What an array operation is told about read noise: an iterator over the samples of the operations
still to run in this application (each ``[..., outputs, R]``, float32, standard normal), ``None``
(converters, no read noise) or :data:`LINEAR` (the linear part, no converters either)."""

LINEAR = object()
"""Sentinel of :data:`Noise`: the circuit's linear map, without converters and read noise."""

LOW_PRECISION_BITS = 16
"""Arrays whose DAC and ADC both have ``1..16`` bits run in float32 (see :class:`_AnalogArray`)."""


def max_abs(m: torch.Tensor) -> torch.Tensor:
    """Largest magnitude of each matrix ``[..., n, m] -> [..., 1, 1]`` (tiny for a zero matrix)."""
    tiny = torch.finfo(m.dtype).tiny
    if m.is_contiguous():
        # Two reductions along one contiguous dimension, no |m| temporary: 1.7x (n = 16) to 7x (n = 128,
        # a 128 MiB batch, whose temporary would be page-faulted in afresh) faster (torch 2.13, CPU).
        flat = m.flatten(-2)
        return torch.maximum(flat.amax(-1), flat.amin(-1).neg_())[..., None, None].clamp_min_(tiny)
    # One |m| pass and one reduction: on the strided sub-block views of BlockAMC, separate amax and amin
    # reductions over two dimensions are ~7x slower (torch 2.13, CPU).
    return m.abs().amax(dim=(-2, -1), keepdim=True).clamp_min_(tiny)


class _AnalogArray:
    """One programmed low-precision array: an INV circuit or an open-loop MVM.

    ``matrix ≈ value_per_digit * digits``; the array stores the digits as conductance
    pairs. An INV array applies the inverse of its effective conductance matrix.
    """

    def __init__(
        self,
        matrix: torch.Tensor,
        value_per_digit: torch.Tensor,
        invert: bool,
        cfg: SolverConfig,
        generator: torch.Generator,
    ) -> None:
        self._cfg = cfg
        self._generator = generator
        # An all-zero block has a subnormal floor scale whose reciprocal overflows: its digits stay 0.
        per_value = value_per_digit.reciprocal()
        digits = matrix * torch.where(torch.isfinite(per_value), per_value, 0.0)
        if cfg.device.bits > 0:
            digits.round_()
        g_pos, g_neg = program_pairs(digits, cfg.device, cfg.lpinv.prog_sigma, generator)
        # What the pair of arrays computes (IR drop included) and, for the INV circuit, the admittance
        # seen into its sense nodes.
        conductance, sense_load = differential_pair(g_pos, g_neg, cfg.device, cfg.wires, sense=invert)
        self.singular = torch.zeros(matrix.shape[:-2], dtype=torch.bool, device=matrix.device)
        if invert:
            # Programmed state in digit units (for circuit dynamics): G = G+ - G- and the
            # total device conductance on each row node.
            assert sense_load is not None
            self.conductance, self.row_load = conductance, sense_load.diagonal(dim1=-2, dim2=-1)
            gain = cfg.lpinv.opamp_gain
            if gain is not None:
                # The op-amp inputs sit at -v_out/gain instead of virtual ground, which
                # loads each row node with its total device conductance (mimo_amc.amc.wires).
                conductance = conductance + sense_load / gain
            inverse, info = torch.linalg.inv_ex(conductance)
            self.singular = (info != 0) | ~torch.isfinite(inverse).all(-1).all(-1)
            self.kernel = torch.where(self.singular[..., None, None], 0.0, inverse)
            self.factor = 1.0 / value_per_digit
        else:
            self.kernel = conductance
            self.factor = value_per_digit
        # Converters of at most 16 bits resolve no better than 2^-15 of full scale, far above
        # float32's 6e-8: such an array computes, draws its read noise and quantises in float32.
        conv = cfg.lpinv.converters
        low = 0 < conv.dac_bits <= LOW_PRECISION_BITS and 0 < conv.adc_bits <= LOW_PRECISION_BITS
        self._work = self.kernel.to(torch.float32) if low else self.kernel

    def inv_arrays(self) -> list[_AnalogArray]:
        return [self] if hasattr(self, "conductance") else []

    def __call__(self, x: torch.Tensor, noise: Noise, out: torch.Tensor | None = None) -> torch.Tensor:
        """Apply to column vectors ``x [..., n, R]`` (into ``out`` when given).

        ``noise``: :data:`LINEAR` for the linear part (no converters, no read noise), else the
        read-noise samples of the operations still to run (the first one is this array's).
        """
        if noise is LINEAR:
            return torch.mul(self.factor, self.kernel @ x, out=out)
        lp = self._cfg.lpinv
        dac = converter_levels(lp.converters.dac_bits)
        adc = converter_levels(lp.converters.adc_bits)
        s_in = full_scale(x)
        u = (x / s_in).to(self._work.dtype).mul_(dac)  # full DAC range (an all-zero vector stays zero)
        if lp.converters.dac_bits:
            u.round_()
        v = self._work @ u
        fs = full_scale(v)  # auto-ranging ADC
        if noise is not None:
            v.addcmul_(next(noise), fs, value=lp.read_noise)
        v.div_(fs).mul_(adc)
        if lp.converters.adc_bits:
            v.clamp_(-adc, adc).round_()
        return torch.mul(v, fs.to(torch.float64) * s_in * self.factor / (dac * adc), out=out)


class _Block:
    """One BlockAMC stage: two inverses (A11 and the Schur complement) and two MVMs."""

    def __init__(self, a11: _Node, schur: _Node, a12: _AnalogArray, a21: _AnalogArray, n1: int) -> None:
        self.a11, self.schur, self.a12, self.a21, self.n1 = a11, schur, a12, a21, n1
        self.singular = a11.singular | schur.singular

    def inv_arrays(self) -> list[_AnalogArray]:
        return self.a11.inv_arrays() + self.schur.inv_arrays()

    def __call__(self, r: torch.Tensor, noise: Noise, out: torch.Tensor | None = None) -> torch.Tensor:
        """``A^-1 r`` through the Schur complement, written into ``out`` (``[..., n, R]``, new when None)."""
        out = r.new_empty(r.shape) if out is None else out
        r1, r2 = r[..., : self.n1, :], r[..., self.n1 :, :]
        y1 = self.a11(r1, noise)
        t = self.a21(y1, noise)
        x2 = self.schur(r2 - t, noise, out[..., self.n1 :, :])
        t = self.a11(self.a12(x2, noise), noise)
        torch.sub(y1, t, out=out[..., : self.n1, :])
        return out


_Node = _AnalogArray | _Block


class LPINV:
    """A batch of matrices written onto LP-INV arrays (BlockAMC above the array size).

    Args:
        matrix: Real matrices ``[..., n, n]`` (float64), written once.
        cfg: Resolved solver configuration.
        generator: Random generator for programming errors and read noise.

    Example:
        >>> A = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
        >>> inv = LPINV(A, SolverConfig(ideal=True).resolved(), torch.Generator().manual_seed(0))
        >>> [round(v, 12) for v in inv(torch.tensor([[1.0], [2.0]], dtype=torch.float64)).flatten().tolist()]
        [0.090909090909, 0.636363636364]
    """

    def __init__(self, matrix: torch.Tensor, cfg: SolverConfig, generator: torch.Generator) -> None:
        self._cfg = cfg
        self._generator = generator
        if cfg.lpinv.diagonal_loading > 0:
            peak = matrix.diagonal(dim1=-2, dim2=-1).abs().amax(-1)[..., None]
            matrix = matrix + torch.diag_embed(cfg.lpinv.diagonal_loading * peak.expand(matrix.shape[:-1]))
        # One scale for every array without per-block scaling (from the matrix the blocks are cut from).
        self._global = None if cfg.per_block_scaling else max_abs(matrix) / cfg.device.levels
        self._batch_shape, self._device = matrix.shape[:-2], matrix.device
        self.partition = Partition.of(matrix.shape[-1], cfg.lpinv.array_size)
        self._root = self._build(matrix, self.partition)
        self.size = matrix.shape[-1]
        # Output lines of every operation of one application, in execution order (each draws read noise).
        self._rows = tuple(op.outputs for op in self.partition.operations())
        self._rows_per_column = sum(self._rows)
        self._noise = torch.empty(0, dtype=torch.float32, device=matrix.device)

    @property
    def singular(self) -> torch.Tensor:
        """``[...]`` bool: some programmed INV array (or a Schur complement) is singular."""
        return self._root.singular

    def _scale(self, block: torch.Tensor) -> torch.Tensor:
        return max_abs(block) / self._cfg.device.levels if self._global is None else self._global

    def _build(self, a: torch.Tensor, part: Partition) -> _Node:
        """Program the arrays of ``part`` (A11's, the Schur complement's, then A12 and A21)."""
        if part.n1 is None or part.a11 is None or part.schur is None:
            return _AnalogArray(a, self._scale(a), True, self._cfg, self._generator)
        n1 = part.n1
        a11, a12 = a[..., :n1, :n1], a[..., :n1, n1:]
        a21, a22 = a[..., n1:, :n1], a[..., n1:, n1:]
        y, info = torch.linalg.solve_ex(a11, a12)
        failed = info != 0
        if bool(failed.any()):  # once per write, not per iteration
            y = torch.where(failed[..., None, None], 0.0, y)
        schur = a22 - a21 @ y
        return _Block(
            self._build(a11, part.a11),
            self._build(schur, part.schur),
            _AnalogArray(a12, self._scale(a12), False, self._cfg, self._generator),
            _AnalogArray(a21, self._scale(a21), False, self._cfg, self._generator),
            n1,
        )

    def inv_arrays(self) -> list[_AnalogArray]:
        """Every programmed INV array (attributes ``conductance [..., m, m]`` and ``row_load [..., m]``,
        digit units of the level step)."""
        return self._root.inv_arrays()

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        """One analog solve ``x ≈ A^-1 r`` for column vectors ``r [..., n, R]``."""
        return self._root(r, self._draw_noise(r.shape))

    def _draw_noise(self, shape: torch.Size) -> Iterator[torch.Tensor] | None:
        """The read noise of one application, drawn up front: one ``normal_`` per operation in execution
        order (the draws of per-operation ``randn`` calls), into a buffer kept for the next application."""
        if self._cfg.lpinv.read_noise <= 0:
            return None
        batch, rhs = shape[:-2], shape[-1]
        columns = math.prod(batch) * rhs
        total = columns * self._rows_per_column
        if self._noise.numel() < total:
            self._noise = torch.empty(total, dtype=torch.float32, device=self._device)
        samples, start = [], 0
        for rows in self._rows:
            block = self._noise[start : start + columns * rows].view(*batch, rows, rhs)
            samples.append(block.normal_(generator=self._generator))
            start += columns * rows
        return iter(samples)

    def linear_operator(self) -> torch.Tensor:
        """The circuit's linear map without converters and read noise, ``[..., n, n]``.

        This is ``A0~^-1``, the inverse of the programmed matrix (through BlockAMC),
        whose quality sets the refinement's contraction factor ``rho(I - A0~^-1 A)``.
        """
        eye = torch.eye(self.size, dtype=torch.float64, device=self._device)
        return self._root(eye.expand(*self._batch_shape, self.size, self.size), LINEAR)
