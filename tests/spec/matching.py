"""The unified format's "Evaluating Matches": does an actual value match an expected one?

Rules (unified-test-format.md, "Evaluating Matches"): numbers match by value across int32,
int64 and double (not Decimal128, not booleans); root-level documents (a command, a reply, a
result, each element of a root-level array) may carry extra fields, nested documents may not;
arrays match element by element and must have the same length; ``$$``-operators
(``$$exists``, ``$$type``, ``$$unsetOrMatches``, ``$$sessionLsid``, ``$$matchesEntity``,
``$$matchesHexBytes``, ``$$lte``, ``$$matchAsDocument``, ``$$matchAsRoot``) replace a value.
``match`` raises Mismatch naming the path of the first difference.
"""

from __future__ import annotations

import binascii
import datetime
import re
from collections import abc

from bson import (
    Binary,
    Code,
    Decimal128,
    Int64,
    MaxKey,
    MinKey,
    ObjectId,
    Regex,
    Timestamp,
    json_util,
)


class _Missing:
    def __repr__(self):
        return "<missing>"


MISSING = _Missing()


class Mismatch(AssertionError):
    pass


TYPE_ALIASES = {
    "double": (float,),
    "string": (str,),
    "object": (abc.Mapping,),
    "array": (abc.MutableSequence,),
    "binData": (Binary, bytes),
    "objectId": (ObjectId,),
    "bool": (bool,),
    "date": (datetime.datetime,),
    "null": (type(None),),
    "regex": (Regex, re.Pattern),
    "javascript": (Code,),
    "int": (int,),
    "timestamp": (Timestamp,),
    "long": (Int64, int),
    "decimal": (Decimal128,),
    "minKey": (MinKey,),
    "maxKey": (MaxKey,),
}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _has_type(value, alias):
    if alias == "number":
        return _is_number(value) or isinstance(value, Decimal128)
    if alias in ("int", "long", "double") and isinstance(value, bool):
        return False
    if alias == "int":
        return isinstance(value, int) and not isinstance(value, Int64) and -(2**31) <= value < 2**31
    return isinstance(value, TYPE_ALIASES[alias])


def _special(expected):
    """``(operator, argument)`` when ``expected`` is a one-key ``$$`` operator document."""
    if isinstance(expected, abc.Mapping) and len(expected) == 1:
        key = next(iter(expected))
        if isinstance(key, str) and key.startswith("$$"):
            return key, expected[key]
    return None


class Matcher:
    """Matches against the entity map of one test (for ``$$sessionLsid``/``$$matchesEntity``)."""

    def __init__(self, entities):
        self.entities = entities

    def match(self, expected, actual, *, root=True, path="", strict_root=False):
        special = _special(expected)
        if special:
            self._operator(*special, actual, root=root, path=path)
            return
        if actual is MISSING:
            raise Mismatch(f"{path or 'value'}: missing, expected {expected!r}")
        if isinstance(expected, abc.Mapping):
            self._document(expected, actual, root=root and not strict_root, path=path)
            return
        if isinstance(expected, abc.MutableSequence):
            if not isinstance(actual, abc.MutableSequence):
                raise Mismatch(f"{path}: expected an array, got {actual!r}")
            if len(expected) != len(actual):
                raise Mismatch(
                    f"{path}: expected {len(expected)} elements, got {len(actual)}: {actual!r}"
                )
            for index, (item, value) in enumerate(zip(expected, actual, strict=True)):
                # Each element of a root-level array is itself a root-level document.
                self.match(item, value, root=root, path=f"{path}[{index}]", strict_root=strict_root)
            return
        if _is_number(expected):
            if not _is_number(actual) or expected != actual:
                raise Mismatch(f"{path}: expected {expected!r}, got {actual!r}")
            return
        if isinstance(expected, bool) or expected is None:
            if actual is not expected:
                raise Mismatch(f"{path}: expected {expected!r}, got {actual!r}")
            return
        if type(expected) is not type(actual) and not (
            isinstance(expected, bytes) and isinstance(actual, bytes)
        ):
            raise Mismatch(f"{path}: expected {expected!r}, got {actual!r}")
        if expected != actual:
            raise Mismatch(f"{path}: expected {expected!r}, got {actual!r}")

    def _document(self, expected, actual, *, root, path):
        if not isinstance(actual, abc.Mapping):
            raise Mismatch(f"{path or 'document'}: expected a document, got {actual!r}")
        for key, value in expected.items():
            self.match(value, actual.get(key, MISSING), root=False, path=f"{path}.{key}")
        if not root:
            extra = [key for key in actual if key not in expected]
            if extra:
                raise Mismatch(f"{path or 'document'}: unexpected fields {extra} in {actual!r}")

    def _operator(self, operator, argument, actual, *, root, path):
        where = path or "value"
        if operator == "$$exists":
            if (actual is not MISSING) != bool(argument):
                raise Mismatch(f"{where}: expected {'present' if argument else 'absent'}")
        elif operator == "$$type":
            aliases = argument if isinstance(argument, list) else [argument]
            if actual is MISSING or not any(_has_type(actual, alias) for alias in aliases):
                raise Mismatch(f"{where}: expected type {aliases}, got {actual!r}")
        elif operator == "$$unsetOrMatches":
            if actual is not MISSING and not (actual is None and not path):
                self.match(argument, actual, root=root, path=path)
        elif operator == "$$sessionLsid":
            expected = self.entities.session_lsid(argument)
            if actual != expected:
                raise Mismatch(f"{where}: expected the lsid of {argument}, got {actual!r}")
        elif operator == "$$matchesEntity":
            if actual != self.entities[argument]:
                raise Mismatch(f"{where}: expected entity {argument}, got {actual!r}")
        elif operator == "$$matchesHexBytes":
            if actual != binascii.unhexlify(argument):
                raise Mismatch(f"{where}: expected bytes {argument}, got {actual!r}")
        elif operator == "$$lte":
            if actual is MISSING or not _is_number(actual) or not actual <= argument:
                raise Mismatch(f"{where}: expected <= {argument}, got {actual!r}")
        elif operator == "$$matchAsDocument":
            if not isinstance(actual, str):
                raise Mismatch(f"{where}: expected a JSON string, got {actual!r}")
            self.match(argument, json_util.loads(actual), root=False, path=path)
        elif operator == "$$matchAsRoot":
            self.match(argument, actual, root=True, path=path)
        else:
            raise NotImplementedError(f"matching operator {operator}")
