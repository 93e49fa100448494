"""Every command as a one-member replica set's primary answers it (see ``topology``).

``run_command`` wraps the executor's handling of each command with what MongoDB does around it
on a replica set: the gossiped ``$clusterTime``, the ``failCommand`` fail point
(``failpoints``), the read concern's cluster time, retried writes answered from their first
execution (``retryable_writes``), ``hello``'s replica set fields, the error
labels (``labels``), and ``operationTime``/``$clusterTime`` on every reply. ``error_reply``
completes the error documents the wire layer builds from exceptions.
"""

from __future__ import annotations

import contextvars
import weakref

from .. import registry
from ..corrections import error_codes
from . import failpoints, kill_sessions, labels
from .retryable_writes import RetryableWrites
from .topology import HELLO_COMMANDS, WRITE_COMMANDS, ReplicaSet, unsatisfiable_write_concern

_SETS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_WRITES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Attribute of an exception carrying what its error reply adds (labels, write concern error).
_REPLY_FIELDS = "_replica_set_reply_fields"
#: Set while a command runs: a command our own handlers delegate to mongoeco is the same one.
_running = contextvars.ContextVar("replica_set_running", default=False)


def replica_set(server):
    """The replica set identity and clock of ``server``."""
    members = _SETS.get(server)
    if members is None:
        members = _SETS[server] = ReplicaSet(server)
    return members


def install():
    """Accept the write concerns a replica set accepts: mongoeco refuses ``w`` above 1 and
    named modes as a standalone does (BadValue); on a set the write is done and the reply
    carries the write concern error (``topology.unsatisfiable_write_concern``)."""
    from mongoeco.api._async import _write_command_validation as validation

    standalone_w = validation._write_concern_w

    def replica_set_w(value):
        numeric = validation._bson_number(value)
        if numeric is not None and isinstance(numeric.value, int) and 1 < numeric.value <= 50:
            return True  # above 50: the standalone's range check (code 9) still applies
        if isinstance(value, str):
            return True
        return standalone_w(value)

    registry.replace(
        validation,
        "_write_concern_w",
        replica_set_w,
        rule="a replica set accepts w above 1 (up to 50) and named modes; an unsatisfiable one is "
        "a write concern error after the write",
        test="tests/embedded/test_replica_set_surface.py"
        "::test_write_concern_beyond_the_members_is_a_write_concern_error",
        kind=registry.SERVER,
    )


def retryable_writes(server):
    """The retryable writes ``server`` remembers."""
    writes = _WRITES.get(server)
    if writes is None:
        writes = _WRITES[server] = RetryableWrites()
    return writes


def _writes(command_name, body):
    """Whether the command advances the cluster time (a transaction writes at its commit)."""
    if command_name not in WRITE_COMMANDS:
        return False
    return "autocommit" not in body or command_name == "commitTransaction"


def _merge(existing, computed, override):
    if override is not None:
        return list(override)
    merged = list(existing or ())
    merged.extend(label for label in computed if label not in merged)
    return merged


async def run_command(executor, context, run):
    """Run ``context`` through ``run`` (the executor's own handling) as a primary does."""
    if _running.get():
        return await run(context)
    token = _running.set(True)
    try:
        return await _run_command(executor, context, run)
    finally:
        _running.reset(token)


async def _run_command(executor, context, run):
    server = executor.server
    members = replica_set(server)
    points = failpoints.state(server)
    body = getattr(context, "raw_body", None) or {}
    name = context.command_name
    members.advance(body)
    if name == "configureFailPoint":
        executor._auth.require_authenticated(context.connection, name)
        return members.stamp(points.configure(context.command_document))
    activation = points.activate(
        name, context.db_name, context.command_document, context.connection
    )
    override = activation.labels if activation is not None else None
    write_concern_error = None
    if activation is not None and name in WRITE_COMMANDS:
        write_concern_error = activation.write_concern_error
    write_concern_code = (write_concern_error or {}).get("code")
    try:
        if activation is not None:
            try:
                await points.before(activation, context.connection)
            except Exception:
                kill_sessions.forget_unstarted(executor, body)
                raise
        if name in HELLO_COMMANDS:
            await members.await_hello(body)
        members.check_read_concern(body)
        writes = retryable_writes(server)
        reply = writes.replay(name, body)
        if reply is None:
            reply = await run(context)
            writes.remember(name, body, reply)
    except Exception as error:
        computed = labels.server_labels(
            body, name, getattr(error, "code", None), write_concern_code
        )
        setattr(error, _REPLY_FIELDS, (computed, override, write_concern_error))
        raise
    if not isinstance(reply, dict):
        return reply
    if write_concern_error is None and name in WRITE_COMMANDS:
        write_concern_error = unsatisfiable_write_concern(body.get("writeConcern"))
        write_concern_code = (write_concern_error or {}).get("code")
    if write_concern_error is not None:
        reply["writeConcernError"] = write_concern_error
    code = reply.get("code") if not reply.get("ok", 1) else None
    found = _merge(
        reply.get("errorLabels"),
        labels.server_labels(body, name, code, write_concern_code),
        override,
    )
    if found:
        reply["errorLabels"] = found
    else:
        reply.pop("errorLabels", None)
    if write_concern_code in error_codes.STATE_CHANGE or code in error_codes.STATE_CHANGE:
        reply["topologyVersion"] = members.topology_version()
    operation_time = members.tick() if reply.get("ok") and _writes(name, body) else None
    if name in HELLO_COMMANDS:
        members.complete_hello(name, reply)
    return members.stamp(reply, operation_time)


def error_reply(server, error, document):
    """Complete the error document built from ``error``: labels, the fail point's write concern
    error, ``topologyVersion`` for state change codes (``appendErrorLabelsAndTopologyVersion``
    in ``service_entry_point_common.cpp``: drivers ignore a state change error whose version is
    not newer than the one they know), and the cluster time."""
    members = replica_set(server)
    fields = getattr(error, _REPLY_FIELDS, None)
    if fields is not None:
        computed, override, write_concern_error = fields
        found = _merge(document.get("errorLabels"), computed, override)
        if found:
            document["errorLabels"] = found
        else:
            document.pop("errorLabels", None)
        if write_concern_error is not None:
            document["writeConcernError"] = write_concern_error
    write_concern_code = (document.get("writeConcernError") or {}).get("code")
    if error_codes.STATE_CHANGE & {document.get("code"), write_concern_code}:
        document["topologyVersion"] = members.topology_version()
    return members.stamp(document)


def must_close(server, connection):
    """Whether the fail point asked to drop ``connection`` instead of answering."""
    return failpoints.state(server).must_close(connection)
