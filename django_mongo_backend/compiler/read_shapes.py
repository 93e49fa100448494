"""Plain reads compiled once per shape: the pipeline around the WHERE, bound to new values.

A web page's most frequent queries differ only in their values: ``get(pk=...)``, the related
object of a foreign key, a page of ``filter(category=...).order_by(...)[a:b]``. Everything of
such a read but its ``$match`` and its ``$skip``/``$limit`` depends on the query's *shape* (the
model, the ordering, the deferred fields) and not on its values: Django's select list and
``klass_info``, the ORDER BY, the ``$sort`` and ``$project`` stages, how rows are read, the
result converters. ``plan_for(compiler)`` keeps those per shape on the connection
(``DatabaseWrapper.read_shapes``) and, for another query of the same shape, compiles only the
WHERE (through the same ``ConditionCompiler`` as ever, so every value is prepared as before)
and the slice.

Correctness rests on what makes a read a *plain* shape (``shape_key``), checked on every
query before the cache is consulted:

- its ``Query`` holds no attribute outside ``_SHAPE_ATTRIBUTES`` (so no annotation, values(),
  select_related, distinct, grouping, combinator, extra, select_for_update; an attribute a
  later Django adds is outside too, so it takes the full compile);
- every table but the model's own is unused (no join);
- its WHERE is AND/OR/NOT of lookups of the model's own columns against plain values (no
  expression, subquery or transform: nothing there can add a stage before the ``$match``);
- ordering (the query's and the model's ``Meta.ordering``, which is part of the key) is by
  field names only.

A shape is stored only if its full compile met that too (ordering by a related field adds a
join while compiling: not stored), and the compiled WHERE of a cached shape must add nothing
but the ``$match`` (else the full compile runs). The cache is per connection, keyed by what
the compile reads besides the WHERE and the slice, emptied when a setting changes (Django's
``setting_changed``: time zones, ``DATABASES``) and when it grows past ``MAX_SHAPES``.
"""

from __future__ import annotations

from operator import is_
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.signals import setting_changed
from django.db import connections
from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.sql.query import Query
from django.db.models.sql.where import WhereNode

from .conditions import MATCH_NOTHING
from .expressions import ExpressionCompiler
from .pipeline import SelectBuilder
from .plans import SelectPlan, slice_stages
from .scopes import scope_for

#: Shapes kept per connection; past this, the cache starts again (a program with that many
#: distinct plain reads gains little from it).
MAX_SHAPES = 500

#: The Query attributes a plain read may hold. Those Query.__init__ always sets are checked
#: below; the others only enter the key (ordering, deferred fields) or do not change the
#: compiled command (the bookkeeping of filter(), the slice, which is compiled anew).
_SHAPE_ATTRIBUTES = frozenset(
    {
        "model",
        "alias_refcount",
        "alias_map",
        "alias_cols",
        "external_aliases",
        "table_map",
        "used_aliases",
        "where",
        "annotations",
        "extra",
        "_filtered_relations",
        "_annotation_select_cache",
        "base_table",  # a cached_property: the first alias
        "_lookup_joins",
        "filter_is_sticky",
        "low_mark",
        "high_mark",
        "order_by",
        "default_ordering",
        "standard_ordering",
        "extra_order_by",
        "deferred_loading",
    }
)

#: What ``pre_sql_setup`` leaves on the compiler and a cached shape gives back.
_COMPILER_STATE = (
    "select",
    "klass_info",
    "annotation_col_map",
    "col_count",
    "order_by_expressions",
    "_meta_ordering",
)


class Shape:
    """What a plain read of one shape compiles to, apart from its WHERE and slice."""

    __slots__ = (
        "collection",
        "columns",
        "composite",
        "converters",
        "enforce_collection",
        "fields",
        "final",
        "middle",
        "reader",
        "readers",
        "state",
    )

    def __init__(self, compiler: Any, plan: SelectPlan, layout: tuple[int, int, int]) -> None:
        where_end, slice_start, final_start = layout
        self.collection = plan.collection
        self.middle = plan.pipeline[where_end:slice_start]
        self.final = plan.pipeline[final_start:]
        self.readers = plan.readers
        self.enforce_collection = plan.enforce_collection
        self.reader = plan.row_reader()
        self.state = {name: getattr(compiler, name) for name in _COMPILER_STATE}
        self.fields = compiler.query.get_meta().concrete_fields
        # The columns Django converts (results_iter): the first col_count of the select.
        self.columns = [column for column, _sql, _alias in compiler.select[: compiler.col_count]]
        self.converters = compiler.get_converters(self.columns)
        self.composite = compiler.has_composite_fields(self.columns)

    def same_columns(self, expressions: list[Any]) -> bool:
        columns = self.columns
        return len(expressions) == len(columns) and all(map(is_, expressions, columns))

    def bind(self, compiler: Any) -> SelectPlan | None:
        """The plan of ``compiler``'s query (this shape, its own values); None if its WHERE
        compiled to more than a ``$match``."""
        query = compiler.query
        compiler.__dict__.update(self.state)
        compiler.where, compiler.having, compiler.qualify = query.where, None, None
        base_alias = query.model._meta.db_table
        expression_compiler = ExpressionCompiler(compiler, scope_for(query, base_alias))
        match = expression_compiler.conditions.match(query.where)
        if expression_compiler.prelude or expression_compiler.scope.let:
            return None
        if match == MATCH_NOTHING:
            raise EmptyResultSet
        pipeline = [{"$match": match}] if match else []
        pipeline.extend(self.middle)
        pipeline.extend(slice_stages(query))
        pipeline.extend(self.final)
        compiler.read_shape = self
        return SelectPlan(
            collection=self.collection,
            pipeline=pipeline,
            readers=self.readers,
            enforce_collection=self.enforce_collection,
            reader=self.reader,
        )


def plan_for(compiler: Any) -> SelectPlan:
    """``compiler.build_select()``, from the connection's cached shape when there is one."""
    key = shape_key(compiler)
    if key is None:
        return compiler.build_select()
    cache = compiler.connection.read_shapes
    shape = cache.get(key)
    if shape is not None and shape.fields is compiler.query.model._meta.concrete_fields:
        plan = shape.bind(compiler)
        if plan is not None:
            return plan
    refcounts = compiler.query.alias_refcount.copy()
    try:
        compiler.pre_sql_setup()
        builder = SelectBuilder(compiler)
        plan = builder.build()
        if _joins_in_use(compiler.query) or builder.layout is None:
            return plan
    finally:
        compiler.query.reset_refcounts(refcounts)  # as build_select does
    shape = Shape(compiler, plan, builder.layout)
    if len(cache) >= MAX_SHAPES:
        cache.clear()
    cache[key] = shape
    compiler.read_shape = shape
    return plan


def shape_key(compiler: Any) -> tuple[Any, ...] | None:
    """The key of the read's shape, or None when it is not a plain read (see the module)."""
    query = compiler.query
    if type(query) is not Query or not _SHAPE_ATTRIBUTES.issuperset(query.__dict__):
        return None
    model = query.model
    if (
        model is None
        or query.annotations
        or query.extra
        or query._filtered_relations
        or query.external_aliases
        or query.extra_order_by
        or not query.alias_cols
    ):
        return None
    if not any(query.alias_refcount.values()):
        query.get_initial_alias()  # as Django's setup_query does
    if _joins_in_use(query):
        return None
    order_by = query.order_by
    if order_by and not all(type(name) is str for name in order_by):
        return None
    # Meta.ordering is part of the shape: a program (or a test) may change it at run time.
    meta_ordering = model._meta.ordering
    if meta_ordering and not all(type(name) is str for name in meta_ordering):
        return None
    if not _plain_where(query.where, model._meta.db_table):
        return None
    names, defer = query.deferred_loading  # only()/defer(): names may be a set
    return (
        model,
        order_by,
        tuple(meta_ordering) if meta_ordering else (),
        query.default_ordering,
        query.standard_ordering,
        frozenset(names) if names else None,
        defer,
        compiler.connection.enforce_schema,
    )


def _joins_in_use(query: Any) -> bool:
    """Whether a table other than the model's own is used (or the model's is not the base)."""
    table = query.model._meta.db_table
    alias_map = query.alias_map
    base = alias_map.get(table)
    if base is None or base.table_name != table:
        return True
    if len(alias_map) == 1:
        return False
    refcount = query.alias_refcount
    return any(refcount[alias] for alias in alias_map if alias != table)


def _plain_where(node: Any, base_alias: str) -> bool:
    if type(node) is not WhereNode:
        return False
    for child in node.children:
        if isinstance(child, Lookup):
            lhs = child.lhs
            if type(lhs) is not Col or lhs.alias != base_alias or not _plain_value(child.rhs):
                return False
        elif not _plain_where(child, base_alias):
            return False
    return True


def _plain_value(value: Any) -> bool:
    if hasattr(value, "resolve_expression"):
        return False
    if isinstance(value, list | tuple | set | frozenset):
        return not any(hasattr(item, "resolve_expression") for item in value)
    return True


def _forget_shapes(**kwargs: Any) -> None:
    """A setting changed: what was compiled under the old one is not reused."""
    for connection in connections.all(initialized_only=True):
        shapes = getattr(connection, "read_shapes", None)
        if shapes:
            shapes.clear()


setting_changed.connect(_forget_shapes, dispatch_uid="django_mongo_backend.read_shapes")
