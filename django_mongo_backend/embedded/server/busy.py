"""SQLite's lock, waited for inside the server: its "database is locked" never reaches a client.

One SQLite file takes one writer at a time. mongoeco opens several connections to it: the
engine's own (every command's reads and writes), one for change delivery (the outbox's consumers
and leases), one per transaction snapshot and dedicated reader, and one for each of its
background threads: the heartbeat renewing the registrations of change-stream consumers
(``_maintain_ephemeral_registrations``, every 60 s) and the lease heartbeat of each change
dispatch (``_maintain_change_dispatch_lease``, every 10 s). Each connection waits at most
Python's default 5 s for the lock (``sqlite3.connect(timeout=5.0)``), then SQLite answers
``SQLITE_BUSY`` and mongoeco passes it on:

- a client's command failed with ``database is locked`` once a writer (or a slow machine) kept
  the lock past 5 s;
- worse, a registration heartbeat that failed so kept its error, and mongoeco raised it to every
  later registration of a change consumer (which any new collection handle makes): one missed
  background write failed the commands of a whole test run after it.

``mongod`` never hands a storage engine's lock error to a client: a write waits for its lock,
until the command's ``maxTimeMS`` if it has one (then ``MaxTimeMSExpired``, 50). Here:

- every connection mongoeco opens waits ``busy_timeout()`` seconds for the lock (60 by
  default; ``DJANGO_MONGO_EMBEDDED_BUSY_TIMEOUT`` changes it), SQLite retrying with its own
  backoff;
- a write that still finds the lock taken (``begin_write``, where every engine write outside a
  transaction takes it, and a transaction's commit in ``engine``) waits again, logging, until it
  gets the lock or its ``maxTimeMS`` runs out (each wait inside SQLite cut to what is left of
  it): nothing has been written when ``BEGIN IMMEDIATE`` fails, so starting again is safe;
- the background maintenance retries a renewal the lock refused (the registrations live an hour
  and are renewed every minute, a lease lives 30 s and is renewed every 10 s), logging it; a
  heartbeat that died anyway is logged and restarted, never raised to a client;
- the change-delivery connection is rolled back after a failed statement, so that a failure
  does not leave it inside a stale transaction (where later writes would fail at once).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time

from mongoeco.engines import _sqlite_session_runtime as session_runtime
from mongoeco.engines import sqlite as sqlite_module
from mongoeco.engines._sqlite_connection import SQLiteConnection
from mongoeco.engines.sqlite import SQLiteEngine

from .. import registry
from ..corrections.errors import server_error

logger = logging.getLogger("django_mongo_backend.embedded")

#: Seconds each SQLite statement waits for the lock before SQLite gives up (``busy_timeout``).
BUSY_TIMEOUT_VARIABLE = "DJANGO_MONGO_EMBEDDED_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 60.0

#: SQLite's primary result codes for a lock held elsewhere (the low byte of extended codes).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6

_FIRST_PAUSE = 0.01
_LONGEST_PAUSE = 1.0

_TESTS = "tests/embedded/test_busy.py"


def busy_timeout():
    """How long (seconds) a statement waits for SQLite's lock, from the environment."""
    value = os.environ.get(BUSY_TIMEOUT_VARIABLE, "").strip()
    if not value:
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        logger.warning("ignoring %s=%r: not a number of seconds", BUSY_TIMEOUT_VARIABLE, value)
        return DEFAULT_BUSY_TIMEOUT
    return max(seconds, 0.0)


def is_busy(error):
    """Whether ``error`` is SQLite refusing a lock another connection holds."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "locked" in str(error)


def pauses():
    """Pauses between attempts: doubling from 10 ms up to a second."""
    pause = _FIRST_PAUSE
    while True:
        yield pause
        pause = min(pause * 2, _LONGEST_PAUSE)


def until_locked(attempt, what, *, deadline=None):  # noqa: RET503 (pauses() never ends)
    """``attempt()``, started again while SQLite refuses its lock, until ``deadline`` (a
    ``time.monotonic()`` value; then ``MaxTimeMSExpired``, as ``mongod`` answers a command whose
    lock wait outlasts its ``maxTimeMS``). Logs the wait and its end."""
    started = time.monotonic()
    failures = 0
    for pause in pauses():
        try:
            result = attempt()
        except sqlite3.OperationalError as error:
            if not is_busy(error):
                raise
            failures += 1
            if failures == 1:
                logger.warning("%s: SQLite's lock is held elsewhere (%s); waiting", what, error)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    logger.warning(
                        "%s: gave up waiting for SQLite's lock after %.1fs (maxTimeMS)",
                        what,
                        time.monotonic() - started,
                    )
                    raise server_error(
                        50, "MaxTimeMSExpired", "operation exceeded time limit"
                    ) from None
                pause = min(pause, remaining)
            time.sleep(pause)
            continue
        if failures:
            logger.warning(
                "%s: got SQLite's lock after %.1fs (%d attempts)",
                what,
                time.monotonic() - started,
                failures + 1,
            )
        return result


# -- every connection waits for the lock -------------------------------------------------------


class WaitingConnection(SQLiteConnection):
    """mongoeco's connection class, waiting ``busy_timeout()`` for the lock (not Python's 5 s)
    from its first statement on: the journal-mode pragma mongoeco runs first already needs the
    file. Given as the class every mongoeco connection is made with, it leaves the functions
    that open connections as they are, so other patches of them (the write-ahead log's limit)
    still apply."""

    def __init__(self, *args, **kwargs):
        kwargs["timeout"] = busy_timeout()
        super().__init__(*args, **kwargs)


# -- a write waits for the lock until its maxTimeMS ----------------------------------------------


def _waiting_begin_write(begin_write):
    def begin(self, conn, context):
        from .engine import write_deadline

        attempt = lambda: begin_write(self, conn, context)  # noqa: E731
        return until_locked_by(conn, attempt, "a write", write_deadline.get())

    return begin


def until_locked_by(conn, attempt, what, deadline):
    """``until_locked`` for an attempt taking ``conn``'s lock, each attempt's own wait inside
    SQLite cut to what is left before ``deadline``, so a ``maxTimeMS`` shorter than the busy
    timeout is kept."""
    if deadline is None:
        return until_locked(attempt, what)

    def bounded():
        left = min(busy_timeout(), max(deadline - time.monotonic(), 0.0))
        conn.execute(f"PRAGMA busy_timeout = {int(left * 1000)}")
        try:
            return attempt()
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout() * 1000)}")

    return until_locked(bounded, what, deadline=deadline)


# -- background maintenance retries, and never fails a client -------------------------------------


def _maintain_ephemeral_registrations(self, state):
    """mongoeco's registration heartbeat, retrying a renewal the lock refused (each renewal
    extends the registrations by an hour; one a minute late loses nothing)."""
    connection = None
    try:
        connection = self._create_sqlite_connection()
        retry = None
        while not state.stop.wait(
            sqlite_module._EPHEMERAL_CHANGE_CONSUMER_HEARTBEAT_SECONDS if retry is None else retry
        ):
            try:
                sqlite_module._sqlite_renew_ephemeral_consumers(
                    connection,
                    owner_instance=self._change_dispatch_owner,
                    now_epoch=time.time(),
                    ttl_seconds=sqlite_module._EPHEMERAL_CHANGE_CONSUMER_TTL_SECONDS,
                )
                connection.commit()
            except sqlite3.OperationalError as error:
                if not is_busy(error):
                    raise
                _roll_back(connection)
                retry = 1.0 if retry is None else min(retry * 2, 30.0)
                logger.warning(
                    "renewing change-stream consumer registrations: %s; retrying in %.0fs",
                    error,
                    retry,
                )
                continue
            if retry is not None:
                logger.warning("renewed change-stream consumer registrations after a retry")
            retry = None
    except BaseException as exc:
        logger.error("the change-stream registration heartbeat stopped: %r", exc)
        state.fail(exc)
    finally:
        if connection is not None:
            connection.close()


def _restarting_heartbeat(ensure):
    def _ensure_ephemeral_registration_heartbeat(self):
        with self._registration_heartbeat_guard:
            state = self._registration_heartbeat_state
            thread = self._registration_heartbeat_thread
            failed = state is not None and state.error() is not None
            if failed and (thread is None or not thread.is_alive()):
                logger.warning(
                    "restarting the change-stream registration heartbeat, which stopped on: %r",
                    state.error(),
                )
                self._registration_heartbeat_state = None
                self._registration_heartbeat_thread = None
        return ensure(self)

    return _ensure_ephemeral_registration_heartbeat


def _maintain_change_dispatch_lease(self, consumer_id, generation, heartbeat):
    """mongoeco's lease heartbeat, retrying a renewal the lock refused while the lease lasts
    (it is renewed every 10 s and lives 30 s)."""
    try:
        beat = sqlite_module._CHANGE_DISPATCH_HEARTBEAT_SECONDS
        wait = beat
        last_renewal = time.monotonic()
        while not heartbeat.stop.wait(wait):
            try:
                with self._change_delivery_storage() as conn:
                    renewed = sqlite_module._sqlite_renew_consumer_lease(
                        conn,
                        consumer_id,
                        (self._change_dispatch_owner, generation),
                        now_epoch=time.time(),
                        ttl_seconds=sqlite_module._CHANGE_DISPATCH_LEASE_TTL_SECONDS,
                    )
                    conn.commit()
            except sqlite3.OperationalError as error:
                age = time.monotonic() - last_renewal
                if not is_busy(error) or age >= sqlite_module._CHANGE_DISPATCH_LEASE_TTL_SECONDS:
                    raise
                wait = min(1.0, beat)
                logger.warning("renewing a change dispatch lease: %s; retrying", error)
                continue
            if not renewed:
                lost = sqlite_module.OperationFailure("change consumer dispatch lease was lost")
                heartbeat.fail(lost)
                return
            wait, last_renewal = beat, time.monotonic()
    except BaseException as exc:
        logger.error("a change dispatch lease heartbeat stopped: %r", exc)
        heartbeat.fail(exc)


def _rolling_back_change_delivery(storage):
    @contextlib.contextmanager
    def _change_delivery_storage(self, **kwargs):
        with storage(self, **kwargs) as conn:
            try:
                yield conn
            except sqlite3.Error:
                if conn is self._change_delivery_connection:
                    _roll_back(conn)
                raise

    return _change_delivery_storage


def _roll_back(connection):
    if connection.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            connection.rollback()


def install():
    """Apply the patches (idempotent)."""
    registry.replace(
        sqlite_module,
        "SQLiteConnection",
        WaitingConnection,
        rule="every SQLite connection waits busy_timeout() (60 s) for the lock, not Python's 5 s",
        test=f"{_TESTS}::test_a_write_waits_out_a_lock_held_past_five_seconds",
        kind=registry.SERVER,
    )
    registry.replace(
        session_runtime.SQLiteSessionRuntime,
        "begin_write",
        wrap=_waiting_begin_write,
        rule="a write waits for SQLite's lock as a mongod write waits for its lock: until "
        "maxTimeMS (then MaxTimeMSExpired, 50), never failing with the engine's error",
        test=f"{_TESTS}::test_a_write_outlasting_the_busy_timeout_waits_and_is_logged",
        kind=registry.SERVER,
    )
    registry.replace(
        SQLiteEngine,
        "_maintain_ephemeral_registrations",
        _maintain_ephemeral_registrations,
        rule="the registration heartbeat retries a renewal SQLite's lock refused, logging it",
        test=f"{_TESTS}::test_a_locked_registration_heartbeat_retries_and_never_fails_a_client",
        kind=registry.SERVER,
    )
    registry.replace(
        SQLiteEngine,
        "_ensure_ephemeral_registration_heartbeat",
        wrap=_restarting_heartbeat,
        rule="a registration heartbeat that died is logged and restarted, its error never "
        "raised to the client registering a change consumer",
        test=f"{_TESTS}::test_a_dead_registration_heartbeat_is_restarted_not_raised",
        kind=registry.SERVER,
    )
    registry.replace(
        SQLiteEngine,
        "_maintain_change_dispatch_lease",
        _maintain_change_dispatch_lease,
        rule="the dispatch lease heartbeat retries a renewal SQLite's lock refused while the "
        "lease lasts",
        test=f"{_TESTS}::test_a_locked_lease_renewal_is_retried",
        kind=registry.SERVER,
    )
    registry.replace(
        SQLiteEngine,
        "_change_delivery_storage",
        wrap=_rolling_back_change_delivery,
        rule="a failed statement on the change-delivery connection rolls its transaction back",
        test=f"{_TESTS}::test_a_failed_change_delivery_statement_leaves_no_open_transaction",
        kind=registry.SERVER,
    )
