"""``union()`` / ``intersection()`` / ``difference()`` -> one pipeline with ``$unionWith``.

Each combined queryset compiles on its own (joins, filters, its own ordering and slice) and
ends in a projection of its columns to positional keys ``c0, c1, ...`` plus the index of the
queryset it came from. The first one's pipeline runs on its collection; the others join the
stream through ``$unionWith``. Then, as SQL's set operators do:

- ``UNION ALL`` keeps every row; ``UNION`` keeps distinct rows (``$group`` on the columns);
- ``INTERSECT`` keeps distinct rows that every queryset produced;
- ``EXCEPT`` keeps distinct rows of the first queryset that no other produced.

The combined query's own ORDER BY (by selected column) and slice come last.
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, NotSupportedError
from django.db.models.expressions import Col, Ref

from .expressions import is_not_null, null_if_missing

BRANCH = "__branch"


def combined_plan(builder, plan_class):
    compiler = builder.compiler
    query = compiler.query
    combinator = query.combinator
    columns = compiler.select[: compiler.col_count]
    parts = _part_plans(compiler, combinator)
    # The parts' columns (count() of a union selects nothing itself: it counts the parts' rows).
    width = len(parts[0][1].readers)
    for _index, plan in parts:
        if len(plan.readers) != width:
            raise NotSupportedError(
                f"{combinator}() of querysets selecting different numbers of columns"
            )
    (first_index, first), *others = parts
    pipeline = [*first.pipeline, _projection(first, first_index)]
    for index, plan in others:
        branch = [*plan.pipeline, _projection(plan, index)]
        pipeline.append({"$unionWith": {"coll": plan.collection, "pipeline": branch}})
    keys = {f"c{i}": null_if_missing(f"$c{i}") for i in range(width)}
    if combinator == "union" and not query.combinator_all:
        pipeline.append({"$group": {"_id": keys}})
        pipeline.append({"$replaceRoot": {"newRoot": "$_id"}})
    elif combinator in ("intersection", "difference"):
        pipeline.append({"$group": {"_id": keys, "branches": {"$addToSet": f"${BRANCH}"}}})
        if combinator == "intersection":
            kept = {"$eq": [{"$size": "$branches"}, len(query.combined_queries)]}
        else:
            kept = {"$eq": ["$branches", [0]]}
        pipeline.append({"$match": {"$expr": kept}})
        pipeline.append({"$replaceRoot": {"newRoot": "$_id"}})
    sort, null_flags = _order(compiler, columns)
    if null_flags:
        pipeline.append({"$addFields": null_flags})
    if sort:
        pipeline.append({"$sort": sort})
    builder._slice(pipeline)
    readers = [((f"c{i}",), None) for i in range(width)]
    return plan_class(collection=first.collection, pipeline=pipeline, readers=readers)


def _part_plans(compiler, combinator):
    """(index, SelectPlan) of each combined queryset, as Django's get_combinator_sql decides
    which may be left out: an empty one in a union, or after the first in a difference."""
    selected = getattr(compiler.query, "selected", None)
    parts = []
    for index, part_query in enumerate(compiler.query.combined_queries):
        part = part_query.get_compiler(compiler.using, compiler.connection, compiler.elide_empty)
        if selected is not None and part.query.selected is None:
            part.query = part.query.clone()
            part.query.set_values(selected)
        try:
            parts.append((index, part.build_select()))
        except EmptyResultSet:
            if combinator == "union" or (combinator == "difference" and parts):
                continue
            raise
    if not parts:
        raise EmptyResultSet
    return parts


def _projection(plan, index):
    fields = {f"c{i}": "$" + ".".join(path) for i, (path, _required) in enumerate(plan.readers)}
    return {"$project": {"_id": 0, **fields, BRANCH: {"$literal": index}}}


def _order(compiler, columns):
    """The combined query's ORDER BY (each term names one of the selected columns), and the
    flags NULLS FIRST/LAST sort on first."""
    sort, null_flags = {}, {}
    for position, (order, _is_ref) in enumerate(compiler.order_by_expressions):
        index = _column_index(order.expression, columns)
        if index is None:
            raise DatabaseError("ORDER BY term does not match any column in the result set.")
        key = f"c{index}"
        descending = order.descending
        if (order.nulls_first and descending) or (order.nulls_last and not descending):
            flag = f"__n{position}"
            null_flags[flag] = {"$cond": [is_not_null(f"${key}"), 1, 0]}
            sort[flag] = 1 if order.nulls_first else -1
        sort.setdefault(key, -1 if descending else 1)
    return sort, null_flags


def _column_index(expression, columns):
    for index, (selected, _sql, alias) in enumerate(columns):
        if isinstance(expression, Ref):
            if expression.refs == alias or (
                isinstance(selected, Col) and expression.refs == selected.target.column
            ):
                return index
        elif expression == selected:
            return index
    return None
