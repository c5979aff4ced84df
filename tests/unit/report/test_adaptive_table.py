"""The adaptive-iterations table of the BER report: parity of the adaptive rows beside the fixed-K parity."""

from __future__ import annotations

import math

import pandas as pd

from mimo_amc.report.ber import adaptive_table, parity_table
from mimo_amc.scenario import scenario_from_dict


def test_adaptive_rows_with_their_band_and_the_fixed_k_parity() -> None:
    scenario = scenario_from_dict(
        {
            "name": "adaptive",
            "detectors": {
                "names": ["zf_fp32", "analog_zf"],
                "iterations": 2,
                "variants": {"analog_zf_adaptive": {"kind": "zf", "amc": {"stopping": {"ber_change": 0.05}}}},
            },
        },
        "test",
    )
    rows = []
    for snr, ref, fixed, adaptive in [(0.0, 0.1, (0.2, 0.105), 0.104), (10.0, 0.01, (0.1, 0.02), 0.0125)]:
        base = {"point": 0, "snr_db": snr, "kind": "zf", "outer": "richardson", "ber_ci_low": 0.0, "ber_ci_high": 1}
        rows.append({**base, "detector": "zf_fp32", "iteration": 0, "ber": ref, "ber_ci_low": ref, "ber_ci_high": ref})
        rows += [{**base, "detector": "analog_zf", "iteration": i + 1, "ber": b} for i, b in enumerate(fixed)]
        adaptive_row = {"iterations_mean": 2.5, "iterations_p99": 4.0, "iterations_max": 5.0, "outage_fraction": 0.01}
        adaptive_row["matrix_outage_fraction"] = 0.02
        rows.append({**base, "detector": "analog_zf_adaptive", "iteration": 2, "ber": adaptive, **adaptive_row})
    frame = pd.DataFrame(rows)
    frame["fallback"] = frame.detector.map({"analog_zf_adaptive": "digital"})
    frame["fallback_iterations_mean"] = frame.detector.map({"analog_zf_adaptive": 0.0})
    table = adaptive_table(frame, scenario, parity_table(frame, scenario))
    assert table.detector.tolist() == ["analog_zf_adaptive"] * 2 and table.reference.tolist() == ["zf_fp32"] * 2
    assert table.in_band.tolist() == [True, False]  # +4 % is inside the +-10 % band, +25 % is not
    assert table.fixed_parity_iteration.tolist() == [2, "none within 2"]
    assert table.fallback.tolist() == ["digital", "digital"] and math.isclose(table.iterations_mean.iloc[0], 2.5)
