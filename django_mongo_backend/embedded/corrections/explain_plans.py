"""The plan the engine runs for a query, told in the stage names of MongoDB 7.0's classic engine.

mongoeco answers a query with one SQL statement over its SQLite tables (or, when it cannot
translate the filter, by reading every document of the collection and filtering in Python).
Which MongoDB index that statement reads is visible in two places, and this module reads both:

- the statement itself: a walk of an index's keys joins ``scalar_index_entries`` or
  ``multikey_entries`` and names the index in a bound parameter (``index_name = ?``);
- SQLite's own plan for it (``EXPLAIN QUERY PLAN``): a search of ``documents`` through the
  expression index of a MongoDB index (its ``physical_name`` in mongoeco's ``indexes`` table)
  with a constraint on the indexed value, or through the table's primary key on
  ``storage_key`` (the ``_id`` index: the key is the ``_id``'s identity).

Anything else is a collection scan, and so is a search of ``documents`` through an index used
only for its namespace columns (``db_name=? AND coll_name=?``: every document of the
collection, in no useful order). An index is named only when the statement reads it.

The stages are those ``QueryPlannerAnalysis`` builds in the classic engine
(``src/mongo/db/query/planner_analysis.cpp``; manual, "Explain Results"): the access (``EOF``
for a collection that does not exist, ``COLLSCAN``, ``IDHACK`` for an equality on ``_id`` alone,
or ``FETCH`` over ``IXSCAN``), then ``SORT`` unless the index read gives the order, then
``PROJECTION_SIMPLE`` or ``PROJECTION_DEFAULT``, ``SKIP`` and ``LIMIT``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mongoeco.engines.sqlite_planner import SQLiteReadExecutionPlan

#: The ``_id`` index every collection has; mongoeco keeps it as the primary key of
#: ``documents`` (``storage_key``), not in its ``indexes`` table.
ID_INDEX = {"name": "_id_", "key": {"_id": 1}, "unique": True}

#: The SQLite index of ``documents``' primary key (db_name, coll_name, storage_key).
PRIMARY_KEY = "sqlite_autoindex_documents_1"

#: Where a statement names the index it walks: ``<entries table>.index_name = ?`` (mongoeco's
#: tables of index keys).
_WALKED_INDEX = re.compile(r"(?:scalar_index_entries|multikey_entries)\.index_name = \?")

#: ``internalQueryMaxBlockingSortMemoryUsageBytes``: the memLimit a SORT stage reports.
SORT_MEMORY_LIMIT = 100 * 1024 * 1024

#: One line of ``EXPLAIN QUERY PLAN``: the table read, the index and its constraint.
_PLAN_LINE = re.compile(
    r"^(?:SEARCH|SCAN) (?P<table>\w+)(?: AS \w+)? USING (?:COVERING )?INDEX (?P<index>\S+)"
    r"(?: \((?P<constraint>.*)\))?"
)


@dataclass(frozen=True)
class Access:
    """How the engine reads the collection for one query."""

    #: ``EOF``, ``COLLSCAN``, ``IDHACK`` or ``IXSCAN``.
    kind: str
    #: The index documents read (``IXSCAN``), as ``listIndexes`` gives them, with ``multikey``.
    indexes: tuple[dict, ...] = ()
    #: The index read gives the documents in the query's sort order (no SORT stage).
    ordered: bool = False
    #: The engine's own account of the plan (mongoeco's explain), for the server's reply.
    engine_plan: dict = field(default_factory=dict)


# -- which index the statement reads ------------------------------------------------------------


def _placeholders_before(sql, position):
    """The ``?`` placeholders of ``sql`` before ``position``, outside quoted text."""
    count, quote = 0, None
    for character in sql[:position]:
        if quote:
            quote = None if character == quote else quote
        elif character in "'\"":
            quote = character
        elif character == "?":
            count += 1
    return count


def _walked_index_names(sql, params):
    """The MongoDB index names bound to ``<entries table>.index_name = ?`` in ``sql``."""
    names = []
    for match in _WALKED_INDEX.finditer(sql):
        position = _placeholders_before(sql, match.end() - 1)
        if position < len(params) and isinstance(params[position], str):
            names.append(params[position])
    return names


def _searched_indexes(lines, physical_names, *, primary_key_is_fetch):
    """(MongoDB index name, constrained on the key?) for each index of ``documents`` that
    SQLite's plan reads, in plan order; ``_id_`` for the primary key searched by
    ``storage_key``, unless that search only fetches the documents an index walk found."""
    found = []
    for line in lines:
        match = _PLAN_LINE.match(line)
        if match is None or match["table"] != "documents":
            continue
        index, constraint = match["index"], match["constraint"] or ""
        if index == PRIMARY_KEY:
            if "storage_key" in constraint and not primary_key_is_fetch:
                found.append(("_id_", True))
        elif index in physical_names:
            found.append((physical_names[index], "<expr>" in constraint))
    return found


def _catalog_sync(engine, db_name, coll_name):
    """(exists, {physical name: index name}, {index name: multikey}) from mongoeco's catalog.

    An index is multikey (``isMultiKey``) once a document stored an array under its key:
    mongoeco keeps those keys in ``multikey_entries``, the others in ``scalar_index_entries``.
    """
    with engine._lock:
        connection = engine._require_connection(None)
        if not engine._collection_exists_sync(connection, db_name, coll_name):
            return False, {}, {}
        rows = connection.execute(
            "SELECT name, physical_name, EXISTS (SELECT 1 FROM multikey_entries AS entries "
            "WHERE entries.collection_id = (SELECT collection_id FROM collections "
            "WHERE db_name = indexes.db_name AND coll_name = indexes.coll_name) "
            "AND entries.index_name = indexes.name) FROM indexes "
            "WHERE db_name = ? AND coll_name = ?",
            (db_name, coll_name),
        ).fetchall()
    physical = {row[1]: row[0] for row in rows if row[1]}
    return True, physical, {row[0]: bool(row[2]) for row in rows}


def _query_plan_sync(engine, plan):
    """SQLite's plan for the statement the engine runs (the detail column of each step)."""
    with engine._lock:
        connection = engine._require_connection(None)
        rows = connection.execute(f"EXPLAIN QUERY PLAN {plan.sql}", tuple(plan.params))
        return [row[-1] for row in rows.fetchall()]


async def access_path(collection, semantics):
    """The ``Access`` the engine takes to answer ``semantics`` (mongoeco's find semantics) on
    ``collection`` (mongoeco's async collection)."""
    engine = collection._engine
    db_name, coll_name = collection._db_name, collection._collection_name
    exists, physical, multikey = await engine._run_blocking(
        _catalog_sync, engine, db_name, coll_name
    )
    if not exists:
        return Access("EOF")
    plan = await engine.plan_find_semantics(db_name, coll_name, semantics)
    engine_plan = {"strategy": plan.strategy, "fallbackReason": plan.fallback_reason}
    if not isinstance(plan, SQLiteReadExecutionPlan) or not plan.use_sql or not plan.sql:
        return Access("COLLSCAN", engine_plan=engine_plan)
    lines = await engine._run_blocking(_query_plan_sync, engine, plan)
    engine_plan |= {"sql": " ".join(plan.sql.split()), "sqlitePlan": lines}
    names = _walked_index_names(plan.sql, plan.params)
    searched = _searched_indexes(lines, physical, primary_key_is_fetch=bool(names))
    names += [name for name, constrained in searched if constrained]
    sorts_in_sql = "ORDER BY" in plan.sql.upper() and not plan.apply_python_sort
    temp_sort = any("TEMP B-TREE FOR ORDER BY" in line for line in lines)
    if not names and semantics.sort and sorts_in_sql and not temp_sort:
        # No constraint, but SQLite reads an index of the sort key for its order.
        names = [name for name, _ in searched if name != "_id_"]
    listed = [dict(index) for index in await collection.list_indexes().to_list()]
    by_name = {"_id_": ID_INDEX, **{index["name"]: index for index in listed}}
    read = [by_name[name] for name in dict.fromkeys(names) if name in by_name]
    if not read:
        return Access("COLLSCAN", engine_plan=engine_plan)
    indexes = tuple({**index, "multikey": multikey.get(index["name"], False)} for index in read)
    ordered = bool(semantics.sort) and sorts_in_sql and not temp_sort
    return Access("IXSCAN", indexes, ordered, engine_plan)


# -- the query as MongoDB parses it ------------------------------------------------------------

#: ``MatchExpression::MatchType`` order, by which MongoDB sorts the clauses of an ``$and``
#: (``sortTree``: match type first, then path); unlisted operators sort after these.
_MATCH_TYPE_ORDER = {
    op: rank
    for rank, op in enumerate(
        (
            "$and", "$or", "$elemMatch", "$size", "$eq", "$lte", "$lt", "$gt", "$gte",
            "$regex", "$mod", "$exists", "$in", "$bitsAllSet", "$bitsAllClear",
            "$bitsAnySet", "$bitsAnyClear", "$not", "$nor", "$type",
        )
    )
}  # fmt: skip


def _clause_operator(clause):
    ((key, value),) = clause.items()
    if key.startswith("$"):
        return key
    return next(iter(value)) if isinstance(value, dict) and value else "$eq"


def _clause_order(clause):
    ((key, _),) = clause.items()
    rank = _MATCH_TYPE_ORDER.get(_clause_operator(clause), len(_MATCH_TYPE_ORDER))
    return (rank, "" if key.startswith("$") else key)


def _field_clauses(path, value):
    """The clauses of ``{path: value}``: one per operator, a plain value as ``$eq``."""
    is_operators = isinstance(value, dict) and value and all(k.startswith("$") for k in value)
    if not is_operators:
        if hasattr(value, "pattern") and hasattr(value, "flags"):  # a regular expression
            return [{path: {"$regex": value}}]
        return [{path: {"$eq": value}}]
    clauses, operators = [], dict(value)
    if "$regex" in operators:
        regex = {"$regex": operators.pop("$regex")}
        if "$options" in operators:
            regex["$options"] = operators.pop("$options")
        clauses.append({path: regex})
    for operator, operand in operators.items():
        if operator == "$ne":
            clauses.append({path: {"$not": {"$eq": operand}}})
        elif operator == "$nin":
            clauses.append({path: {"$not": {"$in": operand}}})
        else:
            clauses.append({path: {operator: operand}})
    return clauses


def _clauses(filter_document):
    clauses = []
    for key, value in filter_document.items():
        if key == "$comment":
            continue
        if key == "$and" and isinstance(value, list):
            for part in value:
                clauses += _clauses(part) if isinstance(part, dict) else []
        elif key in ("$or", "$nor") and isinstance(value, list):
            branches = [parsed_query(part) for part in value if isinstance(part, dict)]
            if key == "$or" and len(branches) == 1:
                clauses += _clauses(branches[0]) if branches[0] else []
            else:
                clauses.append({key: branches})
        elif key.startswith("$"):
            clauses.append({key: value})
        else:
            clauses += _field_clauses(key, value)
    return clauses


def parsed_query(filter_document):
    """``filter_document`` as explain's ``parsedQuery`` shows it: each predicate
    ``{path: {$op: value}}`` (a value alone is ``$eq``), several in an ``$and`` in MongoDB's
    order (by match type, then path)."""
    clauses = sorted(_clauses(filter_document or {}), key=_clause_order)
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _clause_paths(clause):
    ((key, _),) = clause.items()
    return set() if key.startswith("$") else {key}


def residual_filter(filter_document, indexes):
    """The part of the query the keys of ``indexes`` do not answer: what FETCH filters on."""
    key_paths = {path for index in indexes for path in index.get("key", {})}
    clauses = [
        clause
        for clause in sorted(_clauses(filter_document or {}), key=_clause_order)
        if not _clause_paths(clause) or not _clause_paths(clause) <= key_paths
    ]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def index_filter(filter_document, indexes):
    """The conjuncts of ``filter_document`` on the keys of ``indexes`` (what the index read
    selects by), as a filter document."""
    key_paths = {path for index in indexes for path in index.get("key", {})}
    kept = [
        clause
        for clause in _clauses(filter_document or {})
        if _clause_paths(clause) and _clause_paths(clause) <= key_paths
    ]
    return {"$and": kept} if kept else {}


def is_id_equality(filter_document):
    """``{_id: value}`` or ``{_id: {$eq: value}}`` with a scalar value: the query IDHACK
    answers (``CanonicalQuery::isSimpleIdQuery``)."""
    if not isinstance(filter_document, dict) or list(filter_document) != ["_id"]:
        return False
    value = filter_document["_id"]
    if isinstance(value, dict):
        if list(value) != ["$eq"]:
            return False
        value = value["$eq"]
    return not isinstance(value, (dict, list)) and not hasattr(value, "pattern")


# -- the stages --------------------------------------------------------------------------------


def _index_scan(index):
    """An IXSCAN stage: what the index is (its key, name and options)."""
    return {
        "stage": "IXSCAN",
        "keyPattern": dict(index["key"]),
        "indexName": index["name"],
        "isMultiKey": bool(index.get("multikey", False)),
        "isUnique": bool(index.get("unique", False)),
        "isSparse": bool(index.get("sparse", False)),
        "isPartial": "partialFilterExpression" in index,
        "indexVersion": 2,
        "direction": "forward",
    }


def access_stage(access, filter_document):
    """The leaf of the plan (with FETCH above an index read)."""
    if access.kind == "EOF":
        return {"stage": "EOF"}
    if access.kind == "IDHACK":
        return {"stage": "IDHACK"}
    if access.kind == "COLLSCAN":
        parsed = parsed_query(filter_document)
        return {
            "stage": "COLLSCAN",
            **({"filter": parsed} if parsed else {}),
            "direction": "forward",
        }
    scans = [_index_scan(index) for index in access.indexes]
    source = scans[0] if len(scans) == 1 else {"stage": "OR", "inputStages": scans}
    residual = residual_filter(filter_document, access.indexes)
    return {"stage": "FETCH", **({"filter": residual} if residual else {}), "inputStage": source}


def projection_stage_name(projection):
    """PROJECTION_SIMPLE for an inclusion of top-level fields, else PROJECTION_DEFAULT
    (``ProjectionNodeSimple``; manual, "Explain Results")."""
    included = {key: value for key, value in projection.items() if key != "_id"}
    simple = all(
        "." not in key and not key.startswith("$") and value in (1, True)
        for key, value in included.items()
    ) and projection.get("_id", 1) in (0, 1, True, False)
    return "PROJECTION_SIMPLE" if included and simple else "PROJECTION_DEFAULT"


def winning_plan(access, filter_document, *, sort=None, skip=0, limit=None, projection=None):
    """The stage tree of a find (or an aggregate's ``$cursor``) taking ``access``."""
    plan = access_stage(access, filter_document)
    if access.kind == "EOF":
        return plan
    if sort and not access.ordered:
        plan = {
            "stage": "SORT",
            "sortPattern": dict(sort),
            "memLimit": SORT_MEMORY_LIMIT,
            **({"limitAmount": skip + limit} if limit else {}),
            "type": "simple",
            "inputStage": plan,
        }
    if projection:
        plan = {
            "stage": projection_stage_name(projection),
            "transformBy": dict(projection),
            "inputStage": plan,
        }
    if skip:
        plan = {"stage": "SKIP", "skipAmount": skip, "inputStage": plan}
    if limit and not (sort and not access.ordered):
        plan = {"stage": "LIMIT", "limitAmount": limit, "inputStage": plan}
    return plan


def stages_of(plan):
    """The stage documents of ``plan``, root first (each with its inputs)."""
    found = [plan]
    for child in (plan.get("inputStage"), *plan.get("inputStages", ())):
        if isinstance(child, dict):
            found += stages_of(child)
    return found
