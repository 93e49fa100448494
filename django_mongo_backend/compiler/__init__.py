"""The queryset -> MongoDB compilers (Django looks them up by these class names).

They subclass Django's SQL compilers only to reuse the parts that do not render SQL: select
list and ``klass_info`` construction, ordering resolution, and result conversion. ``compile()``
is never used to render anything: Django's ``get_select()`` calls it for the SQL text of each
column, which we do not need, so it returns an empty placeholder.

The package's modules, in layers from the bottom up (docs/architecture.rst tells how a query
flows through them). A module imports only modules listed before it, never one after it, at
module level or inside a function; tests/compiler/test_layers.py reads this list and checks.
A new module goes in this list.

- helpers: mql_types, nulls, field_types, patterns, dispatch, float_text, uuid_text,
  bson_order, limits, ordering, scopes, plans, stored_as_is, ignore_conflicts, update_conflicts,
  composite_keys
- translation tables: timezones, functions, aggregates, windows, lookups, json_fields
- expressions and conditions: subqueries, conditions, expressions
- clauses: generated, joins, combinators, constraints, distinct_on
- the pipeline builder: pipeline, read_shapes
- the Django compilers: row_locks, __init__

Expressions and conditions reach each other through the instance handed in
(``ExpressionCompiler.conditions``, ``ConditionCompiler.expression_compiler``), and a subquery
recurses through its own compiler's ``build_select(outer_scope=...)``, as Django's
``compile(node)`` recurses through the compiler it is given.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from django.core.exceptions import EmptyResultSet, FieldError
from django.db import NotSupportedError
from django.db.models import Value
from django.db.models.constants import OnConflict
from django.db.models.expressions import Col, ColPairs, DatabaseDefault, OrderBy, Ref
from django.db.models.functions import Now
from django.db.models.sql import compiler as sql
from django.db.models.sql.constants import (
    CURSOR,
    GET_ITERATOR_CHUNK_SIZE,
    MULTI,
    NO_RESULTS,
    ROW_COUNT,
    SINGLE,
)
from django.utils import timezone

from .. import sequences
from ..mongo_command import MongoCommand, to_json
from ..operations import document_key
from . import composite_keys, distinct_on, generated, ignore_conflicts, row_locks, update_conflicts
from .aggregates import compile_aggregate, group_stages
from .conditions import MATCH_NOTHING
from .expressions import ExpressionCompiler
from .field_types import stored_as
from .joins import aliases_used
from .mql_types import AggregationExpression, Document, Filter, Pipeline
from .pipeline import SelectBuilder
from .plans import SelectPlan, find_arguments
from .read_shapes import plan_for
from .scopes import FlatScope, Scope
from .stored_as_is import as_is_types

#: What ``SQLInsertCompiler.insert_constant`` returns for a value the server computes.
SERVER_COMPUTED = object()


class RowCount:
    """What Django reads after a write run through ``execute_sql(CURSOR)``."""

    def __init__(self, rowcount: int) -> None:
        self.rowcount = rowcount

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def close(self):
        pass


def _write_result(count: int, result_type: str | None) -> Any:
    if result_type == CURSOR:
        return RowCount(count)
    if result_type in (ROW_COUNT, MULTI, SINGLE):
        return count
    return None


def all_documents(cursor: Any) -> list[Document]:
    """Every document of a read, fetched batch by batch: a pymongo cursor's ``to_list()``
    moves each batch into the list at once, where iterating it costs several calls per
    document. A read already held in full (a find run with ``fetch_all``, a combined read,
    the async path's) is a list."""
    return cursor if isinstance(cursor, list) else cursor.to_list()


def _each_column(order: OrderBy) -> list[OrderBy]:
    """ORDER BY a composite key (``ColPairs``) is ORDER BY each of its columns, in order."""
    expression = order.expression
    if isinstance(expression, Ref):
        expression = expression.source
    if not isinstance(expression, ColPairs):
        return [order]
    return [
        OrderBy(
            column,
            descending=order.descending,
            nulls_first=order.nulls_first,
            nulls_last=order.nulls_last,
        )
        for column in expression.get_cols()
    ]


class SQLCompiler(sql.SQLCompiler):
    order_by_expressions: Sequence[tuple[Any, bool]] = ()
    #: The DISTINCT ON expressions of ``distinct(*fields)`` (distinct_on.py).
    distinct_on: Sequence[Any] = ()
    #: Compile as the query runs outside a transaction (``mql()``, ``explain()``): a combined
    #: query then shows its ``$unionWith`` pipeline. Set before ``build_select()``; the
    #: compilers of a combined query's parts and of an aggregate's inner query inherit it.
    outside_transaction = False
    #: The cached shape this read was compiled from or into (read_shapes.py): its result
    #: converters are already known.
    read_shape = None

    def compile(self, node: Any) -> tuple[str, tuple[()]]:
        return "", ()

    def get_converters(self, expressions: list[Any]) -> dict[int, tuple[list[Any], Any]]:
        shape = self.read_shape
        if shape is not None and shape.same_columns(expressions):
            return shape.converters
        return super().get_converters(expressions)

    def has_composite_fields(self, expressions: list[Any]) -> bool:
        shape = self.read_shape
        if shape is not None and shape.same_columns(expressions):
            return shape.composite
        return super().has_composite_fields(expressions)

    def pre_sql_setup(
        self, with_col_aliases: bool = False
    ) -> tuple[list[Any], Sequence[tuple[Any, bool]], list[Any]]:
        self.setup_query(with_col_aliases=with_col_aliases)
        self.order_by_expressions = self.resolve_ordering()
        if self.query.distinct_fields:
            # Before the joins are laid out: a related path sets up its join here.
            self.distinct_on = distinct_on.distinct_expressions(self)
            distinct_on.check_ordering(self.distinct_on, self.order_by_expressions)
        self.where, self.having, self.qualify = self.query.where.split_having_qualify(
            must_group_by=self.query.group_by is not None
        )
        return [], self.order_by_expressions, []

    def resolve_ordering(self) -> list[tuple[Any, bool]]:
        """The ORDER BY terms, resolved as Django's ``get_order_by`` resolves them, without
        duplicates.

        A term ordering by a field's name (``order_by("name")``, ``Meta.ordering``) comes from
        Django's ``find_ordering_name`` as a fresh ``OrderBy`` of the column, resolved
        already: resolving it again would only copy both (``BaseExpression.resolve_expression``
        copies an expression with nothing to resolve), a third of this method's time.
        """
        resolved = []
        seen = set()
        for expression, is_ref in self._order_by_pairs():
            if type(expression) is OrderBy and type(expression.expression) is Col:
                order = expression
            else:
                order = expression.resolve_expression(self.query, allow_joins=True, reuse=None)
            for term in _each_column(order):
                identity = (term.expression, term.descending)
                if identity in seen:
                    continue
                seen.add(identity)
                resolved.append((term, is_ref))
        return resolved

    # -- building -------------------------------------------------------------------------

    def build_select(self, outer_scope: Scope | None = None) -> SelectPlan:
        """The SelectPlan for this query (raises EmptyResultSet if nothing can match).

        ``outer_scope``: this query is a subquery, and may read the columns of the outer
        query in that scope (they become ``$$variables`` of the ``$lookup`` running it).
        """
        refcounts = self.query.alias_refcount.copy()
        try:
            self.pre_sql_setup()
            return SelectBuilder(self, outer_scope=outer_scope).build()
        finally:
            # The joins compiling added (ordering by a relation, Meta.ordering of a related
            # model) are unreferenced again, as Django's SQLCompiler.as_sql does: a query kept
            # and combined later (q1 & q2) must not inherit them as INNER joins.
            self.query.reset_refcounts(refcounts)

    def as_sql(
        self, with_limits: bool = True, with_col_aliases: bool = False
    ) -> tuple[str, tuple[()]]:
        """The pipeline as MongoDB shell text: what ``str(queryset.query)`` shows."""
        try:
            plan = self.build_select()
        except EmptyResultSet:
            return "<empty result: no command is sent>", ()
        # Django renders str(query) as "sql % params": keep a literal % in values intact.
        return str(plan.command()).replace("%", "%%"), ()

    def mql(self) -> dict[str, Any]:
        """The single pipeline of the query; a combined query shows its ``$unionWith`` form
        even inside a transaction (where it runs as one aggregate per queryset)."""
        self.outside_transaction = True
        plan = self.build_select()
        return {"aggregate": plan.collection, "pipeline": plan.pipeline}

    # -- running --------------------------------------------------------------------------

    def _run(self, plan, batch_size=None, fetch_all=False):
        options = dict(plan.options)
        if batch_size:
            options["batchSize"] = batch_size
        return self.connection.execute_command(plan.command(fetch_all=fetch_all, **options))

    def execute_sql(
        self,
        result_type: str | None = MULTI,
        chunked_fetch: bool = False,
        chunk_size: int = GET_ITERATOR_CHUNK_SIZE,
    ) -> Any:
        result_type = result_type or NO_RESULTS
        try:
            plan = plan_for(self)
        except EmptyResultSet:
            return iter([]) if result_type == MULTI else None
        if self.query.select_for_update:
            return self._execute_for_update(plan, result_type)
        if result_type == SINGLE:
            cursor = self._run(plan, batch_size=1)
            with self.connection.wrap_mongo_errors():
                for document in cursor:
                    cursor.close()
                    return plan.row_reader()(document)[: self.col_count]
            return None
        if result_type == NO_RESULTS:
            self._run(plan).close()
            return None
        if result_type != MULTI:
            raise NotSupportedError(f"result type {result_type!r} for a read")
        if chunked_fetch:
            return self._chunks(self._run(plan, batch_size=chunk_size), plan, chunk_size)
        cursor = self._run(plan, fetch_all=True)
        read_row = plan.row_reader()
        with self.connection.wrap_mongo_errors():
            return [[read_row(document) for document in all_documents(cursor)]]

    def _execute_for_update(self, plan, result_type):
        """Read the rows and claim their documents (row_locks.py); all rows are read first."""
        row_locks.check_supported(self)
        read_row = plan.row_reader()

        def read_rows(excluded):
            pipeline = plan.pipeline
            if excluded:
                pipeline = [{"$match": {"_id": {"$nin": list(excluded)}}}, *pipeline]
            command = MongoCommand(plan.collection, "aggregate", pipeline, **plan.options)
            cursor = self.connection.execute_command(command)
            # Each row with its document's _id, which ties it to the document to claim: a
            # plain read's $project keeps _id (MongoDB includes it unless told otherwise)
            # whether or not a column returns the primary key; reads whose rows are not
            # documents (GROUP BY, DISTINCT, ...) were refused above.
            with self.connection.wrap_mongo_errors():
                return [(read_row(document), document["_id"]) for document in cursor]

        rows = row_locks.read_locked(self, read_rows)
        if result_type == SINGLE:
            return rows[0][: self.col_count] if rows else None
        if result_type == NO_RESULTS:
            return None
        return iter([rows]) if rows else iter([])

    def _chunks(self, cursor, plan, chunk_size):
        with self.connection.wrap_mongo_errors():
            chunk = []
            read_row = plan.row_reader()
            try:
                for document in cursor:
                    chunk.append(read_row(document))
                    if len(chunk) >= chunk_size:
                        yield chunk
                        chunk = []
                if chunk:
                    yield chunk
            finally:
                cursor.close()

    def execute_raw_rows(self) -> list[list[Any]]:
        """Rows as stored (no converters): the values of a subquery used in a filter."""
        result = self.execute_sql(MULTI)
        return [row for chunk in result for row in chunk]

    def has_results(self) -> bool:
        return self.execute_sql(SINGLE) is not None

    def explain_query(self) -> Iterator[str]:
        """MongoDB's explain output for the command the read is sent as (``find`` or
        ``aggregate``), as JSON (``explain(verbosity=...)`` takes MongoDB's verbosity modes).

        MongoDB refuses ``explain`` inside a multi-document transaction (manual,
        "Transactions and Operations"), so it runs outside the open one, if any, on the
        committed data; and a combined query is explained as it compiles outside one (with
        ``$unionWith``).
        """
        info = self.query.explain_info
        self.connection.ops.explain_query_prefix(info.format, **info.options)
        self.outside_transaction = True
        try:
            plan = self.build_select()
        except EmptyResultSet:
            yield "<empty result: no command is sent>"
            return
        verbosity = info.options.get("verbosity", "queryPlanner")
        # The command the read is sent as: find for a plain pipeline (SelectPlan.command).
        find = find_arguments(plan.pipeline) if plan.collection is not None else None
        command: dict[str, Any] = (
            {"find": plan.collection, **find}
            if find is not None
            else {"aggregate": plan.collection or 1, "pipeline": plan.pipeline, "cursor": {}}
        )
        result = self.connection.execute_command(
            MongoCommand(None, "command", "explain", command, verbosity=verbosity),
            transactional=False,
        )
        yield to_json(result)


class SQLInsertCompiler(sql.SQLInsertCompiler, SQLCompiler):
    returning_fields = None

    def as_sql(self) -> tuple[str, tuple[()]]:  # type: ignore[override]  # as Django's
        return str(self.insert_command()[0]), ()

    def insert_command(
        self,
    ) -> tuple[MongoCommand, list[Document], dict[tuple[int, str], tuple[Any, Any]]]:
        """The insert command, its documents, and the values the server computes first
        (``compute_values``): place (document index, key) -> (field, expression).

        Each value goes through Django's ``pre_save_val`` and ``prepare_value``, except those
        of a type the field stores unchanged (``stored_as_is``), which are copied: that is
        decided once per field here, not again for every row.
        """
        opts = self.query.get_meta()
        columns = [
            (document_key(field), field.attname, as_is_types(field, self.connection), field)
            for field in self.query.fields
        ]
        documents: list[Document] = []
        computed: dict[tuple[int, str], tuple[Any, Any]] = {}
        for obj in self.query.objs:
            document = {}
            for key, attname, as_is, field in columns:
                if as_is:  # its pre_save() is getattr()
                    value = getattr(obj, attname)
                    if type(value) in as_is:
                        document[key] = value
                        continue
                else:
                    value = self.pre_save_val(field, obj)
                if isinstance(value, DatabaseDefault):
                    value = value.expression
                value = self.prepare_value(field, value)
                if hasattr(value, "resolve_expression"):
                    known = self.insert_constant(field, value)
                    if known is SERVER_COMPUTED:
                        computed[(len(documents), key)] = (field, value)
                        known = None
                    value = known
                document[key] = value
            documents.append(document)
        command = MongoCommand(opts.db_table, "insert_many", documents, ordered=True)
        return command, documents, computed

    def insert_constant(self, field: Any, expression: Any) -> Any:
        """The value of an expression inserted into a new document.

        Value, Now and database defaults are known here. Other expressions (``Lower(Value(..))``,
        a ``Subquery``) cannot read the new document's columns (Django forbids F() in inserts),
        so the server evaluates them all in one ``$documents`` pipeline before the insert
        (``compute_values``): for those, this returns ``SERVER_COMPUTED``.
        """
        if isinstance(expression, Value):
            return field.get_db_prep_save(expression.value, connection=self.connection)
        if isinstance(expression, Now):
            return field.get_db_prep_save(timezone.now(), connection=self.connection)
        return SERVER_COMPUTED

    def compute_values(
        self, documents: list[Document], computed: dict[tuple[int, str], tuple[Any, Any]]
    ) -> None:
        """Evaluate the inserted expressions on the server and put them in ``documents``
        (``computed``: place -> (field, expression), from ``insert_command``)."""
        if not computed:
            return
        expression_compiler = ExpressionCompiler(self, Scope(None))
        project = {}
        for index, (field, expression) in enumerate(computed.values()):
            project[f"v{index}"] = stored_as(field, expression_compiler.compile(expression))
        pipeline = [{"$documents": [{}]}, *expression_compiler.prelude, {"$project": project}]
        (row,) = self.connection.execute_command(MongoCommand(None, "aggregate", pipeline))
        for index, (position, key) in enumerate(computed):
            documents[position][key] = row.get(f"v{index}")

    def compute_generated(self, documents: list[Document]) -> list[Document] | None:
        """Put the values of the model's stored generated fields in ``documents``: their
        expressions evaluated over the documents on the server, in one ``$documents``
        pipeline (generated.py), once the documents hold every other value and their ids.
        Returns the values of its virtual ones, never stored, per document (None if it has
        none): Django reads them back after an insert."""
        model = self.query.get_meta().concrete_model
        stored, virtual = generated.stored_fields(model), generated.virtual_fields(model)
        if not stored and not virtual:
            return None
        values = generated.expressions_of(self, [*stored, *virtual])
        pipeline = [{"$documents": documents}, {"$project": {"_id": 0, **values}}]
        rows = list(self.connection.execute_command(MongoCommand(None, "aggregate", pipeline)))
        stored_keys = [document_key(field) for field in stored]
        virtual_keys = [document_key(field) for field in virtual]
        for document, row in zip(documents, rows, strict=True):
            for key in stored_keys:
                document[key] = row.get(key)
        if not virtual:
            return None
        return [{key: row.get(key) for key in virtual_keys} for row in rows]

    def execute_sql(  # type: ignore[override]  # as Django's SQLInsertCompiler
        self, returning_fields: list[Any] | None = None
    ) -> list[tuple[Any, ...]]:
        opts = self.query.get_meta()
        # A proxy model's options have no auto_field of their own (bulk_create keeps the proxy).
        auto_field = opts.concrete_model._meta.auto_field
        given = auto_field is not None and auto_field in self.query.fields
        command, documents, computed = self.insert_command()
        if not documents:
            return []
        self.compute_values(documents, computed)
        composite_keys.set_compound_ids(opts.concrete_model, documents)
        if self.query.on_conflict == OnConflict.UPDATE:
            target = update_conflicts.target(opts.concrete_model, self.query.unique_fields)
            update_conflicts.check_supported(opts.concrete_model)
        elif self.query.on_conflict == OnConflict.IGNORE:
            # Ids reserved below are new; ids the objects carry may collide.
            pk_given = given or auto_field is None
            unique = ignore_conflicts.unique_keys(opts.concrete_model, pk_given=pk_given)
            documents[:] = ignore_conflicts.without_conflicts(
                self.connection, opts.db_table, documents, unique
            )
            if not documents:
                return []
        if auto_field is not None and not given:
            first = sequences.reserve(
                self.connection, opts.db_table, len(documents), [auto_field.column]
            )
            for pk, document in enumerate(documents, first):
                document["_id"] = pk
        virtual_values = self.compute_generated(documents)
        if self.query.on_conflict == OnConflict.UPDATE:
            upserts = update_conflicts.upsert_command(
                opts.db_table, documents, target, self.query.update_fields
            )
            result = self.connection.execute_command(upserts)
        else:
            self.connection.execute_command(command)
        if given:
            explicit = [d["_id"] for d in documents if isinstance(d.get("_id"), int)]
            if explicit:
                sequences.advance(
                    self.connection, opts.db_table, max(explicit), [auto_field.column]
                )
        if not returning_fields:
            return []
        keys = [document_key(field) for field in returning_fields]
        if self.query.on_conflict == OnConflict.UPDATE:
            rows = update_conflicts.stored_rows(
                self.connection, opts.db_table, documents, target, result, keys
            )
        else:
            returned = documents
            if virtual_values is not None:
                returned = [{**d, **v} for d, v in zip(documents, virtual_values, strict=True)]
            # Column by column, zipped into rows: a fraction of a tuple() per document.
            columns = [[document.get(key) for document in returned] for key in keys]
            rows = list(zip(*columns, strict=True))
        cols = [field.get_col(opts.db_table) for field in returning_fields]
        converters = self.get_converters(cols)
        if converters:
            rows = [tuple(row) for row in self.apply_converters(rows, converters)]
        return rows


class _WriteFilter:
    """The filter of an UPDATE/DELETE.

    update_many/delete_many take query operators on one collection. A filter that reads a
    joined collection or a subquery needs a pipeline: the ids are selected first with one
    (as Django's own SQL backends do where UPDATE cannot select from itself), then written.
    """

    def filter_for(self, compiler: Any) -> Filter:
        query = compiler.query
        base_alias = query.get_initial_alias()
        # A virtual generated field is in no stored document: a pipeline computes it.
        if aliases_used(query.where) <= {base_alias} and not generated.reads_virtual(query.where):
            expression_compiler = ExpressionCompiler(compiler, Scope(base_alias))
            match = expression_compiler.conditions.match(query.where)
            if not expression_compiler.prelude:
                return match
        select = query.chain(klass=sql.Query)
        select.__class__ = sql.Query
        select.clear_select_clause()
        model = query.get_meta().concrete_model
        key_fields = composite_keys.key_fields(model)
        if key_fields is None:
            select.add_fields([query.get_meta().pk.name])
        else:
            select.add_fields([field.name for field in key_fields])
        select.clear_ordering(force=True)
        rows = select.get_compiler(compiler.using).execute_raw_rows()
        if key_fields is None:
            ids = [row[0] for row in rows]
        else:
            ids = [composite_keys.compound_id(model, tuple(row)) for row in rows]
        return {"_id": {"$in": ids}} if ids else MATCH_NOTHING


class SQLDeleteCompiler(_WriteFilter, sql.SQLDeleteCompiler, SQLCompiler):
    def as_sql(self) -> tuple[str, tuple[()]]:  # type: ignore[override]  # as Django's
        return str(self.delete_command()), ()

    def delete_command(self) -> MongoCommand:
        return MongoCommand(self.query.get_meta().db_table, "delete_many", self.filter_for(self))

    def execute_sql(
        self,
        result_type: str | None = MULTI,
        chunked_fetch: bool = False,
        chunk_size: int | None = None,
    ) -> Any:
        command = self.delete_command()
        if command.args[0] == MATCH_NOTHING:
            return _write_result(0, result_type)
        result = self.connection.execute_command(command)
        return _write_result(result.deleted_count, result_type)


def _holds_embedded(field: Any, value: Any) -> bool:
    """An EmbeddedModelField stores an instance of its model: a raw save (``loaddata``) or
    ``update(address=Address(...))`` hands it one, which Django's rule against updating a
    non-relation field with a model instance must not refuse."""
    embedded_model = getattr(field, "embedded_model", None)
    return embedded_model is not None and isinstance(value, embedded_model)


class SQLUpdateCompiler(_WriteFilter, sql.SQLUpdateCompiler, SQLCompiler):
    def as_sql(self) -> tuple[str, tuple[()]]:  # type: ignore[override]  # as Django's
        self.pre_sql_setup()
        return str(self.update_command()), ()

    def update_command(self) -> MongoCommand:
        query = self.query
        opts = query.get_meta()
        expression_compiler = ExpressionCompiler(self, Scope(query.get_initial_alias()))
        constants, computed = {}, {}
        read_values = []
        composite_keys.refuse_key_updates(opts.concrete_model, [f for f, _m, _v in query.values])
        for field, _model, value in query.values:
            if type(value) in as_is_types(field, self.connection):
                constants[document_key(field)] = value  # get_db_prep_save would return it
                continue
            if hasattr(value, "resolve_expression"):
                value = value.resolve_expression(query, allow_joins=False, for_save=True)
                if value.contains_over_clause:
                    # Django's own check (SQLUpdateCompiler.as_sql), which never runs here.
                    raise FieldError(
                        f"Window expressions are not allowed in this query "
                        f"({field.name}={value!r})."
                    )
                if value.contains_aggregate:
                    raise NotSupportedError(f"aggregates in update() of {field.name}")
                if isinstance(value, ColPairs):  # Django's error (SQLUpdateCompiler.as_sql)
                    raise FieldError(
                        "Composite primary keys expressions are not allowed in this query "
                        f"({field.name}=F('pk'))."
                    )
            key = document_key(field)
            if isinstance(value, Value) and field.get_internal_type() == "JSONField":
                # As Django's update: JSONField.get_db_prep_save stores Value(None, JSONField())
                # as the JSON null (any other Value it returns as it is).
                value = field.get_db_prep_save(value, connection=self.connection)
                if not hasattr(value, "as_sql"):
                    constants[key] = value
                    continue
            if hasattr(value, "as_sql"):
                read_values.append(value)
                computed[key] = stored_as(field, expression_compiler.compile(value))
                continue
            if hasattr(value, "prepare_database_save") and not _holds_embedded(field, value):
                if not field.remote_field:
                    raise TypeError(
                        f"Tried to update field {field} with a model instance, {value!r}. "
                        f"Use a value compatible with {field.__class__.__name__}."
                    )
                value = value.prepare_database_save(field)
            constants[key] = field.get_db_prep_save(value, connection=self.connection)
        match = self.filter_for(self)
        stored_generated = generated.stored_fields(opts.concrete_model)
        if computed or stored_generated:
            computed.update({key: {"$literal": value} for key, value in constants.items()})
            stages: Pipeline = [{"$set": computed}]
            if stored_generated:
                # Recomputed from the document as the first $set leaves it (generated.py).
                values = generated.expressions_of(self, stored_generated)
                stages.append({"$set": values})
            if any(generated.reads_virtual(value) for value in read_values):
                # New values computed from virtual generated fields: computed first, then
                # dropped (they are never stored).
                virtual = generated.virtual_fields(opts.concrete_model)
                stages.insert(0, {"$addFields": generated.expressions_of(self, virtual)})
                stages.append({"$unset": [document_key(field) for field in virtual]})
            update: Filter | Pipeline = stages
        else:
            update = {"$set": constants}
        return MongoCommand(opts.db_table, "update_many", match, update)

    def execute_sql(self, result_type: str | None) -> Any:  # type: ignore[override]  # as Django's
        self.pre_sql_setup()
        if not self.query.values:
            count = 0
        else:
            command = self.update_command()
            if command.args[0] == MATCH_NOTHING:
                count = 0
            else:
                count = self.connection.execute_command(command).matched_count
        for query in self.query.get_related_updates():
            related = query.get_compiler(self.using).execute_sql(ROW_COUNT)
            count = count or related
        return _write_result(count, result_type)


class SQLAggregateCompiler(sql.SQLAggregateCompiler, SQLCompiler):
    """``aggregate()``/``count()`` over a query that must be evaluated first (sliced,
    distinct, already annotated): the inner query's pipeline, then one ``$group``."""

    def build_select(self, outer_scope: Scope | None = None) -> SelectPlan:
        if outer_scope is not None:
            raise NotSupportedError("aggregate() of a query used as a subquery")
        inner = self.query.inner_query.get_compiler(self.using, elide_empty=self.elide_empty)
        inner.outside_transaction = self.outside_transaction
        plan = inner.build_select()
        if plan.combination is not None:  # count() of a combined query in a transaction
            self.col_count = 1
            combination = plan.combination.counted(self.query.annotation_select)
            return SelectPlan(plan.collection, [], [(("a0",), None)], combination=combination)
        keys_by_field: dict[Any, str] = {}
        refs: dict[str, AggregationExpression] = {}
        project: dict[str, str] = {}
        # A combined inner query (count() of a union) may select nothing itself: its rows are
        # the parts' columns.
        columns = inner.select[: inner.col_count]
        for index, (path, _required) in enumerate(plan.readers):
            key = f"c{index}"
            project[key] = "$" + ".".join(path)
            if index >= len(columns):
                continue
            expression, _sql, alias = columns[index]
            if alias:
                refs[alias] = f"${key}"
            target = getattr(expression, "target", None)
            if target is not None:
                keys_by_field.setdefault(target, key)
        pipeline = [*plan.pipeline, {"$project": {"_id": 0, **project}}]
        source = ExpressionCompiler(self, FlatScope(keys_by_field), refs=refs)
        accumulators: dict[str, Any] = {}

        def accumulate(aggregate):
            name = f"__a{len(accumulators)}"
            return compile_aggregate(aggregate, source, name, accumulators)

        outer = ExpressionCompiler(self, FlatScope(keys_by_field), refs=refs)
        outer.aggregate_slot = accumulate
        annotations = list(self.query.annotation_select.values())
        outputs = {f"a{index}": outer.compile(item) for index, item in enumerate(annotations)}
        pipeline.extend(group_stages(None, accumulators))
        pipeline.append({"$project": {"_id": 0, **outputs}})
        self.col_count = len(annotations)
        return SelectPlan(
            collection=plan.collection,
            pipeline=pipeline,
            readers=[((key,), None) for key in outputs],
        )

    def pre_sql_setup(self, with_col_aliases: bool = False) -> tuple[list, list, list]:
        return [], [], []
