"""A double as SQL text: ``CAST(score AS TEXT)``, text lookups on a FloatField, AlterField to
a CharField.

MongoDB's ``$toString`` of a double prints it with C's ``%g``, six significant digits
(``performFormatDouble`` streams the double into a StringBuilder, whose ``operator<<(double)``
is ``%g``): 3.14159265 becomes "3.14159" and 1234567.0 "1.23457e+06", so a cast would lose
digits and ``score__startswith="3.1415"`` would miss.

The text here is SQLite's (the reference the differential tests compare with): 15
significant digits, as ``printf("%!.15g")``. That is, the digits of the double rounded to 15
significant places, trailing zeros dropped; fixed notation when the decimal exponent ``e`` is
in [-4, 15), with ".0" after a whole number ("100.0", "1234567.0"); otherwise one digit, a
point, the rest (at least one digit) and a two-digit exponent ("1.0e+21", "2.5e-07"). Zero is
"0.0", infinities "Inf"/"-Inf". (PostgreSQL prints the shortest text that reads back as the
same double instead: the two differ only for doubles that need 16 or 17 digits, and in the
exponent's form.)

Every step is exact: ``$toDecimal`` of a double keeps 15 significant digits (the
``Decimal128(double)`` constructor quantizes to exactly 15; the manual's example is
``{$toDecimal: 2.5}`` -> ``Decimal128("2.50000000000000")``), Decimal128 multiplication by a
power of ten and ``$round`` to an integer are exact in decimal, and the 15-digit integer prints
as its digits with ``$toString``. The exponent comes from ``$log10`` and is then checked
against the rounded digits (a double's ``log10`` can be one off next to a power of ten).
"""

from __future__ import annotations

DIGITS = 15
#: Enough zeros to pad any fixed-notation number of at most 15 digits.
ZEROS = "0" * DIGITS


def _power_of_ten(exponent):
    """10**exponent as an exact Decimal128: the double nearest a power of ten converts to
    exactly that power (15 digits are far coarser than the double's error). Two factors, so
    that each stays within the double's range (the exponent reaches 338 for 5e-324)."""
    half = {"$trunc": [{"$divide": [exponent, 2]}, 0]}
    return {
        "$multiply": [
            {"$toDecimal": {"$pow": [10.0, half]}},
            {"$toDecimal": {"$pow": [10.0, {"$subtract": [exponent, half]}]}},
        ]
    }


def _scaled(magnitude, exponent):
    """|x| * 10**(14 - exponent), rounded to an integer: the 15 significant digits of |x|
    when ``exponent`` is its decimal exponent."""
    return {
        "$round": [
            {"$multiply": [magnitude, _power_of_ten({"$subtract": [DIGITS - 1, exponent]})]},
            0,
        ]
    }


def _fits(scaled):
    """Whether ``scaled`` has exactly 15 digits (the exponent tried was the right one)."""
    return {"$and": [{"$gte": [scaled, 10 ** (DIGITS - 1)]}, {"$lt": [scaled, 10**DIGITS]}]}


def _digits_and_exponent(value):
    """{digits: the significant digits without trailing zeros, e: the decimal exponent} of
    a finite, non-zero double ``value``."""
    estimate = {"$toInt": {"$floor": {"$log10": {"$abs": value}}}}
    candidates = {
        f"s{offset + 1}": _scaled("$$m", {"$add": ["$$e0", offset]}) for offset in (-1, 0, 1)
    }
    # The smallest exponent whose rounding has 15 digits: 9.99999999999999e2 stays below 1000,
    # while 999.9999999999999 rounds up to 1.0e+03.
    chosen = {
        "$switch": {
            "branches": [
                {"case": _fits("$$s0"), "then": {"s": "$$s0", "e": {"$subtract": ["$$e0", 1]}}},
                {"case": _fits("$$s1"), "then": {"s": "$$s1", "e": "$$e0"}},
            ],
            "default": {"s": "$$s2", "e": {"$add": ["$$e0", 1]}},
        }
    }
    return {
        "$let": {
            "vars": {"m": {"$abs": {"$toDecimal": value}}, "e0": estimate},
            "in": {"$let": {"vars": candidates, "in": chosen}},
        }
    }


def _zeros(count):
    return {"$substrCP": [ZEROS, 0, count]}


def _layout(digits, exponent):
    """The text of the (positive) number with significant ``digits`` and ``exponent``."""
    length = {"$strLenCP": digits}
    first = {"$substrCP": [digits, 0, 1]}
    rest = {"$substrCP": [digits, 1, DIGITS]}
    scientific = {
        "$concat": [
            first,
            ".",
            {"$cond": [{"$gt": [length, 1]}, rest, "0"]},
            "e",
            {"$cond": [{"$lt": [exponent, 0]}, "-", "+"]},
            {"$cond": [{"$lt": [{"$abs": exponent}, 10]}, "0", ""]},
            {"$toString": {"$abs": exponent}},
        ]
    }
    integer_digits = {"$add": [exponent, 1]}
    whole = {"$concat": [digits, _zeros({"$subtract": [integer_digits, length]}), ".0"]}
    with_fraction = {
        "$concat": [
            {"$substrCP": [digits, 0, integer_digits]},
            ".",
            {"$substrCP": [digits, integer_digits, DIGITS]},
        ]
    }
    small = {"$concat": ["0.", _zeros({"$subtract": [-1, exponent]}), digits]}
    return {
        "$switch": {
            "branches": [
                {
                    "case": {"$or": [{"$lt": [exponent, -4]}, {"$gte": [exponent, DIGITS]}]},
                    "then": scientific,
                },
                {"case": {"$lt": [exponent, 0]}, "then": small},
                {"case": {"$lte": [length, integer_digits]}, "then": whole},
            ],
            "default": with_fraction,
        }
    }


def _finite_text(value):
    parts = _digits_and_exponent(value)
    text = {
        "$let": {
            "vars": {"p": parts},
            "in": {
                "$let": {
                    "vars": {
                        "d": {
                            "$rtrim": {"input": {"$toString": {"$toLong": "$$p.s"}}, "chars": "0"}
                        }
                    },
                    "in": _layout("$$d", "$$p.e"),
                }
            },
        }
    }
    return {"$concat": [{"$cond": [{"$lt": [value, 0]}, "-", ""]}, text]}


def double_text(value):
    """The SQL text of a double (null for null): see the module docstring."""

    def build(ref):
        return {
            "$switch": {
                "branches": [
                    {"case": {"$lte": [ref, None]}, "then": None},
                    {"case": {"$eq": [ref, 0]}, "then": "0.0"},
                    {"case": {"$eq": [ref, float("inf")]}, "then": "Inf"},
                    {"case": {"$eq": [ref, float("-inf")]}, "then": "-Inf"},
                    # MongoDB compares NaN equal to NaN (it sorts below every number).
                    {"case": {"$eq": [ref, float("nan")]}, "then": "NaN"},
                ],
                "default": _finite_text(ref),
            }
        }

    if isinstance(value, str) and not value.startswith("$$"):
        return build(value)
    return {"$let": {"vars": {"x": value}, "in": build("$$x")}}
