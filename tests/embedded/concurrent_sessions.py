"""What the tests of concurrent transactions share (test_transactions.py and
test_transaction_unique_conflicts.py): two transactions open at once on two clients, the
WriteConflict the losing writer gets, and a write run in a thread to see whether it waits.
The second client is the ``other_client`` fixture (conftest.py here)."""

from __future__ import annotations

import contextlib
import threading

TRANSIENT = "TransientTransactionError"


def assert_write_conflict(error):
    assert error.code == 112
    assert error.details["codeName"] == "WriteConflict"
    assert error.has_error_label(TRANSIENT)


@contextlib.contextmanager
def two_transactions(first_client, second_client):
    """A session of each client, each in a transaction it has started: (first, second). The
    sessions end with the block, which aborts a transaction still open."""
    with first_client.start_session() as first, second_client.start_session() as second:
        first.start_transaction()
        second.start_transaction()
        yield first, second


def in_thread(function):
    """Run ``function`` in a thread: (the thread, {"result": ...} or {"error": ...})."""
    outcome = {}

    def run():
        try:
            outcome["result"] = function()
        except Exception as error:  # reported by the test
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome
