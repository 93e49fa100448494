"""Django lookups -> MongoDB, as two tables.

``FILTERS``: a field compared with a constant -> a query-language condition
(``{"path": {"$eq": v}}``), which MongoDB can answer from an index. Values are wrapped in an
operator (``$eq``, ``$in``...), never spliced in as a bare document, so a user value such as
``{"$ne": 1}`` or ``"$where"`` is matched literally.

``EXPRESSIONS``: any other comparison (two columns, a transform, a computed value) -> an
aggregation expression used inside ``$expr``. SQL comparisons with NULL are UNKNOWN (never
true); MongoDB orders null below every value, so every comparison is guarded.

Pattern lookups (``contains``, ``startswith``...) escape regex metacharacters (patterns.py).
"""

from __future__ import annotations

from . import uuid_text
from .field_types import internal_type
from .float_text import double_text
from .nulls import null_guards
from .patterns import anchored, escaped, regex_for


def _pattern_filter(path, value, lookup):
    if uuid_text.is_uuid_lookup(lookup):
        return uuid_text.query_filter(path, value, lookup)
    options = "i" if lookup.lookup_name.startswith("i") else ""
    pattern = regex_for(lookup.lookup_name, value)
    condition = {"$regex": pattern}
    if options:
        condition["$options"] = options
    return {path: condition}


def _regex_filter(path, value, lookup):
    if uuid_text.is_uuid_lookup(lookup):
        return uuid_text.query_filter(path, value, lookup)
    condition = {"$regex": str(value)}
    if lookup.lookup_name == "iregex":
        condition["$options"] = "i"
    return {path: condition}


def _comparison_filter(operator):
    def build(path, value, lookup):
        if value is None:
            return None  # SQL: comparing with NULL is never true
        return {path: {operator: value}}

    return build


def _in_filter(path, values, lookup):
    return {path: {"$in": [value for value in values if value is not None]}}


def _range_filter(path, values, lookup):
    # BETWEEN is inclusive at both ends; the query operators never match null or a missing
    # field (type bracketing). A NULL bound never gets here (can_use_query_operator).
    low, high = values
    return {path: {"$gte": low, "$lte": high}}


def _isnull_filter(path, value, lookup):
    if internal_type(lookup.lhs) == "JSONField":
        # A JSON value may be an array, and query equality with null also matches an array
        # holding a null ([null, 1] is NOT NULL); "$type": "array" tests the value itself.
        if value:
            return {path: {"$eq": None, "$not": {"$type": "array"}}}
        return {"$or": [{path: {"$ne": None}}, {path: {"$type": "array"}}]}
    return {path: None} if value else {path: {"$ne": None}}


#: lookup_name -> (path, prepared value(s), lookup) -> query condition (None: matches nothing).
FILTERS = {
    "exact": _comparison_filter("$eq"),
    "gt": _comparison_filter("$gt"),
    "gte": _comparison_filter("$gte"),
    "lt": _comparison_filter("$lt"),
    "lte": _comparison_filter("$lte"),
    "in": _in_filter,
    "range": _range_filter,
    "isnull": _isnull_filter,
    "iexact": _pattern_filter,
    "contains": _pattern_filter,
    "icontains": _pattern_filter,
    "startswith": _pattern_filter,
    "istartswith": _pattern_filter,
    "endswith": _pattern_filter,
    "iendswith": _pattern_filter,
    "regex": _regex_filter,
    "iregex": _regex_filter,
}
#: Text lookups: on a number they match its text (SQL casts the column), so on numeric fields
#: they run as an expression over the number's text (``_text``) instead of a query-language
#: ``$regex``.
TEXT_LOOKUPS = frozenset(
    {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
    | {"regex", "iregex"}
)

#: Lookups whose prepared right-hand side is a list of values (``in`` is prepared apart, since
#: it also drops NULLs).
ITERABLE_VALUES = frozenset({"range"})


def _comparison(operator):
    def build(lhs, rhs, lookup):
        return {operator: [lhs, rhs]}, null_guards(lhs, rhs)

    return build


def _in_expression(lhs, rhs, lookup):
    # ``rhs`` is an expression resolving to the array of values ($literal or a subquery's).
    return {"$in": [lhs, rhs]}, null_guards(lhs)


def _all(conditions):
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def _range(lhs, rhs, lookup):
    """SQL's ``x BETWEEN low AND high`` is ``x >= low AND x <= high``: with one bound NULL it
    is not UNKNOWN throughout but FALSE where ``x`` is beyond the other bound, so NOT BETWEEN
    then holds. The guards say where the answer is known: ``x`` not NULL and both bounds not
    NULL, or ``x`` below a non-NULL ``low``, or above a non-NULL ``high``. In the last two the
    test is FALSE whatever the other bound is (MongoDB orders null below every value)."""
    low, high = rhs
    test = {"$and": [{"$gte": [lhs, low]}, {"$lte": [lhs, high]}]}
    low_known, high_known = null_guards(low), null_guards(high)
    if not (low_known or high_known):
        return test, null_guards(lhs)
    known = [_all([*low_known, *high_known])]
    if high_known:
        known.append(_all([*low_known, {"$lt": [lhs, low]}]))
    if low_known:
        known.append(_all([*high_known, {"$gt": [lhs, high]}]))
    return test, [*null_guards(lhs), {"$or": known}]


def _isnull_expression(lhs, rhs, lookup):
    null = {"$lte": [lhs, None]}
    return (null if lookup.rhs else {"$not": [null]}), []


def _text(lhs, lookup):
    """The text a pattern lookup reads: SQL casts a number to text first. A double is
    written as SQL writes it (``float_text``: ``$toString`` would keep six digits, so
    ``score__startswith="3.1415"`` would miss 3.14159265)."""
    if internal_type(lookup.lhs) == "FloatField":
        return double_text(lhs)
    return {"$toString": lhs}


def _pattern_expression(lhs, rhs, lookup):
    if uuid_text.is_uuid_lookup(lookup):
        return uuid_text.expression(lhs, rhs, lookup)
    name = lookup.lookup_name
    if not (isinstance(rhs, dict) and "$literal" in rhs):
        # A column on the right: compared by position, or (case-insensitive) as a regex of
        # its escaped text.
        return _pattern_by_position(lhs, rhs, name), null_guards(lhs, rhs)
    test = {
        "$regexMatch": {
            "input": _text(lhs, lookup),
            "regex": {"$literal": regex_for(name, rhs["$literal"])},
            "options": "i" if name.startswith("i") else "",
        }
    }
    return test, null_guards(lhs)


def _pattern_by_position(lhs, rhs, name):
    if name.startswith("i"):
        # $toLower folds ASCII letters only; a case-insensitive regex folds every letter
        # (PCRE2 in UTF mode compares by Unicode case equivalence), as UPPER() LIKE UPPER()
        # does on PostgreSQL. The column's text is escaped into a literal pattern.
        return {
            "$regexMatch": {"input": lhs, "regex": anchored(name, escaped(rhs)), "options": "i"}
        }
    text, needle = lhs, rhs
    bare = name
    if bare == "exact":
        return {"$eq": [text, needle]}
    if bare == "contains":
        return {"$gte": [{"$indexOfCP": [text, needle]}, 0]}
    if bare == "startswith":
        return {"$eq": [{"$indexOfCP": [text, needle]}, 0]}
    tail = {"$subtract": [{"$strLenCP": text}, {"$strLenCP": needle}]}
    return {
        "$and": [
            {"$gte": [tail, 0]},
            {"$eq": [{"$substrCP": [text, tail, {"$strLenCP": needle}]}, needle]},
        ]
    }


def _regex_expression(lhs, rhs, lookup):
    if uuid_text.is_uuid_lookup(lookup):
        return uuid_text.expression(lhs, rhs, lookup)
    test = {
        "$regexMatch": {
            "input": _text(lhs, lookup),
            "regex": rhs,
            "options": "i" if lookup.lookup_name == "iregex" else "",
        }
    }
    return test, null_guards(lhs, rhs)


#: lookup_name -> (lhs, rhs, lookup) -> (test, guards): the lookup is TRUE when the guards
#: and the test hold, FALSE when the guards hold and the test does not, and UNKNOWN (SQL
#: NULL) when a guard fails.
EXPRESSIONS = {
    "exact": _comparison("$eq"),
    "gt": _comparison("$gt"),
    "gte": _comparison("$gte"),
    "lt": _comparison("$lt"),
    "lte": _comparison("$lte"),
    "in": _in_expression,
    "range": _range,
    "isnull": _isnull_expression,
    "iexact": _pattern_expression,
    "contains": _pattern_expression,
    "icontains": _pattern_expression,
    "startswith": _pattern_expression,
    "istartswith": _pattern_expression,
    "endswith": _pattern_expression,
    "iendswith": _pattern_expression,
    "regex": _regex_expression,
    "iregex": _regex_expression,
}
