"""Sets of Django field types the translations tell apart (by ``get_internal_type()``), and
the conversion of a computed value to the BSON type a field stores."""

from __future__ import annotations

from typing import Any

from .mql_types import AggregationExpression

#: Integer columns: SQL divides them to an integer, and stores a computed number rounded.
INTEGER_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
    }
)
NUMERIC_TYPES = INTEGER_TYPES | {"FloatField", "DecimalField"}


def internal_type(expression):
    """The internal type of ``expression``'s output field, or None when it has none."""
    try:
        return expression.output_field.get_internal_type()
    except Exception:
        return None


#: SQL columns convert what is assigned to them; a document stores what it is given. A
#: computed value assigned to these fields is converted to the field's BSON type.
STORE_CONVERSIONS = {
    "FloatField": "$toDouble",
    "DecimalField": "$toDecimal",
    # A computed number stored in an integer column is rounded, as SQL's assignment cast does
    # (an integer division is already truncated toward zero).
    **dict.fromkeys(INTEGER_TYPES, "$toLong"),
}


def stored_as(field: Any, expression: AggregationExpression) -> AggregationExpression:
    operator = STORE_CONVERSIONS.get(field.get_internal_type())
    if operator == "$toLong":
        return {operator: {"$round": [expression, 0]}}
    return expression if operator is None else {operator: expression}
