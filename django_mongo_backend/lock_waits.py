"""Waiting for documents another transaction holds: the one retry loop every such wait uses.

MongoDB has no lock queue. A transaction writing a document that another open transaction has
written fails at once with WriteConflict (112), and the server aborts it; PostgreSQL would
wait on the row lock instead. So the backend waits by trying again, with growing pauses, until
a deadline (the ``LOCK_TIMEOUT`` database setting): a write that conflicts
(``DatabaseWrapper.execute_command``), the replay of a transaction's log in a new server
transaction (``DatabaseWrapper._resume``) and the claim of ``select_for_update()``
(``compiler/row_locks.py``). Each raises its own error when the time is up; the loop, the
pauses and the deadline rule are here, once.
"""

from __future__ import annotations

from time import monotonic, sleep

#: select_for_update() and conflicting writes wait this long by default (``LOCK_TIMEOUT``).
DEFAULT_LOCK_TIMEOUT = 30.0


def growing_pauses():
    """Pauses between tries of a write another transaction holds: 10 ms, doubling to 0.5 s."""
    pause = 0.01
    while True:
        yield pause
        pause = min(pause * 2, 0.5)


class Held(Exception):
    """Raised by an attempt: another transaction holds what it needs.

    ``detail`` is handed to the caller's ``give_up``; the cause it is raised from
    (``raise Held(detail) from cause``) becomes the cause of the error raised at the deadline,
    so that error reads as if the caller had raised it from the conflict itself.
    """

    def __init__(self, detail=None):
        super().__init__(detail)
        self.detail = detail


def retry_while_held(attempt, *, deadline, give_up, before_retry=None):
    """The result of ``attempt()``, tried again for as long as it raises ``Held``.

    Between two tries: a pause (``growing_pauses``), then ``before_retry()`` (where the caller
    resumes the transaction the conflict aborted: after the pause, so ours holds nothing while
    it waits). When the next pause would end at or after ``deadline`` (a ``time.monotonic()``
    value; None: do not wait at all), the exception ``give_up(detail)`` returns is raised
    instead. Any other error of ``attempt()`` goes through untouched.
    """
    pauses = growing_pauses()
    while True:
        try:
            return attempt()
        except Held as held:
            conflict = held
        # Out of the except block: the caller's error is not chained to the Held signal.
        pause = next(pauses)
        if deadline is None or monotonic() + pause >= deadline:
            raise give_up(conflict.detail) from conflict.__cause__
        sleep(pause)
        if before_retry is not None:
            before_retry()
