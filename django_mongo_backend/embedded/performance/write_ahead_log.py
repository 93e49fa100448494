"""A write-ahead log that shrinks back once SQLite has checkpointed it.

mongoeco opens its SQLite connections in WAL mode (``synchronous=NORMAL``: a commit appends to
``mongo.sqlite3-wal`` and only checkpoints wait for the disk). SQLite copies the log back into
the database every 1,000 pages, but it can restart the log only when no reader still uses its
older frames, and the server keeps readers open (a transaction's snapshot, a scan's cursor)
while it writes. Until then the log grows, and once grown SQLite keeps the file at its largest
size and writes over it: a Django suite left logs of over a gigabyte beside a data file of tens
of megabytes.

``journal_size_limit`` makes SQLite cut the log file back to ``WAL_SIZE_LIMIT`` bytes whenever a
checkpoint restarts it. Durability does not change: the pages cut off were already copied into
the database (``tests/embedded/test_durability.py``).
"""

from __future__ import annotations

from mongoeco.engines.sqlite import SQLiteEngine

from .. import registry

#: Bytes the log file keeps after a checkpoint restarts it.
WAL_SIZE_LIMIT = 64 * 1024 * 1024


def _create_sqlite_connection(original):
    def create_sqlite_connection(self):
        connection = original(self)
        if self._path != ":memory:":
            connection.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        return connection

    return create_sqlite_connection


def install():
    """Limit what the write-ahead log keeps of its largest size (idempotent)."""
    registry.replace(
        SQLiteEngine,
        "_create_sqlite_connection",
        wrap=_create_sqlite_connection,
        rule="the write-ahead log is cut back to WAL_SIZE_LIMIT bytes after each checkpoint",
        test="tests/embedded/test_write_ahead_log.py::test_the_write_ahead_log_is_cut_back",
        kind=registry.PERFORMANCE,
    )
