"""Reproduction suite in quick mode, and the examples in reduced size (issue 8)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mimo_amc.reproduce import CLAIMS, reproduce

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_reproduction_keeps_every_claim_that_passes_in_full_mode(tmp_path):
    """Every claim that passes in the committed full-mode run (results/reproduction.json) passes in quick
    mode too: same criteria, reduced statistics."""
    full = {row["id"]: row for row in json.loads((ROOT / "results/reproduction.json").read_text())}
    assert set(full) == {c.id for c in CLAIMS}
    quick = reproduce(quick=True, root=tmp_path, scenarios=ROOT / "scenarios").set_index("id")
    assert (tmp_path / "quick/REPRODUCTION.md").is_file()
    for claim_id, row in full.items():
        if row["passed"]:
            assert quick.loc[claim_id, "passed"], (claim_id, quick.loc[claim_id, "reproduced"])


@pytest.mark.slow
@pytest.mark.parametrize("script", ["ber_loop.py", "ofdm_3gpp.py"])
def test_examples_run_in_reduced_size(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--quick"], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "e-" in result.stdout or "e+" in result.stdout  # printed error rates
