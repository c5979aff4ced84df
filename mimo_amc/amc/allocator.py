"""Keep freed tensor memory in the process instead of returning it to the kernel (glibc only).

The simulator allocates and frees tensors of a few to a few tens of MiB per operation (a batch of
10,000 8x8 write-error pairs is 10 MiB, a 512x64 iterate block 30 MiB). glibc's defaults serve a block
above its dynamic ``mmap`` threshold (the largest block freed so far, at most 32 MiB) by a fresh mapping,
and return freed memory at the top of the heap beyond twice that threshold to the kernel, so a workload
whose live memory swings by tens of MiB per operation page-faults much of its output memory into
existence again and again (10,124-26,220 minor faults in three small HP-INV solves, 0-250 with this setting:
``tests/unit/amc/test_allocator.py``). :func:`tune_allocator` fixes the threshold at glibc's maximum and
keeps up to 1 GiB of freed heap for reuse. Arithmetic is unchanged (torch aligns every allocation to 64
bytes either way): results are bit-identical (tested).

Measured (torch 2.13, 1 thread, 2-core AMD EPYC, medians of 5, one script run without and then with
the setting, the same inputs): HP-INV program + 10 iterations of 10,000 16x16 systems 219 -> 167 ms, of
1,000 128x128 systems 1.25 -> 0.97 s; analog ZF K = 3 at 512x64 (100 x 100) 882 -> 617 ms; at 128x8
(tensors below 4 MiB) no change. Sionna's own blocks gain too (its ``zf_equalizer`` on the same 128x8
inputs: 31.8 ms in ``benchmarks/report.md`` before the setting, 10.8 and 14.6 ms in two runs with it).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
"""glibc's ``mallopt`` parameter numbers (``<malloc.h>``)."""

MMAP_THRESHOLD_BYTES = 32 * 2**20
"""Blocks below this come from the reusable heap: glibc's largest allowed value (``HEAP_MAX_SIZE / 2``)."""

TRIM_THRESHOLD_BYTES = 2**30
"""Freed memory at the top of the heap is returned to the kernel only beyond this."""

TOP_PAD_BYTES = 64 * 2**20
"""Extra bytes requested from the kernel whenever the heap grows."""


@functools.cache
def tune_allocator() -> bool:
    """Apply the settings above to this process's ``malloc`` (once; later calls return the first answer).

    Returns:
        True when glibc accepted all three, False where there is no glibc ``mallopt`` (macOS, musl,
        Windows): nothing changes there.

    Example:
        >>> isinstance(tune_allocator(), bool)
        True
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES), (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
                (M_TOP_PAD, TOP_PAD_BYTES))  # fmt: skip
    return all(mallopt(param, value) == 1 for param, value in settings)
