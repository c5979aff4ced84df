"""Per-solve stopping tolerances of an adaptive analog detector, from the noise and the constellation.

A stopping rule (:class:`~mimo_amc.amc.StoppingConfig`) stops a solve when its measured relative residual
``||r_k|| / ||b||`` falls below a tolerance. A fixed tolerance ignores how much solver error a BER point
can absorb; this module derives one per solve from what the receiver knows: ``N0``, the Gram diagonal and
the constellation (no exact inverse).

**Residual and error.** The solver error ``e = A^-1 r`` enters the estimate as the noise does: the ZF
noise is ``A^-1 H^H n`` with ``E||H^H n||^2 = N0 tr(H^H H)``. A residual with ``||r||^2 = eps N0 tr(H^H H)``
then adds the error variance ``eps sigma_k^2`` to each stream's noise variance ``sigma_k^2`` (exact when the
residual is shaped like ``H^H n``, e.g. ``A`` close to a multiple of ``I``; an assumption otherwise), so

    tol = sqrt(eps) sqrt(N0 tr(H^H H)) / ||b||          (:func:`residual_tolerance`)

``noise_fraction`` fixes ``sqrt(eps)``; ``ber_change`` derives ``eps``:

**Error budget from the constellation** (:func:`error_budget`). The extra variance lowers the stream's
post-detection SNR by the factor ``1 / (1 + eps)``. A square M-QAM symbol is two independent sqrt(M)-PAM
decisions, each wrong with probability ``2 (1 - 1/sqrt(M)) Q(u)``, ``u = sqrt(3 SNR / (M - 1))`` (BPSK:
``u = sqrt(2 SNR)``); Gray mapping makes the BER the symbol error rate over ``log2 M`` wherever nearest
neighbours dominate (the approximation made here). With ``t = ln(1 + eps)``, ``ln Q(u e^(-t/2))`` is
concave in ``t`` with slope ``E(u) = u phi(u) / (2 Q(u))`` at ``t = 0`` (the elasticity of ``Q`` in the
SNR; ``phi/Q`` is increasing, so the slope falls as ``t`` grows), and the QAM symbol error rate
``1 - (1 - p)^2`` rises more slowly than ``p``. Hence ``SER(eps) / SER(0) <= (1 + eps)^E(u)``, and

    eps = (1 + delta)^(1 / E(u)) - 1

keeps the relative change of the symbol error rate at or below ``delta`` (``ber_change``). The SNR is
estimated by the matched-filter bound ``||h_k||^2 / N0 >= 1 / (N0 [A^-1]_kk)`` (Cauchy-Schwarz), which
overstates the slope and so errs on the tight side, and the solve's steepest stream sets ``E``.
``E(u) ~ (u^2 + 1) / 2`` at high SNR (the asymptotic form of the issue's derivation, an upper bound by
Gordon's inequality); at low SNR ``E -> 0`` (a flat BER tolerates large errors).

Example:
    >>> import torch
    >>> snr = torch.tensor([10.0, 1000.0], dtype=torch.float64)
    >>> [round(e, 4) for e in error_budget(snr, 8, 0.05).tolist()]
    [0.3187, 0.0077]
"""

from __future__ import annotations

import math

import torch

from ..amc import StoppingConfig
from .gram import GramSystem


def decision_argument(snr: torch.Tensor, bits_per_symbol: int) -> torch.Tensor:
    """``u`` of the nearest-neighbour error probability ``Q(u)`` per PAM decision at symbol SNR ``snr`` (linear).

    Square QAM (even ``bits_per_symbol``): ``sqrt(3 SNR / (M - 1))``; BPSK (1 bit): ``sqrt(2 SNR)``.

    Raises:
        ValueError: for an odd number of bits above 1 (no square constellation).
    """
    if bits_per_symbol == 1:
        return (2 * snr).sqrt()
    if bits_per_symbol < 1 or bits_per_symbol % 2:
        raise ValueError(f"bits_per_symbol must be 1 (BPSK) or even (square QAM); got {bits_per_symbol}")
    return (3 * snr / (2**bits_per_symbol - 1)).sqrt()


def q_elasticity(u: torch.Tensor) -> torch.Tensor:
    """``E(u) = -d ln Q(u) / d ln SNR = u phi(u) / (2 Q(u))`` for ``u ∝ sqrt(SNR)`` (stable for large ``u``).

    Example:
        >>> round(float(q_elasticity(torch.tensor(3.0, dtype=torch.float64))), 4)  # (u^2 + 1) / 2 = 5 bounds it
        4.9246
    """
    log_phi = -0.5 * u.square() - 0.5 * math.log(2 * math.pi)
    return 0.5 * u * (log_phi - torch.special.log_ndtr(-u)).exp()


def error_budget(snr: torch.Tensor, bits_per_symbol: int, ber_change: float) -> torch.Tensor:
    """Solver error variance, as a fraction ``eps`` of the noise variance, that raises the symbol error rate
    at post-detection SNR ``snr`` (linear, any shape) by at most ``ber_change`` relative (module docstring)."""
    slope = q_elasticity(decision_argument(snr, bits_per_symbol))
    return (math.log1p(ber_change) / slope).expm1()


def channel_gains(system: GramSystem) -> torch.Tensor:
    """``||h_k||^2 [*, K]``: the diagonal of ``H^H H`` (the MMSE Gram matrix without its ``N0 I``)."""
    gains = system.gram.diagonal(dim1=-2, dim2=-1).real
    return gains - system.no[..., None] if system.kind == "mmse" else gains


def residual_tolerance(system: GramSystem, eps: torch.Tensor, gains: torch.Tensor) -> torch.Tensor:
    """``sqrt(eps) sqrt(N0 tr(H^H H)) / ||b||`` per received vector ``[*, R]`` (``eps`` per matrix ``[*]``,
    ``gains`` the :func:`channel_gains` of ``system``)."""
    noise_sq = system.no * gains.sum(-1)  # [*]: E||H^H n||^2 = N0 tr(H^H H)
    return (eps * noise_sq).sqrt().unsqueeze(-1) / torch.linalg.vector_norm(system.rhs, dim=-1)


def check_constellation(rule: StoppingConfig | None, bits_per_symbol: int | None) -> None:
    """Raise ValueError when ``rule`` derives its tolerance from the constellation (``ber_change``) and
    ``bits_per_symbol`` is missing or names no square constellation."""
    if rule is None or rule.ber_change is None:
        return
    if bits_per_symbol is None:
        raise ValueError(
            f"stopping.ber_change = {rule.ber_change} needs the constellation: pass bits_per_symbol to the "
            "analog equalizer (the detector factory takes it from the link)"
        )
    decision_argument(torch.ones((), dtype=torch.float64), bits_per_symbol)


def stopping_tolerance(system: GramSystem, rule: StoppingConfig, bits_per_symbol: int | None) -> torch.Tensor | None:
    """The per-solve tolerances ``[*, R]`` of ``rule`` for ``system``, or None when the rule's fixed ``tol`` applies.

    Args:
        system: The Gram system (``gram [*, K, K]``, ``rhs [*, R, K]``, ``no [*]``; unit-energy symbols).
        rule: ``noise_fraction`` gives ``eps = noise_fraction^2``; ``ber_change`` derives ``eps`` per matrix
            from the steepest stream's matched-filter SNR (:func:`error_budget`).
        bits_per_symbol: Bits per constellation symbol (needed for ``ber_change`` only; checked once by the
            caller with :func:`check_constellation`, as :class:`~mimo_amc.detect.AnalogEqualizer` does when built).
    """
    if rule.noise_fraction is None and rule.ber_change is None:
        return None
    gains = channel_gains(system)
    if rule.noise_fraction is not None:
        eps = torch.full_like(system.no, rule.noise_fraction**2)
    else:
        assert bits_per_symbol is not None and rule.ber_change is not None, "check_constellation() first"
        steepest = gains.amax(-1) / system.no  # matched-filter SNR of the strongest stream
        eps = error_budget(steepest, bits_per_symbol, rule.ber_change)
    return residual_tolerance(system, eps, gains)
