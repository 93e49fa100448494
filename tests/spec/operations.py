"""The unified format's operations, each mapped onto pymongo (unified-test-format.md,
"Entity Test Operations" and "Special Test Operations").

Each operation takes the test's context, its target object and its arguments (with ``session``
already resolved to the session entity) and returns the result in the format's shape
(``{"insertedId": ...}``, a list of documents...). Arguments the runner does not map raise
Unsupported, so a test using them is left out with that reason instead of failing.
"""

from __future__ import annotations

import contextlib

from pymongo import (
    DeleteMany,
    DeleteOne,
    InsertOne,
    ReplaceOne,
    ReturnDocument,
    UpdateMany,
    UpdateOne,
)
from pymongo.client_session_shared import _TxnState
from pymongo.operations import SearchIndexModel
from pymongo.results import BulkWriteResult

from .entities import read_concern, read_preference, transaction_options, write_concern
from .errors import Unsupported

# Unified-format argument -> pymongo keyword, per family of operations. Arguments of
# aggregate-like helpers that pymongo passes through to the command keep their own names.
COMMON = {"session": "session", "comment": "comment"}
WRITE = {**COMMON, "hint": "hint", "collation": "collation", "let": "let"}
UPDATE = {
    **WRITE,
    "upsert": "upsert",
    "arrayFilters": "array_filters",
    "bypassDocumentValidation": "bypass_document_validation",
    "sort": "sort",
}
FIND = {
    **COMMON,
    "filter": "filter",
    "projection": "projection",
    "sort": "sort",
    "skip": "skip",
    "limit": "limit",
    "batchSize": "batch_size",
    "hint": "hint",
    "collation": "collation",
    "let": "let",
    "allowDiskUse": "allow_disk_use",
    "min": "min",
    "max": "max",
    "returnKey": "return_key",
    "showRecordId": "show_record_id",
    "maxTimeMS": "max_time_ms",
    "noCursorTimeout": "no_cursor_timeout",
}
FIND_AND_MODIFY = {
    **COMMON,
    "filter": "filter",
    "projection": "projection",
    "sort": "sort",
    "upsert": "upsert",
    "hint": "hint",
    "let": "let",
    "arrayFilters": "array_filters",
    "collation": "collation",
    "maxTimeMS": "maxTimeMS",
    "bypassDocumentValidation": "bypassDocumentValidation",
}
PASS_THROUGH = {
    "allowDiskUse",
    "batchSize",
    "maxTimeMS",
    "collation",
    "hint",
    "bypassDocumentValidation",
}


def arguments(args, allowed, *, required=()):
    """``args`` renamed by ``allowed``; an argument outside it raises Unsupported."""
    unknown = set(args) - set(allowed)
    if unknown:
        raise Unsupported(f"arguments {sorted(unknown)}")
    missing = [name for name in required if name not in args]
    if missing:
        raise Unsupported(f"missing arguments {missing}")
    return {allowed[name]: value for name, value in args.items()}


def _sort(kwargs):
    if isinstance(kwargs.get("sort"), dict):
        kwargs["sort"] = list(kwargs["sort"].items())
    return kwargs


# --------------------------------------------------------------------------- results


def acknowledged(convert):
    """Unacknowledged writes have no counts: the format's result is ``{acknowledged: false}``."""

    def converted(result):
        if not result.acknowledged:
            return {"acknowledged": False}
        return convert(result)

    return converted


@acknowledged
def update_result(result):
    value = {
        "matchedCount": result.matched_count,
        "modifiedCount": result.modified_count,
        "upsertedCount": 0 if result.upserted_id is None else 1,
    }
    if result.upserted_id is not None:
        value["upsertedId"] = result.upserted_id
    return value


@acknowledged
def bulk_write_result(result):
    return {
        "deletedCount": result.deleted_count,
        "insertedCount": result.inserted_count,
        "matchedCount": result.matched_count,
        "modifiedCount": result.modified_count,
        "upsertedCount": result.upserted_count,
        "upsertedIds": {str(index): value for index, value in result.upserted_ids.items()},
    }


def bulk_write_error_result(error):
    return bulk_write_result(BulkWriteResult(error.details, True))


# --------------------------------------------------------------------------- collection


def insert_one(ctx, collection, args):
    kwargs = arguments(
        args,
        {
            **COMMON,
            "document": "document",
            "bypassDocumentValidation": "bypass_document_validation",
        },
    )
    return _inserted_id(collection.insert_one(**kwargs))


@acknowledged
def _inserted_id(result):
    return {"insertedId": result.inserted_id}


@acknowledged
def _inserted_ids(result):
    return {"insertedIds": {str(i): value for i, value in enumerate(result.inserted_ids)}}


@acknowledged
def _deleted_count(result):
    return {"deletedCount": result.deleted_count}


def insert_many(ctx, collection, args):
    allowed = {
        **COMMON,
        "documents": "documents",
        "ordered": "ordered",
        "bypassDocumentValidation": "bypass_document_validation",
    }
    return _inserted_ids(collection.insert_many(**arguments(args, allowed)))


def delete_one(ctx, collection, args):
    kwargs = arguments(args, {**WRITE, "filter": "filter"})
    return _deleted_count(collection.delete_one(**kwargs))


def delete_many(ctx, collection, args):
    kwargs = arguments(args, {**WRITE, "filter": "filter"})
    return _deleted_count(collection.delete_many(**kwargs))


def update_one(ctx, collection, args):
    kwargs = arguments(args, {**UPDATE, "filter": "filter", "update": "update"})
    return update_result(collection.update_one(**kwargs))


def update_many(ctx, collection, args):
    allowed = {k: v for k, v in UPDATE.items() if k != "sort"}
    kwargs = arguments(args, {**allowed, "filter": "filter", "update": "update"})
    return update_result(collection.update_many(**kwargs))


def replace_one(ctx, collection, args):
    allowed = {k: v for k, v in UPDATE.items() if k != "arrayFilters"}
    kwargs = arguments(args, {**allowed, "filter": "filter", "replacement": "replacement"})
    return update_result(collection.replace_one(**kwargs))


def _return_document(kwargs, args):
    if "returnDocument" in args:
        kwargs["return_document"] = {
            "Before": ReturnDocument.BEFORE,
            "After": ReturnDocument.AFTER,
        }[args["returnDocument"]]
    return kwargs


def find_one_and_update(ctx, collection, args):
    rest = {k: v for k, v in args.items() if k != "returnDocument"}
    kwargs = _sort(arguments(rest, {**FIND_AND_MODIFY, "update": "update"}))
    return collection.find_one_and_update(**_return_document(kwargs, args))


def find_one_and_replace(ctx, collection, args):
    rest = {k: v for k, v in args.items() if k != "returnDocument"}
    allowed = {k: v for k, v in FIND_AND_MODIFY.items() if k != "arrayFilters"}
    kwargs = _sort(arguments(rest, {**allowed, "replacement": "replacement"}))
    return collection.find_one_and_replace(**_return_document(kwargs, args))


def find_one_and_delete(ctx, collection, args):
    allowed = {
        k: v
        for k, v in FIND_AND_MODIFY.items()
        if k not in {"upsert", "arrayFilters", "bypassDocumentValidation"}
    }
    return collection.find_one_and_delete(**_sort(arguments(args, allowed)))


def find(ctx, collection, args):
    return list(collection.find(**_sort(arguments(args, FIND))))


def find_one(ctx, collection, args):
    return collection.find_one(**_sort(arguments(args, FIND)))


def create_find_cursor(ctx, collection, args):
    cursor = collection.find(**_sort(arguments(args, FIND)))
    ctx.cursors.append(cursor)
    return Prefetched(cursor)


class Prefetched:
    """A find cursor whose first batch is requested on creation, as createFindCursor requires."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.buffer = []
        with contextlib.suppress(StopIteration):
            self.buffer.append(next(cursor))

    def next(self):
        if self.buffer:
            return self.buffer.pop(0)
        return next(self.cursor)

    def close(self):
        self.cursor.close()


def aggregate(ctx, target, args):
    allowed = {**COMMON, "pipeline": "pipeline", "let": "let"}
    allowed.update({name: name for name in PASS_THROUGH})
    return list(target.aggregate(**arguments(args, allowed)))


def count_documents(ctx, collection, args):
    allowed = {**COMMON, "filter": "filter", "skip": "skip", "limit": "limit"}
    allowed.update({name: name for name in ("collation", "hint", "maxTimeMS")})
    return collection.count_documents(**arguments(args, allowed, required=["filter"]))


def estimated_document_count(ctx, collection, args):
    allowed = {"comment": "comment", "maxTimeMS": "maxTimeMS"}
    return collection.estimated_document_count(**arguments(args, allowed))


def count(ctx, collection, args):
    """The deprecated ``count`` helper (pymongo 4 has none): the ``count`` command it sends."""
    options = {name: name for name in ("skip", "limit", "collation", "hint", "maxTimeMS")}
    kwargs = arguments(args, {**COMMON, "filter": "filter", **options})
    command = {"count": collection.name, "query": kwargs.pop("filter", {})}
    command.update({name: kwargs.pop(name) for name in options if name in kwargs})
    reply = collection.database.command(command, **kwargs)
    return reply["n"]


def distinct(ctx, collection, args):
    allowed = {**COMMON, "fieldName": "key", "filter": "filter", "hint": "hint"}
    allowed.update({name: name for name in ("collation", "maxTimeMS")})
    kwargs = arguments(args, allowed)
    kwargs.setdefault("filter", {})
    return collection.distinct(**kwargs)


BULK_MODELS = {
    "insertOne": (InsertOne, {"document": "document"}),
    "updateOne": (
        UpdateOne,
        {
            "filter": "filter",
            "update": "update",
            "upsert": "upsert",
            "arrayFilters": "array_filters",
            "collation": "collation",
            "hint": "hint",
            "sort": "sort",
        },
    ),
    "updateMany": (
        UpdateMany,
        {
            "filter": "filter",
            "update": "update",
            "upsert": "upsert",
            "arrayFilters": "array_filters",
            "collation": "collation",
            "hint": "hint",
        },
    ),
    "replaceOne": (
        ReplaceOne,
        {
            "filter": "filter",
            "replacement": "replacement",
            "upsert": "upsert",
            "collation": "collation",
            "hint": "hint",
            "sort": "sort",
        },
    ),
    "deleteOne": (DeleteOne, {"filter": "filter", "collation": "collation", "hint": "hint"}),
    "deleteMany": (DeleteMany, {"filter": "filter", "collation": "collation", "hint": "hint"}),
}


def bulk_write(ctx, collection, args):
    allowed = {
        **COMMON,
        "requests": "requests",
        "ordered": "ordered",
        "let": "let",
        "bypassDocumentValidation": "bypass_document_validation",
    }
    kwargs = arguments(args, allowed)
    requests = []
    for request in kwargs["requests"]:
        (kind, spec), *_ = request.items()
        model, names = BULK_MODELS[kind]
        requests.append(model(**arguments(spec, names)))
    kwargs["requests"] = requests
    return bulk_write_result(collection.bulk_write(**kwargs))


def create_index(ctx, collection, args):
    kwargs = dict(args)
    keys = list(kwargs.pop("keys").items())
    session = kwargs.pop("session", None)
    comment = kwargs.pop("comment", None)
    return collection.create_index(keys, session=session, comment=comment, **kwargs)


def drop_index(ctx, collection, args):
    kwargs = arguments(args, {**COMMON, "name": "index_or_name"})
    return collection.drop_index(**kwargs)


def drop_indexes(ctx, collection, args):
    return collection.drop_indexes(**arguments(args, COMMON))


def list_indexes(ctx, collection, args):
    return list(collection.list_indexes(**arguments(args, COMMON)))


def create_search_index(ctx, collection, args):
    kwargs = arguments(args, {**COMMON, "model": "model"})
    kwargs["model"] = SearchIndexModel(**kwargs["model"])
    return collection.create_search_index(**kwargs)


def create_search_indexes(ctx, collection, args):
    kwargs = arguments(args, {**COMMON, "models": "models"})
    kwargs["models"] = [SearchIndexModel(**model) for model in kwargs["models"]]
    return collection.create_search_indexes(**kwargs)


def drop_search_index(ctx, collection, args):
    return collection.drop_search_index(**arguments(args, {**COMMON, "name": "name"}))


def update_search_index(ctx, collection, args):
    allowed = {**COMMON, "name": "name", "definition": "definition"}
    return collection.update_search_index(**arguments(args, allowed))


def list_search_indexes(ctx, collection, args):
    kwargs = arguments(
        args, {**COMMON, "name": "name", "aggregationOptions": "aggregation_options"}
    )
    options = kwargs.pop("aggregation_options", {})
    return list(collection.list_search_indexes(**kwargs, **options))


# --------------------------------------------------------------------------- database/client


def run_command(ctx, database, args):
    kwargs = arguments(
        args,
        {
            **COMMON,
            "command": "command",
            "commandName": "command_name",
            "readPreference": "read_preference",
        },
    )
    kwargs.pop("command_name", None)
    if "read_preference" in kwargs:
        kwargs["read_preference"] = read_preference(kwargs["read_preference"])
    return database.command(**kwargs)


def create_collection(ctx, database, args):
    kwargs = dict(args)
    name = kwargs.pop("collection")
    session = kwargs.pop("session", None)
    database.create_collection(name, session=session, check_exists=False, **kwargs)


def drop_collection(ctx, database, args):
    kwargs = arguments(args, {**COMMON, "collection": "name_or_collection"})
    database.drop_collection(**kwargs)


def modify_collection(ctx, database, args):
    kwargs = dict(args)
    session = kwargs.pop("session", None)
    command = {"collMod": kwargs.pop("collection"), **kwargs}
    return database.command(command, session=session)


def list_collections(ctx, database, args):
    allowed = {**COMMON, "filter": "filter", "batchSize": "batchSize"}
    return list(database.list_collections(**arguments(args, allowed)))


def list_collection_names(ctx, database, args):
    return database.list_collection_names(**arguments(args, {**COMMON, "filter": "filter"}))


def list_databases(ctx, client, args):
    kwargs = arguments(args, {**COMMON, "filter": "filter", "nameOnly": "nameOnly"})
    return list(client.list_databases(**kwargs))


def list_database_names(ctx, client, args):
    return client.list_database_names(**arguments(args, COMMON))


# --------------------------------------------------------------------------- sessions/cursors


TXN_OPTIONS = {"readConcern", "writeConcern", "readPreference", "maxCommitTimeMS"}


def _txn_kwargs(args):
    unknown = set(args) - TXN_OPTIONS
    if unknown:
        raise Unsupported(f"transaction arguments {sorted(unknown)}")
    options = transaction_options(args)
    return {
        "read_concern": options.read_concern if "readConcern" in args else None,
        "write_concern": options.write_concern if "writeConcern" in args else None,
        "read_preference": options.read_preference if "readPreference" in args else None,
        "max_commit_time_ms": args.get("maxCommitTimeMS"),
    }


def start_transaction(ctx, session, args):
    session.start_transaction(**_txn_kwargs(args))


def commit_transaction(ctx, session, args):
    arguments(args, {})
    session.commit_transaction()


def abort_transaction(ctx, session, args):
    arguments(args, {})
    session.abort_transaction()


def end_session(ctx, session, args):
    session.end_session()


def with_transaction(ctx, session, args):
    args = dict(args)
    callback = args.pop("callback")
    session.with_transaction(lambda _: ctx.run_callback(callback), **_txn_kwargs(args))


def iterate_until_document_or_error(ctx, cursor, args):
    return cursor.next()


def close_cursor(ctx, cursor, args):
    cursor.close()


OPERATIONS = {
    "insertOne": insert_one,
    "insertMany": insert_many,
    "deleteOne": delete_one,
    "deleteMany": delete_many,
    "updateOne": update_one,
    "updateMany": update_many,
    "replaceOne": replace_one,
    "findOneAndUpdate": find_one_and_update,
    "findOneAndReplace": find_one_and_replace,
    "findOneAndDelete": find_one_and_delete,
    "find": find,
    "findOne": find_one,
    "createFindCursor": create_find_cursor,
    "aggregate": aggregate,
    "countDocuments": count_documents,
    "estimatedDocumentCount": estimated_document_count,
    "count": count,
    "distinct": distinct,
    "bulkWrite": bulk_write,
    "createIndex": create_index,
    "dropIndex": drop_index,
    "dropIndexes": drop_indexes,
    "listIndexes": list_indexes,
    "createSearchIndex": create_search_index,
    "createSearchIndexes": create_search_indexes,
    "dropSearchIndex": drop_search_index,
    "updateSearchIndex": update_search_index,
    "listSearchIndexes": list_search_indexes,
    "runCommand": run_command,
    "createCollection": create_collection,
    "dropCollection": drop_collection,
    "modifyCollection": modify_collection,
    "listCollections": list_collections,
    "listCollectionNames": list_collection_names,
    "listDatabases": list_databases,
    "listDatabaseNames": list_database_names,
    "startTransaction": start_transaction,
    "commitTransaction": commit_transaction,
    "abortTransaction": abort_transaction,
    "endSession": end_session,
    "withTransaction": with_transaction,
    "iterateUntilDocumentOrError": iterate_until_document_or_error,
    "close": close_cursor,
}

# --------------------------------------------------------------------------- testRunner


TXN_STATES = {
    _TxnState.NONE: "none",
    _TxnState.STARTING: "starting",
    _TxnState.IN_PROGRESS: "in_progress",
    _TxnState.COMMITTED: "committed",
    _TxnState.COMMITTED_EMPTY: "committed",
    _TxnState.ABORTED: "aborted",
}


def _check(condition, message):
    if not condition:
        raise AssertionError(message)


def fail_point(ctx, args):
    client = ctx.entities[args["client"]]
    client.admin.command(args["failPoint"])
    ctx.fail_points.append(args["failPoint"]["configureFailPoint"])


def targeted_fail_point(ctx, args):
    # One server: the session's pinned mongos (if any) is that server.
    ctx.internal_client.admin.command(args["failPoint"])
    ctx.fail_points.append(args["failPoint"]["configureFailPoint"])


def assert_session_state(ctx, args):
    session = ctx.entities[args["session"]]
    state = TXN_STATES[session._transaction.state]
    _check(state == args["state"], f"session state {state}, expected {args['state']}")


def assert_session_pinned(ctx, args):
    session = ctx.entities[args["session"]]
    _check(session._pinned_address is not None, "session is not pinned")


def assert_session_unpinned(ctx, args):
    session = ctx.entities[args["session"]]
    _check(session._pinned_address is None, f"session is pinned to {session._pinned_address}")


def assert_session_dirty(ctx, args):
    session = ctx.entities[args["session"]]
    _check(session._server_session.dirty, "session is not dirty")


def assert_session_not_dirty(ctx, args):
    session = ctx.entities[args["session"]]
    _check(not session._server_session.dirty, "session is dirty")


def _last_two_lsids(ctx, args):
    started = ctx.entities.recorders[args["client"]].all_started
    _check(len(started) >= 2, "fewer than two commands were sent")
    return started[-2].command.get("lsid"), started[-1].command.get("lsid")


def assert_same_lsid(ctx, args):
    first, second = _last_two_lsids(ctx, args)
    _check(first == second, f"lsids differ: {first} {second}")


def assert_different_lsid(ctx, args):
    first, second = _last_two_lsids(ctx, args)
    _check(first != second, f"lsids are the same: {first}")


def _collection_names(ctx, args):
    return ctx.internal_client[args["databaseName"]].list_collection_names()


def assert_collection_exists(ctx, args):
    names = _collection_names(ctx, args)
    _check(args["collectionName"] in names, f"{args['collectionName']} not in {names}")


def assert_collection_not_exists(ctx, args):
    names = _collection_names(ctx, args)
    _check(args["collectionName"] not in names, f"{args['collectionName']} in {names}")


def _index_names(ctx, args):
    collection = ctx.internal_client[args["databaseName"]][args["collectionName"]]
    return [index["name"] for index in collection.list_indexes()]


def assert_index_exists(ctx, args):
    names = _index_names(ctx, args)
    _check(args["indexName"] in names, f"{args['indexName']} not in {names}")


def assert_index_not_exists(ctx, args):
    names = _index_names(ctx, args)
    _check(args["indexName"] not in names, f"{args['indexName']} in {names}")


def create_entities(ctx, args):
    ctx.entities.create(args["entities"])


RUNNER_OPERATIONS = {
    "failPoint": fail_point,
    "targetedFailPoint": targeted_fail_point,
    "assertSessionTransactionState": assert_session_state,
    "assertSessionPinned": assert_session_pinned,
    "assertSessionUnpinned": assert_session_unpinned,
    "assertSessionDirty": assert_session_dirty,
    "assertSessionNotDirty": assert_session_not_dirty,
    "assertSameLsidOnLastTwoCommands": assert_same_lsid,
    "assertDifferentLsidOnLastTwoCommands": assert_different_lsid,
    "assertCollectionExists": assert_collection_exists,
    "assertCollectionNotExists": assert_collection_not_exists,
    "assertIndexExists": assert_index_exists,
    "assertIndexNotExists": assert_index_not_exists,
    "createEntities": create_entities,
}

__all__ = ["OPERATIONS", "RUNNER_OPERATIONS", "read_concern", "write_concern"]
