"""Shared fixtures: deterministic torch state.

Every test runs with one torch CPU thread, the count the harness tests also pass to ``run_scenario``
(``threads=1``), so in-process runs never switch the count back and forth. One thread also keeps clear
of a torch 2.13 / MKL fault: once ``torch.set_num_threads(n)`` has been called with ``n >= 2`` (which
also turns MKL's dynamic threading off), large batched ``torch.linalg.inv_ex`` calls (e.g. the cost
study's 256 x 256 INV arrays) can fail with "Pivots given to lu_solve must all be greater or equal to
1" (see :func:`mimo_amc.studies.run_unit`). Results depend on the thread count in the last bits only.
"""

from __future__ import annotations

import pytest
import torch

THREADS = 1


@pytest.fixture(autouse=True)
def _torch_threads():
    if torch.get_num_threads() != THREADS:
        torch.set_num_threads(THREADS)
    yield
