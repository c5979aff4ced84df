"""Opt-in ``torch.compile`` of the chip's hot paths: a runtime setting, never a chip parameter.

Set the environment variable ``MIMO_AMC_COMPILE=1`` (before or during a run; worker processes inherit
it; it is no part of any scenario or result key) and

* every LP-INV application with several right-hand sides per matrix
  (:func:`mimo_amc.amc.lpinv.application`: the BlockAMC chain of DAC, array product, read noise and ADC
  of every array) runs as one compiled graph, and
* every LP-INV array write (:func:`mimo_amc.amc.lpinv.write_block`: digits and write errors) as another,

instead of operation by operation. The random numbers are drawn outside the graphs, beforehand and in
the order of the eager path, so both consume the random stream identically; the graphs evaluate the
same floating-point operations (Inductor contracts no multiply-add on CPU, and the array products stay
library calls, :func:`mimo_amc.amc.lpinv._product`). Measured (torch 2.13, CPU): writes and
applications of up to 16 unknowns are bit-identical to the eager path
(``tests/unit/amc/test_compiling.py``); at 128 unknowns 1e-4 of the LP-INV outputs differ by about
one ADC step, because Inductor lays out some intermediate vectors differently and the library product
then rounds differently, a change of the size of the float32 arrays' rounding
(``tests/unit/amc/test_float32_arrays.py``), not of the statistics.

When it pays (1 thread, interleaved with the eager path on a shared 2-core machine; see
``benchmarks/bench_detectors.py --compile``): one LP-INV application at 512x64 (128 unknowns, 100
vectors per matrix) takes ~30 % less time (87 instead of 121-133 ms, of which 46 ms are the noise
draws), the analog ZF detector 5-15 % less end to end; at 128x8 nothing, since the noise draws and the
float64 matched filter dominate there. A write of 10,000 8x8 arrays takes 0.7 instead of 2.3 ms, which
is below the run-to-run noise of HP-INV's total. With one right-hand side per matrix (the HP-INV
benchmark) a compiled application is slower (its vectors have a unit inner dimension, which Inductor
does not vectorise), so those run eagerly.

Compilation costs seconds (16 unknowns) to about a minute (128 unknowns) on first use of each shape;
the batch dimensions become dynamic after the first change of shape, so a run compiles each graph
about twice. Should compiling fail (no C++ compiler, an unsupported operation), a warning says so
once and the eager function runs instead.
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
