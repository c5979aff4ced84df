#!/usr/bin/env python3
"""Run a scenario file: ``python run_experiment.py scenarios/quickstart.yaml [--set KEY=VALUE ...]``.

The same as ``mimo-amc run``; see ``python run_experiment.py --help``.
"""

import sys

from mimo_amc.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
