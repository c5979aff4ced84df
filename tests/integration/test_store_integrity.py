"""Stored results are verified: damaged unit files are recomputed (named in a warning) and the final table
equals an undisturbed run; a results folder has one writer at a time; killed runs leave no processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from mimo_amc.cli import main
from mimo_amc.store import ResultStore

pytestmark = pytest.mark.integration

SCENARIO = """name: integrity
link: {num_rx_antennas: 8, num_users: 2, modulation: 16qam, coherence_block: 10, snr_db: [4, 8, 12, 16]}
detectors: {names: [zf_fp32, analog_zf], iterations: 3}
monte_carlo: {realizations_per_batch: 50, target_bit_errors: 50, max_bits: 20000, seed: 3}
"""
STABLE = ["snr_db", "detector", "iteration", "bits", "bit_errors", "ber", "ber_ci_low", "ber_ci_high", "evm"]


def _run(tmp_path: Path, out: Path, *extra: str) -> int:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    return main(["run", str(path), "--output", str(out), "--no-progress", *extra])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pristine")
    assert _run(tmp, tmp / "out") == 0
    return pd.read_parquet(tmp / "out" / "results.parquet")[STABLE]


def _units(out: Path) -> list[Path]:
    return sorted(out.glob("units/*/snr_*.parquet"))


def test_damaged_units_are_recomputed(tmp_path, pristine, capsys):
    out = tmp_path / "out"
    assert _run(tmp_path, out) == 0
    units = _units(out)
    assert len(units) == 4
    units[0].write_bytes(units[0].read_bytes()[:40])  # truncated
    units[1].write_bytes(b"")  # empty
    units[2].write_bytes(os.urandom(300))  # garbage
    frame = pd.read_parquet(units[3])  # a valid Parquet with a tampered BER value
    frame.loc[0, "bit_errors"] += 1
    frame.to_parquet(units[3], index=False)
    (out / "manifest.json").unlink()
    (out / "results.parquet").write_bytes(b"corrupt")
    capsys.readouterr()
    with pytest.warns(UserWarning) as caught:
        assert _run(tmp_path, out) == 0
    named = sorted({str(w.message).split(":")[0] for w in caught if "integrity check" in str(w.message)})
    assert named == sorted(str(u) for u in units)
    assert "4 units computed, 0 already stored" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet")[STABLE], pristine)
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_unindexed_unit_is_recomputed(tmp_path, pristine, capsys):
    out = tmp_path / "out"
    assert _run(tmp_path, out) == 0
    (out / "units" / "index.json").unlink()
    with pytest.warns(UserWarning, match="integrity check"):
        assert _run(tmp_path, out) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet")[STABLE], pristine)


def test_report_refuses_a_tampered_table(tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(tmp_path, out) == 0
    frame = pd.read_parquet(out / "results.parquet")
    frame.loc[0, "ber"] = 0.5
    frame.to_parquet(out / "results.parquet", index=False)
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    assert "does not match its checksum" in capsys.readouterr().err


def test_a_second_run_into_the_same_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert _run(tmp_path, out) == 0
    store = ResultStore(out)
    with store.lock():
        assert _run(tmp_path, out, "--fresh") == 2
    err = capsys.readouterr().err
    assert f"process {os.getpid()}" in err
    assert len(_units(out)) == 4  # --fresh of the refused run deleted nothing


@pytest.mark.slow
def test_two_concurrent_runs_compute_each_unit_once(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    cmd = [sys.executable, "-m", "mimo_amc.cli", "run", str(path), "--output", str(tmp_path / "o"), "--no-progress"]
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "process" in refused and "Traceback" not in refused
    assert len(_units(tmp_path / "o")) == 4
    done = next(run for run, (code, _) in zip(runs, results, strict=True) if code == 0)
    assert "4 units computed, 0 already stored" in done.stdout.read()


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").is_file() else ""
        found |= {int(c) for c in text.split()}
    return found


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        new = _children(todo.pop()) - found
        found |= new
        todo.extend(new)
    return found


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.is_file() and "State:\tZ" not in status.read_text()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize(
    ("executor", "expected"),
    [(["--workers", "2"], 2), (["--executor", "ray", "--workers", "2"], 4)],  # ray: gcs, raylet and workers
    ids=["worker_pool", "ray"],
)
def test_sigkill_leaves_no_process_of_the_run(tmp_path, executor, expected):
    if "ray" in executor:
        pytest.importorskip("ray")
    path = tmp_path / "s.yaml"
    long_run = SCENARIO.replace("max_bits: 20000", "max_bits: 20000000")
    path.write_text(long_run.replace("target_bit_errors: 50", "target_bit_errors: 10000000"))
    cmd = [sys.executable, "-m", "mimo_amc.cli", "run", str(path), "--output", str(tmp_path / "o"), "--no-progress",
           *executor]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    found: set[int] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(found) < expected:
        time.sleep(0.5)
        found |= _descendants(proc.pid)
    assert len(found) >= expected, f"the run started only {len(found)} processes"
    for _ in range(6):  # let the run start the rest of its processes (Ray workers start with their tasks)
        time.sleep(0.5)
        found |= _descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(5)
    assert [p for p in found if _alive(p)] == []
