"""``GeneratedField(db_persist=True)``: a stored column the server computes on every write.

A SQL database computes a stored generated column itself whenever a row is written. MongoDB
has no such column, so every write of this backend computes it, on the server, from the
document as written, with the field's expression compiled like any other:

- an insert (``save()`` of a new object, ``create()``, ``bulk_create()``) evaluates the
  expressions over the new documents first, in one ``aggregate`` of ``$documents`` (one more
  command per insert command), and inserts them with their values;
- an update (``update()``, ``save()`` of an existing object, ``bulk_update()``) is an update
  pipeline whose last ``$set`` recomputes every stored generated field from the document
  its first ``$set`` wrote (no more commands);
- a migration adding one fills it in every existing document (one ``update_many``).

Django never writes one itself (it leaves generated fields out of inserts, and refuses them
in ``update()``). ``db_persist=False`` (a virtual column) is not supported yet.
"""

from __future__ import annotations

from typing import Any

from ..operations import document_key
from .expressions import ExpressionCompiler
from .mql_types import AggregationExpression
from .scopes import Scope


def stored_fields(model: Any) -> list[Any]:
    """The model's stored generated fields (those of its own collection)."""
    return [
        field for field in model._meta.local_concrete_fields if field.generated and field.db_persist
    ]


def field_expression(query_compiler: Any, field: Any) -> AggregationExpression:
    """The field's expression over its model's document (keys at the top level)."""
    resolved = field.expression.resolve_expression(field._query, allow_joins=False)
    return ExpressionCompiler(query_compiler, Scope(None)).compile(resolved)


def expressions_of(query_compiler: Any, fields: list[Any], convert: Any) -> dict[str, Any]:
    """Document key -> the value to store, ``convert(field, expression)`` of each field (the
    caller's conversion to the stored BSON type)."""
    return {
        document_key(field): convert(field, field_expression(query_compiler, field))
        for field in fields
    }
