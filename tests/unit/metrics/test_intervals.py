"""BER confidence intervals for clustered errors (channel realisations as clusters)."""

from __future__ import annotations

import numpy as np
import pytest

from mimo_amc.detect import make_detector
from mimo_amc.metrics import clopper_pearson, design_effect
from mimo_amc.scenario import LinkConfig, MonteCarloConfig
from mimo_amc.studies.ber import simulate_snr


def _coverage(clusters: int, p: float, icc: float, reps: int = 300, m: int = 200) -> tuple[float, float]:
    """Coverage of the naive and the design-effect intervals for beta-binomial clusters."""
    rng = np.random.default_rng(0)
    a, b = p * (1 - icc) / icc, (1 - p) * (1 - icc) / icc
    naive = adjusted = 0
    for _ in range(reps):
        e = rng.binomial(m, rng.beta(a, b, clusters))
        errors, trials = int(e.sum()), clusters * m
        deff = design_effect(errors, trials, clusters, float((e.astype(float) ** 2).sum()))
        lo, hi = clopper_pearson(errors, trials)
        naive += lo <= p <= hi
        lo, hi = clopper_pearson(errors, trials, design_effect=deff)
        adjusted += lo <= p <= hi
    return naive / reps, adjusted / reps


@pytest.mark.parametrize(("clusters", "p", "icc"), [(600, 0.02, 0.05), (100, 0.05, 0.02)])
def test_design_effect_interval_keeps_its_coverage(clusters, p, icc):
    """Design effect 1 + (m - 1) icc = 11 and 5: the per-bit interval covers ~45 % / ~65 % of the time.

    300 replicates: the standard error of a 95 % coverage is 1.3 %, so >= 91 % is 3 SE below
    nominal; the naive interval is sqrt(deff) too narrow (expected coverage 45-65 %).
    """
    naive, adjusted = _coverage(clusters, p, icc)
    assert adjusted >= 0.91
    assert naive <= 0.75


def test_design_effect_edge_cases():
    assert design_effect(0, 1000, 10, 0.0) == 1.0
    assert design_effect(5, 1000, 1, 25.0) == 1.0
    assert design_effect(10, 1000, 10, 10.0) == 1.0  # evenly spread: floored at 1
    with pytest.raises(ValueError, match="design_effect"):
        clopper_pearson(3, 100, design_effect=0.5)


def test_block_fading_inflates_the_interval_and_iid_uses_do_not():
    """16x4 16-QAM ZF at 5 dB (BER ~3e-3): T = 100 uses per channel share it, T = 1 do not.

    Measured design effects 3.3-3.7 for T = 100 (400 realisations) and 1.08 for T = 1
    (bits of one symbol and of one vector are still correlated); thresholds 2 and 1.3 are
    several standard errors of the estimate away.
    """
    deffs = {}
    for uses in (100, 1):
        link = LinkConfig(num_rx_antennas=16, num_users=4, modulation="16qam", coherence_block=uses)
        mc = MonteCarloConfig(realizations_per_batch=20_000 // uses, target_bit_errors=10**9, max_bits=400_000)
        row = simulate_snr(link, [make_detector("zf_fp64", iterations=1)], mc, 5.0, seed=3).iloc[0]
        deffs[uses] = row.ber_design_effect
        lo, hi = clopper_pearson(int(row.bit_errors), int(row.bits))
        width = (row.ber_ci_high - row.ber_ci_low) / (hi - lo)
        assert width == pytest.approx(row.ber_design_effect**0.5, rel=0.05)
    assert deffs[100] > 2
    assert deffs[1] < 1.3
