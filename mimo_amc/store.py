"""Results folder of one scenario, written so that nothing finished is ever lost.

Layout of ``results/<scenario>/``::

    scenario.yaml        the resolved scenario (every default written out)
    units/<point key>/<unit>.parquet   one file per finished unit (``snr_12.0``, ``image_<hash>``, ...);
                         a unit's arrays in ``<unit>.npz``, its extra tables in ``<unit>.<table>.parquet``
    <study table>.parquet/.csv   every row of one study of the current sweep, labelled with its sweep
                         point (``results`` for the BER study, ``image``, ``precision``, ``cost``)
    manifest.json        versions, device, git commit, seeds, times, unit status
    tables/, figures/, report.md   written by :mod:`mimo_amc.report`

Every file is written to a temporary name in the same folder and renamed into place
(atomic on POSIX), and each unit is stored as soon as it finishes, so an interrupted run
(Ctrl-C or SIGKILL) keeps every finished unit and the next run skips them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .scenario import ITERATION_NOTE, Scenario, SweepPoint
from .studies import STUDIES, Unit, UnitResult


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file ordinary permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def label_rows(point: SweepPoint, frame: pd.DataFrame) -> pd.DataFrame:
    """A unit's rows prefixed with its sweep point (index, key, swept values); detector rows also get the
    detector's ``outer`` scheme, ``kind`` and ``family`` (from the catalogue); every row the iteration note.

    Unit files hold no labels, so a changed sweep cannot misfile them.
    """
    head = {"point": point.index, "point_key": point.key, **point.overrides}
    labelled = pd.concat([pd.DataFrame({k: [v] * len(frame) for k, v in head.items()}), frame], axis=1)
    if "detector" in frame:
        infos = [point.scenario.detector(d) for d in frame.detector]
        labelled["outer"] = [point.scenario.outer(d) for d in frame.detector]
        labelled["kind"] = [i.kind for i in infos]
        labelled["family"] = [i.family for i in infos]
    labelled["iteration_note"] = ITERATION_NOTE
    return labelled


class ResultStore:
    """Reads and writes one scenario's results folder (see the module docstring)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    # ------------------------------------------------------------------ units
    def unit_path(self, unit: Unit, suffix: str = ".parquet") -> Path:
        """Where a unit's table (or, with another suffix, its arrays) is stored."""
        return self.directory / "units" / unit.point.key / f"{unit.name}{suffix}"

    def has(self, unit: Unit) -> bool:
        """True when the unit is finished (its table exists)."""
        return self.unit_path(unit).is_file()

    def save(self, unit: Unit, result: UnitResult) -> None:
        """Arrays and extra tables first, then the table that marks the unit as finished (all atomic)."""
        if result.arrays:
            npz = self.unit_path(unit, ".npz")
            atomic_write(npz, lambda tmp: np.savez_compressed(tmp.open("wb"), **result.arrays))
        for name, table in result.tables.items():
            atomic_write(self.unit_path(unit, f".{name}.parquet"), lambda tmp, t=table: t.to_parquet(tmp, index=False))
        atomic_write(self.unit_path(unit), lambda tmp: result.table.to_parquet(tmp, index=False))

    def arrays(self, unit: Unit) -> dict[str, np.ndarray]:
        """The named arrays of a finished unit (empty if it has none)."""
        path = self.unit_path(unit, ".npz")
        if not path.is_file():
            return {}
        with np.load(path) as npz:
            return {name: npz[name] for name in npz.files}

    def extra_table(self, unit: Unit, name: str) -> pd.DataFrame:
        """The extra table ``name`` of a finished unit."""
        return pd.read_parquet(self.unit_path(unit, f".{name}.parquet"))

    def load(self, units: Iterable[Unit]) -> pd.DataFrame:
        """Every stored row of the given units, in their order, labelled with their *current* sweep point."""
        frames = [label_rows(u.point, pd.read_parquet(self.unit_path(u))) for u in units if self.has(u)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def consolidate(self, units: list[Unit]) -> None:
        """Rewrite every study's consolidated table from the given units (the current sweep)."""
        for name, study in STUDIES.items():
            self.write_table(study.table, self.load(u for u in units if u.study == name))

    def write_table(self, name: str, frame: pd.DataFrame) -> None:
        """The consolidated ``<name>.parquet`` and ``<name>.csv`` of the current sweep (atomic).

        A table the sweep has no rows for is removed, so that no earlier sweep's table outlives it.
        """
        if frame.empty:
            self.drop_tables(name)
            return
        atomic_write(self.directory / f"{name}.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
        atomic_write(self.directory / f"{name}.csv", lambda tmp: frame.to_csv(tmp, index=False))

    def table(self, name: str) -> pd.DataFrame:
        """A consolidated table (empty if the folder has none)."""
        path = self.directory / f"{name}.parquet"
        return pd.read_parquet(path) if path.is_file() else pd.DataFrame()

    def clear_units(self) -> None:
        """Forget every finished unit and the tables made from them (``--fresh``)."""
        shutil.rmtree(self.directory / "units", ignore_errors=True)
        self.drop_tables(*(s.table for s in STUDIES.values()))
        (self.directory / "report.md").unlink(missing_ok=True)

    def drop_tables(self, *names: str) -> None:
        """Remove the consolidated ``<name>.parquet/.csv`` tables (e.g. those of an earlier sweep)."""
        for name in names:
            for suffix in (".parquet", ".csv"):
                (self.directory / f"{name}{suffix}").unlink(missing_ok=True)

    # ------------------------------------------------------------------ summaries
    def write_scenario(self, scenario: Scenario) -> None:
        """The resolved scenario, ``scenario.yaml``."""
        atomic_write_text(self.directory / "scenario.yaml", scenario.to_yaml())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """``manifest.json``."""
        atomic_write_text(self.directory / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
