"""Committed result tables regenerate with the same numbers from the current code.

A refactor proves itself here: each scenario is run afresh into a temporary folder and compared with
its committed folder under ``results/`` by :func:`mimo_amc.reproduce.compare_results` (every
non-timing column; float tolerances documented there).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mimo_amc.reproduce import compare_results
from mimo_amc.runner import run_scenario
from mimo_amc.scenario import load_scenario

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["quickstart", "paper_ber_16x4", "paper_image", "paper_precision", "paper_cost"])
def test_committed_tables_regenerate(name, tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml", [f"output.directory={tmp_path}"])
    run_scenario(scenario, progress=False, report=name == "paper_cost")
    assert compare_results(ROOT / "results" / name, tmp_path) == []
