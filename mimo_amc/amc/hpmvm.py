"""High-precision bit-sliced analog matrix-vector multiplication (HP-MVM).

The matrix is normalised to its largest entry and sliced into ``S`` signed digit
matrices ``Q_s`` (``A L / max|A| = sum_s 2^(-b s) Q_s``, round to nearest), each written
on its own array with a static programming deviation ``E_s`` (digit units). The input
is sliced likewise into ``T`` digit vectors ``X_t``. For every slice pair and every tile
of at most ``array_size`` inputs the array produces the analog partial sum

    p = Q_s X_t + E_s X_t + n,      n ~ N(0, read_noise_lsb^2), fresh on every read,

and the ADC rounds it to an integer and saturates at its range. Because ``Q_s X_t`` is
an integer, the ADC reads ``Q_s X_t + round(E_s X_t + n)`` unless it saturates, so

    A x = (sum_s w_s Q_s)(sum_t w_t X_t) + sum_{s,t,tiles} w_s w_t round(E_s X_t + n),   w_s = 2^(-b s).

The first term is the exact fixed-point product (float64). The second, the analog
error, is evaluated in one of two ways:

* *dense* (exact): every partial sum's deviation and noise are computed (``S T``
  batched matrix products per call, deviations in float32, i.e. resolved to ~1e-7 LSB).
* *fast path* (bounded): when the deviations are Gaussian (no stuck-at faults, no
  drift, no wire resistance, the conductance floor more than 10 sigma away) and the ADC cannot saturate,
  then as long as no read has rounded wrongly, the inputs ``X`` do not depend on ``E``
  and ``E_s[i] X_t + n ~ N(0, sigma_E^2 ||X_t||^2 + sigma_n^2)`` for every read. The
  union bound over all reads of one call,

      eps = S n sum_{t, tile} 2 Phi(-0.5 / sqrt(sigma_E^2 ||X_t||^2 + sigma_n^2)),

  bounds the probability that any read of the call rounds wrongly. When ``eps`` of every
  matrix of the batch is below ``1e-6`` the error term is zero with probability
  ``>= 1 - eps`` and is skipped; the skipped probability is accumulated per matrix in
  :attr:`BitSlicedMVM.tv_bound`, a bound on the total-variation distance between that
  matrix's simulated products and an exact evaluation (so the expected number of
  realisations of a batch that an exact evaluation would change is at most the sum of the
  bounds, about ``1e-6`` of them per call, whatever the batch size). Otherwise the dense
  path runs for the whole batch (its deviations are drawn then, from the prior, which is
  within the same bound of the exact posterior).

With wire resistance (``amc.wires``) every tile is its own pair of arrays, and ``E_s`` is its
effective matrix (:mod:`mimo_amc.amc.wires`, IR drop included) minus ``Q_s``: a systematic,
input-independent deviation, so every call runs dense.
"""

from __future__ import annotations

import math

import torch

from .config import SolverConfig
from .converters import full_scale
from .devices import program_pairs, slice_digits, slice_weights
from .lpinv import max_abs
from .wires import effective_pair

FAST_PATH_TOLERANCE = 1e-6
_CLAMP_MARGIN_SIGMAS = 10.0


def round_to_slices(values: torch.Tensor, bits: int, num_slices: int) -> torch.Tensor:
    """The fixed-point value ``sum_s 2^(-bits s) slice_digits(values)[s]`` in one rounding.

    Round-to-nearest slicing keeps the nearest multiple of ``2^(-bits (S-1))`` of
    ``values * (2**bits - 1)``, so one rounding gives the same number.
    """
    unit = 2.0 ** (bits * (num_slices - 1))
    return (values * ((2**bits - 1) * unit)).round_().div_(unit)


def partial_sum_adc_bits(n: int, cfg: SolverConfig) -> int:
    """Bits of the partial-sum ADC of the HP-MVM of an ``n x n`` system (the one place it is derived).

    The configured ``hpmvm.adc_bits``, or, when it is None, just enough to read every possible
    integer partial sum exactly: ``ceil(log2(rows L (2**input_digit_bits - 1) + 1)) + 1`` (sign
    bit) with ``rows = min(n, hpmvm.array_size)`` inputs summed per read and ``L`` the largest
    cell digit.

    Example:
        >>> partial_sum_adc_bits(8, SolverConfig()), partial_sum_adc_bits(128, SolverConfig())
        (10, 14)
    """
    hp = cfg.hpmvm
    if hp.adc_bits is not None:
        return hp.adc_bits
    return math.ceil(math.log2(_max_partial_sum(n, cfg) + 1)) + 1


def _max_partial_sum(n: int, cfg: SolverConfig) -> int:
    """Largest magnitude of an integer partial sum: ``rows L (2**input_digit_bits - 1)``."""
    return min(n, cfg.hpmvm.array_size) * cfg.device.levels * (2**cfg.hpmvm.input_digit_bits - 1)


class BitSlicedMVM:
    """A batch of matrices written as bit slices for precise analog MVM.

    Args:
        matrix: Real matrices ``[..., n, n]`` (float64).
        cfg: Resolved solver configuration (``device`` and ``hpmvm`` sections are used).
        generator: Random generator for programming deviations and read noise.

    Attributes:
        adc_bits: Bits of the partial-sum ADC (:func:`partial_sum_adc_bits`).
        tv_bound: ``[...]``: accumulated probability that the fast path skipped a wrongly
            rounded read (0 when every call ran dense).

    With unquantised cells (``device.bits = 0``) bit slicing does not apply and the
    product is exact.

    Example:
        >>> A = torch.eye(3, dtype=torch.float64) * 2
        >>> mvm = BitSlicedMVM(A, SolverConfig().resolved(), torch.Generator().manual_seed(0))
        >>> [round(v, 12) for v in mvm(torch.ones(3, 1, dtype=torch.float64)).flatten().tolist()]
        [2.0, 2.0, 2.0]
    """

    def __init__(self, matrix: torch.Tensor, cfg: SolverConfig, generator: torch.Generator) -> None:
        self._generator = generator
        self._matrix = matrix
        self.tv_bound = torch.zeros(matrix.shape[:-2], dtype=torch.float64, device=matrix.device)
        dev, hp = cfg.device, cfg.hpmvm
        self.exact = dev.bits == 0
        if self.exact:
            return
        n = matrix.shape[-1]
        self._n, self._dev, self._hp, self._wires = n, dev, hp, cfg.wires
        self._w = slice_weights(dev.bits, hp.num_slices, device=matrix.device)
        self._wt = slice_weights(hp.input_digit_bits, hp.input_slices, device=matrix.device)
        in_levels = 2**hp.input_digit_bits - 1

        self._a_max = max_abs(matrix)
        # Fixed-point matrix as integers: sum_s w_s Q_s = a_int / unit (one rounding, see round_to_slices).
        self._unit = 2.0 ** (dev.bits * (hp.num_slices - 1))
        self._a_int = matrix * (dev.levels * self._unit / self._a_max)
        self._a_int.round_()
        self._out_scale = self._a_max / (dev.levels * in_levels * self._unit)

        self._chunk = min(n, hp.array_size)
        self._tiles = math.ceil(n / self._chunk)
        self._pad = self._tiles * self._chunk - n
        self._max_sum = _max_partial_sum(n, cfg)
        self.adc_bits = partial_sum_adc_bits(n, cfg)
        self._fs = 2 ** (self.adc_bits - 1) - 1

        self._pair_sigma = math.sqrt(2) * hp.prog_sigma * dev.g_max_us / dev.level_step_us
        gaussian = (
            dev.stuck_at_rate == 0
            and dev.drift_nu == 0
            and dev.drift_nu_std == 0
            and hp.prog_sigma * dev.g_max_us * _CLAMP_MARGIN_SIGMAS < dev.g_min_us
        )
        self._fast_path = gaussian and self._fs >= self._max_sum and cfg.wires.ideal
        self._E: torch.Tensor | None = None if self._fast_path else self._program()
        # Skip probability per right-hand side with every input digit at its largest
        # magnitude: when even this is negligible, no call needs the digits' norms.
        widths = torch.full((self._tiles,), float(self._chunk), dtype=torch.float64)
        widths[-1] = n - (self._tiles - 1) * self._chunk
        self._widths = widths.to(matrix.device)
        top = self._read_failure(widths * in_levels**2)
        rest = self._read_failure(widths * (2 ** (hp.input_digit_bits - 1)) ** 2)
        self._rest_eps = (hp.input_slices - 1) * rest.to(matrix.device)  # [C]: the lower input slices, at worst
        worst = hp.num_slices * n * float((top + (hp.input_slices - 1) * rest).sum())
        self._worst_eps = worst if self._fast_path else math.inf

    def _matrix_digits(self) -> torch.Tensor:
        """The matrix slices ``Q_s``, ``[S, ..., n, n]`` (recomputed: 8x the matrix's memory)."""
        return slice_digits(self._matrix / self._a_max, self._dev.bits, self._hp.num_slices)

    def _program(self) -> torch.Tensor:
        """Write the slices: deviations ``[S, B, C, n, chunk]`` (float32, digit units)."""
        digits = self._matrix_digits()
        g_pos, g_neg = program_pairs(digits, self._dev, self._hp.prog_sigma, self._generator)
        if self._wires.ideal:
            return self._tile((g_pos - g_neg - digits).to(torch.float32))
        # A tile's inputs drive its rows in reverse order: the zero padding of the last tile then sits at
        # the end away from the sense amplifiers, where it carries no current (a smaller array).
        g_pos, g_neg = (self._tile(g).flip(-1) for g in (g_pos, g_neg))
        g_eff = effective_pair(g_pos, g_neg, self._dev, self._wires).flip(-1)
        return (g_eff - self._tile(digits)).to(torch.float32)

    def _tile(self, m: torch.Tensor) -> torch.Tensor:
        """``[S, ..., n, n] -> [S, B, C, n, chunk]`` with zero-padded columns."""
        if self._pad:
            m = torch.nn.functional.pad(m, (0, self._pad))
        m = m.reshape(m.shape[0], -1, self._n, self._tiles, self._chunk)
        return m.permute(0, 1, 3, 2, 4).contiguous()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Bit-sliced product ``A x`` for column vectors ``x [..., n, R]`` (float64)."""
        if self.exact:
            return self._matrix @ x
        x_max = full_scale(x)
        x_n = x / x_max
        y = self._a_int @ round_to_slices(x_n, self._hp.input_digit_bits, len(self._wt))
        rhs = x.shape[-1]
        if self._worst_eps * rhs <= FAST_PATH_TOLERANCE:
            self.tv_bound = self.tv_bound + self._worst_eps * rhs
            return y.mul_(self._out_scale).mul_(x_max)
        if self._fast_path:
            eps = self._call_bound(x_n)
            if float(eps.max()) <= FAST_PATH_TOLERANCE:
                self.tv_bound = self.tv_bound + eps.reshape(self.tv_bound.shape)
                return y.mul_(self._out_scale).mul_(x_max)
        digits = self._tile_rows(slice_digits(x_n, self._hp.input_digit_bits, len(self._wt)))
        if self._fast_path:
            eps = self._hp.num_slices * self._n * self._read_failure(digits.square().sum(dim=-2)).sum(dim=(0, 2, 3))
            if float(eps.max()) <= FAST_PATH_TOLERANCE:
                self.tv_bound = self.tv_bound + eps.reshape(self.tv_bound.shape)
                return y.mul_(self._out_scale).mul_(x_max)
        return y.add_(self._errors(digits).reshape(y.shape), alpha=self._unit).mul_(self._out_scale).mul_(x_max)

    def _call_bound(self, x_n: torch.Tensor) -> torch.Tensor:
        """Union bound ``[B]`` of one call without slicing the input: the top digits ``d_0 = round(L x)``
        have ``||d_0|| <= L ||x|| + 0.5 sqrt(width)`` per tile, the lower ones are taken at their largest."""
        levels = 2**self._hp.input_digit_bits - 1
        norm = self._tile_rows(x_n.unsqueeze(0)).square().sum(dim=-2).sqrt_()[0]  # [B, C, R]
        top = (norm.mul_(levels) + 0.5 * self._widths.sqrt()[:, None]).square_()
        per_tile = self._read_failure(top) + self._rest_eps[:, None]
        return self._hp.num_slices * self._n * per_tile.sum(dim=(1, 2))

    def _read_failure(self, digit_norm_sq: torch.Tensor) -> torch.Tensor:
        """Probability that one read with input digits of this squared norm rounds wrongly."""
        var = self._pair_sigma**2 * digit_norm_sq + self._hp.read_noise_lsb**2
        return torch.special.erfc(0.5 / (math.sqrt(2) * var.sqrt()))  # = 2 Phi(-0.5/sigma), accurate in the tail

    def _tile_rows(self, digits: torch.Tensor) -> torch.Tensor:
        """Input digits ``[T, ..., n, R] -> [T, B, C, chunk, R]`` (zero-padded tiles)."""
        t, r = digits.shape[0], digits.shape[-1]
        if self._pad:
            digits = torch.nn.functional.pad(digits, (0, 0, 0, self._pad))
        return digits.reshape(t, -1, self._tiles, self._chunk, r)

    def _errors(self, digits: torch.Tensor) -> torch.Tensor:
        """Exact weighted ADC errors ``[B, n, R]`` of every partial sum (dense path)."""
        if self._E is None:
            self._E = self._program()
        t, b, c, chunk, r = digits.shape
        cols = digits.permute(1, 2, 3, 0, 4).reshape(b, c, chunk, t * r).float()
        dev = self._E @ cols  # [S, B, C, n, T*R]
        if self._hp.read_noise_lsb > 0:
            dev += self._hp.read_noise_lsb * torch.randn(dev.shape, generator=self._generator, device=dev.device)
        err = torch.round(dev).double()
        if self._fs < self._max_sum:
            exact = (self._tile(self._matrix_digits().float()) @ cols).double()
            err = (exact + err).clamp(-self._fs, self._fs) - exact
        err = err.reshape(*err.shape[:4], t, r)
        return torch.einsum("s,t,sbcntr->bnr", self._w, self._wt, err)
