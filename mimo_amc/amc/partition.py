"""The BlockAMC partition of a system onto INV arrays, derived once (Pan et al., arXiv:2401.10042).

An ``n x n`` system that does not fit one ``array_size`` INV array is split into 2 x 2 blocks with a
leading block of ``n1 = ceil(n / 2)`` unknowns, recursively on ``A11`` and on the Schur complement
``S = A22 - A21 A11^-1 A12``::

    y1 = INV(A11) r1;   x2 = INV(S) (r2 - MVM(A21) y1);   x1 = y1 - INV(A11) MVM(A12) x2

:class:`Partition` is that tree. The LP-INV circuit (:mod:`~mimo_amc.amc.lpinv`) programs its
arrays by walking it, and the cost model prices the operations it lists
(:meth:`Partition.operations`, :meth:`Partition.plan`, :meth:`Partition.inv_array_uses`), so the
simulated chip and its cost can never disagree about the partition.

Example:
    >>> p = Partition.of(16, 8)
    >>> p.n1, p.a11.n, p.schur.n, p.a11.is_leaf
    (8, 8, 8, True)
    >>> p.plan()
    BlockAMCPlan(inv_arrays=2, mvm_arrays=2, inv_ops=3, mvm_ops=2, depth=5)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class BlockAMCPlan:
    """Arrays and analog operations of one LP-INV application of an ``n x n`` system.

    Attributes:
        inv_arrays / mvm_arrays: Programmed INV and MVM arrays.
        inv_ops / mvm_ops: Analog operations per LP-INV application (each with its DAC and ADC pass).
        depth: Longest chain of sequential analog operations (the latency in operations).
    """

    inv_arrays: int
    mvm_arrays: int
    inv_ops: int
    mvm_ops: int
    depth: int


@dataclass(frozen=True)
class Operation:
    """One analog operation of an LP-INV application: an INV solve or a BlockAMC MVM.

    Attributes:
        inv: True for an INV-array solve, False for an open-loop MVM.
        outputs: Output lines (ADC conversions).
        inputs: Input lines (DAC conversions).
    """

    inv: bool
    outputs: int
    inputs: int


@dataclass(frozen=True)
class Partition:
    """A node of the BlockAMC tree: a leaf that fits one INV array, or a 2 x 2 split.

    Attributes:
        n: Unknowns of this (sub)system.
        n1: Unknowns of the leading block (``None`` for a leaf).
        a11: Partition of the leading block ``A11`` (``None`` for a leaf).
        schur: Partition of the Schur complement (``None`` for a leaf).
    """

    n: int
    n1: int | None = None
    a11: Partition | None = None
    schur: Partition | None = None

    @staticmethod
    @cache
    def of(n: int, array_size: int) -> Partition:
        """The partition of ``n`` unknowns on ``array_size x array_size`` INV arrays (cached)."""
        if n < 1 or array_size < 1:
            raise ValueError(f"n and array_size must be >= 1; got n={n}, array_size={array_size}")
        if n <= array_size:
            return Partition(n)
        n1 = (n + 1) // 2
        return Partition(n, n1, Partition.of(n1, array_size), Partition.of(n - n1, array_size))

    @property
    def is_leaf(self) -> bool:
        """True when the system fits one INV array."""
        return self.n1 is None

    def _children(self) -> tuple[Partition, Partition]:
        assert self.a11 is not None and self.schur is not None
        return self.a11, self.schur

    def plan(self) -> BlockAMCPlan:
        """Array and operation counts of one LP-INV application."""
        if self.is_leaf:
            return BlockAMCPlan(1, 0, 1, 0, 1)
        a, s = (c.plan() for c in self._children())
        return BlockAMCPlan(
            inv_arrays=a.inv_arrays + s.inv_arrays,
            mvm_arrays=a.mvm_arrays + s.mvm_arrays + 2,
            inv_ops=2 * a.inv_ops + s.inv_ops,
            mvm_ops=2 * a.mvm_ops + s.mvm_ops + 2,
            depth=2 * a.depth + s.depth + 2,
        )

    def operations(self) -> list[Operation]:
        """Every operation of one LP-INV application, in execution order.

        Example:
            >>> [(o.inv, o.outputs, o.inputs) for o in Partition.of(12, 8).operations()]
            [(True, 6, 6), (False, 6, 6), (True, 6, 6), (False, 6, 6), (True, 6, 6)]
        """
        if self.is_leaf:
            return [Operation(True, self.n, self.n)]
        a11, schur = self._children()
        n1, n2 = a11.n, schur.n
        first = a11.operations()
        return [*first, Operation(False, n2, n1), *schur.operations(), Operation(False, n1, n2), *first]

    def inv_array_uses(self) -> tuple[int, ...]:
        """Operations of each INV array per LP-INV application, in the order the arrays are programmed.

        ``A11``'s sub-solver runs twice per application, the Schur complement's once.

        Example:
            >>> Partition.of(16, 8).inv_array_uses(), Partition.of(32, 8).inv_array_uses()
            ((2, 1), (4, 2, 2, 1))
        """
        if self.is_leaf:
            return (1,)
        a11, schur = self._children()
        return tuple(2 * u for u in a11.inv_array_uses()) + schur.inv_array_uses()
