"""The cost study: measured digital solves, the comparison table, figures, assumptions, quoted figures,
crossover and scaling, and the study as a resumable unit of ``run_scenario`` (issue 6)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
import torch

from mimo_amc.amc import CostConfig, SolverConfig, solve_cost
from mimo_amc.amc.cost import ReceiverConfig, coherence_time_s, receiver_budget
from mimo_amc.report.cost import assumptions_table, plot_throughput
from mimo_amc.runner import run_scenario
from mimo_amc.scenario import CostStudyConfig, load_scenario, scenario_from_dict, sweep_points
from mimo_amc.store import ResultStore
from mimo_amc.studies import STUDIES
from mimo_amc.studies.cost import comparison_table, crossover_n, receiver_links_tables, scaling_exponents
from mimo_amc.studies.digital import measure_digital
from mimo_amc.studies.quoted import quoted_figures_table

FIXED = CostConfig(timing="fixed")
ROOT = Path(__file__).resolve().parents[3]


def test_measure_digital_tiny() -> None:
    df = measure_digital([4, 6], [8], dtypes=(torch.float32,), devices=["cpu"], repeats=2, warmup=1, min_repeat_s=1e-4)
    assert len(df) == 4 and set(df["op"]) == {"solve", "inv"} and set(df["kind"]) == {"measured"}
    assert (df["solves_per_s"] > 0).all() and (df["seconds_per_call"] > 0).all()
    assert df["solves_per_s"].to_numpy() == pytest.approx((df["batch"] / df["seconds_per_call"]).to_numpy())


def test_table_figure_and_assumptions(tmp_path) -> None:
    digital = measure_digital(
        [8, 16], [32], dtypes=(torch.float32,), devices=["cpu"], repeats=2, warmup=1, min_repeat_s=1e-4
    )
    table = comparison_table(digital, sizes=(8, 16, 32), iterations=3)
    for col in (
        "n",
        "iterations",
        "analog_ns_per_solve_slow",
        "analog_nj_per_solve_fast",
        "e_adc_nj_slow",
        "e_opamp_nj_fast",
        "e_array_nj_slow",
        "digital_solves_per_s",
        "ratio_slow",
        "ratio_fast",
    ):
        assert col in table.columns
    row = table.iloc[0]
    assert row["analog_ns_per_solve_slow"] == pytest.approx(solve_cost(8, 3).time_s * 1e9)
    best = digital[digital["n"] == 8]["solves_per_s"].max()
    assert row["digital_solves_per_s"] == best
    assert row["ratio_fast"] == pytest.approx(row["analog_solves_per_s_fast"] / best)
    assert math.isnan(table.iloc[2]["digital_solves_per_s"])  # n = 32 not measured
    parts = table[[f"e_{k}_nj_slow" for k in ("dac", "adc", "opamp", "array", "digital")]].sum(axis=1)
    assert parts.to_numpy() == pytest.approx(table["analog_nj_per_solve_slow"].to_numpy())
    plot_throughput(table, digital, tmp_path / "fig" / "t", ["png", "pdf"])
    png, pdf = tmp_path / "fig" / "t.png", tmp_path / "fig" / "t.pdf"
    assert png.stat().st_size > 1000 and pdf.read_bytes().startswith(b"%PDF")
    assumptions = assumptions_table(CostConfig(), SolverConfig())
    assert list(assumptions.columns) == ["name", "value", "unit", "source"]
    assert set(CostConfig.model_fields) <= set(assumptions["name"])
    adc = assumptions.set_index("name").loc["solver.lpinv.converters.adc_bits"]
    assert (adc["value"], adc["unit"]) == ("8", "bit")
    assert (quoted_figures_table()["kind"] == "quoted").all()


def test_crossover_and_scaling() -> None:
    t = pd.DataFrame({"n": [8, 16, 32], "ratio_slow": [0.5, 2.0, 4.0]})
    assert crossover_n(t) == pytest.approx(math.sqrt(8 * 16))
    assert crossover_n(t.assign(ratio_slow=[0.1, 0.2, 0.9])) is None
    assert crossover_n(t.assign(ratio_slow=[1.5, 2.0, 4.0])) == 8.0
    sizes = (8, 16, 32, 64, 128, 256)
    digital = pd.DataFrame(
        {"kind": "measured", "device": "cpu", "dtype": "float32", "op": "solve", "n": sizes, "batch": 1}
    ).assign(solves_per_s=[1e9 / n**3 for n in sizes])
    # Fixed time on one large INV array: ~constant per iteration; BlockAMC on 8x8: ~n^log2(3).
    mono = comparison_table(digital, sizes, cost=FIXED, solver=SolverConfig(lpinv={"array_size": 256}))
    block = comparison_table(digital, sizes, cost=FIXED)
    e_mono, e_block = scaling_exponents(mono), scaling_exponents(block)
    assert abs(e_mono["analog_slow"]) < 0.1 and e_block["analog_slow"] == pytest.approx(math.log2(3), abs=0.05)
    assert e_mono["digital"] == pytest.approx(3.0) and e_mono["digital_tail"] == pytest.approx(3.0)


def test_cost_study_runs_as_a_resumable_unit_with_tables_figures_and_scaling(tmp_path):
    """A scenario with only a tiny ``cost`` section: one unit, its tables and figures, and the paper's scaling."""
    out = tmp_path / "out"
    link = {"name": "128x8", "antennas": 128, "users": 8, "iterations": 4, "source": "test",
            "adaptive": {"iterations_mean": 3.5, "outage_fraction": 0.01, "fallback": "digital"}}  # fmt: skip
    study = {"sizes": [8, 16, 32, 64], "iterations": 3, "schemes": ["richardson", "fcg"], "digital_batches": [64],
             "receiver_links": [link]}  # fmt: skip
    scenario = scenario_from_dict(
        {"name": "c", "link": {"snr_db": []}, "cost": study, "output": {"directory": str(out)}}, "cost.yaml"
    )
    assert scenario.studies == ["cost"]
    first = run_scenario(scenario, progress=False, threads=1)  # one thread: timings robust to a busy machine
    assert (first.computed, first.skipped) == (1, 0)
    (unit,) = STUDIES["cost"].units(sweep_points(scenario)[0])
    store = ResultStore(out)
    assert store.has(unit) and store.unit_path(unit).name.startswith("cost_")
    assert set(store.extra_table(unit, "digital")["kind"]) == {"measured"}
    assert {"layout", "n", "median", "p10", "unstable"} <= set(store.extra_table(unit, "rates").columns)
    for name in ("cost.parquet", "cost.csv", "report.md", "tables/cost.md", "tables/cost.tex", "tables/cost.csv",
                 "tables/digital.md", "tables/digital.csv", "tables/assumptions.md", "tables/quoted.md",
                 "figures/throughput_monolithic_fixed.png", "figures/throughput_blockamc_settling.pdf",
                 "tables/receiver_links.md", "tables/receiver_crossover.csv",
                 "figures/receiver_links.png"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not (out / "cost.md").exists() and not (out / "results.parquet").exists()
    table = pd.read_csv(out / "tables/cost.csv")
    assert len(table) == 2 * 2 * 2 * 4  # layouts x timings x schemes x sizes
    fixed = table[(table.layout == "monolithic") & (table.timing == "fixed") & (table.scheme == "richardson")]
    # The paper's arithmetic: 3 x (120 ns LP-INV + 60 ns MVM), independent of N on one array each,
    # plus a few ns of digital vector work per iteration.
    assert ((fixed.t_lpinv_ns_slow + fixed.t_hpmvm_ns_slow - 540).abs() < 1e-6).all()
    assert fixed.analog_ns_per_iteration_slow.between(180, 200).all()
    # Digital time grows with N, analog per-iteration time does not: the advantage grows with N. (Between
    # neighbouring mid sizes a busy machine can swap the measured digital times, so only the ends are compared.)
    assert (fixed.ratio_slow.iloc[1:] > fixed.ratio_slow.iloc[0]).all()
    assert fixed.ratio_slow.iloc[-1] > 10 * fixed.ratio_slow.iloc[0]
    # BlockAMC's sequential chain grows as 3^stages (N^1.58): its analog time per iteration grows.
    blocks = table[(table.layout == "blockamc") & (table.timing == "fixed") & (table.scheme == "richardson")]
    assert blocks.analog_ns_per_iteration_slow.is_monotonic_increasing
    # Energy parts add up, and FCG costs one more HP-MVM per iteration than the paper's refinement.
    parts = table[[f"e_{k}_nj_slow" for k in ("lpinv", "hpmvm", "vector")]].sum(axis=1)
    assert ((parts - table.analog_nj_per_solve_slow).abs() < 1e-6 * table.analog_nj_per_solve_slow).all()
    ops = table.groupby("scheme")[["lpinv_ops", "hpmvm_ops", "dot_products"]].first()
    assert ops.loc["richardson"].tolist() == [1, 1, 0] and ops.loc["fcg"].tolist() == [1, 2, 4]
    # The consolidated table is the stored one, labelled with its sweep point.
    stored = pd.read_parquet(out / "cost.parquet")
    assert len(stored) == len(table) and (stored.point == 0).all()
    report = (out / "report.md").read_text()
    assert "## Cost study" in report and "crossover N" in report
    assert "figures/throughput_blockamc_fixed.png" in report
    assert "## Receiver budget of measured links" in report and "above every quoted detector ASIC" in report
    assumptions = (out / "tables/assumptions.md").read_text()
    assert re.search(r"\| solver\.lpinv\.converters\.adc_bits +\| 8 +\| bit +\|", assumptions)
    # Resumable: the finished unit is skipped.
    again = run_scenario(scenario, progress=False, threads=1, report=False)
    assert (again.computed, again.skipped) == (0, 1)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "cost.parquet"), stored)


def _links_study(**receiver) -> CostStudyConfig:
    links = [
        {"name": "a", "antennas": 128, "users": 8, "iterations": 4, "source": "test",
         "adaptive": {"iterations_mean": 3.5, "outage_fraction": 0.01, "matrix_outage_fraction": 0.02,
                      "fallback": "digital"}},
        {"name": "b", "antennas": 64, "users": 8, "iterations": 4, "source": "test", "amc": {"device": {"bits": 4}}},
    ]  # fmt: skip
    return CostStudyConfig(timings=["fixed"], receiver=ReceiverConfig(**receiver), receiver_links=links)


def test_receiver_links_tables_are_the_budgets_of_each_link_and_mode() -> None:
    study = _links_study(speeds_kmh=[0.0, 3.0], subcarriers_per_gram=[12])
    rows, cross = receiver_links_tables(study, SolverConfig())
    assert len(rows) == (2 + 1) * 2 and rows[["link", "mode"]].drop_duplicates().values.tolist() == [
        ["a", "fixed"], ["a", "adaptive"], ["b", "fixed"]
    ]  # fmt: skip
    load, cost = study.receiver, study.model.model_copy(update={"timing": "fixed"})
    adaptive = study.receiver_links[0].adaptive.load()
    walking = receiver_budget(8, 8, 3.0, load, 4, cost, SolverConfig(), 12, adaptive)
    row = rows[(rows.link == "a") & (rows["mode"] == "adaptive") & (rows.speed_kmh == 3.0)].iloc[0]
    assert row.pj_per_bit == pytest.approx(walking.pj_per_bit) and row.iterations == 3.5
    four_bit = receiver_budget(8, 8, 0.0, load, 4, cost, SolverConfig.model_validate({"device": {"bits": 4}}), 12)
    assert rows[(rows.link == "b") & (rows.speed_kmh == 0)].pj_per_bit.iloc[0] == pytest.approx(four_bit.pj_per_bit)
    assert four_bit.pj_per_bit != pytest.approx(rows[(rows.link == "a") & (rows.speed_kmh == 0)].pj_per_bit.iloc[0])
    # The crossover table: static and once-per-slot energies, the write-equals-solve interval and its speed, and
    # every quoted detector ASIC (all below the analog receiver: exceeded at every speed, 0 km/h).
    c = cross[(cross.link == "a") & (cross["mode"] == "adaptive")].iloc[0]
    assert c.pj_per_bit_static == pytest.approx(receiver_budget(8, 8, 0.0, load, 4, cost, SolverConfig(), 12,
                                                                adaptive).pj_per_bit)  # fmt: skip
    assert c.write_equals_solve_us == pytest.approx(walking.write_equals_solve_coherence_s * 1e6)
    assert coherence_time_s(c.write_equals_solve_kmh, load.carrier_hz) == pytest.approx(c.write_equals_solve_us * 1e-6)
    asic = [col for col in cross.columns if col.startswith("above_")]
    assert asic == ["above_Peng_633pj_kmh", "above_Tang_80pj_kmh", "above_Jeon_427pj_kmh"]
    assert (cross[asic] == 0).all().all()


def test_paper_cost_links_carry_the_committed_measurements() -> None:
    """Each receiver link of scenarios/paper_cost.yaml holds the adaptive row of the results folder its source
    names, and its fixed K is that row's fixed-K parity iteration (the cap where there is none)."""
    scenario = load_scenario(ROOT / "scenarios" / "paper_cost.yaml")
    pattern = re.compile(r"results/(\S+): (\S+) at (-?[\d.]+) dB(?:, (\S+?))?(?: \(|$)")
    assert scenario.cost is not None and len(scenario.cost.receiver_links) >= 4
    for link in scenario.cost.receiver_links:
        folder, detector, snr, point = pattern.match(link.source).groups()
        table = pd.read_csv(ROOT / "results" / folder / "tables" / "adaptive.csv")
        row = table[(table.detector == detector) & (table.snr_db == float(snr)) & (table.point == (point or folder))]
        assert len(row) == 1, link.name
        row = row.iloc[0]
        for field in ("iterations_mean", "outage_fraction", "matrix_outage_fraction", "fallback_iterations_mean"):
            assert getattr(link.adaptive, field) == pytest.approx(row[field], rel=1e-5), (link.name, field)
        assert link.adaptive.fallback == row.fallback
        cap = int(pd.read_csv(ROOT / "results" / folder / "results.csv").iteration.max())
        fixed = row.fixed_parity_iteration
        assert link.iterations == (cap if str(fixed).startswith("none") else int(fixed)), link.name
