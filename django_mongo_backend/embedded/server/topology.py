"""The embedded server presents itself as the primary of a one-member replica set.

MongoDB 7.0 deployments the backend targets are replica sets (transactions need one), and
drivers behave differently with a Standalone: no retryable writes, no causal consistency, no
``$readPreference``. So ``hello`` answers as a replica set primary does (the manual's ``hello``
page, "Replica Sets" fields; the SDAM specification's ``RSPrimary``): ``setName``, ``hosts``,
``primary`` and ``me`` (the address the server is bound to, which clients must be able to
connect to: the driver replaces its seed by the members named here), ``setVersion``,
``electionId``, ``topologyVersion`` and ``lastWrite``, ``maxWireVersion`` 21 (MongoDB 7.0).

The server also keeps a cluster time, as every replica set member does: a ``Timestamp`` that
advances with each write. Every reply carries ``operationTime`` and ``$clusterTime`` (signed
with an all-zero hash and key id 0, as a deployment without signing keys answers), so that
sessions send ``afterClusterTime`` (causal consistency) and snapshot transactions
``atClusterTime``. A command's gossiped ``$clusterTime`` advances the clock; an
``afterClusterTime``/``atClusterTime`` past it fails with InvalidOptions (72), as in the
server's ``read_concern_mongod.cpp``; any earlier one is already satisfied by one node.
"""

from __future__ import annotations

import asyncio
import datetime
import socket
import threading
import time

from bson import Binary, Int64, ObjectId, Timestamp

from ..corrections.errors import server_error

#: The replica set's name (``replSetName``).
REPLICA_SET_NAME = "rs0"
#: MongoDB 7.0's wire version.
MAX_WIRE_VERSION = 21
#: The election term of the only member, which won the only election.
TERM = 1
#: Fields of mongoeco's ``hello`` that MongoDB's ``hello`` does not have.
_NOT_IN_HELLO = ("version", "versionArray", "gitVersion")
#: Commands that write and take a write concern (outside a transaction; a transaction writes
#: when it commits): replication and ``writeConcernError`` fail points apply to them.
WRITE_COMMANDS = frozenset(
    {
        "insert",
        "update",
        "delete",
        "findAndModify",
        "findandmodify",
        "create",
        "drop",
        "dropDatabase",
        "createIndexes",
        "dropIndexes",
        "collMod",
        "renameCollection",
        "commitTransaction",
        "abortTransaction",
    }
)
HELLO_COMMANDS = frozenset({"hello", "isMaster", "ismaster"})
_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})


def _value(number):
    """A plain int from an int or mongoeco's wrapped int64."""
    return getattr(number, "value", number)


def _timestamp(value):
    """``value`` as a bson Timestamp (mongoeco decodes them to its own type), or None."""
    if isinstance(value, Timestamp):
        return value
    if hasattr(value, "time") and hasattr(value, "inc"):
        return Timestamp(value.time, value.inc)
    return None


class ReplicaSet:
    """One server's replica set identity and cluster time."""

    def __init__(self, server, name=REPLICA_SET_NAME):
        self.server = server
        self.name = name
        self.process_id = ObjectId()  # topologyVersion.processId: new for each process
        self.election_id = ObjectId(f"{0x7FFFFFFF:08x}{TERM:016x}")
        self._lock = threading.Lock()
        self._time = Timestamp(int(time.time()), 1)
        self._last_write = self._time

    # -- identity ------------------------------------------------------------------------

    def member(self):
        """``host:port`` of this member: the address clients reach the server at."""
        address = self.server.address
        host = address.host
        if host in _WILDCARD_HOSTS:
            host = socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        return f"{host}:{address.port}"

    # -- cluster time --------------------------------------------------------------------

    @property
    def cluster_time(self):
        return self._time

    def tick(self):
        """Advance the clock for a write; its Timestamp is the write's ``operationTime``."""
        with self._lock:
            now = int(time.time())
            if now > self._time.time:
                self._time = Timestamp(now, 1)
            else:
                self._time = Timestamp(self._time.time, self._time.inc + 1)
            self._last_write = self._time
            return self._time

    def advance(self, body):
        """Advance the clock to a ``$clusterTime`` the client gossips (no signing keys here, so
        there is no signature to check)."""
        gossiped = body.get("$clusterTime")
        cluster_time = (
            _timestamp(gossiped.get("clusterTime")) if isinstance(gossiped, dict) else None
        )
        if cluster_time is not None:
            with self._lock:
                if cluster_time > self._time:
                    self._time = cluster_time

    def check_read_concern(self, body):
        """Refuse an ``afterClusterTime``/``atClusterTime`` past the cluster time."""
        read_concern = body.get("readConcern")
        if not isinstance(read_concern, dict):
            return
        for field in ("afterClusterTime", "atClusterTime"):
            requested = _timestamp(read_concern.get(field))
            if requested is not None and requested > self._time:
                raise server_error(
                    72,
                    "InvalidOptions",
                    f"readConcern {field} value must not be greater than the current "
                    f"clusterTime. Requested clusterTime: {_text(requested)}; current "
                    f"clusterTime: {_text(self._time)}",
                )

    def cluster_time_document(self):
        return {
            "clusterTime": self._time,
            "signature": {"hash": Binary(bytes(20)), "keyId": Int64(0)},
        }

    def stamp(self, reply, operation_time=None):
        """Add ``$clusterTime`` and ``operationTime`` to a reply (success or error)."""
        if isinstance(reply, dict):
            reply["$clusterTime"] = self.cluster_time_document()
            reply["operationTime"] = operation_time or self._time
        return reply

    # -- hello ---------------------------------------------------------------------------

    def topology_version(self):
        return {"processId": self.process_id, "counter": Int64(0)}

    def complete_hello(self, command_name, reply):
        """Turn mongoeco's Standalone ``hello`` into a replica set primary's."""
        if not isinstance(reply, dict) or not reply.get("ok"):
            return reply
        for field in _NOT_IN_HELLO:
            reply.pop(field, None)
        member = self.member()
        op_time = {"ts": self._last_write, "t": Int64(TERM)}
        write_date = datetime.datetime.fromtimestamp(self._last_write.time, datetime.UTC)
        reply.update(
            {
                "topologyVersion": self.topology_version(),
                "hosts": [member],
                "setName": self.name,
                "setVersion": 1,
                "secondary": False,
                "primary": member,
                "me": member,
                "electionId": self.election_id,
                "lastWrite": {
                    "opTime": op_time,
                    "lastWriteDate": write_date,
                    "majorityOpTime": dict(op_time),
                    "majorityWriteDate": write_date,
                },
                "maxWireVersion": MAX_WIRE_VERSION,
            }
        )
        if command_name == "hello":
            reply["isWritablePrimary"] = True
            reply.pop("ismaster", None)
        else:
            reply["ismaster"] = True
            reply.pop("isWritablePrimary", None)
        return reply

    async def await_hello(self, body):
        """An awaitable ``hello`` (streaming SDAM: ``topologyVersion`` and ``maxAwaitTimeMS``)
        is answered when the topology changes or ``maxAwaitTimeMS`` passes; this topology never
        changes, so it waits the whole time, unless the client's version is of another
        process (then the answer is immediate)."""
        version = body.get("topologyVersion")
        max_await_ms = _value(body.get("maxAwaitTimeMS"))
        if not isinstance(version, dict) or not isinstance(max_await_ms, int):
            return
        if str(version.get("processId")) != str(self.process_id):
            return
        if _value(version.get("counter")) != 0:
            return
        await asyncio.sleep(max(max_await_ms, 0) / 1000)


def unsatisfiable_write_concern(write_concern):
    """The write concern error of a one-member set for ``write_concern``, or None.

    The command runs, then waiting for the write concern fails at once
    (``ReplicationCoordinatorImpl::_checkIfWriteConcernCanBeSatisfied``): ``w`` above the one
    data-bearing member is UnsatisfiableWriteConcern (100), a ``w`` naming a mode the set's
    configuration does not define is UnknownReplWriteConcern (79).
    """
    if not isinstance(write_concern, dict):
        return None
    w = _value(write_concern.get("w"))
    info = {"writeConcern": {**write_concern, "provenance": "clientSupplied"}}
    if isinstance(w, int) and not isinstance(w, bool) and w > 1:
        return {
            "code": 100,
            "codeName": "UnsatisfiableWriteConcern",
            "errmsg": "Not enough data-bearing nodes",
            "errInfo": info,
        }
    if isinstance(w, str) and w != "majority":
        return {
            "code": 79,
            "codeName": "UnknownReplWriteConcern",
            "errmsg": f"No write concern mode named '{w}' found in replica set configuration",
            "errInfo": info,
        }
    return None


def _text(timestamp):
    return f"Timestamp({timestamp.time}, {timestamp.inc})"
