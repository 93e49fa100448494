"""Sets of Django field types the translations tell apart (by ``get_internal_type()``)."""

from __future__ import annotations

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
