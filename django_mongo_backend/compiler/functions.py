"""``django.db.models.functions`` -> MongoDB aggregation operators, as one table.

``FUNCTIONS`` maps a Func class to a builder
``(expression_compiler, expression, args) -> expression`` where ``args`` are the compiled
source expressions. SQL functions return NULL when an argument is NULL; most MongoDB
operators do too, and the builders add guards where they do not.
"""

from __future__ import annotations

import math

from django.db import NotSupportedError
from django.db.models import TextField
from django.db.models import functions as fn
from django.db.models.functions import datetime as dt

from . import float_text, timezones
from .dispatch import by_class
from .field_types import NUMERIC_TYPES
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


def _as_text(operand):
    """A number concatenated is its text, as SQL's ``||`` makes it (PostgreSQL's ConcatPair
    casts each value to text); ``$concat`` takes strings only (code 16702)."""
    try:
        field = operand.output_field
    except Exception:  # no single output type: left as it is
        return operand
    while field.is_relation and getattr(field, "target_field", None) is not None:
        field = field.target_field  # a foreign key holds its target's value
    if field.get_internal_type() in NUMERIC_TYPES:
        return fn.Cast(operand, TextField())
    return operand


def _concat(expression_compiler, expression):
    """One flat ``$concat``: a nested one per pair would add three BSON levels per value, and
    MongoDB refuses a command nested deeper than 200 (BSONDepth::kDefaultMaxAllowableDepth)
    — about 60 values. Django's Concat treats NULL as '' (ConcatPair coalesces on every
    backend), so each value is guarded; the concatenated pairs never are NULL."""
    operands = [_as_text(operand) for operand in _concat_operands(expression)]
    args = expression_compiler.compile_many(operands)
    return {"$concat": [{"$ifNull": [arg, ""]} for arg in args]}


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
    target = expression.output_field.get_internal_type()
    if target == "JSONField":
        return args[0]  # stored values already are JSON values (documents, arrays, scalars)
    operator = CAST_OPERATORS.get(target)
    if operator is None:
        raise NotSupportedError(f"Cast to {target} is not supported on MongoDB")
    if operator == "$toString" and _source_type(expression) == "FloatField":
        # $toString keeps six digits of a double ("%g"): SQL's text keeps them all.
        return float_text.double_text(args[0])
    if operator == "$toString" and _source_type(expression) == "DateField":
        # A date is stored as a BSON date at midnight UTC, which $toString writes as an ISO
        # datetime ("2020-05-01T00:00:00.000Z"); SQL's text of a date is "2020-05-01".
        return {"$dateToString": {"date": args[0], "format": "%Y-%m-%d"}}
    if operator == "$toString" and _source_type(expression) == "UUIDField":
        # A UUIDField is binData (subtype 4), and MongoDB 7.0's $convert has no binData ->
        # string conversion ($toString of a UUID is new in 8.0): ConversionFailure on any row.
        raise NotSupportedError(
            f"Cast of a UUIDField to {target} is not supported on MongoDB 7.0, which cannot "
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


def _extract(expression_compiler, expression, args):
    kind = expression.lookup_name
    internal_type = expression.lhs.output_field.get_internal_type()
    if internal_type == "TimeField":
        return timezones.extract_from_time(kind, args[0])
    if internal_type == "DurationField":
        raise NotSupportedError("Extract from DurationField is not supported on MongoDB")
    # No NULL guard: the date operators give null for a null or missing date (as do
    # $dateToParts / $dateFromParts in wall_clock, $divide and $ceil): SQL's EXTRACT of NULL.
    tzname = timezones.tzname_for(expression)
    date = timezones.wall_clock(args[0], tzname)
    if kind == "week_day":
        # Django: 1 = Sunday ... 7 = Saturday, as $dayOfWeek.
        return {"$dayOfWeek": date}
    if kind == "quarter":
        return {"$ceil": {"$divide": [{"$month": date}, 3]}}
    operator = EXTRACT_OPERATORS.get(kind)
    if operator is None:
        raise NotSupportedError(f"Extract {kind!r} is not supported on MongoDB")
    return {operator: date}


def _trunc(expression_compiler, expression, args):
    return timezones.trunc(expression, args[0])


def _round(expression_compiler, expression, args):
    # MongoDB's $round rounds a half to even (as PostgreSQL does for floats); the place may
    # be negative. Its result keeps the input's type, as SQL's ROUND does.
    place = args[1] if len(args) > 1 else 0
    return _null_if_any_null(args, {"$round": [args[0], place]})


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


def _json_object(expression_compiler, expression, args):
    # Keys are data: $arrayToObject takes them as values, so "$where" stays a key.
    # A missing value (an outer join found nothing) would drop "v": null it (SQL's NULL).
    pairs = [
        {"k": args[index], "v": null_if_missing(args[index + 1])}
        for index in range(0, len(args), 2)
    ]
    return {"$arrayToObject": [pairs]}


def _json_array(expression_compiler, expression, args):
    return args


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


def compile_function(expression_compiler, expression):
    builder = by_class(SELF_COMPILED, expression)
    if builder is not None:
        return builder(expression_compiler, expression)
    builder = by_class(FUNCTIONS, expression)
    if builder is not None:
        args = expression_compiler.compile_many(expression.get_source_expressions())
        return builder(expression_compiler, expression, args)
    raise NotSupportedError(
        f"the {type(expression).__name__} function is not supported by the MongoDB backend yet"
    )
