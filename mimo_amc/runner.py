"""Run a scenario: every (sweep point, SNR) unit, on a local or a Ray executor, into the store.

A *unit* is one SNR point of one sweep point, or the point's image transmission or precision
study when the scenario has an ``image`` or ``precision`` section; :func:`run_unit` evaluates it
from the resolved scenario and the unit's seed alone, so every executor produces the same numbers
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
from .detect import AnalogEqualizer, Equalizer, make_detector
from .imaging import ImageTransmission, load_image, transmit_image
from .montecarlo import ITERATION_NOTE, simulate_snr
from .precision import run_precision
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
    """The scenario's detectors and analog variants; each gets its own seed derived from ``seed``."""
    its = scenario.detectors.iterations
    detectors = [
        make_detector(name, iterations=its, solver=scenario.amc, device=device, seed=derive_seed(seed, name))
        for name in scenario.detectors.names
    ]
    for name, variant in scenario.detectors.variants.items():
        solver = variant.solver(scenario.amc).model_copy(update={"iterations": its})
        detectors.append(AnalogEqualizer(variant.kind, solver, device=device, seed=derive_seed(seed, name), name=name))
    return detectors


def detector_outer(scenario: Scenario, name: str) -> str | None:
    """The outer scheme of an analog detector (None for digital ones)."""
    if name in scenario.detectors.variants:
        return scenario.detectors.variants[name].solver(scenario.amc).outer
    return scenario.amc.outer if name.startswith("analog_") else None


Target = float | Literal["image", "precision"]
"""What a unit computes: the BER at one SNR (dB), or the point's image or precision study."""

Unit = tuple[SweepPoint, Target]


def run_unit(
    scenario_json: str,
    target: Target,
    seed: int,
    device: str,
    threads: int,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame | ImageTransmission:
    """Evaluate one unit; a pure function of its arguments.

    Args:
        scenario_json: The resolved sweep point (``Scenario.model_dump_json()``).
        target: The SNR (dB) of a BER unit, or ``"image"`` / ``"precision"``.
        seed: The unit's seed (:func:`unit_seed`).
        device: Torch device.
        threads: Torch CPU threads (results can depend on it in the last bits).
        progress: Per-batch callback ``(bits, fewest errors)`` of a BER unit.

    Returns:
        The BER rows (:func:`~mimo_amc.montecarlo.simulate_snr`), the image transmission, or the
        precision rows (:func:`~mimo_amc.precision.run_precision`).
    """
    torch.set_num_threads(threads)
    scenario = Scenario.model_validate_json(scenario_json)
    if target == "precision":
        return run_precision(scenario.precision, scenario.amc, seed, device)
    detectors = scenario_detectors(scenario, seed, device)
    if target == "image":
        image = scenario.image
        return transmit_image(
            load_image(image), scenario.link, detectors, image.snr_db, seed=seed, device=device,
            reference=scenario.detectors.reference,
        )  # fmt: skip
    return simulate_snr(
        scenario.link, detectors, scenario.monte_carlo, target, seed=seed, device=device, progress=progress
    )


def unit_seed(unit: Unit) -> int:
    point, target = unit
    return derive_seed(point.seed, target) if isinstance(target, str) else point.snr_seed(target)


def _run_point(scenario_json: str, units: list[tuple[Target, int]], device: str, threads: int) -> Iterator:
    """All pending units of one sweep point, yielded one by one (the body of a streaming Ray task)."""
    for target, seed in units:
        yield run_unit(scenario_json, target, seed, device, threads)


def label_rows(point: SweepPoint, frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix a unit's rows with its sweep point; add the scheme and iteration convention to detector rows."""
    head = {"point": point.index, "point_key": point.key, **point.overrides}
    labelled = pd.concat([pd.DataFrame({k: [v] * len(frame) for k, v in head.items()}), frame], axis=1)
    if "detector" in frame:
        labelled["outer"] = [detector_outer(point.scenario, d) for d in frame.detector]
    labelled["iteration_note"] = ITERATION_NOTE
    return labelled


def _done(store: ResultStore, unit: Unit) -> bool:
    point, target = unit
    return store.has_study(point, target) if isinstance(target, str) else store.has_unit(point, target)


def _pending(store: ResultStore, points: list[SweepPoint]) -> tuple[list[Unit], int]:
    units: list[Unit] = [(p, snr) for p in points for snr in p.scenario.link.snr_db]
    units += [(p, s) for s in ("image", "precision") for p in points if getattr(p.scenario, s) is not None]
    pending = [u for u in units if not _done(store, u)]
    return pending, len(units) - len(pending)


def _save(store: ResultStore, points: list[SweepPoint], unit: Unit, result: pd.DataFrame | ImageTransmission) -> None:
    """Store a finished unit (unlabelled) and rewrite the consolidated table it belongs to."""
    point, target = unit
    if target == "image":
        arrays = {"original": result.original} | {f"{d}|{it}": img for (d, it), img in result.received.items()}
        store.save_study(point, "image", result.table, arrays)
    elif target == "precision":
        store.save_study(point, "precision", result)
    else:
        store.save_unit(point, target, result)
        store.write_table("results", store.load(points, label_rows))
        return
    store.write_table(target, store.load_study(points, target, label_rows))


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
    pending, skipped = _pending(store, points)
    manifest = _manifest(scenario, points, executor, workers, device, threads)
    bar = tqdm(total=len(pending), desc=scenario.name, unit="unit", disable=not progress, dynamic_ncols=True)
    computed = 0
    status = "interrupted"
    try:
        for unit, result in _execute(pending, executor, workers, address, device, threads, bar):
            _save(store, points, unit, result)
            computed += 1
            bar.update(1)
        status = "complete"
    finally:
        bar.close()
        frame = store.load(points, label_rows)
        studies = {section: store.load_study(points, section, label_rows) for section in ("image", "precision")}
        for name, table in {"results": frame, **studies}.items():
            store.write_table(name, table)
        manifest.update(
            status=status,
            finished=_now(),
            wall_time_s=time.perf_counter() - start,
            units_computed=computed,
            units_skipped=skipped,
        )
        store.write_manifest(manifest)
    if scenario.cost is not None:
        from .costs import run_cost_study

        run_cost_study(scenario.cost, scenario.amc, store.directory)
    if report and (len(frame) or any(len(t) for t in studies.values())):
        from .report import write_report

        write_report(store.directory)
    return RunSummary(store.directory, computed, skipped, time.perf_counter() - start)


def _execute(
    pending: list[Unit],
    executor: Executor,
    workers: int,
    address: str | None,
    device: str,
    threads: int,
    bar: tqdm,
) -> Iterator[tuple[Unit, pd.DataFrame | ImageTransmission]]:
    """Yield finished units as they complete."""
    if executor == "ray":
        yield from _execute_ray(pending, address, device, threads)
    elif workers > 1:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = {
                pool.submit(run_unit, u[0].scenario.model_dump_json(), u[1], unit_seed(u), device, threads): u
                for u in pending
            }
            try:
                for fut in concurrent.futures.as_completed(futures):
                    yield futures[fut], fut.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    else:
        for unit in pending:
            p, target = unit
            what = target if isinstance(target, str) else f"SNR {target:g} dB"
            bar.set_description(f"{p.scenario.name} point {p.index} {what}")

            def show(bits: int, errors: int) -> None:
                bar.set_postfix(bits=f"{bits:.3g}", min_errors=errors, refresh=False)

            yield unit, run_unit(p.scenario.model_dump_json(), target, unit_seed(unit), device, threads, show)


def _execute_ray(
    pending: list[Unit], address: str | None, device: str, threads: int
) -> Iterator[tuple[Unit, pd.DataFrame | ImageTransmission]]:
    """One streaming Ray task per sweep point; every unit is yielded as soon as its task produces it."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    task = ray.remote(num_cpus=1, num_returns="streaming")(_run_point)
    by_point: dict[int, list[Unit]] = {}
    for unit in pending:
        by_point.setdefault(unit[0].index, []).append(unit)
    streams = {
        task.remote(units[0][0].scenario.model_dump_json(), [(u[1], unit_seed(u)) for u in units], device, threads): (
            iter(units)
        )
        for units in by_point.values()
    }
    try:
        while streams:
            ready, _ = ray.wait(list(streams), num_returns=1)
            stream = ready[0]
            try:
                ref = next(stream)
            except StopIteration:
                del streams[stream]
                continue
            yield next(streams[stream]), ray.get(ref)
    except BaseException:
        for stream in streams:
            ray.cancel(stream, force=True)
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
    # The commit of the code that runs (the package's checkout, whatever the working directory), "+dirty"
    # when it has uncommitted changes; None outside a git checkout.
    git = ["git", "-C", str(Path(__file__).resolve().parent)]
    try:
        commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10)
        status = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no", "--", "."], capture_output=True,
                                text=True, check=True, timeout=10)  # fmt: skip
        commit = commit.stdout.strip() + ("+dirty" if status.stdout.strip() else "")
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
