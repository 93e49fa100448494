"""Indexed paths for what mongoeco 4.11's SQLite engine answers by scanning the collection.

The engine stores each document under a ``storage_key``, ``repr`` of the ``_id``'s (type, value)
pair, which is the table's primary key. It uses that key for ``find_one`` by ``_id`` only; every
other ``_id`` match (``find`` with a limit other than 1, a leading ``$match`` in ``aggregate``,
``$in``) compiles to ``json_extract(document, '$._id') = ?`` over every row, or, for a numeric
``_id``, gives up on SQL ("Numeric identity comparisons require BSON equality") and filters every
document in Python. Inserting a document with a numeric ``_id`` likewise compares it with every
stored ``_id`` in Python, so ``insert_many`` costs O(collection size) per document.

The reason is sound: MongoDB compares numbers by value across types (``5``, ``Int64(5)`` and
``5.0`` are the same ``_id``), while storage keys differ by type. But the set of storage keys a
number can have is small and computable: one per numeric storage type that can represent it
exactly. Decimals, whose text has unbounded spellings, are the exception; the planner already
sends any query to Python when the collection holds a decimal ``_id``, and the insert check below
still compares every stored ``_id`` that is neither of a covered numeric type nor of a type that
never equals a number, one primary-key range at a time.

``install()`` patches ``SQLiteEngine`` so that:

- an equality or ``$in`` on ``_id`` (alone or inside ``$and``/``$or``/``$not``) compiles to
  ``documents.storage_key IN (...)``, a primary-key lookup, in both the engine's filter
  translation and its sort-pushdown check;
- the planner's "does ``_id`` hold a decimal/bytes/undefined value" feature checks, run again after
  every write, read only the primary-key ranges of types that could hold one;
- the duplicate-``_id`` check on insert of a numeric ``_id`` looks up those storage keys instead
  of loading every document.

Results are identical to the engine's own paths (``tests/embedded/test_fastpaths.py`` compares
them); ``explain`` shows ``strategy: sql`` with ``storage_key IN`` in ``details.pushdown``.
"""

from __future__ import annotations

import contextlib
import math
import sys

from mongoeco._types._bson_objectid import ObjectId, is_object_id_like, normalize_object_id
from mongoeco.api._async import _database_admin_write_commands as write_commands
from mongoeco.compat import MONGODB_DIALECT_70
from mongoeco.core.aggregation import runtime_state
from mongoeco.core.aggregation import stages as aggregation_stages
from mongoeco.core.bson_ordering import bson_equality_key
from mongoeco.core.bson_scalars import (
    BsonDecimal128,
    BsonDouble,
    BsonInt32,
    BsonInt64,
    wrap_bson_numeric,
)
from mongoeco.core.identity import canonical_document_id, id_contains_numeric_value
from mongoeco.core.query_plan import (
    AndCondition,
    EqualsCondition,
    InCondition,
    NotCondition,
    OrCondition,
)
from mongoeco.engines import sqlite as sqlite_module
from mongoeco.engines._sqlite_plan_heuristics import sort_requires_python
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.engines.sqlite_query import (
    json_path_for_field,
    translate_query_plan,
    type_expression_sql,
)
from mongoeco.errors import BulkWriteError
from mongoeco.types import WriteCommandResult, WriteErrorEntry

#: Python types an ``_id`` number is stored as, each able to hold the values listed by
#: ``_numeric_id_values``.
_COVERED_NUMERIC_TYPES = (int, float, BsonInt32, BsonInt64, BsonDouble)

#: Types of stored ``_id`` values that never equal a number in MongoDB's comparison.
_NEVER_NUMERIC_TYPES = (str, bool, type(None), ObjectId)


def _type_prefix(value_type):
    """The start every storage key of a ``value_type`` ``_id`` shares."""
    return f"({value_type!r}, "


def _prefix_ranges(prefixes):
    """Primary-key ranges ``[low, high)`` holding exactly the keys that start with ``prefixes``."""
    return sorted((prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)) for prefix in prefixes)


def _gaps(ranges):
    """The ranges ``[low, high)`` (None: unbounded) between sorted, disjoint ``ranges``."""
    gaps = []
    low = None
    for start, end in ranges:
        gaps.append((low, start))
        low = end
    gaps.append((low, None))
    return gaps


#: Primary-key ranges whose ``_id`` may equal a number without being found by
#: ``_numeric_id_values``: everything but covered numeric types, never-numeric types, and
#: documents or arrays (``canonical_document_id`` tags them ``'dict'``/``'list'``).
_UNCOVERED_NUMERIC_RANGES = _gaps(
    _prefix_ranges(
        [_type_prefix(value_type) for value_type in _COVERED_NUMERIC_TYPES + _NEVER_NUMERIC_TYPES]
        + ["('dict', ", "('list', "]
    )
)

#: Primary-key ranges whose ``_id`` may be stored tagged (``{"$mongoeco": {"type": ...}}``) as
#: something other than an ObjectId or an int64: everything but plain JSON scalars and those.
_TAGGABLE_RANGES = _gaps(
    _prefix_ranges(
        [
            _type_prefix(value_type)
            for value_type in (int, float, str, bool, type(None), ObjectId, BsonInt64)
        ]
    )
)


#: Tags the planner asks about (decimal, bytes, undefined), none of which the types excluded from
#: ``_TAGGABLE_RANGES`` is stored as.
_RANGED_TAGS = frozenset({"decimal", "decimal128", "decimal128_public", "bytes", "undefined"})


def _range_sql(low, high):
    sql, params = "", []
    if low is not None:
        sql += " AND storage_key >= ?"
        params.append(low)
    if high is not None:
        sql += " AND storage_key < ?"
        params.append(high)
    return sql, params


def _numeric_id_values(value):
    """Every covered-type value equal to the number ``value``, or None if there is no such set.

    None for decimals (their spellings are unbounded) and NaN/infinities (left to the engine).
    """
    wrapped = wrap_bson_numeric(value)
    if wrapped is None or isinstance(wrapped, BsonDecimal128):
        return None
    number = wrapped.value
    if isinstance(number, float) and not math.isfinite(number):
        return None
    as_int = None
    as_float = None
    if isinstance(number, float):
        as_float = number
        if number.is_integer():
            as_int = int(number)
    else:
        as_int = number
        if int(float(number)) == number:
            as_float = float(number)
    values = []
    if as_int is not None:
        values.append(as_int)
        for wrapper in (BsonInt32, BsonInt64):
            with contextlib.suppress(OverflowError):
                values.append(wrapper(as_int))
    if as_float is not None:
        floats = (0.0, -0.0) if as_float == 0 else (as_float,)
        for number in floats:
            values.extend((number, BsonDouble(number)))
    return values


def _storage_key(value):
    """The engine's storage key for an ``_id`` (``SQLiteEngine._storage_key``)."""
    return repr(canonical_document_id(value))


def id_storage_keys(value):
    """Storage keys of every ``_id`` that equals ``value`` in MongoDB, or None if unknown.

    Known for strings, ObjectIds and finite non-decimal numbers: the types a primary key has.
    """
    if isinstance(value, str):
        return [_storage_key(value)]
    if is_object_id_like(value):
        return [_storage_key(normalize_object_id(value))]
    if isinstance(value, bool):
        return None
    values = _numeric_id_values(value)
    if values is None:
        return None
    return list(dict.fromkeys(_storage_key(item) for item in values))


def _id_leaf_fragment(plan):
    """``storage_key IN (...)`` for an ``_id`` equality or ``$in`` leaf, else None."""
    if isinstance(plan, EqualsCondition) and plan.field == "_id":
        keys = id_storage_keys(plan.value)
    elif isinstance(plan, InCondition) and plan.field == "_id" and plan.values:
        keys = []
        for value in plan.values:
            value_keys = id_storage_keys(value)
            if value_keys is None:
                return None
            keys.extend(value_keys)
        keys = list(dict.fromkeys(keys))
    else:
        return None
    if keys is None:
        return None
    placeholders = ", ".join("?" for _ in keys)
    return f"documents.storage_key IN ({placeholders})", keys


def translate_with_ids(plan):
    """``translate_query_plan`` with ``_id`` leaves (also under and/or/not) as key lookups."""
    fragment = _id_leaf_fragment(plan)
    if fragment is not None:
        return fragment
    if isinstance(plan, (AndCondition, OrCondition)) and plan.clauses:
        joiner = " AND " if isinstance(plan, AndCondition) else " OR "
        parts, params = [], []
        for clause in plan.clauses:
            clause_sql, clause_params = translate_with_ids(clause)
            parts.append(f"({clause_sql})")
            params.extend(clause_params)
        return joiner.join(parts), params
    if isinstance(plan, NotCondition):
        clause_sql, clause_params = translate_with_ids(plan.clause)
        return f"NOT COALESCE(({clause_sql}), 0)", clause_params
    return translate_query_plan(plan)


# --- patches ---------------------------------------------------------------------------------

_original_translate_with_multikey = SQLiteEngine._translate_query_plan_with_multikey
_original_field_contains_tagged = SQLiteEngine._field_contains_tagged_value_type_in_collection
_original_validate_unique = SQLiteEngine._validate_document_against_unique_indexes
_original_apply_lookup = aggregation_stages._apply_lookup
_original_apply_lookup_states = runtime_state._apply_lookup_states
_original_command_insert = write_commands.DatabaseAdminWriteCommandService.command_insert


def _translate_query_plan_with_multikey(self, db_name, coll_name, plan):
    fragment = _id_leaf_fragment(plan)
    if fragment is not None:
        return fragment
    return _original_translate_with_multikey(self, db_name, coll_name, plan)


def _sort_requires_python(self, db_name, coll_name, plan, sort):
    return sort_requires_python(
        db_name=db_name,
        coll_name=coll_name,
        plan=plan,
        sort=sort,
        plan_has_array_traversing_paths=self._plan_has_array_traversing_paths,
        translate_query_plan=translate_with_ids,
        field_traverses_array_in_collection=self._field_traverses_array_in_collection,
        field_contains_tagged_bytes_in_collection=self._field_contains_tagged_bytes_in_collection,
        field_contains_tagged_undefined_in_collection=(
            self._field_contains_tagged_undefined_in_collection
        ),
        fetchone=lambda sql, params: self._require_connection().execute(sql, params).fetchone(),
        type_expression_sql=type_expression_sql,
        json_path_for_field=json_path_for_field,
    )


def _field_contains_tagged_value_type_in_collection(self, db_name, coll_name, field, value_type):
    if field != "_id" or value_type not in _RANGED_TAGS:
        return _original_field_contains_tagged(self, db_name, coll_name, field, value_type)
    feature_key = (db_name, coll_name, f"tagged_type:{field}:{value_type}")
    cache = self._collection_features_cache
    if feature_key in cache:
        return cache[feature_key]
    conn = self._require_connection()
    tag_path = json_path_for_field(field) + '."$mongoeco".type'
    result = False
    for low, high in _TAGGABLE_RANGES:
        range_sql, range_params = _range_sql(low, high)
        row = conn.execute(
            "SELECT 1 FROM documents WHERE db_name = ? AND coll_name = ?"
            f"{range_sql} AND json_extract(document, ?) = ? LIMIT 1",
            (db_name, coll_name, *range_params, tag_path, value_type),
        ).fetchone()
        if row is not None:
            result = True
            break
    cache[feature_key] = result
    return result


def _id_conflict(self, conn, db_name, coll_name, document_id, exclude_storage_key):
    """Whether a stored document other than ``exclude_storage_key`` has ``document_id``."""
    keys = [key for key in id_storage_keys(document_id) if key != exclude_storage_key]
    if keys:
        placeholders = ", ".join("?" for _ in keys)
        row = conn.execute(
            "SELECT 1 FROM documents WHERE db_name = ? AND coll_name = ? "
            f"AND storage_key IN ({placeholders}) LIMIT 1",
            (db_name, coll_name, *keys),
        ).fetchone()
        if row is not None:
            return True
    if not id_contains_numeric_value(document_id):
        return False
    wanted = bson_equality_key(document_id)
    for low, high in _UNCOVERED_NUMERIC_RANGES:
        range_sql, range_params = _range_sql(low, high)
        rows = conn.execute(
            "SELECT storage_key, document FROM documents WHERE db_name = ? AND coll_name = ?"
            f"{range_sql}",
            (db_name, coll_name, *range_params),
        )
        for storage_key, payload in rows:
            if storage_key == exclude_storage_key:
                continue
            existing = self._deserialize_document(payload)
            if "_id" in existing and bson_equality_key(existing["_id"]) == wanted:
                return True
    return False


def _validate_document_against_unique_indexes(
    self,
    db_name,
    coll_name,
    document,
    *,
    exclude_storage_key=None,
    skip_id_check=False,
    scan_payload_id=False,
):
    """The engine's unique-key check, with the ``_id`` part done through the primary key.

    The engine compares a numeric ``_id`` with every stored ``_id``, and on insert
    (``scan_payload_id``) compares every ``_id`` whatever its type, in case a stored document's
    ``_id`` disagreed with its storage key. The engine writes every key from its document's
    ``_id`` and refuses updates that would change it, so we look up the keys ``_id`` can have.
    """
    document_id = document.get("_id")
    if skip_id_check or "_id" not in document or id_storage_keys(document_id) is None:
        return _original_validate_unique(
            self,
            db_name,
            coll_name,
            document,
            exclude_storage_key=exclude_storage_key,
            skip_id_check=skip_id_check,
            scan_payload_id=scan_payload_id,
        )
    own_key = self._storage_key(document_id)
    if (scan_payload_id or own_key != exclude_storage_key) and _id_conflict(
        self, self._require_connection(), db_name, coll_name, document_id, exclude_storage_key
    ):
        raise self._unique_key_error(
            f"Duplicate key: _id={document_id}", f"{db_name}.{coll_name}", document
        )
    return _original_validate_unique(
        self,
        db_name,
        coll_name,
        document,
        exclude_storage_key=exclude_storage_key,
        skip_id_check=True,
    )


async def _command_insert(self, spec, *, session=None):
    """The ``insert`` command through the engine's batch insert (``insert_many``).

    mongoeco runs the command as one ``insert_one`` per document: one SQLite transaction and
    one change-stream dispatch (a lease, a heartbeat thread, three commits) each. Its
    ``insert_many`` writes the batch in one transaction with the same ordered/unordered error
    semantics; its per-document errors become the command's ``writeErrors`` as the engine's
    loop reports them (without ``op``). A single document keeps the engine's own path.
    """
    documents = spec.get("documents")
    if not isinstance(documents, list) or len(documents) < 2:
        return await _original_command_insert(self, spec, session=session)
    admin = self._admin
    collection_name = admin._require_collection_name(spec.get("insert"), "insert")
    documents = admin._normalize_insert_documents(documents)
    ordered = admin._normalize_ordered_from_command(spec.get("ordered"))
    bypass_document_validation = write_commands.command_boolean(
        spec.get("bypassDocumentValidation", False), "bypassDocumentValidation", numeric=True
    )
    acknowledged = write_commands.write_command_acknowledged(
        spec, dialect=admin._mongodb_dialect.key
    )
    collection = admin._database.get_collection(collection_name)
    write_errors = []
    try:
        await collection.insert_many(
            documents,
            ordered=ordered,
            bypass_document_validation=bypass_document_validation,
            session=session,
        )
        inserted = len(documents)
    except BulkWriteError as error:
        inserted = error.details.get("nInserted", 0)
        for entry in error.details.get("writeErrors", []):
            entry = {key: value for key, value in entry.items() if key != "op"}
            index, errmsg, code = entry.pop("index"), entry.pop("errmsg"), entry.pop("code", None)
            write_errors.append(
                WriteErrorEntry(index=index, errmsg=errmsg, code=code, details=entry or None)
            )
    return write_commands._write_command_result(
        WriteCommandResult(count=inserted, write_errors=write_errors or None),
        acknowledged=acknowledged,
    )


# --- $lookup with a correlated equality ------------------------------------------------------

#: Marks a value the bucketing cannot key: such a foreign document is a candidate for every
#: local document, and such a local value makes every foreign document a candidate.
_UNKEYED = object()


def _equality_key(value):
    """A key equal for any two values ``$eq`` may call equal, or ``_UNKEYED``.

    Python's ``==``/``hash`` already equate ``5``, ``5.0`` and ``Decimal("5")`` exactly as
    MongoDB's numeric comparison does; null and missing share one key (the real ``$match`` still
    decides between them).
    """
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, str):
        return ("str", value)
    if is_object_id_like(value):
        return ("oid", str(value))
    wrapped = wrap_bson_numeric(value) if not isinstance(value, (dict, list)) else None
    if wrapped is not None:
        number = wrapped.value
        if number != number:  # NaN equals NaN in MongoDB
            return ("nan",)
        return ("number", number)
    return _UNKEYED


def _correlated_equality(spec):
    """``(foreign path, variable)`` when ``spec``'s pipeline starts with an ``$expr`` equality
    between a foreign field and one ``let`` variable, else None."""
    if not isinstance(spec, dict) or "localField" in spec or "foreignField" in spec:
        return None
    pipeline, let = spec.get("pipeline"), spec.get("let")
    if not isinstance(pipeline, list) or not pipeline or not isinstance(let, dict):
        return None
    first = pipeline[0]
    if not isinstance(first, dict) or list(first) != ["$match"]:
        return None
    match = first["$match"]
    if not isinstance(match, dict) or list(match) != ["$expr"]:
        return None
    expression = match["$expr"]
    if not isinstance(expression, dict) or list(expression) != ["$eq"]:
        return None
    operands = expression["$eq"]
    if not isinstance(operands, list) or len(operands) != 2:
        return None
    if not all(isinstance(operand, str) for operand in operands):
        return None
    fields = [operand for operand in operands if not operand.startswith("$$")]
    variables = [operand[2:] for operand in operands if operand.startswith("$$")]
    if len(fields) != 1 or len(variables) != 1 or not fields[0].startswith("$"):
        return None
    if variables[0] not in let or "." in variables[0]:
        return None
    return fields[0], variables[0]


class _CandidateResolver:
    """``collection_resolver`` answering ``name`` with a subset, other names as before."""

    def __init__(self, resolver, name, documents):
        self._resolver, self._name, self._documents = resolver, name, documents

    def __call__(self, name):
        return self._documents if name == self._name else self._resolver(name)

    def __getattr__(self, attribute):
        return getattr(self._resolver, attribute)


def _bucketed_lookup(original, items, spec, collection_resolver, variables, public, kwargs):
    """Run ``original`` per local item over the foreign documents its ``$eq`` can match.

    The engine copies every foreign document into the sub-pipeline of every local document:
    O(local x foreign). Foreign documents are bucketed once by the value of the correlated
    field; each local document gets its bucket plus those that cannot be keyed, in collection
    order, and the sub-pipeline (its ``$match`` included) still decides.
    """
    from mongoeco.core.aggregation.runtime import evaluate_expression

    field, variable = _correlated_equality(spec)
    name = spec.get("from")
    dialect = kwargs.get("dialect") or MONGODB_DIALECT_70
    foreign = list(collection_resolver(name) or [])
    buckets, unkeyed = {}, []
    for position, item in enumerate(foreign):
        key = _equality_key(evaluate_expression(public(item), field, None, dialect=dialect))
        if key is _UNKEYED:
            unkeyed.append(position)
        else:
            buckets.setdefault(key, []).append(position)
    results = []
    for item in items:
        value = evaluate_expression(public(item), spec["let"][variable], variables, dialect=dialect)
        key = _equality_key(value)
        if key is _UNKEYED:
            candidates = foreign
        else:
            positions = sorted(buckets.get(key, []) + unkeyed)
            candidates = [foreign[position] for position in positions]
        resolver = _CandidateResolver(collection_resolver, name, candidates)
        results.extend(original([item], spec, resolver, variables, **kwargs))
    return results


def _lookup_can_bucket(spec, collection_resolver, kwargs):
    return (
        collection_resolver is not None
        and kwargs.get("collation") is None
        and _correlated_equality(spec) is not None
        and isinstance(spec.get("from"), str)
    )


def _with_hash_plan(kwargs):
    """``kwargs`` with the localField/foreignField hash join enabled.

    The engine builds its hash plan only under a cost policy's association budget; without one
    (our engine options drop the materialization budget) every local document is compared with
    every foreign one. The foreign documents are in memory already; their index costs less.
    """
    if kwargs.get("lookup_hash_max_associations") is None:
        kwargs = {**kwargs, "lookup_hash_max_associations": sys.maxsize}
    return kwargs


def _apply_lookup(documents, spec, collection_resolver, variables=None, **kwargs):
    kwargs = _with_hash_plan(kwargs)
    if not _lookup_can_bucket(spec, collection_resolver, kwargs):
        return _original_apply_lookup(documents, spec, collection_resolver, variables, **kwargs)
    return _bucketed_lookup(
        _original_apply_lookup,
        documents,
        spec,
        collection_resolver,
        variables,
        lambda document: document,
        kwargs,
    )


def _apply_lookup_states(states, spec, *, collection_resolver, variables, **kwargs):
    def original(items, spec, resolver, variables, **kwargs):
        return _original_apply_lookup_states(
            items, spec, collection_resolver=resolver, variables=variables, **kwargs
        )

    kwargs = _with_hash_plan(kwargs)
    if not _lookup_can_bucket(spec, collection_resolver, kwargs):
        return original(states, spec, collection_resolver, variables, **kwargs)
    return _bucketed_lookup(
        original,
        states,
        spec,
        collection_resolver,
        variables,
        lambda state: state.public_document() if hasattr(state, "public_document") else state,
        kwargs,
    )


_PATCHES = {
    "_translate_query_plan_with_multikey": _translate_query_plan_with_multikey,
    "_sort_requires_python": _sort_requires_python,
    "_field_contains_tagged_value_type_in_collection": (
        _field_contains_tagged_value_type_in_collection
    ),
    "_validate_document_against_unique_indexes": _validate_document_against_unique_indexes,
}


def install():
    """Apply the patches to ``SQLiteEngine`` and the ``insert`` command (idempotent)."""
    assert sqlite_module.SQLiteEngine is SQLiteEngine
    for name, function in _PATCHES.items():
        setattr(SQLiteEngine, name, function)
    write_commands.DatabaseAdminWriteCommandService.command_insert = _command_insert
    aggregation_stages._apply_lookup = _apply_lookup
    runtime_state._apply_lookup_states = _apply_lookup_states
