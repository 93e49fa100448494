"""A transaction's overlay: an in-memory engine holding the collections it writes.

The engine (``engine.py``) runs a transaction's writes, and its later reads of the collections
it wrote, in a private in-memory ``SQLiteEngine``, so they have the engine's own semantics
(queries, sorts, aggregations, indexes, unique keys) over the collection as the transaction
sees it. Two things here keep that cheap as collections grow (issue 15):

- a collection is copied from the transaction's snapshot as stored rows, not as documents: its
  catalog row, its index rows with their SQLite indexes (the same ``CREATE INDEX`` text), its
  documents' text and its index entry tables, with ``executemany``. mongoeco's own
  ``insert_documents`` re-validated, re-encoded and re-indexed every document in Python (about
  0.2 ms each: two seconds per ``atomic()`` on a 10,000-document collection);
- what the transaction changed is recorded by triggers on the overlay's ``documents`` table:
  ``touched`` holds each document's key with its text as the snapshot had it (NULL: none), so
  the write locks and the commit look at the documents the transaction wrote, never at the
  whole collection.

The copy still reads the collection once (in C, a few microseconds a document); the rest of a
transaction's cost no longer depends on the collection's size.

The SQLite indexes are copied as the file has them, through the overlay's own connection, so
``performance/index_storage.py`` applies there as in the file: a collection's expression
indexes are partial on its namespace (their ``CREATE INDEX`` text says so, and statements on
the overlay get the same literal namespace), and the shared entries indexes are created once
whatever the number of collections copied. The overlay is in memory and its connection its
own, so no other connection ever holds its lock (``server/busy.py`` still gives it its
connection class); the copy reads the file through the transaction's snapshot, a read
transaction that never waits for writers under WAL.

mongoeco's tables are read here directly, which no registry patch records: ``STORED`` and
``NOT_COPIED`` list them, and an upgrade of mongoeco re-checks them (docs/embedded-server.rst).
"""

from __future__ import annotations

from mongoeco.engines.sqlite import SQLiteEngine

_ENTRY = ("collection_id", "index_name", "storage_key", "element_type", "type_score", "element_key")
#: The tables of mongoeco 4.11's database that hold a collection, with their columns, all
#: copied (``indexes``: None, copied column by column whatever its columns are). The copy
#: depends on this layout, which is mongoeco's internal one: ``tests/embedded/test_overlay.py``
#: fails when a mongoeco upgrade adds a table, or a column to one of these, until it is placed
#: here or in ``NOT_COPIED`` (docs/embedded-server.rst, "Reviewing an upgrade of mongoeco").
STORED = {
    "collections": ("collection_id", "db_name", "coll_name", "options_json"),
    "documents": ("db_name", "coll_name", "storage_key", "document"),
    "indexes": None,
    "scalar_index_entries": _ENTRY,
    "multikey_entries": _ENTRY,
    "ttl_index_entries": ("collection_id", "index_name", "storage_key", "expires_at_epoch_ms"),
}
#: The other tables of mongoeco's database, and why a transaction's overlay needs none of them.
NOT_COPIED = {
    "search_indexes": "Atlas Search indexes, whose commands the server refuses "
    "(corrections/search_indexes.py): always empty",
    "mongoeco_schema_migrations": "the versions of mongoeco's own schema, not a collection's",
    "change_outbox": "change events: the commit's writes to the file record the transaction's",
    "change_outbox_identities": "change events (as change_outbox)",
    "change_outbox_state": "change events (as change_outbox)",
    "change_outbox_consumers": "change stream consumers of the file's events",
    "sqlite_sequence": "SQLite's AUTOINCREMENT counters (change_outbox's)",
}
#: Index entries, keyed by the collection's ``collection_id`` (the copy gives it a new one).
_ENTRY_TABLES = {
    table: ", ".join(STORED[table][1:])
    for table in ("scalar_index_entries", "multikey_entries", "ttl_index_entries")
}
#: The columns of ``indexes`` naming SQLite indexes (on documents and the entries tables).
_PHYSICAL_COLUMNS = ("physical_name", "multikey_physical_name", "scalar_physical_name")
_DOCUMENT_ROWS = "SELECT storage_key, document FROM documents WHERE db_name = ? AND coll_name = ?"
_TOUCHED_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS touched (db_name TEXT NOT NULL, coll_name TEXT NOT NULL, "
    "storage_key TEXT NOT NULL, original TEXT, PRIMARY KEY (db_name, coll_name, storage_key))"
)
# The text a row had before this transaction's first change to it (NULL: there was none).
_RECORD = (
    "INSERT OR IGNORE INTO touched VALUES ({row}.db_name, {row}.coll_name, "
    "{row}.storage_key, (SELECT document FROM main.documents WHERE db_name = {row}.db_name "
    "AND coll_name = {row}.coll_name AND storage_key = {row}.storage_key));"
)
#: event -> the rows whose first version it records (an UPDATE may change the key).
_TRIGGERS = {
    "INSERT": ("NEW",),
    "UPDATE": ("OLD", "NEW"),
    "DELETE": ("OLD",),
}
_CHANGED = (
    "SELECT t.storage_key, t.original, d.document FROM temp.touched AS t "
    "LEFT JOIN main.documents AS d ON d.db_name = t.db_name AND d.coll_name = t.coll_name "
    "AND d.storage_key = t.storage_key WHERE t.db_name = ? AND t.coll_name = ? "
    "AND d.document IS NOT t.original"
)


class OverlayEngine(SQLiteEngine):
    """An in-memory engine holding one transaction's writes; sessions pass through unchecked."""

    def __init__(self):
        super().__init__(":memory:")
        runtime = self._session_runtime
        runtime.ensure_session_can_use_engine = lambda context: None
        runtime._ensure_transaction_session_can_use_engine = lambda context: None
        runtime.session_owns_transaction = lambda context: False

    def _connect_sync(self):
        super()._connect_sync()
        self._connection.execute(_TOUCHED_TABLE)
        self._record_changes(True)

    def _record_changes(self, on):
        conn = self._connection
        for event, rows in _TRIGGERS.items():
            name = f"django_mongo_touched_{event.lower()}"
            conn.execute(f"DROP TRIGGER IF EXISTS temp.{name}")
            if on:
                body = "".join(_RECORD.format(row=row) for row in rows)
                conn.execute(
                    f"CREATE TEMP TRIGGER {name} BEFORE {event} ON main.documents BEGIN {body} END"
                )

    def changed(self, db_name, coll_name):
        """{storage_key: (text at the snapshot or None, text now or None)} of every document of
        the collection whose text the transaction changed (changed back: not listed)."""
        with self._lock:
            rows = self._connection.execute(_CHANGED, (db_name, coll_name))
            return {key: (original, current) for key, original, current in rows}

    def has_documents(self, db_name, coll_name):
        with self._lock:
            query = "SELECT 1 FROM documents WHERE db_name = ? AND coll_name = ? LIMIT 1"
            return self._connection.execute(query, (db_name, coll_name)).fetchone() is not None

    def copy_collection(self, source, db_name, coll_name):
        """Copy the collection as ``source`` (a connection) stores it; False if it has none.

        The caller holds the lock guarding ``source``.
        """
        row = source.execute(
            "SELECT collection_id, rowid, options_json FROM collections "
            "WHERE db_name = ? AND coll_name = ?",
            (db_name, coll_name),
        ).fetchone()
        if row is None:
            return False
        source_id = row[0] or row[1]
        with self._lock:
            conn = self._connection
            columns = [info[1] for info in conn.execute("PRAGMA table_info(indexes)")]
            indexes = source.execute(
                f"SELECT {', '.join(columns)} FROM indexes WHERE db_name = ? AND coll_name = ?",
                (db_name, coll_name),
            ).fetchall()
            physical = {
                index[columns.index(column)]
                for index in indexes
                for column in _PHYSICAL_COLUMNS
                if column in columns and index[columns.index(column)]
            }
            statements = _index_statements(source, physical - _index_names(conn))
            documents = source.execute(_DOCUMENT_ROWS, (db_name, coll_name)).fetchall()
            entries = {
                table: source.execute(
                    f"SELECT {names} FROM {table} WHERE collection_id = ?", (source_id,)
                ).fetchall()
                for table, names in _ENTRY_TABLES.items()
            }
            self._record_changes(False)
            try:
                conn.execute(
                    "INSERT INTO collections (db_name, coll_name, options_json) VALUES (?, ?, ?)",
                    (db_name, coll_name, row[2]),
                )
                conn.execute(
                    "UPDATE collections SET collection_id = rowid "
                    "WHERE db_name = ? AND coll_name = ?",
                    (db_name, coll_name),
                )
                (target_id,) = conn.execute(
                    "SELECT collection_id FROM collections WHERE db_name = ? AND coll_name = ?",
                    (db_name, coll_name),
                ).fetchone()
                conn.executemany(
                    f"INSERT INTO indexes ({', '.join(columns)}) "
                    f"VALUES ({', '.join('?' * len(columns))})",
                    indexes,
                )
                conn.executemany(
                    "INSERT INTO documents (db_name, coll_name, storage_key, document) "
                    "VALUES (?, ?, ?, ?)",
                    ((db_name, coll_name, key, text) for key, text in documents),
                )
                for table, names in _ENTRY_TABLES.items():
                    width = names.count(",") + 1
                    conn.executemany(
                        f"INSERT INTO {table} (collection_id, {names}) "
                        f"VALUES (?, {', '.join('?' * width)})",
                        ((target_id, *entry) for entry in entries[table]),
                    )
                for statement in statements:  # after the rows: SQLite then sorts once
                    conn.execute(statement)
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                self._record_changes(True)
            self._session_runtime._clear_rollback_sensitive_caches()
        return True


def _index_names(conn):
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_schema WHERE type='index'")}


def _index_statements(source, names):
    """The ``CREATE INDEX`` statements of the SQLite indexes ``names`` in ``source``."""
    if not names:
        return []
    names = sorted(names)
    rows = source.execute(
        "SELECT sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL "
        f"AND name IN ({', '.join('?' * len(names))})",
        names,
    )
    return [sql for (sql,) in rows]
