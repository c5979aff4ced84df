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

One application (:func:`application`) is a pure function of the programmed operands, the right-hand
sides and the read noise of every operation, drawn beforehand in execution order into a buffer the
chip keeps (the same draws as one ``randn`` per operation): the unit :mod:`~mimo_amc.amc.compiling`
compiles. The chain itself is sequential (A21 reads A11's solution, the Schur solve A21's product,
A12 the Schur solution, the second A11 solve A12's product), so the operations of one application
cannot be batched into fewer passes; only their element-wise converter arithmetic can be fused.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from . import compiling
from .config import DeviceConfig, SolverConfig
from .converters import converter_levels, full_scale
from .devices import finish_write, pair_conductances, write_errors
from .partition import Partition
from .wires import differential_pair

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


def non_finite(t: torch.Tensor, dims: int) -> torch.Tensor:
    """``[...]`` bool: which of the blocks ``t [..., *last dims]`` hold a NaN or inf entry.

    NaN and inf propagate through a sum, so the entries are checked one by one only where a block's sum
    is not finite (also when finite entries overflow it, which the entry-wise check then clears).
    """
    last = tuple(range(t.dim() - dims, t.dim()))
    if bool(torch.isfinite(t.sum(last)).all()):
        return torch.zeros(t.shape[: t.dim() - dims], dtype=torch.bool, device=t.device)
    return ~torch.isfinite(t).flatten(t.dim() - dims).all(-1)


class _AnalogArray:
    """One programmed low-precision array: an INV circuit or an open-loop MVM.

    ``matrix ≈ value_per_digit * digits``; the array stores the digits as conductance
    pairs. An INV array applies the inverse of its effective conductance matrix.

    Attributes:
        inverts: True for an INV circuit, False for an open-loop MVM.
        kernel / factor: What :func:`read_array` applies (the inverse of the effective conductance and
            ``1 / value_per_digit`` for an INV circuit, the conductance and ``value_per_digit`` for an MVM),
            float64; ``work`` is the kernel in the array's working dtype.
        singular: ``[...]`` bool, for an INV circuit whose effective conductance is singular.
    """

    def __init__(
        self,
        matrix: torch.Tensor,
        value_per_digit: torch.Tensor,
        invert: bool,
        cfg: SolverConfig,
        generator: torch.Generator,
    ) -> None:
        self.inverts = invert
        errors = write_errors(matrix.shape, cfg.lpinv.prog_sigma, generator, matrix.device)
        args = (matrix.contiguous(), value_per_digit, errors, cfg.device, cfg.lpinv.prog_sigma)
        g_pos, g_neg = finish_write(*compiling.run(write_block, *args), cfg.device, generator)
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
            self.singular = (info != 0) | non_finite(inverse, 2)  # once per write
            if bool(self.singular.any()):
                inverse = torch.where(self.singular[..., None, None], 0.0, inverse)
            self.kernel = inverse
            self.factor = 1.0 / value_per_digit
        else:
            self.kernel = conductance
            self.factor = value_per_digit
        # Converters of at most 16 bits resolve no better than 2^-15 of full scale, far above
        # float32's 6e-8: such an array computes, draws its read noise and quantises in float32.
        conv = cfg.lpinv.converters
        low = 0 < conv.dac_bits <= LOW_PRECISION_BITS and 0 < conv.adc_bits <= LOW_PRECISION_BITS
        self.work = self.kernel.to(torch.float32) if low else self.kernel


def write_block(
    matrix: torch.Tensor,
    value_per_digit: torch.Tensor,
    errors: torch.Tensor | None,
    device_cfg: DeviceConfig,
    prog_sigma: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits of ``matrix [..., m, k]`` at ``value_per_digit [..., 1, 1]`` written with the drawn errors:
    ``(g_pos, g_neg)`` before faults (:func:`~mimo_amc.amc.devices.pair_conductances`); a pure function."""
    # An all-zero block has a subnormal floor scale whose reciprocal overflows: its digits stay 0.
    per_value = value_per_digit.reciprocal()
    digits = matrix * torch.where(torch.isfinite(per_value), per_value, 0.0)
    if device_cfg.bits > 0:
        digits.round_()
    return pair_conductances(digits, errors, device_cfg, prog_sigma)


@dataclass(frozen=True)
class Reading:
    """How every LP-INV array operation is read: its converters and read noise (static: a compiled
    application is specialised on these values).

    Attributes:
        dac_bits / adc_bits: Converter bits (0 = ideal).
        read_noise: Gaussian std of the output read noise, a fraction of the ADC full scale.
    """

    dac_bits: int
    adc_bits: int
    read_noise: float

    @classmethod
    def of(cls, cfg: SolverConfig) -> Reading:
        lp = cfg.lpinv
        return cls(lp.converters.dac_bits, lp.converters.adc_bits, lp.read_noise)


def read_array(
    x: torch.Tensor, work: torch.Tensor, factor: torch.Tensor, noise: torch.Tensor | None, reading: Reading
) -> torch.Tensor:
    """One analog operation on column vectors ``x [..., m_in, R]`` (float64) -> ``[..., m_out, R]`` (float64).

    The input is rescaled to the DAC's full range and quantised, multiplied by the array's kernel
    ``work [..., m_out, m_in]`` (its inverse conductance for an INV circuit) in the array's dtype, read
    noise ``noise [..., m_out, R]`` (standard normal, None for none) is added at ``reading.read_noise`` of
    the auto-ranging ADC's full scale, the ADC quantises, and ``factor [..., 1, 1]`` restores the units.
    """
    dac, adc = converter_levels(reading.dac_bits), converter_levels(reading.adc_bits)
    s_in = full_scale(x)
    u = (x / s_in).to(work.dtype).mul_(dac)  # full DAC range (an all-zero vector stays zero)
    if reading.dac_bits:
        u.round_()
    v = _product(work, u) if torch.compiler.is_compiling() else work @ u
    fs = full_scale(v)  # auto-ranging ADC
    if noise is not None:
        v.addcmul_(noise, fs, value=reading.read_noise)
    v.div_(fs).mul_(adc)
    if reading.adc_bits:
        v.clamp_(-adc, adc).round_()
    return v.to(torch.float64).mul_(fs.to(torch.float64) * s_in * factor / (dac * adc))


@torch.library.custom_op("mimo_amc::array_product", mutates_args=())
def _product(kernel: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``kernel @ x`` as an operator a compiled graph calls as it is: the library product of the eager path
    (Inductor would otherwise rewrite a product with one right-hand side as a fused sum, another rounding)."""
    return kernel @ x


@_product.register_fake
def _(kernel: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return kernel @ x


Pair = tuple[torch.Tensor, torch.Tensor]
Operands = Pair | tuple["Operands", "Operands", Pair, Pair]
"""The arrays of a partition as :func:`blockamc` takes them: a leaf's ``(kernel, factor)``, a block's
``(A11's operands, the Schur complement's operands, A12's (kernel, factor), A21's (kernel, factor))``."""


def blockamc(
    part: Partition,
    arrays: Operands,
    r: torch.Tensor,
    noise: Iterator[torch.Tensor] | None,
    reading: Reading | None,
) -> torch.Tensor:
    """One LP-INV application ``x ≈ A^-1 r`` on column vectors ``r [..., n, R]`` through the partition.

    Args:
        part: The BlockAMC partition of the ``n`` unknowns.
        arrays: The programmed arrays (:data:`Operands`), kernels as :func:`read_array` takes them.
        r: ``[..., n, R]`` float64.
        noise: The read-noise samples of the operations in execution order (:meth:`Partition.operations`),
            or None for none.
        reading: Converters and read noise; None for the circuit's linear map (float64 kernels, no
            converters, no noise).

    A pure function of tensors and static structure, so ``torch.compile`` can trace it as one graph.
    """
    if part.is_leaf:
        return _operate(r, arrays, noise, reading)  # type: ignore[arg-type]
    assert part.n1 is not None and part.a11 is not None and part.schur is not None
    a11, schur, a12, a21 = arrays
    r1, r2 = r[..., : part.n1, :], r[..., part.n1 :, :]
    y1 = blockamc(part.a11, a11, r1, noise, reading)
    x2 = blockamc(part.schur, schur, r2 - _operate(y1, a21, noise, reading), noise, reading)  # type: ignore[arg-type]
    x1 = y1 - blockamc(part.a11, a11, _operate(x2, a12, noise, reading), noise, reading)  # type: ignore[arg-type]
    return torch.cat([x1, x2], dim=-2)


def application(
    part: Partition, arrays: Operands, r: torch.Tensor, noise: list[torch.Tensor] | None, reading: Reading
) -> torch.Tensor:
    """One LP-INV application with the read noise of every operation drawn beforehand (a list in execution
    order, or None): :func:`blockamc`, the unit :mod:`~mimo_amc.amc.compiling` compiles."""
    return blockamc(part, arrays, r, None if noise is None else iter(noise), reading)


def _operate(
    x: torch.Tensor,
    array: Pair,
    noise: Iterator[torch.Tensor] | None,
    reading: Reading | None,
) -> torch.Tensor:
    """One array operation (:func:`read_array`), or its linear part when ``reading`` is None."""
    kernel, factor = array
    if reading is None:
        return factor * (kernel @ x)
    return read_array(x, kernel, factor, None if noise is None else next(noise), reading)


_Tree = _AnalogArray | tuple["_Tree", "_Tree", _AnalogArray, _AnalogArray]


def _operands(tree: _Tree, linear: bool) -> Operands:
    """The :data:`Operands` of a tree of programmed arrays: float64 kernels for the linear map, else the
    arrays' working kernels."""
    if isinstance(tree, _AnalogArray):
        return (tree.kernel if linear else tree.work, tree.factor)
    return tuple(_operands(t, linear) for t in tree)  # type: ignore[return-value]


class LPINV:
    """A batch of matrices written onto LP-INV arrays (BlockAMC above the array size).

    Args:
        matrix: Real matrices ``[..., n, n]`` (float64), written once.
        cfg: Resolved solver configuration.
        generator: Random generator for programming errors and read noise.

    Attributes:
        partition: The BlockAMC partition of the system.
        singular: ``[...]`` bool: some programmed INV array (or a Schur complement) is singular.

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
        self._arrays: list[_AnalogArray] = []  # in programming order
        self._tree = self._build(matrix, self.partition)
        self.size = matrix.shape[-1]
        self._reading = Reading.of(cfg)
        self._operands = _operands(self._tree, linear=False)
        # Output lines of every operation of one application, in execution order (each draws read noise).
        self._rows = tuple(op.outputs for op in self.partition.operations())
        self._rows_per_column = sum(self._rows)
        self._noise = torch.empty(0, dtype=torch.float32, device=matrix.device)
        self.singular = torch.zeros(self._batch_shape, dtype=torch.bool, device=matrix.device)
        for array in self._arrays:
            self.singular = self.singular | array.singular

    def _scale(self, block: torch.Tensor) -> torch.Tensor:
        return max_abs(block) / self._cfg.device.levels if self._global is None else self._global

    def _array(self, block: torch.Tensor, invert: bool) -> _AnalogArray:
        array = _AnalogArray(block, self._scale(block), invert, self._cfg, self._generator)
        self._arrays.append(array)
        return array

    def _build(self, a: torch.Tensor, part: Partition) -> _Tree:
        """Program the arrays of ``part`` (A11's, the Schur complement's, then A12 and A21)."""
        if part.n1 is None or part.a11 is None or part.schur is None:
            return self._array(a, True)
        n1 = part.n1
        a11, a12 = a[..., :n1, :n1], a[..., :n1, n1:]
        a21, a22 = a[..., n1:, :n1], a[..., n1:, n1:]
        y, info = torch.linalg.solve_ex(a11, a12)
        failed = info != 0
        if bool(failed.any()):  # once per write, not per iteration
            y = torch.where(failed[..., None, None], 0.0, y)
        first = self._build(a11, part.a11)
        schur = self._build(a22 - a21 @ y, part.schur)
        return first, schur, self._array(a12, False), self._array(a21, False)

    def inv_arrays(self) -> list[_AnalogArray]:
        """Every programmed INV array (attributes ``conductance [..., m, m]`` and ``row_load [..., m]``,
        digit units of the level step)."""
        return [a for a in self._arrays if a.inverts]

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        """One analog solve ``x ≈ A^-1 r`` for column vectors ``r [..., n, R]``."""
        noise = self._draw_noise(r.shape)
        args = (self.partition, self._operands, r, noise, self._reading)
        # A compiled graph pays off only with several right-hand sides per matrix (see compiling.py).
        return compiling.run(application, *args) if r.shape[-1] > 1 else application(*args)

    def _draw_noise(self, shape: torch.Size) -> list[torch.Tensor] | None:
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
        return samples

    def linear_operator(self) -> torch.Tensor:
        """The circuit's linear map without converters and read noise, ``[..., n, n]``.

        This is ``A0~^-1``, the inverse of the programmed matrix (through BlockAMC),
        whose quality sets the refinement's contraction factor ``rho(I - A0~^-1 A)``.
        """
        eye = torch.eye(self.size, dtype=torch.float64, device=self._device)
        identity = eye.expand(*self._batch_shape, self.size, self.size)
        return blockamc(self.partition, _operands(self._tree, linear=True), identity, None, None)
