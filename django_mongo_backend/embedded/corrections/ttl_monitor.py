"""MongoDB's TTL monitor: expired documents are deleted by a background pass, not when touched.

mongod deletes what a TTL index has expired in a background task, the TTL monitor, which wakes
up every ``ttlMonitorSleepSecs`` seconds (server parameter, 60 by default, greater than 0;
``src/mongo/db/ttl.idl``). Until its next pass an expired document is an ordinary document:
reads return it, counts count it, updates change it (manual, "TTL Indexes": "The TTL index does
not guarantee that expired data is deleted immediately upon expiration. There may be a delay
between the time that a document expires and the time that MongoDB removes the document").

mongoeco 4.11 deletes the expired documents of a collection whenever an operation touches it:
``SQLiteEngine._purge_expired_documents_sync`` runs before every read and write (and when a
TTL index is created). Here that method does nothing outside the monitor's pass, and the
monitor, an asyncio task of the wire server, calls it every ``ttlMonitorSleepSecs`` for each
collection that has a TTL index. Its deletes are writes outside any transaction: a document an
open transaction wrote is waited for, as any such write waits (``server/engine.py``).

``ttlMonitorSleepSecs`` and ``ttlMonitorEnabled`` are server parameters
(``server_parameters``): set them with ``DJANGO_MONGO_EMBEDDED_PARAMETERS=ttlMonitorSleepSecs=1``
in the server's environment, or at runtime with ``setParameter``. As in ``TTLMonitor::run``
(``src/mongo/db/ttl.cpp``), a change of the period moves the end of the sleep under way (its
start plus the new period: a shorter period may end it at once), and a monitor disabled wakes up
and skips its pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging

from mongoeco.engines.sqlite import SQLiteEngine

from .. import registry
from .server_parameters import ON_UPDATE, PARAMETERS

logger = logging.getLogger("django_mongo_backend.embedded")

PARAMETER = "ttlMonitorSleepSecs"
ENABLED = "ttlMonitorEnabled"

#: The sleeping monitors: (their event loop, the event that wakes them).
_sleepers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

#: The collections that have a TTL index (mongoeco's catalog table of indexes).
_TTL_NAMESPACES = (
    "SELECT DISTINCT db_name, coll_name FROM indexes WHERE expire_after_seconds IS NOT NULL "
    "ORDER BY db_name, coll_name"
)

#: True inside the monitor's pass: the only caller whose purge deletes anything.
_in_pass: contextvars.ContextVar[bool] = contextvars.ContextVar("ttl_pass", default=False)


def _purge_in_the_monitor_pass_only(purge):
    def purge_expired_documents(self, conn, db_name, coll_name, *, context, now):
        if not _in_pass.get():
            return 0
        return purge(self, conn, db_name, coll_name, context=context, now=now)

    return purge_expired_documents


def install():
    """Make mongoeco's purge the monitor's alone (idempotent)."""
    registry.replace(
        SQLiteEngine,
        "_purge_expired_documents_sync",
        wrap=_purge_in_the_monitor_pass_only,
        rule="expired documents stay until the TTL monitor's background pass "
        "(every ttlMonitorSleepSecs), not deleted when an operation touches them",
        test="tests/embedded/test_ttl_monitor.py::test_expired_documents_stay_until_the_pass",
    )


# -- the monitor ------------------------------------------------------------------------------


def _namespaces(engine):
    with engine._lock:
        return engine._require_connection(None).execute(_TTL_NAMESPACES).fetchall()


def _purge(engine, db_name, coll_name):
    token = _in_pass.set(True)
    try:
        with engine._lock:
            connection = engine._require_connection(None)
            with engine._bind_connection(connection):
                return engine._purge_expired_documents_sync(
                    connection, db_name, coll_name, context=None, now=engine._ttl_now()
                )
    finally:
        _in_pass.reset(token)


async def run_pass(engine):
    """One pass of the TTL monitor: the expired documents of every TTL index, deleted. Returns
    how many documents were deleted."""
    removed = 0
    for db_name, coll_name in await engine._run_blocking(_namespaces, engine):

        async def purge(db_name=db_name, coll_name=coll_name):
            return await engine._run_blocking(_purge, engine, db_name, coll_name)

        write_waiting = getattr(engine, "_write_waiting", None)
        try:
            removed += await (write_waiting(purge) if write_waiting else purge())
        except Exception:  # mongod logs a failed TTL delete and tries again at the next pass
            logger.exception("the TTL monitor could not delete from %s.%s", db_name, coll_name)
    return removed


async def _sleep():
    """Sleep ``ttlMonitorSleepSecs`` from now, the end moving with the parameter."""
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()
    sleeper = (loop, changed)
    _sleepers.add(sleeper)
    started = loop.time()
    try:
        while (remaining := started + PARAMETERS[PARAMETER] - loop.time()) > 0:
            changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
    finally:
        _sleepers.discard(sleeper)


def period_changed(_value=None):
    """Wake the sleeping monitors to read ``ttlMonitorSleepSecs`` again (its ``on_update``,
    ``TTLMonitor::updateSleepSeconds``); safe from any thread."""
    for loop, changed in list(_sleepers):
        loop.call_soon_threadsafe(changed.set)


ON_UPDATE[PARAMETER] = period_changed


async def _monitor(engine):
    while True:
        await _sleep()
        if not PARAMETERS[ENABLED]:
            continue
        try:
            await run_pass(engine)
        except Exception:
            logger.exception("the TTL monitor's pass failed")


def attach(server, engine):
    """Run the TTL monitor over ``engine`` while ``server`` (a mongoeco wire server) serves:
    started when it starts, stopped when it closes."""
    start, close = server.start, server.close
    task = None

    async def start_with_monitor():
        nonlocal task
        address = await start()
        if task is None:
            task = asyncio.get_running_loop().create_task(_monitor(engine), name="TTLMonitor")
        return address

    async def close_with_monitor():
        nonlocal task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            task = None
        await close()

    server.start, server.close = start_with_monitor, close_with_monitor
