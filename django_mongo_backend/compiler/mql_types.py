"""Names for the MongoDB values the compiler produces, used in its type hints.

A pipeline stage, a filter and an aggregation expression are plain Python values (dicts,
lists, strings, numbers) that PyMongo encodes as BSON; these aliases say which of them a
function takes or returns, so a signature reads ``-> Pipeline`` rather than ``-> list``.
Django's own classes are untyped (no stubs are installed), so Django nodes stay ``Any``.
"""

from __future__ import annotations

from typing import Any

#: One stage of an aggregation pipeline: ``{"$match": {...}}``, ``{"$lookup": {...}}``.
type Stage = dict[str, Any]
type Pipeline = list[Stage]
#: A query-language filter: ``$match``'s argument, the filter of update_many/delete_many.
type Filter = dict[str, Any]
#: An aggregation expression: ``"$path"``, ``"$$variable"``, ``{"$operator": ...}``, a list
#: of expressions, or a literal value (``True`` for a condition that always holds).
type AggregationExpression = Any
#: A document as a read returns it.
type Document = dict[str, Any]
