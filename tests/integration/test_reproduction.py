"""Reproduction suite in quick mode, and the examples in reduced size (issue 8)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mimo_amc.metrics import clopper_pearson
from mimo_amc.reproduce import CLAIMS, PUSCH_REFERENCE, chebyshev_bound, reproduce

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
    for name in {c.scenario for c in CLAIMS if (ROOT / "results" / c.scenario).is_dir()}:
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


def _pusch_rows(reference: dict[float, int], analog: dict[str, list[list[int]]], tbs: int = 256) -> pd.DataFrame:
    """A ``pusch`` table of one point: the reference's TB errors per SNR, each analog row's per SNR and iteration."""
    rows = []
    for detector, errors in [(PUSCH_REFERENCE, [[e] for e in reference.values()]), *analog.items()]:
        for snr, per_iteration in zip(reference, errors, strict=True):
            for i, e in enumerate(per_iteration):
                low, high = clopper_pearson(e, tbs, 0.95)
                rows.append({"point": 0, "snr_db": snr, "detector": detector, "iteration": 0 if detector ==
                             PUSCH_REFERENCE else i + 1, "bler": e / tbs, "bler_ci_low": low, "bler_ci_high": high,
                             "nonconverged_fraction": 0.0})  # fmt: skip
    return pd.DataFrame(rows)


def test_pusch_claims_check_parity_in_the_waterfall_and_the_calibrated_outputs(tmp_path):
    """Claim 8a's criterion on a synthetic table: parity by iteration 3 at every SNR with reference BLER in
    [1e-2, 0.5] (the SNRs outside it do not count), and no more calibrated BLERs above the exact one's interval
    than chance allows (1 of 12 rows)."""
    evaluate = next(c for c in CLAIMS if c.id == "8a").evaluate
    reference = {-6.0: 256, -5.0: 100, -4.0: 10, -3.0: 0}  # only -5 and -4 dB are in the waterfall
    good = [[256] * 3, [180, 101, 100], [60, 12, 10], [40, 30, 20]]
    late = [[256] * 3, [180, 150, 100], [60, 12, 10], [40, 30, 20]]  # parity at -5 dB only at iteration 3
    cases = {
        "parity": ({"analog_mmse": good, "analog_mmse_calibrated": good}, True, "2, 2"),
        "parity at 3": ({"analog_mmse": late, "analog_mmse_calibrated": late}, True, "3, 2"),
        "one row worse": ({"analog_mmse": good, "analog_mmse_calibrated": [*good[:3], [60, 30, 20]]}, True,
                          "2, 2"),
        "worse calibrated": ({"analog_mmse": good, "analog_mmse_calibrated": [*good[:2], [90, 40, 30], [60, 30, 20]]},
                             False, "2, 2"),
    }  # fmt: skip
    for name, (analog, passed, its) in cases.items():
        (tmp_path / name).mkdir()
        _pusch_rows(reference, analog).to_csv(tmp_path / name / "pusch.csv", index=False)
        text, ok, _ = evaluate(tmp_path / name)
        assert ok is passed, (name, text)
        assert "SNR -5, -4 dB" in text and its in text, (name, text)
    assert "in 1 of 12 rows (chance alone allows 1)" in evaluate(tmp_path / "one row worse")[0]
    assert "in 4 of 12 rows (chance alone allows 1)" in evaluate(tmp_path / "worse calibrated")[0]
    iteration_4 = {"analog_mmse": [[256] * 4, [180, 150, 130, 100], [60, 12, 10, 10], [40, 30, 20, 0]]}
    (tmp_path / "late").mkdir()
    _pusch_rows(reference, iteration_4).to_csv(tmp_path / "late" / "pusch.csv", index=False)
    assert evaluate(tmp_path / "late")[1] is False  # parity at iteration 4 > 3


def test_a_claim_whose_results_folder_does_not_exist_reads_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    table = reproduce(root=tmp_path, scenarios="scenarios", run=False).set_index("id")
    assert (table.reproduced == "not run").all() and not table.passed.any()
    assert "no results folder" in table.loc["8b", "note"]
