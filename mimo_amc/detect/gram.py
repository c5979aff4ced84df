"""The detection problem in canonical form: the Gram system of the matched-filter output.

All detectors solve ``A z = H^H y`` with ``A = H^H H`` (ZF) or ``A = H^H H + N0 I`` (MMSE). MMSE
estimates are unbiased per user, ``x_k = z_k / (1 - N0 [A^-1]_kk)``, as in
:func:`sionna.phy.mimo.lmmse_equalizer`.

**Block fading.** Pass ``h [..., 1, M, K]`` with ``y [..., T, M]``: the Gram matrix of each
realisation is formed (and, for the analog detector, written to the chip) once and the ``T``
received vectors are solved against it.

**Noise.** White noise ``s = N0 I`` is used as is; any other (Hermitian positive definite)
covariance is whitened first, as :func:`sionna.phy.mimo.lmmse_equalizer` does: ``y <- L^-1 y``,
``H <- L^-1 H`` with ``s = L L^H`` (a scaling by ``s_mm^-1/2`` for diagonal ``s``, e.g. per-antenna
noise), after which ``N0 = 1``. MMSE then equals Sionna's ``lmmse_equalizer``; ZF becomes the ZF of
the whitened channel (generalised least squares, ``no_eff = [(H^H s^-1 H)^-1]_kk``), which Sionna's
``zf_equalizer`` (a plain pseudo-inverse whatever ``s``) equals for white noise only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..amc import HPINVResult
from ..amc.solver import check_finite
from ..scenario.detectors import Kind


@dataclass(frozen=True)
class Detection:
    """Output of :meth:`Equalizer.detect`.

    Attributes:
        x_hat: ``[..., I, K]`` complex128 estimates, one per reported iteration (MMSE: unbiased with the
            exact gain).
        no_eff: ``[..., K]`` float64 effective noise variance of the exact detector.
        iterations: the ``I`` iteration counts of ``x_hat`` (``(0,)`` for one-shot detectors).
        solver_result: the analog solve (per channel realisation: ``contraction``,
            ``converged``, ``hpmvm_tv_bound``; computed on access), or None.
        x_hat_residual: ``[..., I, K]`` the same iterates unbiased with the detector's own estimate of
            ``diag(A^-1)`` (equal to ``x_hat`` for ZF), or None.
        no_eff_residual: ``[..., I, K]`` float64 calibrated effective noise of every iterate, built from what
            the detector itself computes: its estimate of ``diag(A^-1)`` and of the solver error of that
            iterate (:meth:`GramSystem.calibrate`; ``soft_output="residual"``), or None.
    """

    x_hat: torch.Tensor
    no_eff: torch.Tensor
    iterations: tuple[int, ...]
    solver_result: HPINVResult | None = None
    x_hat_residual: torch.Tensor | None = None
    no_eff_residual: torch.Tensor | None = None

    @property
    def soft_output(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x_hat, no_eff)``, both ``[..., I, K]``: the calibrated pair when available, else the exact one."""
        if self.no_eff_residual is not None and self.x_hat_residual is not None:
            return self.x_hat_residual, self.no_eff_residual
        return self.x_hat, self.no_eff.unsqueeze(-2).expand(self.x_hat.shape)


@dataclass(frozen=True)
class GramSystem:
    """The detection problem in canonical form.

    ``R`` received vectors share each channel matrix: ``A [*, K, K]``, ``rhs [*, R, K]``
    (``H^H y`` per vector), ``no [*]``; :meth:`restore` maps ``[*, R, ...]`` back to the
    caller's batch shape ``[..., ...]``.
    """

    gram: torch.Tensor
    rhs: torch.Tensor
    no: torch.Tensor
    batch_shape: tuple[int, ...]
    kind: Kind

    @classmethod
    def build(cls, y: torch.Tensor, h: torch.Tensor, s: torch.Tensor, kind: Kind, dtype: torch.dtype) -> GramSystem:
        """Form ``A`` and ``H^H y`` in ``dtype`` from Sionna-shaped inputs (module docstring).

        Raises:
            ValueError: for non-finite inputs, mismatched shapes, or ZF with fewer antennas than streams.
        """
        for name, t in (("y", y), ("h", h), ("s", s)):
            check_finite(name, t)
        if h.dim() < 2 or y.dim() < 1 or s.dim() < 2:
            raise ValueError(f"expected y [..., M], h [..., M, K], s [..., M, M]; got {tuple(y.shape)}, "
                             f"{tuple(h.shape)}, {tuple(s.shape)}")  # fmt: skip
        m, k = h.shape[-2], h.shape[-1]
        if y.shape[-1] != m or s.shape[-2:] != (m, m):
            raise ValueError(
                f"y {tuple(y.shape)}, h {tuple(h.shape)} and s {tuple(s.shape)} disagree: y [..., M] and "
                f"s [..., M, M] need M = {m} receive antennas as in h [..., M, K]"
            )
        if kind == "zf" and m < k:
            raise ValueError(f"ZF needs at least as many receive antennas as streams; h has M = {m} < K = {k}")
        y, h = y.to(dtype), h.to(dtype)
        no = _white_variance(s)
        if no is None:
            y, h = whiten(y, h, s.to(dtype))
            no = torch.ones(s.shape[:-2], dtype=torch.float64, device=s.device)
        yb, hb = tuple(y.shape[:-1]), tuple(h.shape[:-2])
        no = no.to(y.real.dtype)
        no = no.expand(torch.broadcast_shapes(no.shape, yb))
        shared = len(hb) == len(yb) and len(yb) > 0 and hb[-1] == 1 and hb[:-1] == yb[:-1]
        if shared and bool((no == no[..., :1]).all()):
            hc, yc, no = h.squeeze(-3), y, no[..., 0]
        else:
            shape = torch.broadcast_shapes(hb, yb)
            hc, yc, no = h.expand(*shape, *h.shape[-2:]), y.expand(*shape, y.shape[-1]).unsqueeze(-2), no
            no = no.expand(shape)
            yb = tuple(shape)
        gram = hc.mH @ hc
        if kind == "mmse":
            gram = gram + no[..., None, None] * torch.eye(gram.shape[-1], dtype=dtype, device=gram.device)
        return cls(gram, yc @ hc.conj(), no, yb, kind)

    def restore(self, t: torch.Tensor, trailing: int) -> torch.Tensor:
        """``[*, R, <trailing dims>] -> [batch..., <trailing dims>]``."""
        return t.reshape(*self.batch_shape, *t.shape[t.dim() - trailing :])

    def unit_rhs(self) -> torch.Tensor:
        """``[*, K, K]``: the ``K`` unit vectors as right-hand sides of every matrix (row ``j`` is ``e_j``);
        the ``j``-th entry of the solution of ``e_j`` is ``[A^-1]_jj``."""
        k = self.gram.shape[-1]
        eye = torch.eye(k, dtype=self.gram.dtype, device=self.gram.device)
        return eye.expand(*self.gram.shape[:-2], k, k)

    def _soft(self, z: torch.Tensor, diag_inv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x_hat, no_eff, gain)`` of ``z [*, R, I, K]`` given ``[A^-1]_kk`` (broadcastable to ``z``'s shape).

        ZF: ``x = z``, ``no_eff = N0 [A^-1]_kk``; MMSE: ``gain = 1 - N0 [A^-1]_kk``, ``x = z / gain``,
        ``no_eff = 1 / gain - 1`` (:func:`sionna.phy.mimo.lmmse_equalizer`). A zero MMSE gain (a stream
        the estimate declares lost) gives ``x = 0`` and ``no_eff = inf``: LLRs 0.
        """
        no = self.no[..., None, None, None]
        if self.kind == "zf":
            return z, no * diag_inv, torch.ones_like(diag_inv)
        gain = 1 - no * diag_inv  # diag(W H)
        lost = gain <= 0
        x = torch.where(lost, 0.0, z / torch.where(lost, 1.0, gain))
        return x, torch.where(lost, torch.inf, 1 / gain - 1), gain

    def finish(self, z: torch.Tensor) -> Detection:
        """The exact detector's soft outputs of ``z [*, R, I, K]``: MMSE estimates unbiased with the exact
        gain, the exact ``no_eff``, both from ``diag(A^-1)`` of one digital ``K x K`` inverse per matrix."""
        diag_inv = torch.linalg.inv(self.gram).diagonal(dim1=-2, dim2=-1).real  # [*, K]
        x, no_eff, _ = self._soft(z, diag_inv[..., None, None, :])
        no_eff = no_eff[..., 0, :].expand(*z.shape[:-2], diag_inv.shape[-1])  # [*, R, K]
        return Detection(self.restore(x, 2), self.restore(no_eff, 1), (0,))

    def calibrate(
        self, z: torch.Tensor, diag_inv: torch.Tensor, solver_error: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Calibrated soft outputs ``(x_hat, no_eff)``, both ``[batch..., I, K]``, with no exact inverse.

        Args:
            z: ``[*, R, I, K]`` iterates.
            diag_inv: ``[*, I, K]`` the detector's own estimate of ``[A^-1]_kk`` per iterate (e.g. from solving
                the unit vectors of :meth:`unit_rhs` with the same solver). It is clipped to what every
                Hermitian positive definite ``A`` satisfies: ``[A^-1]_kk >= 1 / A_kk`` (Cauchy-Schwarz) and, for
                MMSE (``A >= N0 I``), ``[A^-1]_kk <= 1 / N0``; a non-finite estimate becomes ``inf`` (ZF: an
                erased stream, MMSE: gain 0, LLRs 0).
            solver_error: ``[*, R, I, K]`` estimate of ``z_exact - z`` per iterate; ``|solver_error|^2`` (divided by
                the MMSE gain squared, as ``z`` is) is added to the effective noise of that iterate.
        """
        floor = 1 / self.gram.diagonal(dim1=-2, dim2=-1).real.unsqueeze(-2)  # [*, 1, K]
        d = torch.maximum(torch.where(torch.isfinite(diag_inv), diag_inv, torch.inf), floor)
        if self.kind == "mmse":
            d = torch.minimum(d, 1 / self.no[..., None, None])
        x, no_eff, gain = self._soft(z, d.unsqueeze(-3))
        no_eff = torch.where(gain > 0, no_eff + solver_error.abs().square() / gain.square(), torch.inf)
        return self.restore(x, 2), self.restore(no_eff, 2)  # both [*, R, I, K]


def white_noise_variance(s: torch.Tensor) -> torch.Tensor:
    """``N0 [...]`` of a white noise covariance ``s = N0 I`` of shape ``[..., M, M]``.

    Raises:
        ValueError: if ``s`` is not a (batch of) scaled identity matrices.
    """
    no = _white_variance(s)
    if no is None:
        raise ValueError("s is not white noise s = N0 * I (GramSystem.build whitens other covariances)")
    return no


def whiten(y: torch.Tensor, h: torch.Tensor, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L^-1 y, L^-1 h)`` with ``s = L L^H`` (``y [..., M]``, ``h [..., M, K]``, ``s [..., M, M]`` broadcastable).

    A diagonal ``s`` (per-antenna noise) is whitened by scaling with ``s_mm^-1/2``, any other by the
    Cholesky factor (Sionna's ``whiten_channel`` uses the same factor).

    Raises:
        ValueError: if ``s`` is not Hermitian positive definite.
    """
    diag = s.diagonal(dim1=-2, dim2=-1)
    if bool((s - torch.diag_embed(diag) == 0).all()):
        if not bool((diag.real > 0).all()) or (s.is_complex() and bool((diag.imag != 0).any())):
            raise ValueError("the noise covariance s must be positive definite; a diagonal entry is <= 0")
        scale = diag.real.rsqrt().to(y.dtype)
        return y * scale, h * scale[..., :, None]
    if not bool(torch.allclose(s, s.mH, rtol=1e-6, atol=0)):
        raise ValueError("the noise covariance s must be Hermitian (s = s^H)")
    factor, info = torch.linalg.cholesky_ex(s)
    if bool((info != 0).any()):
        raise ValueError(f"the noise covariance s must be positive definite; {int((info != 0).sum())} matrices are not")
    y = torch.linalg.solve_triangular(factor, y.unsqueeze(-1), upper=False).squeeze(-1)
    return y, torch.linalg.solve_triangular(factor, h, upper=False)


def _white_variance(s: torch.Tensor) -> torch.Tensor | None:
    """``N0 [...]`` if ``s [..., M, M]`` is white (``N0 I`` up to 1e-6 relative), else None."""
    batch, s_dtype = s.shape[:-2], (s.real if s.is_complex() else s).dtype
    # Check each distinct matrix once: broadcast (stride-0) batch dimensions repeat one matrix.
    s = s[tuple(slice(0, 1) if stride == 0 else slice(None) for stride in s.stride()[:-2])]
    # In float64: "total minus diagonal" energy cancels catastrophically in single precision.
    s = s.to(torch.complex128 if s.is_complex() else torch.float64)
    diag = s.diagonal(dim1=-2, dim2=-1)
    no = diag.real.mean(-1)
    # Off-diagonal energy = total energy - diagonal energy (torch's complex norms are slow).
    off = _energy(s, 2) - _energy(diag, 1)
    spread = _energy(diag - no[..., None], 1).sqrt()
    scale = no * s.shape[-1] ** 0.5
    if (off.clamp_min(0).sqrt() > 1e-6 * scale).any() or (spread > 1e-6 * scale).any():
        return None
    return no.to(s_dtype).expand(batch)


def _energy(t: torch.Tensor, dims: int) -> torch.Tensor:
    """Sum of ``|t|^2`` over the last ``dims`` dimensions (an einsum: no squared temporary)."""
    parts = (torch.view_as_real(t) if t.is_complex() else t.unsqueeze(-1)).flatten(-dims - 1)
    return torch.einsum("...i,...i->...", parts, parts)
