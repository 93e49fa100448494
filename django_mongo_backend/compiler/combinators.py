"""``union()`` / ``intersection()`` / ``difference()``: one pipeline with ``$unionWith``, or,
inside a transaction, one aggregate per queryset combined by the client.

Each combined queryset compiles on its own (joins, filters, its own ordering and slice) and
ends in a projection of its columns to positional keys ``c0, c1, ...``. Then, as SQL's set
operators do:

- ``UNION ALL`` keeps every row; ``UNION`` keeps distinct rows;
- ``INTERSECT`` keeps distinct rows that every queryset produced;
- ``EXCEPT`` keeps distinct rows of the first queryset that no other produced;

and the combined query's own ORDER BY (by selected column) and slice come last.

Outside a transaction the first queryset's pipeline runs on its collection, the others join
the stream through ``$unionWith`` (tagged with the index of their queryset), and ``$group``
applies the set semantics.

MongoDB refuses ``$unionWith`` inside a multi-document transaction (its stage constraints say
``TransactionRequirement::kNotAllowed``, document_source_union_with.h; the manual's
"Transactions and Operations" page lists it among the aggregation stages a transaction cannot
use), so in every ``atomic()`` block and every Django ``TestCase``. There, each queryset runs as
its own aggregate in the transaction and ``ClientCombination`` combines the rows in Python,
comparing values as ``$group`` and ``$sort`` do (``bson_order``: ``1 == 1.0``, BSON's type
order, binary string order). A server-side alternative was rejected: a database aggregate
``$documents: [{}]`` followed by one ``$lookup`` per queryset is allowed in a transaction, but
each ``$lookup`` gathers its whole result into one array of one document, so a union of more
than 16 MiB of rows would fail (BSONObjectTooLarge), and ``$lookup`` + ``$unwind`` coalescing
only avoids that for a single queryset. Sending the rows back in a ``$documents`` stage hits
the same 16 MiB limit on the command. The rows all cross the network either way; the client
keeps only one copy of each distinct row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.core.exceptions import EmptyResultSet
from django.db import DatabaseError, NotSupportedError
from django.db.models.aggregates import Count
from django.db.models.expressions import Col, Ref, Star

from ..mongo_command import MongoCommand
from .bson_order import sort_key, value_key
from .limits import check_sort
from .nulls import null_if_missing
from .ordering import Sort, moves_nulls
from .plans import SelectPlan, slice_stages

BRANCH = "__branch"


def runs_in_transaction(compiler):
    """Whether the compiled query will run inside a multi-document transaction (as
    ``DatabaseWrapper._session`` decides); ``explain()`` runs outside one."""
    if getattr(compiler, "outside_transaction", False):
        return False
    connection = compiler.connection
    return (
        connection.connection is not None
        and not connection.autocommit
        and connection.features.supports_transactions
    )


def combined_plan(compiler):
    """The SelectPlan of the combined query that ``compiler`` (its Django compiler) compiles."""
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
    terms = _order_terms(compiler, columns)
    sort = _sort(terms)
    check_sort(sort.keys, compiler.order_by_expressions)
    readers = [((f"c{i}",), None) for i in range(width)]
    (first_index, first), *others = parts
    if runs_in_transaction(compiler):
        combination = ClientCombination(
            combinator=combinator,
            keep_duplicates=combinator == "union" and query.combinator_all,
            parts=[(index, _client_part(plan)) for index, plan in parts],
            width=width,
            order=terms,
            low=query.low_mark,
            high=query.high_mark,
        )
        return SelectPlan(
            collection=first.collection, pipeline=[], readers=readers, combination=combination
        )
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
    pipeline.extend(sort.stages())
    pipeline.extend(slice_stages(query))
    return SelectPlan(collection=first.collection, pipeline=pipeline, readers=readers)


def _part_plans(compiler, combinator):
    """(index, SelectPlan) of each combined queryset, as Django's get_combinator_sql decides
    which may be left out: an empty one in a union, or after the first in a difference."""
    selected = getattr(compiler.query, "selected", None)
    parts = []
    for index, part_query in enumerate(compiler.query.combined_queries):
        part = part_query.get_compiler(compiler.using, compiler.connection, compiler.elide_empty)
        part.outside_transaction = getattr(compiler, "outside_transaction", False)
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


def _order_terms(compiler, columns):
    """The combined query's ORDER BY: (position, column index, descending, nulls_first,
    nulls_last) per term; each term names one of the selected columns, and a column ordered
    twice sorts by its first term only (as the ``$sort`` document keeps one key per column)."""
    terms, seen = [], set()
    for position, (order, _is_ref) in enumerate(compiler.order_by_expressions):
        index = _column_index(order.expression, columns)
        if index is None:
            raise DatabaseError("ORDER BY term does not match any column in the result set.")
        if index in seen:
            continue
        seen.add(index)
        terms.append(
            (position, index, order.descending, bool(order.nulls_first), bool(order.nulls_last))
        )
    return terms


def _sort(terms):
    """The Sort of ``terms`` (each names a distinct column)."""
    sort = Sort()
    for position, index, descending, nulls_first, nulls_last in terms:
        sort.add(
            f"c{index}",
            f"__n{position}",
            descending=descending,
            nulls_first=nulls_first,
            nulls_last=nulls_last,
        )
    return sort


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


# -- inside a transaction: the rows combined by the client ---------------------------------


def _client_part(plan):
    """What to run for one queryset: a nested combination, or (collection, pipeline)."""
    if plan.combination is not None:
        return plan.combination
    fields = {f"c{i}": "$" + ".".join(path) for i, (path, _required) in enumerate(plan.readers)}
    return (plan.collection, [*plan.pipeline, {"$project": {"_id": 0, **fields}}])


@dataclass
class ClientCombination:
    """A combined query run as one aggregate per queryset, combined with SQL's semantics."""

    combinator: str
    keep_duplicates: bool
    parts: list  # (index of the queryset, (collection, pipeline) or a ClientCombination)
    width: int
    order: list  # _order_terms()
    low: int = 0
    high: int | None = None
    count_as: str | None = field(default=None)

    def counted(self, annotations):
        """This combination's row count under the single output key of ``count()``.

        Django allows only ``count()`` as an aggregate of a combined queryset
        (``aggregate()`` raises), which asks for ``Count("*")``.
        """
        aggregates = list(annotations.values())
        if len(aggregates) != 1 or not _counts_rows(aggregates[0]):
            raise NotSupportedError(
                f"only count() of a {self.combinator}() inside a transaction is supported"
            )
        return replace(self, count_as="a0")

    def command(self, collection):
        return CombinedRead(collection, self)

    def statements(self):
        """The aggregates to run, in order: (collection, pipeline)."""
        for _index, part in self.parts:
            if isinstance(part, ClientCombination):
                yield from part.statements()
            else:
                yield part

    def documents(self, results):
        """The combined rows as ``{c0: ..., c1: ...}`` documents (or the count), given an
        iterator of the ``statements()`` results in order."""
        keys = [f"c{i}" for i in range(self.width)]
        groups = []
        for index, part in self.parts:
            if isinstance(part, ClientCombination):
                part_documents = part.documents(results)
            else:
                part_documents = next(results)
            groups.append((index, [[doc.get(key) for key in keys] for doc in part_documents]))
        rows = self._sorted(self._combined(groups))[self.low : self.high]
        if self.count_as is not None:
            return [{self.count_as: len(rows)}]
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def _combined(self, groups):
        if self.keep_duplicates:
            return [row for _index, rows in groups for row in rows]
        if self.combinator == "union":
            distinct = {}
            for _index, rows in groups:
                for row in rows:
                    distinct.setdefault(_row_key(row), row)
            return list(distinct.values())
        (_first, first_rows), *others = groups
        other_keys = [{_row_key(row) for row in rows} for _index, rows in others]
        distinct = {}
        for row in first_rows:
            distinct.setdefault(_row_key(row), row)
        if self.combinator == "intersection":
            return [row for key, row in distinct.items() if all(key in o for o in other_keys)]
        return [row for key, row in distinct.items() if not any(key in o for o in other_keys)]

    def _sorted(self, rows):
        """``$sort`` of ``_sort``, done by stable sorts from the last term to the
        first; a term moving its nulls sorts on the null flag after its value."""
        for _position, index, descending, nulls_first, nulls_last in reversed(self.order):
            rows.sort(key=lambda row: sort_key(row[index], descending), reverse=descending)
            if moves_nulls(descending, nulls_first, nulls_last):
                rows.sort(key=lambda row: (row[index] is None) == bool(nulls_last))
        return rows


def _counts_rows(aggregate):
    if not isinstance(aggregate, Count) or aggregate.distinct:
        return False
    if getattr(aggregate, "filter", None) is not None:
        return False
    sources = aggregate.get_source_expressions()[:1]
    return not sources or isinstance(sources[0], Star)


def _row_key(row):
    return tuple(value_key(value) for value in row)


class Rows(list):
    """Documents read in full, iterated and closed like a cursor."""

    def close(self):
        pass


class CombinedRead(MongoCommand):
    """The aggregates of a ``ClientCombination``, run one after the other in the session
    (so in the transaction), and their rows combined."""

    __slots__ = ("combination",)

    def __init__(self, collection, combination):
        statements = [{"aggregate": c, "pipeline": p} for c, p in combination.statements()]
        super().__init__(collection, "aggregate", statements)
        self.combination = combination

    def run(self, database, session):
        results = (
            list(_target(database, collection).aggregate(pipeline, session=session))
            for collection, pipeline in self.combination.statements()
        )
        return Rows(self.combination.documents(results))

    async def run_async(self, database, session):
        results = []
        for collection, pipeline in self.combination.statements():
            cursor = await _target(database, collection).aggregate(pipeline, session=session)
            results.append(await cursor.to_list())
        return Rows(self.combination.documents(iter(results)))

    def __str__(self):
        runs = "; ".join(
            str(MongoCommand(collection, "aggregate", pipeline))
            for collection, pipeline in self.combination.statements()
        )
        how = self.combination.combinator + (" all" if self.combination.keep_duplicates else "")
        return f"{runs} /* {how} of these, combined by the client inside a transaction */"


def _target(database, collection):
    return database if collection is None else database[collection]
