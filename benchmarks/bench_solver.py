"""Simulation speed of the HP-INV solver against torch.linalg.solve, measured in the same run.

For each size, one batch of float64 SPD systems (Gram matrices of 4n x n Gaussian
matrices) is solved by ``torch.linalg.solve`` and by the simulated analog solver with
the default configuration: programming every array (writing the matrices, factorising
the LP-INV arrays once) plus K = 10 refinement iterations, every iterate kept.

Usage:
    python benchmarks/bench_solver.py [--sizes 16:10000 128:1000] [--repeats 5] [--threads 1 2]

Prints one Markdown table; ratios are analog time / digital time (lower is better), the
median over repeats of the ratio within each repeat (the machine's load varies).
"""

from __future__ import annotations

import argparse

import torch
from timing import median, median_ratio, paired_times

from mimo_amc.amc import AnalogSolver, SolverConfig, tune_allocator


def bench_size(n: int, batch: int, repeats: int, iterations: int = 10, device: str = "cpu") -> dict[str, float]:
    """Time digital and analog solves of one batch of ``n x n`` systems; ratios are per-repeat medians."""
    g = torch.Generator().manual_seed(0)
    h = torch.randn(batch, 4 * n, n, generator=g, dtype=torch.float64).to(device)
    a = h.mT @ h
    b = torch.randn(batch, n, generator=g, dtype=torch.float64).to(device)
    solver = AnalogSolver(SolverConfig(), device=device, seed=1)
    system = solver.program(a)
    t = paired_times(
        {
            "digital": lambda: torch.linalg.solve(a, b),
            "total": lambda: solver.solve(a, b, iterations),
            "iterations": lambda: system.solve(b, iterations),
        },
        repeats,
    )
    return {
        "n": n,
        "batch": batch,
        "digital_s": median(t["digital"]),
        "analog_total_s": median(t["total"]),
        "analog_iterations_s": median(t["iterations"]),
        "ratio_total": median_ratio(t, "total", "digital"),
        "ratio_iterations": median_ratio(t, "iterations", "digital"),
    }


def report(sizes: list[tuple[int, int]], repeats: int, device: str = "cpu", threads: list[int] | None = None) -> str:
    """Markdown section with the solver benchmark table (on the CPU, one row per size and thread count)."""
    where = "CUDA" if device == "cuda" else "CPU"
    lines = [
        f"### HP-INV solver vs torch.linalg.solve (K = 10, default chip, float64, {where})",
        "",
        "| n | batch | torch threads | linalg.solve (ms) | program + 10 iterations (ms) | ratio | 10 iterations (ms) "
        "| ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    before = torch.get_num_threads()
    for n_threads in [before] if device == "cuda" or threads is None else threads:
        torch.set_num_threads(n_threads)
        for n, batch in sizes:
            r = bench_size(n, batch, repeats, device=device)
            lines.append(
                f"| {n} | {batch} | {n_threads} | {1e3 * r['digital_s']:.1f} | {1e3 * r['analog_total_s']:.1f} | "
                f"{r['ratio_total']:.1f}x | {1e3 * r['analog_iterations_s']:.1f} | {r['ratio_iterations']:.1f}x |"
            )
    torch.set_num_threads(before)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["16:10000", "128:1000"], help="n:batch pairs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    tune_allocator()  # as the harness runs (mimo_amc.studies.run_unit)
    print(report([tuple(map(int, s.split(":"))) for s in args.sizes], args.repeats, threads=args.threads))


if __name__ == "__main__":
    main()
