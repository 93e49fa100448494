"""Aggregates -> ``$group`` accumulators, with SQL's results on NULLs and empty groups.

``compile_aggregate`` registers one or more accumulators under ``name`` in ``accumulators``
(name -> (accumulator spec, value on empty input)) and returns the expression that reads the
aggregate's value after the ``$group``. SQL ignores NULL inputs; ``SUM`` of no values is NULL
(``$sum`` says 0), ``COUNT`` is 0; ``filter=Q(...)`` keeps only matching inputs. An input known
never to be null (a ``NonNull`` column: not nullable, not from an outer join) needs none of
that: ``COUNT`` is ``{"$sum": 1}`` and ``SUM`` keeps no counter of non-null inputs, since every
group then holds values and only the empty input of an aggregate without GROUP BY holds none.

No aggregate keeps an array per group where it can be helped: ``$addToSet`` and ``$push``
accumulators are refused by MongoDB beyond 100 MB per group (ExceededMemoryLimit), so a
``DISTINCT`` aggregate is a ``Distinct`` spec that ``group_stages`` turns into a second
``$group`` (first by the group keys and the value, then by the group keys), and ANY_VALUE is
a ``$max``. Arrays remain where a second ``$group`` cannot express the query: DISTINCT
aggregates of different values in one group, or next to an aggregate that cannot be merged
across the first group's partitions (AVG, STDDEV, BIT_*, STRING_AGG; those last two collect
their values by nature).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import NotSupportedError
from django.db.models import aggregates as agg
from django.db.models.expressions import Func, Star

from .dispatch import by_class
from .nulls import NonNull, is_not_null


def _input(aggregate, expression_compiler):
    """The aggregated value, or null for rows the aggregate's filter excludes; whether every
    row has a value (``*``, or a ``NonNull`` column) before the filter; the filter."""
    (source, *_rest) = aggregate.get_source_expressions()[:1] or [None]
    star = source is None or isinstance(source, Star)
    value = 1 if star else expression_compiler.compile(source)
    always = star or isinstance(value, NonNull)
    condition = None
    if aggregate.filter is not None:
        # Django 6 wraps the condition in AggregateFilter; 5.2 stores it directly.
        condition = expression_compiler.condition(
            getattr(aggregate.filter, "condition", aggregate.filter)
        )
        value = {"$cond": [condition, value, None]}
    return value, always, condition


#: What an aggregate reads, for the window functions (``windows``) that count it themselves.
aggregate_input = _input


@dataclass(frozen=True)
class Distinct:
    """An aggregate of the distinct non-null values of ``value``: ``operator`` is ``$count``
    or the accumulator (``$sum``, ``$avg``) applied to them. ``group_stages`` compiles it."""

    value: object
    operator: str


def _count(aggregate, expression_compiler, name, accumulators):
    value, always, condition = _input(aggregate, expression_compiler)
    if aggregate.distinct:
        accumulators[name] = (Distinct(value, "$count"), 0)
        return f"${name}"
    if always:
        counted = 1 if condition is None else {"$cond": [condition, 1, 0]}
    else:
        counted = {"$cond": [is_not_null(value), 1, 0]}
    accumulators[name] = ({"$sum": counted}, 0)
    return f"${name}"


def _with_values(operator, *, null_when_empty):
    def build(aggregate, expression_compiler, name, accumulators):
        value, always, condition = _input(aggregate, expression_compiler)
        known = always and condition is None  # every input is a value
        if getattr(aggregate, "distinct", False):
            accumulators[name] = (Distinct(value, operator), None)
            if not null_when_empty or known:
                return f"${name}"
            counter = f"{name}n"
            accumulators[counter] = (Distinct(value, "$count"), 0)
            return {"$cond": [{"$gt": [f"${counter}", 0]}, f"${name}", None]}
        if known or not null_when_empty:
            # A group holds at least one input; the empty input (an aggregate without GROUP
            # BY) reads the empty value, NULL.
            accumulators[name] = ({operator: value}, None)
            return f"${name}"
        accumulators[name] = ({operator: value}, 0)
        counter = f"{name}n"
        counted = {"$cond": [condition if always else is_not_null(value), 1, 0]}
        accumulators[counter] = ({"$sum": counted}, 0)
        return {"$cond": [{"$gt": [f"${counter}", 0]}, f"${name}", None]}

    return build


def _deviation(operator, *, squared):
    def build(aggregate, expression_compiler, name, accumulators):
        value, _always, _condition = _input(aggregate, expression_compiler)
        accumulators[name] = ({operator: value}, None)
        result = f"${name}"
        return {"$pow": [result, 2]} if squared else result

    return build


def _statistic(kind):
    def build(aggregate, expression_compiler, name, accumulators):
        # Django keeps no ``sample`` attribute: StdDev/Variance(sample=True) name the SQL
        # function STDDEV_SAMP / VAR_SAMP.
        sample = aggregate.function.endswith("_SAMP")
        operator = "$stdDevSamp" if sample else "$stdDevPop"
        return _deviation(operator, squared=kind == "variance")(
            aggregate, expression_compiler, name, accumulators
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

    def build(aggregate, expression_compiler, name, accumulators):
        value, _always, _condition = _input(aggregate, expression_compiler)
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


def _string_agg(aggregate, expression_compiler, name, accumulators):
    """STRING_AGG: the non-null values joined by the delimiter; NULL for none."""
    if aggregate.order_by is not None:
        raise NotSupportedError(
            "This database backend does not support specifying an order on aggregates."
        )
    value, _always, _condition = _input(aggregate, expression_compiler)
    delimiter = aggregate.get_source_expressions()[1]
    if isinstance(delimiter, Func) and not isinstance(delimiter, agg.Aggregate):
        (delimiter,) = delimiter.get_source_expressions()  # StringAggDelimiter(value)
    delimiter = expression_compiler.compile(delimiter)
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


def _any_value(aggregate, expression_compiler, name, accumulators):
    """ANY_VALUE: a non-null value of the group; SQL leaves the choice to the engine, and
    ``$max`` (which skips nulls) picks one without collecting the group's values."""
    value, _always, _condition = _input(aggregate, expression_compiler)
    accumulators[name] = ({"$max": value}, None)
    return f"${name}"


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


def compile_aggregate(aggregate, expression_compiler, name, accumulators):
    builder = by_class(AGGREGATES, aggregate)
    if builder is not None:
        return builder(aggregate, expression_compiler, name, accumulators)
    raise NotSupportedError(
        f"the {type(aggregate).__name__} aggregate is not supported by the MongoDB backend yet"
    )


# -- the $group stages ----------------------------------------------------------------------

#: Accumulators whose result over a group is the same accumulator over partial results.
MERGEABLE = {"$sum", "$min", "$max"}
#: How the fallback reads a Distinct from the set of the group's distinct values.
OVER_SET = {"$count": "$size", "$sum": "$sum", "$avg": "$avg", "$min": "$min", "$max": "$max"}


def group_stages(group_id, accumulators):
    """``$group`` stages; with no keys, exactly one result row even for no input (as SQL)."""
    stages = _grouping(group_id, {name: spec for name, (spec, _empty) in accumulators.items()})
    if group_id is not None:
        return stages
    # $group over no documents yields none; $facet always yields one document, so fill in
    # what each accumulator gives on no input.
    empty = {name: {"$literal": value} for name, (_spec, value) in accumulators.items()}
    return [
        {"$facet": {"g": stages}},
        {"$replaceRoot": {"newRoot": {"$ifNull": [{"$arrayElemAt": ["$g", 0]}, empty]}}},
    ]


def _grouping(group_id, specs):
    distinct = {name: spec for name, spec in specs.items() if isinstance(spec, Distinct)}
    if not distinct:
        return [{"$group": {"_id": group_id, **specs}}]
    others = {name: spec for name, spec in specs.items() if name not in distinct}
    values = {repr(spec.value) for spec in distinct.values()}
    if len(values) == 1 and all(_mergeable(spec) for spec in others.values()):
        return _two_groups(group_id, distinct, others)
    return _distinct_sets(group_id, distinct, others)


def _mergeable(spec):
    return len(spec) == 1 and next(iter(spec)) in MERGEABLE


def _two_groups(group_id, distinct, others):
    """Group by (keys, value), then by keys: each distinct value is one document of the
    second group. The other accumulators run in the first and are merged in the second."""
    value = next(iter(distinct.values())).value
    second = {}
    for name, spec in distinct.items():
        if spec.operator == "$count":
            counted = 1 if isinstance(value, NonNull) else {"$cond": [is_not_null("$_id.v"), 1, 0]}
            second[name] = {"$sum": counted}
        else:
            second[name] = {spec.operator: "$_id.v"}
    for name, spec in others.items():
        second[name] = {next(iter(spec)): f"${name}"}
    return [
        {"$group": {"_id": {"k": group_id, "v": value}, **others}},
        {"$group": {"_id": "$_id.k", **second}},
    ]


def _distinct_sets(group_id, distinct, others):
    """The fallback: each group collects its set of distinct values."""
    sets = {name: {"$addToSet": _non_null_input(spec.value)} for name, spec in distinct.items()}
    read = {name: {OVER_SET[spec.operator]: f"${name}"} for name, spec in distinct.items()}
    return [{"$group": {"_id": group_id, **others, **sets}}, {"$addFields": read}]


def _non_null_input(value):
    """``value``, or ``$$REMOVE`` (nothing accumulated) where it is null."""
    if isinstance(value, NonNull):
        return value
    return {"$cond": [is_not_null(value), value, "$$REMOVE"]}
