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

from mongoeco._types._bson_objectid import ObjectId, is_object_id_like, normalize_object_id
from mongoeco.api._async import _database_admin_write_commands as write_commands
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
from mongoeco.engines import sqlite_query
from mongoeco.engines._sqlite_fast_paths import build_select_statement_with_custom_order
from mongoeco.engines._sqlite_plan_heuristics import sort_requires_python
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.engines.sqlite_query import (
    json_path_for_field,
    translate_query_plan,
    type_expression_sql,
    value_expression_sql,
)
from mongoeco.errors import BulkWriteError
from mongoeco.types import WriteCommandResult, WriteErrorEntry

from .. import registry

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
_original_command_insert = write_commands.DatabaseAdminWriteCommandService.command_insert
_original_scalar_sort_select = SQLiteEngine._build_scalar_sort_select_sql


_INT64_RANGE = range(-(2**63), 2**63)
_DECIMAL_TAGS = ("decimal", "decimal128", "decimal128_public")


def _scalar_in_fragment(engine, db_name, coll_name, plan):
    """An ``$in`` of plain numbers and strings as ``IN`` lists its field's index answers.

    The engine translates ``$in`` value by value with the collection-blind equality, each
    with an array branch (``json_each``) no index answers, so ``{f: {$in: [...]}}`` scans the
    collection (and ``$lookup`` reads its foreign side by ``$in``). When the collection holds
    no arrays and no decimals in the field (what the collection-aware equality checks), each
    value's equality is the expression-index predicate (type tag and value); same-kind values
    share one ``IN``. Other values (null, bools, dates...) keep the engine's translation.
    """
    if not isinstance(plan, InCondition) or not plan.values or plan.field.split(".")[0] == "_id":
        return None
    numbers, strings = [], []
    for value in plan.values:
        if type(value) is str:
            strings.append(value)
        elif (type(value) is float and math.isfinite(value)) or (
            type(value) is int and value in _INT64_RANGE
        ):
            numbers.append(value)
        else:
            return None
    field = plan.field
    if (
        sqlite_query._path_uses_dbref_special_segment(field)
        or engine._field_traverses_array_in_collection(db_name, coll_name, field)
        or engine._field_is_top_level_array_in_collection(db_name, coll_name, field)
        or any(
            engine._field_contains_tagged_value_type_in_collection(db_name, coll_name, field, tag)
            for tag in _DECIMAL_TAGS
        )
    ):
        return None
    tag, value = type_expression_sql(field), value_expression_sql(field)
    json_type = f"IFNULL(json_type(document, {sqlite_query._path_literal(field)}), '')"
    parts, params = [], []
    if numbers:
        parts.append(
            f"({tag} IN ('', 'int32', 'int64', 'double') AND {value} IN "
            f"({', '.join('?' for _ in numbers)}) "
            f"AND ({tag} <> '' OR {json_type} IN ('integer', 'real')))"
        )
        params.extend(numbers)
    if strings:
        parts.append(
            f"({tag} = '' AND {value} IN ({', '.join('?' for _ in strings)}) "
            f"AND {json_type} = 'text')"
        )
        params.extend(strings)
    return "(" + " OR ".join(parts) + ")", params


def _translate_query_plan_with_multikey(self, db_name, coll_name, plan):
    fragment = _id_leaf_fragment(plan) or _scalar_in_fragment(self, db_name, coll_name, plan)
    if fragment is not None:
        return fragment
    return _original_translate_with_multikey(self, db_name, coll_name, plan)


def _sort_requires_python(self, db_name, coll_name, plan, sort):
    """The engine's check, with the filter translated as the query itself will be.

    The engine looks for array or tagged sort values among the filter's matches with the
    collection-blind translation, whose array branches no index answers: every sorted read
    scanned the collection once here. The collection-aware translation (the one the read
    runs) selects the same documents and uses the filter's index.
    """

    def translate(plan):
        try:
            return self._translate_query_plan_with_multikey(db_name, coll_name, plan)
        except NotImplementedError:
            return translate_with_ids(plan)

    return sort_requires_python(
        db_name=db_name,
        coll_name=coll_name,
        plan=plan,
        sort=sort,
        plan_has_array_traversing_paths=self._plan_has_array_traversing_paths,
        translate_query_plan=translate,
        field_traverses_array_in_collection=self._field_traverses_array_in_collection,
        field_contains_tagged_bytes_in_collection=self._field_contains_tagged_bytes_in_collection,
        field_contains_tagged_undefined_in_collection=(
            self._field_contains_tagged_undefined_in_collection
        ),
        fetchone=lambda sql, params: self._require_connection().execute(sql, params).fetchone(),
        type_expression_sql=type_expression_sql,
        json_path_for_field=json_path_for_field,
    )


#: A sorted read whose filter an index answers, matching fewer documents than this, sorts its
#: matches rather than walking the sort field's index over the whole collection.
SORT_MATCHES_LIMIT = 2000

_NAMESPACE_SQL = "db_name = ? AND coll_name = ?"


def _filter_uses_index(conn, sql, params):
    """Whether SQLite reads ``documents`` for ``sql`` by more than the namespace prefix."""
    details = [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    reads = [detail for detail in details if "documents" in detail]
    return bool(reads) and not any(
        detail.startswith("SCAN") or detail.endswith(f"({_NAMESPACE_SQL})") for detail in reads
    )


def _build_scalar_sort_select_sql(
    self, db_name, coll_name, plan, *, select_clause, sort, skip, limit, hint
):
    """The engine's single-field sort, reading an indexed filter's matches when they are few.

    For a sort on one field with a scalar index the engine walks that whole index in order and
    tests each document against the filter (``scalar_index_entries INDEXED BY ... ORDER BY
    element_key``): a page of ``{group: 7}`` sorted by ``group`` reads every document. When
    the filter itself is answered by an index (the field's expression index, or the primary
    key) and matches fewer than ``SORT_MATCHES_LIMIT`` documents (counted through that index,
    stopping at the limit), we read those matches and sort them: the same order (the engine's
    path requires one scalar type in the field, whose index order is its value order; ties by
    storage key as there), at a cost that follows the matches. Otherwise the engine's walk,
    which stops after one page when matches are common, stays.
    """
    statement = _original_scalar_sort_select(
        self,
        db_name,
        coll_name,
        plan,
        select_clause=select_clause,
        sort=sort,
        skip=skip,
        limit=limit,
        hint=hint,
    )
    if statement is None or "scalar_index_entries" not in statement[0]:
        return statement
    where_sql, where_params = self._translate_query_plan_with_multikey(db_name, coll_name, plan)
    conn = self._require_connection()
    matches_sql = f"SELECT 1 FROM documents WHERE {_NAMESPACE_SQL} AND ({where_sql})"
    params = [db_name, coll_name, *where_params]
    if not _filter_uses_index(conn, matches_sql, params):
        return statement
    cap = max(SORT_MATCHES_LIMIT, 2 * (skip + (limit or 0)))
    (count,) = conn.execute(f"SELECT count(*) FROM ({matches_sql} LIMIT {cap})", params).fetchone()
    if count >= cap:
        return statement
    field, direction = sort[0]
    order = "ASC" if direction == 1 else "DESC"
    return build_select_statement_with_custom_order(
        select_clause=select_clause,
        from_clause="documents",
        namespace_sql=_NAMESPACE_SQL,
        namespace_params=(db_name, coll_name),
        where_fragment=(where_sql, where_params),
        order_sql=f" ORDER BY {value_expression_sql(field)} {order}, documents.storage_key ASC",
        skip=skip,
        limit=limit,
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


_TESTS = "tests/embedded/test_fastpaths.py"

#: ``SQLiteEngine`` methods -> (the replacement, why, its test).
_PATCHES = {
    "_translate_query_plan_with_multikey": (
        _translate_query_plan_with_multikey,
        "an _id equality or $in (also under $and/$or/$not) reads the primary key, not a scan",
        f"{_TESTS}::test_id_equality_uses_the_primary_key",
    ),
    "_sort_requires_python": (
        _sort_requires_python,
        "the sort-pushdown check translates the filter as the read does, through its index",
        f"{_TESTS}::test_an_indexed_page_reads_its_matches_not_the_collection",
    ),
    "_field_contains_tagged_value_type_in_collection": (
        _field_contains_tagged_value_type_in_collection,
        "the planner's checks for a decimal/bytes/undefined _id read only those key ranges",
        f"{_TESTS}::test_a_decimal_id_still_matches_by_value",
    ),
    "_validate_document_against_unique_indexes": (
        _validate_document_against_unique_indexes,
        "the duplicate check of a numeric _id looks up its storage keys, not every document",
        f"{_TESTS}::test_a_duplicate_id_of_another_numeric_type_is_refused",
    ),
    "_build_scalar_sort_select_sql": (
        _build_scalar_sort_select_sql,
        "a one-field sort over a selective indexed filter reads the filter's matches",
        f"{_TESTS}::test_an_indexed_page_reads_its_matches_not_the_collection",
    ),
}


def install():
    """Apply the patches to ``SQLiteEngine`` and the ``insert`` command (idempotent)."""
    assert sqlite_module.SQLiteEngine is SQLiteEngine
    for name, (function, reason, test) in _PATCHES.items():
        registry.replace(
            SQLiteEngine, name, function, rule=reason, test=test, kind=registry.PERFORMANCE
        )
    registry.replace(
        write_commands.DatabaseAdminWriteCommandService,
        "command_insert",
        _command_insert,
        rule="the insert command writes its documents in one batch (insert_many), errors alike",
        test=f"{_TESTS}::test_a_batch_insert_reports_like_single_inserts",
        kind=registry.PERFORMANCE,
    )
