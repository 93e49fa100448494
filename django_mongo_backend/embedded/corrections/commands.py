"""Commands mongoeco lacks or answers unlike MongoDB, answered by the server layer itself.

Each handler takes the executor and an ``OwnCommandContext`` and returns the reply document.
``executor.server.client`` is mongoeco's async client over the engine.
"""

from __future__ import annotations

from mongoeco import __version__ as MONGOECO_RELEASE
from mongoeco.core.json_compat import json_dumps_compact
from mongoeco.core.schema_validation import compile_collection_validator
from mongoeco.engines._sqlite_write_scope import sqlite_write_scope
from mongoeco.wire.executor import WireCommandExecutor

from ..server import kill_sessions
from . import index_identity
from .catalog import load_collection_options, to_stored
from .errors import server_error
from .search_indexes import COMMANDS as SEARCH_INDEX_COMMANDS
from .server_parameters import COMMANDS as SERVER_PARAMETER_COMMANDS


async def delegate(executor, context):
    """Run ``context``'s command as mongoeco would have (after our own checks or before our own
    post-processing): build mongoeco's request context, then execute it on the full executor."""
    prepared = WireCommandExecutor._build_request_context(
        executor, context.raw_body, connection=context.connection, db_name=context.db_name
    )
    return await executor.execute_prepared(prepared)


async def build_info(executor, context):
    """``buildInfo``: pymongo's ``server_info()`` needs it; report the MongoDB version emulated."""
    return {
        "version": "7.0.0",
        "versionArray": [7, 0, 0, 0],
        "gitVersion": f"mongoeco-{MONGOECO_RELEASE}",
        "bits": 64,
        "maxBsonObjectSize": executor._surface.max_bson_object_size,
        "storageEngines": ["mongoeco-sqlite"],
        "ok": 1.0,
    }


# -- collMod -----------------------------------------------------------------------------------

#: collMod options we apply -> the values MongoDB accepts (None: any document).
COLL_MOD_OPTIONS = {
    "validator": None,
    "validationLevel": {"off", "strict", "moderate"},
    "validationAction": {"error", "warn"},
}
#: Fields of the command that are not options to change.
_COLL_MOD_GENERIC = {"collMod", "writeConcern", "comment", "lsid", "txnNumber", "autocommit"}


def _coll_mod_changes(command):
    changes = {}
    for key, value in command.items():
        if key in _COLL_MOD_GENERIC:
            continue
        if key not in COLL_MOD_OPTIONS:
            raise server_error(72, "InvalidOptions", f"collMod option not supported here: {key}")
        allowed = COLL_MOD_OPTIONS[key]
        if allowed is None and not isinstance(value, dict):
            raise server_error(14, "TypeMismatch", f"'{key}' must be a document")
        if allowed is not None and value not in allowed:
            message = f"Enumeration value '{value}' for field '{key}' is not a valid value."
            raise server_error(2, "BadValue", message)
        changes[key] = value
    return changes


def _update_collection_options_sync(engine, db_name, coll_name, changes):
    """Merge ``changes`` into the collection's stored options, as createCollection stores them."""
    with engine._lock:
        conn = engine._require_connection(None)
        with sqlite_write_scope(
            conn,
            begin_write=lambda current: engine._begin_write(current, None),
            commit_write=lambda current: engine._commit_write(current, None),
            rollback_write=lambda current: engine._rollback_write(current, None),
        ):
            if not engine._collection_exists_sync(conn, db_name, coll_name):
                raise server_error(
                    26, "NamespaceNotFound", f"ns does not exist: {db_name}.{coll_name}"
                )
            engine._ensure_collection_row(conn, db_name, coll_name)
            options = load_collection_options(conn, db_name, coll_name) or {}
            options.update(changes)
            compile_collection_validator(options)
            conn.execute(
                "UPDATE collections SET options_json = ? WHERE db_name = ? AND coll_name = ?",
                (json_dumps_compact(to_stored(options), sort_keys=True), db_name, coll_name),
            )
        engine._invalidate_collection_features_cache(db_name, coll_name)


async def coll_mod(executor, context):
    """``collMod``: change a collection's validator, validationLevel and validationAction."""
    command = context.command_document
    coll_name = command.get("collMod")
    if not isinstance(coll_name, str) or not coll_name:
        raise server_error(73, "InvalidNamespace", "collMod requires a collection name")
    changes = _coll_mod_changes(command)
    engine = executor.server.client._engine
    await engine._run_blocking(
        _update_collection_options_sync, engine, context.db_name, coll_name, changes
    )
    return {"ok": 1.0}


# -- renameCollection --------------------------------------------------------------------------


def _split_namespace(value, field):
    if not isinstance(value, str) or "." not in value:
        raise server_error(73, "InvalidNamespace", f"Invalid {field} namespace: {value}")
    return value.split(".", 1)


async def rename_collection(executor, context):
    """``renameCollection`` with full namespaces, sent to ``admin`` (what ``Collection.rename``
    sends); mongoeco only renames inside the database the command is sent to."""
    command = context.command_document
    if context.db_name != "admin":
        message = "renameCollection may only be run against the admin database."
        raise server_error(13, "Unauthorized", message)
    source_db, source = _split_namespace(command.get("renameCollection"), "source")
    target_db, target = _split_namespace(command.get("to"), "target")
    drop_target = command.get("dropTarget", False)
    if source_db != target_db:
        message = "the embedded server cannot rename a collection across databases"
        raise server_error(20, "IllegalOperation", message)
    if source == target:
        raise server_error(20, "IllegalOperation", "Can't rename a collection to itself")
    database = executor.server.client.get_database(source_db)
    names = set(await database.list_collection_names())
    if source not in names:
        message = f"Source collection {source_db}.{source} does not exist"
        raise server_error(26, "NamespaceNotFound", message)
    if target in names:
        if not drop_target:
            raise server_error(48, "NamespaceExists", "target namespace exists")
        await database.drop_collection(target)
    await database.get_collection(source).rename(target)
    return {"ok": 1.0}


# -- getMore -----------------------------------------------------------------------------------


async def get_more(executor, context):
    """``getMore``: mongoeco answers an empty last batch for a killed or unknown cursor; MongoDB
    fails with CursorNotFound."""
    command = context.command_document
    cursor_id = command.get("getMore")
    store = executor._cursor_store
    if isinstance(cursor_id, int) and cursor_id not in store._state:
        raise server_error(43, "CursorNotFound", f"cursor id {cursor_id} not found")
    return store.get_more(
        command,
        db_name=context.db_name,
        lsid=context.raw_body.get("lsid"),
        connection=context.connection,
    )


# -- createIndexes / listIndexes --------------------------------------------------------------


async def _existing_indexes(executor, db_name, collection):
    database = executor.server.client.get_database(db_name)
    if collection not in set(await database.list_collection_names()):
        return []
    return [
        dict(index) for index in await database.get_collection(collection).list_indexes().to_list()
    ]


async def create_indexes(executor, context):
    """``createIndexes`` with MongoDB's rule for which indexes may coexist (``index_identity``):
    mongoeco refused any second index on a key pattern, and accepted an equivalent one of
    another name."""
    command = context.command_document
    collection, specs = command.get("createIndexes"), command.get("indexes")
    if isinstance(collection, str) and isinstance(specs, list):
        existing = await _existing_indexes(executor, context.db_name, collection)
        for spec in (spec for spec in specs if isinstance(spec, dict)):
            index_identity.check_index_request(spec, existing)
    return await delegate(executor, context)


def _mongodb_index_document(index):
    """An index document as MongoDB 4.4+ lists it: version ``v``, no ``ns``, ``unique`` only when
    true, and none on the ``_id`` index (unique by definition, not by option)."""
    document = {"v": 2, **{key: value for key, value in index.items() if key != "ns"}}
    if document.get("name") == "_id_" or document.get("unique") is False:
        document.pop("unique", None)
    return document


async def list_indexes(executor, context):
    """``listIndexes`` with MongoDB's index documents (see ``_mongodb_index_document``); a
    collection that does not exist is NamespaceNotFound (26), not an ``_id`` index."""
    command = context.command_document
    collection = command.get("listIndexes")
    database = executor.server.client.get_database(context.db_name)
    if isinstance(collection, str) and collection not in set(
        await database.list_collection_names()
    ):
        message = f"ns does not exist: {context.db_name}.{collection}"
        raise server_error(26, "NamespaceNotFound", message)
    reply = await delegate(executor, _whole_batch(context))
    cursor = reply.get("cursor")
    if isinstance(cursor, dict) and isinstance(cursor.get("firstBatch"), list):
        cursor["firstBatch"] = [
            _mongodb_index_document(dict(index)) for index in cursor["firstBatch"]
        ]
    return executor._cursor_store.materialize_command_result(
        command, reply, lsid=context.raw_body.get("lsid"), connection=context.connection
    )


def _whole_batch(context):
    """``context`` asking for every result in the first batch (we re-batch afterwards)."""
    raw_body = {key: value for key, value in context.raw_body.items() if key != "cursor"}
    return type(context)(
        db_name=context.db_name,
        command_name=context.command_name,
        command_document={k: v for k, v in context.command_document.items() if k != "cursor"},
        raw_body=raw_body,
        connection=context.connection,
    )


#: Command name (as clients send it) -> handler. Lookups are by the first key of the command.
OWN_COMMANDS = {
    "buildInfo": build_info,
    "buildinfo": build_info,
    **SEARCH_INDEX_COMMANDS,
    **SERVER_PARAMETER_COMMANDS,
    "collMod": coll_mod,
    "renameCollection": rename_collection,
    "getMore": get_more,
    "createIndexes": create_indexes,
    "listIndexes": list_indexes,
    "killAllSessions": kill_sessions.kill_all_sessions,
    "killSessions": kill_sessions.kill_sessions,
}
