"""Reproduction suite in quick mode, and the examples in reduced size (issue 8)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mimo_amc.reproduce import CLAIMS, chebyshev_bound, reproduce

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


def test_committed_reproduction_is_what_the_committed_results_give(tmp_path, monkeypatch):
    """``mimo-amc reproduce --committed`` runs nothing: from copies of the committed results folders (CSV tables
    only) it rewrites results/reproduction.json and REPRODUCTION.md exactly as committed."""
    for name in {c.scenario for c in CLAIMS}:
        shutil.copytree(ROOT / "results" / name, tmp_path / name, ignore=shutil.ignore_patterns("*.parquet", "units"))
    monkeypatch.chdir(ROOT)  # the commands name scenarios/<name>.yaml as in the committed files
    table = reproduce(root=tmp_path, scenarios="scenarios", run=False)
    assert json.loads((tmp_path / "reproduction.json").read_text()) == json.loads(
        (ROOT / "results/reproduction.json").read_text()
    )
    assert (tmp_path / "REPRODUCTION.md").read_text() == (ROOT / "results/REPRODUCTION.md").read_text()
    rows = table.set_index("id")
    assert rows.loc["2b-demo", "passed"] and not rows.loc["2b", "passed"]  # the demo succeeds; the average floors
    assert "(issue" not in " ".join(rows.published)


def test_chebyshev_bound_of_a_degree_3_polynomial():
    """1 / T_3(1 / rho) = rho^3 / (4 - 3 rho^2): below Richardson's rho^3 by less than 4x."""
    for rho in (0.05, 0.22, 0.5, 0.9):
        assert chebyshev_bound(rho) == pytest.approx(rho**3 / (4 - 3 * rho**2), rel=1e-12)
        assert 1 < rho**3 / chebyshev_bound(rho) < 4
    assert chebyshev_bound(1.5) == 1.0  # no contraction: no bound below 1
