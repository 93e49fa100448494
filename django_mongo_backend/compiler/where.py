"""WhereNode -> a ``$match`` document (query operators where possible) or a ``$expr``.

``match()`` keeps constant comparisons on plain fields as query operators so MongoDB can use
indexes; only comparisons between computed values fall back to ``$expr``. ``expression()``
builds the equivalent boolean aggregation expression (for ``When``, ``$lookup`` pipelines and
anything inside ``$expr``).
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import NotSupportedError
from django.db.models.expressions import Col
from django.db.models.lookups import (
    YearExact,
    YearGt,
    YearGte,
    YearLookup,
    YearLt,
    YearLte,
)
from django.db.models.sql.query import Query
from django.db.models.sql.where import AND, XOR, NothingNode, WhereNode

from . import lookups
from .subqueries import compile_subquery, is_correlated

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


def is_direct_value(value):
    return not hasattr(value, "resolve_expression")


class WhereCompiler:
    def __init__(self, expressions):
        self.expressions = expressions
        self.connection = expressions.connection

    # -- query language -------------------------------------------------------------------

    def match(self, node):
        """The $match document for ``node`` ({} when every document matches)."""
        if node is None:
            return {}
        result = self._match(node)
        if result is EVERYTHING:
            return {}
        if result is NOTHING:
            return MATCH_NOTHING
        return result

    def _match(self, node):
        if isinstance(node, NothingNode):
            return NOTHING
        if isinstance(node, WhereNode):
            return self._match_node(node)
        if hasattr(node, "lookup_name"):
            return self._match_lookup(node)
        return {"$expr": self.expression(node)}

    def _match_node(self, node):
        if node.connector == XOR:
            return {"$expr": self.expression(node)}
        parts = []
        for child in node.children:
            part = self._match(child)
            if node.connector == AND:
                if part is NOTHING:
                    parts = NOTHING
                    break
                if part is not EVERYTHING:
                    parts.append(part)
            else:
                if part is EVERYTHING:
                    parts = EVERYTHING
                    break
                if part is not NOTHING:
                    parts.append(part)
        if parts is NOTHING or parts is EVERYTHING:
            result = parts
        elif not parts:
            result = EVERYTHING if node.connector == AND else NOTHING
        elif len(parts) == 1:
            result = parts[0]
        else:
            result = {"$and" if node.connector == AND else "$or": parts}
        if node.negated:
            if result is NOTHING:
                return EVERYTHING
            if result is EVERYTHING:
                return NOTHING
            return {"$nor": [result]}
        return result

    def _match_lookup(self, lookup):
        lhs = lookup.lhs
        if isinstance(lookup, YearLookup) and is_direct_value(lookup.rhs):
            source = lhs.lhs
            if isinstance(source, Col):
                return self._year_bounds(lookup, source)
        if not isinstance(lhs, Col):
            return {"$expr": self.lookup_expression(lookup)}
        rhs = lookup.rhs
        builder = lookups.FILTERS.get(lookup.lookup_name)
        if (
            builder is None
            or not self.expressions.scope.is_local(lhs.alias)
            or not (is_direct_value(rhs) or (isinstance(rhs, Query) and not is_correlated(rhs)))
        ):
            return {"$expr": self.lookup_expression(lookup)}
        try:
            value = self.rhs_value(lookup)
        except EmptyResultSet:
            return NOTHING
        condition = builder(self.expressions.scope.path(lhs.alias, lhs.target), value, lookup)
        return NOTHING if condition is None else condition

    def _year_bounds(self, lookup, column):
        path = self.expressions.scope.path(column.alias, column.target)
        start, finish = lookup.year_lookup_bounds(self.connection, lookup.rhs)
        if isinstance(lookup, YearExact):
            return {path: {"$gte": start, "$lte": finish}}
        operator, index = _year_rule(lookup)
        return {path: {operator: (start, finish)[index]}}

    # -- values ---------------------------------------------------------------------------

    def rhs_value(self, lookup):
        """The right-hand side as stored BSON value(s), prepared by the field like Django does."""
        rhs = lookup.rhs
        if isinstance(rhs, Query):
            values = self.subquery_values(rhs)
            if lookup.lookup_name == "in":
                return values
            if len(values) > 1:
                raise NotSupportedError("a subquery used as a value returned more than one row")
            return values[0] if values else None
        if lookup.lookup_name == "isnull":
            return rhs
        _, params = lookup.get_db_prep_lookup(rhs, self.connection)
        if lookup.lookup_name in lookups.ITERABLE_VALUES:
            return list(params)
        return params[0]

    def subquery_values(self, query):
        """Run a non-correlated subquery first and use its values (one extra round trip)."""
        compiler = query.get_compiler(connection=self.connection)
        return [row[0] for row in compiler.execute_raw_rows()]

    # -- aggregation expressions ----------------------------------------------------------

    def expression(self, node):
        if isinstance(node, NothingNode):
            return False
        if isinstance(node, WhereNode):
            parts = [self.expression(child) for child in node.children]
            if node.connector == XOR:
                count = {"$sum": [{"$cond": [part, 1, 0]} for part in parts]}
                result = {"$eq": [{"$mod": [count, 2]}, 1]}
            elif not parts:
                result = node.connector == AND
            else:
                result = {"$and" if node.connector == AND else "$or": parts}
            return {"$not": [result]} if node.negated else result
        if hasattr(node, "lookup_name"):
            return self.lookup_expression(node)
        compiled = self.expressions.compile(node)
        return {"$eq": [compiled, True]}

    def lookup_expression(self, lookup):
        name = lookup.lookup_name
        if name == "exact" and isinstance(lookup.rhs, bool) and lookup.lhs.conditional:
            # filter(Exists(...)) and friends arrive as "<condition> = True".
            condition = self.expressions.compile(lookup.lhs)
            return condition if lookup.rhs else {"$not": [condition]}
        builder = lookups.EXPRESSIONS.get(name)
        if builder is None:
            raise NotSupportedError(f"the {name!r} lookup is not supported by the MongoDB backend")
        compile_ = self.expressions.compile
        lhs = compile_(lookup.lhs)
        rhs = lookup.rhs
        if isinstance(rhs, Query) and is_correlated(rhs):
            rhs_expression = compile_subquery(self.expressions, rhs, as_array=name == "in")
        elif isinstance(rhs, Query) or is_direct_value(rhs):
            try:
                value = self.rhs_value(lookup)
            except EmptyResultSet:
                return False
            if name == "isnull":
                rhs_expression = bool(value)
            elif name == "range":
                rhs_expression = [{"$literal": item} for item in value]
            else:
                rhs_expression = {"$literal": value}
        elif name == "range" or isinstance(rhs, list | tuple):
            rhs_expression = [
                compile_(item) if not is_direct_value(item) else {"$literal": item} for item in rhs
            ]
        else:
            rhs_expression = compile_(rhs)
        return builder(lhs, rhs_expression, lookup)


def _year_rule(lookup):
    for klass, rule in YEAR_BOUNDS.items():
        if isinstance(lookup, klass):
            return rule
    raise NotSupportedError(f"the {lookup.lookup_name!r} year lookup is not supported")
