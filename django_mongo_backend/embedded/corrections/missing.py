"""A missing value stays missing, where MongoDB keeps it apart from null.

In mongod an expression evaluates to a ``Value`` that may be *missing*: a field path that does not
resolve, ``$$REMOVE``, ``$arrayElemAt`` past the end of its array. Null is a value; missing is its
absence, and MongoDB keeps them apart wherever a document is built:

- an object expression ``{k: <expr>}`` leaves out a key whose expression is missing
  (``ExpressionObject``), so ``{a: "$a", b: "$b"}`` over ``{b: 1}`` is ``{b: 1}``, which differs
  from ``{a: null, b: 1}``: a ``$group`` by that compound ``_id`` keeps them in two groups, and an
  ``$addToSet`` of it adds both;
- ``$group``'s ``_id`` with ONE expression (``"$a"``, or ``{a: "$a"}``) turns missing into null
  (``computeGroupKey`` in src/mongo/db/pipeline/group_processor_base.cpp), while a compound one
  keeps each part as it is and drops the missing ones from the output ``_id`` (``expandId``);
- ``$arrayElemAt`` past either end of its array is missing, and so are ``$first``/``$last`` of an
  empty array: ``$project`` leaves the field out;
- ``$arrayToObject`` refuses a ``{k, v}`` object that lost a key (error 40392).

mongoeco's ``evaluate_expression`` turns missing into null everywhere; its
``_evaluate_expression_with_missing`` (used by ``$project``, ``$addFields``...) keeps it only for a
bare field path. The replacements below render object expressions with missing keys left out and
let an operator registered here answer "missing" (``ctx.missing_sentinel``), which reaches every
consumer that asks for missing values and is null for every one that does not.
"""

from __future__ import annotations

from mongoeco.compat import MONGODB_DIALECT_70
from mongoeco.core.aggregation import compiled_aggregation, grouping_stages
from mongoeco.core.aggregation import runtime as aggregation_runtime
from mongoeco.core.aggregation.evaluation_environment import aggregation_environment
from mongoeco.core.bson_scalars import unwrap_bson_numeric
from mongoeco.errors import OperationFailure
from mongoeco.types import UndefinedType

from .. import registry
from .bson_types import type_name

_TESTS = "tests/embedded/test_evaluation.py"
_MISSING = aggregation_runtime._MISSING
_REMOVE = aggregation_runtime._REMOVE
_ORIGINAL_EVALUATE = aggregation_runtime.evaluate_expression
_ORIGINAL_WITH_MISSING = aggregation_runtime._evaluate_expression_with_missing


def _is_absent(value):
    return value is _MISSING or value is _REMOVE


def is_object_expression(expression):
    """A document of fields to compute, as opposed to an operator (``{"$op": ...}``)."""
    return isinstance(expression, dict) and not any(
        isinstance(key, str) and key.startswith("$") for key in expression
    )


def _render_object(document, expression, variables, dialect):
    rendered = {}
    for key, item in expression.items():
        value = evaluate_with_missing(document, item, variables, dialect=dialect)
        if not _is_absent(value):
            rendered[key] = value
    return rendered


def _evaluate_raw(document, expression, variables, dialect, collation=None):
    """mongoeco's evaluation, with object expressions rendered here; an operator registered in
    this package may answer ``_MISSING``."""
    if is_object_expression(expression):
        if collation is not None:
            variables = aggregation_environment(variables, collation)
        variables = aggregation_runtime._variables_for_document(document, variables)
        return _render_object(document, expression, variables, dialect)
    return _ORIGINAL_EVALUATE(document, expression, variables, dialect=dialect, collation=collation)


def evaluate_expression(
    document, expression, variables=None, *, dialect=MONGODB_DIALECT_70, collation=None
):
    """mongoeco's ``evaluate_expression``: a missing result is null (``$$REMOVE`` stays the
    sentinel the stages look for, as in mongoeco)."""
    value = _evaluate_raw(document, expression, variables, dialect, collation)
    return None if value is _MISSING else value


def evaluate_with_missing(document, expression, variables=None, *, dialect=MONGODB_DIALECT_70):
    """mongoeco's ``_evaluate_expression_with_missing``, which now also reports a missing result
    of an object expression's key or of an operator."""
    if isinstance(expression, str):
        return _ORIGINAL_WITH_MISSING(document, expression, variables, dialect=dialect)
    variables = aggregation_runtime._variables_for_document(document, variables)
    return _evaluate_raw(document, expression, variables, dialect)


def _rebind_evaluators():
    """Every mongoeco module imported the evaluators by name: rebind each one."""
    for name, replacement in (
        ("evaluate_expression", evaluate_expression),
        ("_evaluate_expression_with_missing", evaluate_with_missing),
    ):
        registry.rebind(
            aggregation_runtime,
            name,
            replacement,
            rule="an object expression leaves out a key whose value is missing (ExpressionObject)",
            test=f"{_TESTS}::test_object_expression_leaves_missing_fields_out",
        )


# -- $group _id -------------------------------------------------------------------------------


def _single_field_id(expression):
    """``(field, expression)`` of a one-field ``_id`` document, else None."""
    if is_object_expression(expression) and len(expression) == 1:
        return next(iter(expression.items()))
    return None


def _group_id(original):
    def group_id(self, document):
        single = _single_field_id(self._id_expression)
        if single is None:
            return original(self, document)
        field, expression = single
        value = evaluate_with_missing(document, expression, self._variables, dialect=self._dialect)
        return {field: None if _is_absent(value) else value}

    group_id.__wrapped__ = original
    return group_id


def _compiled_group_support(original):
    def supports(cls, spec):
        if isinstance(spec, dict) and _single_field_id(spec.get("_id")) is not None:
            return False  # the generated code would drop the field; the incremental path keeps it
        return original(spec)

    supports.__wrapped__ = original
    return classmethod(supports)


def _patch_group_ids():
    rule = "a $group _id of one expression makes missing null (computeGroupKey)"
    test = f"{_TESTS}::test_group_by_one_expression_makes_missing_null"
    registry.replace(
        grouping_stages._IncrementalGroup, "group_id", wrap=_group_id, rule=rule, test=test
    )
    registry.replace(
        compiled_aggregation.CompiledGroup,
        "supports",
        wrap=_compiled_group_support,
        rule=rule,
        test=test,
    )


def _patch_evaluators():
    _rebind_evaluators()
    _patch_group_ids()


# -- $arrayElemAt, $arrayToObject --------------------------------------------------------------


def _args(operator, spec, count):
    args = spec if isinstance(spec, list) else [spec]
    if len(args) != count:
        message = (
            f"Expression {operator} takes exactly {count} arguments. {len(args)} were passed in."
        )
        raise OperationFailure(message, code=16020)
    return args


def _array_elem_at(document, spec, variables, dialect, ctx):
    """``$arrayElemAt``: null for a null or missing operand; missing past either end."""
    array, index = (
        ctx.evaluate_expression(document, arg, variables) for arg in _args("$arrayElemAt", spec, 2)
    )
    if array is None or index is None or isinstance(array, UndefinedType):
        return None
    if not isinstance(array, list):
        message = f"$arrayElemAt's first argument must be an array, but is {type_name(array)}"
        raise OperationFailure(message, code=28689)
    raw = unwrap_bson_numeric(index)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        message = f"$arrayElemAt's second argument must be a numeric value, but is {type_name(raw)}"
        raise OperationFailure(message, code=28690)
    if isinstance(raw, float):
        if not raw.is_integer() or not -(2**31) <= raw < 2**31:
            message = (
                f"$arrayElemAt's second argument must be representable as a 32-bit integer: {raw}"
            )
            raise OperationFailure(message, code=28691)
        raw = int(raw)
    if not -len(array) <= raw < len(array):
        return ctx.missing_sentinel
    return array[raw]


def _pairs_to_object(items):
    output = {}
    for item in items:
        if not isinstance(item, list):
            message = (
                "$arrayToObject requires a consistent input format. Elements mustall be arrays "
                f"or all be objects. Array was detected, now found: {type_name(item)}"
            )
            raise OperationFailure(message, code=40396)
        if len(item) != 2:
            message = (
                "$arrayToObject requires an array of size 2 arrays,found array of size: "
                f"{len(item)}"
            )
            raise OperationFailure(message, code=40397)
        key, value = item
        if not isinstance(key, str):
            message = (
                "$arrayToObject requires an array of key-value pairs, where the key must be of "
                f"type string. Found key type: {type_name(key)}"
            )
            raise OperationFailure(message, code=40395)
        output[key] = value
    return output


def _documents_to_object(items):
    output = {}
    for item in items:
        if not isinstance(item, dict):
            message = (
                "$arrayToObject requires a consistent input format. Elements mustall be arrays "
                f"or all be objects. Object was detected, now found: {type_name(item)}"
            )
            raise OperationFailure(message, code=40391)
        if len(item) != 2:
            message = (
                "$arrayToObject requires an object keys of 'k' and 'v'. "
                f"Found incorrect number of keys:{len(item)}"
            )
            raise OperationFailure(message, code=40392)
        if "k" not in item or "v" not in item:
            message = (
                "$arrayToObject requires an object with keys 'k' and 'v'. "
                f"Missing either or both keys from: {item}"
            )
            raise OperationFailure(message, code=40393)
        if not isinstance(item["k"], str):
            message = (
                "$arrayToObject requires an object with keys 'k' and 'v', where the value of "
                f"'k' must be of type string. Found type: {type_name(item['k'])}"
            )
            raise OperationFailure(message, code=40394)
        output[item["k"]] = item["v"]
    return output


def _array_to_object(document, spec, variables, dialect, ctx):
    """``$arrayToObject`` of ``[[k, v], ...]`` or ``[{k, v}, ...]``: a ``{k, v}`` whose ``v`` was
    missing has one key and is refused (40392), as in mongod, where mongoeco made it null."""
    (arg,) = _args("$arrayToObject", spec, 1)
    value = ctx.evaluate_expression(document, arg, variables)
    if value is None or isinstance(value, UndefinedType):
        return None
    if not isinstance(value, list):
        message = f"$arrayToObject requires an array input, found: {type_name(value)}"
        raise OperationFailure(message, code=40386)
    if not value:
        return {}
    if isinstance(value[0], list):
        return _pairs_to_object(value)
    if isinstance(value[0], dict):
        return _documents_to_object(value)
    message = f"Unrecognised input type format for $arrayToObject: {type_name(value[0])}"
    raise OperationFailure(message, code=40398)


def _array_end(operator, position):
    """``$first``/``$last`` (expressions): an end of an array; null for null or missing, missing
    for an empty array (manual: "If the operand is an empty array, $first does not return a
    value")."""

    def evaluate(document, spec, variables, dialect, ctx):
        (arg,) = _args(operator, spec, 1)
        value = ctx.evaluate_expression(document, arg, variables)
        if value is None or isinstance(value, UndefinedType):
            return None
        if not isinstance(value, list):
            message = f"{operator}'s argument must be an array, but is {type_name(value)}"
            raise OperationFailure(message, code=28689)
        return value[position] if value else ctx.missing_sentinel

    return evaluate


OPERATORS = {
    "$first": _array_end("$first", 0),
    "$last": _array_end("$last", -1),
    "$arrayElemAt": _array_elem_at,
    "$arrayToObject": _array_to_object,
}

_EXPRESSIONS_TESTS = "tests/embedded/test_corrections_expressions.py"

#: Each operator of ``OPERATORS`` -> (the MongoDB rule its handler implements, its test).
RULES = {
    **dict.fromkeys(
        ("$first", "$last"),
        (
            "$first/$last of an empty array are missing (the field is left out)",
            f"{_EXPRESSIONS_TESTS}::test_first_and_last_of_an_empty_array_are_missing",
        ),
    ),
    "$arrayElemAt": (
        "$arrayElemAt past either end of its array is missing",
        f"{_TESTS}::test_array_elem_at_past_the_end_is_missing",
    ),
    "$arrayToObject": (
        "$arrayToObject refuses a {k, v} pair that lost a key to a missing value (40392)",
        f"{_TESTS}::test_array_to_object_refuses_a_pair_whose_value_is_missing",
    ),
}

PATCHES = (_patch_evaluators,)
