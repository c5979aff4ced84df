"""Run a scenario: every (sweep point, SNR) unit, on a local or a Ray executor, into the store.

A *unit* is one SNR point of one sweep point; :func:`run_unit` evaluates it from the
resolved scenario and the unit's seed alone, so every executor produces the same numbers
(given the same number of torch threads, which is passed along):

* ``local`` (default): units one after another in this process, or in a process pool
  with ``workers > 1``;
* ``ray``: one Ray task per sweep point (``ray.init(address)``, a local instance by default).

Each finished unit is stored at once (:mod:`mimo_amc.store`); units already stored are
skipped unless ``fresh``. The consolidated tables and the manifest are rewritten as units
finish, and the report (:mod:`mimo_amc.report`) is written at the end.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import importlib.metadata
import multiprocessing
import platform
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch
from tqdm.auto import tqdm

from .config import Scenario, SweepPoint, derive_seed, sweep_points
from .detect import Equalizer, make_detector
from .montecarlo import ITERATION_NOTE, simulate_snr
from .store import ResultStore

Executor = Literal["local", "ray"]


@dataclass(frozen=True)
class RunSummary:
    """What a run did: units computed and skipped, and where the results are."""

    directory: Path
    computed: int
    skipped: int
    wall_time_s: float


def scenario_detectors(scenario: Scenario, seed: int, device: str) -> list[Equalizer]:
    """The scenario's detectors; each analog one gets its own seed derived from ``seed``."""
    return [
        make_detector(
            name,
            iterations=scenario.detectors.iterations,
            solver=scenario.amc,
            device=device,
            seed=derive_seed(seed, name),
        )
        for name in scenario.detectors.names
    ]


def run_unit(
    scenario_json: str,
    snr_db: float,
    seed: int,
    device: str,
    threads: int,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Evaluate one (sweep point, SNR) unit; a pure function of its arguments.

    Args:
        scenario_json: The resolved sweep point (``Scenario.model_dump_json()``).
        snr_db: The SNR point.
        seed: The unit's seed (:meth:`SweepPoint.snr_seed`).
        device: Torch device.
        threads: Torch CPU threads (results can depend on it in the last bits).
        progress: Per-batch callback ``(bits, fewest errors)``.
    """
    torch.set_num_threads(threads)
    scenario = Scenario.model_validate_json(scenario_json)
    detectors = scenario_detectors(scenario, seed, device)
    return simulate_snr(
        scenario.link, detectors, scenario.monte_carlo, snr_db, seed=seed, device=device, progress=progress
    )


def _run_point(scenario_json: str, units: list[tuple[float, int]], device: str, threads: int) -> list[pd.DataFrame]:
    """All pending SNR units of one sweep point (the body of a Ray task)."""
    return [run_unit(scenario_json, snr, seed, device, threads) for snr, seed in units]


def _label(point: SweepPoint, frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix a unit's rows with its sweep point and add the scheme and iteration convention."""
    head = {"point": point.index, "point_key": point.key, **point.overrides}
    labelled = pd.concat([pd.DataFrame({k: [v] * len(frame) for k, v in head.items()}), frame], axis=1)
    labelled["outer"] = point.scenario.amc.outer
    labelled["iteration_note"] = ITERATION_NOTE
    return labelled


def run_scenario(
    scenario: Scenario,
    *,
    executor: Executor = "local",
    workers: int = 1,
    address: str | None = None,
    fresh: bool = False,
    device: str | None = None,
    threads: int | None = None,
    progress: bool = True,
    report: bool = True,
) -> RunSummary:
    """Run every unit of ``scenario`` that is not stored yet, then write tables and figures.

    Raises:
        KeyboardInterrupt: after storing everything finished (the next run continues).
    """
    start = time.perf_counter()
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    threads = threads or torch.get_num_threads()
    store = ResultStore(scenario.results_dir)
    if fresh:
        store.clear_units()
    store.write_scenario(scenario)
    points = sweep_points(scenario)
    pending = [(p, snr) for p in points for snr in p.scenario.link.snr_db if not store.has_unit(p, snr)]
    skipped = sum(len(p.scenario.link.snr_db) for p in points) - len(pending)
    manifest = _manifest(scenario, points, executor, workers, device, threads)
    bar = tqdm(total=len(pending), desc=scenario.name, unit="unit", disable=not progress, dynamic_ncols=True)
    computed = 0
    status = "interrupted"
    try:
        for point, snr, frame in _execute(pending, executor, workers, address, device, threads, bar):
            store.save_unit(point, snr, _label(point, frame))
            computed += 1
            bar.update(1)
            store.write_results(store.load(points))
        status = "complete"
    finally:
        bar.close()
        frame = store.load(points)
        if len(frame):
            store.write_results(frame)
        manifest.update(
            status=status,
            finished=_now(),
            wall_time_s=time.perf_counter() - start,
            units_computed=computed,
            units_skipped=skipped,
        )
        store.write_manifest(manifest)
    if report and len(frame):
        from .report import write_report

        write_report(store.directory)
    return RunSummary(store.directory, computed, skipped, time.perf_counter() - start)


def _execute(
    pending: list[tuple[SweepPoint, float]],
    executor: Executor,
    workers: int,
    address: str | None,
    device: str,
    threads: int,
    bar: tqdm,
) -> Iterator[tuple[SweepPoint, float, pd.DataFrame]]:
    """Yield finished units as they complete."""
    if executor == "ray":
        yield from _execute_ray(pending, address, device, threads)
    elif workers > 1:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = {
                pool.submit(run_unit, p.scenario.model_dump_json(), snr, p.snr_seed(snr), device, threads): (p, snr)
                for p, snr in pending
            }
            try:
                for fut in concurrent.futures.as_completed(futures):
                    p, snr = futures[fut]
                    yield p, snr, fut.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    else:
        for p, snr in pending:
            bar.set_description(f"{p.scenario.name} point {p.index} SNR {snr:g} dB")

            def show(bits: int, errors: int) -> None:
                bar.set_postfix(bits=f"{bits:.3g}", min_errors=errors, refresh=False)

            yield p, snr, run_unit(p.scenario.model_dump_json(), snr, p.snr_seed(snr), device, threads, show)


def _execute_ray(
    pending: list[tuple[SweepPoint, float]], address: str | None, device: str, threads: int
) -> Iterator[tuple[SweepPoint, float, pd.DataFrame]]:
    """One Ray task per sweep point; results are yielded as tasks finish."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    task = ray.remote(num_cpus=1)(_run_point)
    by_point: dict[int, list[tuple[float, int]]] = {}
    points: dict[int, SweepPoint] = {}
    for p, snr in pending:
        by_point.setdefault(p.index, []).append((snr, p.snr_seed(snr)))
        points[p.index] = p
    refs = {
        task.remote(points[i].scenario.model_dump_json(), units, device, threads): i for i, units in by_point.items()
    }
    remaining = list(refs)
    try:
        while remaining:
            done, remaining = ray.wait(remaining, num_returns=1)
            i = refs[done[0]]
            for (snr, _), frame in zip(by_point[i], ray.get(done[0]), strict=True):
                yield points[i], snr, frame
    except BaseException:
        for ref in remaining:
            ray.cancel(ref, force=True)
        raise


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _manifest(
    scenario: Scenario, points: list[SweepPoint], executor: str, workers: int, device: str, threads: int
) -> dict[str, Any]:
    versions = {}
    for pkg in ("mimo-amc", "torch", "sionna-no-rt", "numpy", "pandas", "scipy", "pydantic"):
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "scenario": scenario.name,
        "status": "running",
        "started": _now(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "git_commit": commit,
        "device": device,
        "torch_threads": threads,
        "executor": executor,
        "workers": workers,
        "seed": scenario.monte_carlo.seed,
        "iteration_note": ITERATION_NOTE,
        "points": [
            {"index": p.index, "key": p.key, "seed": p.seed, "overrides": p.overrides, "snr_db": p.scenario.link.snr_db}
            for p in points
        ],
    }
