"""Experiment harness end to end: validation errors and exit codes, sweeps, resumable store, executors
(process pool, Ray), report, the command line and the paper image scenario (issues 4 and 5)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mimo_amc.cli import main
from mimo_amc.runner import run_scenario
from mimo_amc.scenario import load_scenario, sweep_points
from mimo_amc.store import ResultStore
from mimo_amc.studies import STUDIES

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

TINY = {
    "name": "tiny",
    "link": {"num_rx_antennas": 8, "num_users": 2, "modulation": "16qam", "coherence_block": 20,
             "snr_db": [6.0, 10.0]},
    "detectors": {"names": ["zf_fp32", "zf_fp64", "analog_zf"], "iterations": 3},
    "monte_carlo": {"realizations_per_batch": 50, "target_bit_errors": 50, "max_bits": 40000, "seed": 3},
    "sweep": {"grid": {"amc.device.bits": [3, 4]}},
}  # fmt: skip


def _write(tmp_path: Path, data: dict, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def _compare(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal tables except the wall time."""
    pd.testing.assert_frame_equal(a.drop(columns="wall_time_s"), b.drop(columns="wall_time_s"))


# ---------------------------------------------------------------- bad input
BAD_INPUTS = [
    ("unknown key", "link:\n  num_user: 4\n", [], "link.num_user", "Did you mean 'num_users'"),
    ("wrong type", "link:\n  num_rx_antennas: sixteen\n", [], "link.num_rx_antennas", "valid integer"),
    ("bits out of range", "amc:\n  device:\n    bits: 12\n", [], "amc.device.bits", "less than or equal to 8"),
    ("snr out of range", "link:\n  snr_db: [10, -400]\n", [], "snr_db[1]", "[-60, 100]"),
    ("empty sweep", "sweep:\n  grid:\n    amc.device.bits: []\n", [], "sweep.grid", "at least one"),
    ("bad sweep key", "sweep:\n  grid:\n    amc.device.bitz: [3]\n", [], "amc.device.bitz", "Did you mean 'bits'"),
    ("bad sweep value", "sweep:\n  grid:\n    amc.device.bits: [3, 99]\n", [], "amc.device.bits", "99"),
    ("malformed YAML", "link:\n  num_rx_antennas: [16\n", [], "malformed YAML", "line"),
    ("bad --set path", "name: x\n", ["--set", "amc.lpinv.prog_sigmaa=0.1"], "amc.lpinv.prog_sigmaa", "prog_sigma"),
    ("bad --set value", "name: x\n", ["--set", "amc.lpinv.prog_sigma=-1"], "amc.lpinv.prog_sigma", "greater than"),
    ("--set without =", "name: x\n", ["--set", "amc.device.bits"], "KEY=VALUE", "amc.device.bits"),
    ("unknown detector", "detectors:\n  names: [zf_fp16]\n", [], "detectors.names[0]", "analog_zf"),
    ("more users than antennas", "link:\n  num_rx_antennas: 4\n  num_users: 8\n", [], "link", "num_users"),
    ("bad variant chip", "detectors:\n  variants:\n    v: {amc: {device: {bits: 9}}}\n", [],
     "detectors.variants.v.amc", "less than or equal to 8"),
    ("unknown variant key", "detectors:\n  variants:\n    v: {kind: zf, bogus: 1}\n", [],
     "detectors.variants.v.bogus", "Allowed: kind, amc"),
    ("reference not run", "detectors:\n  names: [zf_fp64, analog_zf]\n", [], "detectors", "reference 'zf_fp32'"),
    ("ignored amc.iterations", "amc: {iterations: 8}\n", [], "amc.iterations", "detectors.iterations"),
    ("short pilots", "link: {csi: {kind: ls, pilot_length: 2}}\n", [], "link", "at least num_users (4)"),
    ("odd cost size", "cost: {sizes: [9]}\n", [], "cost.sizes", "even numbers >= 2"),
    ("repeated SNR", "link: {snr_db: [12, 12.0, 15]}\n", [], "link", "listed twice"),
    ("grid and zip", "sweep: {grid: {amc.device.bits: [3, 4]}, zip: {amc.device.bits: [5, 6]}}\n", [], "sweep",
     "both grid and zip"),
]  # fmt: skip


@pytest.mark.parametrize("text, extra, field, allowed", [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_exits_2_with_a_message_naming_the_field(tmp_path, capsys, monkeypatch, text, extra, field, allowed):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["run", str(path), *extra, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1  # one paragraph
    assert field in err and allowed in err and "bad.yaml" in err
    assert not (tmp_path / "results").exists()  # nothing ran


def test_missing_file_and_missing_results_folder_exit_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "no such scenario file" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "not a results folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flag, message",
    [(["--device", "gpu"], "not a torch device"), (["--threads", "-1"], ">= 1"), (["--workers", "0"], ">= 1"),
     (["--output", "README.md"], "not a folder")],
)  # fmt: skip
def test_bad_command_line_values_exit_2(capsys, monkeypatch, flag, message):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SystemExit) as exc:
        main(["run", "scenarios/quickstart.yaml", *flag])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_a_sweep_without_ber_rows_leaves_no_stale_results_table(tmp_path):
    out = tmp_path / "out"
    data = {**TINY, "link": {**TINY["link"], "snr_db": [6.0]}, "sweep": {}}
    run_scenario(load_scenario(_write(tmp_path, data), [f"output.directory={out}"]), progress=False, report=False)
    assert (out / "results.parquet").is_file()
    study = {**data, "link": {**data["link"], "snr_db": []}, "precision": {"systems": 4, "iterations": 2}}
    run_scenario(load_scenario(_write(tmp_path, study), [f"output.directory={out}"]), progress=False, report=False)
    assert not (out / "results.parquet").exists() and (out / "precision.parquet").is_file()


def test_validate_show_prints_every_default(tmp_path, capsys):
    path = _write(tmp_path, TINY)
    assert main(["validate", str(path), "--set", "amc.lpinv.read_noise=0.02", "--show"]) == 0
    shown = yaml.safe_load(capsys.readouterr().out)
    assert shown["amc"]["lpinv"]["read_noise"] == 0.02
    assert shown["amc"]["hpmvm"]["num_slices"] == 8  # a default written out
    assert main(["validate", str(path)]) == 0
    assert "2 sweep points" in capsys.readouterr().out


# ---------------------------------------------------------------- sweeps
def test_sweep_grid_times_zip_with_stable_keys_and_seeds(tmp_path):
    grid = {"amc.device.bits": [3, 4], "link.num_users": [1, 2]}
    zipped = {"amc.lpinv.read_noise": [0.01, 0.02], "amc.lpinv.prog_sigma": [0.01, 0.02]}
    data = {**TINY, "sweep": {"grid": grid, "zip": zipped}}
    points = sweep_points(load_scenario(_write(tmp_path, data)))
    assert len(points) == 8
    assert points[0].overrides == {"amc.device.bits": 3, "link.num_users": 1,
                                   "amc.lpinv.read_noise": 0.01, "amc.lpinv.prog_sigma": 0.01}  # fmt: skip
    assert len({p.key for p in points}) == 8 and len({p.seed for p in points}) == 8
    again = sweep_points(load_scenario(_write(tmp_path, {**data, "name": "renamed"}, "other.yaml")))
    assert [p.key for p in again] == [p.key for p in points]  # names and output do not change keys
    assert points[0].snr_seed(6.0) != points[0].snr_seed(10.0)


# ---------------------------------------------------------------- store, resume, executors
@pytest.mark.slow
def test_run_writes_tables_figures_manifest_and_skips_finished_units(tmp_path):
    scenario = load_scenario(_write(tmp_path, TINY), [f"output.directory={tmp_path / 'out'}"])
    first = run_scenario(scenario, progress=False, threads=1)
    assert (first.computed, first.skipped) == (4, 0)
    out = tmp_path / "out"
    for name in ("results.parquet", "results.csv", "manifest.json", "scenario.yaml", "report.md",
                 "tables/ber.md", "tables/ber.tex", "tables/ber.csv", "tables/parity.md",
                 "figures/ber_point0.png", "figures/ber_point1.pdf", "figures/nonconverged.png"):  # fmt: skip
        assert (out / name).is_file(), name
    frame = pd.read_parquet(out / "results.parquet")
    assert len(frame) == 2 * 2 * (2 + 3)  # points x SNR x (two digital rows + three iterations)
    assert {"amc.device.bits", "ber_ci_low", "nonconverged_fraction", "solver_error_mean", "outer",
            "iteration_note", "wall_time_s"} <= set(frame.columns)  # fmt: skip
    assert "\\toprule" in (out / "tables/ber.tex").read_text()
    second = run_scenario(scenario, progress=False, threads=1)
    assert (second.computed, second.skipped) == (0, 4)
    _compare(pd.read_parquet(out / "results.parquet"), frame)
    # A new SNR point reuses the stored ones.
    more = load_scenario(_write(tmp_path, TINY), [f"output.directory={out}", "link.snr_db=[6.0, 10.0, 14.0]"])
    assert run_scenario(more, progress=False, threads=1).computed == 2


@pytest.mark.slow
def test_process_pool_gives_the_same_numbers(tmp_path):
    local = load_scenario(_write(tmp_path, TINY), [f"output.directory={tmp_path / 'a'}"])
    pool = load_scenario(_write(tmp_path, TINY), [f"output.directory={tmp_path / 'b'}"])
    run_scenario(local, progress=False, threads=1, report=False)
    run_scenario(pool, progress=False, threads=1, workers=2, report=False)
    _compare(pd.read_parquet(tmp_path / "a/results.parquet"), pd.read_parquet(tmp_path / "b/results.parquet"))


@pytest.mark.slow
def test_ray_executor_gives_the_same_numbers(tmp_path):
    ray = pytest.importorskip("ray")
    local = load_scenario(_write(tmp_path, TINY), [f"output.directory={tmp_path / 'local'}"])
    remote = load_scenario(_write(tmp_path, TINY), [f"output.directory={tmp_path / 'ray'}"])
    run_scenario(local, progress=False, threads=1, report=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        run_scenario(remote, executor="ray", progress=False, threads=1, report=False)
    finally:
        ray.shutdown()
    _compare(pd.read_parquet(tmp_path / "local/results.parquet"), pd.read_parquet(tmp_path / "ray/results.parquet"))


@pytest.mark.slow
def test_killed_run_resumes_to_the_same_table(tmp_path):
    """SIGKILL after the first unit is stored; the next run finishes; table equals an uninterrupted run."""
    data = {**TINY, "link": {**TINY["link"], "snr_db": [4.0, 6.0, 8.0, 10.0, 12.0]},
            "monte_carlo": {**TINY["monte_carlo"], "max_bits": 160000, "target_bit_errors": 10**9}}  # fmt: skip
    path = _write(tmp_path, data)
    cmd = [sys.executable, str(ROOT / "run_experiment.py"), str(path), "--no-progress", "--threads", "1"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, "--output", str(killed)], cwd=tmp_path)
    deadline = time.time() + 120
    while not list(killed.glob("units/*/*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    done_before = len(list(killed.glob("units/*/*.parquet")))
    assert 1 <= done_before < 10, "the kill must land mid-run"
    resumed = subprocess.run([*cmd, "--output", str(killed)], cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done_before} already stored" in resumed.stdout
    fresh = subprocess.run([*cmd, "--output", str(tmp_path / "clean")], cwd=tmp_path, capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr
    _compare(pd.read_parquet(killed / "results.parquet"), pd.read_parquet(tmp_path / "clean/results.parquet"))


@pytest.mark.slow
def test_quickstart_scenario_produces_tables_and_a_figure(tmp_path):
    """Acceptance (issue 4): the README's main job writes Parquet/CSV/Markdown/LaTeX and a PNG."""
    out = tmp_path / "quickstart"
    cmd = [sys.executable, str(ROOT / "run_experiment.py"), str(ROOT / "scenarios/quickstart.yaml"),
           "--output", str(out), "--no-progress"]  # fmt: skip
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in ("results.parquet", "results.csv", "tables/ber.md", "tables/ber.tex", "figures/ber_point0.png"):
        assert (out / name).is_file(), name
    ber = pd.read_csv(out / "tables/ber.csv")
    assert list(ber.snr_db) == [12, 15, 18, 21]
    assert (ber["analog_zf 5"] <= 1.5 * ber["zf_fp32"] + 1e-4).all()


def test_analog_variants_run_on_the_same_data_with_their_scheme_in_the_table(tmp_path):
    data = {**TINY, "sweep": {}, "detectors": {**TINY["detectors"], "variants": {"fcg": {"amc": {"outer": "fcg"}}}}}
    scenario = load_scenario(_write(tmp_path, data), [f"output.directory={tmp_path / 'out'}"])
    run_scenario(scenario, progress=False, threads=1, report=False)
    frame = pd.read_parquet(tmp_path / "out/results.parquet")
    outer = frame.groupby("detector").outer.first()
    assert outer["analog_zf"] == "richardson" and outer["fcg"] == "fcg" and outer.isna()["zf_fp32"]
    assert frame[frame.detector == "fcg"].iteration.tolist()[:3] == [1, 2, 3] * 1


def test_a_changed_sweep_relabels_stored_units_instead_of_misfiling_them(tmp_path):
    out = tmp_path / "out"
    data = {**TINY, "link": {**TINY["link"], "snr_db": [6.0]}}
    first = load_scenario(_write(tmp_path, data), [f"output.directory={out}"])
    run_scenario(first, progress=False, threads=1, report=False)
    wider = load_scenario(
        _write(tmp_path, data), [f"output.directory={out}", "sweep.grid={amc.device.bits: [2, 3, 4]}"]
    )
    assert run_scenario(wider, progress=False, threads=1, report=False).computed == 1  # bits=2 only
    frame = pd.read_parquet(out / "results.parquet")
    assert frame.groupby("point")["amc.device.bits"].first().to_dict() == {0: 2, 1: 3, 2: 4}


def test_image_study_unit_stores_its_images_with_the_table(tmp_path):
    out = tmp_path / "out"
    data = {**TINY, "link": {**TINY["link"], "snr_db": []}, "sweep": {},
            "image": {"source": "camera", "size": [16, 16], "snr_db": 10.0}}  # fmt: skip
    scenario = load_scenario(_write(tmp_path, data), [f"output.directory={out}"])
    assert run_scenario(scenario, progress=False, threads=1, report=False).computed == 1
    (unit,) = STUDIES["image"].units(sweep_points(scenario)[0])
    store = ResultStore(out)
    assert store.has(unit) and unit.name.startswith("image_") and store.unit_path(unit, ".npz").is_file()
    arrays = store.arrays(unit)
    assert arrays["original"].shape == (16, 16) and "analog_zf|3" in arrays and "zf_fp32|0" in arrays
    table = pd.read_parquet(out / "image.parquet")
    assert set(table.detector) == {"zf_fp32", "zf_fp64", "analog_zf"} and (table.point == 0).all()
    assert set(table[table.detector == "analog_zf"].family) == {"analog"} and set(table.kind) == {"zf"}
    assert not (out / "results.parquet").exists()


@pytest.mark.parametrize("command", ["run", "validate"])
@pytest.mark.parametrize("kind", ["missing", "unreadable"])
def test_bad_image_files_exit_2_before_any_simulation(tmp_path, capsys, monkeypatch, kind, command):
    """A missing file fails validation; an unreadable one fails the image study's check, which
    ``run`` and ``validate`` both run before anything else."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / ("nope.png" if kind == "missing" else "broken.png")
    if kind == "unreadable":
        path.write_bytes(b"not a png at all")
    scenario = tmp_path / "img.yaml"
    scenario.write_text(yaml.safe_dump({"image": {"source": str(path)}, "link": {"snr_db": []}}))
    assert main([command, str(scenario), *(["--no-progress"] if command == "run" else [])]) == 2
    err = capsys.readouterr().err
    assert "image.source" in err and str(path) in err
    assert ("neither a bundled image" if kind == "missing" else "cannot read image") in err
    assert not (tmp_path / "results").exists()


def test_cost_command_runs_only_the_cost_study(tmp_path, capsys):
    """``mimo-amc cost FILE`` runs the cost study of a scenario (not its BER points) into the results folder."""
    study = {"sizes": [8, 16], "iterations": 3, "digital_batches": [16]}
    path = _write(tmp_path, {**TINY, "sweep": {}, "cost": study}, "cost.yaml")
    out = tmp_path / "out"
    assert main(["cost", str(path), "--output", str(out)]) == 0
    assert "report.md" in capsys.readouterr().out
    for name in ("cost.parquet", "tables/cost.csv", "tables/digital.csv", "tables/assumptions.md",
                 "figures/throughput_blockamc_fixed.png"):  # fmt: skip
        assert (out / name).is_file(), name
    assert not (out / "results.parquet").exists() and not list(out.glob("units/*/snr_*.parquet"))
    assert "## Cost study" in (out / "report.md").read_text()
    assert len(pd.read_parquet(out / "cost.parquet")) == 2 * 2 * 2  # layouts x timings x sizes


def test_chip_presets_in_scenarios_and_on_the_command_line(tmp_path, capsys):
    path = _write(tmp_path, {**TINY, "sweep": {}, "amc": {"preset": "zuo2025_4bit", "lpinv": {"prog_sigma": 0.02}}})
    assert main(["validate", str(path), "--show"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# amc: preset zuo2025_4bit with lpinv.prog_sigma = 0.02 (preset: 0.01)\n")
    chip = yaml.safe_load(out)["amc"]
    assert chip["device"]["bits"] == 4 and chip["lpinv"]["prog_sigma"] == 0.02 and "preset" not in chip
    assert main(["validate", str(_write(tmp_path, {**TINY, "sweep": {}}, "plain.yaml")), "--set", "amc.preset=ideal",
                 "--show"]) == 0  # fmt: skip
    assert yaml.safe_load(capsys.readouterr().out)["amc"]["ideal"] is True
    assert main(["validate", str(path), "--set", "amc.preset=zuo2099"]) == 2
    assert "zuo2099" in capsys.readouterr().err


@pytest.mark.slow
def test_paper_image_scenario(tmp_path):
    """Acceptance (issue 5): 128x8, default chip: iteration 1 >= 1 % wrong pixels; the image equals
    the FP32 ZF image by iteration 4 (both lossless, or PSNR within 0.1 dB); the grid figure exists."""
    out = tmp_path / "paper_image"
    cmd = [sys.executable, str(ROOT / "run_experiment.py"), str(ROOT / "scenarios/paper_image.yaml"),
           "--output", str(out), "--no-progress"]  # fmt: skip
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    table = pd.read_parquet(out / "image.parquet")
    big = table[table["link.num_rx_antennas"] == 128]
    ref = big[big.detector == "zf_fp32"].iloc[0]
    analog = big[big.detector == "analog_zf"].set_index("iteration")
    assert analog.loc[1].wrong_pixels >= 0.01 * analog.loc[1].pixels
    for it in (4, 5):
        row = analog.loc[it]
        assert (row.lossless and ref.lossless) or abs(row.psnr_db - ref.psnr_db) < 0.1
        assert row.pixels_differing_from_reference == 0
    assert len(table.groupby("point")) == 3  # 128x8 3-bit, 16x4 3-bit, 16x4 4-bit
    for name in ("figures/image_grid.png", "figures/image_grid.pdf", "tables/image.md", "tables/image.tex"):
        assert (out / name).is_file(), name
    assert "lossless" in (out / "tables/image.md").read_text()
