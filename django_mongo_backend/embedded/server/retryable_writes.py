"""Retryable writes: a write sent again with the same ``lsid`` and ``txnNumber`` is not redone.

Drivers retry a write once after a retryable error (a dropped connection, a ``RetryableWriteError``
label), with the session and transaction number of the first attempt. A replica set primary
remembers, per session, the outcome of the writes of its latest ``txnNumber`` (the
"Retryable Writes" manual page; the server's ``TransactionParticipant`` keeps the executed
statement ids) and answers a retry with that outcome instead of writing twice: without this, a
retried insert whose first attempt had succeeded failed with DuplicateKey, and a retried
``$inc`` incremented twice. Here the whole reply of a write command that succeeded is kept
for the session's latest ``txnNumber``; a retry of a command that failed runs again, as its
statements did not execute.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict

from mongoeco.wire._session_identity import wire_session_key

#: The commands drivers retry (the retryable writes specification's "Supported Write
#: Operations").
RETRYABLE_COMMANDS = frozenset({"insert", "update", "delete", "findAndModify", "findandmodify"})
#: Sessions remembered (the oldest are forgotten first).
MAX_SESSIONS = 10_000


def _txn_number(body):
    number = body.get("txnNumber")
    return getattr(number, "value", number)


class RetryableWrites:
    """The latest retryable write of each session and its reply."""

    def __init__(self):
        self._replies = OrderedDict()  # session key -> (txnNumber, command name, reply)
        self._lock = threading.Lock()

    @staticmethod
    def _key(command_name, body):
        """The session key of a retryable write (``txnNumber`` outside a transaction), or None."""
        if command_name not in RETRYABLE_COMMANDS or "autocommit" in body:
            return None
        if body.get("lsid") is None or _txn_number(body) is None:
            return None
        return wire_session_key(body["lsid"])

    def replay(self, command_name, body):
        """The reply of the first execution of this write, or None to execute it."""
        key = self._key(command_name, body)
        if key is None:
            return None
        with self._lock:
            entry = self._replies.get(key)
        if entry is None or entry[0] != _txn_number(body) or entry[1] != command_name:
            return None
        return copy.deepcopy(entry[2])

    def remember(self, command_name, body, reply):
        """Keep the reply of a write that succeeded, for its retries."""
        key = self._key(command_name, body)
        if key is None or not isinstance(reply, dict) or not reply.get("ok"):
            return
        if reply.get("writeErrors"):
            return
        with self._lock:
            self._replies[key] = (_txn_number(body), command_name, copy.deepcopy(reply))
            self._replies.move_to_end(key)
            while len(self._replies) > MAX_SESSIONS:
                self._replies.popitem(last=False)
