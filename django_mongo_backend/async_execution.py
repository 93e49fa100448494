"""Native async execution: the sync ORM builds the commands, PyMongo's async client runs them.

Django's async queryset methods (``afirst()``, ``acount()``...) run the synchronous method in
a worker thread. ``run_natively(func)`` runs the same synchronous method on the event loop
instead, without I/O: while it runs, ``DatabaseWrapper.execute_command`` hands every command to
a ``_Replay`` rather than to the MongoClient. The first command without a result stops the run
(``_CommandNeeded``); it is awaited on a ``pymongo.AsyncMongoClient`` and the method runs again,
now receiving that result, until it returns. So there is one code path building commands (the
compilers), and the async side only decides how a command is run.

A method runs as many times as it sends commands, plus once: that is only correct for code
whose work apart from those commands is deterministic and free of side effects. Reads are;
``managers.MongoQuerySet`` checks the writes (no signal receivers, no values computed at save
time) before using this path, and falls back to Django's thread pool otherwise.

Async clients are per event loop (an ``AsyncMongoClient`` belongs to the loop it runs on),
built from the same settings as the synchronous client, or from the ``ASYNC_CLIENT`` setting.
They are closed when the loop's tasks are cancelled at the end of ``asyncio.run()`` (which is
how ASGI servers run), or by ``await close_async_clients()``.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import weakref

import pymongo
from asgiref.sync import AsyncToSync
from django.core.exceptions import ImproperlyConfigured, SynchronousOnlyOperation
from django.db import NotSupportedError

from .mongo_command import READ_METHODS, Documents, MongoCommand
from .sequences import SCHEMA_COLLECTION

# A run that only sent READ_METHODS commands may still fall back to the thread pool.

#: A method running natively sends at most this many commands (a runaway guard).
MAX_COMMANDS = 1000


class NativeUnavailable(Exception):
    """This call cannot run natively (and nothing was written): use Django's thread pool."""


class _CommandNeeded(BaseException):
    """Stops a run at a command that has no result yet.

    A BaseException, so that no ``except Exception`` in Django's code takes it for an error.
    """

    def __init__(self, wrapper, command):
        super().__init__(command)
        self.wrapper = wrapper
        self.command = command


class _Replay:
    """Answers the commands of one run from the results awaited so far.

    A command is answered by the first recorded equal command not yet used in this run, so a
    method that keeps state between runs (a queryset's result cache) and skips a command it
    already ran still gets the right answers for the others.
    """

    def __init__(self):
        self.recorded = []  # (alias, command, result, indexes of documents given an _id)
        self.used = set()
        self.writes = set()  # (alias, collection, method) of the writes sent

    @property
    def wrote(self):
        return bool(self.writes)

    def __call__(self, wrapper, command, transactional=True):
        for index, (alias, recorded, result, filled) in enumerate(self.recorded):
            if (
                index not in self.used
                and alias == wrapper.alias
                and _same_command(recorded, command, filled)
            ):
                self.used.add(index)
                return Documents(result) if isinstance(result, Documents) else result
        raise _CommandNeeded(wrapper, command)

    def record(self, wrapper, command, result, filled):
        self.recorded.append((wrapper.alias, command, result, filled))
        if command.method not in READ_METHODS:
            self.writes.add((wrapper.alias, command.collection, command.method))

    def check_not_sent(self, wrapper, command):
        """A write is sent once: a run asking for another one on the same collection means its
        command changed between runs (non-deterministic code); never send it twice."""
        key = (wrapper.alias, command.collection, command.method)
        if key in self.writes and command.collection != SCHEMA_COLLECTION:
            raise RuntimeError(
                f"{command.method} on {command.collection} changed between two runs of the "
                "same native async call; it was sent once and is not sent again"
            )


class _Stream(_Replay):
    """A replay that answers one read, the streamed one, with the batch of documents being
    read (``batch``), and any other command as ``_Replay`` does."""

    def __init__(self, wrapper, command):
        super().__init__()
        self.wrapper = wrapper
        self.command = command
        self.batch = None

    def __call__(self, wrapper, command, transactional=True):
        if (
            self.batch is not None
            and wrapper.alias == self.wrapper.alias
            and command == self.command
        ):
            return Documents(self.batch)
        return super().__call__(wrapper, command, transactional)


async def stream_natively(prepare, rows, batch_size):
    """What ``aiterator()`` yields, read batch by batch on the async client: lists of items.

    ``prepare()`` (synchronous, run natively) compiles the queryset and returns ``(wrapper,
    command)``: the read sent with ``batchSize``, None when nothing can match, or
    ``(wrapper, None)`` when the read cannot be streamed (a combined query's rows are
    combined on the client): ``rows()`` then runs natively once. Otherwise the read is opened
    as a cursor, and for each batch of at most ``batch_size`` documents ``rows()`` (the
    queryset's iterable, synchronous) runs again with that batch as the read's result: the
    items of those documents. Other commands it sends (a subquery's values) are awaited
    once and answered from their results after that.
    """
    replay = _Replay()
    prepared = await run_natively(prepare, replay)
    if prepared is None:
        return
    wrapper, command = prepared
    if command is None:
        yield await run_natively(rows, replay)
        return
    stream = _Stream(wrapper, command)
    stream.recorded = replay.recorded
    cursor, batch = await _open_cursor(wrapper, command, batch_size)
    try:
        while batch:
            stream.batch = batch
            yield await run_natively(rows, stream)
            if len(batch) < batch_size:
                return
            batch = await _next_batch(wrapper, cursor, batch_size)
    finally:
        await cursor.close()


async def _open_cursor(wrapper, command, batch_size):
    """The read's async cursor and its first batch (read inside ``recording``, as one
    command of ``connection.queries``)."""
    database = async_database(wrapper)
    target = database[command.collection]
    with wrapper.recording(command, path=", async"):
        if command.method == "find":
            cursor = target.find(*command.args, session=None, **command.kwargs)
        else:
            cursor = await target.aggregate(*command.args, session=None, **command.kwargs)
        return cursor, await cursor.to_list(batch_size)


async def _next_batch(wrapper, cursor, batch_size):
    from .base import MONGO_ERRORS

    try:
        return await cursor.to_list(batch_size)
    except MONGO_ERRORS as error:
        raise wrapper._translate(error) from error


def _documents_without_id(command):
    """insert_many gives the documents that lack an ``_id`` one (it adds the key to them)."""
    if command.method != "insert_many":
        return ()
    return tuple(i for i, document in enumerate(command.args[0]) if "_id" not in document)


def _same_command(recorded, command, filled):
    if recorded == command:
        return True
    if not filled or command.method != "insert_many" or recorded.collection != command.collection:
        return False
    # The recorded documents got their _id from pymongo; these are the same documents only
    # if they equal them with those ids, which they then receive (as pymongo would do).
    documents, sent = command.args[0], recorded.args[0]
    if len(documents) != len(sent) or any("_id" in documents[i] for i in filled):
        return False
    candidate = list(documents)
    for i in filled:
        candidate[i] = {**documents[i], "_id": sent[i]["_id"]}
    if (candidate, *command.args[1:]) != recorded.args or command.kwargs != recorded.kwargs:
        return False
    for i in filled:
        documents[i]["_id"] = sent[i]["_id"]
    return True


def called_from_sync_code():
    """True when a synchronous thread is waiting for this coroutine (``async_to_sync``).

    Django's async test methods and sync code calling async helpers run that way; Django's own
    async methods then run on the calling thread, on its connection and inside its ``atomic()``
    block, and so do ours (see ``managers.MongoQuerySet``).
    """
    return getattr(AsyncToSync.executors, "current", None) is not None


async def run_natively(func, replay=None):
    """Run ``func()`` (synchronous ORM code) with its commands sent by the async client
    (answered first from ``replay``'s results, if given)."""
    from .base import COMMAND_INTERCEPTOR

    replay = _Replay() if replay is None else replay
    while True:
        replay.used = set()
        token = COMMAND_INTERCEPTOR.set(replay)
        try:
            return func()
        except _CommandNeeded as needed:
            pending = needed
        except SynchronousOnlyOperation as error:
            # Something outside the command path needs a synchronous connection (an atomic()
            # block, a feature probe). Before any write that is simply Django's thread pool.
            if replay.wrote:
                raise
            raise NativeUnavailable(str(error)) from error
        finally:
            COMMAND_INTERCEPTOR.reset(token)
        if len(replay.recorded) >= MAX_COMMANDS:
            raise RuntimeError(f"more than {MAX_COMMANDS} commands in one native async call")
        wrapper, command = pending.wrapper, pending.command
        if command.method not in READ_METHODS:
            replay.check_not_sent(wrapper, command)
        filled = _documents_without_id(command)
        result = await execute(wrapper, command)
        replay.record(wrapper, command, result, filled)


async def execute(wrapper, command):
    """Run one ``MongoCommand`` on the async client of ``wrapper``'s database, in autocommit.

    Recorded in ``wrapper.queries`` and logged like the synchronous path; pymongo's errors
    become Django's.
    """
    database = async_database(wrapper)
    with wrapper.recording(command, path=", async"):
        return await _run(command, database)


async def _run(command, database):
    kind = type(command)
    if kind.run_async is not MongoCommand.run_async:
        return await command.run_async(database, None)
    if kind.run is not MongoCommand.run:
        raise NotSupportedError(f"{kind.__name__} has no async form (run_async)")
    target = database if command.collection is None else database[command.collection]
    result = getattr(target, command.method)(*command.args, session=None, **command.kwargs)
    if inspect.isawaitable(result):  # AsyncCollection.find() returns its cursor directly
        result = await result
    if hasattr(result, "to_list"):
        result = Documents(await result.to_list())
    return result


# -- clients ------------------------------------------------------------------------------


class _LoopClients:
    """The async clients of one event loop, closed when its tasks are cancelled at shutdown."""

    def __init__(self, loop):
        self.clients = {}  # key -> (client, owned)
        self.closed = False
        self.keeper = loop.create_task(self._keep(), name="django_mongo_backend clients")

    async def _keep(self):
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            await self.close()

    async def close(self):
        self.closed = True
        clients, self.clients = self.clients, {}
        for client, owned in clients.values():
            if owned:
                await client.close()


_loop_clients = weakref.WeakKeyDictionary()
#: alias -> (settings dict, client kwargs, database name): resolving an embedded:// host
#: checks the server's files, which is not worth doing per query.
_params = {}


def _clear_after_fork():
    _loop_clients.clear()
    _params.clear()


os.register_at_fork(after_in_child=_clear_after_fork)


def _connection_params(wrapper):
    cached = _params.get(wrapper.alias)
    if cached is None or cached[0] is not wrapper.settings_dict:
        params = wrapper.get_connection_params()
        cached = _params[wrapper.alias] = (wrapper.settings_dict, params["client"], params["name"])
    return cached[1], cached[2]


def check_async_client(client, alias):
    """``client`` if it is a ``pymongo.AsyncMongoClient``, else a clear ImproperlyConfigured."""
    if isinstance(client, pymongo.AsyncMongoClient):
        return client
    where = f"settings.DATABASES[{alias!r}]['ASYNC_CLIENT']"
    if (type(client).__module__ or "").partition(".")[0] == "motor":
        raise ImproperlyConfigured(
            f"{where} is a Motor client ({type(client).__name__}). Motor is end-of-life and "
            "not supported: pass a pymongo.AsyncMongoClient (it takes the same arguments), "
            "or a callable returning one."
        )
    if isinstance(client, pymongo.MongoClient):
        raise ImproperlyConfigured(
            f"{where} is a synchronous pymongo.MongoClient: pass a pymongo.AsyncMongoClient, "
            "or a callable returning one."
        )
    raise ImproperlyConfigured(
        f"{where} must be a pymongo.AsyncMongoClient or a callable returning one, not "
        f"{type(client).__name__}."
    )


def async_database(wrapper):
    """The ``AsyncDatabase`` of ``wrapper``'s settings on the running event loop."""
    loop = asyncio.get_running_loop()
    clients = _loop_clients.get(loop)
    if clients is None or clients.closed:
        clients = _loop_clients[loop] = _LoopClients(loop)
    kwargs, name = _connection_params(wrapper)
    given = wrapper.settings_dict.get("ASYNC_CLIENT")
    key = repr(sorted(kwargs.items())) if given is None else ("ASYNC_CLIENT", id(given))
    entry = clients.clients.get(key)
    if entry is None:
        if given is None:
            entry = (pymongo.AsyncMongoClient(**kwargs), True)
        elif callable(given) and not isinstance(given, pymongo.AsyncMongoClient):
            entry = (check_async_client(given(), wrapper.alias), True)
        else:
            entry = (check_async_client(given, wrapper.alias), False)
        clients.clients[key] = entry
    return entry[0][name]


def loop_clients():
    """The async clients created on the running loop (for tests and diagnostics)."""
    clients = _loop_clients.get(asyncio.get_running_loop())
    return [] if clients is None else [client for client, _owned in clients.clients.values()]


async def close_async_clients():
    """Close the async clients of the running event loop (they reopen on the next query).

    ``asyncio.run()`` does this by itself when it cancels the loop's remaining tasks; call it
    from an ASGI lifespan shutdown handler, or before closing a loop you manage yourself.
    """
    clients = _loop_clients.pop(asyncio.get_running_loop(), None)
    if clients is not None:
        clients.keeper.cancel()
        await clients.close()
