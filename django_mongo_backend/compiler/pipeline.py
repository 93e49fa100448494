"""The SELECT pipeline: what ``SQLCompiler`` builds for a query, and how rows are read back.

Stage order follows SQL's logical order: WHERE on the base collection (query operators, so
indexes apply) -> joins (``$lookup``) -> WHERE on joined fields -> GROUP BY (``$group``) ->
HAVING -> computed columns -> DISTINCT -> ORDER BY -> OFFSET/LIMIT -> projection. DISTINCT ON
(``distinct(*fields)``, distinct_on.py) keeps the first row of each group in the ORDER BY, so
it comes after the ORDER BY (and sorts again).

Plain model reads keep documents as stored and read fields by path (the cheapest form for the
server); grouped and distinct queries project every column to a flat key (``c0``, ``c1``...).
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import NotSupportedError
from django.db.models.aggregates import Aggregate
from django.db.models.expressions import Col, ColPairs, Ref, Subquery, Window
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, WhereNode

from . import composite_keys
from .aggregates import compile_aggregate, group_stages
from .combinators import combined_plan
from .conditions import MATCH_NOTHING, ConditionCompiler, compiling_only
from .distinct_on import first_of_each
from .expressions import ExpressionCompiler
from .generated import read_stage
from .joins import aliases_used, join_stages
from .limits import check_sort
from .mql_types import Pipeline
from .nulls import null_if_missing
from .ordering import Sort
from .plans import SelectPlan, slice_stages
from .scopes import GroupedScope, Scope, base_alias_of, scope_for
from .windows import Windows


class SelectBuilder:
    """Builds the SelectPlan of the query that ``query_compiler`` (a Django compiler of this
    package) compiles; ``outer_scope`` is the outer query's scope when it is a subquery."""

    def __init__(self, query_compiler: Any, *, outer_scope: Scope | None = None) -> None:
        self.query_compiler = query_compiler
        self.query = query_compiler.query
        self.connection = query_compiler.connection
        self.base_alias: str | None
        self.collection: str | None
        if self.query.model is None and not self.query.alias_map:
            # A query of no collection (Q.check() validating a model's constraints): one
            # empty document, made by the database-level pipeline's $documents stage.
            self.base_alias = self.collection = None
        else:
            self.base_alias = base_alias_of(self.query)
            self.collection = self.query.alias_map[self.base_alias].table_name
        self.scope = scope_for(self.query, self.base_alias, outer=outer_scope)
        self.expression_compiler = ExpressionCompiler(query_compiler, self.scope)
        # The ConditionCompiler ExpressionCompiler.conditions makes, without the property's
        # call: every compile makes one.
        self.conditions = ConditionCompiler(self.expression_compiler)
        #: For a plain read whose WHERE is one ``$match`` on the base collection (or none),
        #: where its stages end, where the slice starts and where the stages after it start
        #: (``read_shapes`` reuses the rest for the next read of the same shape).
        self.layout: tuple[int, int, int] | None = None

    # -- entry point ----------------------------------------------------------------------

    def build(self) -> SelectPlan:
        compiler = self.query_compiler
        query = self.query
        if query.combinator:
            return combined_plan(compiler)
        if query.distinct_fields and self._is_grouped(compiler.select[: compiler.col_count]):
            # Django's SQL compiler refuses it at the same point (as_sql).
            raise NotImplementedError("annotate() + distinct(fields) is not implemented.")
        if query.extra_tables:
            raise NotSupportedError("extra(tables=...) has no meaning on MongoDB: no SQL runs")
        pipeline: Pipeline = [{"$documents": [{}]}] if self.collection is None else []
        if self.collection is not None and query.model is not None:
            # Virtual generated fields, computed before anything reads them (generated.py).
            virtual = read_stage(compiler, query.model._meta.concrete_model)
            if virtual is not None:
                pipeline.append(virtual)
        before, after = self._split_where(compiler.where)
        match = self.conditions.match(before)
        if match == MATCH_NOTHING and not self._is_aggregate_only():
            # What this backend cannot translate (NotSupportedError) is no error of the query:
            # the result is known all the same.
            with compiling_only(), contextlib.suppress(NotSupportedError):
                self._build_rest([], self._compiled_before_nothing(after))
            raise EmptyResultSet
        if match:
            self._flush_prelude(pipeline)
            pipeline.append({"$match": match})
        return self._build_rest(pipeline, after, matched=bool(match))

    def _build_rest(
        self, pipeline: Pipeline, after: WhereNode | None, *, matched: bool = False
    ) -> SelectPlan:
        """The stages from the joins on. A query whose WHERE matches nothing sends no command,
        yet Django compiles all of it first (``SQLCompiler.as_sql``: the select list, GROUP BY
        and ORDER BY, then WHERE up to its first child that matches nothing), so an invalid
        expression raises even then: ``build`` runs this for the errors only, and drops it.
        ``matched``: ``pipeline`` holds the base collection's ``$match`` (for ``layout``)."""
        compiler = self.query_compiler
        query = self.query
        where_end = len(pipeline)
        pipeline.extend(join_stages(query, self.scope, self.expression_compiler))
        if after is not None:
            late_match = self.conditions.match(after)
            if late_match:
                self._flush_prelude(pipeline)
                pipeline.append({"$match": late_match})
        columns = compiler.select[: compiler.col_count]
        # Stages after OFFSET/LIMIT (a projection is cheaper on fewer documents).
        final_stages = []
        grouped = self._is_grouped(columns)
        if grouped:
            readers = self._grouped(pipeline, columns)
            enforce = None
        elif query.distinct_fields:
            readers, final_stages = self._distinct_on(pipeline, columns)
            enforce = self.collection
        elif query.distinct:
            readers = self._distinct(pipeline, columns)
            enforce = None
        else:
            readers, final_stages = self._plain(pipeline, columns)
            enforce = self.collection
        slice_start = len(pipeline)
        pipeline.extend(slice_stages(query))
        # Neither grouped nor distinct, on a collection.
        plain = enforce is not None and not query.distinct_fields
        if plain and after is None and where_end == (1 if matched else 0):
            self.layout = (where_end, slice_start, len(pipeline))
        pipeline.extend(final_stages)
        return SelectPlan(
            collection=self.collection,
            pipeline=pipeline,
            readers=readers,
            enforce_collection=enforce,
            outer_variables=self.scope.let,
        )

    # -- WHERE ----------------------------------------------------------------------------

    def _compiled_before_nothing(self, after):
        """The conditions of ``after`` (on joined collections) that Django's WHERE compiles
        before the one that matches nothing (``conditions.nothing_from``, in ``before``)."""
        if after is None:
            return None
        kept = []
        for child in self.query_compiler.where.children:
            if child is self.conditions.nothing_from:
                break
            if any(child is other for other in after.children):
                kept.append(child)
        return WhereNode(kept, AND) if kept else None

    def _split_where(self, where):
        """Conditions on the base collection run before the joins (smaller, indexable)."""
        if where is None or not where.children:
            return None, None
        if not self._has_joins():
            return where, None
        if where.connector != AND or where.negated:
            return None, where
        before, after = [], []
        local = self.scope.local_aliases
        for child in where.children:
            # Outer columns of a subquery are $$variables, available from the first stage.
            aliases = {
                alias
                for alias in aliases_used(child)
                if alias in local or not isinstance(alias, str)
            }
            (before if aliases <= {self.base_alias} else after).append(child)
        return (
            WhereNode(before, AND) if before else None,
            WhereNode(after, AND) if after else None,
        )

    def _flush_prelude(self, pipeline):
        """Subquery lookups go right before the stage that reads their results."""
        pipeline.extend(self.expression_compiler.prelude)
        self.expression_compiler.prelude.clear()

    def _has_joins(self):
        # Loops rather than any(<generator>) here and in _is_grouped: every compile runs
        # them, mostly over a handful of items, where the generator costs more than the test.
        refcount = self.query.alias_refcount
        base_alias = self.base_alias
        for alias in self.query.alias_map:  # noqa: SIM110 (see above)
            if alias != base_alias and refcount.get(alias):
                return True
        return False

    # -- plain reads ----------------------------------------------------------------------

    def _plain(self, pipeline, columns, *, distinct_on=None):
        """The readers of a plain read, and the stages that go after its slice.
        ``distinct_on``: the compiled DISTINCT ON keys (distinct_on.py), whose stages go
        after the ORDER BY."""
        enforce = self.connection.enforce_schema
        path, base_alias = self.scope.path, self.base_alias
        readers, computed, roots = [], {}, set()
        # Windows (computed by their own stages, before the columns that read them).
        windows = self.expression_compiler.windows = Windows(self.expression_compiler)
        for index, (expression, _sql, _alias) in enumerate(columns):
            # A composite key (ColPairs) is read as its columns, one row value each, which
            # Django's composite_fields_to_tuples() then makes one tuple.
            plain = expression.get_cols() if isinstance(expression, ColPairs) else [expression]
            if isinstance(plain[0], Col):
                for column in plain:
                    alias, target = column.alias, column.target
                    parts = tuple(path(alias, target).split("."))
                    required = target.column if enforce and alias == base_alias else None
                    readers.append((parts, required))
                    roots.add(parts[0])
            else:
                key = f"__c{index}"
                computed[key] = self.expression_compiler.compile(expression)
                readers.append(((key,), None))
                roots.add(key)
        sort_stages = self._sort_stages(computed, columns)
        self._window_stages(pipeline, windows)
        if computed:
            self._flush_prelude(pipeline)
            pipeline.append({"$addFields": computed})
        pipeline.extend(sort_stages)
        if distinct_on is not None:
            self._flush_prelude(pipeline)
            pipeline.extend(first_of_each(distinct_on, sort_stages))
        default_columns = self.query.default_cols and not self.query.select_related
        if not default_columns or self._has_joins():
            return readers, [{"$project": dict.fromkeys(sorted(roots), 1)}]
        return readers, []

    def _window_stages(self, pipeline, windows):
        """The windows' stages, then QUALIFY (the conditions on windows Django split from
        WHERE), which may read windows no column reads."""
        qualify = self.query_compiler.qualify
        qualify_match = self.conditions.match(qualify) if qualify is not None else None
        # Every window is compiled: drop the reference back, which would make a cycle that
        # only the garbage collector frees (a read must free what it made by refcounting).
        self.expression_compiler.windows = None
        window_stages = windows.stages()
        if window_stages:
            self._flush_prelude(pipeline)
            pipeline.extend(window_stages)
        if qualify_match:
            self._flush_prelude(pipeline)
            pipeline.append({"$match": qualify_match})

    def _sort_stages(self, computed, columns, *, flat=False, post_group=None):
        """The stages of the ORDER BY (``Sort.stages()``, none for an unordered query, which
        makes no Sort); keys it needs computed are added to ``computed`` (the stage computing
        them comes before these)."""
        ordering = (
            self._group_ordering()
            if post_group is not None
            else self.query_compiler.order_by_expressions
        )
        if not ordering:
            return ()
        sort = Sort()
        compiler = post_group or self.expression_compiler
        # Selected alias -> its column's key, indexed only when a term names one (a Ref):
        # most ORDER BY terms are columns.
        select_keys = None
        for index, (order, _is_ref) in enumerate(ordering):
            expression = order.expression
            key = None
            if isinstance(expression, Ref) and not post_group:
                if select_keys is None:
                    select_keys = {
                        alias: f"c{i}" if flat else f"__c{i}"
                        for i, (_expression, _sql, alias) in enumerate(columns)
                        if alias
                    }
                key = select_keys.get(expression.refs)
            if key is not None:
                if key not in computed and not flat:
                    computed[key] = self.expression_compiler.compile(expression.source)
            elif isinstance(expression, Col) and not flat and post_group is None:
                key = self.scope.path(expression.alias, expression.target)
            else:
                key = f"__o{index}"
                computed[key] = compiler.compile(expression)
            sort.add(
                key,
                f"__n{index}",
                descending=order.descending,
                nulls_first=order.nulls_first,
                nulls_last=order.nulls_last,
            )
        check_sort(sort.keys, ordering)
        return sort.stages()

    # -- DISTINCT -------------------------------------------------------------------------

    def _distinct_on(self, pipeline, columns):
        """``distinct(*fields)``: a plain read keeping the first document of each group."""
        compiler = self.query_compiler
        keys = [self.expression_compiler.compile(key) for key in compiler.distinct_on]
        return self._plain(pipeline, columns, distinct_on=keys)

    def _distinct(self, pipeline, columns):
        keys, readers = {}, []
        windows = self.expression_compiler.windows = Windows(self.expression_compiler)
        for index, (expression, _sql, _alias) in enumerate(columns):
            keys[f"c{index}"] = null_if_missing(self.expression_compiler.compile(expression))
            readers.append(((f"c{index}",), None))
        computed = {}
        sort_stages = self._sort_stages(computed, columns, flat=True)
        keys.update({key: null_if_missing(value) for key, value in computed.items()})
        self._window_stages(pipeline, windows)
        self._flush_prelude(pipeline)
        pipeline.append({"$group": {"_id": keys}})
        pipeline.append({"$replaceRoot": {"newRoot": "$_id"}})
        pipeline.extend(sort_stages)
        return readers

    # -- GROUP BY -------------------------------------------------------------------------

    def _is_aggregate_only(self):
        return self.query.group_by is None and any(
            expression.contains_aggregate
            for expression, _sql, _alias in self.query_compiler.select[
                : self.query_compiler.col_count
            ]
        )

    def _is_grouped(self, columns):
        if self.query.group_by is not None:
            return True
        for expression, _sql, _alias in columns:  # noqa: SIM110 (see _has_joins)
            if expression.contains_aggregate:
                return True
        return False

    def _group_keys(self, columns):
        group_by = self.query.group_by
        if group_by is None:
            return []
        keys = []
        grouped_as_is = set()
        if group_by is not True:
            # values(): Django groups by these expressions as they are (an Exists stays an
            # Exists, not the outer columns it reads).
            for expression in composite_keys.flat(group_by):
                if expression.contains_over_clause:
                    continue  # a window is computed after the group, not grouped on
                if not expression.contains_aggregate and expression not in keys:
                    keys.append(expression)
                grouped_as_is.add(getattr(expression, "source", expression))
        for expression, _sql, _alias in columns:
            if expression.contains_aggregate or expression in grouped_as_is:
                continue
            if expression.contains_over_clause:
                # A window reads the groups: its PARTITION BY / ORDER BY columns are grouped on.
                for column in composite_keys.flat(expression.get_group_by_cols()):
                    if column not in keys and not column.contains_aggregate:
                        keys.append(column)
                continue
            for column in composite_keys.flat(expression.get_group_by_cols()):
                if column not in keys:
                    keys.append(column)
        if self.query_compiler.having is not None:
            # Columns HAVING reads outside aggregates are grouped on too (as Django's SQL).
            for column in self.query_compiler.having.get_group_by_cols():
                if column not in keys:
                    keys.append(column)
        if self.query_compiler.qualify is not None:
            # The windows QUALIFY reads, selected or not: Django's SQL selects them in the
            # inner query, which groups on their PARTITION BY / ORDER BY columns.
            for window in _windows_in(self.query_compiler.qualify):
                for column in window.get_group_by_cols():
                    if column not in keys and not column.contains_aggregate:
                        keys.append(column)
        for order, _is_ref in self._group_ordering():
            if not order.contains_aggregate:
                for column in order.get_group_by_cols():
                    if not isinstance(column, Ref) and column not in keys:
                        keys.append(column)
        return keys

    def _group_ordering(self):
        """ORDER BY of a grouped query: Django drops the model's Meta.ordering there (it would
        change the groups), keeping only an explicit order_by()."""
        if getattr(self.query_compiler, "_meta_ordering", None):
            return []
        return self.query_compiler.order_by_expressions

    def _grouped(self, pipeline, columns):
        columns = composite_keys.flat_select(columns)
        keys = self._group_keys(columns)
        for key in keys:
            # Django formats every GROUP BY expression (select_format reads its output_field),
            # selected or not (exists() clears the select list): mixed types raise FieldError.
            _ = key.output_field
        accumulators = {}
        grouped = GroupedExpressionCompiler(self, keys, accumulators)
        # Windows over the groups (SQL computes them after GROUP BY and HAVING).
        windows = grouped.windows = Windows(grouped)
        projected = {
            f"c{index}": grouped.compile(expression)
            for index, (expression, _sql, _alias) in enumerate(columns)
        }
        having = None
        if self.query_compiler.having is not None:
            having = grouped.condition(self.query_compiler.having)
        computed = {}
        sort_stages = self._sort_stages(computed, columns, flat=True, post_group=grouped)
        qualify = self.query_compiler.qualify
        qualify = grouped.condition(qualify) if qualify is not None else None
        group_id = {
            f"k{i}": null_if_missing(self.expression_compiler.compile(key))
            for i, key in enumerate(keys)
        }
        self._flush_prelude(pipeline)
        pipeline.extend(group_stages(group_id if keys else None, accumulators))
        # Subqueries evaluated after the group read the grouped columns (GroupedScope).
        pipeline.extend(grouped.prelude)
        grouped.prelude.clear()
        if having is not None:
            pipeline.append({"$match": {"$expr": having}})
        grouped.windows = None  # no cycle (see _window_stages)
        pipeline.extend(windows.stages())
        pipeline.extend(grouped.prelude)
        grouped.prelude.clear()
        if qualify is not None:
            pipeline.append({"$match": {"$expr": qualify}})
        projected.update(computed)
        if self.query.distinct:
            # DISTINCT groups whole rows: a column computed after the group that is missing (a
            # subquery with no row) would drop its key and stand apart from a null one.
            projected = {key: null_if_missing(value) for key, value in projected.items()}
        pipeline.append({"$project": {"_id": 0, **projected}})
        if self.query.distinct:
            pipeline.append({"$group": {"_id": "$$ROOT"}})
            pipeline.append({"$replaceRoot": {"newRoot": "$_id"}})
        pipeline.extend(sort_stages)
        return [((f"c{index}",), None) for index in range(len(columns))]


def _windows_in(node):
    """The Window expressions under ``node`` (a WhereNode, a lookup, an expression), through
    annotation references."""
    if isinstance(node, Window):
        yield node
        return
    if isinstance(node, Ref):
        yield from _windows_in(node.source)
        return
    children = getattr(node, "children", None)
    if children is None:
        children = node.get_source_expressions() if hasattr(node, "get_source_expressions") else ()
    for child in children:
        if child is not None:
            yield from _windows_in(child)


class GroupedExpressionCompiler(ExpressionCompiler):
    """Compiles expressions evaluated after ``$group``: keys and accumulators by reference."""

    def __init__(self, builder, keys, accumulators):
        super().__init__(builder.query_compiler, builder.scope, aggregate_slot=self.accumulate)
        self.builder = builder
        self.keys = {key: f"$_id.k{index}" for index, key in enumerate(keys)}
        for key, path in list(self.keys.items()):
            # values() groups by a Ref to an annotation; the select reads the annotation.
            if isinstance(key, Ref):
                self.keys.setdefault(key.source, path)
        self.accumulators = accumulators

    def compile(self, expression):
        path = self.keys.get(expression) if not isinstance(expression, Aggregate) else None
        if path is not None:
            return path
        if isinstance(expression, Ref):
            return self.compile(expression.source)
        if isinstance(expression, Subquery | Query):
            base = self.scope
            self.scope = GroupedScope(base, self.keys)
            try:
                return super().compile(expression)
            finally:
                self.scope = base
        return super().compile(expression)

    def accumulate(self, aggregate):
        """Add the accumulators ``aggregate`` needs; return its value after the group."""
        name = f"__a{len(self.accumulators)}"
        source = self.builder.expression_compiler
        return compile_aggregate(aggregate, source, name, self.accumulators)
