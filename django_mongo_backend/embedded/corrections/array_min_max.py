"""``$max`` / ``$min`` of one array operand: the largest / smallest element of any type.

MongoDB's expression ``{$max: <array>}`` runs the ``$max`` accumulator over the array's
elements (``ExpressionFromAccumulator``: a single array argument is traversed), which skips
null, missing and undefined and compares the rest in BSON order: ``{$max: ["a", "b", null]}``
is ``"b"`` (manual, "$max (aggregation)": "With a single expression as its operand, if the
expression resolves to an array, $max traverses into the array elements"). mongoeco kept only
the numbers of the array, so the largest string of an array was null.
"""

from __future__ import annotations

from copy import deepcopy

from mongoeco.core.aggregation import scalar_expressions
from mongoeco.types import UndefinedType

from .. import registry

_TEST = "tests/embedded/test_window_fields.py::test_max_and_min_of_an_array_of_any_type"


def _traversing(original):
    def evaluate(operator, document, spec, variables, **kwargs):
        if isinstance(spec, list):
            return original(operator, document, spec, variables, **kwargs)
        value = kwargs["evaluate_expression_with_missing"](document, spec, variables)
        if not isinstance(value, list):
            return original(operator, document, spec, variables, **kwargs)
        missing = kwargs["missing_sentinel"]
        candidates = [
            item
            for item in value
            if item is not None and item is not missing and not isinstance(item, UndefinedType)
        ]
        if not candidates:
            return None
        selected = candidates[0]
        for candidate in candidates[1:]:
            comparison = scalar_expressions.compare_with_collation(
                candidate,
                selected,
                dialect=kwargs["dialect"],
                collation=getattr(variables, "collation", None),
            )
            if (operator == "$max" and comparison > 0) or (operator == "$min" and comparison < 0):
                selected = candidate
        return deepcopy(selected)

    return evaluate


def install():
    """Apply the correction; calling it again changes nothing."""
    registry.replace(
        scalar_expressions,
        "_evaluate_min_max_expression",
        wrap=_traversing,
        rule="$max/$min of one array operand compare every non-null element in BSON order",
        test=_TEST,
    )
