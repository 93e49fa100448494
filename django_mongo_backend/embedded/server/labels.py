"""The error labels a MongoDB 7.0 primary attaches to a failed command (``errorLabels``).

Drivers decide from these labels what to retry: ``TransientTransactionError`` retries the whole
transaction, ``RetryableWriteError`` retries the write (or the commit/abort). The rules are the
server's ``ErrorLabelBuilder`` (``src/mongo/db/error_labels.cpp``), for a client that is not a
cluster member:

- a statement of a transaction (``txnNumber`` and ``autocommit``) gets
  ``TransientTransactionError`` for WriteConflict, LockTimeout, PreparedTransactionInProgress,
  the snapshot and retargeting codes, and, except on commit/abort, any retriable code and
  NoSuchTransaction; on commit/abort NoSuchTransaction only without a write concern error;
- a retryable write (``txnNumber`` without ``autocommit``) or a transaction's commit/abort gets
  ``RetryableWriteError`` when its code or its write concern error's code is retriable;
- a ``failCommand`` fail point's ``errorLabels`` replace these (``errorLabelsOverride``).
"""

from __future__ import annotations

from ..corrections import error_codes

TRANSIENT = "TransientTransactionError"
RETRYABLE_WRITE = "RetryableWriteError"
COMMIT_OR_ABORT = frozenset({"commitTransaction", "abortTransaction"})
#: Codes that make a transaction statement transient whatever the command.
_TRANSIENT_CODES = frozenset({112, 24, 267})
NO_SUCH_TRANSACTION = 251


def is_transient(code, *, has_write_concern_error, commit_or_abort):
    """``isTransientTransactionError`` of the server, for a statement of a transaction."""
    transient = (
        code in _TRANSIENT_CODES
        or code in error_codes.SNAPSHOT
        or code in error_codes.NEED_RETARGETTING
    )
    if commit_or_abort:
        return transient or (code == NO_SUCH_TRANSACTION and not has_write_concern_error)
    return transient or code in error_codes.RETRIABLE or code == NO_SUCH_TRANSACTION


def server_labels(body, command_name, code, write_concern_code=None):
    """The labels the server adds to a reply failing with ``code`` (None: the command itself
    succeeded) and/or a write concern error of ``write_concern_code``."""
    if body.get("txnNumber") is None:
        return []
    in_transaction = "autocommit" in body
    commit_or_abort = command_name in COMMIT_OR_ABORT
    if (
        in_transaction
        and code is not None
        and is_transient(
            code,
            has_write_concern_error=write_concern_code is not None,
            commit_or_abort=commit_or_abort,
        )
    ):
        return [TRANSIENT]
    if not in_transaction or commit_or_abort:
        retriable = code in error_codes.RETRIABLE or write_concern_code in error_codes.RETRIABLE
        if retriable:
            return [RETRYABLE_WRITE]
    return []
