"""``GeneratedField``: columns whose value the server computes from the other columns.

A SQL database computes a generated column itself: a stored one (``db_persist=True``) when a
row is written, a virtual one (``db_persist=False``) when it is read. MongoDB has neither, so
this backend compiles the field's expression like any other and has the server evaluate it at
the same points:

- stored: an insert (``save()`` of a new object, ``create()``, ``bulk_create()``) evaluates
  the expressions over the new documents first, in one ``aggregate`` of ``$documents`` (one
  more command per insert command), and inserts them with their values; an update
  (``update()``, ``save()`` of an existing object, ``bulk_update()``) is an update pipeline
  whose last ``$set`` recomputes every stored generated field from the document its first
  ``$set`` wrote (no more commands); a migration adding one fills it in every document;
- virtual: never stored. Every read of the collection (the query's own, a join's
  ``$lookup``, a subquery's) begins with an ``$addFields`` computing them (``read_stage``),
  so that filters, ordering and the select list read them as stored columns; a write whose
  filter reads one selects the ids first; an insert still evaluates them, to hand Django the
  values it reads back (as SQL's ``RETURNING`` would).

Django never writes a generated field itself (inserts leave them out, ``update()`` drops
them). A computed value is converted to the output field's BSON type (``stored_as``).
"""

from __future__ import annotations

from typing import Any

from django.db.models.expressions import Col

from ..operations import document_key
from .expressions import ExpressionCompiler
from .field_types import stored_as
from .mql_types import AggregationExpression, Stage
from .scopes import Scope


def stored_fields(model: Any) -> list[Any]:
    """The model's stored generated fields (those of its own collection)."""
    return [f for f in model._meta.local_concrete_fields if f.generated and f.db_persist]


def virtual_fields(model: Any) -> list[Any]:
    """The model's virtual generated fields (those of its own collection)."""
    return [f for f in model._meta.local_concrete_fields if f.generated and not f.db_persist]


def field_expression(
    query_compiler: Any, field: Any, *, converted: bool = True
) -> AggregationExpression:
    """The field's expression over its model's document (keys at the top level), converted
    to the output field's BSON type unless ``converted`` is false."""
    resolved = field.expression.resolve_expression(field._query, allow_joins=False)
    compiled = ExpressionCompiler(query_compiler, Scope(None)).compile(resolved)
    return stored_as(field, compiled) if converted else compiled


def expressions_of(query_compiler: Any, fields: list[Any]) -> dict[str, Any]:
    """Document key -> the value of each field."""
    return {document_key(field): field_expression(query_compiler, field) for field in fields}


def read_stage(query_compiler: Any, model: Any) -> Stage | None:
    """The ``$addFields`` computing ``model``'s virtual fields in its documents, or None."""
    fields = virtual_fields(model)
    if not fields:
        return None
    return {"$addFields": expressions_of(query_compiler, fields)}


def reads_virtual(node: Any) -> bool:
    """Whether ``node`` (a WHERE, an expression) reads a virtual generated field."""
    stack = [node]
    while stack:
        item = stack.pop()
        if item is None or hasattr(item, "alias_map"):  # a subquery reads its own documents
            continue
        if isinstance(item, Col):
            if item.target.generated and not item.target.db_persist:
                return True
            continue
        children = getattr(item, "children", None)
        if children is not None:
            stack.extend(children)
            continue
        for attribute in ("lhs", "rhs"):
            value = getattr(item, attribute, None)
            if hasattr(value, "resolve_expression"):
                stack.append(value)
        if hasattr(item, "get_source_expressions"):
            stack.extend(item.get_source_expressions())
    return False
