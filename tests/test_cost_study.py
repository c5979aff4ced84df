"""The cost study of a scenario: `mimo-amc cost`, the table, figure and the paper's scaling (issue 6)."""

from __future__ import annotations

import pandas as pd
import yaml

from mimo_amc.cli import main


def test_cost_command_writes_table_figures_and_scaling(tmp_path):
    scenario = tmp_path / "cost.yaml"
    study = {"sizes": [8, 16, 32, 64], "iterations": 3, "schemes": ["richardson", "fcg"], "digital_batches": [64]}
    scenario.write_text(yaml.safe_dump({"name": "c", "link": {"snr_db": []}, "cost": study}))
    assert main(["cost", str(scenario), "--output", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    for name in ("cost.md", "tables/cost.md", "tables/cost.tex", "tables/cost.csv", "tables/digital.csv",
                 "tables/assumptions.md", "tables/quoted.md", "figures/throughput_monolithic_fixed.png",
                 "figures/throughput_blockamc_settling.pdf"):  # fmt: skip
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "tables/cost.csv")
    fixed = table[(table.layout == "monolithic") & (table.timing == "fixed") & (table.scheme == "richardson")]
    # The paper's arithmetic: 3 x (120 ns LP-INV + 60 ns MVM), independent of N on one array each,
    # plus a few ns of digital vector work per iteration.
    assert ((fixed.t_lpinv_ns_slow + fixed.t_hpmvm_ns_slow - 540).abs() < 1e-6).all()
    assert fixed.analog_ns_per_iteration_slow.between(180, 200).all()
    # Digital time grows with N, analog per-iteration time does not: the advantage grows with N.
    assert fixed.ratio_slow.is_monotonic_increasing
    # BlockAMC's sequential chain grows as 3^stages (N^1.58): its analog time per iteration grows.
    blocks = table[(table.layout == "blockamc") & (table.timing == "fixed") & (table.scheme == "richardson")]
    assert blocks.analog_ns_per_iteration_slow.is_monotonic_increasing
    # Energy parts add up, and FCG costs one more HP-MVM per iteration than the paper's refinement.
    parts = table[[f"e_{k}_nj_slow" for k in ("lpinv", "hpmvm", "vector")]].sum(axis=1)
    assert ((parts - table.analog_nj_per_solve_slow).abs() < 1e-6 * table.analog_nj_per_solve_slow).all()
    ops = table.groupby("scheme")[["lpinv_ops", "hpmvm_ops", "dot_products"]].first()
    assert ops.loc["richardson"].tolist() == [1, 1, 0] and ops.loc["fcg"].tolist() == [1, 2, 4]
    assert "crossover N" in (out / "cost.md").read_text()
