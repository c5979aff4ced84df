"""Run a scenario: every unit of every study it names, on a local or a Ray executor, into the store.

The units come from the study registry (:func:`mimo_amc.studies.scenario_units`: one per SNR for the
BER study, one per sweep point for the image, precision and cost studies); :func:`~mimo_amc.studies.run_unit`
evaluates one from its resolved sweep point and seed alone, so every executor produces the same
numbers (given the same number of torch threads, which is passed along):

* ``local`` (default): units one after another in this process, or in a process pool
  with ``workers > 1``;
* ``ray``: one Ray task per sweep point (``ray.init(address)``, a local instance by default).

Each finished unit is stored at once (:mod:`mimo_amc.store`); units already stored are
skipped unless ``fresh``. The consolidated tables and the manifest are rewritten as units
finish, and the report (:mod:`mimo_amc.report`) is written at the end.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import datetime as dt
import importlib.metadata
import multiprocessing
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from tqdm.auto import tqdm

from .amc import default_device
from .reaper import VARIABLE as REAPER_VARIABLE
from .report import write_report
from .scenario import ITERATION_NOTE, Scenario, ScenarioError, SweepPoint, sweep_points
from .store import ResultStore
from .studies import STUDIES, Unit, UnitResult, check_scenario, run_unit, scenario_units

Executor = Literal["local", "ray"]


def check_ray_address(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a Ray cluster address that does not accept connections within ``timeout_s``.

    ``auto`` and ``local`` are left to Ray; ``[ray://]host:port`` is tried with a TCP connection
    (``ray.init`` would otherwise wait for minutes on an unreachable host).

    Raises:
        ScenarioError: naming the address.
    """
    if address in ("auto", "local"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise ScenarioError(f"--address {address!r}: expected host:port (or ray://host:port, auto, local).")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ScenarioError(
            f"--address {address!r}: no Ray cluster answers there within {timeout_s:g} s ({exc}); start one "
            "(ray start --head) or leave --address out to run a local instance."
        ) from None


@dataclass(frozen=True)
class RunSummary:
    """What a run did: units computed and skipped, and where the results are."""

    directory: Path
    computed: int
    skipped: int
    wall_time_s: float


def die_with_parent(parent: int) -> None:
    """In a worker process: ask Linux to kill it when its parent dies (no orphans after a SIGKILL)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died while this worker was starting, before prctl
        os._exit(1)


def _start_reaper() -> subprocess.Popen[bytes] | None:
    """Start :mod:`mimo_amc.reaper` with a fresh token (Linux; elsewhere None): every process
    started while ``os.environ`` holds the token is killed once this process is gone."""
    if not sys.platform.startswith("linux"):
        return None
    token = f"{os.getpid()}-{time.time_ns()}"
    script = str(Path(__file__).with_name("reaper.py"))  # run as a file: no package (torch) import
    return subprocess.Popen([sys.executable, script, token], stdin=subprocess.PIPE, start_new_session=True)


def _start_local_ray() -> None:
    """``ray.init()`` of a local instance whose processes die with this one (see :mod:`mimo_amc.reaper`)."""
    import ray

    global _REAPER
    _REAPER = _REAPER or _start_reaper()  # holds the pipe's write end until this process ends
    if _REAPER is not None:
        os.environ[REAPER_VARIABLE] = str(_REAPER.args[-1])
    try:
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    finally:
        os.environ.pop(REAPER_VARIABLE, None)


_REAPER: subprocess.Popen[bytes] | None = None


def _run_point(units: list[Unit], device: str, threads: int) -> Iterator[UnitResult]:
    """All pending units of one sweep point, yielded one by one (the body of a streaming Ray task)."""
    for unit in units:
        yield run_unit(unit, device, threads)


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
    studies: list[str] | None = None,
) -> RunSummary:
    """Run every unit of ``scenario`` that is not stored yet, then write tables and figures.

    Args:
        studies: Run only these studies of the scenario (default: all it names).

    Raises:
        ScenarioError: for problems found before any unit runs (an unreadable image, a folder that is not
            a results folder or is in use by another run; see :mod:`mimo_amc.store`).
        KeyboardInterrupt: after storing everything finished (the next run continues).
    """
    start = time.perf_counter()
    check_scenario(scenario)
    if executor == "ray" and address:
        check_ray_address(address)
    device = device or str(default_device())
    threads = threads or torch.get_num_threads()
    store = ResultStore(scenario.results_dir)
    store.prepare()
    with store.lock():
        if fresh:
            store.clear_units()
        store.write_scenario(scenario)
        points = sweep_points(scenario)
        units = scenario_units(points, studies)
        pending = [u for u in units if not store.has(u)]
        skipped = len(units) - len(pending)
        manifest = _manifest(scenario, points, executor, workers, device, threads)
        store.write_manifest(manifest)  # "running" until the end: a killed run never looks complete
        bar = tqdm(total=len(pending), desc=scenario.name, unit="unit", disable=not progress, dynamic_ncols=True)
        computed = 0
        status = "interrupted"
        try:
            for unit, result in _execute(pending, executor, workers, address, device, threads, bar):
                store.save(unit, result)
                store.write_table(STUDIES[unit.study].table, store.load(u for u in units if u.study == unit.study))
                computed += 1
                bar.update(1)
            status = "complete"
        finally:
            bar.close()
            store.consolidate(units)
            manifest.update(
                status=status,
                finished=_now(),
                wall_time_s=time.perf_counter() - start,
                units_computed=computed,
                units_skipped=skipped,
            )
            store.write_manifest(manifest)
        if report and any(store.has(u) for u in units):
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
) -> Iterator[tuple[Unit, UnitResult]]:
    """Yield finished units as they complete."""
    if executor == "ray":
        yield from _execute_ray(pending, address, device, threads)
    elif workers > 1:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=ctx, initializer=die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            futures = {pool.submit(run_unit, u, device, threads): u for u in pending}
            try:
                for fut in concurrent.futures.as_completed(futures):
                    yield futures[fut], fut.result()
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    else:
        for unit in pending:
            bar.set_description(unit.label)

            def show(bits: int, errors: int) -> None:
                bar.set_postfix(bits=f"{bits:.3g}", min_errors=errors, refresh=False)

            yield unit, run_unit(unit, device, threads, show)


def _execute_ray(
    pending: list[Unit], address: str | None, device: str, threads: int
) -> Iterator[tuple[Unit, UnitResult]]:
    """One streaming Ray task per sweep point; every unit is yielded as soon as its task produces it."""
    import ray

    if not ray.is_initialized() and address in (None, "local"):
        _start_local_ray()
    elif not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    task = ray.remote(num_cpus=1, num_returns="streaming")(_run_point)
    by_point: dict[int, list[Unit]] = {}
    for unit in pending:
        by_point.setdefault(unit.point.index, []).append(unit)
    streams = {task.remote(units, device, threads): iter(units) for units in by_point.values()}
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
