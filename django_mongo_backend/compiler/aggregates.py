"""Aggregates -> ``$group`` accumulators, with SQL's results on NULLs and empty groups.

``compile_aggregate`` registers one or more accumulators under ``name`` in ``accumulators``
(name -> (accumulator spec, value on empty input)) and returns the expression that reads the
aggregate's value after the ``$group``. SQL ignores NULL inputs; ``SUM`` of no values is NULL
(``$sum`` says 0), ``COUNT`` is 0; ``filter=Q(...)`` keeps only matching inputs.
"""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.models import aggregates as agg
from django.db.models.expressions import Func, Star

from .expressions import is_not_null


def _input(aggregate, compiler):
    """The aggregated value, or null for rows the aggregate's filter excludes."""
    (source, *_rest) = aggregate.get_source_expressions()[:1] or [None]
    value = 1 if source is None or isinstance(source, Star) else compiler.compile(source)
    condition = None
    if aggregate.filter is not None:
        # Django 6 wraps the condition in AggregateFilter; 5.2 stores it directly.
        condition = compiler.condition(getattr(aggregate.filter, "condition", aggregate.filter))
        value = {"$cond": [condition, value, None]}
    return value, source is None or isinstance(source, Star), condition


def _count(aggregate, compiler, name, accumulators):
    value, star, condition = _input(aggregate, compiler)
    if aggregate.distinct:
        accumulators[name] = (
            {"$addToSet": {"$cond": [is_not_null(value), value, "$$REMOVE"]}},
            [],
        )
        return {"$size": f"${name}"}
    if star:
        counted = 1 if condition is None else {"$cond": [condition, 1, 0]}
    else:
        counted = {"$cond": [is_not_null(value), 1, 0]}
    accumulators[name] = ({"$sum": counted}, 0)
    return f"${name}"


def _with_values(operator, *, null_when_empty):
    def build(aggregate, compiler, name, accumulators):
        value, _star, _condition = _input(aggregate, compiler)
        if getattr(aggregate, "distinct", False):
            accumulators[name] = (
                {"$addToSet": {"$cond": [is_not_null(value), value, "$$REMOVE"]}},
                [],
            )
            result = {operator: f"${name}"}
            if null_when_empty:
                result = {"$cond": [{"$gt": [{"$size": f"${name}"}, 0]}, result, None]}
            return result
        accumulators[name] = ({operator: value}, None if operator != "$sum" else 0)
        if not null_when_empty:
            return f"${name}"
        counter = f"{name}n"
        accumulators[counter] = ({"$sum": {"$cond": [is_not_null(value), 1, 0]}}, 0)
        return {"$cond": [{"$gt": [f"${counter}", 0]}, f"${name}", None]}

    return build


def _deviation(operator, *, squared):
    def build(aggregate, compiler, name, accumulators):
        value, _star, _condition = _input(aggregate, compiler)
        accumulators[name] = ({operator: value}, None)
        result = f"${name}"
        return {"$pow": [result, 2]} if squared else result

    return build


def _statistic(kind):
    def build(aggregate, compiler, name, accumulators):
        sample = getattr(aggregate, "sample", False)
        operator = "$stdDevSamp" if sample else "$stdDevPop"
        return _deviation(operator, squared=kind == "variance")(
            aggregate, compiler, name, accumulators
        )

    return build


def _collected(value):
    """Accumulate every input; the non-null ones are read back with ``_non_null``."""
    return {"$push": value}


def _non_null(name):
    return {"$filter": {"input": f"${name}", "cond": is_not_null("$$this")}}


def _null_when_empty(values, result):
    return {"$cond": [{"$gt": [{"$size": values}, 0]}, result, None]}


def _bitwise(operator, initial):
    """BIT_AND / BIT_OR / BIT_XOR: MongoDB has no such accumulators, so the group collects
    its values and ``$reduce`` folds them with the bitwise expression operator."""

    def build(aggregate, compiler, name, accumulators):
        value, _star, _condition = _input(aggregate, compiler)
        accumulators[name] = (_collected(value), [])
        values = _non_null(name)
        folded = {
            "$reduce": {
                "input": values,
                "initialValue": initial,
                "in": {operator: ["$$value", "$$this"]},
            }
        }
        return _null_when_empty(values, folded)

    return build


def _string_agg(aggregate, compiler, name, accumulators):
    """STRING_AGG: the non-null values joined by the delimiter; NULL for none."""
    if aggregate.order_by is not None:
        raise NotSupportedError(
            "This database backend does not support specifying an order on aggregates."
        )
    value, _star, _condition = _input(aggregate, compiler)
    delimiter = aggregate.get_source_expressions()[1]
    if isinstance(delimiter, Func) and not isinstance(delimiter, agg.Aggregate):
        (delimiter,) = delimiter.get_source_expressions()  # StringAggDelimiter(value)
    delimiter = compiler.compile(delimiter)
    operator = "$addToSet" if aggregate.distinct else "$push"
    accumulators[name] = ({operator: value}, [])
    values = _non_null(name)
    joined = {
        "$reduce": {
            "input": {"$slice": [values, 1, {"$max": [{"$size": values}, 1]}]},
            "initialValue": {"$arrayElemAt": [values, 0]},
            "in": {"$concat": ["$$value", delimiter, "$$this"]},
        }
    }
    return _null_when_empty(values, joined)


def _any_value(aggregate, compiler, name, accumulators):
    """ANY_VALUE: a non-null value of the group, the first one met (as SQL engines pick)."""
    value, _star, _condition = _input(aggregate, compiler)
    accumulators[name] = (_collected(value), [])
    return {"$arrayElemAt": [_non_null(name), 0]}


AGGREGATES = {
    agg.Count: _count,
    agg.Sum: _with_values("$sum", null_when_empty=True),
    agg.Avg: _with_values("$avg", null_when_empty=False),
    agg.Min: _with_values("$min", null_when_empty=False),
    agg.Max: _with_values("$max", null_when_empty=False),
    agg.StdDev: _statistic("stddev"),
    agg.Variance: _statistic("variance"),
}
# Aggregates Django 6 added to its core (5.2 has them in contrib.postgres only).
for _name, _builder in {
    "BitAnd": _bitwise("$bitAnd", -1),
    "BitOr": _bitwise("$bitOr", 0),
    "BitXor": _bitwise("$bitXor", 0),
    "StringAgg": _string_agg,
    "AnyValue": _any_value,
}.items():
    if hasattr(agg, _name):
        AGGREGATES[getattr(agg, _name)] = _builder


def compile_aggregate(aggregate, compiler, name, accumulators):
    for klass in type(aggregate).__mro__:
        builder = AGGREGATES.get(klass)
        if builder is not None:
            return builder(aggregate, compiler, name, accumulators)
    raise NotSupportedError(
        f"the {type(aggregate).__name__} aggregate is not supported by the MongoDB backend yet"
    )
