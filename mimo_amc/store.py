"""Results folder of one scenario, written so that nothing finished is ever lost.

Layout of ``results/<scenario>/``::

    scenario.yaml        the resolved scenario (every default written out)
    units/<key>/<snr>.parquet   one file per finished (sweep point, SNR) unit
    units/<key>/<section>_<hash>.parquet   a point's image or precision unit (images in .npz)
    results.parquet      all BER rows of the current sweep (consolidated from units/)
    results.csv          the same as CSV
    image.parquet/.csv, precision.parquet/.csv   the study rows of the current sweep
    manifest.json        versions, device, git commit, seeds, times, unit status
    tables/, figures/    written by :mod:`mimo_amc.report`

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
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .config import Scenario, SweepPoint

Label = Callable[["SweepPoint", pd.DataFrame], pd.DataFrame]
"""Adds a point's labels to a unit's rows (see :func:`mimo_amc.runner.label_rows`)."""


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


class ResultStore:
    """Reads and writes one scenario's results folder (see the module docstring)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    # ------------------------------------------------------------------ units
    def unit_path(self, point: SweepPoint, snr_db: float) -> Path:
        return self.directory / "units" / point.key / f"snr_{float(snr_db)!r}.parquet"

    def has_unit(self, point: SweepPoint, snr_db: float) -> bool:
        return self.unit_path(point, snr_db).is_file()

    def save_unit(self, point: SweepPoint, snr_db: float, frame: pd.DataFrame) -> None:
        atomic_write(self.unit_path(point, snr_db), lambda tmp: frame.to_parquet(tmp, index=False))

    def study_path(self, point: SweepPoint, section: str, suffix: str) -> Path:
        return self.directory / "units" / point.key / f"{section}_{point.section_key(section)}{suffix}"

    def has_study(self, point: SweepPoint, section: str) -> bool:
        return self.study_path(point, section, ".parquet").is_file()

    def save_study(self, point: SweepPoint, section: str, table: pd.DataFrame, arrays: dict | None = None) -> None:
        """Optional arrays (``.npz``) first, then the table that marks the unit as finished."""
        if arrays is not None:
            npz = self.study_path(point, section, ".npz")
            atomic_write(npz, lambda tmp: np.savez_compressed(tmp.open("wb"), **arrays))
        atomic_write(self.study_path(point, section, ".parquet"), lambda tmp: table.to_parquet(tmp, index=False))

    def load_images(self, point: SweepPoint) -> tuple[np.ndarray, dict[tuple[str, int], np.ndarray]]:
        """``(original, {(detector, iteration): image})`` of a finished image unit."""
        with np.load(self.study_path(point, "image", ".npz")) as npz:
            received = {}
            for name in npz.files:
                if name != "original":
                    det, it = name.rsplit("|", 1)
                    received[(det, int(it))] = npz[name]
            return npz["original"], received

    def load_study(self, points: Iterable[SweepPoint], section: str, label: Label) -> pd.DataFrame:
        """Every stored row of a study section of the given points, labelled like :meth:`load`."""
        frames = [
            label(p, pd.read_parquet(self.study_path(p, section, ".parquet")))
            for p in points
            if self.has_study(p, section)
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def write_table(self, name: str, frame: pd.DataFrame) -> None:
        """The consolidated ``<name>.parquet`` and ``<name>.csv`` of the current sweep (atomic).

        ``name`` is ``results`` (BER rows), ``image`` or ``precision``. A table the sweep has no rows
        for is removed, so that no earlier sweep's table outlives it.
        """
        if frame.empty:
            self.drop_tables(name)
            return
        atomic_write(self.directory / f"{name}.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
        atomic_write(self.directory / f"{name}.csv", lambda tmp: frame.to_csv(tmp, index=False))

    def clear_units(self) -> None:
        """Forget every finished unit and the tables made from them (``--fresh``)."""
        shutil.rmtree(self.directory / "units", ignore_errors=True)
        self.drop_tables("results", "image", "precision")
        (self.directory / "report.md").unlink(missing_ok=True)

    def drop_tables(self, *names: str) -> None:
        """Remove the consolidated ``<name>.parquet/.csv`` tables (e.g. those of an earlier sweep)."""
        for name in names:
            for suffix in (".parquet", ".csv"):
                (self.directory / f"{name}{suffix}").unlink(missing_ok=True)

    def load(self, points: Iterable[SweepPoint], label: Label) -> pd.DataFrame:
        """Every stored BER row of the given sweep points, in sweep and SNR order, each unit's rows
        labelled with its *current* point by ``label(point, rows)`` (unit files hold no labels, so a
        changed sweep cannot misfile them)."""
        frames = [
            label(p, pd.read_parquet(self.unit_path(p, snr)))
            for p in points
            for snr in p.scenario.link.snr_db
            if self.has_unit(p, snr)
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    # ------------------------------------------------------------------ summaries
    def write_scenario(self, scenario: Scenario) -> None:
        atomic_write_text(self.directory / "scenario.yaml", scenario.to_yaml())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_text(self.directory / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
