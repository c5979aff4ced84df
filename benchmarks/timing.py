"""Timing helpers shared by the benchmarks: interleaved repeats, medians of ratios."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def paired_times(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Wall times of each function, interleaved per repeat so that machine load hits all alike
    (CUDA work is waited for before each clock reading)."""
    for fn in fns.values():
        fn()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _sync()
            start = time.perf_counter()
            fn()
            _sync()
            times[name].append(time.perf_counter() - start)
    return times


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def median_ratio(times: dict[str, list[float]], numerator: str, denominator: str) -> float:
    """Median over repeats of ``numerator / denominator`` measured in the same repeat."""
    return median([a / b for a, b in zip(times[numerator], times[denominator], strict=True)])
