"""MongoDB's type bracketing for query comparisons, on every path mongoeco 4.11 takes.

What was wrong (mongoeco 4.11.0). MongoDB documents that "for most data types, comparison
operators only perform comparisons on fields where the BSON type matches the query value's type"
(int32, int64, double and decimal128 form one numeric bracket and compare by value), that
``{a: {$lte: null}}``/``{$gte: null}`` match null and missing like ``{a: null}`` while
``$lt``/``$gt`` null match nothing, that NaN satisfies only ``$lte``/``$gte`` NaN, and that
``$lt``/``$lte`` MaxKey and ``$gt``/``$gte`` MinKey match every value. mongoeco instead compared
across brackets with the sort order (``{a: {$lt: 40}}`` matched null, ``{a: {$gte: 0}}`` matched
strings, ``{a: {$lt: "z"}}`` matched numbers), and its SQLite translation did not treat the
tagged values its codec stores (``{"$mongoeco": {"type": "int64", "value": ...}}``, decimal128
as text) as numbers: comparisons and even equality (``{a: 5}``, ``$in``, ``$ne``, ``$nin``)
missed or wrongly kept Int64 values, and indexed range scans dropped them. The Python matcher,
its compiled form (``CompiledQuery``, used by ``$match`` in pipelines), the SQL translator and
the index fast paths each disagreed with the others.

What we change (``install()``, called once when the server module is imported):

- Python: one bracketed comparison (``matches``) replaces ``FilteringMatchingMixin``'s
  ``_comparison_matches_candidate``, ``_match_top_level_comparison`` and
  ``_evaluate_comparison``; ``CompiledQuery`` routes every comparison (dotted paths too) through
  it. Numbers compare exactly across int/long/double/decimal (as MongoDB's
  ``compareDecimalToDouble`` does), also in mongoeco's equality and sort (``compare_bson_numeric``).
- SQL: ``_translate_comparison`` and its same-type variants build one predicate per bracket
  that reads both plain JSON numbers and tagged int32/int64/double (and decimals, through an
  exact SQLite function ``mongoeco_decimal_cmp`` registered on every engine connection), for the
  scalar value and each array element. Values SQL cannot compare exactly (NaN, decimals no double
  represents, timestamps, binary, regex, documents, arrays, MinKey/MaxKey) raise
  ``NotImplementedError``, which makes the engine fall back to the corrected Python path.
  Numeric equality (``_translate_scalar_equals`` and the array/``$elemMatch`` helpers) reads
  tagged numbers the same way.
- Indexes: multikey range/equality clauses (whose entries omit tagged numbers) and the scalar
  index fast paths (which also omit them, and key doubles by their shortest repr) are bypassed
  when they could miss or mis-order a value; the ordinary SQL above runs instead.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
import uuid
from collections.abc import Mapping

from bson.code import Code as BsonCode
from bson.decimal128 import Decimal128 as PublicDecimal128
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.regex import Regex as PublicRegex
from bson.timestamp import Timestamp as PublicTimestamp
from mongoeco.compat import base as compat_base
from mongoeco.core import _filtering_matching, compiled_query
from mongoeco.core._filtering_support import extract_values
from mongoeco.core.bson_scalars import BsonDecimal128, BsonDouble, BsonInt32, BsonInt64
from mongoeco.core.codec import DocumentCodec
from mongoeco.core.collation import compare_with_collation
from mongoeco.core.query_plan import (
    EqualsCondition,
    GreaterThanCondition,
    GreaterThanOrEqualCondition,
    LessThanCondition,
    LessThanOrEqualCondition,
)
from mongoeco.engines import _sqlite_read_fast_path_runtime as fast_path_runtime
from mongoeco.engines import sqlite as sqlite_engine
from mongoeco.engines import sqlite_query
from mongoeco.engines._sqlite_connection import SQLiteConnection
from mongoeco.types import (
    Binary,
    Decimal128,
    Regex,
    Timestamp,
    UndefinedType,
    is_object_id_like,
    normalize_object_id,
)

from .. import registry

# -- canonical types (MongoDB's ``canonicalizeBSONType``) ------------------------------------

MINKEY, UNDEFINED, NULL, NUMBER, STRING, OBJECT, ARRAY = -1, 0, 5, 10, 15, 20, 25
BINDATA, OBJECTID, BOOL, DATE, TIMESTAMP, REGEX, CODE, MAXKEY = 30, 35, 40, 45, 47, 50, 60, 127
OTHER = 1000

_LESS = frozenset({"lt", "lte", "<", "<="})
_INCLUSIVE = frozenset({"lte", "gte", "<=", ">="})
_OPERATORS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "="}


def as_number(value):
    """``value`` as an int, float or Decimal when it is a BSON number, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (BsonInt32, BsonInt64, BsonDouble, BsonDecimal128)):
        value = value.value
    if isinstance(value, (int, float, decimal.Decimal)):
        return value
    if isinstance(value, Decimal128):
        return value.value
    if isinstance(value, PublicDecimal128):
        return value.to_decimal()
    return None


def canonical_type(value):
    """The bracket of ``value``: values compare only with values of the same bracket."""
    if value is None:
        return NULL
    if isinstance(value, UndefinedType):
        return UNDEFINED
    if isinstance(value, bool):
        return BOOL
    if as_number(value) is not None:
        return NUMBER
    if isinstance(value, str):
        return STRING
    if isinstance(value, MinKey):
        return MINKEY
    if isinstance(value, MaxKey):
        return MAXKEY
    if isinstance(value, datetime.datetime):
        return DATE
    if is_object_id_like(value):
        return OBJECTID
    if isinstance(value, (Timestamp, PublicTimestamp)):
        return TIMESTAMP
    if isinstance(value, (Regex, PublicRegex, re.Pattern)):
        return REGEX
    if isinstance(value, (bytes, Binary, uuid.UUID)):
        return BINDATA
    if isinstance(value, BsonCode):
        return CODE
    if isinstance(value, (list, tuple)):
        return ARRAY
    if isinstance(value, Mapping) or hasattr(value, "as_document"):
        return OBJECT
    return OTHER


def _is_nan(number):
    if isinstance(number, float):
        return math.isnan(number)
    return isinstance(number, decimal.Decimal) and number.is_nan()


def compare_numbers(left, right):
    """-1, 0 or 1 comparing two non-NaN numbers by exact value (int, float or Decimal).

    Python compares int, float and Decimal with one another exactly, which is what MongoDB does
    (``compareDecimalToDouble`` rounds toward negative and breaks ties on inexactness).
    """
    return (left > right) - (left < right)


def _result(comparison, operator):
    if operator in ("lt", "<"):
        return comparison < 0
    if operator in ("lte", "<="):
        return comparison <= 0
    if operator in ("gt", ">"):
        return comparison > 0
    if operator in ("gte", ">="):
        return comparison >= 0
    raise ValueError(f"Unsupported comparison operator kind: {operator}")


def candidate_matches(candidate, target, operator, *, dialect=None, collation=None):
    """Whether one value satisfies ``{$op: target}`` (MongoDB's ``matchesSingleElement``)."""
    candidate_type = canonical_type(candidate)
    target_type = canonical_type(target)
    if candidate_type != target_type:
        if {candidate_type, target_type} == {NULL, UNDEFINED}:
            return operator in _INCLUSIVE
        if target_type == MAXKEY:
            return operator in _LESS
        if target_type == MINKEY:
            return operator not in _LESS
        return False
    if candidate_type == NUMBER:
        left, right = as_number(candidate), as_number(target)
        left_nan, right_nan = _is_nan(left), _is_nan(right)
        if left_nan or right_nan:
            return operator in _INCLUSIVE and left_nan and right_nan
        return _result(compare_numbers(left, right), operator)
    if candidate_type in (NULL, UNDEFINED, MINKEY, MAXKEY):
        return _result(0, operator)
    kwargs = {"collation": collation}
    if dialect is not None:
        kwargs["dialect"] = dialect
    return _result(compare_with_collation(candidate, target, **kwargs), operator)


def _candidates(document, field):
    if "." not in field:
        try:
            value = document[field]
        except (KeyError, TypeError, IndexError):
            return extract_values(document, field)
        if isinstance(value, list):
            return [value, *value]
        return [value]
    return extract_values(document, field)


def matches(engine, document, field, target, operator, *, dialect=None, collation=None):
    """Whether ``document`` satisfies ``{field: {$<operator>: target}}``."""
    if target is None:
        if operator not in _INCLUSIVE:
            return False
        kwargs = {"collation": collation}
        if dialect is not None:
            kwargs["dialect"] = dialect
            null_matches_undefined = dialect.policy.null_query_matches_undefined()
        else:
            null_matches_undefined = False
        return engine._evaluate_equals(
            document, field, None, null_matches_undefined=null_matches_undefined, **kwargs
        )
    candidates = _candidates(document, field)
    if not candidates:
        # A missing field compares as an EOO element: unlike any bracket but MinKey/MaxKey's.
        target_type = canonical_type(target)
        if target_type == MAXKEY:
            return operator in _LESS
        if target_type == MINKEY:
            return operator not in _LESS
        return False
    if collation is None and type(target) in (int, str):
        target_class = type(target)
        fast = [c for c in candidates if type(c) is target_class]
        if len(fast) == len(candidates):
            return any(_result((c > target) - (c < target), operator) for c in fast)
    return any(
        candidate_matches(candidate, target, operator, dialect=dialect, collation=collation)
        for candidate in candidates
    )


# -- Python paths ------------------------------------------------------------------------------


def _comparison_matches_candidate(cls, candidate, target, operator, *, dialect=None, **kwargs):
    return candidate_matches(
        candidate, target, operator, dialect=dialect, collation=kwargs.get("collation")
    )


def _evaluate_comparison(cls, doc, field, target, operator, *, dialect=None, collation=None):
    return matches(cls, doc, field, target, operator, dialect=dialect, collation=collation)


def _comparison_code(self, field, value, operator):
    field_key = self._field(field)
    value_key = self._store("value", value)
    return (
        f"_top_compare(doc, {field_key}, {value_key}, {operator!r}, "
        "dialect=dialect, collation=collation)"
    )


def exact_compare_bson_numeric(left, right):
    """mongoeco's ``compare_bson_numeric`` (sort, equality) without rounding doubles."""
    left_number, right_number = as_number(left), as_number(right)
    if left_number is None or right_number is None:
        raise TypeError("compare_bson_numeric requires numeric BSON values")
    left_nan, right_nan = _is_nan(left_number), _is_nan(right_number)
    if left_nan or right_nan:
        return 0 if left_nan and right_nan else (-1 if left_nan else 1)
    return compare_numbers(left_number, right_number)


# -- SQL ----------------------------------------------------------------------------------------

#: The SQLite function comparing a stored decimal (text) with a number exactly.
DECIMAL_FUNCTION = "mongoeco_decimal_cmp"
_BINARY_NUMBER_TAGS = ("int32", "int64", "double")
_DECIMAL_TAGS = ("decimal", "decimal128", "decimal128_public")
_NUMBER_TAGS = _BINARY_NUMBER_TAGS + _DECIMAL_TAGS
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_MARKER = DocumentCodec._MARKER


def _decimal_cmp(stored, param, operator):
    """1 when decimal text ``stored`` satisfies ``operator`` against number ``param``."""
    try:
        left = decimal.Decimal(stored)
    except (TypeError, ValueError, decimal.InvalidOperation):
        return 0
    if left.is_nan() or param is None or (isinstance(param, float) and math.isnan(param)):
        return 0
    comparison = compare_numbers(left, param)
    return int(
        {
            "<": comparison < 0,
            "<=": comparison <= 0,
            ">": comparison > 0,
            ">=": comparison >= 0,
        }.get(operator, comparison == 0)
    )


def _connection_init(original):
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.create_function(DECIMAL_FUNCTION, 3, _decimal_cmp, deterministic=True)

    return __init__


def sql_operand(value):
    """``(kind, tag, parameter)`` for a query value SQL compares exactly, else NotImplementedError.

    kind is ``number`` (parameter an int or float equal to the value), ``string``, ``bool`` or
    ``tagged`` (tag is the codec's type name and parameter its stored text, which orders like
    the values: ISO datetimes at millisecond precision, ObjectId hex).
    """
    number = as_number(value)
    if number is not None:
        if isinstance(number, decimal.Decimal):
            if number.is_nan():
                raise NotImplementedError("NaN comparisons use the Python matcher")
            if number.is_infinite():
                return "number", None, float(number)
            if number == number.to_integral_value() and _INT64_MIN <= number <= _INT64_MAX:
                return "number", None, int(number)
            as_float = float(number)
            if math.isfinite(as_float) and decimal.Decimal(as_float) == number:
                return "number", None, as_float
            raise NotImplementedError("A decimal no double represents uses the Python matcher")
        if isinstance(number, float) and math.isnan(number):
            raise NotImplementedError("NaN comparisons use the Python matcher")
        return "number", None, number
    if isinstance(value, bool):
        return "bool", None, int(value)
    if type(value) is str:
        return "string", None, value
    if isinstance(value, datetime.datetime) or is_object_id_like(value):
        payload = DocumentCodec.encode(
            normalize_object_id(value) if is_object_id_like(value) else value
        )[_MARKER]
        return "tagged", payload[DocumentCodec._TYPE], payload[DocumentCodec._VALUE]
    raise NotImplementedError("This comparison value uses the Python matcher")


def _in_list(values):
    return ", ".join(f"'{value}'" for value in values)


def _predicate(
    operand, operator, *, json_type, raw_value, tag, tagged_value, both_kinds, decimals=True
):
    """SQL testing one JSON value (given as expressions) against ``operand`` with ``operator``.

    ``both_kinds``: ``tag`` is '' for untagged values (the index expression form) rather than
    NULL (and the SQL is shaped so SQLite can use the field's index). ``decimals``: also match
    stored decimals (through ``mongoeco_decimal_cmp``). Every branch yields 0 or 1, never NULL,
    so the predicate can be negated.
    """
    kind, type_name, parameter = operand
    untagged = f"{tag} = ''" if both_kinds else f"{tag} IS NULL"
    if kind == "number":
        if both_kinds:
            sql = (
                f"({tag} IN ('', {_in_list(_BINARY_NUMBER_TAGS)}) AND {tagged_value} {operator} ? "
                f"AND ({tag} <> '' OR {json_type} IN ('integer', 'real')))"
            )
            params = [parameter]
        else:
            sql = (
                f"(({json_type} IN ('integer', 'real') AND {raw_value} {operator} ?) "
                f"OR (IFNULL({tag} IN ({_in_list(_BINARY_NUMBER_TAGS)}), 0) "
                f"AND {tagged_value} {operator} ?))"
            )
            params = [parameter, parameter]
        if not decimals:
            return sql, params
        sql = (
            f"({sql} OR (IFNULL({tag} IN ({_in_list(_DECIMAL_TAGS)}), 0) "
            f"AND {DECIMAL_FUNCTION}({tagged_value}, ?, '{operator}')))"
        )
        return sql, [*params, parameter]
    if kind == "string":
        return (
            f"({untagged} AND {json_type} = 'text' AND {raw_value} {operator} ?)",
            [parameter],
        )
    if kind == "bool":
        return (
            f"({untagged} AND {json_type} IN ('true', 'false') AND {raw_value} {operator} ?)",
            [parameter],
        )
    if both_kinds:
        return f"({tag} = ? AND {tagged_value} {operator} ?)", [type_name, parameter]
    return f"(IFNULL({tag} = ?, 0) AND {tagged_value} {operator} ?)", [type_name, parameter]


def scalar_predicate(field, operator, operand, *, decimals=True):
    """The field's own (non-array) value against ``operand``; shaped for the field's index."""
    path = sqlite_query._path_literal(field)
    return _predicate(
        operand,
        operator,
        json_type=f"IFNULL(json_type(document, {path}), '')",
        raw_value=f"json_extract(document, {path})",
        tag=sqlite_query.type_expression_sql(field),
        tagged_value=sqlite_query.value_expression_sql(field),
        both_kinds=True,
        decimals=decimals,
    )


def element_predicate(operator, operand):
    """One ``json_each`` row (an array element) against ``operand``."""

    def tagged(part):
        return (
            "(CASE WHEN json_each.type = 'object' THEN "
            f"json_extract(json_each.value, '$.\"{_MARKER}\".{part}') END)"
        )

    return _predicate(
        operand,
        operator,
        json_type="json_each.type",
        raw_value="json_each.value",
        tag=tagged(DocumentCodec._TYPE),
        tagged_value=tagged(DocumentCodec._VALUE),
        both_kinds=False,
    )


def array_predicate(field, operator, operand):
    path = sqlite_query._path_literal(field)
    sql, params = element_predicate(operator, operand)
    return (
        f"(IFNULL(json_type(document, {path}), '') = 'array' "
        f"AND EXISTS (SELECT 1 FROM json_each(document, {path}) WHERE {sql}))",
        params,
    )


def comparison_sql(operator, field, value, *, arrays=True, decimals=True):
    """SQL for ``{field: {$op: value}}`` with MongoDB's bracketing, or NotImplementedError.

    ``arrays``/``decimals``: the field may hold arrays/decimals (when the caller knows it does
    not, the SQL is a plain index range).
    """
    if value is None:
        if operator in ("<", ">"):
            return "0 = 1", []
        return _original["_translate_equals"](field, None, null_matches_undefined=False)
    operand = sql_operand(value)
    scalar_sql, scalar_params = scalar_predicate(field, operator, operand, decimals=decimals)
    if not arrays:
        return scalar_sql, scalar_params
    array_sql, array_params = array_predicate(field, operator, operand)
    return f"({scalar_sql} OR {array_sql})", [*scalar_params, *array_params]


def _is_number(value):
    return as_number(value) is not None


def _translate_comparison(operator, field, value):
    return comparison_sql(operator, field, value)


def _translate_same_type_comparison(operator, field, value):
    return comparison_sql(operator, field, value, arrays=False)


def _translate_scalar_or_array_same_type_comparison(operator, field, value):
    return comparison_sql(operator, field, value)


def _translate_json_each_scalar_comparison(operator, value):
    try:
        return element_predicate(operator, sql_operand(value))
    except NotImplementedError:
        return None


def _translate_scalar_equals(field, value, *, null_matches_undefined=False):
    if _is_number(value):
        return scalar_predicate(field, "=", sql_operand(value))
    return _original["_translate_scalar_equals"](
        field, value, null_matches_undefined=null_matches_undefined
    )


def _translate_array_contains_scalar(field, value, *, null_matches_undefined=False):
    if _is_number(value):
        return array_predicate(field, "=", sql_operand(value))
    return _original["_translate_array_contains_scalar"](
        field, value, null_matches_undefined=null_matches_undefined
    )


def _translate_array_contains_codec_aware(field, value):
    if _is_number(value):
        return array_predicate(field, "=", sql_operand(value))
    return _original["_translate_array_contains_codec_aware"](field, value)


def _translate_json_each_scalar_match(path, value):
    if _is_number(value):
        try:
            sql, params = element_predicate("=", sql_operand(value))
        except NotImplementedError:
            return None
        path_literal = sqlite_query._quote_sql_string(path)
        return f"EXISTS (SELECT 1 FROM json_each(document, {path_literal}) WHERE {sql})", params
    return _original["_translate_json_each_scalar_match"](path, value)


# -- engine methods -----------------------------------------------------------------------------


_COMPARISON_OPERATORS = {
    GreaterThanCondition: ">",
    GreaterThanOrEqualCondition: ">=",
    LessThanCondition: "<",
    LessThanOrEqualCondition: "<=",
}


def _translate_query_plan_with_multikey(self, db_name, coll_name, plan):
    """Comparisons and numeric equality, shaped by what the collection holds in the field."""
    operator = _COMPARISON_OPERATORS.get(type(plan))
    if (
        operator is None
        and isinstance(plan, EqualsCondition)
        and _is_number(plan.value)
        and plan.field.split(".")[0] != "_id"  # _id equality: the primary-key path (fastpaths)
    ):
        operator = "="
    if operator is None:
        return _original["SQLiteEngine._translate_query_plan_with_multikey"](
            self, db_name, coll_name, plan
        )
    field, value = plan.field, plan.value
    sqlite_query._require_sql_identity_comparison(field, value)
    if sqlite_query._path_uses_dbref_special_segment(field):
        raise NotImplementedError("DBRef special subfields require Python query fallback")
    if self._field_traverses_array_in_collection(db_name, coll_name, field):
        raise NotImplementedError("Paths through arrays use the Python matcher")
    arrays = self._field_is_top_level_array_in_collection(db_name, coll_name, field)
    decimals = arrays or any(
        self._field_contains_tagged_value_type_in_collection(db_name, coll_name, field, tag)
        for tag in _DECIMAL_TAGS
    )
    if operator == "=":
        operand = sql_operand(value)
        sql, params = scalar_predicate(field, "=", operand, decimals=decimals)
        if arrays:
            array_sql, array_params = array_predicate(field, "=", operand)
            sql, params = f"({sql} OR {array_sql})", [*params, *array_params]
        return sql, params
    return comparison_sql(operator, field, value, arrays=arrays, decimals=decimals)


def _translate_range_with_multikey(self, collection_id, db_name, coll_name, plan, index, **kw):
    # multikey_entries leave tagged numbers out: compare through the documents themselves.
    return comparison_sql(kw["operator"], plan.field, plan.value)


def _translate_equals_with_multikey(self, collection_id, db_name, coll_name, plan, index):
    if _is_number(plan.value):
        return sqlite_query._translate_equals(
            plan.field, plan.value, null_matches_undefined=plan.null_matches_undefined
        )
    return _original["SQLiteEngine._translate_equals_with_multikey"](
        self, collection_id, db_name, coll_name, plan, index
    )


def _field_holds_tagged_numbers(engine, db_name, coll_name, field):
    return any(
        engine._field_contains_tagged_value_type_in_collection(db_name, coll_name, field, tag)
        for tag in _NUMBER_TAGS
    )


def _scalar_index_misses(engine, db_name, coll_name, field, value):
    """Whether the scalar index could miss matches of ``{field: value}`` (a number).

    Its entries leave tagged numbers (int64, decimal...) out and key doubles by their shortest
    repr, so a double and a decimal of the same digits collide.
    """
    if as_number(value) is None:
        return False
    if type(value) not in (int, float):
        return True
    return _field_holds_tagged_numbers(engine, db_name, coll_name, field)


def _guard_engine_equals(original):
    def guarded(self, db_name, coll_name, *args, **kwargs):
        if _scalar_index_misses(self, db_name, coll_name, kwargs["field"], kwargs["value"]):
            return None
        return original(self, db_name, coll_name, *args, **kwargs)

    return guarded


def _scalar_range_signature(value):
    if isinstance(as_number(value), decimal.Decimal):
        return None
    return _original["SQLiteEngine._scalar_range_signature"](value)


# -- installation -------------------------------------------------------------------------------

_original: dict[str, object] = {}

_TESTS = "tests/embedded/test_comparisons.py"
_BRACKETS = (
    "query comparisons match only values of the query value's BSON type bracket (numbers "
    "across int/long/double/decimal by value; $lte/$gte null, NaN, MinKey/MaxKey as documented)"
)
_SQL = "SQL comparisons bracket by type and read tagged int32/int64/double/decimal numbers"
_SQL_EQUALITY = "SQL numeric equality ({a: 5}, $in, $ne, $nin) reads tagged numbers by value"
_INDEXES = "index fast paths that omit tagged numbers are bypassed where they could miss one"

#: mongoeco's SQL translators -> (the replacement, its rule, its test).
_SQL_TRANSLATORS = {
    "_translate_comparison": (
        _translate_comparison,
        _SQL,
        "test_int_long_double_and_decimal_compare_by_value",
    ),
    "_translate_same_type_comparison": (
        _translate_same_type_comparison,
        _SQL,
        "test_int_long_double_and_decimal_compare_by_value",
    ),
    "_translate_scalar_or_array_same_type_comparison": (
        _translate_scalar_or_array_same_type_comparison,
        _SQL,
        "test_an_array_matches_when_one_element_satisfies_the_comparison",
    ),
    "_translate_json_each_scalar_comparison": (
        _translate_json_each_scalar_comparison,
        _SQL,
        "test_an_array_matches_when_one_element_satisfies_the_comparison",
    ),
    "_translate_scalar_equals": (
        _translate_scalar_equals,
        _SQL_EQUALITY,
        "test_equal_numbers_of_different_types_are_equal",
    ),
    "_translate_array_contains_scalar": (
        _translate_array_contains_scalar,
        _SQL_EQUALITY,
        "test_equal_numbers_of_different_types_are_equal",
    ),
    "_translate_array_contains_codec_aware": (
        _translate_array_contains_codec_aware,
        _SQL_EQUALITY,
        "test_equal_numbers_of_different_types_are_equal",
    ),
    "_translate_json_each_scalar_match": (
        _translate_json_each_scalar_match,
        _SQL_EQUALITY,
        "test_equal_numbers_of_different_types_are_equal",
    ),
}
#: The translators ``mongoeco.engines.sqlite`` imported by name (rebound there too).
_ENGINE_BOUND = (
    "_translate_same_type_comparison",
    "_translate_scalar_or_array_same_type_comparison",
    "_translate_scalar_equals",
)


def _replace(owner, name, replacement, *, wrap=None, rule, test):
    """Replace ``owner.name`` through the registry, keeping the original as
    ``_original["Owner.name"]``."""

    def install(current):
        current = owner.__dict__[name]
        if isinstance(current, (classmethod, staticmethod)):
            current = current.__func__
        _original[f"{owner.__name__}.{name}"] = current
        return wrap(replacement) if wrap else replacement

    registry.replace(owner, name, wrap=install, rule=rule, test=f"{_TESTS}::{test}")


def _guard_select_first(original_select):
    _original["select_first_document_for_scalar_index"] = original_select

    def select_first_document_for_scalar_index(engine, db_name, coll_name, **kwargs):
        if _scalar_index_misses(engine, db_name, coll_name, kwargs["field"], kwargs["value"]):
            return None
        return original_select(engine, db_name, coll_name, **kwargs)

    return select_first_document_for_scalar_index


def install():
    """Apply the corrections to mongoeco (idempotent)."""
    if _original:
        return
    mixin = _filtering_matching.FilteringMatchingMixin
    brackets = "test_comparisons_only_match_values_of_the_query_values_type"
    _replace(
        mixin,
        "_comparison_matches_candidate",
        _comparison_matches_candidate,
        wrap=classmethod,
        rule=_BRACKETS,
        test=brackets,
    )
    for name in ("_match_top_level_comparison", "_evaluate_comparison"):
        _replace(mixin, name, _evaluate_comparison, wrap=classmethod, rule=_BRACKETS, test=brackets)
    _replace(
        compiled_query.CompiledQuery,
        "_comparison_code",
        _comparison_code,
        rule=_BRACKETS + ", in $match and on dotted paths too",
        test="test_dotted_paths_are_bracketed_too",
    )
    compiled_query.CompiledQuery._compile_expression.cache_clear()
    _original["compare_bson_numeric"] = registry.replace(
        compat_base,
        "compare_bson_numeric",
        exact_compare_bson_numeric,
        rule="numbers compare exactly across int/long/double/decimal (compareDecimalToDouble)",
        test=f"{_TESTS}::test_a_decimal_and_a_double_of_the_same_digits_are_different_numbers",
    )

    _original["_translate_equals"] = sqlite_query._translate_equals
    for name, (replacement, rule, test) in _SQL_TRANSLATORS.items():
        _original[name] = registry.replace(
            sqlite_query, name, replacement, rule=rule, test=f"{_TESTS}::{test}"
        )
        if name in _ENGINE_BOUND:
            registry.replace(sqlite_engine, name, replacement, rule=rule, test=f"{_TESTS}::{test}")

    engine = sqlite_engine.SQLiteEngine
    by_value = "test_int_long_double_and_decimal_compare_by_value"
    for name, replacement in (
        ("_translate_query_plan_with_multikey", _translate_query_plan_with_multikey),
        ("_translate_range_with_multikey", _translate_range_with_multikey),
        ("_translate_equals_with_multikey", _translate_equals_with_multikey),
    ):
        _replace(engine, name, replacement, rule=_INDEXES, test=by_value)
    _replace(
        engine,
        "_scalar_range_signature",
        _scalar_range_signature,
        wrap=staticmethod,
        rule="a decimal is no scalar index range key (a double of the same digits differs)",
        test="test_a_decimal_and_a_double_of_the_same_digits_are_different_numbers",
    )
    for name in (
        "_build_scalar_indexed_top_level_equals_sql",
        "_select_first_document_for_scalar_index",
    ):
        registry.replace(
            engine,
            name,
            wrap=_guard_engine_equals,
            rule=_INDEXES,
            test=f"{_TESTS}::test_equal_numbers_of_different_types_are_equal",
        )
    registry.replace(
        fast_path_runtime,
        "select_first_document_for_scalar_index",
        wrap=_guard_select_first,
        rule=_INDEXES,
        test=f"{_TESTS}::test_equal_numbers_of_different_types_are_equal",
    )
    _replace(
        SQLiteConnection,
        "__init__",
        SQLiteConnection.__init__,
        wrap=_connection_init,
        rule="decimals compare exactly in SQL: each connection has mongoeco_decimal_cmp",
        test=by_value,
    )
