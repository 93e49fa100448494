"""Read-only views, as MongoDB 7.0 serves them.

MongoDB (manual, "Views"; server ``commands/create.cpp``, ``views/view_catalog``): ``create``
with ``viewOn`` and ``pipeline`` defines a read-only view. ``listCollections`` reports it with
``type: "view"``, ``options: {viewOn, pipeline}`` and ``info: {readOnly: true}``; ``find``,
``aggregate``, ``count`` and ``distinct`` on it run the view's pipeline on its source (a view
on a view resolves down to a collection): ``find`` as the aggregation ``asAggregationCommand``
(``query/query_request_helper.cpp``) builds, refusing the find options aggregation lacks with
InvalidPipelineOperator (168), and ``explain`` of such a read explains that aggregation; writes
to it fail with CommandNotSupportedOnView (166,
"Namespace <db>.<view> is a view, not a collection"; "Cannot create indexes on a view" for
``createIndexes``).

mongoeco 4.11 stored ``viewOn``/``pipeline`` as options of an ordinary, empty collection: it
listed the view as a collection, read nothing through it and accepted writes into it. The wire
server (``server.wire``) runs each command through ``execute``: a command that concerns no
view runs as before (the views of each database are cached, and read again after each command
that changes the catalog).
"""

from __future__ import annotations

import dataclasses

from mongoeco.core.filtering import QueryEngine
from mongoeco.wire._executor_support import WIRE_INTERNAL_KEYS
from mongoeco.wire.capabilities import resolve_wire_command_capability
from mongoeco.wire.executor import WireCommandExecutor

from . import rewrites
from .errors import server_error

NOT_SUPPORTED_ON_VIEW = (166, "CommandNotSupportedOnView")
INVALID_PIPELINE_OPERATOR = (168, "InvalidPipelineOperator")
#: MongoDB's ``maxViewDepth``: views on views resolve at most this deep.
MAX_VIEW_DEPTH = 20
#: Commands after which a database's views are read again.
CATALOG_COMMANDS = frozenset(
    {"create", "drop", "dropDatabase", "collMod", "renameCollection", "applyOps"}
)
#: Write commands whose statements each fail on a view (write errors, as for any statement).
WRITE_COMMANDS = {"insert": "documents", "update": "updates", "delete": "deletes"}
#: find options aggregation lacks (asAggregationCommand): each refused on a view.
FIND_OPTIONS_REFUSED = (
    "min",
    "max",
    "returnKey",
    "showRecordId",
    "tailable",
    "noCursorTimeout",
    "allowPartialResults",
    "readOnce",
    "allowSpeculativeMajorityRead",
    "requestResumeToken",
    "resumeAfter",
)
#: find fields that become stages or the cursor's batch size (the rest pass to aggregate).
FIND_FIELDS = frozenset(
    {"find", "filter", "sort", "projection", "skip", "limit", "batchSize", "singleBatch"}
    | set(FIND_OPTIONS_REFUSED)
    | {"awaitData", "oplogReplay"}
)

#: Fields of a read on a view that do not pass to the aggregate run on its source.
_NOT_PASSED = FIND_FIELDS | {"aggregate", "pipeline", "cursor", "count", "distinct", "key", "query"}


def _catalog(executor):
    """The executor's cache: database name -> {view name: (viewOn, pipeline)}."""
    cache = getattr(executor, "_view_definitions", None)
    if cache is None:
        cache = executor._view_definitions = {}
    return cache


async def views_of(executor, db_name):
    """The views of ``db_name``: {name: (viewOn, pipeline)}."""
    cache = _catalog(executor)
    if db_name not in cache:
        database = executor.server.client.get_database(db_name)
        views = {}
        async for info in database.list_collections():
            options = info.get("options") or {}
            if isinstance(options.get("viewOn"), str):
                views[info["name"]] = (options["viewOn"], list(options.get("pipeline") or []))
        cache[db_name] = views
    return cache[db_name]


def resolve(views, name):
    """(source collection, the pipeline to run on it) for the view ``name``."""
    source, pipeline = views[name]
    for _depth in range(MAX_VIEW_DEPTH):
        if source not in views:
            return source, pipeline
        outer, inner = views[source]
        source, pipeline = outer, [*inner, *pipeline]
    raise server_error(149, "ViewDepthLimitExceeded", f"View depth too deep or view cycle: {name}")


def not_a_collection_message(db_name, name):
    return f"Namespace {db_name}.{name} is a view, not a collection"


def not_a_collection(db_name, name):
    code, code_name = NOT_SUPPORTED_ON_VIEW
    return server_error(code, code_name, not_a_collection_message(db_name, name))


async def execute(executor, context, run):
    """The reply to ``context``: ``run(context)`` unless it concerns a view (or lists the
    collections of a database holding views)."""
    command_name, command = context.command_name, context.command_document
    if command_name in CATALOG_COMMANDS:
        try:
            return await run(context)
        finally:  # after the change (a read meanwhile may have cached the catalog before it)
            _invalidate(executor, context)
    if command_name == "explain":
        return await _explain(executor, context, run)
    handler = HANDLERS.get(command_name)
    if handler is None or not isinstance(context.db_name, str):
        return await run(context)
    views = await views_of(executor, context.db_name)
    target = command.get(command_name)
    if command_name != "listCollections" and (not isinstance(target, str) or target not in views):
        return await run(context)
    if not views:
        return await run(context)
    return await handler(executor, context, views)


def _invalidate(executor, context):
    cache = _catalog(executor)
    if context.command_name == "renameCollection":
        cache.clear()  # sent to admin, naming databases in its namespaces
    else:
        cache.pop(context.db_name, None)


# -- reads ---------------------------------------------------------------------------------------


async def _aggregate_on_source(executor, context, views, stages, **options):
    """Run the view's pipeline followed by ``stages`` on its source collection; the reply
    holds every result in its first batch."""
    view = context.command_document[context.command_name]
    source, view_pipeline = resolve(views, view)
    passed = {key: value for key, value in context.raw_body.items() if key not in _NOT_PASSED}
    body = {
        "aggregate": source,
        "pipeline": [*rewrites.rewrite_pipeline(view_pipeline), *stages],
        "cursor": {},
        **passed,
        **options,
    }
    command_document = {key: value for key, value in body.items() if key not in WIRE_INTERNAL_KEYS}
    prepared = dataclasses.replace(
        context,
        command_name="aggregate",
        command_document=command_document,
        raw_body=body,
        capability=resolve_wire_command_capability("aggregate"),
    )
    return await WireCommandExecutor.execute_prepared(executor, prepared)


def _as_cursor_reply(executor, context, reply):
    """``reply`` (all results in its first batch) as the view's cursor, batched as asked."""
    view = context.command_document[context.command_name]
    cursor = reply.get("cursor")
    if isinstance(cursor, dict):
        cursor["ns"] = f"{context.db_name}.{view}"
    return executor._cursor_store.materialize_command_result(
        context.command_document,
        reply,
        lsid=context.raw_body.get("lsid"),
        connection=context.connection,
    )


def _find_stages(command):
    for option in FIND_OPTIONS_REFUSED:
        if command.get(option):
            code, code_name = INVALID_PIPELINE_OPERATOR
            raise server_error(code, code_name, f"Option {option} not supported in aggregation.")
    sort = command.get("sort") or {}
    if "$natural" in sort:
        code, code_name = INVALID_PIPELINE_OPERATOR
        raise server_error(code, code_name, "Sort option $natural not supported in aggregation.")
    if command.get("singleBatch") and command.get("limit") != 1:
        code, code_name = INVALID_PIPELINE_OPERATOR
        raise server_error(code, code_name, "Option singleBatch not supported in aggregation.")
    stages = []
    if command.get("filter"):
        stages.append({"$match": command["filter"]})
    if sort:
        stages.append({"$sort": sort})
    if command.get("skip"):
        stages.append({"$skip": command["skip"]})
    if command.get("limit"):
        stages.append({"$limit": command["limit"]})
    if command.get("projection"):
        stages.append({"$project": command["projection"]})
    return stages


async def _find(executor, context, views):
    stages = _find_stages(context.command_document)
    reply = await _aggregate_on_source(executor, context, views, stages)
    return _as_cursor_reply(executor, context, reply)


async def _aggregate(executor, context, views):
    stages = list(context.command_document.get("pipeline") or [])
    reply = await _aggregate_on_source(executor, context, views, stages)
    return _as_cursor_reply(executor, context, reply)


def _first_batch(reply):
    cursor = reply.get("cursor") or {}
    return cursor.get("firstBatch") or []


def _count_stages(command):
    stages = [{"$match": command["query"]}] if command.get("query") else []
    if command.get("skip"):
        stages.append({"$skip": command["skip"]})
    if command.get("limit"):
        stages.append({"$limit": abs(command["limit"])})
    stages.append({"$group": {"_id": None, "n": {"$sum": 1}}})
    return stages


async def _count(executor, context, views):
    stages = _count_stages(context.command_document)
    batch = _first_batch(await _aggregate_on_source(executor, context, views, stages))
    return {"n": batch[0]["n"] if batch else 0, "ok": 1.0}


def _distinct_stages(command):
    key = command.get("key")
    stages = [{"$match": command["query"]}] if command.get("query") else []
    # parsed_distinct.cpp: unwind one level (keeping nulls), then collect each value once.
    return [
        *stages,
        {"$match": {key: {"$exists": True}}},
        {"$unwind": {"path": f"${key}", "preserveNullAndEmptyArrays": True}},
        {"$group": {"_id": None, "values": {"$addToSet": f"${key}"}}},
    ]


async def _distinct(executor, context, views):
    stages = _distinct_stages(context.command_document)
    batch = _first_batch(await _aggregate_on_source(executor, context, views, stages))
    return {"values": batch[0]["values"] if batch else [], "ok": 1.0}


#: The reads of a view, as the stages they add to its pipeline (for ``explain``).
_READ_STAGES = {
    "find": _find_stages,
    "aggregate": lambda command: list(command.get("pipeline") or []),
    "count": _count_stages,
    "distinct": _distinct_stages,
}


async def _explain(executor, context, run):
    """``explain`` of a read of a view explains the aggregation run on its source, as MongoDB
    resolves it (``ResolvedView::asExpandedViewAggregation``); a write to a view is refused."""
    explained = context.command_document.get("explain")
    name = next(iter(explained), None) if isinstance(explained, dict) else None
    view = explained.get(name) if name else None
    if not isinstance(view, str) or not isinstance(context.db_name, str):
        return await run(context)
    views = await views_of(executor, context.db_name)
    if view not in views:
        return await run(context)
    read_stages = _READ_STAGES.get(name)
    if read_stages is None:
        if name in WRITE_COMMANDS or name in ("findAndModify", "findandmodify"):
            raise not_a_collection(context.db_name, view)
        return await run(context)
    source, view_pipeline = resolve(views, view)
    passed = {key: value for key, value in explained.items() if key not in _NOT_PASSED}
    aggregate = {
        "aggregate": source,
        "pipeline": [*view_pipeline, *read_stages(explained)],
        "cursor": {},
        **passed,
    }
    prepared = dataclasses.replace(
        context,
        command_document={**context.command_document, "explain": aggregate},
        raw_body={**context.raw_body, "explain": aggregate},
    )
    return await run(prepared)


# -- writes ------------------------------------------------------------------------------------


async def _refuse_write(executor, context, views):
    """Every statement fails with 166, as a write error: an ordered write stops at the first."""
    command = context.command_document
    statements = command.get(WRITE_COMMANDS[context.command_name]) or []
    failing = statements if command.get("ordered", True) is False else statements[:1]
    message = not_a_collection_message(context.db_name, command[context.command_name])
    code, _code_name = NOT_SUPPORTED_ON_VIEW
    reply = {
        "n": 0,
        "writeErrors": [
            {"index": index, "code": code, "errmsg": message} for index in range(len(failing))
        ],
        "ok": 1.0,
    }
    if context.command_name == "update":
        reply["nModified"] = 0
    return reply


async def _refuse(executor, context, views):
    raise not_a_collection(context.db_name, context.command_document[context.command_name])


async def _refuse_indexes(executor, context, views):
    code, code_name = NOT_SUPPORTED_ON_VIEW
    raise server_error(code, code_name, "Cannot create indexes on a view")


# -- listCollections ---------------------------------------------------------------------------


def view_info(name, view_on, pipeline):
    """A view as listCollections lists it."""
    return {
        "name": name,
        "type": "view",
        "options": {"viewOn": view_on, "pipeline": pipeline},
        "info": {"readOnly": True},
    }


async def _list_collections(executor, context, views):
    """mongoeco's listing with each view as MongoDB lists it; the filter and ``nameOnly``
    applied afterwards, to what MongoDB lists."""
    command = context.command_document
    inner = {key: value for key, value in context.raw_body.items() if key != "filter"}
    inner.pop("nameOnly", None)
    inner.pop("cursor", None)
    inner["listCollections"] = 1
    prepared = dataclasses.replace(
        context,
        command_document={k: v for k, v in inner.items() if k not in WIRE_INTERNAL_KEYS},
        raw_body=inner,
    )
    reply = await WireCommandExecutor.execute_prepared(executor, prepared)
    cursor = reply.get("cursor") or {}
    listed = []
    for info in cursor.get("firstBatch") or []:
        if info.get("name") in views:
            view_on, pipeline = views[info["name"]]
            info = view_info(info["name"], view_on, pipeline)
        listed.append(info)
    query = command.get("filter")
    if query:
        listed = [info for info in listed if QueryEngine.match(info, query)]
    if command.get("nameOnly"):
        listed = [{"name": info["name"], "type": info.get("type")} for info in listed]
    cursor["firstBatch"] = listed
    return executor._cursor_store.materialize_command_result(
        command, reply, lsid=context.raw_body.get("lsid"), connection=context.connection
    )


#: Command -> its handler when it names a view (listCollections: in a database with views).
HANDLERS = {
    "listCollections": _list_collections,
    "find": _find,
    "aggregate": _aggregate,
    "count": _count,
    "distinct": _distinct,
    "insert": _refuse_write,
    "update": _refuse_write,
    "delete": _refuse_write,
    "findAndModify": _refuse,
    "findandmodify": _refuse,
    "createIndexes": _refuse_indexes,
}
