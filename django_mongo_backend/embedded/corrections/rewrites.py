"""Rewrites of command documents before mongoeco executes them."""

from __future__ import annotations

from mongoeco.wire.surface import WIRE_SUPPORTED_COMMANDS

from . import commands, limits, search_indexes
from .errors import server_error

#: Commands a client may send: mongoeco's own and the ones the server layer answers.
KNOWN_COMMANDS = frozenset(WIRE_SUPPORTED_COMMANDS) | frozenset(commands.OWN_COMMANDS)


def rewrite_command(body):
    """Return the command document mongoeco should execute in place of ``body``."""
    limits.check_command(body)  # mongod validates the command's BSON before looking it up
    command_name = next(iter(body), None)
    if isinstance(command_name, str) and command_name not in KNOWN_COMMANDS:
        # mongoeco answers "unsupported wire command" without a code; drivers key on 59.
        raise server_error(59, "CommandNotFound", f"no such command: '{command_name}'")
    return rewrite_arguments(body)


def rewrite_arguments(body):
    """``body`` with its ``let`` evaluated and its pipeline rewritten: what mongoeco should run
    for a command, or for the command an ``explain`` explains (``corrections.explain``)."""
    command_name = next(iter(body), None)
    if command_name in LET_COMMANDS and isinstance(body.get("let"), dict):
        body = {**body, "let": evaluate_let(body["let"])}
    if command_name == "aggregate" and isinstance(body.get("pipeline"), list):
        body = {**body, "pipeline": rewrite_pipeline(body["pipeline"])}
        body = _database_aggregate(body)
    return body


#: Commands whose ``let`` option defines variables for the whole command.
LET_COMMANDS = frozenset(
    {"aggregate", "find", "update", "delete", "findAndModify", "findandmodify"}
)


def evaluate_let(variables):
    """A command's ``let`` with each value evaluated once, as MongoDB does before running the
    command (manual, ``aggregate``'s ``let``: "the value of each variable can be any valid
    expression"; spec tests crud/aggregate-let, updateMany-let): ``{$literal: '$bar'}`` is
    the string ``'$bar'``, ``{$rand: {}}`` a number. mongoeco bound the expression itself."""
    from mongoeco.core.aggregation.runtime import evaluate_expression

    return {name: evaluate_expression({}, value) for name, value in variables.items()}


#: The namespace MongoDB reports for a database-level aggregate's cursor (``db.$cmd.aggregate``):
#: no collection of that name can exist, so reading it yields nothing.
DATABASE_AGGREGATE_COLLECTION = "$cmd.aggregate"


def _database_aggregate(body):
    """``{aggregate: 1, pipeline: [{$documents: [...]}, ...]}``: mongoeco only aggregates
    collections, so read the documents through ``$unionWith`` from an empty namespace."""
    pipeline = body["pipeline"]
    if body.get("aggregate") != 1 or isinstance(body.get("aggregate"), bool):
        return body
    if pipeline and isinstance(pipeline[0], dict) and "$listLocalSessions" in pipeline[0]:
        # server_stages replaces the stage by the sessions, read like $documents below.
        return {**body, "aggregate": DATABASE_AGGREGATE_COLLECTION}
    if not pipeline or not isinstance(pipeline[0], dict) or "$documents" not in pipeline[0]:
        return body
    union = {"$unionWith": {"pipeline": [pipeline[0]]}}
    return {**body, "aggregate": DATABASE_AGGREGATE_COLLECTION, "pipeline": [union, *pipeline[1:]]}


def _count_stage(field):
    """``$count`` as MongoDB defines it: ``$group`` by null with ``$sum: 1``, then drop ``_id``.

    mongoeco's own ``$count`` answers ``{field: 0}`` for empty input; the ``$group`` form, like
    MongoDB, answers no document at all.
    """
    return [{"$group": {"_id": None, field: {"$sum": 1}}}, {"$project": {"_id": 0}}]


def _valid_count_field(field):
    return isinstance(field, str) and field and not field.startswith("$") and "." not in field


def rewrite_pipeline(pipeline):
    """``pipeline`` with every stage rewritten, sub-pipelines ($facet, $lookup, $unionWith) too."""
    rewritten = []
    for stage in pipeline:
        if not isinstance(stage, dict) or len(stage) != 1:
            rewritten.append(stage)
            continue
        ((operator, spec),) = stage.items()
        search_indexes.check_stage(operator)
        if operator == "$count" and _valid_count_field(spec):
            rewritten.extend(_count_stage(spec))
            continue
        rewrite = SUB_PIPELINES.get(operator)
        rewritten.append({operator: rewrite(spec)} if rewrite else stage)
    return rewritten


def _facet(spec):
    if not isinstance(spec, dict):
        return spec
    return {
        name: rewrite_pipeline(sub) if isinstance(sub, list) else sub for name, sub in spec.items()
    }


def _with_pipeline(spec):
    if isinstance(spec, dict) and isinstance(spec.get("pipeline"), list):
        return {**spec, "pipeline": rewrite_pipeline(spec["pipeline"])}
    return spec


#: Stages that hold pipelines of their own -> how to rewrite them.
SUB_PIPELINES = {
    "$facet": _facet,
    "$lookup": _with_pipeline,
    "$unionWith": _with_pipeline,
}
