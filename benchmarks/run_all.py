"""Run every simulation-speed benchmark in one process and write ``benchmarks/report.md``.

Usage (from the repository root, after the README's setup):

    .venv/bin/python benchmarks/run_all.py [--repeats 5] [--threads 2] [--compile]

Each section measures the project against its baseline in the same run (interleaved repeats,
median of per-repeat ratios), so the machine's load affects both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
from pathlib import Path

import bench_detectors
import bench_pusch
import bench_solver
import torch

from mimo_amc.amc import tune_allocator


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )  # fmt: skip
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, GPU: {gpu}; Python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads"
    )


def gpu_sections(repeats: int) -> list[str]:
    """The solver and detector ratios on CUDA, or a line saying that there is no GPU to measure on."""
    if not torch.cuda.is_available():
        return ["### GPU", "", "Not measured on a GPU: torch finds no CUDA device on this machine.", ""]
    return [
        bench_solver.report([(16, 10000), (128, 1000)], repeats, device="cuda"),
        *bench_detectors.analog_ratio_rows(100, 100, repeats, [torch.get_num_threads()], device="cuda"),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", default=str(Path(__file__).with_name("report.md")))
    parser.add_argument("--compile", action="store_true", help="also measure the compiled LP-INV (minutes more)")
    args = parser.parse_args(argv)
    tuned = tune_allocator()  # as the harness runs (mimo_amc.studies.run_unit)
    torch.set_num_threads(args.threads)
    sections = [
        "# Simulation speed",
        "",
        f"Measured {dt.date.today().isoformat()} on: {machine()}.",
        f"Command: `.venv/bin/python benchmarks/run_all.py{' --compile' if args.compile else ''}`. Ratios: median "
        "over repeats of the ratio within "
        "each repeat (lower is faster for the project). Allocator: "
        + ("`mimo_amc.tune_allocator()` applied, as in the harness." if tuned else "glibc's defaults (no `mallopt`)."),
        "",
        *bench_detectors.memory_rows(100),  # first: the peak resident set of the process is its measure
        bench_solver.report([(16, 10000), (128, 1000)], args.repeats, threads=[1, 2]),
        bench_detectors.report(100, 100, args.repeats, [1, 2], args.compile),
        bench_pusch.report(args.repeats),
        *gpu_sections(args.repeats),
    ]
    text = "\n".join(sections)
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
