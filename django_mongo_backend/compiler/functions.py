"""``django.db.models.functions`` -> MongoDB aggregation operators, as one table.

``FUNCTIONS`` maps a Func class to a builder
``(expression_compiler, expression, args) -> expression`` where ``args`` are the compiled
source expressions. SQL functions return NULL when an argument is NULL; most MongoDB
operators do too, and the builders add guards where they do not.
"""

from __future__ import annotations

import decimal
import math
import re

from bson import Decimal128
from django.conf import settings
from django.core.exceptions import FieldError
from django.db import NotSupportedError
from django.db.models import functions as fn
from django.db.models.functions import datetime as dt

from ..operations import JSON_NULL
from . import float_text, timezones
from .dispatch import by_class
from .field_types import INTEGER_TYPES, internal_type
from .nulls import may_be_null, null_if_missing


def _null_if_any_null(args, result):
    """``result``, or NULL when an argument is NULL or missing (``$lte: [x, null]``); an
    argument known never to be null needs no test."""
    tests = [{"$lte": [arg, None]} for arg in args if may_be_null(arg)]
    if not tests:
        return result
    return {"$cond": [tests[0] if len(tests) == 1 else {"$or": tests}, None, result]}


def _operator(name, *, unary=True):
    def build(expression_compiler, expression, args):
        return {name: args[0] if unary else args}

    return build


def _text_operator(name):
    """A string operator that does not give NULL for NULL: ``$toLower``/``$toUpper`` turn
    null into "", ``$strLenCP`` refuses it; SQL's LOWER(NULL), LENGTH(NULL) are NULL."""

    def build(expression_compiler, expression, args):
        return _null_if_any_null(args, {name: args[0]})

    return build


def _pi(expression_compiler, expression, args):
    return {"$literal": math.pi}


def _random(expression_compiler, expression, args):
    return {"$rand": {}}


def _concat_operands(expression):
    """The values of a Concat: Django pairs them (``ConcatPair(a, ConcatPair(b, ...))``), one
    level per value; read back flat."""
    operands = []
    pending = [expression]
    while pending:
        node = pending.pop()
        if isinstance(node, fn.Concat | fn.ConcatPair):
            pending.extend(reversed(node.get_source_expressions()))
        else:
            operands.append(node)
    return operands


def _concat(expression_compiler, expression):
    """One flat ``$concat``: a nested one per pair would add three BSON levels per value, and
    MongoDB refuses a command nested deeper than 200 (BSONDepth::kDefaultMaxAllowableDepth)
    — about 60 values. Django's Concat treats NULL as '' (ConcatPair coalesces on every
    backend), so each value is guarded; the concatenated pairs never are NULL."""
    operands = _concat_operands(expression)
    args = [
        _as_text(operand, compiled)
        for operand, compiled in zip(
            operands, expression_compiler.compile_many(operands), strict=True
        )
    ]
    return {"$concat": [{"$ifNull": [arg, ""]} for arg in args]}


#: Fields whose stored values are strings already.
_TEXT_TYPES = frozenset(
    {
        "CharField",
        "TextField",
        "SlugField",
        "EmailField",
        "URLField",
        "GenericIPAddressField",
        "IPAddressField",
        "FilePathField",
        "FileField",
        "ImageField",
        "TimeField",  # "HH:MM:SS.ffffff"
    }
)


def _as_text(operand, compiled):
    """A Concat operand as text: ``$concat`` takes strings only (16702), and SQL concatenates
    a number or a date by its text (PostgreSQL casts the non-text columns, SQLite's || reads
    them as text), so they go through the conversion of a cast to text."""
    try:
        kind = operand.output_field.get_internal_type()
    except (AttributeError, FieldError):
        return compiled
    if kind in _TEXT_TYPES:
        return compiled
    return _converted(kind, "$toString", [compiled])


def _coalesce(expression_compiler, expression, args):
    if len(args) == 1:
        return args[0]
    return {"$ifNull": args}


def _substr(expression_compiler, expression, args):
    string, start = args[0], args[1]
    length = args[2] if len(args) > 2 else {"$strLenCP": {"$ifNull": [string, ""]}}
    return _null_if_any_null(args[:2], {"$substrCP": [string, {"$subtract": [start, 1]}, length]})


def _left(expression_compiler, expression, args):
    return _null_if_any_null(args, {"$substrCP": [args[0], 0, args[1]]})


def _right(expression_compiler, expression, args):
    length = {"$strLenCP": {"$ifNull": [args[0], ""]}}
    start = {"$max": [0, {"$subtract": [length, args[1]]}]}
    return _null_if_any_null(args, {"$substrCP": [args[0], start, args[1]]})


def _strindex(expression_compiler, expression, args):
    return _null_if_any_null(args, {"$add": [{"$indexOfCP": args}, 1]})


def _constant(arg):
    """``(True, value)`` for a compiled constant (``{"$literal": value}``), else ``(False,
    None)``."""
    if isinstance(arg, dict) and len(arg) == 1 and "$literal" in arg:
        return True, arg["$literal"]
    if isinstance(arg, str) and not arg.startswith("$"):
        return True, arg
    return False, None


def _replace(expression_compiler, expression, args):
    """SQL's REPLACE returns its input unchanged when the search string is empty (SQLite's
    replace(), PostgreSQL's replace()); MongoDB's ``$replaceAll`` inserts the replacement at
    every position then (ExpressionReplaceAll::_doEval: "albatross", "", "one " gives
    "one aone lone ...", and byte by byte, so it splits a multibyte UTF-8 character). With an
    empty search, the replacement handed to ``$replaceAll`` is "": the input comes back as
    it is, and NULL stays NULL (any NULL argument still gives NULL, as in PostgreSQL)."""
    text, find = args[0], args[1]
    replacement = args[2] if len(args) > 2 else ""
    find_known, find_value = _constant(find)
    replacement_known, replacement_value = _constant(replacement)
    if find_known and find_value == "" and replacement_known and replacement_value is not None:
        return text
    if not find_known or find_value == "":
        empty = "" if replacement_known and replacement_value is not None else None
        if empty is None:
            empty = {"$cond": [{"$lte": [replacement, None]}, None, ""]}
        replacement = {"$cond": [{"$eq": [find, ""]}, empty, replacement]}
    return {"$replaceAll": {"input": text, "find": find, "replacement": replacement}}


def _trim(side):
    def build(expression_compiler, expression, args):
        return {side: {"input": args[0]}}

    return build


def _greatest_least(operator):
    def build(expression_compiler, expression, args):
        # SQL returns NULL when any argument is NULL (PostgreSQL ignores NULLs: we follow
        # features.greatest_least_ignores_nulls = True, which is what $max/$min do).
        return {operator: args}

    return build


def _nullif(expression_compiler, expression, args):
    return {"$cond": [{"$eq": args}, None, args[0]]}


def _now(expression_compiler, expression, args):
    return "$$NOW"


def _cast(expression_compiler, expression, args):
    field = expression.output_field
    while field.is_relation:  # a ForeignKey casts to its target's type (cast_db_type)
        field = field.target_field
    target = field.get_internal_type()
    if target == "JSONField":
        return args[0]  # stored values already are JSON values (documents, arrays, scalars)
    source = _source_type(expression)
    if target in ("DateField", "TimeField") and source == "DateTimeField":
        return _datetime_as(target, args[0], expression_compiler.connection)
    if target == "UUIDField":
        if source == "UUIDField":
            return args[0]  # a UUID is stored as one already (binData subtype 4)
        raise NotSupportedError(
            f"Cast of a {source or 'value'} to UUIDField is not supported on MongoDB 7.0, whose "
            "$convert makes no binData (a UUID) of text (new in 8.0)"
        )
    operator = CAST_OPERATORS.get(target)
    if operator is None:
        raise NotSupportedError(f"Cast to {target} is not supported on MongoDB")
    if target == "DecimalField" and field.decimal_places is not None:
        # CAST(x AS numeric(m, d)) rounds to d places, a half away from zero.
        steps = _decimal_steps(field.decimal_places)
        return _null_if_any_null(
            args, {"$round": [_off_ties({operator: args[0]}, steps), field.decimal_places]}
        )
    if operator == "$toString" and getattr(field, "max_length", None):
        # CAST(x AS varchar(n)) keeps the first n characters.
        text = _converted(source, operator, args)
        return _null_if_any_null(args, {"$substrCP": [text, 0, field.max_length]})
    return _converted(source, operator, args)


def _datetime_as(target, value, connection):
    """A datetime cast to a date or a time, in the database connection's time zone (as
    PostgreSQL's ``::date``/``::time`` read a timestamptz in the session's zone, which Django
    sets to the connection's): the day it starts (a date is stored at midnight UTC), or the
    time's text to the millisecond BSON keeps (``features.time_cast_precision``)."""
    tzname = connection.timezone_name if settings.USE_TZ else None
    local = timezones.wall_clock(value, None if tzname == "UTC" else tzname)
    if target == "DateField":
        return {"$dateTrunc": {"date": local, "unit": "day"}}
    return {"$dateToString": {"date": local, "format": "%H:%M:%S.%L000"}}


def _converted(source, operator, args):
    """``args[0]`` through the conversion operator, with SQL's text for floats and dates."""
    if operator == "$toString" and source == "FloatField":
        # $toString keeps six digits of a double ("%g"): SQL's text keeps them all.
        return float_text.double_text(args[0])
    if operator == "$toString" and source == "DateField":
        # A date is stored as a BSON date at midnight UTC, which $toString writes as an ISO
        # datetime ("2020-05-01T00:00:00.000Z"); SQL's text of a date is "2020-05-01".
        return {"$dateToString": {"date": args[0], "format": "%Y-%m-%d"}}
    if operator == "$toString" and source == "UUIDField":
        # A UUIDField is binData (subtype 4), and MongoDB 7.0's $convert has no binData ->
        # string conversion ($toString of a UUID is new in 8.0): ConversionFailure on any row.
        raise NotSupportedError(
            "Cast of a UUIDField to text is not supported on MongoDB 7.0, which cannot "
            "convert a UUID (binData) to its text"
        )
    return {operator: args[0]}  # each returns null for null, as CAST does


def _source_type(expression):
    try:
        return expression.source_expressions[0].output_field.get_internal_type()
    except Exception:
        return None


CAST_OPERATORS = {
    "CharField": "$toString",
    "TextField": "$toString",
    "IntegerField": "$toInt",
    "SmallIntegerField": "$toInt",
    "PositiveIntegerField": "$toInt",
    "PositiveSmallIntegerField": "$toInt",
    "BigIntegerField": "$toLong",
    "PositiveBigIntegerField": "$toLong",
    "AutoField": "$toInt",
    "BigAutoField": "$toLong",
    "FloatField": "$toDouble",
    "DecimalField": "$toDecimal",
    "BooleanField": "$toBool",
    "DateTimeField": "$toDate",
    "SmallAutoField": "$toInt",
    "DurationField": "$toLong",  # int64 microseconds
}

#: Extract lookup_name -> the date operator that yields it.
EXTRACT_OPERATORS = {
    "year": "$year",
    "iso_year": "$isoWeekYear",
    "month": "$month",
    "day": "$dayOfMonth",
    "week": "$isoWeek",
    "iso_week_day": "$isoDayOfWeek",
    "hour": "$hour",
    "minute": "$minute",
    "second": "$second",
}


#: What an Extract kind can be (PostgreSQL's ``EXTRACT(<field> FROM ...)`` names a field).
_EXTRACT_KIND = re.compile(r"[A-Za-z_]+")


def _extract(expression_compiler, expression, args):
    kind = expression.lookup_name
    internal_type = expression.lhs.output_field.get_internal_type()
    tzname = timezones.tzname_for(expression)
    if internal_type == "TimeField":
        return timezones.extract_from_time(kind, args[0])
    if internal_type == "DurationField":
        # Django's own error on a backend without features.has_native_duration_field (a
        # duration is int64 microseconds here, not an interval with components).
        raise ValueError("Extract requires native DurationField database support.")
    # No NULL guard: the date operators give null for a null or missing date (as do
    # $dateToParts / $dateFromParts in wall_clock, $divide and $ceil): SQL's EXTRACT of NULL.
    date = timezones.wall_clock(args[0], tzname)
    if kind == "week_day":
        # Django: 1 = Sunday ... 7 = Saturday, as $dayOfWeek.
        return {"$dayOfWeek": date}
    if kind == "quarter":
        return {"$ceil": {"$divide": [{"$month": date}, 3]}}
    operator = EXTRACT_OPERATORS.get(kind)
    if operator is None:
        if not _EXTRACT_KIND.fullmatch(kind):
            # As Django's PostgreSQL operations refuse a kind that is no field name.
            raise ValueError(f"Invalid lookup type: {kind!r}")
        raise NotSupportedError(f"Extract {kind!r} is not supported on MongoDB")
    return {operator: date}


def _trunc(expression_compiler, expression, args):
    return timezones.trunc(expression, args[0])


def _round(expression_compiler, expression, args):
    """SQL's ROUND: the place may be negative, and the result keeps the input's type, as with
    MongoDB's ``$round``; but ``$round`` takes a half to the even neighbour ("Rounding to
    Even Values" in the manual) where SQLite, and PostgreSQL for integers and numerics, take
    it away from zero (ROUND(365, -1) is 370, not 360). For those exact types a value exactly
    halfway is first moved a tenth of the unit away from zero. Floats keep ``$round``'s
    half-to-even, which is PostgreSQL's ``round(double precision)``; a place that is not a
    constant keeps it too."""
    place = args[1] if len(args) > 1 else 0
    steps = _rounding_steps(expression)
    value = args[0] if steps is None else _off_ties(args[0], steps)
    return _null_if_any_null(args, {"$round": [value, place]})


def _off_ties(value, steps):
    """``value`` moved a tenth of a unit away from zero when it is exactly halfway between
    two multiples of the unit, so that ``$round`` takes it away from zero."""
    unit, half, nudge = steps
    halfway = {"$eq": [{"$mod": [{"$abs": "$$rounded"}, unit]}, half]}
    away = {"$cond": [{"$lt": ["$$rounded", 0]}, {"$multiply": [nudge, -1]}, nudge]}
    moved = {"$cond": [halfway, {"$add": ["$$rounded", away]}, "$$rounded"]}
    return {"$let": {"vars": {"rounded": value}, "in": moved}}


def _decimal_steps(place):
    return tuple(
        Decimal128(decimal.Decimal(digit).scaleb(exponent))
        for digit, exponent in ((1, -place), (5, -place - 1), (1, -place - 1))
    )


def _rounding_steps(expression):
    """(unit, half a unit, a tenth of a unit) of a Round of an integer or decimal column to a
    constant place, as values of the column's type; None where no half can occur (an integer
    to a place >= 0) or the type or place is not known."""
    sources = expression.get_source_expressions()
    place = sources[1].value if len(sources) > 1 and hasattr(sources[1], "value") else 0
    if not isinstance(place, int) or isinstance(place, bool):
        return None
    kind = internal_type(sources[0])
    if kind == "DecimalField":
        return _decimal_steps(place)
    if kind in INTEGER_TYPES and place < 0:
        return 10**-place, 5 * 10 ** (-place - 1), 10 ** (-place - 1)
    return None


def _sign(expression_compiler, expression, args):
    return _null_if_any_null(args, {"$cmp": [args[0], 0]})


def _log(expression_compiler, expression, args):
    base, number = args  # Django's Log(base, number)
    return {"$log": [number, base]}


def _cot(expression_compiler, expression, args):
    return _null_if_any_null(args, {"$divide": [1, {"$tan": args[0]}]})


def _repeated(string, times):
    """``string`` concatenated ``times`` times (no operator does it: a $reduce over a range)."""
    return {
        "$reduce": {
            "input": {"$range": [0, times]},
            "initialValue": "",
            "in": {"$concat": ["$$value", string]},
        }
    }


def _repeat(expression_compiler, expression, args):
    return _null_if_any_null(args, _repeated(args[0], {"$max": [args[1], 0]}))


def _reverse(expression_compiler, expression, args):
    """REVERSE: the string's characters (code points, as ``$substrCP`` counts them) in reverse
    order, each put in front of those before it. No operator does it (``$reverseArray`` takes
    an array); ``$strLenCP`` refuses null, and SQL's REVERSE(NULL) is NULL: guarded."""
    reversed_ = {
        "$reduce": {
            "input": {"$range": [0, {"$strLenCP": "$$string"}]},
            "initialValue": "",
            "in": {"$concat": [{"$substrCP": ["$$string", "$$this", 1]}, "$$value"]},
        }
    }
    result = {"$let": {"vars": {"string": args[0]}, "in": reversed_}}
    return _null_if_any_null(args, result)


def _pad(side):
    """LPAD/RPAD: a string shorter than ``length`` is padded with ``fill`` repeated; a longer
    one is cut to ``length`` characters, as SQL does."""

    def build(expression_compiler, expression, args):
        string, length, fill = args[0], args[1], args[2] if len(args) > 2 else " "
        missing = {"$subtract": ["$$length", {"$strLenCP": "$$string"}]}
        padding = {"$substrCP": [_repeated("$$fill", missing), 0, missing]}
        padded = {"$concat": [padding, "$$string"] if side == "left" else ["$$string", padding]}
        body = {
            "$cond": [
                {"$gte": [{"$strLenCP": "$$string"}, "$$length"]},
                {"$substrCP": ["$$string", 0, {"$max": ["$$length", 0]}]},
                padded,
            ]
        }
        result = {"$let": {"vars": {"string": string, "length": length, "fill": fill}, "in": body}}
        return _null_if_any_null(args, result)

    return build


def _nested(source, arg):
    """A value placed inside a JSON document or array: a JSON column's own JSON null
    (JSON_NULL, MaxKey: docs/fields.rst) is a plain null there, as every nested null is."""
    if internal_type(source) != "JSONField":
        return arg
    return {"$cond": [{"$eq": [arg, {"$literal": JSON_NULL}]}, None, arg]}


def _json_object(expression_compiler, expression, args):
    # Keys are data: $arrayToObject takes them as values, so "$where" stays a key.
    # A missing value (an outer join found nothing) would drop "v": null it (SQL's NULL).
    sources = expression.get_source_expressions()
    pairs = [
        {"k": args[index], "v": null_if_missing(_nested(sources[index + 1], args[index + 1]))}
        for index in range(0, len(args), 2)
    ]
    return {"$arrayToObject": [pairs]}


def _json_array(expression_compiler, expression, args):
    sources = expression.get_source_expressions()
    return [_nested(source, arg) for source, arg in zip(sources, args, strict=True)]


FUNCTIONS = {
    fn.Lower: _text_operator("$toLower"),
    fn.Upper: _text_operator("$toUpper"),
    fn.Length: _text_operator("$strLenCP"),
    fn.Coalesce: _coalesce,
    fn.Substr: _substr,
    fn.Left: _left,
    fn.Right: _right,
    fn.StrIndex: _strindex,
    fn.Replace: _replace,
    fn.Trim: _trim("$trim"),
    fn.LTrim: _trim("$ltrim"),
    fn.RTrim: _trim("$rtrim"),
    fn.Greatest: _greatest_least("$max"),
    fn.Least: _greatest_least("$min"),
    fn.NullIf: _nullif,
    fn.Now: _now,
    fn.Cast: _cast,
    fn.Abs: _operator("$abs"),
    fn.Ceil: _operator("$ceil"),
    fn.Floor: _operator("$floor"),
    fn.Sqrt: _operator("$sqrt"),
    fn.Exp: _operator("$exp"),
    fn.Ln: _operator("$ln"),
    fn.Mod: _operator("$mod", unary=False),
    fn.Power: _operator("$pow", unary=False),
    dt.Extract: _extract,
    dt.TruncBase: _trunc,
    fn.Round: _round,
    fn.Sign: _sign,
    fn.Log: _log,
    fn.Pi: _pi,
    fn.Random: _random,
    fn.Sin: _operator("$sin"),
    fn.Cos: _operator("$cos"),
    fn.Tan: _operator("$tan"),
    fn.ASin: _operator("$asin"),
    fn.ACos: _operator("$acos"),
    fn.ATan: _operator("$atan"),
    fn.ATan2: _operator("$atan2", unary=False),
    fn.Cot: _cot,
    fn.Degrees: _operator("$radiansToDegrees"),
    fn.Radians: _operator("$degreesToRadians"),
    fn.Repeat: _repeat,
    fn.Reverse: _reverse,
    fn.LPad: _pad("left"),
    fn.RPad: _pad("right"),
    fn.JSONObject: _json_object,
}
if hasattr(fn, "JSONArray"):  # Django 5.2+
    FUNCTIONS[fn.JSONArray] = _json_array


#: Functions that compile their own source expressions:
#: ``(expression_compiler, expression) -> expression``.
SELF_COMPILED = {
    fn.Concat: _concat,
    fn.ConcatPair: _concat,
}


_NO_HASH = (
    "MongoDB 7.0's aggregation has no hash operator (only server-side JavaScript, which "
    "deployments often disable and 8.0 deprecates): compute the digest in Python and store it"
)
_NO_CODE_POINTS = "MongoDB 7.0's aggregation has no operator between a character and its code point"
_NO_UUIDS = (
    "MongoDB 7.0's aggregation cannot generate a UUID: give the field a Python default (uuid.uuid4)"
)

#: Django functions with no MongoDB 7.0 equivalent, by class name (UUID4/UUID7 are Django 6
#: only), each with why: NotSupportedError says so instead of "not yet". UUID4 and UUID7 start
#: with the message Django gives on a backend without the feature
#: (``features.supports_uuid4_function``/``supports_uuid7_function``).
UNAVAILABLE = {
    **dict.fromkeys(["MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512"], _NO_HASH),
    "Chr": _NO_CODE_POINTS,
    "Ord": _NO_CODE_POINTS,
    "UUID4": "UUID4 is not supported on this database backend. " + _NO_UUIDS,
    "UUID7": "UUID7 is not supported on this database backend. " + _NO_UUIDS,
}


def compile_function(expression_compiler, expression):
    builder = by_class(SELF_COMPILED, expression)
    if builder is not None:
        return builder(expression_compiler, expression)
    builder = by_class(FUNCTIONS, expression)
    if builder is not None:
        args = expression_compiler.compile_many(expression.get_source_expressions())
        return builder(expression_compiler, expression, args)
    name = type(expression).__name__
    if name in UNAVAILABLE and type(expression).__module__.startswith("django.db.models"):
        reason = UNAVAILABLE[name]
        if not reason.startswith(name):
            reason = f"{name}() is not supported on MongoDB: {reason}"
        raise NotSupportedError(reason)
    raise NotSupportedError(f"the {name} function is not supported by the MongoDB backend yet")
