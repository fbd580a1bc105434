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

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def trusted(cls: type[M]) -> Callable[[dict[str, Any]], M]:
    """A constructor for `cls` that stores already-valid values without validating them.

    The returned function is equivalent to `cls.model_construct(set(values), **values)` when
    `values` names every field of `cls` (tests check it against full validation); the caller
    guarantees that it does.
    """
    # One set for every instance: it names every field, so pydantic's only in-place change to
    # it (adding a field name on assignment, impossible on these frozen models anyway) is a
    # no-op, and model_copy() copies it before updating.
    fields = set(cls.model_fields)
    new = object.__new__
    # BaseModel's slots (and its __dict__), set through their descriptors: faster than
    # object.__setattr__, and the values dict becomes the instance's without a copy
    set_dict = BaseModel.__dict__["__dict__"].__set__
    set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
    set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
    set_private = BaseModel.__dict__["__pydantic_private__"].__set__

    def build(values: dict[str, Any]) -> M:
        instance = new(cls)
        set_dict(instance, values)
        set_fields_set(instance, fields)
        set_extra(instance, None)
        set_private(instance, None)
        return instance

    return build
