"""Every named chip (mimo_amc.amc.presets) through the paper_precision set-up: 16x16 real systems (real forms
of 128x8 i.i.d. Rayleigh Gram matrices), BlockAMC on the chip's INV arrays, Richardson, 10 iterations; 64 of
the scenario's 256 systems. Each chip is held to what its physics allows, including the chips that do not
reach high precision.

Median relative error per iteration, measured for this seed and three shifted ones (spread in brackets):

    ideal        2.2e-16 .. 3.0e-16 at every iteration (float64 round-off)
    zuo2025      1.2e-1 (it. 1) -> 1.2e-7 (it. 10), 2.34-2.36 bits/iteration (committed table, 256 systems:
                 1.3e-1 -> 1.1e-7)
    zuo2025_4bit 7.3e-2 -> 3.8e-8 .. 4.2e-8 by iteration 8: the 24-bit HP-MVM's floor
    isaac        1.7e-1 -> 3.0e-5 .. 3.2e-5: ISAAC's 16-bit fixed point (8 slices of 2-bit cells, 16 one-bit input
                 digits), with 0.23-0.31 of the error left per iteration on the way
    pcm_aihwkit  1.6e-1 .. 1.7e-1 at every iteration: the HP-MVM arrays hold PCM cells with 3.5 % programming
                 noise, so the residual it computes is itself ~1e-1 wrong and refinement gains nothing, although
                 the LP-INV contracts (median rho 0.25-0.26)

The bounds sit a factor 3 or more away from every measured value except where physics fixes them (the ideal
chip's round-off, the fixed-point floors).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mimo_amc.amc import PRESETS
from mimo_amc.scenario import derive_seed, load_scenario, sweep_points
from mimo_amc.studies.accuracy import run_accuracy

SCENARIO = Path(__file__).resolve().parents[3] / "scenarios" / "paper_precision.yaml"


def _curve(name: str) -> pd.DataFrame:
    """The preset's precision table at the scenario's first point (equilibration and per-block scaling on)."""
    scenario = load_scenario(SCENARIO, [f"amc.preset={name}", "precision.systems=64", "precision.schemes=[richardson]"])
    point = sweep_points(scenario)[0]
    assert point.scenario.amc.equilibrate and point.scenario.amc.per_block_scaling
    return run_accuracy(point.scenario.precision, point.scenario.amc, derive_seed(point.seed, "precision"))


def _check_ideal(t: pd.DataFrame, err: pd.Series) -> None:
    assert (err <= 1e-12).all()


def _check_zuo2025(t: pd.DataFrame, err: pd.Series) -> None:
    assert 3e-2 <= err[1] <= 3e-1  # the paper: 1e-1..1e-2 after the LP-INV alone
    assert 3e-8 <= err[10] <= 1e-6  # the paper's ~1e-7; below 3e-8 would beat the 24-bit HP-MVM's floor
    assert t.bits_per_iteration.iloc[0] >= 2


def _check_zuo2025_4bit(t: pd.DataFrame, err: pd.Series) -> None:
    assert err[1] <= 0.75 * _curve("zuo2025").set_index("iteration").median_error[1]  # 16 levels: a better LP-INV
    assert 1e-8 <= err[10] <= 1e-7  # at the 24-bit floor (~4e-8), not below it


def _check_isaac(t: pd.DataFrame, err: pd.Series) -> None:
    assert (err[2:7].to_numpy() <= 0.5 * err[1:6].to_numpy()).all()  # contracts
    assert 3e-6 <= err[10] <= 3e-4  # stops at its 16-bit fixed point, above zuo2025's 24-bit result


def _check_pcm_aihwkit(t: pd.DataFrame, err: pd.Series) -> None:
    """Does not converge: the error never falls below half of the LP-INV's first solution."""
    assert t.median_contraction.iloc[0] < 0.5 and t.nonconverged_fraction.iloc[0] == 0  # the LP-INV contracts
    assert (err >= 0.5 * err[1]).all() and (err <= 2 * err[1]).all() and err[10] >= 5e-2


CHECKS = {
    "ideal": _check_ideal,
    "zuo2025": _check_zuo2025,
    "zuo2025_4bit": _check_zuo2025_4bit,
    "isaac": _check_isaac,
    "pcm_aihwkit": _check_pcm_aihwkit,
}


def test_every_preset_is_checked():
    assert set(CHECKS) == set(PRESETS)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_precision_curve_on_paper_precision(name):
    t = _curve(name)
    assert list(t.iteration) == list(range(1, 11)) and (t.n == 16).all() and (t.systems == 64).all()
    err = t.set_index("iteration").median_error
    assert err.notna().all()
    CHECKS[name](t, err)
