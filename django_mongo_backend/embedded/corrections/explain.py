"""``explain`` as MongoDB 7.0 answers it: its layout, its verbosities and its refusals.

mongoeco 4.11 answered ``explain`` in a layout of its own (``engine``, ``strategy``, the SQL it
runs, a compatibility catalog), accepted any verbosity and any field, and refused an
unexplainable command without a code. A real ``mongod`` 7.0 (replica set) answers::

    {explainVersion: "1",
     queryPlanner: {namespace, indexFilterSet, parsedQuery, ..., winningPlan, rejectedPlans},
     executionStats: {nReturned, executionTimeMillis, totalKeysExamined, totalDocsExamined,
                      executionStages, [allPlansExecution]},   # executionStats and above
     command, serverInfo, serverParameters, ok: 1}

and, for an aggregate with stages after its cursor, ``stages: [{$cursor: {queryPlanner,
executionStats}}, {$group: ..., nReturned, executionTimeMillisEstimate}, ...]`` in place of
``queryPlanner`` (manual, "Explain Results"; ``src/mongo/db/query/explain.cpp`` and
``explain_common.cpp``). 7.0 runs some queries in its slot-based engine, whose winning plan nests
``queryPlan`` and ``slotBasedPlan`` (``explainVersion: "2"``); this server answers as 7.0's
classic engine does (``internalQueryFrameworkControl: "forceClassicEngine"``, which the reply's
``serverParameters`` say): one layout whatever the query, the one drivers, shells and the
debug toolbar read.

The winning plan is the one the engine runs (``explain_plans``): an index is named only when
the SQL reads it. There are no rejected plans (mongoeco plans one way) and the plan's stages
carry what this server knows: no ``indexBounds``, ``queryHash`` nor per-stage work counters.
``executionStats`` runs the read (never a write: an update or delete is explained by what it
would match) and counts what it returned and examined: ``COLLSCAN`` examines every document of
the collection, an index read the documents its indexed predicates select.

One field is the server's own: ``mongoecoPlan``, mongoeco's account of the read (its strategy,
the SQL statement and SQLite's plan for it), the detail a user of the embedded server needs to
see why a query scans. Clients reading MongoDB's fields are not affected by it.

Refusals, as ``mongod`` (the ``explain`` command's IDL parser, ``explain.idl``; its unit tests
``ExplainTest.ParsingFails...``): a verbosity that is not a string is TypeMismatch (14), an
unknown one BadValue (2); an ``explain`` that is not a document 40414; a field that is neither
``verbosity`` nor a generic argument 40415; an unknown command CommandNotFound (59, "Explain
failed due to unknown command"); a command that cannot be explained IllegalOperation (20,
"Cannot explain cmd: insert"); ``$out`` or ``$merge`` at ``executionStats`` or above 51029 /
51184 (explain never writes: ``jstests/aggregation/explain_writing_aggs.js``).
"""

from __future__ import annotations

import copy
import dataclasses
import socket
import time

from mongoeco import __version__ as MONGOECO_RELEASE
from mongoeco.api._async._database_admin_read_commands import DatabaseAdminReadCommandService
from mongoeco.api.admin_parsing import normalize_find_and_modify_options
from mongoeco.wire import _executor_validation

from .. import registry
from . import explain_plans as plans
from .bson_types import type_name
from .errors import server_error
from .generic_arguments import is_generic_argument
from .server_parameters import PARAMETERS

_TESTS = "tests/embedded/test_explain.py"

VERBOSITIES = ("queryPlanner", "executionStats", "allPlansExecution")
#: ``explain.idl``: ``verbosity`` defaults to ``kExecAllPlans``.
DEFAULT_VERBOSITY = "allPlansExecution"

#: Stages whose execution would write, and the code ``mongod`` refuses their execution with.
_WRITING_STAGES = {"$out": 51029, "$merge": 51184}

#: Where the wire server listens, for ``serverInfo`` (``attach`` sets it).
_listening = {"host": socket.gethostname(), "port": 27017}


# -- the command's own fields --------------------------------------------------------------------


def validate_explain(_body, command_document):
    """``explain``'s fields, checked as ``mongod``'s parser checks them (replaces mongoeco's
    check, which raised without a code and let any verbosity and any field through)."""
    explained = command_document.get("explain")
    if not isinstance(explained, dict):
        message = "BSON field 'explain.explain' is missing but a required field"
        raise server_error(40414, "Location40414", message)
    for name, value in list(command_document.items())[1:]:
        if name == "verbosity":
            if not isinstance(value, str):
                message = (
                    f"BSON field 'explain.verbosity' is the wrong type '{type_name(value)}', "
                    "expected type 'string'"
                )
                raise server_error(14, "TypeMismatch", message)
            if value not in VERBOSITIES:
                message = (
                    f"Enumeration value '{value}' for field 'explain.verbosity' is not a valid "
                    "value."
                )
                raise server_error(2, "BadValue", message)
        elif not is_generic_argument(name):
            raise server_error(
                40415, "Location40415", f"BSON field 'explain.{name}' is an unknown field."
            )


# -- the reply ---------------------------------------------------------------------------------


def server_info():
    return {
        "host": _listening["host"],
        "port": _listening["port"],
        "version": "7.0.0",
        "gitVersion": f"mongoeco-{MONGOECO_RELEASE}",
    }


def server_parameters():
    """The query knobs 7.0's explain reports (``explain_common.cpp``,
    ``generateServerParameters``), with this server's values."""
    default = 100 * 1024 * 1024
    return {
        "internalQueryFacetBufferSizeBytes": default,
        "internalQueryFacetMaxOutputDocSizeBytes": PARAMETERS[
            "internalQueryFacetMaxOutputDocSizeBytes"
        ],
        "internalLookupStageIntermediateDocumentMaxSizeBytes": default,
        "internalDocumentSourceGroupMaxMemoryBytes": default,
        "internalQueryMaxBlockingSortMemoryUsageBytes": plans.SORT_MEMORY_LIMIT,
        "internalQueryProhibitBlockingMergeOnMongoS": 0,
        "internalQueryMaxAddToSetBytes": PARAMETERS["internalQueryMaxAddToSetBytes"],
        "internalDocumentSourceSetWindowFieldsMaxMemoryBytes": default,
        "internalQueryFrameworkControl": "forceClassicEngine",
    }


def query_planner(namespace, filter_document, winning_plan):
    return {
        "namespace": namespace,
        "indexFilterSet": False,
        "parsedQuery": plans.parsed_query(filter_document),
        "maxIndexedOrSolutionsReached": False,
        "maxIndexedAndSolutionsReached": False,
        "maxScansToExplodeReached": False,
        "winningPlan": winning_plan,
        "rejectedPlans": [],
    }


# -- reading and counting ----------------------------------------------------------------------


@dataclasses.dataclass
class Read:
    """One read of a collection (a find, an aggregate's cursor, a write's selection)."""

    collection: object
    operation: object  # mongoeco's FindOperation
    filter_document: dict
    sort: dict | None = None
    skip: int = 0
    limit: int | None = None
    projection: dict | None = None
    #: Set by ``plan()``.
    access: plans.Access | None = None
    winning_plan: dict | None = None

    async def plan(self, *, idhack=True):
        cursor = self.collection._build_cursor(self.operation)
        self.access = await plans.access_path(self.collection, cursor._base_semantics())
        ids_only = [index["name"] for index in self.access.indexes] == ["_id_"]
        if (
            idhack
            and ids_only
            and not self.skip
            and self.operation.hint is None
            and plans.is_id_equality(self.filter_document)
        ):
            self.access = dataclasses.replace(self.access, kind="IDHACK")
        self.winning_plan = plans.winning_plan(
            self.access,
            self.filter_document,
            sort=self.sort,
            skip=self.skip,
            limit=self.limit,
            projection=self.projection,
        )
        return self.winning_plan

    async def count(self, operation):
        if self.access.kind == "EOF":
            return 0
        counted = 0
        async for _ in self.collection._build_cursor(operation):
            counted += 1
        return counted

    async def execution(self, returned=None, elapsed_ms=0):
        """Per-stage figures for ``winning_plan`` (a copy); ``returned`` is what the read
        gave its consumer (counted here by running it when None)."""
        if returned is None:
            started = time.perf_counter()
            returned = await self.count(self.operation)
            elapsed_ms = _milliseconds(started)
        whole = dataclasses.replace(self.operation, skip=0, limit=None, sort=None)
        matched = await self.count(whole)
        kind = self.access.kind
        sorts = bool(self.sort) and not self.access.ordered
        stop = self.skip + self.limit if self.limit and not sorts else None

        def capped(count):
            return min(count, stop) if stop is not None else count

        keys = docs = 0
        leaf = 0
        if kind == "COLLSCAN":
            docs = await self.collection.estimated_document_count()
            leaf = capped(matched)
        elif kind == "IDHACK":
            keys = docs = leaf = min(matched, 1)
        elif kind == "IXSCAN":
            selected = plans.index_filter(self.filter_document, self.access.indexes)
            if plans.residual_filter(self.filter_document, self.access.indexes) is None:
                keys = capped(matched)
            else:
                keys = await self.count(_with_filter(self.operation, selected))
            docs, leaf = keys, capped(matched)
        stages = copy.deepcopy(self.winning_plan)
        _annotate(stages, leaf, keys, docs, self.skip, self.limit, elapsed_ms)
        stages["nReturned"] = returned
        return {
            "nReturned": returned,
            "executionTimeMillis": elapsed_ms,
            "totalKeysExamined": keys,
            "totalDocsExamined": docs,
            "executionStages": stages,
        }


def _with_filter(operation, filter_document):
    from mongoeco.api.operations import compile_find_operation

    return compile_find_operation(filter_document, collation=operation.collation)


def _milliseconds(started):
    return int((time.perf_counter() - started) * 1000)


def _annotate(stage, leaf, keys, docs, skip, limit, elapsed_ms):
    """Set each stage's ``nReturned`` (and what it examined), leaf first; return the count the
    stage passes up."""
    child = stage.get("inputStage")
    if stage["stage"] == "OR":
        for scan in stage["inputStages"]:
            _annotate(scan, keys, keys, docs, skip, limit, elapsed_ms)
        count = keys
    elif child is None:
        count = 0 if stage["stage"] == "EOF" else leaf
        if stage["stage"] == "IXSCAN":
            count = keys
            stage["keysExamined"] = keys
        elif stage["stage"] in ("COLLSCAN", "IDHACK"):
            stage["docsExamined"] = docs
            if stage["stage"] == "IDHACK":
                stage["keysExamined"] = keys
    else:
        count = _annotate(child, leaf, keys, docs, skip, limit, elapsed_ms)
        name = stage["stage"]
        if name == "FETCH":
            count, stage["docsExamined"] = leaf, docs
        elif name == "SORT":
            count = min(count, stage["limitAmount"]) if "limitAmount" in stage else count
        elif name == "SKIP":
            count = max(0, count - stage["skipAmount"])
        elif name == "LIMIT":
            count = min(count, stage["limitAmount"])
    stage["nReturned"] = count
    stage["executionTimeMillisEstimate"] = elapsed_ms
    stage["isEOF"] = 1
    # Keep the stage's own fields first and the figures after them, as mongod prints them.
    for key in ("inputStage", "inputStages"):
        if key in stage:
            stage[key] = stage.pop(key)
    return count


def _execution_stats(verbosity, stats):
    if verbosity == "allPlansExecution":
        stats["allPlansExecution"] = []  # no rejected plans to report
    return stats


# -- the explained commands --------------------------------------------------------------------


@dataclasses.dataclass
class Explain:
    """One ``explain`` command: mongoeco's admin service, the explained command, verbosity."""

    service: DatabaseAdminReadCommandService
    command: dict
    verbosity: str
    session: object

    @property
    def admin(self):
        return self.service._admin

    @property
    def executes(self):
        return self.verbosity != "queryPlanner"

    def namespace(self, collection_name):
        return f"{self.admin._db_name}.{collection_name}"

    def collection(self, name):
        return self.admin._database.get_collection(name)

    def write_selection(self, specs_field, spec, limit):
        compile_selection = {
            "updates": self.admin._command_compiler.compile_update_selection_operation,
            "deletes": self.admin._command_compiler.compile_delete_selection_operation,
        }[specs_field]
        return compile_selection(
            spec,
            comment=self.command.get("comment"),
            max_time_ms=self.command.get("maxTimeMS"),
            limit=limit,
            command_let=self.command.get("let"),
        )


async def _explain_find(explain):
    compiler = explain.admin._command_compiler
    name, operation = compiler.compile_find_operation(explain.command, collection_field="find")
    command = explain.command
    read = Read(
        explain.collection(name),
        operation,
        command.get("filter") or {},
        sort=command.get("sort") or None,
        skip=command.get("skip") or 0,
        limit=abs(command["limit"]) if command.get("limit") else None,
        projection=command.get("projection") or None,
    )
    reply = {
        "queryPlanner": query_planner(
            explain.namespace(name), read.filter_document, await read.plan()
        )
    }
    if explain.executes:
        reply["executionStats"] = _execution_stats(explain.verbosity, await read.execution())
    return reply, read.access


async def _explain_count(explain):
    name, operation = explain.admin._command_compiler.compile_count_operation(explain.command)
    command = explain.command
    read = Read(explain.collection(name), operation, command.get("query") or {})
    access_plan = await read.plan(idhack=False)
    fast = not read.filter_document and read.access.kind != "EOF"
    plan = (
        {"stage": "RECORD_STORE_FAST_COUNT"}
        if fast
        else {"stage": "COUNT", "inputStage": access_plan}
    )
    reply = {"queryPlanner": query_planner(explain.namespace(name), read.filter_document, plan)}
    if explain.executes:
        started = time.perf_counter()
        counted = await read.count(operation)
        elapsed = _milliseconds(started)
        stats = await read.execution(counted, elapsed)
        stages = {**plan, "nReturned": 0, "executionTimeMillisEstimate": elapsed}
        stages |= {"nCounted": counted, "nSkipped": operation.skip or 0, "isEOF": 1}
        if not fast:
            stages["inputStage"] = stats["executionStages"]
        reply["executionStats"] = _execution_stats(
            explain.verbosity, {**stats, "nReturned": 0, "executionStages": stages}
        )
    return reply, read.access


async def _explain_distinct(explain):
    compiler = explain.admin._command_compiler
    name, _key, operation = compiler.compile_distinct_operation(explain.command)
    read = Read(explain.collection(name), operation, explain.command.get("query") or {})
    plan = await read.plan(idhack=False)
    reply = {"queryPlanner": query_planner(explain.namespace(name), read.filter_document, plan)}
    if explain.executes:
        reply["executionStats"] = _execution_stats(explain.verbosity, await read.execution())
    return reply, read.access


async def _explain_write(explain, *, field, specs_field, stage, one):
    """``update`` or ``delete``: the write's selection under an UPDATE or DELETE stage."""
    specs = explain.command.get(specs_field)
    if not isinstance(explain.command.get(field), str) or not isinstance(specs, list):
        raise server_error(9, "FailedToParse", f"{field} requires a namespace and {specs_field}")
    if len(specs) != 1:
        message = f"explained {field} must contain exactly one statement in '{specs_field}'"
        raise server_error(9, "FailedToParse", message)
    (spec,) = specs
    single = one(spec)
    operation = explain.write_selection(specs_field, spec, 1 if single else None)
    read = Read(explain.collection(explain.command[field]), operation, spec.get("q") or {})
    return await _explain_write_read(explain, read, stage, single, upsert=spec.get("upsert"))


async def _explain_write_read(explain, read, stage, single, *, upsert=False, sort=None):
    read.sort = sort
    access_plan = await read.plan()
    plan = {"stage": stage, "inputStage": access_plan}
    namespace = explain.namespace(read.collection._collection_name)
    reply = {"queryPlanner": query_planner(namespace, read.filter_document, plan)}
    if explain.executes:
        stats = await read.execution()
        matched = stats["nReturned"]
        figures = (
            {"nMatched": matched, "nWouldUpsert": int(bool(upsert) and matched == 0)}
            if stage == "UPDATE"
            else {"nWouldDelete": matched}
        )
        stages = {"stage": stage, "nReturned": 0, **figures}
        stages |= {"executionTimeMillisEstimate": stats["executionTimeMillis"], "isEOF": 1}
        stages["inputStage"] = stats["executionStages"]
        reply["executionStats"] = _execution_stats(
            explain.verbosity, {**stats, "nReturned": 0, "executionStages": stages}
        )
    return reply, read.access


async def _explain_update(explain):
    return await _explain_write(
        explain, field="update", specs_field="updates", stage="UPDATE",
        one=lambda spec: not spec.get("multi", False),
    )  # fmt: skip


async def _explain_delete(explain):
    return await _explain_write(
        explain, field="delete", specs_field="deletes", stage="DELETE",
        one=lambda spec: spec.get("limit", 0) == 1,
    )  # fmt: skip


async def _explain_find_and_modify(explain):
    options = normalize_find_and_modify_options(explain.command)
    compiler = explain.admin._command_compiler
    operation = compiler.compile_find_and_modify_selection_operation(options, projection={"_id": 1})
    command_sort = explain.command.get("sort") or None
    read = Read(explain.collection(options.collection_name), operation, options.query or {})
    stage = "DELETE" if options.remove else "UPDATE"
    return await _explain_write_read(
        explain, read, stage, True, upsert=options.upsert, sort=command_sort
    )


async def _explain_aggregate(explain):
    from mongoeco.core.aggregation.planning import split_pushdown_pipeline

    compiler = explain.admin._command_compiler
    name, operation = compiler.compile_aggregate_operation(explain.command)
    pipeline = list(explain.command.get("pipeline") or [])
    if explain.executes:
        for stage in pipeline:
            for operator, code in _WRITING_STAGES.items():
                if isinstance(stage, dict) and operator in stage:
                    message = (
                        f"{operator} is not supported with explain verbosity {explain.verbosity}"
                    )
                    raise server_error(code, f"Location{code}", message)
    collection = explain.collection(name)
    cursor = collection._build_aggregation_cursor(operation)
    pushdown = split_pushdown_pipeline(cursor._effective_pipeline())
    read = Read(
        collection,
        cursor._pushdown_find_operation(),
        pushdown.filter_spec or {},
        sort=dict(pushdown.sort) if pushdown.sort else None,
        skip=pushdown.skip or 0,
        limit=pushdown.limit,
        projection=pushdown.projection or None,
    )
    planner = query_planner(explain.namespace(name), read.filter_document, await read.plan())
    remaining = list(pushdown.remaining_pipeline)
    if not remaining:
        reply = {"queryPlanner": planner}
        if explain.executes:
            reply["executionStats"] = _execution_stats(explain.verbosity, await read.execution())
        return reply, read.access
    cursor_stage = {"queryPlanner": planner}
    stages = [{"$cursor": cursor_stage}]
    if explain.executes:
        stats = await read.execution()
        cursor_stage["executionStats"] = _execution_stats(explain.verbosity, stats)
        stages[0] |= {
            "nReturned": stats["nReturned"],
            "executionTimeMillisEstimate": stats["executionTimeMillis"],
        }
    pushed = pipeline[: len(pipeline) - len(remaining)]
    for position, stage in enumerate(remaining):
        entry = dict(stage)
        if explain.executes:
            prefix = pushed + remaining[: position + 1]
            started = time.perf_counter()
            prefix_operation = compiler.compile_aggregate_operation(
                {**explain.command, "pipeline": prefix}
            )[1]
            produced = len(await collection._build_aggregation_cursor(prefix_operation).to_list())
            entry |= {"nReturned": produced, "executionTimeMillisEstimate": _milliseconds(started)}
        stages.append(entry)
    return {"stages": stages}, read.access


#: The commands ``explain`` explains (as ``mongod`` 7.0 does) -> how.
EXPLAINERS = {
    "find": _explain_find,
    "aggregate": _explain_aggregate,
    "count": _explain_count,
    "distinct": _explain_distinct,
    "update": _explain_update,
    "delete": _explain_delete,
    "findAndModify": _explain_find_and_modify,
    "findandmodify": _explain_find_and_modify,
}


def _refuse(command_name):
    from .rewrites import KNOWN_COMMANDS

    if command_name == "explain":
        raise server_error(20, "IllegalOperation", "Explain cannot explain itself.")
    if command_name in KNOWN_COMMANDS:
        raise server_error(20, "IllegalOperation", f"Cannot explain cmd: {command_name}")
    message = f"Explain failed due to unknown command: {command_name}"
    raise server_error(59, "CommandNotFound", message)


async def command_explain(self, spec, *, session=None):
    """mongoeco's ``command_explain``, answering in MongoDB's layout (see the module)."""
    explained = dict(spec["explain"])
    command_name = next(iter(explained), "")
    explainer = EXPLAINERS.get(command_name)
    if explainer is None:
        _refuse(command_name)
    for option in ("comment", "maxTimeMS"):
        if option in spec:
            explained.setdefault(option, spec[option])
    # Explained as it would run: its let evaluated, its pipeline rewritten (rewrites).
    from .rewrites import rewrite_arguments

    explained = rewrite_arguments(explained)
    verbosity = spec.get("verbosity", DEFAULT_VERBOSITY)
    reply, access = await explainer(Explain(self, explained, verbosity, session))
    return {
        "explainVersion": "1",
        **reply,
        "command": {**spec["explain"], "$db": self._admin._db_name},
        "serverInfo": server_info(),
        "serverParameters": server_parameters(),
        "mongoecoPlan": access.engine_plan,
        "ok": 1.0,
    }


def attach(server):
    """Record where ``server`` (the wire server) listens, for ``serverInfo``, when it starts."""
    start = server.start

    async def start_and_record():
        address = await start()
        _listening["port"] = address.port
        return address

    server.start = start_and_record


def install():
    """Apply the patches (idempotent)."""
    registry.replace(
        DatabaseAdminReadCommandService,
        "command_explain",
        command_explain,
        rule="explain answers in MongoDB 7.0's classic layout (queryPlanner, executionStats, "
        "stages) with the plan the engine runs; unexplainable commands refused (20, 59)",
        test=f"{_TESTS}::test_find_on_an_indexed_field_is_fetch_over_ixscan",
    )
    registry.replace_item(
        _executor_validation,
        "_WIRE_COMMAND_VALIDATORS",
        "explain",
        validate_explain,
        rule="explain's verbosity is one of MongoDB's three (14 if not a string, 2 if unknown), "
        "its other fields generic arguments (40415), explain a document (40414)",
        test=f"{_TESTS}::test_unknown_verbosity_is_bad_value",
    )
