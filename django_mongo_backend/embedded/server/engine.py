"""The storage engine: mongoeco's SQLite engine, made to run transactions concurrently.

mongoeco 4.11's ``SQLiteEngine`` runs a transaction as one SQLite transaction on the engine's
single connection, so while one session has a transaction open every other session fails
("active transaction bound to another session"). Holding SQLite's write lock for a whole
transaction cannot work for us either: the backend writes sequence reservations *outside* the
transaction while that transaction is open, from the same thread, so any design in which an
open transaction blocks other writers deadlocks the first ``TestCase`` that saves a model.

So a transaction never touches the database file until it commits (MongoDB's snapshot
isolation, first committer wins):

- reads see a snapshot: the transaction pins a SQLite read transaction on a connection of its
  own (WAL lets readers and writers proceed side by side);
- writes go to a private overlay, an in-memory ``SQLiteEngine`` into which each collection the
  transaction writes is copied from that snapshot (documents, indexes, options, as stored
  rows: ``overlay.py``), so the transaction's later reads of it see its own writes with the
  same engine semantics; triggers there record which documents the transaction changed, so
  its locks and its commit never look at the rest of the collection;
- commit applies the overlay's changed documents to the file in one SQLite write transaction,
  after checking that none of them changed since the snapshot; if one did, it fails with
  ``WriteConflict`` (112) and the ``TransientTransactionError`` label, so drivers retry;
- abort drops the overlay.

Collections and indexes may be created in a transaction (MongoDB 4.4+, manual: "Create
Collections and Indexes in a Transaction"): ``create`` and ``createIndexes`` on a collection
the snapshot does not have (or that this transaction created) run in the overlay, as do
inserts that create their collection implicitly; commit creates the collection (options and
indexes) in the file first. Two open transactions creating the same namespace conflict
(``WriteConflict``), as does a commit finding that namespace created meanwhile. An index on a
collection that existed before fails with 263 unless it already exists (then nothing happens),
and so does one on a collection this transaction created but already wrote to
(``runCreateIndexesOnNewCollection`` in the server's ``create_indexes.cpp``).

Like MongoDB (WiredTiger), a transaction's write takes a lock on each document it changes,
and on each key it writes in a unique index, held until the transaction ends (``_claim``):

- another transaction writing that document or key, or a transaction writing a document
  changed by someone else since its snapshot (or a key someone else committed since then),
  fails at once with ``WriteConflict`` (and is aborted); so commit never meets a duplicate key;
- a write outside any transaction waits until the transaction commits or aborts, then runs
  (``_write_waiting``): after a commit, a key the transaction wrote is a duplicate key; with
  ``maxTimeMS`` (``write_deadline``) it gives up with ``MaxTimeMSExpired`` (50). A SQLite
  trigger on the documents table finds the locked document (or key) and rolls that write back
  before anything changes; the write is then run again.

Reads never wait: they see their snapshot or the last commit. The backend's sequence
reservations, written outside the transaction while it is open from the same thread, only wait
if the transaction itself wrote the same sequence document.

A transaction older than ``transaction_lifetime_limit`` seconds (MongoDB's
``transactionLifetimeLimitSeconds``, 60 by default) is aborted when anything runs into it: a
statement of its own session (``transaction_expired``), a writer waiting for its locks, or a new
transaction starting.

Durability: WAL with ``synchronous=NORMAL`` (the engine's default) survives the process being
killed at any point; only an OS crash or power loss can lose the last commits.

Also here: running commands off the asyncio loop (``run_commands_off_loop``), because mongoeco
evaluates aggregation stages on the loop thread, where one heavy pipeline stalls every client.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from mongoeco.core.codec import DocumentCodec
from mongoeco.core.operation_context import OperationContext
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.engines.virtual_indexes import document_in_virtual_index
from mongoeco.errors import DuplicateKeyError, OperationFailure
from mongoeco.session import ClientSession

from ..corrections.engine_options import engine_options
from ..corrections.errors import server_error
from . import busy
from .overlay import OverlayEngine

logger = logging.getLogger("django_mongo_backend.embedded")

WRITE_CONFLICT = 112
NOT_IN_TRANSACTION = 263  # OperationNotSupportedInTransaction
TRANSIENT = ("TransientTransactionError",)

#: MongoDB's ``transactionLifetimeLimitSeconds`` default; the environment variable (or the
#: server's ``--transaction-lifetime-limit-seconds``) changes it for one server.
DEFAULT_TRANSACTION_LIFETIME_LIMIT = 60.0
LIFETIME_LIMIT_VARIABLE = "DJANGO_MONGO_EMBEDDED_TRANSACTION_LIFETIME_LIMIT"

#: The monotonic deadline (from ``maxTimeMS``) of the command running outside a transaction:
#: how long its writes may wait for transactions' document locks. None: no limit.
write_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "write_deadline", default=None
)
#: Set while a write outside any transaction runs: the write guard records here the
#: transaction owning the document it ran into.
_waiting_write: contextvars.ContextVar[_BlockedWrite | None] = contextvars.ContextVar(
    "waiting_write", default=None
)
_GUARD_FUNCTION = "django_mongo_document_lock_guard"
#: event -> the row naming the document, and the new version of the document (for its keys).
_GUARD_TRIGGERS = {
    "INSERT": ("NEW", "NEW.document"),
    "UPDATE": ("OLD", "NEW.document"),
    "DELETE": ("OLD", "NULL"),
}
_COMMITTED_ROWS = (
    "SELECT storage_key, document FROM documents WHERE db_name = ? AND coll_name = ? "
    "AND storage_key IN ({})"
)

_DOCUMENT_ROW = (
    "SELECT document FROM documents WHERE db_name = ? AND coll_name = ? AND storage_key = ?"
)
_INDEX_OPTIONS = {
    "unique": "unique",
    "sparse": "sparse",
    "hidden": "hidden",
    "collation": "collation",
    "partialFilterExpression": "partial_filter_expression",
    "expireAfterSeconds": "expire_after_seconds",
}


def create_engine(dbpath):
    """The engine serving ``dbpath`` (a directory), or an in-memory one when it is None."""
    from .wire import DATA_FILE

    engine = ConcurrentSQLiteEngine(
        str(dbpath / DATA_FILE) if dbpath is not None else ":memory:", **engine_options()
    )
    limit = os.environ.get(LIFETIME_LIMIT_VARIABLE)
    if limit:
        engine.transaction_lifetime_limit = float(limit)
    return engine


class WriteConflict(OperationFailure):
    """Another client wrote a document (or a unique key) this transaction also wrote."""

    def __init__(self, namespace, code=None, details=None):
        # mongoeco rebuilds an error escaping a command from its message, ``code`` and
        # ``details`` (``_complete_command_error``): then ``namespace`` is that message.
        message = (
            namespace
            if code is not None
            else f"WriteConflict: a document in {namespace} was modified by another operation "
            "since this transaction started; retry the transaction"
        )
        super().__init__(message, code=WRITE_CONFLICT, details=details, error_labels=TRANSIENT)
        self.code_name = "WriteConflict"


class _DocumentLocked(Exception):
    """Raised by the write guard inside SQLite: the write is rolled back, then retried."""


@dataclass(eq=False)
class _BlockedWrite:
    """What a write outside any transaction ran into: the transaction owning the document."""

    owner: _Transaction | None = None


@dataclass(eq=False)
class _Transaction:
    """One session's open transaction: its snapshot, its overlay and what it copied."""

    snapshot: object = None  # a SQLite connection holding the read snapshot, or None
    overlay: OverlayEngine | None = None
    #: (db, coll) the overlay holds (copied from the snapshot, or absent from it): the
    #: transaction reads and writes them there. Its ``touched`` table is the conflict baseline.
    copied: dict = field(default_factory=dict)
    failure: Exception | None = None
    lock: asyncio.Lock | None = None
    started: float = field(default_factory=time.monotonic)
    #: (db, coll, storage_key) of every document this transaction changed: its locks.
    claimed: set = field(default_factory=set)
    #: Locks released: committed, aborted or expired.
    released: bool = False
    #: Aborted by the server for outliving the transaction lifetime limit.
    expired: bool = False
    #: (db, coll) the snapshot does not have: created by this transaction if the overlay has it.
    absent: set = field(default_factory=set)
    #: (db, coll) -> (its unique indexes but ``_id_``, {document text: (storage_key, document)})
    #: for every version of a document this transaction wrote there: its unique key locks.
    unique_writes: dict = field(default_factory=dict)


def _session_of(args, kwargs):
    for value in itertools.chain(kwargs.values(), args):
        if isinstance(value, ClientSession):
            return value
        if isinstance(value, OperationContext):
            return value.session
        context = getattr(value, "operation_context", None)
        if isinstance(context, OperationContext):
            return context.session
    return None


def _routed(name, kind):
    """An engine method that runs in a transaction's overlay when it has to (see the module)."""
    base = getattr(SQLiteEngine, name)

    if name == "open_read_snapshot":

        def method(self, db_name, coll_name, *args, **kwargs):
            transaction = self._transaction_of(_session_of(args, kwargs))
            if transaction is not None and (db_name, coll_name) in transaction.copied:
                return transaction.overlay.open_read_snapshot(db_name, coll_name, *args, **kwargs)
            return base(self, db_name, coll_name, *args, **kwargs)

    else:

        async def method(self, db_name, coll_name, *args, **kwargs):
            transaction = self._transaction_of(_session_of(args, kwargs))
            if transaction is None:
                if kind == "write":
                    return await self._write_waiting(
                        lambda: base(self, db_name, coll_name, *args, **kwargs)
                    )
                return await base(self, db_name, coll_name, *args, **kwargs)
            if kind == "ddl":
                creator = _CREATORS.get(name)
                if creator is None:
                    raise OperationFailure(
                        f"Cannot run {name} in a multi-document transaction",
                        code=NOT_IN_TRANSACTION,
                    )
                return await creator(self, transaction, db_name, coll_name, *args, **kwargs)
            if kind == "write":
                await self._copy_into_overlay(transaction, db_name, coll_name)
            if (db_name, coll_name) in transaction.copied:
                overlay_method = getattr(transaction.overlay, name)
                result = await overlay_method(db_name, coll_name, *args, **kwargs)
                if kind == "write":
                    await self._reserve_if_created(transaction, db_name, coll_name)
                    await self._claim(transaction, db_name, coll_name)
                return result
            return await base(self, db_name, coll_name, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"``{name}``, routed to the transaction's overlay when needed."
    return method


_WRITES = (
    "insert_document",
    "insert_documents",
    "update_with_operation",
    "delete_with_operation",
    "merge_document",
)
_READS = (
    "count_find_semantics",
    "get_document",
    "list_indexes",
    "index_information",
    "explain_find_semantics",
    "plan_find_semantics",
    "plan_find_execution",
)
_DDL = (
    "create_index",
    "drop_index",
    "drop_indexes",
    "create_collection",
    "rename_collection",
    "drop_collection",
)


class ConcurrentSQLiteEngine(SQLiteEngine):
    """``SQLiteEngine`` with snapshot-isolated, concurrent transactions (see the module)."""

    def __init__(self, path=":memory:", **options):
        super().__init__(path, **options)
        self._transactions: dict[str, _Transaction] = {}
        self._transactions_lock = threading.Lock()
        #: (db, coll, storage_key) -> the open transaction that changed that document.
        self._document_locks: dict[tuple, _Transaction] = {}
        self._document_locks_lock = threading.Lock()
        #: (db, coll) -> the open transactions holding unique keys there (``unique_writes``).
        self._unique_writers: dict[tuple, set[_Transaction]] = {}
        #: (db, coll) -> the open transaction that created that collection (not committed yet).
        self._pending_creations: dict[tuple, _Transaction] = {}
        self.transaction_lifetime_limit = DEFAULT_TRANSACTION_LIFETIME_LIMIT
        runtime = self._session_runtime
        runtime.start_session_transaction = self._start_transaction
        runtime.commit_session_transaction = self._commit_transaction
        runtime.abort_session_transaction = self._abort_transaction
        runtime.session_owns_transaction = self._owns_transaction
        original_require = runtime.require_connection

        def require_connection(context=None):
            transaction = self._transaction_of(context)
            if (
                transaction is not None
                and transaction.snapshot is not None
                and getattr(self._thread_local, "connection", None) is None
            ):
                return transaction.snapshot
            return original_require(context)

        runtime.require_connection = require_connection

    for _name in _WRITES:
        locals()[_name] = _routed(_name, "write")
    for _name in _READS:
        locals()[_name] = _routed(_name, "read")
    for _name in _DDL:
        locals()[_name] = _routed(_name, "ddl")
    open_read_snapshot = _routed("open_read_snapshot", "read")
    del _name

    # -- transaction state ---------------------------------------------------------------

    def _transaction_of(self, session):
        if session is None or not getattr(session, "in_transaction", False):
            return None
        return self._transactions.get(session.session_id)

    def _owns_transaction(self, context):
        return self._transaction_of(context) is not None

    def transaction_expired(self, session):
        """Whether ``session``'s transaction was (or now is) aborted for its age."""
        transaction = self._transactions.get(session.session_id)
        return transaction is not None and (transaction.expired or self._expire_if_old(transaction))

    def _expire_if_old(self, transaction):
        if transaction.released or transaction.expired:
            return transaction.expired
        if time.monotonic() - transaction.started <= self.transaction_lifetime_limit:
            return False
        logger.info("aborting a transaction older than %ss", self.transaction_lifetime_limit)
        transaction.expired = True
        self._discard(transaction)
        return True

    def _start_transaction(self, session):
        if self._connection is None:
            raise OperationFailure("the storage engine is not connected")
        for other in list(self._transactions.values()):
            self._expire_if_old(other)
        snapshot = None
        if self._path != ":memory:":
            snapshot = self._create_sqlite_connection()
            snapshot.execute("BEGIN")
            snapshot.execute("SELECT count(*) FROM collections").fetchone()  # pin the snapshot
        with self._transactions_lock:
            previous = self._transactions.pop(session.session_id, None)
            self._transactions[session.session_id] = _Transaction(snapshot=snapshot)
        if previous is not None:
            self._discard(previous)
        self._session_runtime.sync_session_state(session, transaction_active=True)

    def _abort_transaction(self, session):
        with self._transactions_lock:
            transaction = self._transactions.pop(session.session_id, None)
        if transaction is not None:
            self._discard(transaction)
        self._session_runtime.sync_session_state(session, transaction_active=False)

    def _commit_transaction(self, session):
        transaction = self._transactions.get(session.session_id)
        if transaction is None:
            return
        if transaction.failure is None:
            try:
                self._apply(transaction)
            except WriteConflict as conflict:
                # mongoeco retries a commit hook that raises a transient error: keep failing
                # the same way, and end the transaction so the driver's retry starts afresh.
                transaction.failure = conflict
                session._state.transaction.active = False
                self._discard(transaction)
        if transaction.failure is not None:
            raise transaction.failure
        with self._transactions_lock:
            self._transactions.pop(session.session_id, None)
        self._discard(transaction)
        self._session_runtime.sync_session_state(session, transaction_active=False)

    def _discard(self, transaction):
        with self._document_locks_lock:
            for lock in transaction.claimed:
                if self._document_locks.get(lock) is transaction:
                    del self._document_locks[lock]
            transaction.claimed = set()
            for namespace in transaction.unique_writes:
                writers = self._unique_writers.get(namespace)
                if writers is not None:
                    writers.discard(transaction)
                    if not writers:
                        del self._unique_writers[namespace]
            transaction.released = True
            for namespace, creator in list(self._pending_creations.items()):
                if creator is transaction:
                    del self._pending_creations[namespace]
        if transaction.snapshot is not None:
            try:
                transaction.snapshot.close()
            except Exception:  # closing a read view must not mask the outcome
                logger.exception("closing a transaction's read snapshot failed")
            transaction.snapshot = None
        overlay, transaction.overlay = transaction.overlay, None
        if overlay is not None:
            overlay._disconnect_sync()

    # -- document locks ------------------------------------------------------------------

    def _connect_sync(self):
        super()._connect_sync()
        connection = self._connection
        connection.create_function(_GUARD_FUNCTION, 4, self._guard_write)
        for event, (row, document) in _GUARD_TRIGGERS.items():
            connection.execute(
                f"CREATE TEMP TRIGGER IF NOT EXISTS django_mongo_lock_guard_{event.lower()} "
                f"BEFORE {event} ON main.documents BEGIN SELECT {_GUARD_FUNCTION}("
                f"{row}.db_name, {row}.coll_name, {row}.storage_key, {document}); END"
            )

    def _guard_write(self, db_name, coll_name, storage_key, text):
        """Called by SQLite before a row of ``documents`` changes: refuse locked documents, and
        new versions (``text``) holding a unique key an open transaction wrote.

        Only writes outside any transaction are guarded (``_write_waiting`` sets
        ``_waiting_write``); committing transactions and internal work pass.
        """
        waiting = _waiting_write.get()
        if waiting is None:
            return
        owner = self._document_locks.get((db_name, coll_name, storage_key))
        if owner is None and text is not None and self._unique_writers.get((db_name, coll_name)):
            document = self._deserialize_document(text)
            owner = self._unique_key_owner(db_name, coll_name, storage_key, document, None)
        if owner is not None:
            waiting.owner = owner
            raise _DocumentLocked(storage_key)
        return

    async def _write_waiting(self, write):
        """Run ``write`` (outside any transaction), waiting out the locks it runs into."""
        waiting = _BlockedWrite()
        token = _waiting_write.set(waiting)
        try:
            while True:
                waiting.owner = None
                try:
                    return await write()
                except Exception:
                    if waiting.owner is None:
                        raise
                await self._wait_for_release(waiting.owner)
        finally:
            _waiting_write.reset(token)

    async def _wait_for_release(self, owner):
        deadline = write_deadline.get()
        delay = 0.002
        while not owner.released and not self._expire_if_old(owner):
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise server_error(50, "MaxTimeMSExpired", "operation exceeded time limit")
                delay = min(delay, remaining)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def _claim(self, transaction, db_name, coll_name):
        """Lock the documents the transaction's last write changed, or fail with WriteConflict.

        A document locked by another open transaction, or changed by a commit since this
        transaction's snapshot, conflicts: MongoDB reports both at the write.
        """
        changed = await self._run_blocking(transaction.overlay.changed, db_name, coll_name)
        written = {(db_name, coll_name, storage_key) for storage_key in changed}
        new = written - transaction.claimed
        if new:
            await self._claim_documents(transaction, db_name, coll_name, new, changed)
        current = {storage_key: text for storage_key, (_old, text) in changed.items()}
        await self._claim_unique_keys(transaction, db_name, coll_name, written, current)

    async def _claim_documents(self, transaction, db_name, coll_name, new, changed):
        with self._document_locks_lock:
            owners = {self._document_locks.get(lock) for lock in new} - {None, transaction}
        for owner in owners:
            self._expire_if_old(owner)
        with self._document_locks_lock:
            for lock in new:
                if self._document_locks.get(lock, transaction) is not transaction:
                    raise WriteConflict(f"{db_name}.{coll_name}")
            for lock in new:
                self._document_locks[lock] = transaction
            transaction.claimed = transaction.claimed | new
        storage_keys = [storage_key for _db, _coll, storage_key in new]
        committed = await self._run_blocking(
            self._committed_rows_sync, db_name, coll_name, storage_keys
        )
        if any(
            committed.get(storage_key) != changed[storage_key][0] for storage_key in storage_keys
        ):
            raise WriteConflict(f"{db_name}.{coll_name}")

    async def _claim_unique_keys(self, transaction, db_name, coll_name, written, current):
        """Lock the unique index keys of the documents the transaction wrote, or fail with
        ``WriteConflict``.

        WiredTiger's "first updater wins" holds for the keys of unique indexes as for documents
        (the server's ``transactions_write_conflicts_unique_indexes.js``): a key that another
        open transaction wrote, or that a commit wrote after this transaction's snapshot (so the
        overlay could not see it), conflicts at the write. A key the snapshot shows already
        failed in the overlay with ``DuplicateKey``. The keys stay locked until the transaction
        ends, every version it wrote (writes outside transactions wait for them, ``_guard_write``).
        """
        key = (db_name, coll_name)
        indexes = await self._run_blocking(
            self._unique_indexes_sync, transaction.overlay, db_name, coll_name
        )
        if not indexes:
            return
        locked = transaction.unique_writes.get(key, (None, {}))[1]
        versions = {}
        for _db, _coll, storage_key in written:
            text = current.get(storage_key)
            if text is not None and text not in locked:
                versions[text] = (storage_key, self._deserialize_document(text))
        if not versions:
            return
        for owner in tuple(self._unique_writers.get(key, ())):
            if owner is not transaction:
                self._expire_if_old(owner)  # releases its keys when too old
        with self._document_locks_lock:
            for storage_key, document in versions.values():
                if self._unique_key_owner(db_name, coll_name, storage_key, document, transaction):
                    raise WriteConflict(f"{db_name}.{coll_name}")
            transaction.unique_writes[key] = (indexes, {**locked, **versions})
            self._unique_writers.setdefault(key, set()).add(transaction)
        if key in transaction.absent:  # a collection of its own: nobody committed keys there
            return
        if await self._run_blocking(
            self._committed_key_conflict_sync,
            transaction,
            db_name,
            coll_name,
            list(versions.values()),
            indexes,
        ):
            raise WriteConflict(f"{db_name}.{coll_name}")

    def _unique_indexes_sync(self, overlay, db_name, coll_name):
        with overlay._lock, overlay._bind_connection(overlay._connection):
            return [
                index
                for index in overlay._load_indexes(db_name, coll_name)
                if index["unique"] and index["name"] != "_id_"
            ]

    def _unique_key_owner(self, db_name, coll_name, storage_key, document, transaction):
        """The open transaction (other than ``transaction``) that wrote a unique key of
        ``document`` in another document, or None. Transactions call it holding
        ``_document_locks_lock``; the write guard may not take it, which is safe: a transaction's
        ``unique_writes`` entries are replaced whole, never changed in place."""
        key = (db_name, coll_name)
        for owner in tuple(self._unique_writers.get(key, ())):
            if owner is transaction or owner.released:
                continue
            indexes, locked = owner.unique_writes[key]
            for other_key, other in locked.values():
                if other_key != storage_key and self._keys_collide(document, other, indexes):
                    return owner
        return None

    def _keys_collide(self, document, other, indexes):
        """Whether two documents share a key of one of the unique ``indexes`` (partial and
        sparse indexes only hold the documents they cover)."""
        return any(
            document_in_virtual_index(document, index)
            and document_in_virtual_index(other, index)
            and self._unique_index_conflict(document, other, index) is not None
            for index in indexes
        )

    def _committed_key_conflict_sync(self, transaction, db_name, coll_name, versions, indexes):
        """Whether a committed document the transaction did not write shares a unique key with
        one of ``versions``: the snapshot did not show it, so it was committed since."""
        with self._lock:
            conn = self._connection
            with self._bind_connection(conn):
                for storage_key, document in versions:
                    try:
                        self._validate_document_against_unique_indexes(
                            db_name,
                            coll_name,
                            document,
                            exclude_storage_key=storage_key,
                            skip_id_check=True,
                        )
                        continue  # no committed document has its keys (the usual case)
                    except DuplicateKeyError:
                        pass
                    # Perhaps only documents this transaction changed or deleted have them.
                    for other_key, other in self._load_documents(db_name, coll_name):
                        if other_key == storage_key or (
                            (db_name, coll_name, other_key) in transaction.claimed
                        ):
                            continue
                        if self._keys_collide(document, other, indexes):
                            return True
        return False

    def _committed_rows_sync(self, db_name, coll_name, storage_keys):
        rows = {}
        with self._lock:
            conn = self._connection
            for start in range(0, len(storage_keys), 500):
                chunk = storage_keys[start : start + 500]
                query = _COMMITTED_ROWS.format(", ".join("?" * len(chunk)))
                rows.update(conn.execute(query, (db_name, coll_name, *chunk)))
        return rows

    # -- the overlay ---------------------------------------------------------------------

    async def _copy_into_overlay(self, transaction, db_name, coll_name):
        """Copy a collection from the transaction's snapshot into its overlay, once."""
        if transaction.lock is None:
            transaction.lock = asyncio.Lock()
        async with transaction.lock:
            key = (db_name, coll_name)
            if key in transaction.copied:
                return
            if transaction.overlay is None:
                overlay = OverlayEngine()
                await overlay.connect()
                transaction.overlay = overlay
            if not await self._run_blocking(self._copy_collection_sync, transaction, *key):
                transaction.absent.add(key)
            transaction.copied[key] = None

    def _copy_collection_sync(self, transaction, db_name, coll_name):
        with self._lock:
            source = transaction.snapshot or self._connection
            return transaction.overlay.copy_collection(source, db_name, coll_name)

    def _apply(self, transaction):
        """Create the transaction's new collections, then write the overlay's changed documents
        to the file in one SQLite transaction; or conflict (and leave the file as it was)."""
        created = self._create_collections(transaction)
        try:
            self._apply_documents(transaction)
        except BaseException:
            for db_name, coll_name in created:
                self._drop_collection_sync(db_name, coll_name, None)
            raise

    def _apply_documents(self, transaction):
        changes = []
        for db_name, coll_name in transaction.copied:
            changed = transaction.overlay.changed(db_name, coll_name)
            for key, (original, current) in changed.items():
                changes.append((db_name, coll_name, key, original, current))
        if not changes:
            return
        namespace = f"{changes[0][0]}.{changes[0][1]}"
        with self._lock:
            conn = self._connection
            busy.until_locked_by(
                conn,
                lambda: conn.execute("BEGIN IMMEDIATE"),
                "a transaction's commit",
                write_deadline.get(),
            )
            try:
                for db_name, coll_name, key, snapshot_text, _text in changes:
                    row = conn.execute(_DOCUMENT_ROW, (db_name, coll_name, key)).fetchone()
                    if (row[0] if row else None) != snapshot_text:
                        raise WriteConflict(f"{db_name}.{coll_name}")
                # The old versions go first: the transaction may have moved a unique key from
                # one document to another, which its statements did one at a time.
                for db_name, coll_name, _key, snapshot_text, _text in changes:
                    if snapshot_text is not None:
                        document = DocumentCodec.to_public(
                            self._deserialize_document(snapshot_text)
                        )
                        self._delete_document_sync(db_name, coll_name, document["_id"], None)
                for db_name, coll_name, _key, _snapshot_text, text in changes:
                    if text is not None:
                        namespace = f"{db_name}.{coll_name}"
                        document = DocumentCodec.to_public(self._deserialize_document(text))
                        self._insert_document_sync(
                            db_name,
                            coll_name,
                            document,
                            True,
                            None,
                            bypass_document_validation=True,
                        )
                conn.commit()
            except DuplicateKeyError as error:
                # MongoDB never reports a duplicate key at commit: the statements' key locks
                # (``_claim_unique_keys``) settle it earlier; should one slip through, the
                # transaction conflicts (and the driver retries it) rather than half-apply.
                conn.rollback()
                self._session_runtime._clear_rollback_sensitive_caches()
                logger.warning("a transaction's commit met a duplicate key: %s", error)
                raise WriteConflict(namespace) from error
            except BaseException:
                conn.rollback()
                self._session_runtime._clear_rollback_sensitive_caches()
                raise

    # -- collections and indexes created in a transaction --------------------------------

    def _overlay_has_collection(self, transaction, db_name, coll_name):
        overlay = transaction.overlay
        if overlay is None:
            return False
        with overlay._lock:
            return overlay._collection_exists_sync(overlay._connection, db_name, coll_name)

    def _exists_sync(self, transaction, db_name, coll_name):
        """Whether the collection exists in the transaction's snapshot or (now) in the file."""
        with self._lock:
            connections = [self._connection]
            if transaction.snapshot is not None:
                connections.insert(0, transaction.snapshot)
            return any(
                self._collection_exists_sync(conn, db_name, coll_name) for conn in connections
            )

    def _reserve(self, transaction, db_name, coll_name):
        """Claim the namespace this transaction creates; another open creator conflicts."""
        key = (db_name, coll_name)
        owner = self._pending_creations.get(key)
        if owner is not None and owner is not transaction:
            self._expire_if_old(owner)  # releases its namespaces when too old
        with self._document_locks_lock:
            owner = self._pending_creations.get(key)
            if owner is not None and owner is not transaction and not owner.released:
                # The catalog's message (``registerUncommittedCollection``).
                raise OperationFailure(
                    f"Collection namespace '{db_name}.{coll_name}' is already in use.",
                    code=WRITE_CONFLICT,
                    details={"codeName": "WriteConflict"},
                    error_labels=TRANSIENT,
                )
            self._pending_creations[key] = transaction

    async def _reserve_if_created(self, transaction, db_name, coll_name):
        """A write that created its collection in the overlay (an insert, an upsert)."""
        key = (db_name, coll_name)
        if key not in transaction.absent or self._pending_creations.get(key) is transaction:
            return
        if await self._run_blocking(self._overlay_has_collection, transaction, db_name, coll_name):
            self._reserve(transaction, db_name, coll_name)

    async def _create_collection_in_transaction(
        self, transaction, db_name, coll_name, *, options=None, context=None
    ):
        """``create`` in a transaction: only a collection that exists nowhere yet."""
        exists = await self._run_blocking(self._exists_sync, transaction, db_name, coll_name)
        if exists or await self._run_blocking(
            self._overlay_has_collection, transaction, db_name, coll_name
        ):
            message = f"Collection {db_name}.{coll_name} already exists."
            raise server_error(48, "NamespaceExists", message)
        await self._copy_into_overlay(transaction, db_name, coll_name)
        self._reserve(transaction, db_name, coll_name)
        await transaction.overlay.create_collection(db_name, coll_name, options=options)

    async def _create_index_in_transaction(
        self, transaction, db_name, coll_name, keys, *, name=None, context=None, **options
    ):
        """``createIndexes`` in a transaction: on a new (or newly created, still empty)
        collection; on an older one only an index that already exists, which is a no-op."""
        key = (db_name, coll_name)
        if key not in transaction.copied:
            exists = await self._run_blocking(self._exists_sync, transaction, db_name, coll_name)
            if exists:
                return await self._existing_index(transaction, db_name, coll_name, keys, name)
            await self._copy_into_overlay(transaction, db_name, coll_name)
        elif key not in transaction.absent:
            return await self._existing_index(transaction, db_name, coll_name, keys, name)
        if await self._run_blocking(transaction.overlay.has_documents, db_name, coll_name):
            message = (
                f"Cannot create new indexes on non-empty collection {db_name}.{coll_name} in a "
                "multi-document transaction."
            )
            raise server_error(NOT_IN_TRANSACTION, "OperationNotSupportedInTransaction", message)
        self._reserve(transaction, db_name, coll_name)
        if not await self._run_blocking(
            self._overlay_has_collection, transaction, db_name, coll_name
        ):
            await transaction.overlay.create_collection(db_name, coll_name)
        return await transaction.overlay.create_index(
            db_name, coll_name, keys, name=name, **options
        )

    async def _existing_index(self, transaction, db_name, coll_name, keys, name):
        """The name of the existing index ``keys``/``name`` asks for, or 263."""
        indexes = await self._run_blocking(self._list_indexes_sync, db_name, coll_name, None)
        wanted = [(field, direction) for field, direction in _key_items(keys)]
        for index in indexes:
            if list(index["key"].items()) == wanted and (name is None or index["name"] == name):
                return index["name"]
        message = (
            f"Cannot create new indexes on existing collection {db_name}.{coll_name} in a "
            "multi-document transaction."
        )
        raise server_error(NOT_IN_TRANSACTION, "OperationNotSupportedInTransaction", message)

    def _create_collections(self, transaction):
        """Create in the file the collections the transaction created; a namespace created
        meanwhile by someone else is a ``WriteConflict``. Returns the namespaces created."""
        overlay = transaction.overlay
        created = []
        for db_name, coll_name in sorted(transaction.absent):
            if not self._overlay_has_collection(transaction, db_name, coll_name):
                continue
            with overlay._lock, overlay._bind_connection(overlay._connection):
                options = overlay._collection_options_or_empty_sync(
                    overlay._connection, db_name, coll_name
                )
                indexes = overlay._list_indexes_sync(db_name, coll_name, None)
            created.append((db_name, coll_name, options, indexes))
        with self._lock:
            for db_name, coll_name, _options, _indexes in created:
                if self._collection_exists_sync(self._connection, db_name, coll_name):
                    raise WriteConflict(f"{db_name}.{coll_name}")
        done = []
        try:
            for db_name, coll_name, options, indexes in created:
                self._create_collection_sync(db_name, coll_name, options or None, None)
                done.append((db_name, coll_name))
                for index in indexes:
                    if index["name"] != "_id_":
                        arguments = {**_INDEX_DEFAULTS, **_index_arguments(index)}
                        self._create_index_sync(db_name, coll_name, **arguments)
        except BaseException:
            for db_name, coll_name in done:
                self._drop_collection_sync(db_name, coll_name, None)
            raise
        return done


#: engine DDL method -> how a transaction runs it (the others are refused with 263).
_CREATORS = {
    "create_collection": ConcurrentSQLiteEngine._create_collection_in_transaction,
    "create_index": ConcurrentSQLiteEngine._create_index_in_transaction,
}
#: ``_create_index_sync``'s arguments left at their defaults when rebuilding an index.
_INDEX_DEFAULTS = {
    "unique": False,
    "sparse": False,
    "hidden": False,
    "collation": None,
    "partial_filter_expression": None,
    "expire_after_seconds": None,
    "weights": None,
    "default_language": None,
    "language_override": None,
    "min_value": None,
    "max_value": None,
    "bucket_size": None,
    "max_time_ms": None,
    "context": None,
}


def _key_items(keys):
    """An index key specification (a dict, a list of pairs or a field name) as pairs."""
    if isinstance(keys, str):
        return [(keys, 1)]
    if isinstance(keys, dict):
        return list(keys.items())
    return [tuple(item) if not isinstance(item, str) else (item, 1) for item in keys]


def _index_arguments(index):
    """``create_index`` keyword arguments that rebuild the index described by ``index``."""
    arguments = {"keys": list(index["key"].items()), "name": index["name"]}
    for option, argument in _INDEX_OPTIONS.items():
        if option in index:
            arguments[argument] = index[option]
    return arguments


#: Commands answered on the loop itself: cheap, and they must answer while workers are busy.
_INLINE_COMMANDS = frozenset({"ping", "hello", "isMaster", "ismaster", "buildInfo", "buildinfo"})


class _LoopThread:
    """A thread running its own event loop, to run one command at a time... or many."""

    def __init__(self, index):
        self.loop = asyncio.new_event_loop()
        self.busy = 0
        self.thread = threading.Thread(
            target=self.loop.run_forever, name=f"embedded-commands-{index}", daemon=True
        )
        self.thread.start()

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


def attach(server, workers=8):
    """Make ``server`` live under load: commands off its loop, dropped connections logged."""
    run_commands_off_loop(server, workers)
    log_dropped_connections(server)


def log_dropped_connections(server):
    """Log why a connection was dropped (mongoeco closes it on a bad message, silently)."""
    handle = server._handle_connection

    async def handle_connection(reader, writer):
        peer = writer.get_extra_info("peername")
        try:
            await handle(reader, writer)
        except Exception as error:  # the connection is closed; the server keeps serving
            logger.warning("closed the connection from %s: %s", peer, error or type(error))

    server._handle_connection = handle_connection


def run_commands_off_loop(server, workers=8):
    """Run the server's commands on worker loops, so the accepting loop always answers.

    mongoeco evaluates pipeline stages in Python on the loop that runs the command; on the
    single loop that also reads every socket, one heavy aggregation stalls all clients (their
    drivers then time out and drop the server). Each command instead runs on the least busy
    of ``workers`` threads with loops of their own; the engine's SQLite work still goes to its
    executor, and ping/hello stay on the main loop.
    """
    executor = server._executor
    execute = executor.execute_prepared
    threads = [_LoopThread(index) for index in range(workers)]

    async def execute_prepared(context):
        if getattr(context, "command_name", None) in _INLINE_COMMANDS:
            return await execute(context)
        worker = min(threads, key=lambda candidate: candidate.busy)
        worker.busy += 1
        try:
            future = asyncio.run_coroutine_threadsafe(execute(context), worker.loop)
            return await asyncio.wrap_future(future)
        finally:
            worker.busy -= 1

    executor.execute_prepared = execute_prepared
    close = server.close

    async def close_and_stop_workers():
        try:
            await close()
        finally:
            for worker in threads:
                worker.stop()

    server.close = close_and_stop_workers
