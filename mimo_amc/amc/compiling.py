"""Opt-in ``torch.compile`` of the chip's hot paths: a runtime setting, never a chip parameter.

Set the environment variable ``MIMO_AMC_COMPILE=1`` (before or during a run; worker processes inherit
it) and every LP-INV application (:func:`mimo_amc.amc.lpinv.application`: the BlockAMC chain of DAC,
array product, read noise and ADC of every array) runs as one compiled graph per partition, converter
setting and input shape instead of operation by operation. The read noise is drawn beforehand in the
same order as the eager path draws it, so both consume the random stream identically; the compiled
kernels evaluate the same floating-point operations (Inductor keeps the products as library calls and
contracts no multiply-add), which makes their results bit-identical to the eager ones wherever
Inductor does not re-associate a product (measured: every configuration with more than one
right-hand side; see ``tests/unit/amc/test_compiling.py``).

Compilation costs seconds to minutes on first use of each shape (the batch dimensions become dynamic
after the first change, so a run compiles each partition about twice; Inductor's cache keeps the
kernels between processes). It pays off only for long runs; ``benchmarks/bench_solver.py --compile``
and ``bench_detectors.py --compile`` report the compile time apart from the steady state. Should
compiling fail (no C++ compiler, an unsupported operation), a warning says so once and the eager
function runs instead.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import torch

ENV = "MIMO_AMC_COMPILE"
"""The switch: ``"1"`` (or any value but ``""`` and ``"0"``) compiles; unset runs eagerly."""

T = TypeVar("T")

_compiled: dict[Callable[..., Any], Callable[..., Any]] = {}
_failed: set[Callable[..., Any]] = set()


def enabled() -> bool:
    """True when ``MIMO_AMC_COMPILE`` asks for compiled hot paths."""
    return os.environ.get(ENV, "") not in ("", "0")


def run(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, compiled when :func:`enabled` (eagerly after a failed compilation).

    ``fn`` must be a pure function of its arguments (tensors, lists of tensors and hashable static
    structure), with no random draws of its own.
    """
    if not enabled() or fn in _failed:
        return fn(*args)
    compiled = _compiled.get(fn)
    if compiled is None:
        compiled = _compiled[fn] = torch.compile(fn, dynamic=None)
    try:
        return compiled(*args)
    except Exception as error:  # any compiler failure falls back to the same eager function
        _failed.add(fn)
        warnings.warn(
            f"{ENV}: compiling {fn.__qualname__} failed ({type(error).__name__}: {error}); running it eagerly",
            RuntimeWarning,
            stacklevel=2,
        )
        return fn(*args)
