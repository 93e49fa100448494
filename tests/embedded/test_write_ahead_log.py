"""``performance/write_ahead_log.py``: the write-ahead log shrinks back after a checkpoint.

SQLite's documentation (PRAGMA journal_size_limit): in WAL mode, when the log is reset after a
checkpoint, its file is truncated to the limit instead of being kept at its largest size.
"""

from __future__ import annotations

import sqlite3

from mongoeco.engines.sqlite import SQLiteEngine

import django_mongo_backend.embedded.server.wire  # noqa: F401 - installs every patch
from django_mongo_backend.embedded.performance import write_ahead_log


def test_the_write_ahead_log_is_cut_back(tmp_path, monkeypatch):
    monkeypatch.setattr(write_ahead_log, "WAL_SIZE_LIMIT", 64 * 1024)
    engine = SQLiteEngine(str(tmp_path / "data.sqlite3"))
    writer = engine._create_sqlite_connection()
    assert writer.execute("PRAGMA journal_size_limit").fetchone()[0] == 64 * 1024
    writer.execute("CREATE TABLE t (x TEXT)")
    writer.commit()
    reader = sqlite3.connect(tmp_path / "data.sqlite3")
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM t").fetchone()  # holds the log's first frames
    for _ in range(40):
        writer.execute("INSERT INTO t VALUES (?)", ("x" * 50_000,))
        writer.commit()
    wal = tmp_path / "data.sqlite3-wal"
    assert wal.stat().st_size > 1024 * 1024  # the log grew past the limit while read
    reader.rollback()
    reader.close()
    writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    writer.execute("INSERT INTO t VALUES ('y')")  # the next write restarts the log
    writer.commit()
    assert wal.stat().st_size <= 64 * 1024
    writer.close()
