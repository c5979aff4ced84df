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

import torch

from .config import SolverConfig
from .converters import converter_levels, full_scale
from .devices import program_pairs
from .partition import Partition
from .wires import differential_pair

LOW_PRECISION_BITS = 16
"""Arrays whose DAC and ADC both have ``1..16`` bits run in float32 (see :class:`_AnalogArray`)."""


def max_abs(m: torch.Tensor) -> torch.Tensor:
    """Largest magnitude of each matrix ``[..., n, m] -> [..., 1, 1]`` (tiny for a zero matrix)."""
    # One |m| pass and one reduction: on the strided sub-block views of BlockAMC, separate amax and amin
    # reductions over two dimensions are ~7x slower (torch 2.13, CPU).
    return m.abs().amax(dim=(-2, -1), keepdim=True).clamp_min_(torch.finfo(m.dtype).tiny)


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
        # What the pair of arrays computes (IR drop included) and the admittance seen into its sense nodes.
        conductance, sense_load = differential_pair(g_pos, g_neg, cfg.device, cfg.wires)
        self.singular = torch.zeros(matrix.shape[:-2], dtype=torch.bool, device=matrix.device)
        if invert:
            # Programmed state in digit units (for circuit dynamics): G = G+ - G- and the
            # total device conductance on each row node.
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

    def __call__(self, x: torch.Tensor, noisy: bool) -> torch.Tensor:
        """Apply to column vectors ``x [..., n, R]``; ``noisy=False`` gives the linear part."""
        if not noisy:
            return self.factor * (self.kernel @ x)
        lp = self._cfg.lpinv
        dac = converter_levels(lp.converters.dac_bits)
        adc = converter_levels(lp.converters.adc_bits)
        s_in = full_scale(x)
        u = (x / s_in).to(self._work.dtype).mul_(dac)  # full DAC range (an all-zero vector stays zero)
        if lp.converters.dac_bits:
            u.round_()
        v = self._work @ u
        fs = full_scale(v)  # auto-ranging ADC
        if lp.read_noise > 0:
            noise = torch.randn(v.shape, generator=self._generator, device=v.device, dtype=torch.float32)
            v.addcmul_(noise, fs, value=lp.read_noise)
        v.div_(fs).mul_(adc)
        if lp.converters.adc_bits:
            v.clamp_(-adc, adc).round_()
        return v.to(torch.float64).mul_(fs.to(torch.float64) * s_in * self.factor / (dac * adc))


class _Block:
    """One BlockAMC stage: two inverses (A11 and the Schur complement) and two MVMs."""

    def __init__(self, a11: _Node, schur: _Node, a12: _AnalogArray, a21: _AnalogArray, n1: int) -> None:
        self.a11, self.schur, self.a12, self.a21, self.n1 = a11, schur, a12, a21, n1
        self.singular = a11.singular | schur.singular

    def inv_arrays(self) -> list[_AnalogArray]:
        return self.a11.inv_arrays() + self.schur.inv_arrays()

    def __call__(self, r: torch.Tensor, noisy: bool) -> torch.Tensor:
        r1, r2 = r[..., : self.n1, :], r[..., self.n1 :, :]
        y1 = self.a11(r1, noisy)
        x2 = self.schur(r2 - self.a21(y1, noisy), noisy)
        x1 = y1 - self.a11(self.a12(x2, noisy), noisy)
        return torch.cat([x1, x2], dim=-2)


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
        self._global = max_abs(matrix) / cfg.device.levels
        self.partition = Partition.of(matrix.shape[-1], cfg.lpinv.array_size)
        self._root = self._build(matrix, self.partition)
        self.size = matrix.shape[-1]

    @property
    def singular(self) -> torch.Tensor:
        """``[...]`` bool: some programmed INV array (or a Schur complement) is singular."""
        return self._root.singular

    def _scale(self, block: torch.Tensor) -> torch.Tensor:
        if self._cfg.per_block_scaling:
            return max_abs(block) / self._cfg.device.levels
        return self._global

    def _build(self, a: torch.Tensor, part: Partition) -> _Node:
        """Program the arrays of ``part`` (A11's, the Schur complement's, then A12 and A21)."""
        if part.n1 is None or part.a11 is None or part.schur is None:
            return _AnalogArray(a, self._scale(a), True, self._cfg, self._generator)
        n1 = part.n1
        a11, a12 = a[..., :n1, :n1], a[..., :n1, n1:]
        a21, a22 = a[..., n1:, :n1], a[..., n1:, n1:]
        y, info = torch.linalg.solve_ex(a11, a12)
        schur = a22 - a21 @ torch.where((info != 0)[..., None, None], 0.0, y)
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
        return self._root(r, noisy=True)

    def linear_operator(self) -> torch.Tensor:
        """The circuit's linear map without converters and read noise, ``[..., n, n]``.

        This is ``A0~^-1``, the inverse of the programmed matrix (through BlockAMC),
        whose quality sets the refinement's contraction factor ``rho(I - A0~^-1 A)``.
        """
        eye = torch.eye(self.size, dtype=torch.float64, device=self._global.device)
        return self._root(eye.expand(*self._global.shape[:-2], self.size, self.size), noisy=False)
