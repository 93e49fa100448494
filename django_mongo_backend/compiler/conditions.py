"""Conditions -> a ``$match`` document (query operators where possible) or a ``$expr``.

Every condition of a query compiles here: WHERE and HAVING (a ``WhereNode`` tree of
lookups), the WHEN of a CASE, an aggregate's FILTER, a Q used as a value, a join's extra
condition and a CHECK constraint (constraints.py), hence the name ``ConditionCompiler``.

``match()`` keeps constant comparisons on plain fields as query operators so MongoDB can use
indexes; only comparisons between computed values fall back to ``$expr``
(``can_use_query_operator`` decides which). ``expression()``
builds the equivalent boolean aggregation expression (for ``When``, ``$lookup`` pipelines and
anything inside ``$expr``).

A lookup defined outside Django (a MongoDB field's, a user's) compiles itself by defining
``as_mql(expression_compiler) -> (test, guards)``: a boolean aggregation expression and the
expressions that must hold first (NULL guards), as the ``lookups.EXPRESSIONS`` builders return.
It may also define ``as_mql_match(condition_compiler, positive)`` returning a query-language
condition (or None to fall back to ``$expr``) so that an index can answer it.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Protocol

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import NotSupportedError
from django.db.models.expressions import (
    Col,
    ColPairs,
    Exists,
    ExpressionList,
    NegatedExpression,
    ResolvedOuterRef,
    Subquery,
    Value,
)
from django.db.models.fields.tuple_lookups import Tuple
from django.db.models.lookups import (
    Exact,
    IntegerFieldOverflow,
    Lookup,
    YearExact,
    YearGt,
    YearGte,
    YearLookup,
    YearLt,
    YearLte,
)
from django.db.models.query_utils import Q
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, OR, XOR, NothingNode, WhereNode

from . import composite_keys, lookups
from .dispatch import by_class
from .field_types import NUMERIC_TYPES, internal_type
from .json_fields import as_mql_for, as_mql_match_for
from .mql_types import AggregationExpression, Filter
from .scopes import Scope
from .subqueries import in_subquery_as_query, is_correlated

#: Set while a query known to match nothing is compiled for its errors only (pipeline.py):
#: the subqueries its conditions would run first are compiled, not run.
_COMPILING_ONLY: ContextVar[bool] = ContextVar("compiling_only", default=False)


@contextlib.contextmanager
def compiling_only() -> Iterator[None]:
    token = _COMPILING_ONLY.set(True)
    try:
        yield
    finally:
        _COMPILING_ONLY.reset(token)


NOTHING = object()
EVERYTHING = object()
#: A $match condition no document satisfies (every document has an _id).
MATCH_NOTHING = {"_id": {"$exists": False}}

#: Year lookups with a constant year compare the date itself with the year's bounds, so
#: an index on the date can answer them: class -> (operator, index of the bound to use).
YEAR_BOUNDS = {
    YearGt: ("$gt", 1),
    YearGte: ("$gte", 0),
    YearLt: ("$lt", 0),
    YearLte: ("$lte", 1),
}


class CompilesValues(Protocol):
    """What a ``ConditionCompiler`` uses of the ``ExpressionCompiler`` handed to it (which is
    in expressions.py, a layer above: named here by what it does, not imported)."""

    connection: Any
    scope: Scope
    prelude: list[Any]
    query_compiler: Any

    def compile(self, expression: Any) -> AggregationExpression: ...

    def subquery(self, expression: Any, *, as_array: bool = False) -> AggregationExpression: ...


def is_direct_value(value: Any) -> bool:
    return not hasattr(value, "resolve_expression")


class ConditionCompiler:
    """Compiles conditions with SQL's three-valued logic.

    Every method takes a ``positive`` polarity: True asks for "the condition is TRUE", False
    for "the condition is FALSE". NOT flips the polarity instead of negating the result, so a
    comparison with NULL (UNKNOWN) satisfies neither: ``NOT (x < 5)`` keeps only rows where x
    is not NULL, exactly as SQL does.
    """

    def __init__(self, expression_compiler: CompilesValues) -> None:
        # The ExpressionCompiler of the query (its scope, its prelude of subquery lookups):
        # every value in a condition compiles through it.
        self.expression_compiler = expression_compiler
        self.connection = expression_compiler.connection
        #: The child of the last AND found to match nothing, where compiling stopped (as
        #: Django's WhereNode.as_sql stops at it).
        self.nothing_from: Any = None

    # -- query language -------------------------------------------------------------------

    def match(self, node: Any) -> Filter:
        """The $match document for ``node`` ({} when every document matches)."""
        if node is None:
            return {}
        result = self._match(node, True)
        if result is EVERYTHING:
            return {}
        if result is NOTHING:
            return MATCH_NOTHING
        return result

    def _match(self, node, positive):
        if isinstance(node, NothingNode):
            return NOTHING if positive else EVERYTHING
        if isinstance(node, WhereNode):
            return self._match_node(node, positive)
        if hasattr(node, "lookup_name"):
            return self._match_lookup(node, positive)
        return {"$expr": self.expression(node, positive)}

    def _match_node(self, node, positive):
        if node.negated:
            positive = not positive
        if node.connector == XOR:
            return {"$expr": self._xor(node, positive)}
        # TRUE of an AND (FALSE of an OR) needs every child; the other two need any child.
        every = (node.connector == AND) == positive
        operator = "$and" if every else "$or"
        parts = []
        for child in node.children:
            part = self._match(child, positive)
            if part is (NOTHING if every else EVERYTHING):
                if part is NOTHING:
                    self.nothing_from = child
                return part
            if isinstance(part, dict) and len(part) == 1 and operator in part:
                parts.extend(part[operator])  # (a AND b) AND c is a AND b AND c
            elif part is not (EVERYTHING if every else NOTHING):
                parts.append(part)
        if not parts:
            return EVERYTHING if every else NOTHING
        if len(parts) == 1:
            return parts[0]
        return {operator: parts}

    def _match_lookup(self, lookup, positive):
        lookup = as_django_lookup(in_subquery_as_query(lookup))
        if composite_keys.is_tuple_lookup(lookup):
            return self._match_columns(lookup, positive)
        composite_keys.refuse_key_value(lookup)
        if not is_table_lookup(lookup):
            as_mql_match = getattr(lookup, "as_mql_match", None) or as_mql_match_for(lookup)
            if as_mql_match is not None:
                condition = as_mql_match(self, positive)
                if condition is not None:
                    return condition
            if compiles_itself(lookup):
                return {"$expr": self.lookup_expression(lookup, positive)}
            check_supported(lookup)
        if not can_use_query_operator(lookup, self.expression_compiler.scope):
            return {"$expr": self.lookup_expression(lookup, positive)}
        if isinstance(lookup, YearLookup):
            source = lookup.lhs.lhs
            return self._negatable(self._year_bounds(lookup, source), self._path(source), positive)
        builder = lookups.FILTERS[lookup.lookup_name]
        path = self._path(lookup.lhs)
        try:
            value = self.rhs_value(lookup)
        except EmptyResultSet:
            # Django's rule: a lookup that can match nothing (``in []``) is empty, and its
            # negation matches everything.
            return NOTHING if positive else EVERYTHING
        except FullResultSet:
            return EVERYTHING if positive else NOTHING
        if lookup.lookup_name == "isnull":
            return builder(path, value if positive else not value, lookup)
        if isinstance(value, UnknownIn):
            # "x IN (..., NULL)" is never FALSE: NOT IN a list holding NULL matches nothing.
            if not positive:
                return NOTHING
            value = value.values
        condition = builder(path, value, lookup)
        if condition is None:  # compared with NULL: UNKNOWN either way
            return NOTHING
        return self._negatable(condition, path, positive)

    def _match_columns(self, lookup, positive):
        """A lookup on several columns at once (``ColPairs``: a composite primary key, a
        multi-column relation): ``(a, b) IN ((1, 2), ...)`` and ``(a, b) = (1, 2)`` as
        equalities (on ``_id`` when the columns are a composite key, composite_keys.py),
        ``IN`` a subquery as an ``EXISTS`` of it, and the other tuple lookups as the lookups
        on each column they stand for."""
        lookup = composite_keys.as_tuple_lookup(lookup)
        name, rhs = lookup.lookup_name, lookup.rhs
        columns = composite_keys.columns_of(lookup.lhs)
        if name not in ("in", "exact") or not composite_keys.all_columns(columns):
            return self._match(self._columns_node(lookup), positive)
        if hasattr(rhs, "query") and not isinstance(rhs, Query):  # a Subquery()
            rhs = rhs.query
        if isinstance(rhs, Query) and not is_correlated(rhs):
            # Run first, as a single-column subquery is (``rhs_value``): its stored rows.
            rows = [tuple(row) for row in self.subquery_rows(rhs)]
            if name == "exact" and len(rows) > 1:
                raise NotSupportedError("a subquery used as a value returned more than one row")
            return self._match_rows(columns, rows, positive)
        if is_direct_value(rhs):
            rows = composite_keys.rows_of(lookup)
            if all(is_direct_value(value) for row in rows for value in row):
                rows = [
                    [
                        column.target.get_db_prep_value(value, self.connection, prepared=False)
                        for column, value in zip(columns, row, strict=True)
                    ]
                    for row in rows
                    if not composite_keys.has_null(row)
                ]
                return self._match_rows(columns, rows, positive)
        return self._match(self._columns_node(lookup), positive)

    def _columns_node(self, lookup):
        """The conditions on single columns a tuple lookup stands for."""
        name = lookup.lookup_name
        if isinstance(lookup.rhs, ColPairs | Tuple):  # columns against columns
            return composite_keys.component_tree(lookup)
        if not is_direct_value(lookup.rhs):
            if isinstance(lookup.rhs, ResolvedOuterRef):
                lookup.rhs.as_sql()  # Django's error: an outer reference outside a subquery
            if not isinstance(lookup.rhs, Query | Subquery):
                # Django's error, where its tuple lookups compile their right side.
                raise ValueError("Composite field lookups only work with composite expressions.")
            if name in composite_keys.COMPARISONS:
                # Django's message (features.supports_tuple_comparison_against_subquery).
                raise NotSupportedError(
                    f'"{name}" cannot be used to target composite fields through subqueries '
                    "on this backend"
                )
            if name != "in":
                raise NotSupportedError(
                    f"the {name!r} lookup of several columns against {type(lookup.rhs).__name__}"
                )
            return self._in_subquery(lookup)
        if name == "in":
            columns = composite_keys.columns_of(lookup.lhs)
            return WhereNode(
                [
                    WhereNode([Exact(c, v) for c, v in zip(columns, row, strict=True)], AND)
                    for row in lookup.rhs
                    if not composite_keys.has_null(row)
                ],
                OR,
            )
        return composite_keys.component_tree(lookup)

    def _match_rows(self, columns, rows, positive):
        """``(a, b) IN ((1, 2), ...)`` with stored values (a row holding NULL equals
        nothing)."""
        rows = [row for row in rows if not composite_keys.has_null(row)]
        if not rows:
            return NOTHING if positive else EVERYTHING
        keyed = composite_keys.whole_key(columns)
        if keyed is not None:
            # One equality on _id, which its unique index answers.
            path = self.expression_compiler.scope.path(columns[0].alias, keyed._meta.pk)
            ids = [composite_keys.compound_id(keyed, tuple(row)) for row in rows]
            condition = {path: {"$eq": ids[0]} if len(ids) == 1 else {"$in": ids}}
        elif len(columns) == 1:
            path = self._path(columns[0])
            condition = {path: {"$in": [row[0] for row in rows]}}
        else:
            alternatives = [
                {
                    "$and": [
                        {self._path(column): {"$eq": value}}
                        for column, value in zip(columns, row, strict=True)
                    ]
                }
                for row in rows
            ]
            condition = alternatives[0] if len(alternatives) == 1 else {"$or": alternatives}
        if positive:
            return condition
        not_null = [{self._path(column): {"$ne": None}} for column in columns]
        return {"$and": [{"$nor": [condition]}, *not_null]}

    def _in_subquery(self, lookup):
        """``(a, b) IN (SELECT x, y ...)`` as ``EXISTS (SELECT ... WHERE x = a AND y = b)``,
        as Django's fallback for backends without tuple comparisons writes it."""
        query = lookup.rhs
        if hasattr(query, "query") and not isinstance(query, Query):  # a Subquery()
            query = query.query
        selected = []
        for expression, _sql, _alias in query.get_compiler(connection=self.connection).get_select()[
            0
        ]:
            selected.extend(
                expression.get_cols() if isinstance(expression, ColPairs) else [expression]
            )
        query = query.clone()
        query.add_q(
            Q(
                *[
                    Exact(column, inner)
                    for column, inner in zip(
                        composite_keys.columns_of(lookup.lhs), selected, strict=True
                    )
                ]
            )
        )
        return Exists(query)

    @staticmethod
    def _negatable(condition, path, positive):
        if positive:
            return condition
        # FALSE needs a value: NOT (x < 5) is UNKNOWN, not TRUE, when x is NULL.
        return {"$and": [{"$nor": [condition]}, {path: {"$ne": None}}]}

    def _path(self, column):
        return self.expression_compiler.scope.path(column.alias, column.target)

    def _year_bounds(self, lookup, column):
        path = self._path(column)
        start, finish = lookup.year_lookup_bounds(self.connection, lookup.rhs)
        if isinstance(lookup, YearExact):
            return {path: {"$gte": start, "$lte": finish}}
        operator, index = _year_rule(lookup)
        return {path: {operator: (start, finish)[index]}}

    # -- values ---------------------------------------------------------------------------

    def rhs_value(self, lookup: Any) -> Any:
        """The right-hand side as stored BSON value(s), prepared by the field like Django does.

        ``in`` drops NULLs from a literal list (Django's rule) and raises EmptyResultSet when
        nothing is left; a subquery's NULLs are kept track of (``UnknownIn``), since they make
        NOT IN match nothing.
        """
        rhs = lookup.rhs
        name = lookup.lookup_name
        if isinstance(rhs, Query):
            db = getattr(rhs, "_db", None)
            if db is not None and db != self.connection.alias:
                raise ValueError(
                    "Subqueries aren't allowed across different databases. Force the inner "
                    "query to be evaluated using `list(inner_query)`."
                )
            values = self.subquery_values(rhs)
            if name == "in":
                present = [value for value in values if value is not None]
                if not present and not values:
                    raise EmptyResultSet
                return UnknownIn(present) if len(present) < len(values) else present
            if len(values) > 1:
                raise NotSupportedError("a subquery used as a value returned more than one row")
            return values[0] if values else None
        if name == "isnull":
            if not isinstance(rhs, bool):
                raise ValueError("The QuerySet value for an isnull lookup must be True or False.")
            return rhs
        if isinstance(lookup, IntegerFieldOverflow) and isinstance(rhs, int):
            # Django's rule for integers no column can hold: "= 2**64" matches nothing,
            # "< 2**64" everything (EmptyResultSet / FullResultSet, as process_rhs raises).
            low, high = self.connection.ops.integer_field_range(
                lookup.lhs.output_field.get_internal_type()
            )
            if low is not None and rhs < low:
                raise lookup.underflow_exception
            if high is not None and rhs > high:
                raise lookup.overflow_exception
        _, params = lookup.get_db_prep_lookup(rhs, self.connection)
        if name == "in":
            values = [value for value in params if value is not None]
            if not values:
                raise EmptyResultSet
            return values
        if name in lookups.ITERABLE_VALUES:
            return list(params)
        return params[0]

    def subquery_rows(self, query: Any) -> list[Any]:
        """The rows of a non-correlated subquery, run first (``subquery_values``)."""
        compiler = query.get_compiler(connection=self.connection)
        if _COMPILING_ONLY.get():
            with contextlib.suppress(EmptyResultSet):
                compiler.build_select()
            return []
        return list(compiler.execute_raw_rows())

    def subquery_values(self, query: Any) -> list[Any]:
        """Run a non-correlated subquery first and use its values (one extra round trip);
        while ``compiling_only()``, compile it (for its errors) and run nothing."""
        compiler = query.get_compiler(connection=self.connection)
        if _COMPILING_ONLY.get():
            with contextlib.suppress(EmptyResultSet):
                compiler.build_select()
            return []
        return [row[0] for row in compiler.execute_raw_rows()]

    # -- aggregation expressions ----------------------------------------------------------

    def expression(self, node: Any, positive: bool = True) -> AggregationExpression:
        """A boolean aggregation expression: ``node`` is TRUE (or FALSE when not positive)."""
        if isinstance(node, NothingNode):
            return not positive
        if isinstance(node, WhereNode):
            if node.negated:
                positive = not positive
            if node.connector == XOR:
                return self._xor(node, positive)
            every = (node.connector == AND) == positive
            parts = [self.expression(child, positive) for child in node.children]
            if not parts:
                return every
            if len(parts) == 1:
                return parts[0]
            return {"$and" if every else "$or": parts}
        if hasattr(node, "lookup_name"):
            return self.lookup_expression(node, positive)
        compiled = self.expression_compiler.compile(node)
        return {"$eq": [compiled, positive]}

    def _xor(self, node, positive):
        parts = [self.expression(child) for child in node.children]
        count = {"$sum": [{"$cond": [part, 1, 0]} for part in parts]}
        return {"$eq": [{"$mod": [count, 2]}, 1 if positive else 0]}

    def lookup_expression(self, lookup: Any, positive: bool = True) -> AggregationExpression:
        lookup = as_django_lookup(in_subquery_as_query(lookup))
        if composite_keys.is_tuple_lookup(lookup):
            node = self._columns_node(composite_keys.as_tuple_lookup(lookup))
            return self.expression(node, positive)
        composite_keys.refuse_key_value(lookup)
        if not is_table_lookup(lookup):
            as_mql = getattr(lookup, "as_mql", None) or as_mql_for(lookup)
            if as_mql is not None:
                test, guards = as_mql(self.expression_compiler)
                return self._guarded(test, guards, positive)
            check_supported(lookup)
        name = lookup.lookup_name
        if name == "exact" and isinstance(lookup.rhs, bool) and is_never_null(lookup.lhs):
            # filter(Exists(...)) and friends arrive as "<condition> = True". (A boolean
            # column can be NULL: it takes the guarded comparison below.)
            node, wanted = lookup.lhs, lookup.rhs == positive
            while isinstance(node, NegatedExpression):
                node, wanted = node.expression, not wanted
            if isinstance(node, Lookup | WhereNode):
                return self.expression(node, wanted)  # UNKNOWN is neither TRUE nor FALSE
            condition = self.expression_compiler.compile(node)
            return condition if wanted else {"$not": [condition]}
        builder = lookups.EXPRESSIONS.get(name)
        if builder is None:
            raise NotSupportedError(f"the {name!r} lookup is not supported by the MongoDB backend")
        compile_ = self.expression_compiler.compile
        lhs = compile_(lookup.lhs)
        rhs = lookup.rhs
        if lookup.bilateral_transforms and name != "isnull":
            try:
                rhs_expression = self._bilateral_rhs(lookup)
            except EmptyResultSet:
                return not positive
        elif isinstance(rhs, Query) and is_correlated(rhs):
            rhs_expression = self.expression_compiler.subquery(rhs, as_array=name == "in")
        elif isinstance(rhs, Query) or is_direct_value(rhs):
            try:
                value = self.rhs_value(lookup)
            except EmptyResultSet:
                return not positive
            except FullResultSet:
                return positive
            if isinstance(value, UnknownIn):
                if not positive:
                    return False
                value = value.values
            if name == "isnull":
                rhs_expression = bool(value)
            elif name == "range":
                rhs_expression = [{"$literal": item} for item in value]
            else:
                rhs_expression = {"$literal": value}
        elif name == "range" or isinstance(rhs, list | tuple | ExpressionList):
            items = rhs.get_source_expressions() if isinstance(rhs, ExpressionList) else rhs
            rhs_expression = [
                compile_(item) if not is_direct_value(item) else {"$literal": item}
                for item in items
            ]
        else:
            rhs_expression = compile_(rhs)
        test, guards = builder(lhs, rhs_expression, lookup)
        return self._guarded(test, guards, positive)

    def _bilateral_rhs(self, lookup: Any) -> Any:
        """The right-hand side through the lookup's bilateral transforms (a transform with
        ``bilateral = True`` applies to both sides: ``name__upper__exact="x"`` compares
        ``UPPER(name)`` with ``UPPER('x')``), as Django's ``process_rhs`` and
        ``batch_process_rhs`` build it: each value a ``Value`` of the column's field."""
        rhs, name = lookup.rhs, lookup.lookup_name
        if isinstance(rhs, Query):
            raise NotSupportedError(
                f"the {name!r} lookup through a bilateral transform with a subquery as its "
                "value is not supported by the MongoDB backend"
            )
        query = self.expression_compiler.query_compiler.query

        def transformed(value):
            if is_direct_value(value):
                value = Value(value, output_field=lookup.lhs.output_field)
            expression = lookup.apply_bilateral_transforms(value).resolve_expression(query)
            return self.expression_compiler.compile(expression)

        if name == "in" or name == "range":
            items = [item for item in rhs if not (name == "in" and item is None)]
            if not items:
                raise EmptyResultSet
            return [transformed(item) for item in items]
        return transformed(rhs)

    @staticmethod
    def _guarded(test, guards, positive):
        if positive:
            guards = [guard for guard in guards if not _implied(guard, test)]
        if not positive:
            test = {"$not": [test]}
        if not guards:
            return test
        # Guards first: $and stops at the first false operand, so the test never sees a null
        # (string operators such as $indexOfCP reject one).
        return _computed_once({"$and": [*guards, test]}, guards)


#: Comparisons false when their first operand is null or missing and the second a value
#: (null sorts below every value); ``$eq`` is symmetric.
FALSE_ON_NULL = {"$eq": True, "$gt": False, "$gte": False}
#: Operators that bind variables, with the operands evaluated inside the binding (where
#: ``$$name`` may mean another value): a shared value is not looked for there.
BINDING_OPERANDS = {"$let": "in", "$map": "in", "$filter": "cond", "$reduce": "in"}


def _null_guarded(guard):
    """The operand of a guard ``{"$gt": [operand, null]}`` (``nulls.is_not_null``), else None."""
    if isinstance(guard, dict) and len(guard) == 1:
        operands = guard.get("$gt")
        if isinstance(operands, list) and len(operands) == 2 and operands[1] is None:
            return operands[0]
    return None


def _is_value(operand):
    """A constant other than null: ``{"$literal": v}`` or a bare number or boolean."""
    if isinstance(operand, dict):
        return list(operand) == ["$literal"] and operand["$literal"] is not None
    return isinstance(operand, bool | int | float)


def _implied(guard, test):
    """Whether ``test`` is only TRUE where ``guard`` is: ``x = 5`` or ``x > 5`` already fail
    on a null ``x``, so the guard ``x > null`` adds nothing to a positive test (for a
    negated one it is what keeps NULL from matching)."""
    operand = _null_guarded(guard)
    if operand is None or not isinstance(test, dict) or len(test) != 1:
        return False
    ((operator, operands),) = test.items()
    symmetric = FALSE_ON_NULL.get(operator)
    if symmetric is None or not isinstance(operands, list) or len(operands) != 2:
        return False
    first, second = operands
    return (first == operand and _is_value(second)) or (
        symmetric and second == operand and _is_value(first)
    )


def _computed_once(condition, guards):
    """``condition`` with each computed value that a guard and the test share (a JSON key,
    a nested function of a column) evaluated once, in a ``$let``, rather than once per use.
    A single operator on a path (``$month: "$published"``) costs less than the variable."""
    shared = []
    for guard in guards:
        operand = _null_guarded(guard)
        if _operators(operand) > 1 and operand not in shared:
            shared.append(operand)
    bindings = {}
    for operand in shared:
        name = f"g{len(bindings)}"
        replaced, count = _replace(condition, operand, f"$${name}")
        if count > 1:
            condition = replaced
            bindings[name] = operand
    if not bindings:
        return condition
    return {"$let": {"vars": bindings, "in": condition}}


def _operators(node):
    """How many operators ``node`` evaluates (a ``$literal`` evaluates nothing)."""
    if isinstance(node, list):
        return sum(_operators(item) for item in node)
    if not isinstance(node, dict) or "$literal" in node:
        return 0
    own = sum(1 for key in node if key.startswith("$"))
    return own + sum(_operators(value) for value in node.values())


def _replace(node, operand, reference):
    """``node`` with ``operand`` replaced by ``reference`` where it is evaluated in the same
    variable scope, and the number of replacements."""
    if node == operand:
        return reference, 1
    if isinstance(node, list):
        items = [_replace(item, operand, reference) for item in node]
        return [item for item, _ in items], sum(count for _, count in items)
    if not isinstance(node, dict) or "$literal" in node:
        return node, 0
    result, total = {}, 0
    for key, value in node.items():
        inner = BINDING_OPERANDS.get(key)
        if inner is not None and isinstance(value, dict) and inner in value:
            # Only the operands outside the binding: {"$let": {"vars": ..., "in": <skip>}}.
            value, count = _replace_except(value, inner, operand, reference)
        else:
            value, count = _replace(value, operand, reference)
        result[key] = value
        total += count
    return result, total


def _replace_except(spec, inner, operand, reference):
    result, total = {}, 0
    for key, value in spec.items():
        if key == inner:
            result[key] = value
            continue
        result[key], count = _replace(value, operand, reference)
        total += count
    return result, total


#: Modules whose lookups the tables in lookups.py implement. Lookups of other fields share
#: names with them (JSONField's "contains" tests containment, not a substring) and must not
#: be compiled as if they were these.
SUPPORTED_LOOKUP_MODULES = frozenset(
    {"django.db.models.lookups", "django.db.models.fields.related_lookups"}
)
#: JSONField equality: documents are stored with sorted keys (operations.adapt_json_value), so
#: comparing them is comparing the JSON values.
SUPPORTED_LOOKUP_CLASSES = frozenset({"JSONExact"})


def can_use_query_operator(lookup: Any, scope: Scope) -> bool:
    """Whether one of Django's lookups compiles to a query operator (``lookups.FILTERS``,
    which an index can answer) rather than to an aggregation expression inside ``$expr``
    (``lookups.EXPRESSIONS``). This is the one place that decides it.

    It can when it compares a column of ``scope``'s own documents (not an outer query's,
    not a computed value) with a constant, or with a subquery that runs first; but not a
    text lookup on a number (SQL matches the number's text, which ``$regex`` cannot read),
    nor a range with a NULL bound (``x BETWEEN NULL AND 5`` is FALSE where ``x > 5``, so its
    negation holds there: ``lookups._range`` says so, a query operator cannot).
    A year lookup with a constant year compares the date itself with the year's bounds.
    Lookups that compile themselves (``as_mql``, JSONField's) are decided before this.
    """
    lhs, rhs, name = lookup.lhs, lookup.rhs, lookup.lookup_name
    if isinstance(lookup, YearLookup):
        if not is_direct_value(rhs):
            return False
        column = lhs.lhs
        return isinstance(column, Col) and scope.is_local(column.alias)
    if name not in lookups.FILTERS or not isinstance(lhs, Col) or not scope.is_local(lhs.alias):
        return False
    if lookup.bilateral_transforms:  # the value goes through them too: an expression
        return False
    if is_direct_value(rhs):
        if name == "range" and None in rhs:
            return False
    elif not isinstance(rhs, Query) or is_correlated(rhs):
        return False
    return not (name in lookups.TEXT_LOOKUPS and internal_type(lhs) in NUMERIC_TYPES)


#: Lookup class -> whether lookups.py's tables compile its lookups (``is_table_lookup``).
_TABLE_LOOKUP_CLASSES: dict[type, bool] = {}


def is_table_lookup(lookup: Any) -> bool:
    """Whether ``lookup`` is one of Django's lookups with no translation of its own, which
    ``lookups.FILTERS``/``EXPRESSIONS`` compile: no ``as_mql``/``as_mql_match`` of its own
    nor from JSONField (json_fields.py), and of a class ``check_supported`` accepts.

    Every lookup of every compile asks, and all but the first two depend on the class only:
    they are kept per class (json_fields' tables are complete once imported)."""
    if hasattr(lookup, "as_mql_match") or hasattr(lookup, "as_mql"):
        return False
    klass = type(lookup)
    known = _TABLE_LOOKUP_CLASSES.get(klass)
    if known is None:
        known = _TABLE_LOOKUP_CLASSES[klass] = (
            as_mql_match_for(lookup) is None
            and as_mql_for(lookup) is None
            and is_supported_class(klass)
        )
    return known


def compiles_itself(lookup: Any) -> bool:
    """A lookup defined outside Django (``as_mql``) or one of JSONField's (json_fields.py)."""
    return hasattr(lookup, "as_mql") or as_mql_for(lookup) is not None


def is_supported_class(klass: type) -> bool:
    """Whether lookups of ``klass`` are Django's own that the lookup tables implement."""
    return (
        klass.__module__ in SUPPORTED_LOOKUP_MODULES or klass.__name__ in SUPPORTED_LOOKUP_CLASSES
    )


#: Class attributes a subclass of one of Django's lookups may set and still be compiled as that
#: lookup: they rename it or widen the values it takes, never change its SQL.
_NAMING_ONLY = frozenset(
    {
        "lookup_name",
        "can_use_none_as_rhs",
        "__module__",
        "__qualname__",
        "__doc__",
        "__firstlineno__",
        "__static_attributes__",
    }
)

#: Lookup class -> the Django lookup class it compiles as (itself when none applies).
_DJANGO_BASES: dict[type, type] = {}


def as_django_lookup(lookup: Any) -> Any:
    """A lookup of a subclass that only renames one of Django's lookups (``class
    IsNullWithNoneAsRHS(IsNull): lookup_name = "isnull_none_rhs"``) as that Django lookup, so
    the tables compile it; any other lookup as it is. The answer is kept per class."""
    klass = type(lookup)
    base = _DJANGO_BASES.get(klass)
    if base is None:
        base = _DJANGO_BASES[klass] = _renamed_from(klass)
    if base is klass:
        return lookup
    clone = copy.copy(lookup)
    clone.__class__ = base
    return clone


def _renamed_from(klass: type) -> type:
    if is_supported_class(klass) or not issubclass(klass, Lookup):
        return klass
    for ancestor in klass.__mro__:
        if is_supported_class(ancestor):
            # A concrete lookup (IsNull, Exact...), not the abstract Lookup it derives from.
            return ancestor if getattr(ancestor, "lookup_name", None) else klass
        if set(vars(ancestor)) - _NAMING_ONLY:
            return klass  # it changes more than the name: its own translation or none
    return klass


def check_supported(lookup: Any) -> None:
    if not is_supported_class(type(lookup)):
        raise NotSupportedError(
            f"the {lookup.lookup_name!r} lookup of {type(lookup).__name__} "
            f"({type(lookup).__module__}) is not supported by the MongoDB backend yet"
        )


def is_never_null(node: Any) -> bool:
    """Conditions that are TRUE or FALSE, never NULL: Exists, lookups, negations of them."""
    if isinstance(node, NegatedExpression):
        return is_never_null(node.expression)
    return isinstance(node, Exists | Lookup | WhereNode)


class UnknownIn:
    """The values of an ``in`` subquery that also returned NULL."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values


def _year_rule(lookup):
    rule = by_class(YEAR_BOUNDS, lookup)
    if rule is not None:
        return rule
    raise NotSupportedError(f"the {lookup.lookup_name!r} year lookup is not supported")
