"""``$switch`` over one field's equality with many constants, as a lookup instead of a scan.

Django's ``bulk_update()`` sets each field to ``Case(When(pk=1, then=...), When(pk=2, then=...),
...)``, one branch per object, which this backend compiles to ``$switch`` with a branch per
object, each ``{$and: [{$eq: ["$_id", {$literal: 1}]}]}``. mongoeco evaluates the branches in
order for every document, so an update of n objects tests about n²/2 branches (Django's
``test_large_batch`` spent 86 s there).

For a ``$switch`` whose branches all test the same field path for equality with a constant (a
number, a string or an ObjectId), the first branch a value selects is the first branch whose
constant has the value's equality key (``bson_equality_key``: numbers by value whatever their
type, as MongoDB compares them). ``install()`` wraps mongoeco's evaluation of control
expressions so that such a ``$switch`` builds that table once per command and looks each
document's value up in it. Anything else (another shape, a collation, a value of another type:
arrays, documents, decimals, booleans, NaN, a missing field...) goes to mongoeco's own
evaluation, as before; ``tests/embedded/test_switch_lookup.py`` compares the two.
"""

from __future__ import annotations

import math

from bson import Int64, ObjectId
from mongoeco.core.aggregation import control_object_expressions
from mongoeco.core.bson_ordering import bson_equality_key
from mongoeco.core.bson_scalars import BsonDouble, BsonInt32, BsonInt64

from .. import registry

#: Fewer branches than this are cheaper to test in order than to index.
MIN_BRANCHES = 8

#: Value types whose equality with the constants below ``bson_equality_key`` decides exactly.
_VALUE_TYPES = (int, float, str, ObjectId, Int64, BsonInt32, BsonInt64, BsonDouble)
_CONSTANT_TYPES = (int, str, ObjectId)
_INT64 = (-(2**63), 2**63 - 1)

#: Tables built for the ``$switch`` specs of recent commands: id(spec) -> (spec, plan).
_plans: dict[int, tuple[object, object]] = {}
_PLANS_KEPT = 32
_NO_PLAN = object()


def _constant(expression):
    """The constant an ``$eq`` operand stands for, or _NO_PLAN."""
    if isinstance(expression, dict):
        if len(expression) != 1 or "$literal" not in expression:
            return _NO_PLAN
        expression = expression["$literal"]
    elif isinstance(expression, str) and expression.startswith("$"):
        return _NO_PLAN
    if type(expression) not in _CONSTANT_TYPES:
        return _NO_PLAN
    if type(expression) is int and not _INT64[0] <= expression <= _INT64[1]:
        return _NO_PLAN
    return expression


def _equality(case):
    """``(path, constant)`` of ``{$eq: ["$path", constant]}`` (alone or as the one operand of
    ``$and``), or None."""
    if isinstance(case, dict) and len(case) == 1 and "$and" in case:
        operands = case["$and"]
        if not isinstance(operands, list) or len(operands) != 1:
            return None
        case = operands[0]
    if not isinstance(case, dict) or len(case) != 1 or "$eq" not in case:
        return None
    operands = case["$eq"]
    if not isinstance(operands, list) or len(operands) != 2:
        return None
    path, constant = operands[0], _constant(operands[1])
    if not isinstance(path, str) or not path.startswith("$") or path.startswith("$$"):
        return None
    if constant is _NO_PLAN:
        return None
    return path, constant


def plan_for(spec):
    """``(path, {equality key: first branch}, has strings)`` for a ``$switch`` spec of the
    shape above, or None."""
    if not isinstance(spec, dict) or set(spec) - {"branches", "default"}:
        return None
    branches = spec.get("branches")
    if not isinstance(branches, list) or len(branches) < MIN_BRANCHES:
        return None
    path = None
    table = {}
    has_strings = False
    for index, branch in enumerate(branches):
        if not isinstance(branch, dict) or set(branch) != {"case", "then"}:
            return None
        equality = _equality(branch["case"])
        if equality is None or (path is not None and equality[0] != path):
            return None
        path, constant = equality
        has_strings = has_strings or isinstance(constant, str)
        table.setdefault(bson_equality_key(constant), index)
    return path, table, has_strings


def _cached_plan(spec):
    entry = _plans.get(id(spec))
    if entry is not None and entry[0] is spec:
        return entry[1]
    plan = plan_for(spec)
    if len(_plans) >= _PLANS_KEPT:
        _plans.pop(next(iter(_plans)))
    _plans[id(spec)] = (spec, plan)  # the spec is kept, so its id is not reused meanwhile
    return plan


def _lookup_key(value):
    """The equality key of a document's value, or None when mongoeco must decide."""
    if type(value) not in _VALUE_TYPES:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return bson_equality_key(value)
    except (OverflowError, ValueError, TypeError):
        return None


def _evaluate_control_object_expression(original):
    def evaluate_control_object_expression(operator, document, spec, variables, **kwargs):
        if operator == "$switch":
            plan = _cached_plan(spec)
            if plan is not None:
                path, table, has_strings = plan
                collation = getattr(variables, "collation", None)
                if not (has_strings and collation is not None):
                    value = kwargs["evaluate_expression_with_missing"](document, path, variables)
                    key = _lookup_key(value)
                    if key is not None:
                        index = table.get(key)
                        if index is not None:
                            chosen = spec["branches"][index]["then"]
                            return kwargs["evaluate_expression"](document, chosen, variables)
                        if "default" in spec:
                            default = spec["default"]
                            return kwargs["evaluate_expression"](document, default, variables)
        return original(operator, document, spec, variables, **kwargs)

    return evaluate_control_object_expression


def install():
    """Look up the branch of an equality ``$switch`` instead of testing each (idempotent)."""
    original = control_object_expressions.evaluate_control_object_expression
    registry.rebind(
        control_object_expressions,
        "evaluate_control_object_expression",
        _evaluate_control_object_expression(original),
        rule="$switch on one field's equality with constants: the first branch by lookup",
        test="tests/embedded/test_switch_lookup.py::test_a_lookup_switch_answers_as_the_scan",
        kind=registry.PERFORMANCE,
    )
