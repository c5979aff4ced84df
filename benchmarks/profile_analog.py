"""Where the analog path's time goes: self CPU time per operator family, one thread, under torch.profiler.

Profiles analog ZF (K = 3, 100 channels x 100 uses, 256-QAM at 5 dB) at 128x8 and 512x64 and the HP-INV
solver (K = 10, program + iterate) at 16x16 x 10,000 and 128x128 x 1,000, next to their digital
references, and prints one Markdown table per workload. The profiler inflates very short operators, so
read the shares, not the milliseconds; "Python and dispatch" is wall time minus the operators' self time.

Usage:
    python benchmarks/profile_analog.py [--repeats 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
from bench_detectors import detector_inputs
from torch.profiler import ProfilerActivity, profile

from mimo_amc.amc import AnalogSolver, SolverConfig, tune_allocator
from mimo_amc.detect import AnalogEqualizer, DigitalEqualizer

ELEMENTWISE = (
    "round", "clamp", "div", "mul", "add", "sub", "addcmul", "abs", "amax", "amin", "maximum", "neg", "_to_copy",
    "copy_", "reciprocal", "sqrt", "rsqrt", "square", "pow", "erfc", "special",
)  # fmt: skip
FAMILIES = {
    "random draws (read noise, write errors)": ("normal_", "uniform_", "random_"),
    "LAPACK (inverses, Schur solves, exact no_eff)": ("linalg", "lu", "getr", "cholesky", "triangular"),
    "matrix products (Gram, matched filter, arrays, HP-MVM)": ("bmm", "mm", "matmul", "addmm", "baddbmm"),
    "converters and scaling (elementwise)": ELEMENTWISE,
    "bookkeeping (stack, cat, checks, reductions, views)": (),  # everything else
}


def _family(name: str) -> str:
    op = name.removeprefix("aten::")
    for family, prefixes in FAMILIES.items():
        if any(op.startswith(p) for p in prefixes):
            return family
    return "bookkeeping (stack, cat, checks, reductions, views)"


def table(title: str, fn: Callable[[], object], reference: Callable[[], object], repeats: int) -> list[str]:
    """One workload: its self CPU time per operator family, per call."""
    fn(), reference()
    start = time.perf_counter()
    for _ in range(repeats):
        reference()
    ref_s = (time.perf_counter() - start) / repeats
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        wall = (time.perf_counter() - start) / repeats
    shares: dict[str, float] = dict.fromkeys(FAMILIES, 0.0)
    for event in prof.key_averages():
        shares[_family(event.key)] += event.self_cpu_time_total / 1e6 / repeats
    shares["Python and dispatch"] = max(wall - sum(shares.values()), 0.0)
    lines = [f"#### {title}: {1e3 * wall:.1f} ms under the profiler (digital reference {1e3 * ref_s:.1f} ms)", ""]
    lines += ["| operator family | ms per call | share | x reference |", "|---|---|---|---|"]
    for family, seconds in sorted(shares.items(), key=lambda kv: -kv[1]):
        lines.append(f"| {family} | {1e3 * seconds:.1f} | {seconds / wall:.0%} | {seconds / ref_s:.2f} |")
    return [*lines, ""]


def report(repeats: int) -> str:
    lines = [f"### Where the analog path's time goes ({torch.get_num_threads()} thread(s), torch.profiler)", ""]
    for m, k in ((128, 8), (512, 64)):
        y, h, s = detector_inputs(m, k, 100, 100, "cpu")
        analog = AnalogEqualizer("zf", SolverConfig(), iterations=3, device="cpu", seed=0)
        fp32 = DigitalEqualizer("zf", "single")
        lines += table(f"analog ZF K = 3, {m}x{k}", lambda: analog.detect(y, h, s), lambda: fp32.detect(y, h, s),  # noqa: B023
                       repeats)  # fmt: skip
    for n, batch in ((16, 10000), (128, 1000)):
        g = torch.Generator().manual_seed(0)
        hh = torch.randn(batch, 4 * n, n, generator=g, dtype=torch.float64)
        a, b = hh.mT @ hh, torch.randn(batch, n, generator=g, dtype=torch.float64)
        solver = AnalogSolver(SolverConfig(), device="cpu", seed=1)
        lines += table(f"HP-INV K = 10 (program + iterate), {n}x{n} x {batch}", lambda: solver.solve(a, b, 10),  # noqa: B023
                       lambda: torch.linalg.solve(a, b), repeats)  # noqa: B023  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    tune_allocator()  # as the harness runs (mimo_amc.studies.run_unit)
    torch.set_num_threads(args.threads)
    print(report(args.repeats))


if __name__ == "__main__":
    main()
