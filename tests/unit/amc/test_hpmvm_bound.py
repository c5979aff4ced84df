"""The HP-MVM fast path's slicing-free per-call bound never falls below the exact union bound."""

from __future__ import annotations

import torch

from mimo_amc.amc import BitSlicedMVM, SolverConfig, slice_digits
from mimo_amc.amc.converters import full_scale
from mimo_amc.amc.hpmvm import FAST_PATH_TOLERANCE


def test_call_bound_is_at_least_the_exact_union_bound():
    g = torch.Generator().manual_seed(4)
    cfg = SolverConfig(hpmvm={"array_size": 48, "prog_sigma": 3e-4}).resolved()  # 3 tiles, the last one partial
    a = torch.randn(20, 128, 128, generator=g, dtype=torch.float64)
    mvm = BitSlicedMVM(a, cfg, torch.Generator().manual_seed(5))
    for x in (torch.randn(20, 128, 7, generator=g, dtype=torch.float64),
              torch.rand(20, 128, 7, generator=g, dtype=torch.float64)):  # fmt: skip
        x_n = x / full_scale(x)
        digits = mvm._tile_rows(slice_digits(x_n, cfg.hpmvm.input_digit_bits, cfg.hpmvm.input_slices))
        per_read = mvm._read_failure(digits.square().sum(dim=-2))
        exact = cfg.hpmvm.num_slices * 128 * per_read.sum(dim=(0, 2, 3))
        bound = mvm._call_bound(x_n)
        assert bound.shape == exact.shape == (20,)
        assert (bound >= exact * (1 - 1e-12)).all()


def test_default_chip_takes_the_fast_path_without_slicing_the_inputs():
    """At the default chip (128-row tiles, 1e-4 programming error) the bound clears the fast-path tolerance for
    100 right-hand sides of a 128 x 128 system, which the batch-independent worst case alone does not."""
    g = torch.Generator().manual_seed(6)
    h = torch.randn(10, 512, 128, generator=g, dtype=torch.float64)
    mvm = BitSlicedMVM(h.mT @ h / 512, SolverConfig().resolved(), torch.Generator().manual_seed(7))
    x = torch.randn(10, 128, 100, generator=g, dtype=torch.float64)
    assert mvm._worst_eps * 100 > FAST_PATH_TOLERANCE
    assert float(mvm._call_bound(x / full_scale(x)).max()) <= FAST_PATH_TOLERANCE
