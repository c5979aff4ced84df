"""Digital baselines measured on the machine that runs the study: batched ``torch.linalg`` solves."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import pandas as pd
import torch

from ..amc import default_device


def available_devices() -> list[str]:
    """``["cpu"]``, plus the default device (:func:`~mimo_amc.amc.default_device`) when it is another one."""
    default = str(default_device())
    return ["cpu"] if default == "cpu" else ["cpu", default]


_DIGITAL_OPS: Mapping[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "solve": torch.linalg.solve,
    "inv": lambda a, b: torch.linalg.inv(a) @ b,
}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def measure_digital(
    sizes: Sequence[int],
    batch_sizes: Sequence[int],
    *,
    dtypes: Sequence[torch.dtype] = (torch.float32, torch.float64),
    devices: Sequence[str] | None = None,
    ops: Sequence[Literal["solve", "inv"]] = ("solve", "inv"),
    repeats: int = 5,
    warmup: int = 2,
    min_repeat_s: float = 2e-3,
    max_batch_elements: int = 2**24,
    seed: int = 0,
) -> pd.DataFrame:
    """Measure batched digital solves ``A x = b`` on this machine.

    ``"solve"`` is ``torch.linalg.solve(A, b)`` (LU with pivoting); ``"inv"`` is
    ``torch.linalg.inv(A) @ b``. Matrices are ``randn / sqrt(n) + 4 I`` (well conditioned), one
    right-hand side each. After ``warmup`` calls, each of ``repeats`` timings runs enough calls to
    last ``min_repeat_s`` (CUDA synchronised); the reported figure is the median.

    Args:
        sizes: System sizes ``n``.
        batch_sizes: Systems per call; a pair with ``batch n^2 > max_batch_elements`` is skipped
            unless it is the smallest batch size.
        dtypes: Real dtypes to measure.
        devices: Torch devices; default ``cpu`` plus ``cuda`` when available.
        ops: ``"solve"`` and/or ``"inv"``.
        repeats, warmup, min_repeat_s: Timing protocol.
        max_batch_elements: Memory cap on ``batch n^2``.
        seed: Seed of the random matrices.

    Returns:
        One row per (device, dtype, op, n, batch): ``device``, ``dtype``, ``op``, ``n``, ``batch``,
        ``threads`` (CPU threads used by torch), ``calls`` (per timing), ``seconds_per_call``
        (median), ``solves_per_s`` (median, ``batch / seconds_per_call``), ``kind = "measured"``.
    """
    devices = list(devices) if devices is not None else available_devices()
    rows = []
    smallest = min(batch_sizes)
    for device in devices:
        gen = torch.Generator(device=device).manual_seed(seed)
        for dtype in dtypes:
            for n in sizes:
                for batch in batch_sizes:
                    if batch * n * n > max_batch_elements and batch != smallest:
                        continue
                    a = torch.randn(batch, n, n, generator=gen, device=device, dtype=dtype) / math.sqrt(n)
                    a += 4 * torch.eye(n, device=device, dtype=dtype)
                    b = torch.randn(batch, n, 1, generator=gen, device=device, dtype=dtype)
                    for op in ops:
                        fn = _retrying(_DIGITAL_OPS[op])
                        for _ in range(warmup):
                            fn(a, b)
                        _sync(device)
                        t0 = time.perf_counter()
                        fn(a, b)
                        _sync(device)
                        calls = max(1, math.ceil(min_repeat_s / max(time.perf_counter() - t0, 1e-9)))
                        timings = []
                        for _ in range(repeats):
                            t0 = time.perf_counter()
                            for _ in range(calls):
                                fn(a, b)
                            _sync(device)
                            timings.append((time.perf_counter() - t0) / calls)
                        seconds = statistics.median(timings)
                        rows.append(
                            {
                                "kind": "measured",
                                "device": device,
                                "dtype": str(dtype).removeprefix("torch."),
                                "op": op,
                                "n": n,
                                "batch": batch,
                                "threads": torch.get_num_threads(),
                                "calls": calls,
                                "seconds_per_call": seconds,
                                "solves_per_s": batch / seconds,
                            }
                        )
    return pd.DataFrame(rows)


def _retrying(fn: Callable[[torch.Tensor, torch.Tensor], Any]) -> Callable[[torch.Tensor, torch.Tensor], Any]:
    """``fn`` retried up to 4 times on a RuntimeError: torch 2.13's CPU batched LU has failed
    intermittently here ("Pivots given to lu_solve must all be greater or equal to 1") on
    well-conditioned inputs that factorise fine when repeated (not reproducible in isolation)."""

    def call(a: torch.Tensor, b: torch.Tensor) -> Any:
        for _ in range(4):
            try:
                return fn(a, b)
            except RuntimeError:
                continue
        return fn(a, b)

    return call


def best_digital(digital: pd.DataFrame) -> pd.DataFrame:
    """Per ``n`` (and device, dtype): the row with the highest measured solves/s over ops and batches."""
    idx = digital.groupby(["device", "dtype", "n"])["solves_per_s"].idxmax()
    return digital.loc[idx].sort_values(["device", "dtype", "n"]).reset_index(drop=True)
