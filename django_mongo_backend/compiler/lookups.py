"""Django lookups -> MongoDB, as two tables.

``FILTERS``: a field compared with a constant -> a query-language condition
(``{"path": {"$eq": v}}``), which MongoDB can answer from an index. Values are wrapped in an
operator (``$eq``, ``$in``...), never spliced in as a bare document, so a user value such as
``{"$ne": 1}`` or ``"$where"`` is matched literally.

``EXPRESSIONS``: any other comparison (two columns, a transform, a computed value) -> an
aggregation expression used inside ``$expr``. SQL comparisons with NULL are UNKNOWN (never
true); MongoDB orders null below every value, so every comparison is guarded.

Pattern lookups (``contains``, ``startswith``...) escape regex metacharacters.
"""

from __future__ import annotations

import re

from .expressions import is_not_null, null_guards


def regex_for(lookup_name, value):
    value = re.escape(str(value))
    if lookup_name in ("exact", "iexact"):
        return f"^{value}$"
    if lookup_name in ("startswith", "istartswith"):
        return f"^{value}"
    if lookup_name in ("endswith", "iendswith"):
        return f"{value}$"
    return value


def _pattern_filter(path, value, lookup):
    options = "i" if lookup.lookup_name.startswith("i") else ""
    pattern = regex_for(lookup.lookup_name, value)
    condition = {"$regex": pattern}
    if options:
        condition["$options"] = options
    return {path: condition}


def _regex_filter(path, value, lookup):
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
    low, high = values
    if low is None or high is None:
        return None
    return {path: {"$gte": low, "$lte": high}}


def _isnull_filter(path, value, lookup):
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
#: Lookups whose prepared right-hand side is a list of values.
ITERABLE_VALUES = frozenset({"in", "range"})


def _guarded(operator):
    def build(lhs, rhs, lookup):
        guards = null_guards(lhs, rhs)
        comparison = {operator: [lhs, rhs]}
        return {"$and": [comparison, *guards]} if guards else comparison

    return build


def _in_expression(lhs, rhs, lookup):
    values = rhs if isinstance(rhs, list) else [rhs]
    return {"$and": [*null_guards(lhs), {"$in": [lhs, values]}]}


def _range_expression(lhs, rhs, lookup):
    low, high = rhs
    return {
        "$and": [
            is_not_null(lhs),
            is_not_null(low),
            is_not_null(high),
            {"$gte": [lhs, low]},
            {"$lte": [lhs, high]},
        ]
    }


def _isnull_expression(lhs, rhs, lookup):
    null = {"$lte": [lhs, None]}
    return null if lookup.rhs else {"$not": [null]}


def _pattern_expression(lhs, rhs, lookup):
    name = lookup.lookup_name
    if isinstance(rhs, dict) and "$literal" in rhs:
        regex = {"$literal": regex_for(name, rhs["$literal"])}
    else:
        # A column on the right: escape it in the pipeline is not possible; compare by
        # position instead (exact semantics of LIKE with a column operand).
        return _pattern_by_position(lhs, rhs, name)
    return {
        "$and": [
            is_not_null(lhs),
            {
                "$regexMatch": {
                    "input": {"$toString": lhs},
                    "regex": regex,
                    "options": "i" if name.startswith("i") else "",
                }
            },
        ]
    }


def _pattern_by_position(lhs, rhs, name):
    insensitive = name.startswith("i")
    text = {"$toLower": lhs} if insensitive else lhs
    needle = {"$toLower": rhs} if insensitive else rhs
    bare = name.removeprefix("i")
    if bare == "exact":
        test = {"$eq": [text, needle]}
    elif bare == "contains":
        test = {"$gte": [{"$indexOfCP": [text, needle]}, 0]}
    elif bare == "startswith":
        test = {"$eq": [{"$indexOfCP": [text, needle]}, 0]}
    else:  # endswith
        tail = {"$subtract": [{"$strLenCP": text}, {"$strLenCP": needle}]}
        test = {
            "$and": [
                {"$gte": [tail, 0]},
                {"$eq": [{"$substrCP": [text, tail, {"$strLenCP": needle}]}, needle]},
            ]
        }
    return {"$and": [is_not_null(lhs), is_not_null(rhs), test]}


def _regex_expression(lhs, rhs, lookup):
    return {
        "$and": [
            is_not_null(lhs),
            {
                "$regexMatch": {
                    "input": lhs,
                    "regex": rhs,
                    "options": "i" if lookup.lookup_name == "iregex" else "",
                }
            },
        ]
    }


#: lookup_name -> (lhs expression, rhs expression, lookup) -> boolean aggregation expression.
EXPRESSIONS = {
    "exact": _guarded("$eq"),
    "gt": _guarded("$gt"),
    "gte": _guarded("$gte"),
    "lt": _guarded("$lt"),
    "lte": _guarded("$lte"),
    "in": _in_expression,
    "range": _range_expression,
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
