"""SQL's NULL in aggregation expressions: the guards every translation table builds on.

SQL compares nothing with NULL (the comparison is UNKNOWN); MongoDB orders null (and a
missing field) below every other value and compares it like any other. Every translation
that must keep SQL's answer guards its operands with these helpers. They import nothing of
the compiler, so every layer above may use them.
"""

from __future__ import annotations

#: Compared with ``$gt``: anything greater than null is neither null nor missing.
NULL_GUARD = None


class NonNull(str):
    """A field path known never to be null or missing: comparisons need no null guard."""

    __slots__ = ()


def is_not_null(expression):
    """True when ``expression`` is neither null nor missing (null sorts below everything)."""
    return {"$gt": [expression, NULL_GUARD]}


def may_be_null(operand):
    if isinstance(operand, NonNull):
        return False
    if isinstance(operand, dict) and len(operand) == 1 and "$literal" in operand:
        return operand["$literal"] is None
    return not isinstance(operand, bool | int | float)


def null_guards(*operands):
    """The guards SQL's NULL semantics need for these operands (none for known values)."""
    return [is_not_null(operand) for operand in operands if may_be_null(operand)]


def null_if_missing(expression):
    """``expression``, with a missing value made null (``$ifNull: [expression, null]``).

    A SQL NULL is a value; MongoDB's *missing* (a field an outer join left absent, an array
    element out of bounds) is none. Where a value is stored under a key, missing drops the key:
    ``{k: ..., v: "$missing"}`` loses ``v`` (and ``$arrayToObject`` then fails, code 40392),
    and a compound ``$group`` ``_id`` keeps a missing key apart from a null one (two groups
    where SQL has one NULL group). Array literals need no wrapping: MongoDB stores a missing
    element as null (ExpressionArray::evaluate).
    """
    if isinstance(expression, NonNull) or not may_be_null(expression):
        return expression
    if isinstance(expression, dict) and "$literal" in expression:
        return expression
    return {"$ifNull": [expression, None]}
