"""Results folder of one scenario, written so that nothing finished is ever lost.

Layout of ``results/<scenario>/``::

    scenario.yaml        the resolved scenario (every default written out)
    units/<point key>/<unit>.parquet   one file per finished unit (``snr_12.0``, ``image_<hash>``, ...);
                         a unit's arrays in ``<unit>.npz``, its extra tables in ``<unit>.<table>.parquet``
    <study table>.parquet/.csv   every row of one study of the current sweep, labelled with its sweep
                         point (``results`` for the BER study, ``image``, ``precision``, ``cost``)
    manifest.json        versions, device, git commit, seeds, times, unit status
    tables/, figures/, report.md   written by :mod:`mimo_amc.report`
    .mimo-amc-results    marks the folder as a results folder (written when it is created)
    .lock                held (flock) by the run writing the folder; holds its PID
    units/index.json     SHA-256 and schema version of every stored unit file and consolidated table

**Safety.** Nothing is written into, or deleted from, a folder that is not a results folder: an
existing folder must carry the marker (or, from earlier versions, a ``scenario.yaml``) or be empty.
One run at a time holds the lock; a second one is refused with the holder's PID.

**Integrity.** A unit counts as finished only when its files match the checksums in the index; a
unit whose files are missing from the index, truncated, garbled or edited is reported in a warning,
removed and computed again. Consolidated tables are verified the same way before a report reads them.

Every file is written to a temporary name in the same folder and renamed into place
(atomic on POSIX), and each unit is stored as soon as it finishes, so an interrupted run
(Ctrl-C or SIGKILL) keeps every finished unit and the next run skips them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .scenario import ITERATION_NOTE, Scenario, ScenarioError, SweepPoint
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
    detector's ``outer`` scheme, ``kind`` and ``family`` (from the catalogue, unless the study labelled them,
    as the PUSCH study does for Sionna's OFDM detectors); every row the iteration note.

    Unit files hold no labels, so a changed sweep cannot misfile them.
    """
    head = {"point": point.index, "point_key": point.key, **point.overrides}
    labelled = pd.concat([pd.DataFrame({k: [v] * len(frame) for k, v in head.items()}), frame], axis=1)
    if "detector" in frame and "family" not in frame:
        infos = [point.scenario.detector(d) for d in frame.detector]
        labelled["outer"] = [point.scenario.outer(d) for d in frame.detector]
        labelled["kind"] = [i.kind for i in infos]
        labelled["family"] = [i.family for i in infos]
    labelled["iteration_note"] = ITERATION_NOTE
    return labelled


MARKER = ".mimo-amc-results"
"""File that marks a results folder."""

SCHEMA_VERSION = 1
"""Version of the stored unit files; a unit stored under another version is computed again."""


class ResultsFolderError(ScenarioError):
    """A results folder that cannot be used: not a results folder, not writable, in use, corrupt."""


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


class ResultStore:
    """Reads and writes one scenario's results folder (see the module docstring)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._index: dict[str, dict[str, Any]] | None = None
        self._verified: set[str] = set()

    # ------------------------------------------------------------------ the folder
    def is_results_folder(self) -> bool:
        """The folder carries the marker, or a ``scenario.yaml`` of an earlier version."""
        return (self.directory / MARKER).is_file() or (self.directory / "scenario.yaml").is_file()

    def prepare(self) -> None:
        """Create the folder (or check that an existing one is a results folder or empty) and mark it.

        Raises:
            ResultsFolderError: naming the folder and what is wrong with it.
        """
        d = self.directory
        if d.exists() and not d.is_dir():
            raise ResultsFolderError(f"{d}: exists and is not a folder; choose another output folder.")
        for parent in d.parents:
            if parent.exists() and not parent.is_dir():
                raise ResultsFolderError(f"{d}: {parent} is a file, so no folder can be made below it.")
        if d.is_dir() and not self.is_results_folder() and any(d.iterdir()):
            raise ResultsFolderError(
                f"{d}: an existing folder that is not a results folder (no {MARKER} marker, not empty); "
                "nothing is written into it. Choose a new or empty folder (--output, or the scenario's name)."
            )
        try:
            d.mkdir(parents=True, exist_ok=True)
            (d / MARKER).touch()
        except OSError as exc:
            raise ResultsFolderError(
                f"{d}: cannot write there ({exc.strerror}); choose another output folder."
            ) from None

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's lock for a run; a second run into the same folder is refused.

        Raises:
            ResultsFolderError: naming the PID of the run that holds the lock.
        """
        path = self.directory / ".lock"
        with path.open("a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise ResultsFolderError(
                    f"{self.directory}: another run (process {holder}) is writing this folder; wait for it to "
                    "finish or choose another output folder."
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ index
    @property
    def _index_path(self) -> Path:
        return self.directory / "units" / "index.json"

    def _entries(self) -> dict[str, dict[str, Any]]:
        if self._index is None:
            try:
                loaded = json.loads(self._index_path.read_text())
                self._index = loaded if isinstance(loaded, dict) else {}
            except (OSError, ValueError):
                self._index = {}
        return self._index

    def _record(self, paths: Iterable[Path]) -> None:
        entries = self._entries()
        for path in paths:
            key = str(path.relative_to(self.directory))
            entries[key] = {"sha256": sha256(path), "schema": SCHEMA_VERSION}
            self._verified.add(key)
        atomic_write_text(self._index_path, json.dumps(entries, indent=1, sort_keys=True) + "\n")

    def _intact(self, path: Path) -> bool:
        """The file exists and matches its index entry."""
        key = str(path.relative_to(self.directory))
        if key in self._verified:
            return path.is_file()
        entry = self._entries().get(key)
        ok = path.is_file() and entry is not None and entry.get("schema") == SCHEMA_VERSION
        ok = ok and entry.get("sha256") == sha256(path)
        if ok:
            self._verified.add(key)
        return ok

    # ------------------------------------------------------------------ units
    def unit_path(self, unit: Unit, suffix: str = ".parquet") -> Path:
        """Where a unit's table (or, with another suffix, its arrays) is stored."""
        return self.directory / "units" / unit.point.key / f"{unit.name}{suffix}"

    def _unit_files(self, unit: Unit) -> list[Path]:
        folder = self.unit_path(unit).parent
        return sorted(folder.glob(f"{unit.name}.*")) if folder.is_dir() else []

    def has(self, unit: Unit) -> bool:
        """True when the unit is finished and its files are intact; a unit whose files fail the check
        is reported in a warning and removed (so that it is computed again)."""
        main = self.unit_path(unit)
        if not main.is_file():
            return False
        files = self._unit_files(unit)
        if all(self._intact(f) for f in files):
            return True
        warnings.warn(
            f"{main}: unit {unit.name} of sweep point {unit.point.index} failed its integrity check (missing from "
            "the index, truncated, corrupt or edited); it is computed again.",
            stacklevel=2,
        )
        for f in files:
            f.unlink(missing_ok=True)
        return False

    def save(self, unit: Unit, result: UnitResult) -> None:
        """Arrays and extra tables first, then the table that marks the unit as finished (all atomic),
        then their checksums into the index."""
        written = []
        if result.arrays:
            npz = self.unit_path(unit, ".npz")
            atomic_write(npz, lambda tmp: np.savez_compressed(tmp.open("wb"), **result.arrays))
            written.append(npz)
        for name, table in result.tables.items():
            path = self.unit_path(unit, f".{name}.parquet")
            atomic_write(path, lambda tmp, t=table: t.to_parquet(tmp, index=False))
            written.append(path)
        atomic_write(self.unit_path(unit), lambda tmp: result.table.to_parquet(tmp, index=False))
        self._record([*written, self.unit_path(unit)])

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
        """Every stored row of the given (verified) units, in their order, labelled with their *current* point."""
        frames = [label_rows(u.point, pd.read_parquet(self.unit_path(u))) for u in units if self.has(u)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def consolidate(self, units: list[Unit]) -> None:
        """Rewrite every study's consolidated table from the given units (the current sweep)."""
        for name, study in STUDIES.items():
            self.write_table(study.table, self.load(u for u in units if u.study == name))

    def write_table(self, name: str, frame: pd.DataFrame) -> None:
        """The consolidated ``<name>.parquet`` and ``<name>.csv`` of the current sweep (atomic, indexed).

        A table the sweep has no rows for is removed, so that no earlier sweep's table outlives it.
        """
        if frame.empty:
            self.drop_tables(name)
            return
        atomic_write(self.directory / f"{name}.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
        atomic_write(self.directory / f"{name}.csv", lambda tmp: frame.to_csv(tmp, index=False))
        self._record([self.directory / f"{name}.parquet"])

    def table(self, name: str) -> pd.DataFrame:
        """A verified consolidated table (empty if the folder has none).

        Raises:
            ResultsFolderError: when the table does not match its checksum or cannot be read.
        """
        path = self.directory / f"{name}.parquet"
        if not path.is_file():
            return pd.DataFrame()
        if not self._intact(path):
            raise ResultsFolderError(
                f"{path}: does not match its checksum in units/index.json (corrupt, edited or written by another "
                "tool); run the scenario again (mimo-amc run), which rebuilds it from the verified units."
            )
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for unreadable files
            raise ResultsFolderError(
                f"{path}: cannot be read ({type(exc).__name__}); run the scenario again."
            ) from None

    def clear_units(self) -> None:
        """Forget every finished unit and the tables made from them (``--fresh``)."""
        shutil.rmtree(self.directory / "units", ignore_errors=True)
        self._index, self._verified = None, set()
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
