"""The embedded wire server: mongoeco's proxy with our corrections in front of its executor.

mongoeco parses each wire message into a command document and hands it to an executor. We
swap in ``CorrectingExecutor``, which gives every correction one of three places to act:

- ``rewrites.rewrite_command``: the command document before mongoeco sees it (for example a
  pipeline stage the engine gets wrong, replaced by an equivalent it gets right);
- ``commands.OWN_COMMANDS``: commands the engine lacks, answered by us in full;
- ``errors.correct_error``: errors the engine raises, turned into what MongoDB sends.

Each correction cites MongoDB's documented behaviour in its test (``tests/embedded``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mongoeco.wire import AsyncMongoEcoProxyServer
from mongoeco.wire.executor import WireCommandExecutor

from .. import corrections, performance, server
from ..corrections import commands, errors, explain, rewrites, ttl_monitor, views
from . import replica_set, transactions
from .auth import HELLO_COMMANDS, ScramAuthService

# Every patch of mongoeco, one kind at a time. The performance paths come first, since the
# corrections wrap what they set (comparisons the engine methods of fastpaths, limits the
# functions fastpaths and operators replace), so a MongoDB rule holds on the fast path too;
# then the server's (ordering wraps the LazyCollection of joins).
performance.install()
corrections.install()
server.install()

logger = logging.getLogger("django_mongo_backend.embedded")

#: The SQLite file inside a server's data directory.
DATA_FILE = "mongo.sqlite3"


@dataclass(frozen=True, slots=True)
class OwnCommandContext:
    """A request that one of our own command handlers answers (mongoeco never sees it)."""

    db_name: str
    command_name: str
    command_document: dict[str, Any]
    raw_body: dict[str, Any]
    connection: Any


class CorrectingExecutor(WireCommandExecutor):
    """mongoeco's executor, with the engine's gaps and deviations corrected around it."""

    def __init__(self, client, cursor_store, session_store, surface=None, auth=None, *, server):
        super().__init__(client, cursor_store, session_store, surface=surface, auth=auth)
        self.server = server

    def _build_request_context(self, body, *, connection, db_name=None, on_normalized=None):
        transactions.refuse_stages(self, body)  # the pipeline as sent, before any rewrite
        body = rewrites.rewrite_command(body)
        command_name = next(iter(body), None)
        if command_name in commands.OWN_COMMANDS:
            if on_normalized is not None:
                on_normalized(command_name, body)
            command_document = {
                key: value for key, value in body.items() if not key.startswith("$")
            }
            return OwnCommandContext(
                db_name=db_name or body.get("$db"),
                command_name=command_name,
                command_document=command_document,
                raw_body=body,
                connection=connection,
            )
        return super()._build_request_context(
            body, connection=connection, db_name=db_name, on_normalized=on_normalized
        )

    async def execute_prepared(self, context):
        # As a replica set primary: fail points, cluster time, hello, error labels.
        return await replica_set.run_command(self, context, self._execute_corrected)

    def error_document(self, exc):
        return replica_set.error_reply(self.server, exc, super().error_document(exc))

    async def _execute_corrected(self, context):
        try:
            # One gate for every command (mongoeco leaves commitTransaction and abortTransaction
            # ungated): before authentication only what MongoDB allows runs.
            self._auth.require_authenticated(context.connection, context.command_name)
            # MongoDB's transaction rules (txnNumber, refusals, aborts) around every command.
            return await transactions.run_statement(self, context, self._execute_command)
        except Exception as error:
            corrected = errors.correct_error(error, context)
            if corrected is error:
                raise
            raise corrected from error

    async def _execute_command(self, context):
        # Reads through a view run its pipeline, writes to one are refused (corrections.views).
        return await views.execute(self, context, self._run_command)

    async def _run_command(self, context):
        if isinstance(context, OwnCommandContext):
            handler = commands.OWN_COMMANDS[context.command_name]
            return await handler(self, context)
        if context.command_name == "saslStart":
            # The user is looked up on the command's database ($db), which mongoeco's
            # command document no longer carries.
            body = {**context.command_document, "db": context.db_name}
            return self._auth.sasl_start(body, connection=context.connection)
        result = await super().execute_prepared(context)
        if context.command_name in HELLO_COMMANDS:
            result = self._auth.complete_hello(
                context.raw_body, result, connection=context.connection
            )
        return result


class EmbeddedServer(AsyncMongoEcoProxyServer):
    """A wire server over one data directory's SQLite engine, with our corrections."""

    def __init__(self, dbpath, *, host="127.0.0.1", port=0, users=()):
        """``users``: ``auth.User`` objects; with any, every connection must authenticate."""
        from .engine import attach, create_engine

        engine = create_engine(dbpath)
        super().__init__(engine=engine, host=host, port=port)
        self.dbpath = dbpath
        self._auth = ScramAuthService(users)
        self._executor = CorrectingExecutor(
            self._client,
            self._cursor_store,
            self._session_store,
            surface=self._surface,
            auth=self._auth,
            server=self,
        )
        attach(self)
        ttl_monitor.attach(self, engine)
        explain.attach(self)

    async def _dispatch_wire_request(self, header, payload, *, connection):
        response = await super()._dispatch_wire_request(header, payload, connection=connection)
        if replica_set.must_close(self, connection):  # failCommand's closeConnection
            raise ConnectionResetError("connection closed by the failCommand fail point")
        return response

    @property
    def client(self):
        """mongoeco's async API client over the engine (what our own commands run against)."""
        return self._client
