"""The parity map: iterations to parity over a two-parameter sweep."""

from __future__ import annotations

import pandas as pd

from mimo_amc.report.ber import plot_parity_map
from mimo_amc.scenario import Scenario, scenario_from_dict


def _scenario(grid: dict) -> Scenario:
    return scenario_from_dict({"name": "map", "sweep": {"grid": grid}}, "test")


def test_parity_map_over_two_swept_parameters(tmp_path):
    scenario = _scenario({"amc.wires.segment_ohm": [0.0, 50.0], "amc.hpmvm.array_size": [4, 16]})
    rows, parity = [], []
    for point, (ohm, size) in enumerate([(0.0, 4), (0.0, 16), (50.0, 4), (50.0, 16)]):
        label = f"segment_ohm={ohm}, array_size={size}"
        for it in (1, 2, 3):
            rows.append({"point": point, "amc.wires.segment_ohm": ohm, "amc.hpmvm.array_size": size, "iteration": it})
        never = ohm == 50.0 and size == 16
        parity.append(
            {
                "point": label,
                "detector": "analog_zf",
                "reference": "zf_fp32",
                "snr_db": 10.0,
                "parity_iteration": "none within 3" if never else 2,
            }
        )
    frame, table = pd.DataFrame(rows), pd.DataFrame(parity)
    assert plot_parity_map(table, frame, scenario, tmp_path / "map", ["png"])
    assert (tmp_path / "map.png").stat().st_size > 1000
    one = _scenario({"amc.wires.segment_ohm": [0.0, 50.0]})
    assert not plot_parity_map(table, frame.drop(columns="amc.hpmvm.array_size"), one, tmp_path / "one", ["png"])
