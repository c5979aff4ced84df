"""Wire (interconnect) resistance of a crossbar array, by nodal analysis.

**The network.** A matrix ``G [..., m, n]`` (``y = G x``: ``m`` outputs, ``n`` inputs) is written on
an array of ``n`` input *rows* and ``m`` output *columns*; cell ``G[i, j]`` sits where row ``j``
crosses column ``i``. Wiring assumption (the usual one-sided layout): row ``j`` is driven with
``x_j`` at its end next to column 0, through the driver's output resistance ``R_d``; column ``i``
is sensed at its end next to row ``n - 1``, through ``R_s``, by a TIA (or op-amp) that holds it at
virtual ground; between neighbouring cells every row and every column has a wire segment ``r``.
Each cell has its own node on its row and on its column (``2 m n`` nodes). The cell farthest from
both ends is ``G[m - 1, 0]``: ``m - 1`` row segments and ``n - 1`` column segments away.

The network is linear, so the currents into the virtual grounds are exactly ``I = G_eff x``: the IR
drop is captured by an effective matrix (``G_eff = G`` when ``r = R_d = R_s = 0``). By superposition
the currents for sense-node voltages ``u`` (not exactly 0) are ``I = G_eff x - Y_s u``, ``Y_s
[..., m, m]`` the admittance seen into the sense ports with every driver at 0 V (``diag(sum_j
G[i, j])`` without wires).

**The solve** (:func:`crossbar_admittance`), exact for every resistance ``>= 0``:

1. Row ``j`` alone, with its cells' column ends held at voltages ``w``: the row seen from its
   cells is a Thevenin source (open-circuit voltage ``x_j`` at every node) behind the impedance
   matrix ``Z[k, l] = R_d + r min(k, l)`` (the path shared from the driver to cells ``k`` and
   ``l``); in series with the cells ``D_j = diag(G[:, j])`` it delivers the currents
   ``Y_j (x_j 1 - w)`` into the columns, ``Y_j = (D_j^-1 + Z)^-1 = (I + D_j Z)^-1 D_j``.
2. Walking down the rows, the part of the array above row ``j`` is a Norton equivalent seen at the
   column nodes of row ``j``: ``K = A x - M w`` flows down the columns. Row ``j`` adds ``Y_j`` to
   ``M`` and ``Y_j 1`` to column ``j`` of ``A``; a series segment ``r`` below it maps
   ``(M, A) -> (I + r M)^-1 (M, A)`` (``(M^-1 + r I)^-1``), and so does ``R_s`` at the bottom,
   after which ``G_eff = A`` and ``Y_s = M``.

Cost: ``n`` batched ``m x m`` solves with ``m + n`` right-hand sides, ``O(n m^2 (m + n))`` per
array, against ``O((m n)^3)`` for the dense nodal system of ``2 m n`` nodes; the block recursion is
Gaussian elimination of that (block-tridiagonal) system row by row, in admittance form so that
zero resistances need no special case. :func:`effective_conductance` uses reciprocity (``G_eff``
of the array equals the transpose of ``G_eff`` of the array driven from the sense side) to run
over the longer side, ``O(max(m, n) min(m, n)^2 (m + n))``; per array ~0.3 Mflop at 16x16, ~1 Gflop at
128x128 (dense: ~0.05 and ~1e4 Gflop).

**The INV circuit** (Sun et al., PNAS 2019; Zuo25). Op-amp ``i`` holds column ``i`` at its
inverting input ``u_i`` and drives row ``i`` with its output ``v_i``; the input current ``c_i`` is
injected at the inverting input. Kirchhoff at that node, ``c + G_eff v - Y_s u = 0``: with ideal
op-amps ``u = 0`` and the circuit settles to ``v = -G_eff^-1 c``, the inverse of the *effective*
matrix, exactly (the wires change the matrix the loop inverts, not the fact that it inverts). With
an open-loop gain ``a`` the inputs sit at ``u = -v / a`` and ``(G_eff + Y_s / a) v = -c``; without
wires ``Y_s`` is the diagonal row load the LP-INV model already uses. A signed matrix is a
differential pair on two arrays, ``G+`` driven by ``v`` and ``G-`` by ``-v``, each its own network,
sharing the sense nodes: ``G_eff = G_eff(G+) - G_eff(G-)`` and ``Y_s = Y_s(G+) + Y_s(G-)``
(:func:`differential_pair`).

Example:
    >>> g = torch.tensor([[10e-6, 20e-6], [30e-6, 40e-6]], dtype=torch.float64)
    >>> g_eff, _ = crossbar_admittance(g, WireConfig(segment_ohm=1000.0))
    >>> [f"{v:.6e}" for v in g_eff.flatten().tolist()]  # 1/(1/g + k r), k segments in series
    ['9.900990e-06', '2.000000e-05', '2.830189e-05', '3.846154e-05']
"""

from __future__ import annotations

import torch

from .config import DeviceConfig, WireConfig


def _series(m: torch.Tensor, a: torch.Tensor, ohm: float) -> tuple[torch.Tensor, torch.Tensor]:
    """A resistance ``ohm`` in series with every port of the Norton equivalent ``(M, A)``."""
    if ohm == 0:
        return m, a
    eye = torch.eye(m.shape[-1], dtype=m.dtype, device=m.device)
    out = torch.linalg.solve(eye + ohm * m, torch.cat([m, a], dim=-1))
    return out[..., : m.shape[-1]], out[..., m.shape[-1] :]


def crossbar_admittance(
    g: torch.Tensor, wires: WireConfig, unit_siemens: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Effective matrix and sense-port admittance of one array (see the module docstring).

    Args:
        g: Programmed conductances ``[..., m, n]`` (``m`` outputs, ``n`` inputs), float64, in units
            of ``unit_siemens`` siemens (e.g. the level step for digit units), all ``>= 0``.
        wires: Segment, driver and sense resistances (ohm).
        unit_siemens: Siemens per unit of ``g``.

    Returns:
        ``(G_eff [..., m, n], Y_s [..., m, m])`` in the unit of ``g``: output currents per input
        voltage, and the admittance seen into the sense ports with every driver at 0 V.
    """
    if not wires.ideal and bool((g < 0).any()):
        raise ValueError("conductances of a crossbar must be >= 0 (write a signed matrix as a differential pair)")
    m, n = g.shape[-2:]
    if wires.ideal:
        return g, torch.diag_embed(g.sum(-1))
    r, r_d, r_s = (ohm * unit_siemens for ohm in (wires.segment_ohm, wires.driver_ohm, wires.sense_ohm))
    pos = torch.arange(m, dtype=g.dtype, device=g.device)
    z = r_d + r * torch.minimum(pos[:, None], pos[None, :])  # [m, m] row impedance from the driver
    gt = g.mT  # [..., n, m]: the cells of each row
    eye = torch.eye(m, dtype=g.dtype, device=g.device)
    rows = torch.linalg.solve(eye + gt[..., :, None] * z, torch.diag_embed(gt))  # Y_j, [..., n, m, m]
    sources = rows.sum(-1)  # Y_j 1, [..., n, m]
    m_acc = rows[..., 0, :, :]
    a_acc = torch.zeros(*g.shape[:-2], m, n, dtype=g.dtype, device=g.device)
    a_acc[..., 0] = sources[..., 0, :]
    for j in range(1, n):  # over the array's rows, batched over everything else
        m_acc, a_acc = _series(m_acc, a_acc, r)
        m_acc = m_acc + rows[..., j, :, :]
        a_acc[..., j] += sources[..., j, :]
    m_acc, a_acc = _series(m_acc, a_acc, r_s)
    return a_acc, m_acc


def effective_conductance(g: torch.Tensor, wires: WireConfig, unit_siemens: float = 1.0) -> torch.Tensor:
    """``G_eff [..., m, n]`` of one array (arguments of :func:`crossbar_admittance`), on its cheaper side.

    For ``m > n`` it solves the reciprocal network, driven from the sense side: its rows are the
    columns of the array (reversed, so that their driven end stays next to column 0 of the
    recursion), its columns the rows (reversed), with ``R_d`` and ``R_s`` swapped; by reciprocity its
    effective matrix is ``G_eff`` transposed and reversed.
    """
    m, n = g.shape[-2:]
    if m <= n or wires.ideal:
        return crossbar_admittance(g, wires, unit_siemens)[0]
    swapped = wires.model_copy(update={"driver_ohm": wires.sense_ohm, "sense_ohm": wires.driver_ohm})
    flipped = g.mT.flip(-2, -1)
    return crossbar_admittance(flipped, swapped, unit_siemens)[0].flip(-2, -1).mT


def unit_siemens(device: DeviceConfig) -> float:
    """Siemens per digit unit (the level step ``dG``), the unit of :func:`~mimo_amc.amc.devices.program_pairs`."""
    return device.level_step_us * 1e-6


def differential_pair(
    g_pos: torch.Tensor, g_neg: torch.Tensor, device: DeviceConfig, wires: WireConfig, *, sense: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """What a differential pair of arrays computes: ``(G_eff(G+) - G_eff(G-), Y_s(G+) + Y_s(G-))``.

    Args:
        g_pos, g_neg: Programmed conductances ``[..., m, n]`` in digit units (each its own array,
            ``G-`` driven with the negated inputs, both into the same sense nodes).
        device: The cell model (its level step is the digit unit).
        wires: The arrays' interconnect.
        sense: Whether ``Y_s`` is wanted (the INV circuit's op-amp loading); else it is None for ideal
            wires (open-loop MVMs need none; with wire resistance it comes out of the same solve).

    Returns:
        ``(G_eff [..., m, n], Y_s [..., m, m])`` in digit units; ``(G+ - G-, diag(row sums of
        G+ + G-))`` for ideal wires.
    """
    if wires.ideal:
        return g_pos - g_neg, torch.diag_embed((g_pos + g_neg).sum(-1)) if sense else None
    (e_pos, y_pos), (e_neg, y_neg) = (crossbar_admittance(g, wires, unit_siemens(device)) for g in (g_pos, g_neg))
    return e_pos - e_neg, y_pos + y_neg


def effective_pair(g_pos: torch.Tensor, g_neg: torch.Tensor, device: DeviceConfig, wires: WireConfig) -> torch.Tensor:
    """``G_eff(G+) - G_eff(G-)`` (arguments of :func:`differential_pair`) on each array's cheaper side.

    For open-loop MVMs, which need no sense-port admittance (``G+ - G-`` for ideal wires).
    """
    unit = unit_siemens(device)
    return effective_conductance(g_pos, wires, unit) - effective_conductance(g_neg, wires, unit)
