"""Aggregation expression operators mongoeco lacks or evaluates unlike MongoDB.

mongoeco's evaluator consults its expression-extension registry before its built-in operator
tables, so registering an operator here adds it (``$sin``, ``$not``...) or replaces mongoeco's
version of it (``$ceil`` returning an int for a double...). A few corrections cannot be made
per operator and patch the mongoeco helpers they live in (``PATCHES``: Decimal128 precision,
Decimal128 conversions, truthiness of numeric zeros, ``$push``/``$addToSet`` of missing values,
``$dateToString`` specifiers). Three sibling modules hold the rest of the evaluation
corrections, each with its own ``OPERATORS``, ``RULES`` and ``PATCHES``: ``strings`` (numbers as
strings, ASCII case mapping), ``missing`` (a missing value kept apart from null) and ``regex``
(PCRE2). ``install()`` applies everything through ``registry`` (each operator with the rule in
``RULES`` and its test); the server calls it once at import time. All of it is written against
mongoeco 4.11.0 (``MONGOECO_VERSION``).

Values reach these handlers as mongoeco decodes BSON: ``int`` (or ``BsonInt32``/``BsonInt64``),
``float`` (or ``BsonDouble``), mongoeco's ``Decimal128`` (or ``BsonDecimal128``), ``None`` for
null and missing. MongoDB keeps the numeric type of the input where its documentation says so.
"""

from __future__ import annotations

import datetime
import decimal
import math
import operator as python_operator
import re
import sys
from zoneinfo import ZoneInfo

from mongoeco.compat import MONGODB_DIALECT_70
from mongoeco.compat.base import MongoBehaviorPolicy
from mongoeco.core import bson_scalars, update_scalar_operators
from mongoeco.core.aggregation import (
    accumulators,
    compiled_aggregation,
    date_expressions,
    grouping_stages,
    numeric_expressions,
    scalar_expressions,
)
from mongoeco.core.aggregation import runtime as aggregation_runtime
from mongoeco.core.aggregation.runtime import _compare_values as mongoeco_compare
from mongoeco.core.bson_scalars import (
    BsonDecimal128,
    BsonDouble,
    BsonInt32,
    BsonInt64,
    unwrap_bson_numeric,
)
from mongoeco.core.collation import compare_with_collation
from mongoeco.errors import OperationFailure
from mongoeco.types import Decimal128, UndefinedType

from .. import registry
from . import missing, regex, strings
from .bson_types import type_name

#: Decimal128 carries 34 significant digits; intermediate results keep a few more.
DECIMAL128_DIGITS = 34
_WORK = decimal.Context(prec=DECIMAL128_DIGITS + 6, rounding=decimal.ROUND_HALF_EVEN)
_DEC128 = decimal.Context(prec=DECIMAL128_DIGITS, rounding=decimal.ROUND_HALF_EVEN)


def _fail(message, code):
    """An expression error as mongod reports it: a message and its numeric code."""
    return OperationFailure(message, code=code)


# -- numbers ---------------------------------------------------------------------------------


def _kind(value):
    """'int', 'long', 'double', 'decimal', or None when ``value`` is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, BsonInt32):
        return "int"
    if isinstance(value, BsonInt64):
        return "long"
    if isinstance(value, int):
        return "int" if -(2**31) <= value < 2**31 else "long"
    if isinstance(value, (float, BsonDouble)):
        return "double"
    if isinstance(value, (Decimal128, BsonDecimal128, decimal.Decimal)):
        return "decimal"
    return None


def _to_decimal(value):
    raw = unwrap_bson_numeric(value)
    if isinstance(raw, Decimal128):
        return raw.to_decimal()
    if isinstance(raw, float):
        return _DEC128.create_decimal_from_float(raw)
    return decimal.Decimal(raw)


def _decimal_result(value):
    return Decimal128(_DEC128.plus(value))


#: Significant digits MongoDB keeps converting a double to Decimal128.
DOUBLE_TO_DECIMAL_DIGITS = 15
_QUANTIZE = decimal.Context(prec=DECIMAL128_DIGITS, rounding=decimal.ROUND_HALF_EVEN)


def double_to_decimal128(value):
    """A double as ``Decimal128(double)`` converts it (src/mongo/platform/decimal128.cpp, whose
    default precision is ``kRoundTo15Digits``; ``Value::coerceToDecimal`` and ``$convert`` use
    it): the double's binary value rounded to 34 digits, then quantized, ties to even, to
    exactly 15 significant digits, trailing zeros kept (``{$toDecimal: 2.5}`` is
    ``Decimal128("2.50000000000000")`` in the manual). The quantum is 10**(e - 14), ``e`` first
    the decimal exponent of the double's power of two (``floor(base2 * 0.30103)``), one more
    when that leaves 16 digits. Zeros, infinities and NaN convert as they are: ``0`` and ``-0``
    without trailing zeros."""
    raw = float(unwrap_bson_numeric(value))
    if raw == 0 or not math.isfinite(raw):
        return decimal.Decimal(raw)
    converted = _DEC128.create_decimal_from_float(raw)
    base2 = math.frexp(raw)[1] - 1
    base10 = (base2 * 30103) // 100000
    result = converted.quantize(decimal.Decimal(1).scaleb(base10 - 14), context=_QUANTIZE)
    if len(result.as_tuple().digits) > DOUBLE_TO_DECIMAL_DIGITS:
        result = converted.quantize(decimal.Decimal(1).scaleb(base10 - 13), context=_QUANTIZE)
    return result


def _integer_result(value, kind):
    return BsonInt64(value) if kind == "long" else value


def _args(operator, spec, low, high):
    """The argument list of ``operator``; a lone non-list argument counts as one argument."""
    args = spec if isinstance(spec, list) else [spec]
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} or {high}"
        message = (
            f"Expression {operator} takes exactly {expected} arguments. {len(args)} were passed in."
        )
        raise _fail(message, 16020)
    return args


def _numeric_operand(operator, value, code=28765):
    kind = _kind(value)
    if kind is None:
        message = f"{operator} only supports numeric types, not {type_name(value)}"
        raise _fail(message, code)
    return kind


# -- $bitAnd, $bitOr, $bitXor -----------------------------------------------------------------


def _bitwise(operator, fold, empty):
    """Bitwise operators over int and long operands: null if any operand is null or missing
    (mongoeco raised), a long if any operand is one, an error for any other type."""

    def evaluate(document, spec, variables, dialect, ctx):
        args = spec if isinstance(spec, list) else [spec]
        values = [ctx.evaluate_expression(document, arg, variables) for arg in args]
        kinds = set()
        for value in values:
            if value is None or isinstance(value, UndefinedType):
                return None
            kind = _kind(value)
            if kind not in ("int", "long"):
                raise _fail(f"{operator} only supports int and long operands.", 28765)
            kinds.add(kind)
        result = empty
        for value in values:
            result = fold(result, int(unwrap_bson_numeric(value)))
        return _integer_result(result, "long" if "long" in kinds else "int")

    return evaluate


BITWISE_OPERATORS = {
    "$bitAnd": (python_operator.and_, -1),
    "$bitOr": (python_operator.or_, 0),
    "$bitXor": (python_operator.xor, 0),
}


# -- $ceil, $floor, $trunc, $round -------------------------------------------------------------


def _place(operator, value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    value = unwrap_bson_numeric(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(f"{operator} requires 'place' argument to be an integer", 51081)
    if not -20 < value < 100:
        message = (
            f"cannot apply {operator} with precision value {value} value must be in [-20, 100]"
        )
        raise _fail(message, 51083)
    return value


def _round_decimal(value, place, rounding):
    quantum = decimal.Decimal(1).scaleb(-place)
    return value.quantize(quantum, rounding=rounding, context=_WORK)


def _rounding_operator(operator, rounding):
    """``$round``/``$trunc``: ``<number>`` or ``[<number>, <place>]``, typed like the input."""

    def evaluate(document, spec, variables, dialect, ctx):
        args = _args(operator, spec, 1, 2)
        value = ctx.evaluate_expression(document, args[0], variables)
        place_value = ctx.evaluate_expression(document, args[1], variables) if len(args) > 1 else 0
        if value is None or isinstance(value, UndefinedType) or place_value is None:
            return None
        kind = _numeric_operand(operator, value, 51081)
        place = _place(operator, place_value)
        number = _to_decimal(value)
        if not number.is_finite():
            return value
        if kind in ("int", "long"):
            if place >= 0:
                return value
            return _integer_result(int(_round_decimal(number, place, rounding)), kind)
        result = _round_decimal(number, place, rounding)
        if kind == "decimal":
            return _decimal_result(result)
        return float(result)

    return evaluate


def _integral_operator(operator, rounding):
    """``$ceil``/``$floor``: the nearest integer in one direction, of the input's type."""

    def evaluate(document, spec, variables, dialect, ctx):
        (arg,) = _args(operator, spec, 1, 1)
        value = ctx.evaluate_expression(document, arg, variables)
        if value is None or isinstance(value, UndefinedType):
            return None
        kind = _numeric_operand(operator, value)
        if kind in ("int", "long"):
            return value
        number = _to_decimal(value)
        if not number.is_finite():
            return value
        result = number.to_integral_value(rounding=rounding)
        if kind == "decimal":
            return _decimal_result(result)
        return math.copysign(float(result), unwrap_bson_numeric(value))

    return evaluate


# -- trigonometry ------------------------------------------------------------------------------


def _pi():
    """pi to the working precision (Python ``decimal`` documentation recipe)."""
    with decimal.localcontext(_WORK) as ctx:
        ctx.prec += 2
        three = decimal.Decimal(3)
        lasts, t, s, n, na, d, da = 0, three, 3, 1, 0, 0, 24
        while s != lasts:
            lasts = s
            n, na = n + na, na + 8
            d, da = d + da, da + 32
            t = (t * n) / d
            s += t
        return +s


PI = _pi()


def _alternating_series(x, *, odd):
    """sin (odd powers) or cos (even powers) as a Taylor series, after reducing x mod 2 pi."""
    with decimal.localcontext(_WORK) as ctx:
        ctx.prec += 2
        x = x.remainder_near(2 * PI)
        first = x if odd else decimal.Decimal(1)
        i, lasts, s, fact, num, sign = (1 if odd else 0), 0, first, 1, first, 1
        while s != lasts:
            lasts = s
            i += 2
            fact *= i * (i - 1)
            num *= x * x
            sign *= -1
            s += num / fact * sign
        return +s


def _dec_sin(x):
    return _alternating_series(x, odd=True)


def _dec_cos(x):
    return _alternating_series(x, odd=False)


def _dec_atan(x):
    """arctan by halving the argument (atan x = 2 atan(x / (1 + sqrt(1 + x^2)))) then a series."""
    with decimal.localcontext(_WORK) as ctx:
        ctx.prec += 4
        if x.is_infinite():
            return PI / 2 if x > 0 else -PI / 2
        halvings = 0
        while abs(x) > decimal.Decimal("0.1"):
            x = x / (1 + (1 + x * x).sqrt())
            halvings += 1
        total, term, n, lasts = x, x, 1, 0
        while total != lasts:
            lasts = total
            term *= -x * x
            n += 2
            total += term / n
        return +(total * (2**halvings))


def _dec_asin(x):
    with decimal.localcontext(_WORK):
        if abs(x) == 1:
            return PI / 2 * x
        return _dec_atan(x / (1 - x * x).sqrt())


def _dec_acos(x):
    with decimal.localcontext(_WORK):
        return PI / 2 - _dec_asin(x)


def _dec_atan2(y, x):
    with decimal.localcontext(_WORK):
        if x > 0:
            return _dec_atan(y / x)
        if x < 0:
            return _dec_atan(y / x) + (PI if y >= 0 else -PI)
        if y == 0:
            return decimal.Decimal(0)
        return PI / 2 if y > 0 else -PI / 2


def _with_work(fn):
    def run(x):
        with decimal.localcontext(_WORK):
            return fn(x)

    return run


#: name -> (float function, Decimal function, (low, high, inclusive) domain or None).
TRIG_OPERATORS = {
    "$sin": (math.sin, _dec_sin, (-math.inf, math.inf, False)),
    "$cos": (math.cos, _dec_cos, (-math.inf, math.inf, False)),
    "$tan": (
        math.tan,
        _with_work(lambda x: _dec_sin(x) / _dec_cos(x)),
        (-math.inf, math.inf, False),
    ),
    "$asin": (math.asin, _dec_asin, (-1, 1, True)),
    "$acos": (math.acos, _dec_acos, (-1, 1, True)),
    "$atan": (math.atan, _dec_atan, None),
    "$sinh": (math.sinh, _with_work(lambda x: (x.exp() - (-x).exp()) / 2), None),
    "$cosh": (math.cosh, _with_work(lambda x: (x.exp() + (-x).exp()) / 2), None),
    "$tanh": (
        math.tanh,
        _with_work(lambda x: (1 - (-2 * x).exp()) / (1 + (-2 * x).exp())),
        None,
    ),
    "$asinh": (math.asinh, _with_work(lambda x: (x + (x * x + 1).sqrt()).ln()), None),
    "$acosh": (
        math.acosh,
        _with_work(lambda x: (x + (x * x - 1).sqrt()).ln()),
        (1, math.inf, True),
    ),
    "$atanh": (math.atanh, _with_work(lambda x: ((1 + x) / (1 - x)).ln() / 2), (-1, 1, True)),
    "$degreesToRadians": (math.radians, _with_work(lambda x: x * PI / 180), None),
    "$radiansToDegrees": (math.degrees, _with_work(lambda x: x * 180 / PI), None),
}


def _in_domain(number, domain):
    low, high, inclusive = domain
    if inclusive:
        return low <= number <= high
    return low < number < high


def _domain_text(domain):
    low, high, inclusive = domain
    left, right = ("[", "]") if inclusive else ("(", ")")
    return f"{left}{_bound(low)},{_bound(high)}{right}"


def _bound(value):
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return str(value)


def _trig_operator(operator, float_fn, decimal_fn, domain):
    """Trigonometric operators: null in, null out; NaN stays NaN; Decimal128 in, Decimal128 out."""

    def evaluate(document, spec, variables, dialect, ctx):
        (arg,) = _args(operator, spec, 1, 1)
        value = ctx.evaluate_expression(document, arg, variables)
        if value is None or isinstance(value, UndefinedType):
            return None
        kind = _numeric_operand(operator, value)
        number = _to_decimal(value)
        if number.is_nan():
            return value if kind == "decimal" else math.nan
        if domain is not None and not _in_domain(float(number), domain):
            message = (
                f"cannot apply {operator} to {number}, value must be in {_domain_text(domain)}"
            )
            raise _fail(message, 50989)
        if number.is_infinite() or (operator == "$atanh" and abs(number) == 1):
            result = _float(float_fn, float(number))
            return _decimal_result(decimal.Decimal(result)) if kind == "decimal" else result
        if kind == "decimal":
            return _decimal_result(decimal_fn(number))
        return _float(float_fn, float(number))

    return evaluate


def _float(fn, x):
    """``fn(x)`` with IEEE results where Python raises: overflow is infinity, atanh(1) too."""
    try:
        return fn(x)
    except OverflowError:
        return math.copysign(math.inf, x) if fn is not math.cosh else math.inf
    except ValueError:
        return math.copysign(math.inf, x)


def _atan2(document, spec, variables, dialect, ctx):
    """``$atan2: [y, x]``: null if either is null; Decimal128 if either is Decimal128."""
    y_value, x_value = (
        ctx.evaluate_expression(document, arg, variables) for arg in _args("$atan2", spec, 2, 2)
    )
    if y_value is None or x_value is None:
        return None
    kinds = {_numeric_operand("$atan2", y_value, 51044), _numeric_operand("$atan2", x_value, 51045)}
    y, x = _to_decimal(y_value), _to_decimal(x_value)
    if "decimal" in kinds and y.is_finite() and x.is_finite():
        return _decimal_result(_dec_atan2(y, x))
    result = math.atan2(float(y), float(x))
    return _decimal_result(decimal.Decimal(result)) if "decimal" in kinds else result


# -- $not ------------------------------------------------------------------------------------


def truthy(value):
    """MongoDB's coercion to bool: false, null, undefined and numeric zero are false."""
    if value is None or isinstance(value, (UndefinedType, bool)):
        return bool(value)
    kind = _kind(value)
    if kind is not None:
        number = _to_decimal(value)
        return number.is_nan() or number != 0
    return True


def _not(document, spec, variables, dialect, ctx):
    """``$not: [<expr>]`` or ``$not: <expr>``: the boolean opposite of the value's truthiness."""
    (arg,) = _args("$not", spec, 1, 1)
    return not truthy(ctx.evaluate_expression(document, arg, variables))


# -- $dateTrunc --------------------------------------------------------------------------------

_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})?")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHORT_DAY_NAMES = tuple(name[:3] for name in _DAY_NAMES)
_FIXED_UNITS = {
    "millisecond": datetime.timedelta(milliseconds=1),
    "second": datetime.timedelta(seconds=1),
    "minute": datetime.timedelta(minutes=1),
    "hour": datetime.timedelta(hours=1),
    "day": datetime.timedelta(days=1),
    "week": datetime.timedelta(weeks=1),
}
_MONTH_UNITS = {"month": 1, "quarter": 3, "year": 12}


def resolve_timezone(operator, value):
    """An Olson name, ``UTC``/``GMT``, or a ``+hh``, ``+hhmm`` or ``+hh:mm`` offset."""
    if value is None:
        return datetime.UTC
    if not isinstance(value, str):
        raise _fail(f"{operator}: timezone must evaluate to a string", 40517)
    if value in ("UTC", "GMT", "Z"):
        return datetime.UTC
    match = _OFFSET.fullmatch(value)
    if match:
        sign, hours, minutes = match.groups()
        delta = datetime.timedelta(hours=int(hours), minutes=int(minutes or 0))
        return datetime.timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(value)
    except Exception as error:
        raise _fail(f'unrecognized time zone identifier: "{value}"', 40485) from error


def _local(value, zone):
    """The wall-clock time of the UTC instant ``value`` in ``zone``, as a naive datetime."""
    aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return aware.astimezone(zone).replace(tzinfo=None)


def _instant(local, zone, like):
    """The UTC instant of wall-clock time ``local`` in ``zone``, naive or aware like ``like``."""
    utc = local.replace(tzinfo=zone).astimezone(datetime.UTC)
    return utc if like.tzinfo else utc.replace(tzinfo=None)


def _week_reference(start_of_week):
    """The first ``start_of_week`` day on or after 2000-01-01 (MongoDB's week reference)."""
    reference = datetime.datetime(2000, 1, 1)
    return reference + datetime.timedelta(days=(start_of_week - reference.weekday()) % 7)


def _start_of_week(value):
    if not isinstance(value, str) or value.lower() not in _DAY_NAMES + _SHORT_DAY_NAMES:
        raise _fail(
            f"$dateTrunc parameter 'startOfWeek' value cannot be recognized "
            f"as a day of a week: {value}",
            5439103,
        )
    lowered = value.lower()
    return _DAY_NAMES.index(lowered) if lowered in _DAY_NAMES else _SHORT_DAY_NAMES.index(lowered)


def date_trunc(value, unit, bin_size, zone, start_of_week=6):
    """Truncate ``value`` into ``bin_size``-``unit`` bins counted from 2000-01-01 in ``zone``.

    Calendar units (day and longer) are counted on the zone's wall clock, so a day starts at
    local midnight whatever the offset that day; shorter units are counted in elapsed time.
    """
    local = _local(value, zone)
    if unit in _MONTH_UNITS:
        months = (local.year - 2000) * 12 + local.month - 1
        span = _MONTH_UNITS[unit] * bin_size
        start = (months // span) * span
        truncated = datetime.datetime(2000 + start // 12, start % 12 + 1, 1)
        return _instant(truncated, zone, value)
    step = _FIXED_UNITS[unit] * bin_size
    if unit in ("day", "week"):
        reference = (
            _week_reference(start_of_week) if unit == "week" else datetime.datetime(2000, 1, 1)
        )
        truncated = reference + ((local - reference) // step) * step
        return _instant(truncated, zone, value)
    reference = _instant(datetime.datetime(2000, 1, 1), zone, value)
    return reference + ((value - reference) // step) * step


def _date_trunc(document, spec, variables, dialect, ctx):
    """``$dateTrunc`` with ``timezone`` (mongoeco supports only UTC) and 2000-01-01 bins."""
    if not isinstance(spec, dict) or "date" not in spec or "unit" not in spec:
        raise _fail("$dateTrunc requires 'date' and 'unit' parameters", 5439007)
    unknown = set(spec) - {"date", "unit", "binSize", "timezone", "startOfWeek"}
    if unknown:
        raise _fail(f"Unrecognized argument to $dateTrunc: {min(unknown)}", 5439007)

    def field(name, default=None):
        return ctx.evaluate_expression(document, spec[name], variables) if name in spec else default

    value, unit = field("date"), field("unit")
    bin_size, timezone = field("binSize", 1), field("timezone", "UTC")
    start_of_week = field("startOfWeek", "sunday")
    if value is None or unit is None or bin_size is None or timezone is None:
        return None
    if unit == "week" and start_of_week is None:
        return None
    if not isinstance(value, datetime.datetime):
        message = "$dateTrunc requires 'date' to be a date, but got " + type_name(value)
        raise _fail(message, 5439012)
    if unit not in _FIXED_UNITS and unit not in _MONTH_UNITS:
        raise _fail(f"$dateTrunc parameter 'unit' value cannot be recognized: {unit}", 5439014)
    bin_size = unwrap_bson_numeric(bin_size)
    if isinstance(bin_size, float) and bin_size.is_integer():
        bin_size = int(bin_size)
    if not isinstance(bin_size, int) or isinstance(bin_size, bool) or bin_size <= 0:
        message = "$dateTrunc requires 'binSize' to be a 64-bit integer greater than 0"
        raise _fail(message, 5439018)
    zone = resolve_timezone("$dateTrunc", timezone)
    weekday = _start_of_week(start_of_week) if unit == "week" else 6
    return date_trunc(value, unit, bin_size, zone, weekday)


# -- $dateFromParts ---------------------------------------------------------------------------

_CALENDAR_PARTS = ("year", "month", "day", "hour", "minute", "second", "millisecond")
_ISO_PARTS = ("isoWeekYear", "isoWeek", "isoDayOfWeek", "hour", "minute", "second", "millisecond")
_PART_DEFAULTS = {"month": 1, "day": 1, "isoWeek": 1, "isoDayOfWeek": 1}


def _date_part(name, value):
    value = unwrap_bson_numeric(value)
    if isinstance(value, (float, decimal.Decimal, Decimal128)) and not isinstance(value, bool):
        number = _to_decimal(value)
        if number.is_finite() and number == number.to_integral_value():
            value = int(number)
    if not isinstance(value, int) or isinstance(value, bool):
        message = (
            f"'{name}' must evaluate to an integer, found {type_name(value)} with value {value}"
        )
        raise _fail(message, 40515)
    low, high = (1, 9999) if name in ("year", "isoWeekYear") else (-32768, 32767)
    if not low <= value <= high:
        raise _fail(f"'{name}' must evaluate to an integer in the range {low} to {high}", 31034)
    return value


def _date_from_parts(document, spec, variables, dialect, ctx):
    """``$dateFromParts``: parts outside their range carry into the next larger part (MongoDB 4.4+:
    month 14 is February of the next year, hour 25 one o'clock the next day)."""
    if not isinstance(spec, dict):
        raise _fail("$dateFromParts only supports an object as its argument", 40519)
    iso = "isoWeekYear" in spec
    names = _ISO_PARTS if iso else _CALENDAR_PARTS
    unknown = set(spec) - set(names) - {"timezone"}
    if unknown or ("year" not in spec and not iso):
        raise _fail("$dateFromParts requires either 'year' or 'isoWeekYear'", 40516)
    parts = {}
    for name in names:
        value = ctx.evaluate_expression(document, spec[name], variables) if name in spec else None
        if name in spec and value is None:
            return None
        parts[name] = _PART_DEFAULTS.get(name, 0) if value is None else _date_part(name, value)
    timezone = (
        ctx.evaluate_expression(document, spec["timezone"], variables)
        if "timezone" in spec
        else None
    )
    if "timezone" in spec and timezone is None:
        return None
    zone = resolve_timezone("$dateFromParts", timezone)
    if iso:
        start = datetime.datetime.fromisocalendar(parts["isoWeekYear"], 1, 1)
        start += datetime.timedelta(weeks=parts["isoWeek"] - 1, days=parts["isoDayOfWeek"] - 1)
    else:
        year, month = divmod(parts["year"] * 12 + parts["month"] - 1, 12)
        start = datetime.datetime(year, month + 1, 1) + datetime.timedelta(days=parts["day"] - 1)
    local = start + datetime.timedelta(
        hours=parts["hour"],
        minutes=parts["minute"],
        seconds=parts["second"],
        milliseconds=parts["millisecond"],
    )
    return local.replace(tzinfo=zone).astimezone(datetime.UTC).replace(tzinfo=None)


# -- $pow --------------------------------------------------------------------------------------

_KIND_RANK = {"int": 0, "long": 1, "double": 2, "decimal": 3}
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def _pow(document, spec, variables, dialect, ctx):
    """``$pow``: the result has the wider input type (int < long < double < decimal); an int
    result that overflows becomes a long, a long one a double; ``$pow: [5, 2]`` is the int 25."""
    base_value, exponent_value = (
        ctx.evaluate_expression(document, arg, variables) for arg in _args("$pow", spec, 2, 2)
    )
    if base_value is None or exponent_value is None:
        return None
    kinds = (
        _numeric_operand("$pow", base_value, 28762),
        _numeric_operand("$pow", exponent_value, 28763),
    )
    kind = max(kinds, key=_KIND_RANK.__getitem__)
    base, exponent = _to_decimal(base_value), _to_decimal(exponent_value)
    if base == 0 and exponent < 0:
        raise _fail("$pow cannot take a base of 0 and a negative exponent", 28764)
    if kind == "decimal":
        with decimal.localcontext(_WORK):
            try:
                return _decimal_result(base**exponent)
            except decimal.InvalidOperation:
                return Decimal128("NaN")
    if kind == "double" or (exponent < 0 and abs(base) != 1):
        try:
            return math.pow(float(base), float(exponent))
        except ValueError:
            return math.nan
        except OverflowError:
            odd = exponent % 2 == 1
            return -math.inf if base < 0 and odd else math.inf
    result = int(base) ** int(exponent) if exponent >= 0 else int(base) ** abs(int(exponent))
    if kind == "int" and INT32[0] <= result <= INT32[1]:
        return result
    if INT64[0] <= result <= INT64[1]:
        return BsonInt64(result)
    return float(result)


# -- $abs, $sqrt, $exp, $ln, $log10, $log ------------------------------------------------------


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


#: name -> (float function, Decimal method name, (error code, lowest allowed, inclusive) or None).
UNARY_MATH = {
    "$sqrt": (math.sqrt, "sqrt", (28714, 0, True)),
    "$exp": (_exp, "exp", None),
    "$ln": (math.log, "ln", (28766, 0, False)),
    "$log10": (math.log10, "log10", (28761, 0, False)),
}


def _unary_math(operator, float_fn, decimal_method, domain):
    """$sqrt/$exp/$ln/$log10: a double for int, long or double input, a Decimal128 for a
    Decimal128 (mongoeco refused Decimal128 input); null for null or missing."""

    def evaluate(document, spec, variables, dialect, ctx):
        (arg,) = _args(operator, spec, 1, 1)
        value = ctx.evaluate_expression(document, arg, variables)
        if value is None or isinstance(value, UndefinedType):
            return None
        kind = _numeric_operand(operator, value)
        number = _to_decimal(value)
        if number.is_nan():
            return value if kind == "decimal" else math.nan
        if domain is not None:
            code, lowest, inclusive = domain
            if number < lowest or (number == lowest and not inclusive):
                raise _fail(
                    f"{operator}'s argument must be a positive number, but is {number}", code
                )
        if kind == "decimal":
            with decimal.localcontext(_WORK):
                return _decimal_result(getattr(number, decimal_method)())
        return float_fn(float(number))

    return evaluate


def _abs(document, spec, variables, dialect, ctx):
    """$abs keeps the input type (mongoeco refused Decimal128); the int64 minimum overflows."""
    (arg,) = _args("$abs", spec, 1, 1)
    value = ctx.evaluate_expression(document, arg, variables)
    if value is None or isinstance(value, UndefinedType):
        return None
    kind = _numeric_operand("$abs", value)
    if kind == "decimal":
        return _decimal_result(abs(_to_decimal(value)))
    raw = unwrap_bson_numeric(value)
    if kind in ("int", "long"):
        if raw == INT64[0]:
            raise _fail("can't take $abs of long long min", 28680)
        result = abs(raw)
        if kind == "int" and result <= INT32[1]:
            return result
        return BsonInt64(result)
    return abs(raw)


def _log(document, spec, variables, dialect, ctx):
    """``$log: [number, base]``: a double, or a Decimal128 when either argument is one."""
    number_value, base_value = (
        ctx.evaluate_expression(document, arg, variables) for arg in _args("$log", spec, 2, 2)
    )
    if number_value is None or base_value is None:
        return None
    kinds = {
        _numeric_operand("$log", number_value, 28756),
        _numeric_operand("$log", base_value, 28757),
    }
    number, base = _to_decimal(number_value), _to_decimal(base_value)
    if number.is_nan() or base.is_nan():
        return Decimal128("NaN") if "decimal" in kinds else math.nan
    if number <= 0:
        raise _fail(f"$log's argument must be a positive number, but is {number}", 28758)
    if base <= 0 or base == 1:
        raise _fail(f"$log's base must be a positive number not equal to 1, but is {base}", 28759)
    if "decimal" in kinds:
        with decimal.localcontext(_WORK):
            return _decimal_result(number.ln() / base.ln())
    return math.log(float(number)) / math.log(float(base))


# -- comparisons with a missing operand --------------------------------------------------------

_COMPARE = {
    "$eq": lambda order: order == 0,
    "$ne": lambda order: order != 0,
    "$gt": lambda order: order > 0,
    "$gte": lambda order: order >= 0,
    "$lt": lambda order: order < 0,
    "$lte": lambda order: order <= 0,
    "$cmp": lambda order: (order > 0) - (order < 0),
}


def _missing_rank(value, missing):
    """Rank of an operand that may be missing: a missing field sorts below null (MongoDB's
    comparison order puts MinKey, then missing/undefined, then null, then numbers...)."""
    if value is missing or isinstance(value, UndefinedType):
        return 0
    return 1


def _comparison(operator):
    """Comparison expressions: a missing operand is lower than null, so
    ``{$eq: ["$missing", null]}`` is false and ``{$lt: ["$missing", null]}`` true."""
    decide = _COMPARE[operator]

    def evaluate(document, spec, variables, dialect, ctx):
        left, right = (
            ctx.evaluate_expression_with_missing(document, arg, variables)
            for arg in _args(operator, spec, 2, 2)
        )
        missing = ctx.missing_sentinel
        left_rank, right_rank = _missing_rank(left, missing), _missing_rank(right, missing)
        if left_rank != right_rank or left_rank == 0:
            return decide(left_rank - right_rank)
        collation = getattr(variables, "collation", None)
        if operator == "$cmp":
            return decide(compare_with_collation(left, right, dialect=dialect, collation=collation))
        return mongoeco_compare(left, right, operator, dialect=dialect, collation=collation)

    return evaluate


def _in(document, spec, variables, dialect, ctx):
    """``$in: [value, array]``: a missing value is in no array; a non-array is an error."""
    needle, haystack = (
        ctx.evaluate_expression_with_missing(document, arg, variables)
        for arg in _args("$in", spec, 2, 2)
    )
    if not isinstance(haystack, list):
        found = "missing" if haystack is ctx.missing_sentinel else type_name(haystack)
        message = f"$in requires an array as a second argument, found: {found}"
        raise _fail(message, 40081)
    if needle is ctx.missing_sentinel:
        return False
    collation = getattr(variables, "collation", None)
    return any(
        mongoeco_compare(needle, item, "$eq", dialect=dialect, collation=collation)
        for item in haystack
    )


# -- engine-wide numeric corrections -----------------------------------------------------------

#: Decimal128 arithmetic: 34 significant digits, ties to even (Python's default keeps 28).
DECIMAL128_ARITHMETIC = decimal.Context(
    prec=DECIMAL128_DIGITS, rounding=decimal.ROUND_HALF_EVEN, Emax=6144, Emin=-6143
)
_DECIMALS = (Decimal128, BsonDecimal128, decimal.Decimal)
_ARITHMETIC = ("bson_add", "bson_subtract", "bson_multiply", "bson_divide", "bson_mod")
#: The modules computing Decimal128 arithmetic -> the arithmetic functions each binds.
_ARITHMETIC_MODULES = {
    bson_scalars: _ARITHMETIC,
    numeric_expressions: _ARITHMETIC,
    accumulators: ("bson_add",),
    compiled_aggregation: ("bson_add", "bson_multiply"),
    update_scalar_operators: ("bson_add", "bson_multiply"),
}


def _in_decimal128_context(function):
    """``function`` run with 34-digit decimal arithmetic whenever an operand is a Decimal128."""

    def run(*args, **kwargs):
        if any(isinstance(arg, _DECIMALS) for arg in args):
            with decimal.localcontext(DECIMAL128_ARITHMETIC):
                return function(*args, **kwargs)
        return function(*args, **kwargs)

    run.__wrapped__ = function
    return run


#: Modules evaluating the arithmetic expressions ($add, $subtract, $multiply, $divide, $mod),
#: as opposed to accumulators and update operators.
_EXPRESSION_MODULES = (numeric_expressions, compiled_aggregation)

_EXPRESSIONS_TESTS = "tests/embedded/test_corrections_expressions.py"
_EVALUATION_TESTS = "tests/embedded/test_evaluation.py"


def _doubles_as_decimal128(function):
    """``function`` with its double operands converted as ``Value::coerceToDecimal`` does
    (``double_to_decimal128``: 15 digits) whenever another operand is a Decimal128: MongoDB's
    $add, $subtract, $multiply, $divide and $mod compute in Decimal128 once one operand is one
    (src/mongo/db/pipeline/expression.cpp), so ``{$add: [NumberDecimal("1"), 0.1]}`` is
    ``1.100000000000000``, not mongoeco's ``1.1``."""

    def run(*args, **kwargs):
        if any(isinstance(arg, _DECIMALS) for arg in args):
            args = [double_to_decimal128(arg) if _kind(arg) == "double" else arg for arg in args]
        return function(*args, **kwargs)

    run.__wrapped__ = function
    run.doubles_as_decimal128 = True
    return run


def _always_in_decimal128_context(function):
    """``function`` run with 34-digit decimal arithmetic (floats are unaffected by it)."""

    def run(*args, **kwargs):
        with decimal.localcontext(DECIMAL128_ARITHMETIC):
            return function(*args, **kwargs)

    run.__wrapped__ = function
    return run


def _patch_decimal_arithmetic():
    """mongoeco computes Decimal128 ``$add``/``$divide``/``$inc``/``$avg``... in the thread's
    decimal context (28 digits); MongoDB's Decimal128 keeps 34: 1.10 / 3 is
    0.3666666666666666666666666666666667."""
    rule = "Decimal128 arithmetic keeps 34 significant digits, rounding half to even"
    test = f"{_EXPRESSIONS_TESTS}::test_decimal128_arithmetic_keeps_34_digits"
    for module, names in _ARITHMETIC_MODULES.items():
        for name in names:
            registry.replace(module, name, wrap=_in_decimal128_context, rule=rule, test=test)
    for module in _EXPRESSION_MODULES:
        for name in _ARITHMETIC_MODULES[module]:
            registry.replace(
                module,
                name,
                wrap=_doubles_as_decimal128,
                rule="arithmetic mixing a double with a Decimal128 converts the double to a "
                "15-digit Decimal128 first (Value::coerceToDecimal)",
                test=f"{_EVALUATION_TESTS}::test_arithmetic_with_a_decimal_converts_doubles_to_15_digits",
            )
    # $avg divides its Decimal128 total when a group is finalized, in both $group paths.
    for owner, name in (
        (grouping_stages, "_finalize_accumulators"),
        (compiled_aggregation.CompiledGroup, "apply"),
    ):
        registry.replace(
            owner,
            name,
            wrap=_always_in_decimal128_context,
            rule="$avg of Decimal128 values divides with 34 significant digits",
            test=f"{_EXPRESSIONS_TESTS}::test_decimal128_arithmetic_keeps_34_digits",
        )


def _to_decimal_conversion(value):
    """$convert/$toDecimal of a double or a date, the Decimal128 MongoDB makes of it; None for
    anything else. A double keeps 15 significant digits (``double_to_decimal128``), NaN and the
    infinities included, which mongoeco refuses; a date is its milliseconds since the epoch
    (the manual's $toDecimal table)."""
    raw = unwrap_bson_numeric(value)
    if isinstance(raw, float):
        return double_to_decimal128(raw)
    if isinstance(raw, datetime.datetime):
        return decimal.Decimal(scalar_expressions._datetime_to_epoch_millis(raw))
    return None


def _convert_decimal(operator, value, target, **kwargs):
    """$convert/$toDouble/$toInt/$toLong/$toBool/$toDate of a Decimal128, which mongoeco refuses:
    MongoDB truncates toward zero for int and long, rounds to the nearest double, and reads a
    date as milliseconds since the epoch. $convert/$toDecimal of a double or a date: see
    ``_to_decimal_conversion``."""
    original = _convert_decimal.original
    if target == "decimal":
        converted = _to_decimal_conversion(value)
        return original(operator, value, target, **kwargs) if converted is None else converted
    if not isinstance(value, _DECIMALS) or target not in ("bool", "int", "long", "double", "date"):
        return original(operator, value, target, **kwargs)
    number = _to_decimal(value)
    if target == "bool":
        return number.is_nan() or number != 0
    if target == "double":
        return float(number)
    if not number.is_finite():
        raise _fail(f"Attempt to convert {number} value to {target} in {operator}", 241)
    integer = int(number)
    if target == "date":
        return datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=integer)
    low, high = INT32 if target == "int" else INT64
    if not low <= integer <= high:
        raise _fail(f"Conversion would overflow target type in {operator}", 241)
    return integer if target == "int" else BsonInt64(integer)


#: ``$convert``'s ``to`` naming Decimal128: its type name or its BSON type number.
_DECIMAL_TARGETS = ("decimal", 19)


def _convert(document, spec, variables, dialect, ctx):
    """``$convert`` to "decimal" (or 19), which mongoeco's MongoDB 7.0 dialect refuses as an
    unsupported target though MongoDB has converted to decimal since 4.0 (manual: $convert);
    every other target is mongoeco's. A null or missing input gives ``onNull`` (default null);
    a failed conversion gives ``onError`` when there is one, else ConversionFailure (241)."""
    target = None
    if isinstance(spec, dict) and "input" in spec and "to" in spec:
        target = ctx.evaluate_expression(document, spec["to"], variables)
    if isinstance(target, bool) or target not in _DECIMAL_TARGETS:
        return scalar_expressions.evaluate_scalar_expression(
            "$convert",
            document,
            spec,
            variables,
            dialect=dialect,
            evaluate_expression=ctx.evaluate_expression,
            evaluate_expression_with_missing=ctx.evaluate_expression_with_missing,
            require_expression_args=ctx.require_expression_args,
            stringify_value=aggregation_runtime._stringify_aggregation_value,
            bson_document_size=aggregation_runtime._bson_document_size,
            missing_sentinel=ctx.missing_sentinel,
        )
    value = ctx.evaluate_expression_with_missing(document, spec["input"], variables)
    if value is ctx.missing_sentinel or value is None or isinstance(value, UndefinedType):
        if "onNull" not in spec:
            return None
        return ctx.evaluate_expression(document, spec["onNull"], variables)
    try:
        converted = scalar_expressions._convert_aggregation_scalar(
            "$convert",
            value,
            "decimal",
            stringify_value=aggregation_runtime._stringify_aggregation_value,
        )
    except OperationFailure as error:
        if "onError" in spec:
            return ctx.evaluate_expression(document, spec["onError"], variables)
        if error.code is not None:
            raise
        raise _fail(str(error), 241) from error
    return Decimal128(unwrap_bson_numeric(converted))


def _patch_decimal_conversions():
    _convert_decimal.original = registry.replace(
        scalar_expressions,
        "_convert_aggregation_scalar",
        _convert_decimal,
        rule="$convert/$toInt/$toLong/$toDouble/$toBool/$toDate of a Decimal128 and $toDecimal "
        "of a double (15 digits) or a date, as the manual's conversion tables say",
        test=f"{_EXPRESSIONS_TESTS}::test_converting_a_decimal128",
    )


#: Accumulators that add nothing for a missing value (or ``$$REMOVE``).
SKIP_MISSING_ACCUMULATORS = ("$push", "$addToSet")


def _operand_missing(document, expression, variables, kwargs):
    evaluate = kwargs.get("evaluate_expression_with_missing")
    if evaluate is None:
        dialect = kwargs.get("dialect", MONGODB_DIALECT_70)
        value = aggregation_runtime._evaluate_expression_with_missing(
            document, expression, variables, dialect=dialect
        )
    else:
        value = evaluate(document, expression, variables)
    missing = kwargs.get("missing_sentinel") or aggregation_runtime._MISSING
    return value is missing or value is aggregation_runtime._REMOVE


def _skipping_missing(apply_accumulators):
    """``$push``/``$addToSet`` add nothing when their operand is missing or ``$$REMOVE`` (MongoDB
    documents ``$$REMOVE`` for exactly that); mongoeco added null."""

    def apply(bucket, accumulator_specs, document, variables=None, **kwargs):
        specs = accumulators._coerce_accumulator_specs(accumulator_specs)
        kept = tuple(
            spec
            for spec in specs
            if spec[1] not in SKIP_MISSING_ACCUMULATORS
            or not _operand_missing(document, spec[2], variables, kwargs)
        )
        return apply_accumulators(bucket, kept, document, variables, **kwargs)

    apply.__wrapped__ = apply_accumulators
    return apply


def _patch_push_and_add_to_set():
    rule = "$push/$addToSet add nothing for a missing operand or $$REMOVE"
    test = f"{_EXPRESSIONS_TESTS}::test_push_and_add_to_set_skip_missing_and_remove"
    registry.replace(
        grouping_stages, "_apply_accumulators", wrap=_skipping_missing, rule=rule, test=test
    )
    # The compiled $group does not see missing values: leave $addToSet to the patched path.
    registry.replace(
        compiled_aggregation,
        "_SUPPORTED_GROUP_ACCUMULATORS",
        wrap=lambda supported: supported - set(SKIP_MISSING_ACCUMULATORS),
        rule=rule,
        test=test,
    )


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _minutes_offset(value):
    minutes = int((value.utcoffset() or datetime.timedelta()).total_seconds() // 60)
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes)}"


#: $dateToString format specifiers -> how each renders a (localized) datetime.
DATE_FORMAT_SPECIFIERS = {
    "d": lambda value: f"{value.day:02d}",
    "G": lambda value: f"{value.isocalendar().year:04d}",
    "H": lambda value: f"{value.hour:02d}",
    "j": lambda value: f"{value.timetuple().tm_yday:03d}",
    "L": lambda value: f"{value.microsecond // 1000:03d}",
    "m": lambda value: f"{value.month:02d}",
    "M": lambda value: f"{value.minute:02d}",
    "S": lambda value: f"{value.second:02d}",
    "u": lambda value: str(value.isocalendar().weekday),
    "U": lambda value: value.strftime("%U"),
    "V": lambda value: f"{value.isocalendar().week:02d}",
    "w": lambda value: str(value.isoweekday() % 7 + 1),
    "Y": lambda value: f"{value.year:04d}",
    "z": lambda value: date_expressions._format_timezone_offset(value),
    "Z": _minutes_offset,
    "b": lambda value: _MONTHS[value.month - 1][:3],
    "B": lambda value: _MONTHS[value.month - 1],
    "%": lambda value: "%",
}
_SPECIFIER = re.compile(r"%(.?)", re.DOTALL)


def format_date(value, fmt):
    """$dateToString's formatting: every documented specifier (%j, %w, %U, %Z, %% included, which
    mongoeco left as text); an unknown one is an error, as in MongoDB."""

    def render(match):
        specifier = DATE_FORMAT_SPECIFIERS.get(match.group(1))
        if specifier is None:
            message = f"Invalid format character '%{match.group(1)}' in format string"
            raise _fail(message, 18536)
        return specifier(value)

    return _SPECIFIER.sub(render, fmt)


def _patch_date_format():
    registry.replace(
        date_expressions,
        "_mongo_format_datetime",
        format_date,
        rule="$dateToString knows every documented format specifier; an unknown one is 18536",
        test=f"{_EXPRESSIONS_TESTS}::test_date_to_string_format_specifiers",
    )


def _policy_truthy(self, value):
    return truthy(value)


def _patch_truthiness():
    """$cond, $and, $or, $filter, $match's $expr... coerce values with the dialect policy, which
    treats Int64 and Decimal128 zeros as true; MongoDB treats every numeric zero as false."""
    registry.replace(
        MongoBehaviorPolicy,
        "expression_truthy",
        _policy_truthy,
        rule="every numeric zero (int, long, double, Decimal128) is false in expressions",
        test=f"{_EXPRESSIONS_TESTS}::test_every_numeric_zero_is_false",
    )


def _date_minus_wrapped_numbers(subtract):
    def run(left, right):
        if isinstance(left, datetime.datetime) and isinstance(right, BsonInt32 | BsonInt64):
            right = unwrap_bson_numeric(right)
        return subtract(left, right)

    run.__wrapped__ = subtract
    return run


def _patch_date_minus_number():
    """``{$subtract: [date, n]}`` is the date n milliseconds earlier for any number; mongoeco
    refused an int or long the engine holds wrapped (the result of ``$toLong``, say)."""
    for module in (numeric_expressions, aggregation_runtime):
        registry.replace(
            module,
            "_subtract_values",
            wrap=_date_minus_wrapped_numbers,
            rule="$subtract of a number of any type from a date is the date that many ms earlier",
            test=f"{_EXPRESSIONS_TESTS}::test_date_minus_a_long_is_a_date",
        )


def _expression_as_date_operand(evaluate):
    def run(operator, document, spec, variables, **kwargs):
        if isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)).startswith("$"):
            spec = {"date": spec}  # an expression object, not the {date, timezone} form
        return evaluate(operator, document, spec, variables, **kwargs)

    run.__wrapped__ = evaluate
    return run


def _patch_date_part_operands():
    """``{$month: {$let: ...}}``: a date-part operator's argument may be any expression,
    including an expression object; mongoeco read every object as ``{date, timezone}`` and
    failed with "requires a date expression"."""
    registry.replace(
        date_expressions,
        "_evaluate_localized_date_operand",
        wrap=_expression_as_date_operand,
        rule="a date-part operator's argument may be any expression, an expression object too",
        test=f"{_EXPRESSIONS_TESTS}::test_date_part_operator_takes_an_expression_object",
    )


#: Constants the $group code generator may spell as Python source.
_SOURCE_CONSTANTS = (type(None), bool, int, float, str)


def _patch_group_code_literals():
    """mongoeco compiles some $group expressions to Python source and writes constants with
    repr(): a date, UUID, ObjectId or Decimal128 constant then raises NameError ("name
    'datetime' is not defined"). Other constants go into the generated code's namespace."""
    from mongoeco.core.aggregation.compiled_aggregation import CompiledGroup

    def constants_in_namespace(original):
        def compile_expression(self, expr, prefix):
            is_literal = isinstance(expr, dict) and len(expr) == 1 and "$literal" in expr
            constant = expr["$literal"] if is_literal else expr
            if (is_literal or not isinstance(expr, dict | str)) and not isinstance(
                constant, (*_SOURCE_CONSTANTS, dict, list)
            ):
                return self._store_context_value(prefix, "const", constant)
            return original(self, expr, prefix)

        return compile_expression

    registry.replace(
        CompiledGroup,
        "_compile_expression",
        wrap=constants_in_namespace,
        rule="a $group expression may hold a constant of any BSON type (date, UUID, ObjectId...)",
        test=f"{_EXPRESSIONS_TESTS}::test_group_inside_facet_takes_any_constant",
    )


# -- registration ------------------------------------------------------------------------------

OPERATORS = {
    "$ceil": _integral_operator("$ceil", decimal.ROUND_CEILING),
    "$floor": _integral_operator("$floor", decimal.ROUND_FLOOR),
    "$round": _rounding_operator("$round", decimal.ROUND_HALF_EVEN),
    "$trunc": _rounding_operator("$trunc", decimal.ROUND_DOWN),
    **{name: _trig_operator(name, *entry) for name, entry in TRIG_OPERATORS.items()},
    "$atan2": _atan2,
    "$not": _not,
    "$dateTrunc": _date_trunc,
    "$dateFromParts": _date_from_parts,
    "$pow": _pow,
    **{name: _unary_math(name, *entry) for name, entry in UNARY_MATH.items()},
    "$abs": _abs,
    "$log": _log,
    **{name: _comparison(name) for name in _COMPARE},
    "$in": _in,
    "$convert": _convert,
    **{name: _bitwise(name, *entry) for name, entry in BITWISE_OPERATORS.items()},
}

_CORRECTIONS_TESTS = "tests/embedded/test_corrections.py"

#: Each operator of ``OPERATORS`` -> (the MongoDB rule its handler implements, its test).
RULES = {
    **dict.fromkeys(
        ("$ceil", "$floor"),
        (
            "$ceil/$floor return a number of the input's type; null for null or missing",
            f"{_CORRECTIONS_TESTS}::test_rounding_keeps_the_input_type",
        ),
    ),
    **dict.fromkeys(
        ("$round", "$trunc"),
        (
            "$round (half to even)/$trunc take [number, place] and keep the input's type",
            f"{_CORRECTIONS_TESTS}::test_trunc_and_round_with_a_place",
        ),
    ),
    **dict.fromkeys(
        TRIG_OPERATORS,
        (
            "trigonometric operators: a double for numbers, a Decimal128 for a Decimal128, "
            "null for null, an error outside their domain",
            f"{_CORRECTIONS_TESTS}::test_trigonometric_operators_return_doubles",
        ),
    ),
    "$atan2": (
        "$atan2: null if either operand is null; a Decimal128 if either is one",
        f"{_CORRECTIONS_TESTS}::test_atan2",
    ),
    "$not": (
        "$not: false, null, undefined, missing and every numeric zero are false",
        f"{_CORRECTIONS_TESTS}::test_not_expression",
    ),
    "$dateTrunc": (
        "$dateTrunc in any timezone, binSize counted from 2000-01-01, startOfWeek",
        f"{_CORRECTIONS_TESTS}::test_date_trunc_with_timezone_and_bins",
    ),
    "$dateFromParts": (
        "$dateFromParts carries a part outside its range into the next larger part (4.4+)",
        f"{_EXPRESSIONS_TESTS}::test_date_from_parts_carries_out_of_range_parts",
    ),
    "$pow": (
        "$pow has the wider input type; an int result overflowing is a long, a long one a double",
        f"{_EXPRESSIONS_TESTS}::test_pow_result_type",
    ),
    **dict.fromkeys(
        UNARY_MATH,
        (
            "$sqrt/$exp/$ln/$log10: a double for int, long or double, a Decimal128 for a "
            "Decimal128, an error outside their domain",
            f"{_EXPRESSIONS_TESTS}::test_math_operators_accept_decimal128",
        ),
    ),
    "$abs": (
        "$abs keeps the input type, Decimal128 included; the int64 minimum overflows",
        f"{_EXPRESSIONS_TESTS}::test_math_operators_accept_decimal128",
    ),
    "$log": (
        "$log: a double, or a Decimal128 when either argument is one",
        f"{_EXPRESSIONS_TESTS}::test_math_operators_accept_decimal128",
    ),
    **dict.fromkeys(
        _COMPARE,
        (
            "comparison expressions order a missing operand below null (BSON comparison order)",
            f"{_EXPRESSIONS_TESTS}::test_missing_compares_below_null_in_expressions",
        ),
    ),
    "$in": (
        "$in (expression): a missing value is in no array; a non-array operand is an error",
        f"{_EXPRESSIONS_TESTS}::test_in_expression_with_null_and_missing",
    ),
    "$convert": (
        "$convert to 'decimal' (or 19), which MongoDB has converted to since 4.0",
        f"{_EVALUATION_TESTS}::test_convert_to_decimal_by_number_with_on_null_and_on_error",
    ),
    **dict.fromkeys(
        BITWISE_OPERATORS,
        (
            "$bitAnd/$bitOr/$bitXor: null for a null or missing operand, a long if any operand "
            "is one, an error for any other type",
            f"{_EXPRESSIONS_TESTS}::test_bitwise_operators",
        ),
    ),
}

#: Corrections of mongoeco's shared numeric and truthiness helpers.
PATCHES = (
    _patch_decimal_arithmetic,
    _patch_decimal_conversions,
    _patch_truthiness,
    _patch_push_and_add_to_set,
    _patch_date_format,
    _patch_group_code_literals,
    _patch_date_minus_number,
    _patch_date_part_operands,
)


#: This module and the ones holding the rest of the evaluation corrections, each with its
#: ``OPERATORS``, ``RULES`` and ``PATCHES``.
EVALUATION_MODULES = (sys.modules[__name__], strings, missing, regex)


def install():
    """Register every module's ``OPERATORS`` with mongoeco's expression evaluator (each with its
    rule and test from ``RULES``) and apply its ``PATCHES``; calling it again changes nothing."""
    for module in EVALUATION_MODULES:
        for name, handler in module.OPERATORS.items():
            rule, test = module.RULES[name]
            registry.operator(name, handler, rule=rule, test=test)
        for patch in module.PATCHES:
            patch()
