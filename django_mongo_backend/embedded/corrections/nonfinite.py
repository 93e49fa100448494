"""NaN, Infinity and -Infinity doubles are stored, matched and sorted as MongoDB does.

MongoDB stores any IEEE 754 double, and its rules for the three that are no finite number are
fixed: NaN equals NaN in a query but satisfies no ``$lt``/``$gt`` (only ``$lte``/``$gte`` NaN:
``ComparisonMatchExpressionBase::compare`` in the server's ``matcher/expression_leaf.cpp``),
and in the sort order NaN comes before every other number, -Infinity next, Infinity after every
finite number (``compareDoubles`` in the server's ``base/compare_numbers.h``: NaN is less than
any other number; manual, "Comparison/Sort Order": all numeric types compare by value).

mongoeco 4.11 stores a document as JSON text in SQLite, written by Python's ``json``, which
spells these doubles ``NaN``/``Infinity``: SQLite's JSON functions refuse those tokens, so
every query whose SQL reads a field of such a document failed with "malformed JSON" (any filter
of the collection, an index's maintenance, the unique-index check), and its index keys
(``bson_numeric_index_key``) refuse them outright. What we change:

- ``SQLiteEngine._serialize_document``: a document holding a non-finite double is written with
  that double as the codec's tagged double (``{"$mongoeco": {"type": "double", "value":
  "nan"}}``), which mongoeco's decoder already reads back as that float; any other document is
  written exactly as before (checked on mongoeco's own text, no second encoding);
- index keys (``_multikey_value_signature``): -Infinity and Infinity key below and above every
  finite number, so index ranges keep them in order; NaN gets no key (no numeric range holds
  it) and its equality runs on the documents;
- a filter or sort on a field that holds such a tagged double, or a filter with a non-finite
  operand, runs on mongoeco's Python path (``_plan_requires_python_for_decimal_numeric``,
  ``_sort_requires_python``), whose comparisons ``comparisons`` makes MongoDB's.
"""

from __future__ import annotations

import decimal
import math

from bson.decimal128 import Decimal128 as PublicDecimal128
from mongoeco.core.bson_scalars import BsonDecimal128, BsonDouble
from mongoeco.core.codec import DocumentCodec
from mongoeco.core.json_compat import json_dumps_compact
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.types import Decimal128

from .. import registry
from .query_operands import plan_operands

_TESTS = "tests/embedded/test_nonfinite_doubles.py"
#: The codec's tag for a double, and the text each non-finite double is stored as in it.
DOUBLE_TAG = "double"
#: Tokens Python's ``json`` writes for non-finite floats (and SQLite's JSON refuses).
NONFINITE_TOKENS = ("NaN", "Infinity")
#: Index keys of the infinities, around ``bson_numeric_index_key``'s finite keys, which are
#: ``0|<6 digits>|...`` for negatives, ``1|0|!`` for zero and ``2|<6 digits>|...`` for positives.
NEGATIVE_INFINITY_KEY = "0|!"
POSITIVE_INFINITY_KEY = "2|~"


def _tagged(value):
    """The codec's tagged double for a non-finite float (``"nan"``, ``"inf"``, ``"-inf"``,
    which ``float()`` reads back)."""
    return DocumentCodec._tagged_value(DOUBLE_TAG, repr(float(value)))


def _is_nonfinite_float(value):
    return isinstance(value, float) and not math.isfinite(value)


def tag_nonfinite(encoded):
    """``encoded`` (the codec's form of a document) with each non-finite float tagged."""
    if _is_nonfinite_float(encoded):
        return _tagged(encoded)
    if isinstance(encoded, dict):
        if DocumentCodec._is_tagged_value(encoded):
            payload = encoded[DocumentCodec._MARKER]
            if payload[DocumentCodec._TYPE] == DOUBLE_TAG:
                # A BsonDouble read back from a stored document and written again.
                value = payload[DocumentCodec._VALUE]
                return _tagged(value) if _is_nonfinite_float(value) else encoded
        return {key: tag_nonfinite(value) for key, value in encoded.items()}
    if isinstance(encoded, list):
        return [tag_nonfinite(value) for value in encoded]
    return encoded


def _serializing(original):
    def _serialize_document(self, document):
        text = original(self, document)
        if not any(token in text for token in NONFINITE_TOKENS):
            return text
        # The tokens may also be inside a string; tagging changes nothing then.
        return json_dumps_compact(tag_nonfinite(self._codec.encode(document)), sort_keys=False)

    return _serialize_document


def _number(value):
    """``value`` as a float or Decimal when it is a double or a decimal, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, BsonDouble):
        return value.value
    if isinstance(value, float):
        return value
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, (Decimal128, BsonDecimal128)):
        return value.value
    if isinstance(value, PublicDecimal128):
        return value.to_decimal()
    return None


def _nonfinite_key(value):
    """``(True, signature)`` for a non-finite double or decimal, else ``(False, None)``."""
    number = _number(value)
    if number is None:
        return False, None
    if isinstance(number, float):
        if math.isfinite(number):
            return False, None
        is_nan, negative = math.isnan(number), number < 0
    else:
        if number.is_finite():
            return False, None
        is_nan, negative = number.is_nan(), number.is_signed()
    if is_nan:
        return True, None
    return True, ("number", NEGATIVE_INFINITY_KEY if negative else POSITIVE_INFINITY_KEY)


def _signing(original):
    def _multikey_value_signature(value):
        nonfinite, signature = _nonfinite_key(value)
        return signature if nonfinite else original(value)

    return staticmethod(_multikey_value_signature)


def _has_nonfinite_operand(plan):
    """Whether a query plan compares with NaN or an infinity (double or decimal)."""
    return any(_nonfinite_key(value)[0] for value in plan_operands(plan))


def _holds_tagged_double(engine, db_name, coll_name, fields):
    try:
        return any(
            engine._field_contains_tagged_value_type_in_collection(
                db_name, coll_name, field, DOUBLE_TAG
            )
            for field in fields
        )
    except RuntimeError:  # an engine with no connection: nothing stored to check
        return False


def _filtering(original):
    def _plan_requires_python_for_decimal_numeric(self, db_name, coll_name, plan):
        return (
            original(self, db_name, coll_name, plan)
            or _has_nonfinite_operand(plan)
            or _holds_tagged_double(self, db_name, coll_name, self._plan_fields(plan))
        )

    return _plan_requires_python_for_decimal_numeric


def _sorting(original):
    def _sort_requires_python(self, db_name, coll_name, plan, sort):
        if original(self, db_name, coll_name, plan, sort):
            return True
        return bool(sort) and _holds_tagged_double(
            self, db_name, coll_name, [field for field, _direction in sort]
        )

    return _sort_requires_python


def install():
    """Apply the patches (idempotent); after ``comparisons`` and ``performance``, whose
    methods these wrap."""
    registry.replace(
        SQLiteEngine,
        "_serialize_document",
        wrap=_serializing,
        rule="NaN and ±Infinity doubles are stored (as tagged doubles: SQLite's JSON refuses "
        "the NaN/Infinity tokens)",
        test=f"{_TESTS}::test_nonfinite_doubles_are_stored_in_a_collection_with_documents",
    )
    registry.replace(
        SQLiteEngine,
        "_multikey_value_signature",
        wrap=_signing,
        rule="index keys: -Infinity and Infinity around the finite numbers, NaN in no range",
        test=f"{_TESTS}::test_nonfinite_doubles_in_indexed_fields",
    )
    registry.replace(
        SQLiteEngine,
        "_plan_requires_python_for_decimal_numeric",
        wrap=_filtering,
        rule="NaN equals NaN and satisfies no $lt/$gt (expression_leaf.cpp): such filters run "
        "on the bracketed Python comparison",
        test=f"{_TESTS}::test_nan_equals_nan_and_is_in_no_range",
    )
    registry.replace(
        SQLiteEngine,
        "_sort_requires_python",
        wrap=_sorting,
        rule="NaN sorts before every number, then -Infinity; Infinity after every finite "
        "number (Comparison/Sort Order)",
        test=f"{_TESTS}::test_nonfinite_doubles_sort_as_numbers",
    )
