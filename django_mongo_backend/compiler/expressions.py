"""Django expressions -> MongoDB aggregation expressions.

``ExpressionCompiler.compile(expression)`` returns an aggregation expression (``"$path"``, a
``{"$op": ...}`` document or ``{"$literal": value}``). User values are always wrapped in
``$literal``, so a string such as ``"$where"`` stays data. Columns resolve to document paths
through the query's ``Scope`` (base collection fields at the top level, joined collections
under their alias). Aggregates are only valid inside a ``$group``; the group builder gives the
compiler an ``aggregate_slot`` callback that turns each one into an accumulator field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.db import NotSupportedError
from django.db.models import (
    Case,
    ExpressionWrapper,
    F,
    Value,
    When,
)
from django.db.models.aggregates import Aggregate
from django.db.models.expressions import (
    Col,
    CombinedExpression,
    DurationExpression,
    Exists,
    ExpressionList,
    Func,
    NegatedExpression,
    OrderBy,
    RawSQL,
    Ref,
    ResolvedOuterRef,
    Subquery,
    TemporalSubtraction,
    Window,
)
from django.db.models.lookups import Lookup
from django.db.models.sql.query import Query
from django.db.models.sql.where import ExtraWhere, WhereNode

from ..operations import JSON_NULL
from . import functions
from .conditions import ConditionCompiler
from .dispatch import by_class
from .field_types import INTEGER_TYPES, internal_type
from .json_fields import as_mql_for, json_null_literal
from .mql_types import AggregationExpression, Stage
from .nulls import NonNull, is_not_null, may_be_null
from .scopes import Scope
from .subqueries import compile_subquery
from .windows import Windows

TABLE_COLUMN = re.compile(r"^([A-Za-z_][\w]*)\.([A-Za-z_][\w]*)$")

#: CombinedExpression connectors -> aggregation operators.
CONNECTORS = {
    "+": "$add",
    "-": "$subtract",
    "*": "$multiply",
    "/": "$divide",
    "%%": "$mod",
    "^": "$pow",
    "&": "$bitAnd",
    "|": "$bitOr",
    "#": "$bitXor",
}
#: Connectors whose operator takes any number of arguments, applied left to right, null when
#: any argument is null or missing ($add, $multiply, $bitAnd, $bitOr, $bitXor): a left-deep
#: chain ``a + b + c`` is one ``$add: [a, b, c]`` with the same result (the server folds its
#: arguments in order), where nesting one operator per term would pass MongoDB's 200 BSON
#: levels near 100 terms.
ASSOCIATIVE = frozenset({"+", "*", "&", "|", "#"})
#: Bit shifts: MongoDB has no shift operator. ``a << n`` is ``a * 2**n``; ``a >> n`` is an
#: arithmetic shift, ``floor(a / 2**n)``, back to a long. NULL operands give NULL.
SHIFTS = {
    "<<": lambda lhs, rhs: {"$multiply": [lhs, {"$pow": [2, rhs]}]},
    ">>": lambda lhs, rhs: {"$toLong": {"$floor": {"$divide": [lhs, {"$pow": [2, rhs]}]}}},
}


def _left_chain(expression):
    """The operands of a left-deep chain of ``expression``'s connector, in order: only the
    left side is unfolded (``a + (b + c)`` adds ``b + c`` first, which for doubles may round
    differently), and only plain CombinedExpressions (a duration or a date difference compiles
    otherwise)."""
    operands = [expression.rhs]
    node = expression.lhs
    while type(node) is CombinedExpression and node.connector == expression.connector:
        operands.append(node.rhs)
        node = node.lhs
    operands.append(node)
    return operands[::-1]


def time_microseconds(value):
    """Microseconds since midnight of a stored time (``"HH:MM:SS.ffffff"``); null for null."""
    parts = [
        {"$multiply": [{"$toLong": {"$substrCP": [value, start, length]}}, scale]}
        for start, length, scale in ((0, 2, 3_600_000_000), (3, 2, 60_000_000), (6, 2, 1_000_000))
    ]
    fraction = {"$toLong": {"$ifNull": [{"$substrCP": [value, 9, 6]}, "0"]}}
    return {"$cond": [{"$gt": [value, None]}, {"$add": [*parts, fraction]}, None]}


_DAY_MICROSECONDS = 86_400_000_000


def time_text(microseconds):
    """The stored text (``"HH:MM:SS.ffffff"``) of a time given in microseconds since midnight,
    taken modulo a day as PostgreSQL's ``time + interval`` wraps around midnight ($mod keeps
    the dividend's sign, hence the second $mod); null for null ($substrCP would make "" of
    it)."""
    wrapped = {
        "$mod": [
            {"$add": [{"$mod": [microseconds, _DAY_MICROSECONDS]}, _DAY_MICROSECONDS]},
            _DAY_MICROSECONDS,
        ]
    }

    def digits(unit, modulus, width):
        value = "$$time" if unit == 1 else {"$toLong": {"$floor": {"$divide": ["$$time", unit]}}}
        if modulus:
            value = {"$mod": [value, modulus]}
        # 7 -> 107 -> "07": fixed width without a padding operator.
        return {"$substrCP": [{"$toString": {"$add": [value, 10**width]}}, 1, width]}

    text = {
        "$concat": [
            digits(3_600_000_000, None, 2),
            ":",
            digits(60_000_000, 60, 2),
            ":",
            digits(1_000_000, 60, 2),
            ".",
            digits(1, 1_000_000, 6),
        ]
    }
    return {
        "$let": {
            "vars": {"time": wrapped},
            "in": {"$cond": [{"$gt": ["$$time", None]}, text, None]},
        }
    }


class ExpressionCompiler:
    """Compiles Django expressions of one query, in one scope, to aggregation expressions.

    ``query_compiler`` is the Django compiler (``SQLCompiler`` subclass) of the query being
    compiled; a condition inside an expression compiles through ``conditions`` (a
    ConditionCompiler over this instance), a subquery through its own query compiler
    (``subqueries.compile_subquery``).
    """

    def __init__(
        self,
        query_compiler: Any,
        scope: Scope,
        *,
        aggregate_slot: Callable[[Any], AggregationExpression] | None = None,
        refs: dict[str, AggregationExpression] | None = None,
    ) -> None:
        self.query_compiler = query_compiler
        self.connection = query_compiler.connection
        self.scope = scope
        self.aggregate_slot = aggregate_slot
        # Annotation alias -> aggregation expression already computed into the document.
        self.refs: dict[str, AggregationExpression] = refs or {}
        # $lookup stages that must run before the stage using what this compiler returns.
        self.prelude: list[Stage] = []
        # The query's windows, where the pipeline computes them (a plain read); None where
        # a window cannot be computed.
        self.windows: Windows | None = None

    @property
    def conditions(self) -> ConditionCompiler:
        """The ConditionCompiler for conditions inside expressions (CASE WHEN, filters of
        aggregates, a Q used as a value), over this instance."""
        return ConditionCompiler(self)

    def compile(self, expression: Any) -> AggregationExpression:
        handler = by_class(self._handlers, expression)
        if handler is not None:
            return handler(self, expression)
        as_mql = getattr(expression, "as_mql", None) or as_mql_for(expression)
        if as_mql is not None:
            # The extension point for fields and expressions defined outside Django (the
            # backend's own fields, users' custom expressions): they compile themselves.
            return as_mql(self)
        if isinstance(expression, Func):
            return functions.compile_function(self, expression)
        raise NotSupportedError(
            f"{type(expression).__name__} expressions are not supported by the MongoDB backend "
            f"yet: {expression!r}"
        )

    def compile_many(self, expressions: Iterable[Any]) -> list[AggregationExpression]:
        return [self.compile(expression) for expression in expressions]

    # -- leaves ---------------------------------------------------------------------------

    def column(self, col):
        reference = self.scope.reference(col.alias, col.target)
        if self.scope.never_null(col.alias, col.target):
            return NonNull(reference)
        return reference

    def value(self, value):
        if json_null_literal(value):
            return {"$literal": JSON_NULL}
        return {"$literal": self.adapt(value.value, getattr(value, "_output_field_or_none", None))}

    def adapt(self, python_value: Any, output_field: Any = None) -> Any:
        """A Python value as the BSON value the column would store."""
        if python_value is None:
            return None
        if output_field is not None:
            try:
                return output_field.get_db_prep_value(python_value, self.connection, prepared=False)
            except (TypeError, ValueError, AttributeError):
                pass
        return self.connection.ops.adapt_unknown_value(python_value)

    def ref(self, ref):
        if ref.refs in self.refs:
            return self.refs[ref.refs]
        return self.compile(ref.source)

    # -- operators ------------------------------------------------------------------------

    def combined(self, expression):
        connector = expression.connector
        if connector in ASSOCIATIVE:
            return {CONNECTORS[connector]: self.compile_many(_left_chain(expression))}
        lhs, rhs = self.compile(expression.lhs), self.compile(expression.rhs)
        if connector in SHIFTS:
            return SHIFTS[connector](lhs, rhs)
        operator = CONNECTORS.get(connector)
        if operator is None:
            raise NotSupportedError(f"the {connector!r} operator is not supported on MongoDB")
        result = {operator: [lhs, rhs]}
        if connector == "/" and self._integer_output(expression):
            # SQL divides integers to an integer, truncating toward zero.
            result = {"$trunc": [result, 0]}
        return result

    def duration(self, expression):
        """A DurationField (int64 microseconds) combined with a date/datetime, a time or a
        number.

        MongoDB's ``$add``/``$subtract`` read a number beside a date as milliseconds (BSON
        dates keep no finer precision); ``duration * n`` and ``/ n`` stay whole microseconds;
        a time (stored as text) is shifted in microseconds and written back as text.
        """
        lhs, rhs = self.compile(expression.lhs), self.compile(expression.rhs)
        lhs_type, rhs_type = internal_type(expression.lhs), internal_type(expression.rhs)
        connector = expression.connector
        if connector in ("*", "/"):
            operator = "$multiply" if connector == "*" else "$divide"
            return {"$toLong": {"$round": [{operator: [lhs, rhs]}, 0]}}
        if lhs_type == "DurationField" and rhs_type == "DurationField":
            return {CONNECTORS[connector]: [lhs, rhs]}
        if lhs_type == "DurationField":
            if connector == "-":
                raise NotSupportedError("a duration minus a date has no meaning")
            lhs, rhs = rhs, lhs  # duration + date
            lhs_type = rhs_type
        if lhs_type == "TimeField":
            if connector not in ("+", "-"):
                raise NotSupportedError(f"the {connector!r} operator between a time and a duration")
            operator = "$add" if connector == "+" else "$subtract"
            return time_text({operator: [time_microseconds(lhs), rhs]})
        # Whole milliseconds, rounded down as stored datetimes are.
        milliseconds = {"$toLong": {"$floor": {"$divide": [rhs, 1000]}}}
        operator = {"+": "$add", "-": "$subtract"}.get(connector)
        if operator is None:
            raise NotSupportedError(f"the {connector!r} operator between a date and a duration")
        return {operator: [lhs, milliseconds]}

    def temporal_subtraction(self, expression):
        """date - date, datetime - datetime: a duration in microseconds ($subtract of two dates
        gives milliseconds)."""
        lhs, rhs = self.compile(expression.lhs), self.compile(expression.rhs)
        if internal_type(expression.lhs) == "TimeField":
            return {"$subtract": [time_microseconds(lhs), time_microseconds(rhs)]}
        return {"$multiply": [{"$subtract": [lhs, rhs]}, 1000]}

    def _integer_output(self, expression):
        return internal_type(expression) in INTEGER_TYPES

    def wrapper(self, expression):
        return self.compile(expression.expression)

    def negated(self, expression):
        value = self.compile(expression.expression)
        if isinstance(expression.expression, Exists) or not may_be_null(value):
            return {"$not": [value]}
        return {"$cond": [is_not_null(value), {"$not": [value]}, None]}  # NOT NULL is NULL

    def case(self, expression):
        branches = [
            {"case": self.condition(when.condition), "then": self.compile(when.result)}
            for when in expression.cases
        ]
        default = self.compile(expression.default)
        if not branches:
            return default
        return {"$switch": {"branches": branches, "default": default}}

    def when(self, expression):
        return self.condition(expression.condition)

    def condition(self, node: Any) -> AggregationExpression:
        """A boolean aggregation expression for a WhereNode, Q-derived lookup or expression."""
        return self.conditions.expression(node)

    def aggregate(self, expression):
        if self.aggregate_slot is None:
            raise NotSupportedError(
                f"{expression.name} aggregates can only be used in annotate() / aggregate()"
            )
        return self.aggregate_slot(expression)

    def window(self, expression):
        if not self.connection.features.supports_over_clause:
            raise NotSupportedError("This backend does not support window expressions.")
        if self.windows is None:
            raise NotSupportedError(
                "window expressions are supported on MongoDB in plain reads only (not with "
                "GROUP BY, DISTINCT, aggregate() or in writes)"
            )
        return self.windows.read(expression)

    def expression_list(self, expression):
        return self.compile_many(expression.get_source_expressions())

    def order_by(self, expression):
        return self.compile(expression.expression)

    def outer_ref(self, expression):
        # Django's own error for a queryset with OuterRef run on its own
        # (ResolvedOuterRef.as_sql), naming the reference as well.
        raise ValueError(
            "This queryset contains a reference to an outer query and may only be used in a "
            f"subquery. The reference: OuterRef({expression.name!r})."
        )

    def subquery(self, expression: Any, *, as_array: bool = False) -> AggregationExpression:
        """Exists/Subquery/Query -> the value its ``$lookup`` (added to ``prelude``) reads."""
        return compile_subquery(self, expression, as_array=as_array)

    def raw_sql(self, expression):
        # Django's own many-to-many prefetching selects the through table's key column with
        # extra(select={"...": "<table>.<column>"}); that one form names a joined column.
        match = TABLE_COLUMN.match(expression.sql)
        query = self.query_compiler.query
        if match and not expression.params:
            table, column = match.groups()
            aliases = query.table_map.get(table)
            if aliases:
                return "$" + self._table_column_path(aliases[0], table, column)
        raise NotSupportedError(
            f"RawSQL() and extra() have no meaning on MongoDB (no SQL is ever run): "
            f"{expression.sql!r}"
        )

    def _table_column_path(self, alias, table, column):
        from django.apps import apps

        for model in apps.get_models(include_auto_created=True):
            if model._meta.db_table == table:
                for field in model._meta.concrete_fields:
                    if field.column == column:
                        return self.scope.path(alias, field)
        raise NotSupportedError(f"extra() names an unknown column {table}.{column}")

    def extra_where(self, expression):
        raise NotSupportedError(
            f"extra(where=...) has no meaning on MongoDB (no SQL is ever run): {expression.sqls!r}"
        )

    def unresolved_f(self, expression):
        raise NotSupportedError(f"unresolved F({expression.name!r})")

    def truth_value(self, node: Any) -> AggregationExpression:
        """A condition used as a value (``annotate(x=Q(...))``, ``Coalesce(Q(...), True)``):
        TRUE, FALSE or NULL when UNKNOWN, as SQL selects it. ``condition()`` is for places
        that only ask whether it is TRUE (CASE WHEN, filters)."""
        conditions = self.conditions
        is_true = conditions.expression(node, True)
        is_false = conditions.expression(node, False)
        if is_false in ({"$not": [is_true]}, not is_true):
            return is_true  # never UNKNOWN
        return {"$cond": [is_true, True, {"$cond": [is_false, False, None]}]}

    _handlers = {
        Col: column,
        Value: value,
        Ref: ref,
        CombinedExpression: combined,
        DurationExpression: duration,
        TemporalSubtraction: temporal_subtraction,
        ExpressionWrapper: wrapper,
        NegatedExpression: negated,
        Case: case,
        When: when,
        Aggregate: aggregate,
        Window: window,
        ExpressionList: expression_list,
        OrderBy: order_by,
        ResolvedOuterRef: outer_ref,
        Subquery: subquery,
        Exists: subquery,
        Query: subquery,
        RawSQL: raw_sql,
        ExtraWhere: extra_where,
        F: unresolved_f,
        Lookup: truth_value,
        WhereNode: truth_value,
    }
