"""``$setWindowFields`` as MongoDB 7.0 parses and evaluates it.

mongoeco accepts stages MongoDB refuses, refuses windows MongoDB evaluates, and raises without
MongoDB's codes. MongoDB's rules (server source ``window_function_expression.cpp``,
``window_bounds.cpp``, ``partition_iterator.cpp``; its jstest of every function x window x
sort combination, ``set_window_fields_parse_errors``):

- ``$rank``, ``$denseRank`` and ``$documentNumber`` take no ``window`` (5371601) and need a
  ``sortBy`` of exactly one field (5371602);
- ``$shift`` needs a ``sortBy`` and takes no ``window`` (FailedToParse); its ``default`` is an
  expression that must be constant (FailedToParse), evaluated once (``{$literal: 5}`` gives 5,
  where mongoeco stored the expression itself);
- a ``documents`` window needs a ``sortBy`` (5339901); a ``range`` window a ``sortBy`` of one
  field (5339902); a partition key is never an array (TypeMismatch), constant or read;
- in a range window without ``unit``, the current document's sort value must be a number
  (5429414, "Invalid range: Expected the sortBy field to be a number, but it was <type>"); any
  number, an infinite double or a decimal too, offsets added to it as MongoDB adds them;
  documents whose value is no number are outside every range. mongoeco refused infinities and
  decimals, and any partition holding a non-number;
- ``$rank`` and ``$denseRank`` rank a missing sort value apart from null in 7.0 (manual,
  ``$rank``: "Starting in MongoDB 8.0, null and missing field values ... are treated the same
  when calculating rankings"); mongoeco ranked them as 8.0 does.
"""

from __future__ import annotations

import dataclasses
import decimal
import math

from mongoeco.core.aggregation import grouping_stages
from mongoeco.core.aggregation import stages as aggregation_stages
from mongoeco.core.bson_scalars import BsonDecimal128, BsonDouble, BsonInt32, BsonInt64
from mongoeco.core.paths import get_document_value
from mongoeco.types import Decimal128

from .. import registry
from .errors import server_error

_TESTS = "tests/embedded/test_window_fields.py"
RANK_STYLE = ("$rank", "$denseRank", "$documentNumber")
FAILED_TO_PARSE = (9, "FailedToParse")


def _refuse(code, message, name="Location"):
    raise server_error(code, f"Location{code}" if name == "Location" else name, message)


def _sort_fields(spec):
    sort = spec.get("sortBy")
    return None if not isinstance(sort, dict) else len(sort)


def _references_document(expression):
    """Whether ``expression`` reads the document (a ``$field`` path), so is not constant."""
    if isinstance(expression, str):
        return expression.startswith("$") and not expression.startswith("$$")
    if isinstance(expression, dict):
        if "$literal" in expression:
            return False
        return any(_references_document(value) for value in expression.values())
    if isinstance(expression, list):
        return any(_references_document(value) for value in expression)
    return False


def _checked_output(name, output, sort_fields, evaluate):
    """``output`` as mongoeco must read it, after MongoDB's parse-time checks."""
    operators = [key for key in output if key != "window"]
    window = output.get("window")
    if len(operators) != 1:
        return output
    operator = operators[0]
    if operator in RANK_STYLE:
        if window is not None:
            _refuse(5371601, "Rank style window functions take no other arguments")
        if sort_fields != 1:
            _refuse(
                5371602,
                f"{operator} must be specified with a top level sortBy expression with "
                "exactly one element",
            )
        return output
    if operator == "$shift":
        if not sort_fields:
            raise server_error(*FAILED_TO_PARSE, "'$shift' requires a sortBy")
        if window is not None:
            raise server_error(*FAILED_TO_PARSE, "'$shift' does not accept a 'window' field")
        arguments = output["$shift"]
        if isinstance(arguments, dict) and "default" in arguments:
            default = arguments["default"]
            if _references_document(default):
                raise server_error(
                    *FAILED_TO_PARSE, "'$shift:default' expression must yield a constant value."
                )
            return {"$shift": {**arguments, "default": evaluate(default)}}
        return output
    if isinstance(window, dict):
        if "documents" in window and not sort_fields:
            _refuse(5339901, "Document-based bounds require a sortBy")
        if "range" in window and sort_fields != 1:
            _refuse(5339902, "Range-based bounds require sortBy a single field")
    return output


def _check_partitions(partition_by, documents, context, evaluate):
    """A partition key is never an array (TypeMismatch): a constant one is refused before any
    document is read, one read from the documents when a document gives one
    (``document_source_set_window_fields.cpp``, ``partition_iterator.h``)."""
    if not _references_document(partition_by):
        values = [evaluate(partition_by)]
    else:
        values = (
            grouping_stages.evaluate_expression(
                document, partition_by, context.variables, dialect=context.dialect
            )
            for document in documents
        )
    if any(isinstance(value, list) for value in values):
        raise server_error(
            14,
            "TypeMismatch",
            "An expression used to partition cannot evaluate to value of type array",
        )


def _checking_stage(handler):
    def set_window_fields(documents, spec, context):
        if isinstance(spec, dict) and isinstance(spec.get("output"), dict):
            sort_fields = _sort_fields(spec)

            def evaluate(expression):
                return grouping_stages.evaluate_expression(
                    {}, expression, context.variables, dialect=context.dialect
                )

            outputs = {
                name: _checked_output(name, output, sort_fields, evaluate)
                if isinstance(output, dict)
                else output
                for name, output in spec["output"].items()
            }
            if "partitionBy" in spec:
                _check_partitions(spec["partitionBy"], documents, context, evaluate)
            spec = {**spec, "output": outputs}
        return handler(documents, spec, context)

    return set_window_fields


def _number(value):
    """A sort value as a Python number, or None when it is no number (bool is none)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, BsonInt32 | BsonInt64 | BsonDouble | BsonDecimal128):
        value = value.value
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal128):
        return value.to_decimal()
    if isinstance(value, decimal.Decimal):
        return value
    return None


def _type_name(value):
    if value is None:
        return "null"
    return {str: "string", dict: "object", list: "array"}.get(type(value), type(value).__name__)


def _offset(base, bound):
    if isinstance(base, decimal.Decimal) and isinstance(bound, float):
        return base + decimal.Decimal(repr(bound))
    if isinstance(bound, decimal.Decimal) and isinstance(base, float):
        return decimal.Decimal(repr(base)) + bound if math.isfinite(base) else base
    return base + bound


def _resolving_ranges(original):
    def resolve(ordered, document, current_index, last_index, window, sort_spec, **kwargs):
        if not isinstance(window, dict) or "range" not in window or "unit" in window:
            return original(
                ordered, document, current_index, last_index, window, sort_spec, **kwargs
            )
        bounds = window.get("range")
        if (
            sort_spec is None
            or len(sort_spec) != 1
            or not isinstance(bounds, list)
            or len(bounds) != 2
        ):
            return original(
                ordered, document, current_index, last_index, window, sort_spec, **kwargs
            )
        field = sort_spec[0][0]
        found, value = get_document_value(document, field)
        base = _number(value) if found else None
        if base is None:
            _refuse(
                5429414,
                "Invalid range: Expected the sortBy field to be a number, but it was "
                + ("missing" if not found else _type_name(value)),
            )
        low, high = bounds
        lower = None if low == "unbounded" else base if low == "current" else _offset(base, low)
        upper = None if high == "unbounded" else base if high == "current" else _offset(base, high)
        selected = []
        for candidate in ordered:
            found, value = get_document_value(candidate, field)
            number = _number(value) if found else None
            if number is None:
                continue
            if (lower is None or number >= lower) and (upper is None or number <= upper):
                selected.append(candidate)
        return selected

    return resolve


class _Missing:
    """A sort value that is missing: equal to another missing one only (MongoDB 7.0)."""

    __slots__ = ()

    def __repr__(self):
        return "<missing>"


MISSING = _Missing()


def _marking_missing(original):
    def window_sort_key_values(document, sort_spec):
        values = original(document, sort_spec)
        for index, (field, _direction) in enumerate(sort_spec):
            if values[index] is None and not get_document_value(document, field)[0]:
                values[index] = MISSING
        return values

    return window_sort_key_values


def _missing_apart(original):
    def window_sort_keys_equal(left, right, **kwargs):
        if len(left) != len(right):
            return False
        for one, other in zip(left, right, strict=True):
            if (one is MISSING) != (other is MISSING):
                return False
        plain = [None if value is MISSING else value for value in left]
        other = [None if value is MISSING else value for value in right]
        return original(plain, other, **kwargs)

    return window_sort_keys_equal


def install():
    """Apply the checks and the range windows; calling it again changes nothing."""
    rule = (
        "$setWindowFields parse errors as MongoDB's (5371601/2, 5339901/2, 9, 14 array partition)"
    )
    test = f"{_TESTS}::test_parse_errors_have_mongodb_codes"
    registry.replace_item(
        aggregation_stages,
        "AGGREGATION_STAGE_SPECS",
        "$setWindowFields",
        wrap=lambda spec: dataclasses.replace(spec, handler=_checking_stage(spec.handler)),
        rule=rule,
        test=test,
    )
    handler = aggregation_stages.AGGREGATION_STAGE_SPECS["$setWindowFields"].handler
    registry.replace_item(
        aggregation_stages,
        "AGGREGATION_STAGE_HANDLERS",
        "$setWindowFields",
        handler,
        rule=rule,
        test=test,
    )
    rank_rule = "$rank/$denseRank (7.0) rank a missing sort value apart from null"
    rank_test = f"{_TESTS}::test_ranks_tell_missing_from_null"
    registry.replace(
        grouping_stages,
        "_window_sort_key_values",
        wrap=_marking_missing,
        rule=rank_rule,
        test=rank_test,
    )
    registry.replace(
        grouping_stages,
        "_window_sort_keys_equal",
        wrap=_missing_apart,
        rule=rank_rule,
        test=rank_test,
    )
    registry.replace(
        grouping_stages,
        "_resolve_set_window_documents",
        wrap=_resolving_ranges,
        rule="range windows take any number (inf, decimal) as sort value; else 5429414",
        test=f"{_TESTS}::test_range_windows_over_any_number",
    )
