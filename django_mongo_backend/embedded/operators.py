"""Aggregation expression operators mongoeco lacks or evaluates unlike MongoDB.

mongoeco's evaluator consults its expression-extension registry before its built-in operator
tables, so registering an operator here adds it (``$sin``, ``$not``...) or replaces mongoeco's
version of it (``$ceil`` returning an int for a double...). ``install()`` registers them all; the
server calls it once at import time.

Values reach these handlers as mongoeco decodes BSON: ``int`` (or ``BsonInt32``/``BsonInt64``),
``float`` (or ``BsonDouble``), mongoeco's ``Decimal128`` (or ``BsonDecimal128``), ``None`` for
null and missing. MongoDB keeps the numeric type of the input where its documentation says so.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
from zoneinfo import ZoneInfo

from mongoeco.core.aggregation.extensions import register_aggregation_expression_operator
from mongoeco.core.bson_scalars import (
    BsonDecimal128,
    BsonDouble,
    BsonInt32,
    BsonInt64,
    unwrap_bson_numeric,
)
from mongoeco.errors import OperationFailure
from mongoeco.types import Decimal128, UndefinedType

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
        message = f"{operator} only supports numeric types, not {_type_name(value)}"
        raise _fail(message, code)
    return kind


def _type_name(value):
    names = {
        str: "string",
        bool: "bool",
        dict: "object",
        list: "array",
        datetime.datetime: "date",
    }
    return next((name for cls, name in names.items() if isinstance(value, cls)), "unknown")


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


def _dec_sin(x):
    with decimal.localcontext(_WORK) as ctx:
        ctx.prec += 2
        x = x.remainder_near(2 * PI)
        i, lasts, s, fact, num, sign = 1, 0, x, 1, x, 1
        while s != lasts:
            lasts = s
            i += 2
            fact *= i * (i - 1)
            num *= x * x
            sign *= -1
            s += num / fact * sign
        return +s


def _dec_cos(x):
    with decimal.localcontext(_WORK) as ctx:
        ctx.prec += 2
        x = x.remainder_near(2 * PI)
        i, lasts, s, fact, num, sign = 0, 0, 1, 1, 1, 1
        while s != lasts:
            lasts = s
            i += 2
            fact *= i * (i - 1)
            num *= x * x
            sign *= -1
            s += num / fact * sign
        return +s


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
        raise _fail(f"Unrecognized argument to $dateTrunc: {sorted(unknown)[0]}", 5439007)

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
        message = "$dateTrunc requires 'date' to be a date, but got " + _type_name(value)
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
}


def install():
    """Register every operator in ``OPERATORS`` with mongoeco's expression evaluator."""
    for name, handler in OPERATORS.items():
        register_aggregation_expression_operator(name, handler)
