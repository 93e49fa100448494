"""Numbers and strings as MongoDB 7.0 turns one into the other.

mongod writes a double with C's ``%g`` (six significant digits: ``3.14159265`` is ``"3.14159"``,
``1234567.0`` is ``"1.23457e+06"``), not Python's shortest round-trip ``repr``: its string builder
formats ``operator<<(double)`` with ``"%g"`` (src/mongo/bson/util/builder.h), and both
``Value::coerceToString`` (src/mongo/db/exec/document_value/value.cpp) and ``$convert``'s
double-to-string (``performFormatDouble``, src/mongo/db/pipeline/expression.cpp) stream the double
into it. ``$convert``/``$toString`` first spell the special values ``"Infinity"``,
``"-Infinity"``, ``"NaN"`` and ``"-0"``; ``coerceToString`` (``$toLower``, ``$toUpper``,
``$strcasecmp``...) does not, so printf's ``inf``/``nan`` come through there.

``$toLower``/``$toUpper`` change ASCII letters only (``boost::to_lower`` over the UTF-8 bytes in
the C locale), and ``$strcasecmp`` compares the ASCII-uppercased UTF-8 bytes: "É" and "é" differ.

A binData (a UUID included) has no string in MongoDB 7.0: its ``$convert`` conversion table
(``ConversionTable``, src/mongo/db/pipeline/expression.cpp) has no binData row but binData ->
bool, so ``$toString``, ``$convert`` to string and every other target fail with
ConversionFailure (241), which ``onError`` answers. binData -> string came with 8.0 (the
manual's ``$convert``: "Changed in version 8.0";
jstests/aggregation/expressions/convert_bindata.js: "BinData $convert was added in v8.0").
"""

from __future__ import annotations

import datetime
import decimal
import math
import string
import uuid

from mongoeco.core.aggregation import runtime as aggregation_runtime
from mongoeco.core.aggregation import scalar_expressions
from mongoeco.core.bson_scalars import BsonDecimal128, unwrap_bson_numeric
from mongoeco.errors import OperationFailure
from mongoeco.types import Decimal128, Timestamp, UndefinedType

from .. import registry
from .bson_types import type_name

_TESTS = "tests/embedded/test_evaluation.py"
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


def format_double(value):
    """A double as mongod's string builder prints it: C ``%g``."""
    return format(value, "g")


def format_double_for_conversion(value):
    """A double as ``$toString``/``$convert`` spell it (special values by name)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 and math.copysign(1.0, value) < 0:
        return "-0"
    return format_double(value)


def format_decimal(value):
    """A Decimal128 as ``Decimal128::toString`` writes it: scientific notation when the exponent
    is positive or the adjusted exponent below -6 (as Python's ``str``), and every NaN spelled
    ``NaN``."""
    number = value.to_decimal() if isinstance(value, Decimal128) else value
    if number.is_nan():
        return "NaN"
    if number.is_infinite():
        return "Infinity" if number > 0 else "-Infinity"
    return str(number)


def _decimal_value(value):
    if isinstance(value, BsonDecimal128):
        value = unwrap_bson_numeric(value)
    if isinstance(value, (Decimal128, decimal.Decimal)):
        return value
    return None


def _stringify_for_conversion(original):
    """mongoeco's ``$toString``/``$convert`` formatter with MongoDB's double and Decimal128
    spelling; everything else as mongoeco wrote it."""

    def stringify(value):
        raw = unwrap_bson_numeric(value)
        if isinstance(raw, float):
            return format_double_for_conversion(raw)
        number = _decimal_value(raw)
        if number is not None:
            return format_decimal(number)
        return original(value)

    stringify.__wrapped__ = original
    return stringify


def _patch_conversion_strings():
    registry.replace(
        aggregation_runtime,
        "_stringify_aggregation_value",
        wrap=_stringify_for_conversion,
        rule="$toString/$convert spell a double with %g (6 digits) and Infinity/-Infinity/NaN/-0",
        test=f"{_TESTS}::test_to_string_of_a_double_is_printf_g",
    )


# -- binData has no conversion but to bool -------------------------------------------------------

#: The targets mongoeco converts a binData to that MongoDB 7.0's conversion table lacks (named
#: as mongod's ``typeName`` names them, which is how mongoeco names them too). ``bool`` is in
#: the table (always true); string is refused by ``_refuse_bin_data_to_string``.
_REFUSED_FROM_BIN_DATA = frozenset({"int", "long", "double", "decimal", "date", "objectId"})


def is_bin_data(value):
    """A BSON binData as mongoeco holds it: bytes (its ``Binary`` is bytes) or, for subtype 4
    decoded as the standard representation, a ``uuid.UUID``."""
    return isinstance(value, (bytes, bytearray, uuid.UUID))


def unsupported_conversion(source, target):
    """The ConversionFailure ``ConversionTable::findConversionFunc`` raises for a pair of types
    it has no conversion for (``onError`` answers it)."""
    message = f"Unsupported conversion from {source} to {target} in $convert with no onError value"
    return OperationFailure(message, code=241)


def _refuse_bin_data_to_string(original):
    """mongoeco's ``$toString``/``$convert`` formatter, refusing a binData (mongoeco writes a
    UUID's text and other binData in base64, as MongoDB 8.0 does)."""

    def stringify(value):
        if is_bin_data(value):
            raise unsupported_conversion("binData", "string")
        return original(value)

    stringify.__wrapped__ = original
    return stringify


def _refuse_bin_data_conversions(original):
    """mongoeco's scalar conversion (``$convert``, ``$toInt``...), refusing a binData to any
    target but bool with MongoDB's message and code (mongoeco's ``$convert`` raised it without
    a code)."""

    def convert(operator, value, target, **kwargs):
        if target in _REFUSED_FROM_BIN_DATA and is_bin_data(value):
            raise unsupported_conversion("binData", target)
        return original(operator, value, target, **kwargs)

    convert.__wrapped__ = original
    return convert


def _patch_bin_data_conversions():
    registry.replace(
        aggregation_runtime,
        "_stringify_aggregation_value",
        wrap=_refuse_bin_data_to_string,
        rule="$toString/$convert of a binData (UUID included) to string: ConversionFailure 241 "
        "(no binData -> string before MongoDB 8.0); onError answers it",
        test=f"{_TESTS}::test_bin_data_does_not_convert_to_a_string",
    )
    registry.replace(
        scalar_expressions,
        "_convert_aggregation_scalar",
        wrap=_refuse_bin_data_conversions,
        rule="$convert/$toInt/$toLong/$toDouble/$toDecimal/$toDate/$toObjectId of a binData: "
        "ConversionFailure 241 'Unsupported conversion from binData to <type>'",
        test=f"{_TESTS}::test_bin_data_converts_to_bool_only",
    )


# -- coerceToString and the operators built on it ------------------------------------------------


def coerce_to_string(value):
    """``Value::coerceToString``: numbers, strings, dates and timestamps; "" for null and
    missing; error 16007 for anything else."""
    if value is None or isinstance(value, UndefinedType):
        return ""
    if isinstance(value, str):
        return value
    raw = unwrap_bson_numeric(value)
    if isinstance(raw, bool):
        raise OperationFailure("can't convert from BSON type bool to String", code=16007)
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return format_double(raw)
    number = _decimal_value(raw)
    if number is not None:
        return format_decimal(number)
    if isinstance(raw, datetime.datetime):
        aware = raw if raw.tzinfo else raw.replace(tzinfo=datetime.UTC)
        utc = aware.astimezone(datetime.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(raw, Timestamp):
        # Timestamp::toStringPretty, as mongoeco spells it (not checked against mongod).
        return aggregation_runtime._stringify_aggregation_value(raw)
    message = f"can't convert from BSON type {type_name(raw)} to String"
    raise OperationFailure(message, code=16007)


def _single_argument(operator, spec):
    args = spec if isinstance(spec, list) else [spec]
    if len(args) != 1:
        message = f"Expression {operator} takes exactly 1 arguments. {len(args)} were passed in."
        raise OperationFailure(message, code=16020)
    return args[0]


def _case_operator(operator, table):
    """``$toLower``/``$toUpper``: the coerced string with its ASCII letters mapped."""

    def evaluate(document, spec, variables, dialect, ctx):
        value = ctx.evaluate_expression(document, _single_argument(operator, spec), variables)
        return coerce_to_string(value).translate(table)

    return evaluate


def _strcasecmp(document, spec, variables, dialect, ctx):
    """``$strcasecmp``: -1, 0 or 1 comparing the ASCII-uppercased UTF-8 bytes."""
    args = spec if isinstance(spec, list) else [spec]
    if len(args) != 2:
        message = f"Expression $strcasecmp takes exactly 2 arguments. {len(args)} were passed in."
        raise OperationFailure(message, code=16020)
    left, right = (
        coerce_to_string(ctx.evaluate_expression(document, arg, variables))
        .translate(_ASCII_UPPER)
        .encode("utf-8")
        for arg in args
    )
    return (left > right) - (left < right)


OPERATORS = {
    "$toLower": _case_operator("$toLower", _ASCII_LOWER),
    "$toUpper": _case_operator("$toUpper", _ASCII_UPPER),
    "$strcasecmp": _strcasecmp,
}

#: Each operator of ``OPERATORS`` -> (the MongoDB rule its handler implements, its test).
RULES = {
    **dict.fromkeys(
        ("$toLower", "$toUpper"),
        (
            "$toLower/$toUpper map ASCII letters only, over Value::coerceToString's string",
            f"{_TESTS}::test_to_lower_and_to_upper_map_ascii_letters_only",
        ),
    ),
    "$strcasecmp": (
        "$strcasecmp compares the ASCII-uppercased UTF-8 bytes",
        f"{_TESTS}::test_strcasecmp_folds_ascii_letters_only",
    ),
}

PATCHES = (_patch_conversion_strings, _patch_bin_data_conversions)
