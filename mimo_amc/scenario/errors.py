"""The scenario layer's exception and the one formatter of validation errors.

Every message is one paragraph per problem: the file, the field path (``amc.device.bits``), the
value given and what is allowed (with "did you mean" for misspelt keys).
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from .schema import Scenario, short


class ScenarioError(Exception):
    """A scenario that cannot run; the message says where, what was given and what is allowed."""


def model_of(annotation: Any) -> type[BaseModel] | type[dict] | None:
    """The model (or dict) type inside a field annotation such as ``X | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is dict:
        return dict
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = model_of(arg)
            if found is not None:
                return found
    return None


def hint(name: str, allowed: typing.Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(name, allowed, n=1)
    maybe = f"Did you mean {close[0]!r}? " if close else ""
    return f"{maybe}Allowed: {', '.join(allowed)}."


def _child(annotation: Any, key: str | int) -> Any:
    """The annotation of field/item ``key`` inside ``annotation`` (models, dicts, lists, optionals)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = inner[0] if inner else annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(key) if isinstance(key, str) else None
        return field.annotation if field else None
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict and len(args) == 2:
        return args[1]
    if typing.get_origin(annotation) is list and args:
        return args[0]
    return None


MOVED: dict[str, str] = {
    "amc.iterations": "is not part of the chip: detectors.iterations sets the iterations of every iterative "
    "detector (the precision and cost sections have their own iterations)",
    "detectors.variants.*.amc.iterations": "is not part of the chip: detectors.iterations sets the iterations of "
    "every iterative detector",
}
"""Fields that left a section, with where their job went (instead of a bare "unknown field")."""


def _generic(loc: tuple[Any, ...]) -> str:
    """A location with variant names replaced by ``*``: ``detectors.variants.*.amc.iterations``."""
    parts = [str(p) for p in loc]
    if parts[:2] == ["detectors", "variants"] and len(parts) > 2:
        parts[2] = "*"
    return ".".join(parts)


def explain(exc: ValidationError, source: str) -> str:
    """One paragraph per problem: file, field path, value given, what is allowed."""
    lines = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
        msg = err["msg"].removeprefix("Value error, ")
        if not loc:
            lines.append(f"{source}: {msg}.")
            continue
        if err["type"] == "extra_forbidden" and MOVED.get(_generic(err["loc"])):
            lines.append(f"{source}: field {loc!r}: {MOVED[_generic(err['loc'])]}.")
            continue
        if err["type"] == "extra_forbidden":
            parent: Any = Scenario
            for p in err["loc"][:-1]:
                parent = _child(parent, p)
            model = model_of(parent)
            allowed = model.model_fields if isinstance(model, type) and issubclass(model, BaseModel) else {}
            lines.append(f"{source}: field {loc!r}: unknown field. {hint(str(err['loc'][-1]), allowed)}")
            continue
        given = err.get("input")
        shown = "" if isinstance(given, dict) else f" = {short(given)}"
        lines.append(f"{source}: field {loc!r}{shown}: {msg}.")
    return " ".join(lines)
