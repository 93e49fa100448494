"""Subquery / Exists / OuterRef -> a ``$lookup`` with ``let`` and ``pipeline``.

The subquery's own pipeline runs inside ``$lookup`` for each outer document; outer columns
are passed in through ``let`` (see ``Scope.reference``) and compared inside ``$expr``. The
lookup is added to the outer compiler's ``prelude`` (it must run before the stage that reads
its result), and the expression returned reads the looked-up array:

- ``Exists(qs)``: true when the array is not empty (the inner pipeline stops at one document:
  Django slices an ``Exists`` query to one row itself);
- ``Subquery(qs)``: the first row's single column, or null when there is none.

``outer`` is the outer query's ExpressionCompiler; nothing here imports the pipeline builder:
the inner query recurses through its own compiler's ``build_select(outer_scope=...)``.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import NotSupportedError
from django.db.models.expressions import Exists, Subquery

from .mql_types import AggregationExpression


def in_subquery_as_query(lookup: Any) -> Any:
    """``x__in=Subquery(qs)`` as ``x__in=qs``: set membership, not the subquery's first value.

    Django 6 resolves a plain ``Subquery()`` to its ``Query`` (``Subquery.resolve_expression``:
    the wrapper is a shim), so the ``in`` lookup sees the query; Django 5.2 keeps the wrapper,
    which would otherwise compile as a scalar subquery. SQL means the same by both:
    ``x IN (SELECT ...)``. As Django's ``In`` does with a query, its default ordering is
    dropped unless it is sliced. The lookup and query are copied, never changed in place.
    """
    rhs = lookup.rhs
    if type(rhs) is not Subquery or lookup.lookup_name != "in":
        return lookup
    if rhs.template != Subquery.template:
        return lookup
    lookup = copy.copy(lookup)
    lookup.rhs = query = rhs.query.clone()
    query.clear_ordering(force=False, clear_default=True)
    return lookup


def is_correlated(query: Any) -> bool:
    """Whether ``query`` reads columns of an outer query (OuterRef)."""
    return bool(query.get_external_cols())


def _at_most_one_row(query: Any) -> bool:
    """Whether the query's own slice keeps one row at most. Django's ``Exists`` slices its
    query to one row (``Query.exists()``, which also selects only a constant unless the query
    is distinct and sliced): its pipeline already ends at one document, and a second
    ``$limit`` / ``$project`` would only be evaluated again."""
    return query.high_mark is not None and query.high_mark - query.low_mark <= 1


def compile_subquery(
    outer: Any, expression: Any, *, as_array: bool = False
) -> AggregationExpression:
    """Exists/Subquery (or a resolved Query) -> an expression reading its $lookup result."""
    query = getattr(expression, "query", expression)
    if query.combinator:
        raise NotSupportedError(f"{query.combinator}() inside a subquery")
    exists = isinstance(expression, Exists)
    try:
        # The inner query is compiled by its own Django compiler, as any query is, in a scope
        # that sees the outer query's columns (they become the $lookup's ``let``).
        compiler = query.get_compiler(connection=outer.connection)
        plan = compiler.build_select(outer_scope=outer.scope)
    except EmptyResultSet:
        # The subquery can match nothing (.none(), "in []"): a value, not an empty outer query.
        if exists:
            return {"$literal": bool(getattr(expression, "negated", False))}
        return {"$literal": []} if as_array else None
    pipeline = list(plan.pipeline)
    if exists and not _at_most_one_row(query):
        pipeline.extend([{"$limit": 1}, {"$project": {"_id": 1}}])
    if len(plan.readers) != 1 and not exists:
        raise NotSupportedError("a Subquery() used as a value must select exactly one column")
    name = f"__sq{id(expression)}_{len(outer.prelude)}"
    lookup = {"from": plan.collection, "pipeline": pipeline, "as": name}
    if plan.outer_variables:
        lookup["let"] = plan.outer_variables
    outer.prelude.append({"$lookup": lookup})
    if exists:
        result = {"$gt": [{"$size": f"${name}"}, 0]}
        return {"$not": [result]} if getattr(expression, "negated", False) else result
    path = ".".join(plan.readers[0][0])
    if as_array:
        return f"${name}.{path}"
    return {"$arrayElemAt": [f"${name}.{path}", 0]}
