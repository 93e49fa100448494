"""SQLite indexes whose upkeep a write pays only for the collection it writes.

mongoeco 4.11 keeps every collection of every database in one SQLite table, ``documents``, and
the index keys of its single-field and array indexes in two shared tables,
``scalar_index_entries`` and ``multikey_entries``. For each MongoDB index it creates up to three
SQLite indexes, each over a whole table:

- an expression index on ``documents`` (``db_name, coll_name, <the key's expressions>``);
- an index on ``scalar_index_entries`` and one on ``multikey_entries``, both on the same columns
  (``collection_id, index_name, type_score, element_key, storage_key``) for every MongoDB index.

SQLite updates every index of a table on every row written to it, so a write into one collection
paid for every index of every other collection: with 300 collections of 2 indexes each, 1,800
b-trees per document, 17 to 80 times the cost of the same write on an empty server, and a data
file and write-ahead log of hundreds of megabytes (``bench/embedded_collections.py``). MongoDB
keeps each index in its own storage, so a write costs what its own collection's indexes cost.

What this module changes, keeping every query mongoeco runs and every answer it gives:

- **One index per entries table.** The per-MongoDB-index indexes on the two entries tables are
  identical in their columns, so one serves every lookup: ``_physical_scalar_index_name`` and
  ``_physical_multikey_index_name`` name the shared one (``SHARED_INDEXES``), which mongoeco's
  ``INDEXED BY`` clauses then use; the shared index is created once and never dropped with a
  MongoDB index (``physical_ddl``).
- **Partial expression indexes on documents.** Each MongoDB index's expression index covers the
  rows of its own collection only (``CREATE INDEX ... WHERE db_name IS 'db' AND coll_name IS
  'coll'``), so a write evaluates the other collections' index conditions and skips them instead
  of inserting a key into each. SQLite uses a partial index only for a statement whose ``WHERE``
  states the same condition with the same values, so statements that filter or sort on a field
  expression (``json_...``) of one namespace are given that namespace as literals
  (``inline_namespace``; ``namespace_condition`` says why ``IS``); renaming a collection
  rewrites its indexes' conditions in the same transaction (``_rename_collection``).

Data directories written before this change keep their indexes (whole-table ones still answer
the same queries); new indexes are created the new way.
"""

from __future__ import annotations

import re

from mongoeco.engines import sqlite as sqlite_module
from mongoeco.engines._sqlite_connection import SQLiteConnection
from mongoeco.engines.sqlite import SQLiteEngine

from .. import registry

_TESTS = "tests/embedded/test_index_storage.py"

#: The one index of each entries table, and its columns (mongoeco's per-index definition).
SHARED_INDEXES = {
    "scalar_index_entries": "mongoeco_scalar_entries_lookup",
    "multikey_entries": "mongoeco_multikey_entries_lookup",
}
_ENTRY_COLUMNS = "(collection_id, index_name, type_score, element_key, storage_key)"
_SHARED_QUOTED = {f'"{name}"': table for table, name in SHARED_INDEXES.items()}

#: Each expression index's namespace, by its physical name (``_physical_index_name`` is a
#: digest of the namespace and the index name, so the name alone does not tell it).
_namespaces: dict[str, tuple[str, str]] = {}

#: The namespace condition mongoeco writes into the statements it runs on one collection.
NAMESPACE = "db_name = ? AND coll_name = ?"
#: Parameters, string literals and quoted identifiers, and the namespace condition, in order.
_TOKENS = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(?<![\w.])db_name = \? AND coll_name = \?|\?"
)


def sql_string(value):
    """``value`` as an SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def namespace_condition(db_name, coll_name):
    """The condition of a partial index on ``documents``, and of a statement meant to use one.

    Written with ``IS``, not ``=``: SQLite matches a partial index's ``db_name = 'x'`` against a
    statement's ``db_name = ?`` by the value bound to ``?``, and to do so re-prepares the
    statement at every execution, for every statement on the table; ``IS`` (the same test on
    these ``NOT NULL`` columns) is never compared with ``= ?``."""
    return f"db_name IS {sql_string(db_name)} AND coll_name IS {sql_string(coll_name)}"


def inline_namespace(sql, parameters):
    """``(sql, parameters)`` with each ``db_name = ? AND coll_name = ?`` of ``sql`` written with
    the values its parameters hold, or the statement unchanged when it has no such condition or
    does not use plain positional ``?`` parameters."""
    if not isinstance(parameters, (list, tuple)) or re.search(r"\?\d|[:@]\w", _unquoted(sql)):
        return sql, parameters
    pieces = []
    kept = []
    position = 0
    index = 0
    for match in _TOKENS.finditer(sql):
        token = match.group()
        if token == "?":
            kept.append(parameters[index])
            index += 1
        elif token == NAMESPACE:
            db_name, coll_name = parameters[index], parameters[index + 1]
            if not isinstance(db_name, str) or not isinstance(coll_name, str):
                return sql, parameters
            pieces.append(sql[position : match.start()])
            pieces.append(namespace_condition(db_name, coll_name))
            position = match.end()
            index += 2
    if index != len(parameters):
        return sql, parameters
    pieces.append(sql[position:])
    return "".join(pieces), type(parameters)(kept)


def _unquoted(sql):
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "''", sql)


_CREATE = re.compile(r'CREATE INDEX (IF NOT EXISTS )?("(?:[^"]|"")*") ON (\w+) ')
_DROP = re.compile(r'DROP INDEX IF EXISTS ("(?:[^"]|"")*")\s*$')


def physical_ddl(sql):
    """The statement to run for mongoeco's index statement ``sql``; None to run none.

    A shared entries index is created once (``IF NOT EXISTS``) and outlives the MongoDB indexes
    that use it; an expression index on ``documents`` gets its collection's condition."""
    dropped = _DROP.match(sql)
    if dropped:
        return None if dropped.group(1) in _SHARED_QUOTED else sql
    created = _CREATE.match(sql)
    if created is None:
        return sql
    quoted, table = created.group(2), created.group(3)
    if quoted in _SHARED_QUOTED:
        return f"CREATE INDEX IF NOT EXISTS {quoted} ON {table} {_ENTRY_COLUMNS}"
    namespace = _namespaces.get(quoted[1:-1].replace('""', '"'))
    if table == "documents" and namespace is not None and " WHERE " not in sql:
        return f"{sql.rstrip()} WHERE {namespace_condition(*namespace)}"
    return sql


def _execute(original):
    def execute(self, sql, parameters=(), /):
        if sql.startswith(("CREATE INDEX", "DROP INDEX")):
            sql = physical_ddl(sql)
            if sql is None:
                return original(self, "SELECT 0 WHERE 0")
        elif NAMESPACE in sql and "json_" in sql:
            sql, parameters = inline_namespace(sql, parameters)
        return original(self, sql, parameters)

    return execute


def _physical_index_name(original):
    def physical_index_name(self, db_name, coll_name, index_name):
        name = original(self, db_name, coll_name, index_name)
        _namespaces[name] = (db_name, coll_name)
        return name

    return physical_index_name


def _shared(table):
    def physical_name(self, db_name, coll_name, index_name):
        return SHARED_INDEXES[table]

    return physical_name


def _rename_collection(original):
    """mongoeco's rename, whose transaction also moves the renamed collection's expression
    indexes to its new name's condition (a partial index names its collection)."""

    def rename_collection(*, conn, db_name, coll_name, new_name, commit_write, **kwargs):
        def commit(current):
            _move_partial_indexes(current, db_name, coll_name, new_name)
            commit_write(current)

        return original(
            conn=conn,
            db_name=db_name,
            coll_name=coll_name,
            new_name=new_name,
            commit_write=commit,
            **kwargs,
        )

    return rename_collection


def _move_partial_indexes(conn, db_name, old_name, new_name):
    old_condition = f" WHERE {namespace_condition(db_name, old_name)}"
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents' "
        "AND name IN (SELECT physical_name FROM indexes WHERE db_name = ? AND coll_name = ?)",
        (db_name, new_name),
    ).fetchall()
    for name, sql in rows:
        if not sql or not sql.endswith(old_condition):
            continue
        quoted = '"' + name.replace('"', '""') + '"'
        conn.execute(f"DROP INDEX {quoted}")
        conn.execute(f"{sql[: -len(old_condition)]} WHERE {namespace_condition(db_name, new_name)}")
        _namespaces[name] = (db_name, new_name)


def install():
    """Give each collection's writes the index upkeep of that collection only (idempotent)."""
    registry.replace(
        SQLiteEngine,
        "_physical_index_name",
        wrap=_physical_index_name,
        rule="remember each expression index's namespace, for its partial-index condition",
        test=f"{_TESTS}::test_an_expression_index_holds_its_collection_only",
        kind=registry.PERFORMANCE,
    )
    for method, table in (
        ("_physical_scalar_index_name", "scalar_index_entries"),
        ("_physical_multikey_index_name", "multikey_entries"),
    ):
        registry.replace(
            SQLiteEngine,
            method,
            _shared(table),
            rule=f"one {table} index serves every MongoDB index (all had the same columns)",
            test=f"{_TESTS}::test_entries_tables_keep_one_index_whatever_the_collections",
            kind=registry.PERFORMANCE,
        )
    registry.replace(
        SQLiteConnection,
        "execute",
        wrap=_execute,
        rule="expression indexes are partial on their namespace; shared entries indexes stay",
        test=f"{_TESTS}::test_writes_touch_only_their_collections_indexes",
        kind=registry.PERFORMANCE,
    )
    registry.rebind(
        sqlite_module,
        "_sqlite_rename_collection",
        _rename_collection(sqlite_module._sqlite_rename_collection),
        rule="a renamed collection's partial indexes name its new namespace, in the same commit",
        test=f"{_TESTS}::test_a_renamed_collection_keeps_using_its_indexes",
        kind=registry.PERFORMANCE,
    )
