"""Shared fixtures: deterministic torch state."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _torch_threads():
    torch.set_num_threads(2)
    yield
