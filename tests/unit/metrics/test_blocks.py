"""BlockTally's soft-output calibration: every RE and the REs of contracting matrices."""

from __future__ import annotations

import math

import torch

from mimo_amc.metrics import BlockTally


def test_calibration_over_every_re_and_over_converged_ones():
    """One RE of a diverged matrix (error 1e6, estimate 1e7 with an inf elsewhere) sets the all-RE ratio; the
    converged-RE ratio is that of the rest (here exactly 1 and 0.5 for the two streams)."""
    x = torch.zeros(1, 2, 4, dtype=torch.complex128)
    x_hat = torch.ones(1, 2, 4, dtype=torch.complex128)  # |error|^2 = 1 everywhere ...
    x_hat[0, :, 3] = 1e3  # ... but 1e6 at RE 3
    no_eff = torch.tensor([[[1.0, 1.0, 1.0, 1e7], [2.0, 2.0, 2.0, math.inf]]], dtype=torch.float64)
    converged = torch.tensor([[[True, True, True, False]]])
    tally = BlockTally()
    tally.add_estimates("chip", 1, x_hat, x, no_eff, converged)
    tally.add_estimates("digital", 0, x_hat, x, no_eff)
    rows = tally.to_frame().set_index("detector")
    chip = rows.loc["chip"]
    assert chip.calibration_min == 0.0  # the stream with an inf no_eff
    assert math.isclose(chip.calibration_max, (3 + 1e6) / (3 + 1e7))
    assert chip.calibration_converged_min == 0.5 and chip.calibration_converged_max == 1.0
    digital = rows.loc["digital"]  # no flags: every RE counts in both
    assert digital.calibration_converged_max == digital.calibration_max
