"""Command line: ``mimo-amc run | validate | cost | reproduce | compare | report`` (and ``run_experiment.py``).

Exit codes: 0 success, 1 ``compare`` found differences, 2 invalid input (scenario, override or results
folder), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .scenario import CostStudyConfig, ScenarioError, load_scenario, sweep_points


def _scenario_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario YAML file, e.g. scenarios/quickstart.yaml")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any scenario key, e.g. --set amc.device.bits=4 --set link.snr_db=[10,20]",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _cores(text: str) -> int:
    """A thread or worker count between 1 and this machine's cores."""
    value, cores = _positive_int(text), os.cpu_count() or 1
    if value > cores:
        raise argparse.ArgumentTypeError(f"{value} is more than this machine's {cores} cores; give 1..{cores}")
    return value


def _torch_device(text: str) -> str:
    import torch

    try:
        device = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a torch device; use cpu, cuda or cuda:<index>") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text!r}: torch finds no CUDA device on this machine; use cpu")
    if device.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"{text!r}: only cpu and cuda devices are supported")
    return text


def _output_dir(text: str) -> str:
    from pathlib import Path

    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a folder")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mimo-amc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario into results/<name>/ (skips finished units)")
    _scenario_args(run)
    run.add_argument("--executor", choices=["local", "ray"], default="local")
    run.add_argument("--workers", type=_cores, default=1, help="local process pool size (default 1: in process)")
    run.add_argument("--address", default=None, help="Ray cluster address (default: start a local instance)")
    run.add_argument("--fresh", action="store_true", help="recompute every unit")
    run.add_argument(
        "--device", type=_torch_device, default=None, help="torch device (default: cuda if available, else cpu)"
    )
    run.add_argument("--threads", type=_cores, default=None, help="torch CPU threads per unit")
    run.add_argument(
        "--output", type=_output_dir, default=None, help="results folder (default: results/<scenario name>)"
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bars")

    val = sub.add_parser("validate", help="check a scenario without running it")
    _scenario_args(val)
    val.add_argument("--show", action="store_true", help="print the resolved scenario with every default")

    cost = sub.add_parser("cost", help="hardware cost projection of a scenario's chip vs measured digital solves")
    _scenario_args(cost)
    cost.add_argument(
        "--output", type=_output_dir, default=None, help="results folder (default: results/<scenario name>)"
    )

    repro = sub.add_parser("reproduce", help="run the paper scenarios and write results/REPRODUCTION.md")
    repro.add_argument("--quick", action="store_true", help="reduced statistics into results/quick/ (for CI)")
    repro.add_argument(
        "--committed", action="store_true", help="run nothing: evaluate the results folders as they are (seconds)"
    )
    repro.add_argument("--results", default="results", help="results root (default: results)")
    repro.add_argument("--scenarios", default="scenarios", help="folder of the paper_*.yaml scenarios")

    cmp = sub.add_parser("compare", help="check that two results folders of a scenario hold the same numbers")
    cmp.add_argument("reference", help="reference results folder, e.g. results/quickstart")
    cmp.add_argument("new", help="results folder to check against it")

    rep = sub.add_parser("report", help="(re)write tables and figures of a results folder")
    rep.add_argument("directory", help="results folder, e.g. results/quickstart")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "report":
            return _report(args.directory)
        if args.command == "compare":
            return _compare(args.reference, args.new)
        if args.command == "reproduce":
            from .reproduce import reproduce

            table = reproduce(args.quick, args.results, args.scenarios, run=not args.committed)
            print(table[["id", "passed", "reproduced"]].to_string(index=False))
            return 0
        overrides = list(args.overrides)
        if args.command in ("run", "cost") and args.output:
            overrides.append(f"output.directory={args.output}")
        scenario = load_scenario(args.scenario, overrides)
        if args.command == "cost" and scenario.cost is None:
            scenario = scenario.model_copy(update={"cost": CostStudyConfig()})
        if args.command == "validate":  # run and cost check in run_scenario, before any unit
            from .studies import check_scenario

            check_scenario(scenario)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "validate":
        print(_shown(scenario) if args.show else f"{args.scenario}: valid ({len(sweep_points(scenario))} sweep points)")
        return 0
    from .runner import run_scenario

    try:
        if args.command == "cost":
            run_scenario(scenario, studies=["cost"], progress=False)
            print(f"wrote {scenario.results_dir}/report.md, tables/cost.*, figures/throughput_*")
            return 0
        summary = run_scenario(
            scenario, executor=args.executor, workers=args.workers, address=args.address, fresh=args.fresh,
            device=args.device, threads=args.threads, progress=not args.no_progress,
        )  # fmt: skip
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished units are stored in {scenario.results_dir}; run the same command to continue.",
              file=sys.stderr)  # fmt: skip
        return 130
    print(
        f"{summary.computed} units computed, {summary.skipped} already stored, {summary.wall_time_s:.1f} s; "
        f"results in {summary.directory}/ (report.md, tables/, figures/)"
    )
    return 0


def _shown(scenario) -> str:
    """The resolved scenario as YAML, headed by a comment naming each chip's nearest preset and its changes."""
    from .amc.presets import describe

    chips = {"amc": scenario.amc} | {
        f"detectors.variants.{v}.amc": scenario.chip(v) for v in scenario.detectors.variants
    }
    return "".join(f"# {where}: {describe(chip)}\n" for where, chip in chips.items()) + scenario.to_yaml()


def _compare(reference: str, new: str) -> int:
    from .reproduce import compare_results

    for d in (reference, new):
        if not (Path(d) / "scenario.yaml").is_file():
            print(f"error: {d}: not a results folder (no scenario.yaml).", file=sys.stderr)
            return 2
    problems = compare_results(reference, new)
    print("\n".join(problems) if problems else f"{new}: the same numbers as {reference}")
    return 1 if problems else 0


def _report(directory: str) -> int:
    from pathlib import Path

    from .report import write_report

    d = Path(directory)
    from .studies import STUDIES

    names = [s.table for s in STUDIES.values()]
    tables = any((d / f"{t}.parquet").is_file() for t in names)
    if not tables or not (d / "scenario.yaml").is_file():
        print(
            f"error: {d}: not a results folder (needs scenario.yaml and one of {', '.join(names)}.parquet, "
            "which `mimo-amc run` writes; committed folders carry CSV copies only: run the scenario first).",
            file=sys.stderr,
        )
        return 2
    try:
        print(f"wrote {write_report(d)}")
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
