"""The ``detectors`` section and the detector catalogue: every name, what it is, what it is judged by.

The catalogue is the one place that knows what a detector name means. Each entry has a

* ``kind``: the exact solution the detector computes or approximates, ``"zf"`` or ``"mmse"``;
* ``family``: ``"digital"`` (one-shot LU solve), ``"sionna"`` (Sionna's own equalizer),
  ``"iterative"`` (digital Neumann / Gauss-Seidel / CG) or ``"analog"`` (the simulated chip);
* ``precision``: ``"single"`` (complex64 all the way) or ``"double"`` (complex128; the analog
  solver is float64 inside);
* ``method``: the algorithm (``lu``, ``sionna``, ``neumann``, ``gauss_seidel``, ``cg``, ``hpinv``).

Analog variants (``detectors.variants``) join the catalogue under their own names with family
``analog``. Result rows carry ``kind`` and ``family``; :func:`parity_reference` is the rule by which
an iterative detector's BER parity is judged. The detectors themselves (Sionna, torch) are built by
:func:`mimo_amc.detect.make_detectors`.

Example:
    >>> CATALOGUE["cg_mmse"]
    DetectorInfo(name='cg_mmse', kind='mmse', family='iterative', precision='double', method='cg')
    >>> DetectorsConfig(names=["zf_fp32", "analog_zf"], iterations=5).names
    ['zf_fp32', 'analog_zf']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..amc import Section

Kind = Literal["zf", "mmse"]
Family = Literal["digital", "sionna", "iterative", "analog"]

ITERATION_NOTE = (
    "iteration 1 = LP-INV alone (no refinement) for analog Richardson detectors, the first step for "
    "FCG/FGMRES and digital iterative ones; 0 = one-shot digital detector"
)
"""The iteration convention, written into every results table and report."""


@dataclass(frozen=True)
class DetectorInfo:
    """What a detector name means (see the module docstring)."""

    name: str
    kind: Kind
    family: Family
    precision: Literal["single", "double"]
    method: str

    @property
    def iterative(self) -> bool:
        """True for detectors that report iterations ``1..K`` (analog and digital iterative)."""
        return self.family in ("analog", "iterative")


def _catalogue() -> dict[str, DetectorInfo]:
    entries = [
        DetectorInfo(f"{kind}_{p}", kind, "digital", "single" if p == "fp32" else "double", "lu")
        for kind in ("zf", "mmse")
        for p in ("fp32", "fp64")
    ]
    entries += [
        DetectorInfo("sionna_zf", "zf", "sionna", "double", "sionna"),
        DetectorInfo("sionna_lmmse", "mmse", "sionna", "double", "sionna"),
        DetectorInfo("analog_zf", "zf", "analog", "double", "hpinv"),
        DetectorInfo("analog_mmse", "mmse", "analog", "double", "hpinv"),
    ]
    entries += [
        DetectorInfo(f"{method}_{kind}", kind, "iterative", "double", method)
        for kind in ("zf", "mmse")
        for method in ("neumann", "gauss_seidel", "cg")
    ]
    return {e.name: e for e in entries}


CATALOGUE: dict[str, DetectorInfo] = _catalogue()
"""Every built-in detector by name."""

DetectorName = Literal[tuple(CATALOGUE)]  # type: ignore[valid-type]
"""Any built-in detector name (the keys of :data:`CATALOGUE`)."""


class AnalogVariant(Section):
    """An analog detector with its own chip: ``amc`` holds changes to the scenario's ``amc`` section
    (or ``preset: NAME`` to start from a named chip, see :mod:`mimo_amc.amc.presets`)."""

    kind: Kind = Field("zf", description="'zf' or 'mmse'.")
    amc: dict[str, Any] = Field(default_factory=dict, description="Nested changes, e.g. {device: {bits: 4}}.")


class DetectorsConfig(Section):
    """Which detectors a scenario evaluates."""

    names: list[DetectorName] = Field(
        default_factory=lambda: ["zf_fp32", "zf_fp64", "analog_zf"],
        min_length=1,
        description="Detectors evaluated on the same data (see mimo_amc.scenario.detectors.CATALOGUE).",
    )
    iterations: int = Field(
        5, ge=1, le=200, description="Iterations of the analog and digital iterative detectors (all reported)."
    )
    reference: DetectorName = Field("zf_fp32", description="Detector that BER parity is judged against.")
    variants: dict[str, AnalogVariant] = Field(
        default_factory=dict,
        description="Extra analog detectors, each with its own changes to the scenario's amc section, "
        "evaluated on the same data as the others, e.g. {analog_zf_fcg: {kind: zf, amc: {outer: fcg}}}.",
    )

    @model_validator(mode="after")
    def _reference_is_run(self) -> DetectorsConfig:
        if self.reference not in self.names:
            raise ValueError(f"reference {self.reference!r} is not among the detectors {self.names}; add it to names")
        return self

    @field_validator("variants")
    @classmethod
    def _variant_names(cls, variants: dict[str, AnalogVariant]) -> dict[str, AnalogVariant]:
        for name in variants:
            if name in CATALOGUE or not name.replace("_", "").isalnum():
                raise ValueError(f"variant name {name!r} must be letters, digits and '_' and not a built-in detector")
        return variants

    def info(self, name: str) -> DetectorInfo:
        """The catalogue entry of a built-in detector or an analog variant of this section.

        Raises:
            KeyError: for a name that is neither.
        """
        if name in self.variants:
            return DetectorInfo(name, self.variants[name].kind, "analog", "double", "hpinv")
        return CATALOGUE[name]


def parity_reference(info: DetectorInfo, reference: str, available: Iterable[str]) -> str | None:
    """The exact detector that ``info``'s BER parity is judged against.

    One of the same kind (ZF or MMSE): the scenario's ``reference`` when it is of that kind, else
    ``<kind>_fp32``, else ``<kind>_fp64``; None when none of these was run.

    Example:
        >>> parity_reference(CATALOGUE["analog_mmse"], "zf_fp32", {"zf_fp32", "mmse_fp64"})
        'mmse_fp64'
    """
    available = set(available)
    candidates = [reference] if reference in CATALOGUE and CATALOGUE[reference].kind == info.kind else []
    candidates += [f"{info.kind}_fp32", f"{info.kind}_fp64"]
    return next((c for c in candidates if c in available), None)
