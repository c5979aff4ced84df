"""Circuit primitives of the cost model: op-amp power, converter energy, LP-INV settling.

**LP-INV dynamics** (Sun et al., PNAS 116, 4123 (2019); Sun et al., IEEE TED (2020),
arXiv:2005.04530). Row node ``i`` of the INV array sits at the inverting input of op-amp ``i``,
whose output drives column ``i``; KCL gives ``D u = G v + i_in`` with ``G`` the programmed
``G+ - G-`` and ``D`` the total conductance on each node (row load plus the input conductance). A
single-pole op-amp ``A(s) = A0 / (1 + s / w_p)``, ``w0 = 2 pi GBWP = A0 w_p``, obeys
``dv/dt = -w_p v - w0 u``, hence

    dv/dt = -w0 M v - w0 D^-1 i_in,        M = D^-1 G + I / A0,

whose steady state ``(G + D / A0) v = -i_in`` is what :class:`~mimo_amc.amc.lpinv.LPINV`
simulates. The slowest mode decays with the rate ``lambda = min Re eig(M)``: time constant
``tau = 1 / (2 pi GBWP lambda)``, and settling to the ADC's ``b`` bits takes about
``tau ln(2**b)`` (:func:`settling_time_s`). The circuit is unstable where ``lambda <= 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from ..config import SolverConfig
from ..hpmvm import partial_sum_adc_bits
from .params import CostConfig

if TYPE_CHECKING:
    from ..solver import ProgrammedSystem


def opamp_power_w(cost: CostConfig) -> float:
    """Static power of one op-amp at ``cost.gbwp_hz``, watts (see :attr:`CostConfig.opamp_current_factor`).

    Example:
        >>> round(opamp_power_w(CostConfig()) * 1e6, 2)
        14.74
    """
    gm = 2 * math.pi * cost.gbwp_hz * cost.opamp_load_f
    return cost.supply_v * cost.opamp_current_factor * gm / cost.opamp_gm_over_id


def adc_energy_j(bits: int, cost: CostConfig) -> float:
    """Energy of one ``bits``-bit ADC conversion, joules: max of the Walden and Schreier estimates.

    Example:
        >>> round(adc_energy_j(8, CostConfig()) * 1e12, 3)
        2.56
    """
    walden = cost.adc_walden_fom_j * 2.0**bits
    schreier = 0.5 * 10.0 ** ((6.02 * bits + 1.76 - cost.adc_schreier_fom_db) / 10)
    return max(walden, schreier)


def dac_energy_j(bits: int, cost: CostConfig) -> float:
    """Energy of one ``bits``-bit DAC conversion, joules."""
    return cost.dac_unit_energy_j * 2.0**bits


def circuit_rate(
    conductance: torch.Tensor,
    row_load: torch.Tensor,
    input_conductance: float = 0.0,
    opamp_gain: float | None = None,
) -> torch.Tensor:
    """Slowest decay rate ``lambda = min Re eig(D^-1 G + I / A0)`` of INV circuits (dimensionless).

    Args:
        conductance: ``G = G+ - G-``, ``[..., m, m]``, any conductance unit.
        row_load: Total device conductance on each row node, ``[..., m]``, same unit.
        input_conductance: Input conductance added to every node, same unit.
        opamp_gain: Op-amp DC gain ``A0``; None = infinite.

    Returns:
        ``[...]`` float64; the circuit's slowest mode decays as ``exp(-2 pi GBWP lambda t)``,
        and it is unstable where ``lambda <= 0``.
    """
    m = conductance.to(torch.float64) / (row_load.to(torch.float64) + input_conductance)[..., :, None]
    if opamp_gain is not None:
        m = m + torch.eye(m.shape[-1], dtype=m.dtype, device=m.device) / opamp_gain
    return torch.linalg.eigvals(m).real.amin(-1)


def time_constant_s(rate: torch.Tensor, gbwp_hz: float) -> torch.Tensor:
    """``tau = 1 / (2 pi GBWP rate)``, seconds, for rates ``[...]`` (``inf`` where ``rate <= 0``: unstable)."""
    tau = 1.0 / (2 * math.pi * gbwp_hz * rate.clamp_min(torch.finfo(rate.dtype).tiny))
    return torch.where(rate > 0, tau, torch.inf)


def settling_time_s(rate: torch.Tensor, gbwp_hz: float, bits: int) -> torch.Tensor:
    """Settling to ``bits`` bits, ``tau ln(2**bits)``, seconds (``inf`` where ``rate <= 0``).

    This is a design estimate: it assumes the initial error projects onto the slowest mode with
    unit weight. For a particular input the projection is usually smaller, so the circuit settles
    somewhat earlier (see ``tests/unit/amc/test_cost.py``: 70-100 % of this time for Gram matrices), while
    the asymptotic decay rate equals ``1 / tau``.

    Example:
        >>> round(float(settling_time_s(torch.tensor(0.5, dtype=torch.float64), 16e6, 8)) * 1e9, 2)
        110.32
    """
    return time_constant_s(rate, gbwp_hz) * (bits * math.log(2))


@dataclass(frozen=True)
class OperationTimes:
    """Duration of one analog operation of each kind, seconds.

    Attributes:
        inv_s: One INV-array operation (DAC, settling, ADC).
        mvm_s: One BlockAMC MVM operation on an LP-INV-class array.
        hpmvm_step_s: One HP-MVM read step.
    """

    inv_s: float
    mvm_s: float
    hpmvm_step_s: float


def operation_times(n: int, cost: CostConfig, solver: SolverConfig) -> OperationTimes:
    """Per-operation times of an ``n``-unknown system (fixed mode, or settling with ``cost.lpinv_rate``).

    Example:
        >>> t = operation_times(16, CostConfig(timing="fixed"), SolverConfig())
        >>> round(t.inv_s * 1e9, 6), round(t.mvm_s * 1e9, 6), round(t.hpmvm_step_s * 1e9, 6)
        (120.0, 60.0, 60.0)
    """
    if cost.timing == "fixed":
        return OperationTimes(cost.lpinv_fixed_s, cost.mvm_fixed_s, cost.mvm_fixed_s)
    lp_bits, hp_bits = solver.lpinv.converters.adc_bits, partial_sum_adc_bits(n, solver)
    w0 = 2 * math.pi * cost.gbwp_hz

    def op(bits: int, settle_rate: float) -> float:
        """DAC settling, settling to ``bits`` bits at this rate, SAR conversion."""
        return cost.dac_settling_s + bits * math.log(2) / (w0 * settle_rate) + bits * cost.adc_time_per_bit_s

    mvm_rate = 1.0 / cost.mvm_noise_gain
    return OperationTimes(op(lp_bits, cost.lpinv_rate), op(lp_bits, mvm_rate), op(hp_bits, mvm_rate))


@dataclass(frozen=True)
class LPINVSettling:
    """Settling of the programmed INV arrays of a batch of systems.

    Attributes:
        rate: ``[..., A]`` ``min Re eig(D^-1 G + I/A0)`` of each of the ``A`` INV arrays (dimensionless).
        tau_s: ``[..., A]`` time constants ``1 / (2 pi GBWP rate)``, seconds (``inf`` if unstable).
        settle_s: ``[..., A]`` settling to the LP-INV ADC's bits, ``tau ln(2**bits)``, seconds.
        uses: Operations of each array per LP-INV application (:meth:`Partition.inv_array_uses`).
        application_s: ``[...]`` one LP-INV application: every INV operation (DAC, settling of its
            array, ADC) and the BlockAMC MVMs, in sequence, seconds.
    """

    rate: torch.Tensor
    tau_s: torch.Tensor
    settle_s: torch.Tensor
    uses: tuple[int, ...]
    application_s: torch.Tensor


def lpinv_settling(system: ProgrammedSystem, cost: CostConfig | None = None) -> LPINVSettling:
    """Settling times of the actually programmed INV arrays of ``system`` at ``cost.gbwp_hz``.

    Uses each array's ``conductance`` and ``row_load`` (digit units), ``cost.input_conductance_us``
    converted to digit units, the op-amp gain and the LP-INV ADC bits of ``system.config``.

    Example:
        >>> from mimo_amc.amc import AnalogSolver
        >>> a = torch.eye(16, dtype=torch.float64) + 0.1
        >>> s = lpinv_settling(AnalogSolver(device="cpu", seed=0).program(a))
        >>> s.rate.shape, s.uses
        (torch.Size([2]), (2, 1))
    """
    cost = cost or CostConfig()
    cfg = system.config
    dev = cfg.device
    step_us = dev.level_step_us
    arrays = system.lpinv.inv_arrays()
    rate = torch.stack(
        [
            circuit_rate(a.conductance, a.row_load, cost.input_conductance_us / step_us, cfg.lpinv.opamp_gain)
            for a in arrays
        ],
        dim=-1,
    )
    bits = cfg.lpinv.converters.adc_bits
    tau = time_constant_s(rate, cost.gbwp_hz)
    settle = tau * (bits * math.log(2))
    partition = system.lpinv.partition
    uses = partition.inv_array_uses()
    ops = operation_times(system.size, cost.model_copy(update={"timing": "settling"}), cfg)
    per_inv = cost.dac_settling_s + bits * cost.adc_time_per_bit_s
    weights = torch.tensor(uses, dtype=torch.float64, device=rate.device)
    application = ((settle + per_inv) * weights).sum(-1) + partition.plan().mvm_ops * ops.mvm_s
    return LPINVSettling(rate, tau, settle, uses, application)
