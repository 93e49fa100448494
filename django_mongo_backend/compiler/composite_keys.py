"""Composite primary keys (Django 5.2's ``CompositePrimaryKey``) and tuple lookups.

How a composite key is stored: each component stays a top-level field under its own column,
as every other field, and the document's ``_id`` is the embedded document of the components
in the key's field order, ``{"tenant_id": 1, "id": 2}``. MongoDB's unique ``_id`` index then
enforces the key, and a filter on the whole key (``pk=(1, 2)``, ``pk__in=[...]``) is one
equality on ``_id`` that the index answers. The components stay top-level too so that every
other read (a filter on one component, an index, a foreign key or a join on them, a
projection) is the one any field gets.

The copy cannot drift: MongoDB never changes an ``_id`` (code 66, ImmutableField), and Django
never writes the key fields in an UPDATE it builds itself (``save()`` writes the other
fields; ``update(pk=...)``, ``bulk_update()`` and ``bulk_create(update_fields=...)`` of key
fields are refused by Django). ``QuerySet.update()`` of one component, which SQL allows, is
refused here (``refuse_key_updates``): it would need the documents deleted and inserted again.

Tuple lookups (``(a, b) > (1, 2)``, Django's ``tuple_lookups``) become the component lookups
Django's own fallback SQL would run (``a > 1 OR (a = 1 AND b > 2)``), so NULLs behave as in SQL.
"""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError
from django.db.models.expressions import Col, ColPairs, Ref
from django.db.models.fields.related_lookups import get_normalized_value
from django.db.models.fields.tuple_lookups import Tuple, TupleIn, tuple_lookups
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.db.models.sql.where import AND, OR, WhereNode

#: Tuple comparison -> (the lookup on a leading component, the lookup on the last one).
COMPARISONS = {
    "gt": (GreaterThan, GreaterThan),
    "gte": (GreaterThan, GreaterThanOrEqual),
    "lt": (LessThan, LessThan),
    "lte": (LessThan, LessThanOrEqual),
}


def key_fields(model: Any) -> tuple[Any, ...] | None:
    """The component fields of the model's composite primary key, or None."""
    if model is None:
        return None
    opts = model._meta.concrete_model._meta
    return tuple(opts.pk_fields) if opts.is_composite_pk else None


def set_compound_ids(model: Any, documents: list[dict[str, Any]]) -> None:
    """Give each new document its ``_id``: its key components, in the key's order.

    ``_id`` goes first, where MongoDB would put it, so an outside reader sees the key first.
    """
    fields = key_fields(model)
    if fields is None:
        return
    columns = [field.column for field in fields]
    for index, document in enumerate(documents):
        key = {column: document.get(column) for column in columns}
        documents[index] = {"_id": key, **document}


def compound_id(model: Any, values: tuple[Any, ...]) -> dict[str, Any]:
    """The ``_id`` of the document with these (stored) key component values."""
    fields = key_fields(model) or ()
    return {field.column: value for field, value in zip(fields, values, strict=True)}


def refuse_key_updates(model: Any, fields: list[Any]) -> None:
    """``QuerySet.update()`` of a component of a composite key (see the module docstring)."""
    keys = key_fields(model)
    if keys is None:
        return
    touched = [field.name for field in fields if field in keys]
    if touched:
        raise NotSupportedError(
            f"{model._meta.label}: update() of {', '.join(touched)}, part of the composite "
            "primary key, which MongoDB stores as the immutable _id: delete the objects and "
            "create them with the new key instead."
        )


def columns_of(lhs: Any) -> list[Any]:
    """The expressions of a tuple lookup's left side: a ``ColPairs`` (a composite key, a
    multi-column relation) or a ``Tuple`` of expressions."""
    if isinstance(lhs, ColPairs):
        return lhs.get_cols()
    return list(lhs.get_source_expressions())


def is_tuple_lookup(lookup: Any) -> bool:
    return isinstance(lookup.lhs, ColPairs | Tuple)


def all_columns(expressions: list[Any]) -> bool:
    return all(isinstance(expression, Col) for expression in expressions)


def refuse_key_value(lookup: Any) -> None:
    """A composite key compared as one value by a lookup on one column (``text__gt=F("pk")``):
    Django's error, raised where its SQL lookups compile their right side."""
    if isinstance(lookup.rhs, ColPairs):
        raise ValueError("CompositePrimaryKey cannot be used as a lookup value.")


def whole_key(columns: list[Any]) -> Any:
    """The model whose composite key these columns are, in order, on one alias; else None."""
    if not all_columns(columns) or len({column.alias for column in columns}) != 1:
        return None
    model = columns[0].target.model
    keys = key_fields(model)
    if keys is None or tuple(column.target for column in columns) != keys:
        return None
    return model


def as_tuple_lookup(lookup: Any) -> Any:
    """A lookup on several columns (``ColPairs``) as the tuple lookup Django compiles it to
    (``RelatedExact``/``RelatedIn`` of a multi-column relation normalise model instances)."""
    if lookup.lookup_name == "in":
        if isinstance(lookup, TupleIn):
            return lookup
        rhs = lookup.rhs
        if lookup.rhs_is_direct_value():
            rhs = [get_normalized_value(value, lookup.lhs) for value in rhs]
        return TupleIn(lookup.lhs, rhs)
    lookup_class = tuple_lookups.get(lookup.lookup_name)
    if lookup_class is None:
        raise NotSupportedError(f"the {lookup.lookup_name!r} lookup on several columns")
    if isinstance(lookup, lookup_class):
        return lookup
    if not lookup.rhs_is_direct_value():
        raise ValueError(f"'{lookup.lookup_name}' doesn't support multi-column subqueries.")
    return lookup_class(lookup.lhs, get_normalized_value(lookup.rhs, lookup.lhs))


def component_tree(lookup: Any) -> WhereNode:
    """The lookups on each column a tuple ``exact``/``isnull``/comparison stands for.

    ``(a, b) IS NULL`` is ``a IS NULL OR b IS NULL``, its negation ``a IS NOT NULL AND ...``;
    ``(a, b, c) > (x, y, z)`` is ``a > x OR (a = x AND (b > y OR (b = y AND c > z)))``: a NULL
    component makes the comparison UNKNOWN exactly where SQL's does.
    """
    columns = columns_of(lookup.lhs)
    name = lookup.lookup_name
    if name == "isnull":
        return WhereNode(
            [IsNull(column, lookup.rhs) for column in columns], OR if lookup.rhs else AND
        )
    rhs = lookup.rhs
    values = columns_of(rhs) if isinstance(rhs, ColPairs | Tuple) else list(rhs)
    if name == "exact":
        return WhereNode([Exact(c, v) for c, v in zip(columns, values, strict=True)], AND)
    leading, last = COMPARISONS[name]
    node = WhereNode([last(columns[-1], values[-1])], AND)
    for column, value in reversed(list(zip(columns[:-1], values[:-1], strict=True))):
        equal = WhereNode([Exact(column, value), node], AND)
        node = WhereNode([leading(column, value), equal], OR)
    return node


def has_null(values: Any) -> bool:
    return any(value is None for value in values)


def rows_of(lookup: Any) -> list[tuple[Any, ...]]:
    """The tuples of a ``TupleIn``/``TupleExact`` with direct values."""
    return list(lookup.rhs) if lookup.lookup_name == "in" else [tuple(lookup.rhs)]


def pairs_of(expression: Any) -> Any:
    """The ``ColPairs`` an expression is (or refers to by a ``Ref``), or None."""
    if isinstance(expression, Ref):
        expression = expression.source
    return expression if isinstance(expression, ColPairs) else None


def flat(expressions: list[Any]) -> list[Any]:
    """Expressions with each composite key (``ColPairs``) replaced by its columns."""
    result = []
    for expression in expressions:
        if pairs_of(expression) is not None:
            result.extend(pairs_of(expression).get_cols())
        else:
            result.append(expression)
    return result


def flat_select(columns: list[tuple[Any, Any, Any]]) -> list[tuple[Any, Any, Any]]:
    """A select list with each composite key as its columns, one row value each (Django's
    ``composite_fields_to_tuples()`` makes them one tuple); the alias stays on the first."""
    result = []
    for expression, sql, alias in columns:
        if pairs_of(expression) is not None:
            cols = pairs_of(expression).get_cols()
            result.append((cols[0], sql, alias))
            result.extend((column, sql, None) for column in cols[1:])
        else:
            result.append((expression, sql, alias))
    return result
