"""Multi-document transactions on the wire, as a MongoDB 7.0 replica set runs them.

mongoeco's wire layer ignores ``txnNumber``: it starts a transaction on ``startTransaction``
and otherwise runs every command as it comes. MongoDB keeps, per session, the number and state
of its transaction, and the engine (``engine.py``) only knows snapshots, overlays and locks.
``run_statement`` adds what MongoDB does around each statement (a command with
``autocommit: false``):

- before checking the session out, it refuses commands, databases and collections that are not
  allowed in transactions (``OperationNotSupportedInTransaction``, 263); such a refusal leaves
  the transaction as it was (server source: ``transaction_validation.cpp``,
  ``CommandHelpers::canUseTransactions`` in ``commands.cpp``);
- a statement of a transaction that was aborted (by an error, by ``abortTransaction``, for its
  age) or never started fails with ``NoSuchTransaction`` (251), labelled
  ``TransientTransactionError`` so drivers retry the whole transaction; a repeated
  ``commitTransaction`` of a committed transaction succeeds again;
- a statement that fails aborts the transaction (``invokeWithSessionCheckedOut`` in
  ``service_entry_point_common.cpp``); so does a write error, which the write command still
  reports in ``writeErrors`` (``handleError`` in ``write_ops_exec.cpp``), except a transient one
  (``WriteConflict``), which fails the whole command with its label;
- stages not allowed in transactions (checked on the pipeline as the client sent it, see
  ``refuse_stages``) and writes to ``system.*`` collections fail, and abort the transaction.

Commands outside transactions only get their ``maxTimeMS`` passed to the engine, which bounds how
long their writes wait for the document locks of open transactions.
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass

from mongoeco.errors import OperationFailure
from mongoeco.wire._session_identity import wire_session_key

from ..corrections import server_stages
from ..corrections.errors import server_error
from .engine import TRANSIENT, write_deadline

NOT_IN_TRANSACTION = (263, "OperationNotSupportedInTransaction")
NO_SUCH_TRANSACTION = 251
WRITE_CONFLICT = 112
MAX_TIME_MS_EXPIRED = 50

#: Commands allowed in a transaction (``allowedInTransactions()`` in MongoDB 7.0: the manual's
#: "Transactions and Operations", CRUD, explicit create and informational operations).
ALLOWED_COMMANDS = frozenset(
    {
        "abortTransaction",
        "aggregate",
        "buildInfo",
        "buildinfo",
        "commitTransaction",
        "connectionStatus",
        "create",
        "createIndexes",
        "delete",
        "distinct",
        "find",
        "findAndModify",
        "findandmodify",
        "getMore",
        "hello",
        "insert",
        "isMaster",
        "ismaster",
        "killCursors",
        "update",
    }
)
#: Commands refused with a message of their own.
COMMAND_MESSAGES = {
    "count": "Cannot run 'count' in a multi-document transaction. Please see "
    "http://dochub.mongodb.org/core/transaction-count for a recommended alternative.",
}
#: Databases no transaction may touch, and the message MongoDB sends.
REFUSED_DATABASES = {
    "local": "Cannot run command against the 'local' database in a transaction.",
    "config": "Cannot run command against the config database in a transaction.",
}
#: Collections no transaction may touch (any database).
REFUSED_COLLECTIONS = frozenset({"system.profile", "system.views"})
#: Aggregation stages whose constraints say ``TransactionRequirement::kNotAllowed`` (the
#: manual's list for ``aggregate`` in "Transactions and Operations").
REFUSED_STAGES = frozenset(
    {
        "$collStats",
        "$currentOp",
        "$indexStats",
        "$listLocalSessions",
        "$listSessions",
        "$merge",
        "$out",
        "$planCacheStats",
        "$unionWith",
    }
)
#: Write commands refused on ``system.*`` collections, and their codes (``write_commands.cpp``
#: and ``find_and_modify.cpp``: "Cannot write to system collection ... within a transaction.").
SYSTEM_WRITE_CODES = {
    "insert": (50791, "Location50791"),
    "update": (50791, "Location50791"),
    "delete": (50791, "Location50791"),
    "findAndModify": (50781, "Location50781"),
    "findandmodify": (50781, "Location50781"),
    "createIndexes": NOT_IN_TRANSACTION,
    "create": NOT_IN_TRANSACTION,
}
#: Commands that create collections or indexes: a transaction runs them only with read concern
#: "local" (manual: "Create Collections and Indexes in a Transaction"; the server's jstest
#: ``create_collection_and_index_disallowed_with_readconcern.js`` expects InvalidOptions).
CREATING_COMMANDS = frozenset({"create", "createIndexes"})
#: Commands that end a transaction: their failures are reported, not turned into aborts.
ENDING_COMMANDS = frozenset({"commitTransaction", "abortTransaction"})


class _Refused(Exception):
    """A statement refused before it ran: the transaction is left as it was."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


@dataclass
class _Record:
    """MongoDB's view of one session's transaction: its number and state."""

    number: int
    state: str  # "active", "aborted" or "committed"
    #: The transaction's read concern level, as its first statement gave it (None: default).
    read_concern: str | None = None


_RECORDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _records(executor):
    records = _RECORDS.get(executor)
    if records is None:
        records = _RECORDS[executor] = {}
    return records


def _transient(code, code_name, message):
    """An error labelled ``TransientTransactionError``: drivers retry the whole transaction."""
    return OperationFailure(
        message, code=code, details={"codeName": code_name}, error_labels=TRANSIENT
    )


def no_such_transaction(number, *, aborted):
    text = (
        f"Transaction with {{ txnNumber: {number} }} has been aborted."
        if aborted
        else f"Given transaction number {number} does not match any in-progress transactions."
    )
    return _transient(NO_SUCH_TRANSACTION, "NoSuchTransaction", text)


def _not_in_transaction(message):
    return server_error(*NOT_IN_TRANSACTION, message)


def refusal(command_name, db_name, command_document):
    """The error MongoDB sends before running ``command_name`` in a transaction, or None."""
    if command_name in COMMAND_MESSAGES:
        return _not_in_transaction(COMMAND_MESSAGES[command_name])
    if command_name not in ALLOWED_COMMANDS:
        return _not_in_transaction(f"Cannot run '{command_name}' in a multi-document transaction.")
    if db_name in REFUSED_DATABASES:
        return _not_in_transaction(REFUSED_DATABASES[db_name])
    collection = command_document.get(command_name)
    if isinstance(collection, str) and collection in REFUSED_COLLECTIONS:
        return _not_in_transaction(
            f"Cannot run command against the '{db_name}.{collection}' collection in a transaction."
        )
    return None


def execution_error(command_name, db_name, command_document, read_concern=None):
    """The error MongoDB raises while running the statement (it aborts the transaction)."""
    if command_name in CREATING_COMMANDS and read_concern not in (None, "local"):
        return server_error(
            72,
            "InvalidOptions",
            f"Cannot run '{command_name}' in a multi-document transaction with read concern "
            f"level '{read_concern}': collections and indexes are created only with 'local'",
        )
    collection = command_document.get(command_name)
    if (
        command_name in SYSTEM_WRITE_CODES
        and isinstance(collection, str)
        and collection.startswith("system.")
    ):
        code, code_name = SYSTEM_WRITE_CODES[command_name]
        return server_error(
            code,
            code_name,
            f"Cannot write to system collection {db_name}.{collection} within a transaction.",
        )
    return None


def refuse_stages(executor, body):
    """Fail a transaction's aggregation that has a stage transactions refuse, and abort.

    Called on the command as the client sent it, before ``rewrites`` may replace a stage by
    one that transactions refuse (``$documents`` becomes a ``$unionWith``). Only the live
    transaction is checked: a dead one gets ``NoSuchTransaction`` from ``run_statement``.
    """
    if body.get("autocommit") is not False or body.get("lsid") is None:
        return
    stage = refused_stage(body.get("pipeline")) if "aggregate" in body else None
    if stage is None:
        return
    number = _txn_number(body)
    key = wire_session_key(body["lsid"])
    records = _records(executor)
    record = records.get(key)
    if body.get("startTransaction") is True:
        if record is not None and record.state == "active":
            _abort_session(executor, key, record)
        records[key] = _Record(number, "aborted")
    elif record is not None and record.state == "active" and record.number == number:
        _abort_session(executor, key, record)
    else:
        return
    raise _not_in_transaction(
        f"Stage not supported inside of a multi-document transaction: {stage}"
    )


def _txn_number(body):
    number = body.get("txnNumber")
    return getattr(number, "value", number)  # mongoeco wraps int64 values (BsonInt64)


def _abort_session(executor, key, record):
    """Abort the transaction on the server: its writes are dropped, its locks released."""
    record.state = "aborted"
    wire_session = executor._session_store._sessions.get(key)
    session = wire_session.session if wire_session is not None else None
    if session is not None and session.active and session.transaction_active:
        session.abort_transaction()


def refused_stage(pipeline):
    """The first stage of ``pipeline`` (sub-pipelines included) refused in transactions."""
    if not isinstance(pipeline, list):
        return None
    for stage in pipeline:
        if not isinstance(stage, dict) or len(stage) != 1:
            continue
        ((name, spec),) = stage.items()
        if name in REFUSED_STAGES:
            return name
        for sub_pipeline in _sub_pipelines(name, spec):
            found = refused_stage(sub_pipeline)
            if found is not None:
                return found
    return None


def _sub_pipelines(name, spec):
    if not isinstance(spec, dict):
        return ()
    if name in ("$lookup", "$unionWith"):
        return (spec.get("pipeline"),)
    if name == "$facet":
        return tuple(spec.values())
    return ()


async def run_statement(executor, context, dispatch):
    """Run ``context`` through ``dispatch`` under MongoDB's transaction rules (see module)."""
    body = getattr(context, "raw_body", None) or {}
    if body.get("autocommit") is not False or body.get("lsid") is None:
        max_time_ms = (getattr(context, "command_document", None) or {}).get("maxTimeMS")
        deadline = None
        if isinstance(max_time_ms, int | float) and max_time_ms > 0:
            deadline = time.monotonic() + max_time_ms / 1000
        token = write_deadline.set(deadline)
        try:
            result = await server_stages.run(executor, context, dispatch)
        finally:
            write_deadline.reset(token)
        interrupted = _interruption(result)
        if interrupted is not None:
            raise interrupted
        return result
    return await _Statement(executor, context, body).run(dispatch)


class _Statement:
    """One command of a transaction, with the session's record and mongoeco session."""

    def __init__(self, executor, context, body):
        self.executor = executor
        self.context = context
        self.name = context.command_name
        self.number = _txn_number(body)
        self.starts = body.get("startTransaction") is True
        self.key = wire_session_key(body["lsid"])
        self.records = _records(executor)
        wire_session = executor._session_store._sessions.get(self.key)
        self.session = wire_session.session if wire_session is not None else None
        self.engine = executor._client._engine

    async def run(self, dispatch):
        context = self.context
        try:
            record = self._begin()
            if self.starts and self.name == "killCursors":
                raise _Refused(
                    _not_in_transaction(
                        "Cannot run killCursors as the first operation in a multi-document "
                        "transaction."
                    )
                )
            error = refusal(self.name, context.db_name, context.command_document)
            if error is not None:
                raise _Refused(error)
        except _Refused as refused:
            if self.starts:  # the transaction never started
                self._abort(self.records[self.key])
            raise refused.error from None
        if self.name == "commitTransaction" and record.state == "committed":
            return {"ok": 1.0}
        try:
            error = execution_error(
                self.name, context.db_name, context.command_document, record.read_concern
            )
            if error is not None:
                raise error
            result = await dispatch(context)
        except Exception as error:
            self._abort(record)
            if getattr(error, "code", None) == WRITE_CONFLICT and not _has_label(error):
                raise _transient(WRITE_CONFLICT, "WriteConflict", str(error)) from error
            raise
        if self.name == "commitTransaction":
            record.state = "committed"
        elif self.name == "abortTransaction":
            record.state = "aborted"
        elif isinstance(result, dict) and (result.get("writeErrors") or not result.get("ok", 1)):
            self._abort(record)
            transient = _transient_write_error(result)
            if transient is not None:
                raise transient
        return result

    def _begin(self):
        """The session's record for this statement's transaction; refuse a dead one."""
        record = self.records.get(self.key)
        if self.starts:
            session = self.session
            if record is not None and record.state == "active" and record.number != self.number:
                # A new number implicitly ends the previous transaction; mongoeco kept it.
                self._abort(record)
                if session is not None and not session.transaction_active:
                    session.start_transaction()
            record = self.records[self.key] = _Record(
                self.number, "active", _read_concern_level(self.context)
            )
            return record
        if record is None or record.number != self.number:
            raise _Refused(no_such_transaction(self.number, aborted=False))
        expired = self.session is not None and self.engine.transaction_expired(self.session)
        if record.state == "active" and expired:
            self._abort(record)
        if record.state == "committed" and self.name == "commitTransaction":
            return record
        if record.state != "active":
            raise _Refused(no_such_transaction(self.number, aborted=True))
        return record

    def _abort(self, record):
        _abort_session(self.executor, self.key, record)


def _read_concern_level(context):
    body = getattr(context, "raw_body", None) or {}
    read_concern = body.get("readConcern")
    if isinstance(read_concern, dict) and isinstance(read_concern.get("level"), str):
        return read_concern["level"]
    return None


def _transient_write_error(result):
    """A write error MongoDB raises instead of reporting it (``WriteConflict``), or None."""
    for write_error in result.get("writeErrors") or ():
        if write_error.get("code") == WRITE_CONFLICT:
            return _transient(WRITE_CONFLICT, "WriteConflict", write_error.get("errmsg", ""))
    return None


def _interruption(result):
    """MongoDB fails the whole write command on ``MaxTimeMSExpired`` (``handleError``)."""
    if not isinstance(result, dict):
        return None
    for write_error in result.get("writeErrors") or ():
        if write_error.get("code") == MAX_TIME_MS_EXPIRED:
            return server_error(
                MAX_TIME_MS_EXPIRED, "MaxTimeMSExpired", write_error.get("errmsg", "")
            )
    return None


def _has_label(error):
    return TRANSIENT[0] in (getattr(error, "error_labels", None) or ())
