"""Text lookups on a UUIDField (``iexact``, ``startswith``...), which reads it as its text.

A UUIDField is stored as BSON binData subtype 4 (``features.has_native_uuid_field``), and
Django matches these lookups against the canonical text, lowercase with hyphens, as
PostgreSQL's ``uuid::text`` gives it. MongoDB cannot match that text on the server: ``$regex``
matches strings only (a binData value never matches), and MongoDB 7.0's ``$convert`` has no
binData -> string conversion (``$toString`` of a UUID is new in 8.0).

What MongoDB can do is compare binData values: two UUIDs (same length, same subtype) order
as their bytes, which is the order of their text. So a lookup whose text fixes a *prefix* of
the canonical text is a range of UUIDs:

- ``iexact`` (a whole UUID's text) is one value; ``startswith`` / ``istartswith`` the range
  between the prefix followed by all ``0`` digits and by all ``f`` digits;
- a text no canonical UUID can begin with (an uppercase digit for the case-sensitive
  lookups, a missing hyphen, a 37th character) matches no row.

``contains`` and ``endswith`` fix digits in the middle or at the end, which is no range;
they, the regex lookups and patterns built from other columns raise NotSupportedError rather
than silently matching nothing.
"""

from __future__ import annotations

from bson.binary import UUID_SUBTYPE, Binary
from django.db import NotSupportedError

from .nulls import null_guards

#: Where the canonical text ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx") has its hyphens.
HYPHENS = frozenset({8, 13, 18, 23})
LENGTH = 36
HEX_DIGITS = frozenset("0123456789abcdef")
PREFIX_LOOKUPS = frozenset({"iexact", "startswith", "istartswith"})


def is_uuid_lookup(lookup):
    try:
        return lookup.lhs.output_field.get_internal_type() == "UUIDField"
    except Exception:
        return False


def _binary(digits):
    return Binary(bytes.fromhex(digits), UUID_SUBTYPE)


def bounds(lookup_name, text):
    """``(low, high)``: the UUIDs whose text the lookup matches are those in [low, high]
    (binData); None when no UUID's text matches."""
    if lookup_name not in PREFIX_LOOKUPS:
        raise NotSupportedError(
            f"UUIDField {lookup_name!r}: MongoDB 7.0 cannot read a UUID (binData) as text; "
            "only exact, iexact, startswith and istartswith can be matched (as ranges of UUIDs)"
        )
    text = str(text)
    if lookup_name.startswith("i"):
        text = text.lower()
    if len(text) > LENGTH or (lookup_name == "iexact" and len(text) != LENGTH):
        return None
    digits = []
    for position, character in enumerate(text):
        if position in HYPHENS:
            if character != "-":
                return None
        elif character in HEX_DIGITS:
            digits.append(character)
        else:
            return None
    prefix = "".join(digits)
    return _binary(prefix.ljust(32, "0")), _binary(prefix.ljust(32, "f"))


def query_filter(path, value, lookup):
    """The query-language condition (an index can answer it)."""
    found = bounds(lookup.lookup_name, value)
    if found is None:
        return {path: {"$in": []}}  # matches no row; its negation every non-null one
    low, high = found
    if low == high:
        return {path: {"$eq": low}}
    return {path: {"$gte": low, "$lte": high}}


def expression(lhs, rhs, lookup):
    """An aggregation test ``(test, guards)`` as ``lookups.EXPRESSIONS`` builders return."""
    if not (isinstance(rhs, dict) and "$literal" in rhs):
        raise NotSupportedError(
            f"UUIDField {lookup.lookup_name!r} with an expression on the right: MongoDB 7.0 "
            "cannot read a UUID (binData) as text"
        )
    found = bounds(lookup.lookup_name, rhs["$literal"])
    if found is None:
        return False, null_guards(lhs)
    low, high = found
    test = {"$and": [{"$gte": [lhs, {"$literal": low}]}, {"$lte": [lhs, {"$literal": high}]}]}
    return test, null_guards(lhs)
