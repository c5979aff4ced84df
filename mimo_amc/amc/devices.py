"""Mapping of real values to RRAM conductances: digit slicing and programming.

All conductances here are in units of the level step ``dG = (g_max - g_min) / L``
("digit units"), so that an ideal differential pair programmed with digit ``q``
reads exactly ``q``.
"""

from __future__ import annotations

import torch

from .config import DeviceConfig


def slice_digits(values: torch.Tensor, bits: int, num_slices: int) -> torch.Tensor:
    """Round-to-nearest signed-digit slicing.

    Args:
        values: Real tensor ``[...]`` normalised so that ``|values| <= 1``.
        bits: Bits per digit ``b``; digits of the first slice lie in ``-(2**b - 1)..2**b - 1``,
            those of later slices in ``-2**(b-1)..2**(b-1)``.
        num_slices: Number of slices ``S``.

    Returns:
        Digits ``[S, ...]`` (float, integer-valued) with
        ``values * (2**b - 1) = sum_s digits[s] * 2**(-b*s) + e``, ``|e| <= 0.5 * 2**(-b*(S-1))``.

    Example:
        >>> d = slice_digits(torch.tensor([0.3, -1.0], dtype=torch.float64), bits=3, num_slices=2)
        >>> d.tolist()
        [[2.0, -7.0], [1.0, 0.0]]
    """
    radix = 2.0**bits
    rem = values * (2**bits - 1)
    digits = []
    for _ in range(num_slices):
        d = torch.round(rem)
        digits.append(d)
        rem = (rem - d) * radix
    return torch.stack(digits)


def slice_weights(bits: int, num_slices: int, *, device: torch.device | str | None = None) -> torch.Tensor:
    """Shift-and-add weights ``2**(-bits*s)`` of the slices ``s = 0..S-1`` (float64)."""
    return 2.0 ** (-bits * torch.arange(num_slices, dtype=torch.float64, device=device))


def gaussian(shape: tuple[int, ...] | torch.Size, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Standard normal float64 samples, drawn in float32 (4x faster; noise needs no more digits)."""
    return torch.randn(shape, generator=generator, device=device, dtype=torch.float32).to(torch.float64)


def program_pairs(
    digits: torch.Tensor, device_cfg: DeviceConfig, prog_sigma: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Write target digits into differential device pairs, with every write error.

    Args:
        digits: Target signed digits ``[..., n, m]`` (integers for quantized cells,
            any value in ``[-1, 1]`` for ``bits = 0``), float64.
        device_cfg: Cell model (levels, window, stuck-at faults, drift).
        prog_sigma: Programming error, Gaussian std as a fraction of ``g_max``, drawn once
            per device (this call is the write).
        generator: Random generator on the digits' device.

    Returns:
        ``(g_pos, g_neg)``: actual conductances ``[..., n, m]`` in digit units, so that the
        pair reads ``g_pos - g_neg`` (= ``digits`` for an ideal write).
    """
    errors = write_errors(digits.shape, prog_sigma, generator, digits.device)
    g_pos, g_neg = pair_conductances(digits, errors, device_cfg, prog_sigma)
    return finish_write(g_pos, g_neg, device_cfg, generator)


def write_errors(
    shape: tuple[int, ...] | torch.Size, prog_sigma: float, generator: torch.Generator, device: torch.device
) -> torch.Tensor | None:
    """The Gaussian write errors of a pair of arrays, ``[2, *shape]`` standard normal float32 (float64 would
    add nothing to 1 %-level noise and draw 4x slower), or None for an exact write (``prog_sigma = 0``)."""
    if prog_sigma <= 0:
        return None
    return torch.randn((2, *shape), generator=generator, device=device, dtype=torch.float32)


def pair_conductances(
    digits: torch.Tensor, errors: torch.Tensor | None, device_cfg: DeviceConfig, prog_sigma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """The Gaussian part of a write (:func:`program_pairs` before faults, drift and the floor at 0 uS): a pure
    function of the digits and the drawn ``errors`` (:func:`write_errors`), in digit units, float64."""
    L = device_cfg.levels
    g0, g_top = conductance_window(device_cfg)
    q = digits.clamp(-L, L)
    if errors is not None:
        g_pos, g_neg = errors.to(torch.float64).mul_(prog_sigma * g_top).add_(g0)
    else:
        g_pos, g_neg = torch.full((2, *q.shape), g0, dtype=q.dtype, device=q.device)
    g_pos += q.clamp(min=0)
    g_neg -= q.clamp_(max=0)
    return g_pos, g_neg


def finish_write(
    g_pos: torch.Tensor, g_neg: torch.Tensor, device_cfg: DeviceConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stuck-at faults and drift (each with its own draws, after the write errors), then the floor at 0 uS."""
    g0, g_top = conductance_window(device_cfg)
    if device_cfg.stuck_at_rate > 0:
        g_pos, g_neg = (_stuck(g, device_cfg, g0, g_top, generator) for g in (g_pos, g_neg))
    if device_cfg.drift_nu > 0 or device_cfg.drift_nu_std > 0:
        g_pos, g_neg = (_drift(g, device_cfg, generator) for g in (g_pos, g_neg))
    return g_pos.clamp_(min=0), g_neg.clamp_(min=0)


def conductance_window(device_cfg: DeviceConfig) -> tuple[float, float]:
    """``(g_min, g_max)`` in digit units (of the level step)."""
    step = device_cfg.level_step_us
    return device_cfg.g_min_us / step, device_cfg.g_max_us / step


def _stuck(g: torch.Tensor, cfg: DeviceConfig, g0: float, g_top: float, generator: torch.Generator) -> torch.Tensor:
    u = torch.rand((2, *g.shape), generator=generator, device=g.device, dtype=torch.float64)
    stuck = u[0] < cfg.stuck_at_rate
    value = torch.full_like(g, g0).masked_fill_(u[1] < cfg.stuck_at_high_fraction, g_top)
    return torch.where(stuck, value, g)


def _drift(g: torch.Tensor, cfg: DeviceConfig, generator: torch.Generator) -> torch.Tensor:
    nu = (cfg.drift_nu + cfg.drift_nu_std * gaussian(g.shape, generator, g.device)).clamp(min=0)
    return g * (cfg.drift_time_s / cfg.drift_t0_s) ** (-nu)
