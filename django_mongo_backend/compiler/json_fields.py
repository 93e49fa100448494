"""Django's JSONField transforms and lookups -> MongoDB aggregation expressions.

Django's ``KeyTransform``, ``HasKey``, ``DataContains``... cannot be given an ``as_mql``
method, so this module maps their classes to functions with the same contract:
``as_mql_for(node)`` returns a callable ``(expression_compiler) -> result`` for a node it
knows (an aggregation expression for a transform; ``(test, guards)`` for a lookup, as
``conditions.lookup_expression`` expects), or None.

JSON values are stored as BSON (objects as documents with sorted keys, see
``operations.adapt_json_value``); the JSON ``null`` that is a column's whole value as MaxKey
(``operations.JSON_NULL``), apart from SQL NULL (BSON null). In expressions a JSON column's
value is its stored form, so a JSON null is MaxKey there too: ``JSONNull()`` and
``Value(None, JSONField())`` compile to it (``json_null_literal``), it compares equal to
itself, and no null test takes it for NULL. Nested nulls are BSON null, and a key read never
gives MaxKey (a step into it, as into any scalar, reads NULL). Semantics follow Django's SQL
backends:

- ``data__a__b`` reads key ``b`` of key ``a``; an integer-like key also indexes an array
  (``data__items__0``). A key that is absent, or a step into a scalar, reads as NULL, like a
  JSON ``null`` (SQL backends extract both as NULL), so comparisons with it are UNKNOWN.
  Presence is tested on the structure (``has``): ``data__a=None`` matches a present JSON
  null, ``data__a__isnull=True`` an absent key.
- ``contains`` / ``contained_by`` are PostgreSQL's ``@>`` / ``<@``: objects contain the given
  keys with containing values, arrays contain every given element somewhere, scalars are equal,
  and at the top level an array contains a scalar that is one of its elements. The given value
  is a constant, so the test is unrolled over its structure (no recursion on the server).
- ``data__a__b=<number, string or boolean>`` runs as a query operator an index on
  ``data.a.b`` can answer (``key_exact_match``); every other key test is an expression.
- ``data=value`` compares whole JSON values (MongoDB's query ``$eq`` would also match an array
  holding ``value``, so it runs as an aggregation ``$eq``); ``data=JSONNull()`` (and
  ``data=None``) matches the JSON null, ``data__isnull=True`` SQL NULL.
- ``has_key`` / ``has_keys`` / ``has_any_keys``: the key is present (its value may be null).
- Comparisons (``lt``...) only compare values of the same kind (numbers with numbers, strings
  with strings); the text lookups (``icontains``...) read strings, and numbers as their text.
- A NULL column (or key) makes every lookup but ``isnull`` UNKNOWN: guards keep negations
  from matching it.
"""

from __future__ import annotations

import math
import re
from functools import partial

from django.db import NotSupportedError
from django.db.models import ExpressionList, Value
from django.db.models.expressions import Col
from django.db.models.fields import json as django_json

from ..operations import JSON_NULL
from .dispatch import by_class
from .float_text import double_text
from .lookups import EXPRESSIONS
from .nulls import null_guards

NUMBER_TYPES = ["int", "long", "double", "decimal"]


def as_mql_for(node):
    """The ``as_mql`` of a JSONField transform or lookup of Django's, or None."""
    handler = by_class(HANDLERS, node)
    return None if handler is None else partial(handler, node)


def as_mql_match_for(node):
    """The ``as_mql_match`` of a JSONField lookup of Django's that has a query-language form
    for some of its values, or None (its ``as_mql`` is then the only form)."""
    handler = by_class(MATCH_HANDLERS, node)
    return None if handler is None else partial(handler, node)


# -- reading keys -------------------------------------------------------------------------


def _bind(value, name, build):
    """``build(reference)`` with ``value`` bound once (a path is cheap to repeat)."""
    if isinstance(value, str) and not value.startswith("$$"):
        return build(value)
    return {"$let": {"vars": {name: value}, "in": build(f"$${name}")}}


def _type(value):
    return {"$type": value}


def _is_object(value):
    return {"$eq": [_type(value), "object"]}


def _index(key):
    try:
        return int(key)
    except ValueError:
        return None


def child(value, key, depth=0):
    """Key ``key`` of ``value``: an object's key, or (integer-like key) an array's element;
    NULL when there is none (presence is tested apart, by ``has``)."""
    index = _index(key)

    def build(ref):
        branches = [
            {
                "case": _is_object(ref),
                "then": {
                    "$ifNull": [
                        {"$getField": {"field": {"$literal": str(key)}, "input": ref}},
                        None,
                    ]
                },
            }
        ]
        if index is not None:
            branches.append(
                {
                    "case": {"$isArray": ref},
                    "then": {"$ifNull": [{"$arrayElemAt": [ref, index]}, None]},
                }
            )
        return {"$switch": {"branches": branches, "default": None}}

    return _bind(value, f"j{depth}", build)


def has(value, key, depth=0, *, array_index=True):
    """Whether ``value`` has the key ``key``: an object's key, even with a null value, or
    (``array_index``) an integer-like key within an array's bounds."""
    index = _index(key) if array_index else None

    def build(ref):
        keys = {"$map": {"input": {"$objectToArray": ref}, "as": "kv", "in": "$$kv.k"}}
        branches = [{"case": _is_object(ref), "then": {"$in": [{"$literal": str(key)}, keys]}}]
        if index is not None:
            size = {"$size": ref}
            within = {
                "$and": [{"$lt": [index, size]}, {"$gte": [index, {"$multiply": [-1, size]}]}]
            }
            branches.append({"case": {"$isArray": ref}, "then": within})
        return {"$switch": {"branches": branches, "default": False}}

    return _bind(value, f"h{depth}", build)


def _key_path(transform):
    keys = []
    node = transform
    while isinstance(node, django_json.KeyTransform):
        keys.append(node.key_name)
        node = node.lhs
    keys.reverse()
    return node, keys


def key_transform(transform, expression_compiler):
    """``data__a__b`` (and ``KT("data__a__b")``, as text)."""
    source, keys = _key_path(transform)
    value = expression_compiler.compile(source)
    for depth, key in enumerate(keys):
        value = child(value, key, depth)
    if isinstance(transform, django_json.KeyTextTransform):
        value = as_text(value)
    return value


def key_present(transform, expression_compiler):
    """Whether the key ``transform`` reads is present (its value may be JSON null)."""
    source, keys = _key_path(transform)
    parent = expression_compiler.compile(source)
    for depth, key in enumerate(keys[:-1]):
        parent = child(parent, key, depth)
    return has(parent, keys[-1], len(keys))


def as_text(value):
    """A JSON value as SQL's ``->>`` text: strings as they are, numbers and booleans as JSON
    text; objects and arrays are not given as text (NULL)."""

    def build(ref):
        return {
            "$switch": {
                "branches": [
                    {"case": {"$eq": [_type(ref), "string"]}, "then": ref},
                    # A double as SQL writes it ($toString keeps six digits, "%g").
                    {"case": {"$eq": [_type(ref), "double"]}, "then": double_text(ref)},
                    {"case": {"$in": [_type(ref), NUMBER_TYPES]}, "then": {"$toString": ref}},
                    {
                        "case": {"$eq": [_type(ref), "bool"]},
                        "then": {"$cond": [ref, "true", "false"]},
                    },
                ],
                "default": None,
            }
        }

    return _bind(value, "t", build)


# -- values -------------------------------------------------------------------------------


def _rhs_value(lookup, expression_compiler):
    """The prepared constant on the right (adapted like a stored JSON value)."""
    _, params = lookup.get_db_prep_lookup(lookup.rhs, expression_compiler.connection)
    return params


def _rhs(lookup, expression_compiler):
    """An aggregation expression for the right-hand side."""
    if hasattr(lookup.rhs, "resolve_expression"):
        return expression_compiler.compile(lookup.rhs)
    return {"$literal": _rhs_value(lookup, expression_compiler)[0]}


def _constant(lookup, expression_compiler):
    if hasattr(lookup.rhs, "resolve_expression"):
        raise NotSupportedError(
            f"the JSONField {lookup.lookup_name!r} lookup takes a constant, not an expression"
        )
    return _rhs_value(lookup, expression_compiler)[0]


# -- lookups ------------------------------------------------------------------------------


def has_keys(lookup, expression_compiler):
    """has_key / has_keys / has_any_keys: the key(s) are present (null values count).

    As Django's SQL backends compile them (``HasKeyLookup.compile_json_path_final_key``): the
    last key is an object's key even when it looks like an integer (``has_key="0"`` is not
    "has an element 0"); a key given as a key transform (``has_key=KT("data__a__0__b")``,
    ``has_key=F("data__a__b")``) is a path below the column, whose earlier keys may index
    arrays. ``HasKeyOrArrayIndex`` (Django's own ``key__isnull``) lets the last key index too.
    """
    value = expression_compiler.compile(lookup.lhs)
    rhs = lookup.rhs
    keys = list(rhs) if isinstance(rhs, list | tuple) else [rhs]
    array_index = type(lookup).__name__ == "HasKeyOrArrayIndex"
    tests = []
    for key in keys:
        if isinstance(key, django_json.KeyTransform):
            _, path = _key_path(key)  # the transform's own column is not read
        elif hasattr(key, "resolve_expression"):
            raise NotSupportedError("has_key with an expression as the key")
        else:
            path = [key]
        parent = value
        for depth, step in enumerate(path[:-1]):
            parent = child(parent, step, depth)
        tests.append(has(parent, str(path[-1]), len(path), array_index=array_index))
    if not tests:
        test = isinstance(lookup, django_json.HasKeys) and not isinstance(
            lookup, django_json.HasAnyKeys
        )
    elif len(tests) == 1:
        test = tests[0]
    else:
        test = {"$or" if isinstance(lookup, django_json.HasAnyKeys) else "$and": tests}
    return test, null_guards(value)


def _get(ref, key):
    """Key ``key`` of the object ``ref`` (known to be an object holding it)."""
    return {"$getField": {"field": {"$literal": key}, "input": ref}}


def contains(lookup, expression_compiler):
    value = expression_compiler.compile(lookup.lhs)
    return _contains(value, _constant(lookup, expression_compiler), 0, top=True), null_guards(value)


def _contains(value, given, depth, *, top=False):
    """``value @> given`` for a constant ``given``."""
    if isinstance(given, dict):

        def build_object(ref):
            tests = [
                {
                    "$cond": [
                        has(ref, key, depth),
                        _contains(_get(ref, key), part, depth + 1),
                        False,
                    ]
                }
                for key, part in given.items()
            ]
            return {"$cond": [_is_object(ref), {"$and": tests} if tests else True, False]}

        return _bind(value, f"c{depth}", build_object)
    if isinstance(given, list):

        def build_array(ref):
            variable = f"e{depth}"
            tests = [
                {
                    "$anyElementTrue": [
                        {
                            "$map": {
                                "input": ref,
                                "as": variable,
                                "in": _contains(f"$${variable}", part, depth + 1),
                            }
                        }
                    ]
                }
                for part in given
            ]
            return {"$cond": [{"$isArray": ref}, {"$and": tests} if tests else True, False]}

        return _bind(value, f"c{depth}", build_array)
    literal = {"$literal": given}
    if not top:
        return {"$eq": [value, literal]}

    def build_scalar(ref):
        # PostgreSQL: at the top level an array contains a scalar that is one of its elements.
        return {
            "$cond": [
                {"$isArray": ref},
                {"$in": [literal, ref]},
                {"$eq": [ref, literal]},
            ]
        }

    return _bind(value, f"c{depth}", build_scalar)


def contained_by(lookup, expression_compiler):
    value = expression_compiler.compile(lookup.lhs)
    return _contained(value, _constant(lookup, expression_compiler), 0, top=True), null_guards(
        value
    )


def _contained(value, given, depth, *, top=False):
    """``value <@ given`` for a constant ``given``."""
    if isinstance(given, dict):

        def build_object(ref):
            keys = {
                "$map": {"input": {"$objectToArray": ref}, "as": f"k{depth}", "in": f"$$k{depth}.k"}
            }
            tests = [{"$setIsSubset": [keys, {"$literal": list(given)}]}]
            for key, part in given.items():
                tests.append(
                    {
                        "$cond": [
                            has(ref, key, depth),
                            _contained(_get(ref, key), part, depth + 1),
                            True,
                        ]
                    }
                )
            return {"$cond": [_is_object(ref), {"$and": tests}, False]}

        return _bind(value, f"c{depth}", build_object)
    if isinstance(given, list):

        def build_array(ref):
            variable = f"e{depth}"
            alternatives = [_contained(f"$${variable}", part, depth + 1) for part in given]
            element_test = {"$or": alternatives} if alternatives else False
            every = {
                "$allElementsTrue": [{"$map": {"input": ref, "as": variable, "in": element_test}}]
            }
            otherwise = False
            if top:
                scalars = [part for part in given if not isinstance(part, dict | list)]
                otherwise = {"$in": [ref, {"$literal": scalars}]}
            return {"$cond": [{"$isArray": ref}, every, otherwise]}

        return _bind(value, f"c{depth}", build_array)
    return {"$eq": [value, {"$literal": given}]}


def _is_json_null(rhs):
    """``None``, ``JSONNull()`` or ``Value(None, JSONField())``: the JSON scalar null."""
    if rhs is None or type(rhs).__name__ == "JSONNull":
        return True
    return (
        isinstance(rhs, Value)
        and rhs.value is None
        and isinstance(rhs._output_field_or_none, django_json.JSONField)
    )


def json_null_literal(value):
    """Whether the ``Value`` node ``value`` is the JSON null, as Django's ``Value.as_sql``
    decides: ``JSONNull()`` always; ``Value(None, JSONField())`` unless resolved for a save,
    where its field's ``get_db_prep_save`` makes it SQL NULL (``bulk_update``'s
    ``Value(None, output_field=field)`` for an attribute set to None)."""
    if type(value).__name__ == "JSONNull":
        return True
    return _is_json_null(value) and not value.for_save


def key_exact(lookup, expression_compiler):
    value = expression_compiler.compile(lookup.lhs)
    if _is_json_null(lookup.rhs):
        # JSON null: the key is present and null (an absent key is SQL NULL).
        return {"$eq": [value, None]}, [key_present(lookup.lhs, expression_compiler)]
    rhs = _rhs(lookup, expression_compiler)
    return {"$eq": [value, rhs]}, null_guards(value, rhs)


def key_exact_match(lookup, condition_compiler, positive):
    """``data__a__b=v`` TRUE, for a number, string or boolean ``v``, as a query operator:
    ``{"data.a.b": {"$eq": v}}``, which an index on ``data.a.b`` can answer. None (use the
    expression) for anything else, and for FALSE (where JSON null and an absent key differ
    from the expression's NULL only through guards the query language has no short form for).

    It is the expression's answer exactly when no step of the path meets an array: a dotted
    path walks into arrays (``data: [{"a": 1}]`` has ``data.a`` 1, where the key transform
    reads NULL) and equality matches an array holding the value (``{"a": [1, 2]}`` matches 1,
    where SQL compares the array with 1). So every step is required not to be an array
    (``$type: "array"`` tests the field itself, MongoDB 3.6+); under that guard the path reads
    exactly the objects' keys. Query equality is type-bracketed as the expression's ``$eq``:
    numbers of every BSON type compare by value, never with a string or a boolean. An integer
    key (which also indexes an array), a key that is not a plain path step (``PLAIN_KEY``), a
    key text transform (``KT()``, compared as text) and a value of any other type keep the
    expression."""
    if not positive:
        return None
    transform = lookup.lhs
    if type(transform) is not django_json.KeyTransform:
        return None
    column, keys = _key_path(transform)
    scope = condition_compiler.expression_compiler.scope
    if not (isinstance(column, Col) and scope.is_local(column.alias)):
        return None
    if not all(_plain_key(key) for key in keys):
        return None
    if hasattr(lookup.rhs, "resolve_expression") or _is_json_null(lookup.rhs):
        return None
    (value,) = _rhs_value(lookup, condition_compiler.expression_compiler)
    if not _plain_scalar(value):
        return None
    path = scope.path(column.alias, column.target)
    steps = [".".join([path, *keys[:depth]]) for depth in range(len(keys) + 1)]
    conditions = [{step: {"$not": {"$type": "array"}}} for step in steps[:-1]]
    conditions.append({steps[-1]: {"$eq": value, "$not": {"$type": "array"}}})
    return {"$and": conditions}


#: Keys used as path steps: word characters and "-". A path step must not hold a dot or
#: start with "$"; keys with other punctuation or spaces (rare, and what injection tests
#: are made of) keep the expression, which names them as a $literal.
PLAIN_KEY = re.compile(r"[\w-]+")


def _plain_key(key):
    key = str(key)
    return PLAIN_KEY.fullmatch(key) is not None and _index(key) is None


def _plain_scalar(value):
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, bool | int | str)


def json_exact(lookup, expression_compiler):
    """``data=value``: the whole JSON value equals ``value``. (A query-language ``$eq`` would
    also match an array merely containing it.) ``data=JSONNull()`` (``data=None``,
    deprecated in Django 6.1) matches a JSON null, never SQL NULL."""
    value = expression_compiler.compile(lookup.lhs)
    if lookup.rhs is None:
        # Django 6.1 deprecates None for the JSON null with a warning that JSONExact's
        # process_rhs gives, as SQL backends call it; for a constant it reads no SQL.
        lookup.process_rhs(None, expression_compiler.connection)
        rhs = {"$literal": JSON_NULL}
    else:
        rhs = _rhs(lookup, expression_compiler)
    return {"$eq": [value, rhs]}, null_guards(value, rhs)


def key_isnull(lookup, expression_compiler):
    """``data__a__isnull=True``: the key is absent (a JSON null is present)."""
    present = key_present(lookup.lhs, expression_compiler)
    return (present if not lookup.rhs else {"$not": [present]}), []


def _in_values(lookup, expression_compiler, *, top):
    """The right side of ``__in`` as an array expression, and whether it holds JSON null.
    A list holding expressions arrives as an ``ExpressionList`` (Django wraps its constants
    in ``Value``s); SQL NULLs never match and are left out, as Django drops them (a plain
    None in a list of constants: its adapted form, JSON_NULL, is left out). On the column
    (``top``) a JSON null is a value like the others (JSON_NULL); on a key it is BSON null,
    reported apart, since only a present key may match it."""
    rhs = lookup.rhs
    if not isinstance(rhs, ExpressionList):
        values = [
            item
            for item in _rhs_value(lookup, expression_compiler)
            if item is not None and not isinstance(item, type(JSON_NULL))
        ]
        return {"$literal": values}, False
    items, json_null = [], False
    for item in rhs.get_source_expressions():
        if _is_json_null(item) and not top:
            json_null = True
        elif _is_json_null(item):
            items.append({"$literal": JSON_NULL})
        elif not (isinstance(item, Value) and item.value is None):
            items.append(expression_compiler.compile(item))
    return items, json_null


def key_in(lookup, expression_compiler):
    """``data__key__in=[...]``; a JSON null in the list matches a present null value."""
    value = expression_compiler.compile(lookup.lhs)
    values, json_null = _in_values(lookup, expression_compiler, top=False)
    test = {"$in": [value, values]}
    if json_null:
        # The key absent (or the column NULL) stays UNKNOWN, as SQL's NULL IN (...).
        return {"$or": [{"$eq": [value, None]}, test]}, [
            key_present(lookup.lhs, expression_compiler)
        ]
    return test, null_guards(value)


def key_text(lookup, expression_compiler):
    """iexact, icontains, startswith... on a key: the builtin text tests on its text."""
    if lookup.rhs is None and lookup.lookup_name == "iexact":
        # Django reads data__key__iexact=None as data__key=None: the key holds JSON null.
        source = django_json.KeyTransform(lookup.lhs.key_name, *lookup.lhs.get_source_expressions())
        value = expression_compiler.compile(source)
        return {"$eq": [value, None]}, [key_present(source, expression_compiler)]
    text = expression_compiler.compile(lookup.lhs)  # a KeyTextTransform: already text
    builder = EXPRESSIONS[lookup.lookup_name]
    return builder(text, _rhs(lookup, expression_compiler), lookup)


def _kind(value):
    """numbers -> "number", otherwise the BSON type name."""
    return {"$cond": [{"$in": [_type(value), NUMBER_TYPES]}, "number", _type(value)]}


def _python_kind(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return None


COMPARISONS = {"lt": "$lt", "lte": "$lte", "gt": "$gt", "gte": "$gte"}


def key_compare(lookup, expression_compiler):
    value = expression_compiler.compile(lookup.lhs)
    operator = COMPARISONS[lookup.lookup_name]
    if hasattr(lookup.rhs, "resolve_expression"):
        rhs = expression_compiler.compile(lookup.rhs)
        same_kind = {"$eq": [_kind(value), _kind(rhs)]}
        return {"$and": [same_kind, {operator: [value, rhs]}]}, null_guards(value, rhs)
    constant = _rhs_value(lookup, expression_compiler)[0]
    if constant is None or isinstance(constant, type(JSON_NULL)):
        return False, [False]  # compared with NULL: UNKNOWN
    kind = _python_kind(constant)
    test = {operator: [value, {"$literal": constant}]}
    return {"$and": [{"$eq": [_kind(value), kind]}, test]}, null_guards(value)


def json_in(lookup, expression_compiler):
    """``data__in=[...]`` on the column itself."""
    value = expression_compiler.compile(lookup.lhs)
    values, _ = _in_values(lookup, expression_compiler, top=True)
    return {"$in": [value, values]}, null_guards(value)


def json_icontains(lookup, expression_compiler):
    raise NotSupportedError(
        "icontains on a whole JSONField (a substring of its JSON text) is not supported on "
        "MongoDB: use a key (data__key__icontains)"
    )


def _lookup(name):
    return getattr(django_json, name, None)


HANDLERS = {
    django_json.KeyTransform: key_transform,
    django_json.HasKey: has_keys,
    django_json.HasKeys: has_keys,
    django_json.HasAnyKeys: has_keys,
    django_json.DataContains: contains,
    django_json.ContainedBy: contained_by,
    django_json.KeyTransformExact: key_exact,
    django_json.JSONExact: json_exact,
    django_json.KeyTransformIsNull: key_isnull,
    django_json.KeyTransformIn: key_in,
    django_json.KeyTransformTextLookupMixin: key_text,
    django_json.KeyTransformNumericLookupMixin: key_compare,
    django_json.JSONIContains: json_icontains,
}
#: Lookups with a query-language form for some of their values (``as_mql_match``).
MATCH_HANDLERS = {django_json.KeyTransformExact: key_exact_match}
if _lookup("JSONIn") is not None:  # Django 6.0+
    HANDLERS[django_json.JSONIn] = json_in
if _lookup("HasKeyOrArrayIndex") is not None:
    HANDLERS[django_json.HasKeyOrArrayIndex] = has_keys
