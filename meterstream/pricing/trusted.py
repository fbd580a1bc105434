"""Building the engine's output models without validating them a second time.

The engine computes every field of a CostLine and a PricedUsage from an event that was
already validated, and keeps their invariants by construction (each cost is quantity ×
unit price rounded to 12 places, the total is the exact sum of the lines). Running
pydantic validation again on those values would cost more than the pricing itself, so
`trusted()` stores them the way `BaseModel.model_construct` does, minus its Python-level
default handling: the caller passes every field. Records are validated again wherever they
cross a boundary (the sink parses `usage.priced` with `PricedUsage.model_validate_json`),
and tests check that every record the engine builds passes full validation.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_new = object.__new__
_set = object.__setattr__
_fields: dict[type, frozenset[str]] = {}


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """An instance of `cls` holding `values` (every field, already valid), not re-validated.

    Equivalent to `cls.model_construct(set(values), **values)` when `values` names every
    field (tests check it against full validation); the caller guarantees that it does.
    """
    fields = _fields.get(cls)
    if fields is None:
        fields = _fields[cls] = frozenset(cls.model_fields)
    instance = _new(cls)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", set(fields))
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance
