"""Aggregation stages the server layer runs itself: ``$out``, ``$merge`` whenMatched ``fail`` and
``$listLocalSessions``.

mongoeco has no ``$out`` ("Unsupported aggregation stage"), reports ``$merge``'s
``whenMatched: 'fail'`` without MongoDB's DuplicateKey error, and cannot read the server's
sessions. ``run`` takes over the aggregate commands that need them (outside transactions,
which refuse these stages before they get here) and runs the rest of the pipeline through
mongoeco's API:

- ``$out`` (manual, "$out"): the results go to a temporary collection of the target database
  (``tmp.agg_out.<uuid>``) with the target's options and indexes, which then replaces the
  target (MongoDB renames it over the target with ``dropTarget``); a failure (a duplicate key
  in the results, a validation error) leaves the target as it was. ``$out`` must be the last
  stage (40601) and no sub-pipeline may hold it ($facet 40600, $lookup 51047, $unionWith
  31441); the target cannot be a view or capped, in ``admin``/``config``/``local`` or a
  ``system.`` collection, and the read concern cannot be linearizable (``document_source_out``
  in the server source);
- ``$merge`` with ``whenMatched: 'fail'`` and ``whenNotMatched: 'insert'`` is an ordered insert
  (MongoDB inserts the batch; the unique ``_id`` index refuses a match): a match fails with
  DuplicateKey (11000) and its ``keyPattern``/``keyValue``, earlier documents stay;
- ``$listLocalSessions`` (manual): the sessions this server holds in memory, as
  ``{_id: {id, uid}, lastUse}``; without authentication ``uid`` is the SHA-256 of the empty
  user name.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid

from bson.binary import Binary
from mongoeco.errors import BulkWriteError, OperationFailure
from mongoeco.types import ObjectId
from mongoeco.wire._session_identity import wire_session_key
from mongoeco.wire.executor import WireCommandExecutor

from .errors import server_error

INTERNAL_DATABASES = frozenset({"admin", "config", "local"})
#: Sub-pipeline stage -> (code, message template) for an output stage inside it.
NESTED_REFUSALS = {
    "$facet": (40600, "{stage} is not allowed to be used within a $facet stage"),
    "$lookup": (51047, "{stage} is not allowed within a $lookup's sub-pipeline"),
    "$unionWith": (31441, "{stage} is not allowed within a $unionWith's sub-pipeline"),
}
OUTPUT_STAGES = ("$out", "$merge")
#: Write error code -> codeName, for errors of the inserts ``$out`` and ``$merge`` run.
WRITE_ERROR_NAMES = {11000: "DuplicateKey", 121: "DocumentValidationFailure"}
#: aggregate command field -> mongoeco ``aggregate()`` keyword.
AGGREGATE_OPTIONS = {
    "collation": "collation",
    "hint": "hint",
    "comment": "comment",
    "maxTimeMS": "max_time_ms",
    "allowDiskUse": "allow_disk_use",
    "let": "let",
}

#: (executor id, session key) -> (lsid, last use): the sessions seen, for $listLocalSessions.
_LAST_USE: dict = {}


async def run(executor, context, dispatch):
    """Run ``context`` (outside any transaction), taking over the stages this module runs."""
    body = getattr(context, "raw_body", None) or {}
    if isinstance(body.get("lsid"), dict):
        _LAST_USE[(id(executor), wire_session_key(body["lsid"]))] = (body["lsid"], _now())
    if getattr(context, "command_name", None) != "aggregate":
        return await dispatch(context)
    pipeline = body.get("pipeline")
    if not isinstance(pipeline, list) or not pipeline:
        return await dispatch(context)
    check_output_stages(pipeline)
    if _stage_name(pipeline[0]) == "$listLocalSessions":
        body = _with_sessions(executor, body, pipeline)
        pipeline = body["pipeline"]
        context = WireCommandExecutor._build_request_context(
            executor, body, connection=context.connection, db_name=context.db_name
        )
    last = _stage_name(pipeline[-1])
    read_concern = body.get("readConcern")
    level = read_concern.get("level") if isinstance(read_concern, dict) else None
    if last in OUTPUT_STAGES and level == "linearizable":
        message = f"{last} cannot be used with a 'linearizable' read concern level"
        raise server_error(72, "InvalidOptions", message)
    if last == "$out":
        return await _run_out(executor, context, body, pipeline[-1]["$out"])
    if last == "$merge" and _is_insert_merge(pipeline[-1]["$merge"]):
        return await _run_insert_merge(executor, context, body, pipeline[-1]["$merge"], dispatch)
    return await dispatch(context)


def _stage_name(stage):
    if isinstance(stage, dict) and len(stage) == 1:
        return next(iter(stage))
    return None


def check_output_stages(pipeline, within=None):
    """Refuse an output stage that is not last, or that a sub-pipeline holds."""
    for position, stage in enumerate(pipeline):
        name = _stage_name(stage)
        if name in OUTPUT_STAGES:
            if within is not None:
                code, template = NESTED_REFUSALS[within]
                raise server_error(code, f"Location{code}", template.format(stage=name))
            if position != len(pipeline) - 1:
                message = f"{name} can only be the final stage in the pipeline"
                raise server_error(40601, "Location40601", message)
        spec = stage.get(name) if name else None
        if name == "$facet" and isinstance(spec, dict):
            for sub in spec.values():
                if isinstance(sub, list):
                    check_output_stages(sub, "$facet")
        elif name in ("$lookup", "$unionWith") and isinstance(spec, dict):
            sub = spec.get("pipeline")
            if isinstance(sub, list):
                check_output_stages(sub, name)


# -- running the pipeline before the output stage --------------------------------------------


async def _results(executor, context, body, pipeline):
    """The documents ``pipeline`` yields on the command's collection, with its options."""
    options = {
        keyword: body[field]
        for field, keyword in AGGREGATE_OPTIONS.items()
        if body.get(field) is not None
    }
    database = executor.server.client.get_database(context.db_name)
    cursor = database.get_collection(body["aggregate"]).aggregate(pipeline, **options)
    return await cursor.to_list()


def _empty_cursor(context, body):
    return {
        "cursor": {"id": 0, "ns": f"{context.db_name}.{body['aggregate']}", "firstBatch": []},
        "ok": 1.0,
    }


async def _insert(collection, documents, *, bypass):
    """Insert in order; a write error fails as the aggregate's error, with its key fields."""
    if not documents:
        return
    try:
        await collection.insert_many(documents, ordered=True, bypass_document_validation=bypass)
    except BulkWriteError as error:
        write_error = (error.details.get("writeErrors") or [{}])[0]
        code = write_error.get("code")
        details = {
            key: write_error[key] for key in ("keyPattern", "keyValue") if key in write_error
        }
        details["codeName"] = WRITE_ERROR_NAMES.get(code, f"Location{code}")
        message = write_error.get("errmsg", str(error))
        raise OperationFailure(message, code=code, details=details) from None


# -- $out ------------------------------------------------------------------------------------


def _out_target(spec, db_name):
    if isinstance(spec, str):
        target_db, target = db_name, spec
    elif isinstance(spec, dict):
        target_db, target = spec.get("db"), spec.get("coll")
        for field, value in (("db", target_db), ("coll", target)):
            if not isinstance(value, str):
                message = f"BSON field '$out.{field}' is missing but a required field"
                raise server_error(40414, "Location40414", message)
    else:
        message = f"$out only supports a string or object argument, not {type(spec).__name__}"
        raise server_error(16990, "Location16990", message)
    if not target or not target_db:
        raise server_error(73, "InvalidNamespace", f"Invalid $out target namespace: {spec}")
    if target_db in INTERNAL_DATABASES:
        message = f"Can't $out to internal database: {target_db}"
        raise server_error(31321, "Location31321", message)
    if target.startswith("system."):
        message = f"Can't $out to special collection: {target}"
        raise server_error(17385, "Location17385", message)
    return target_db, target


async def _run_out(executor, context, body, spec):
    target_db, target = _out_target(spec, context.db_name)
    client = executor.server.client
    database = client.get_database(target_db)
    existing = {
        info["name"]: info async for info in await database.list_collections({"name": target})
    }
    info = existing.get(target)
    options = dict((info or {}).get("options") or {})
    if info is not None and info.get("type") == "view":
        message = f"Namespace {target_db}.{target} is a view, not a collection"
        raise server_error(166, "CommandNotSupportedOnView", message)
    if options.get("capped"):
        message = f"namespace '{target_db}.{target}' is capped so it can't be used for $out"
        raise server_error(17152, "Location17152", message)
    documents = await _results(executor, context, body, body["pipeline"][:-1])
    for document in documents:
        document.setdefault("_id", ObjectId())
    temporary = f"tmp.agg_out.{uuid.uuid4()}"
    await database.create_collection(temporary, **options)
    try:
        if info is not None:
            async for index in await database.get_collection(target).list_indexes():
                index = dict(index)
                if index.get("name") != "_id_":
                    keys = list(dict(index.pop("key")).items())
                    for field in ("v", "ns"):
                        index.pop(field, None)
                    await database.get_collection(temporary).create_index(keys, **index)
        bypass = body.get("bypassDocumentValidation") is True
        await _insert(database.get_collection(temporary), documents, bypass=bypass)
        engine = client._engine
        await engine._run_blocking(_replace_sync, engine, target_db, temporary, target)
    except BaseException:
        await database.drop_collection(temporary)
        raise
    return _empty_cursor(context, body)


def _replace_sync(engine, db_name, source, target):
    """Rename ``source`` over ``target`` under the engine's lock: no command sees neither."""
    with engine._lock:
        engine._drop_collection_sync(db_name, target, None)
        engine._rename_collection_sync(db_name, source, target, None)


# -- $merge whenMatched: "fail" --------------------------------------------------------------


def _is_insert_merge(spec):
    return (
        isinstance(spec, dict)
        and spec.get("whenMatched") == "fail"
        and spec.get("whenNotMatched", "insert") == "insert"
        and spec.get("on", "_id") in ("_id", ["_id"])
        and "let" not in spec
    )


async def _run_insert_merge(executor, context, body, spec, dispatch):
    into = spec.get("into")
    if isinstance(into, dict):
        target_db, target = into.get("db", context.db_name), into.get("coll")
    else:
        target_db, target = context.db_name, into
    if not isinstance(target, str) or not isinstance(target_db, str):
        return await dispatch(context)  # mongoeco refuses the shape
    documents = await _results(executor, context, body, body["pipeline"][:-1])
    for document in documents:
        document.setdefault("_id", ObjectId())
    collection = executor.server.client.get_database(target_db).get_collection(target)
    await _insert(collection, documents, bypass=body.get("bypassDocumentValidation") is True)
    return _empty_cursor(context, body)


# -- $listLocalSessions ------------------------------------------------------------------------


def _now():
    now = datetime.datetime.now(datetime.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000, tzinfo=None)


def _with_sessions(executor, body, pipeline):
    """The command with ``$listLocalSessions`` replaced by the sessions, as documents."""
    spec = pipeline[0]["$listLocalSessions"]
    if not isinstance(spec, dict):
        message = "$listLocalSessions options must be specified in an object"
        raise server_error(14, "TypeMismatch", message)
    uid = Binary(hashlib.sha256(b"").digest())
    live = set(executor._session_store._sessions)
    sessions = []
    for (owner, key), (lsid, last_use) in list(_LAST_USE.items()):
        if owner == id(executor) and key in live | {wire_session_key(body.get("lsid"))}:
            sessions.append({"_id": {"id": lsid.get("id"), "uid": uid}, "lastUse": last_use})
    source = {"$unionWith": {"pipeline": [{"$documents": sessions}]}}
    return {**body, "pipeline": [source, *pipeline[1:]]}
