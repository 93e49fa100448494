"""The embedded server answers as the primary of a MongoDB 7.0 replica set.

Sources, each cited where it is used:

- the manual's ``hello`` page ("Replica Sets" response fields) and the SDAM specification
  (``RSPrimary``: ``setName``, ``hosts``, ``primary``, ``me``, ``electionId``,
  ``topologyVersion``); MongoDB 7.0's wire version is 21;
- the sessions and causal consistency specifications: replies of replica set members carry
  ``operationTime`` and ``$clusterTime``; ``read_concern_mongod.cpp`` refuses an
  ``afterClusterTime`` past the cluster time with InvalidOptions (72);
- the ``failCommand`` fail point (``CommandHelpers::evaluateFailCommandFailPoint`` in
  ``commands.cpp``, ``service_entry_point_common.cpp``): error code with its name from
  ``error_codes.yml``, "Failing command via 'failCommand' failpoint", ``errorLabels`` replacing
  the server's, ``closeConnection``, ``blockConnection``, ``writeConcernError`` after the
  command ran, and an unknown fail point refused with FailPointSetFailed (266);
- ``error_labels.cpp``: TransientTransactionError for transaction statements (NoSuchTransaction
  on commit without a write concern error), RetryableWriteError for retryable writes;
- the retryable writes specification and manual page: a retried write is not executed twice;
- the manual's ``killAllSessions``: it aborts the sessions' open transactions.

Every test holds against a real replica set started with test commands (``MONGODB_URI``).
"""

from __future__ import annotations

import contextlib
import time

import pymongo
import pytest
from bson import ObjectId, Timestamp
from pymongo import monitoring
from pymongo.errors import AutoReconnect, OperationFailure, PyMongoError

MESSAGE = "Failing command via 'failCommand' failpoint"


def kill_all_sessions(client):
    """End what a fail point before commit/abort left open: the transaction is still running
    on the server (the fail point fires before the session is checked out) and holds its locks.
    MongoDB may interrupt this command's own session."""
    with contextlib.suppress(OperationFailure):
        client.admin.command("killAllSessions", [])


class Replies(monitoring.CommandListener):
    """The replies (successes and failures) of each command, by name."""

    def __init__(self):
        self.replies = []

    def started(self, event):
        pass

    def succeeded(self, event):
        self.replies.append((event.command_name, dict(event.reply)))

    def failed(self, event):
        self.replies.append((event.command_name, dict(event.failure)))

    def of(self, name):
        return [reply for command, reply in self.replies if command == name]


@pytest.fixture
def fail_point(mongo_client):
    """``configure(mode, **data)`` sets failCommand; it is turned off after the test."""

    def configure(mode, **data):
        return mongo_client.admin.command(
            {"configureFailPoint": "failCommand", "mode": mode, "data": data}
        )

    yield configure
    mongo_client.admin.command({"configureFailPoint": "failCommand", "mode": "off"})


@pytest.fixture
def client_with(mongo_uri):
    """``client_with(**options)``: a client of its own, with a ``Replies`` listener."""
    clients = []

    def make(**options):
        replies = Replies()
        client = pymongo.MongoClient(
            mongo_uri, serverSelectionTimeoutMS=10_000, event_listeners=[replies], **options
        )
        clients.append(client)
        return client, replies

    yield make
    for client in clients:
        client.close()


# -- hello ------------------------------------------------------------------------------------


def test_hello_answers_as_a_replica_set_primary(mongo_client):
    """hello (manual, "Replica Sets" fields): the set's name, its members, this member as
    primary and as ``me``, writable, not a secondary, wire version 21 (7.0)."""
    hello = mongo_client.admin.command("hello")
    assert isinstance(hello["setName"], str) and hello["setName"]
    assert hello["isWritablePrimary"] is True
    assert hello["secondary"] is False
    assert hello["primary"] == hello["me"]
    assert hello["me"] in hello["hosts"]
    assert isinstance(hello["setVersion"], int)
    assert isinstance(hello["electionId"], ObjectId)
    assert isinstance(hello["topologyVersion"]["processId"], ObjectId)
    assert isinstance(hello["topologyVersion"]["counter"], int)
    assert isinstance(hello["lastWrite"]["opTime"]["ts"], Timestamp)
    assert hello["maxWireVersion"] == 21
    assert isinstance(hello["logicalSessionTimeoutMinutes"], int)


def test_legacy_is_master_answers_ismaster(mongo_client):
    """isMaster answers ``ismaster`` (the legacy name), not ``isWritablePrimary``."""
    reply = mongo_client.admin.command("isMaster")
    assert reply["ismaster"] is True
    assert "isWritablePrimary" not in reply
    assert reply["setName"]


def test_member_address_is_reachable_without_direct_connection(mongo_client, mongo_uri):
    """SDAM: without directConnection the driver discovers the set from ``hosts`` and
    connects to the members named there, so they must be addresses clients can reach."""
    host, port = mongo_client.address
    seed = f"[{host}]" if ":" in host else host
    client = pymongo.MongoClient(f"mongodb://{seed}:{port}/", serverSelectionTimeoutMS=10_000)
    try:
        assert client.admin.command("ping")["ok"] == 1
        description = client.topology_description
        assert description.topology_type_name == "ReplicaSetWithPrimary"
        (server,) = description.server_descriptions().values()
        assert server.server_type_name == "RSPrimary"
    finally:
        client.close()


def test_pymongo_sees_a_primary(mongo_client):
    mongo_client.admin.command("ping")
    (server,) = mongo_client.topology_description.server_descriptions().values()
    assert server.server_type_name == "RSPrimary"


# -- cluster time -----------------------------------------------------------------------------


def test_replies_carry_cluster_time_and_writes_advance_it(mongo_db):
    """Every reply of a replica set member carries ``$clusterTime`` (with its signature) and
    ``operationTime``; a later write has a later operation time."""
    first = mongo_db.command("insert", "things", documents=[{"n": 1}])
    second = mongo_db.command("insert", "things", documents=[{"n": 2}])
    ping = mongo_db.command("ping")
    for reply in (first, second, ping):
        assert isinstance(reply["operationTime"], Timestamp)
        assert isinstance(reply["$clusterTime"]["clusterTime"], Timestamp)
        assert set(reply["$clusterTime"]["signature"]) == {"hash", "keyId"}
    assert second["operationTime"] > first["operationTime"]
    assert ping["$clusterTime"]["clusterTime"] >= second["operationTime"]


def test_causally_consistent_session_reads_its_writes(mongo_client, mongo_db):
    """A causally consistent session sends ``readConcern.afterClusterTime`` (its operation
    time): the server accepts it and the read sees the write."""
    with mongo_client.start_session(causal_consistency=True) as session:
        mongo_db.things.insert_one({"_id": 1}, session=session)
        assert session.operation_time is not None
        assert mongo_db.things.find_one({"_id": 1}, session=session) == {"_id": 1}


def test_after_cluster_time_in_the_future_is_invalid_options(mongo_db):
    """read_concern_mongod.cpp: an afterClusterTime past the cluster time is InvalidOptions."""
    future = Timestamp(int(time.time()) + 3600, 1)
    with pytest.raises(OperationFailure) as raised:
        mongo_db.command("find", "things", readConcern={"afterClusterTime": future})
    assert raised.value.code == 72
    assert raised.value.details["codeName"] == "InvalidOptions"
    assert "must not be greater than the current clusterTime" in str(raised.value)


# -- failCommand ------------------------------------------------------------------------------


def test_fail_point_error_has_its_code_name(mongo_db, fail_point):
    """The fail point's errorCode comes with its name from error_codes.yml."""
    fail_point({"times": 2}, failCommands=["find"], errorCode=112)
    with pytest.raises(OperationFailure) as raised:
        mongo_db.command("find", "things")
    assert raised.value.code == 112
    assert raised.value.details["codeName"] == "WriteConflict"
    assert raised.value.details["errmsg"] == MESSAGE
    with pytest.raises(OperationFailure) as raised:
        mongo_db.command("find", "things")
    assert raised.value.details["codeName"] == "WriteConflict"
    mongo_db.command("find", "things")  # times: 2 are used up


def test_unknown_fail_point_is_fail_point_set_failed(mongo_client):
    with pytest.raises(OperationFailure) as raised:
        mongo_client.admin.command(
            {"configureFailPoint": "noSuchFailPointAnywhere", "mode": "alwaysOn"}
        )
    assert raised.value.code == 266
    assert raised.value.details["codeName"] == "FailPointSetFailed"


def test_fail_point_fires_on_commit_with_transient_label(mongo_client, mongo_db, fail_point):
    """NoSuchTransaction on commitTransaction, without a write concern error, is labelled
    TransientTransactionError by the server."""
    mongo_db.things.insert_one({"_id": 0})
    fail_point({"times": 1}, failCommands=["commitTransaction"], errorCode=251)
    with mongo_client.start_session() as session:
        session.start_transaction()
        mongo_db.things.insert_one({"_id": 1}, session=session)
        with pytest.raises(OperationFailure) as raised:
            session.commit_transaction()
    kill_all_sessions(mongo_client)
    assert raised.value.code == 251
    assert raised.value.details["codeName"] == "NoSuchTransaction"
    assert raised.value.has_error_label("TransientTransactionError")


def test_fail_point_fires_on_abort(client_with, fail_point):
    """abortTransaction is failed too (drivers swallow abort errors: seen in the reply)."""
    client, replies = client_with(retryWrites=False)
    db = client.get_database("t_fail_point_fires_on_abort")
    db.things.insert_one({"_id": 0})
    fail_point({"times": 1}, failCommands=["abortTransaction"], errorCode=91)
    with client.start_session() as session:
        session.start_transaction()
        db.things.insert_one({"_id": 1}, session=session)
        session.abort_transaction()
    kill_all_sessions(client)
    reply = replies.of("abortTransaction")[0]  # the driver retries it once (the label)
    assert reply["code"] == 91
    assert reply["codeName"] == "ShutdownInProgress"
    assert reply["errorLabels"] == ["RetryableWriteError"]
    client.drop_database(db.name)


def test_transaction_statement_error_is_transient(mongo_client, mongo_db, fail_point):
    """error_labels.cpp: a transaction statement failing with a retriable code (or
    WriteConflict) is TransientTransactionError, not RetryableWriteError."""
    mongo_db.things.insert_one({"_id": 0})
    fail_point({"times": 1}, failCommands=["insert"], errorCode=189)
    with mongo_client.start_session() as session:
        session.start_transaction()
        with pytest.raises(PyMongoError) as raised:  # NotPrimaryError
            mongo_db.things.insert_one({"_id": 1}, session=session)
        session.abort_transaction()
    assert raised.value.details["code"] == 189
    assert raised.value.details["codeName"] == "PrimarySteppedDown"
    assert raised.value.details["errorLabels"] == ["TransientTransactionError"]


def test_fail_point_error_labels_replace_the_servers(mongo_client, mongo_db, fail_point):
    """An errorLabels array in the fail point's data is what the reply carries (empty: none)."""
    mongo_db.things.insert_one({"_id": 0})
    fail_point({"times": 1}, failCommands=["insert"], errorCode=112, errorLabels=[])
    with mongo_client.start_session() as session:
        session.start_transaction()
        with pytest.raises(OperationFailure) as raised:
            mongo_db.things.insert_one({"_id": 1}, session=session)
        session.abort_transaction()
    assert raised.value.code == 112
    assert "errorLabels" not in raised.value.details


def test_retryable_write_is_labelled_and_retried(client_with, fail_point):
    """A retryable write failing with a retriable code gets RetryableWriteError (server side,
    wire version >= 9) and the driver's retry succeeds, writing once."""
    client, replies = client_with(retryWrites=True)
    db = client.get_database("t_retryable_write_is_labelled_and_retried")
    fail_point({"times": 1}, failCommands=["insert"], errorCode=189)
    db.things.insert_one({"_id": 1})
    first, second = replies.of("insert")
    assert first["codeName"] == "PrimarySteppedDown"
    assert first["errorLabels"] == ["RetryableWriteError"]
    assert first["topologyVersion"] == client.admin.command("hello")["topologyVersion"]
    assert second["ok"] == 1
    assert db.things.count_documents({}) == 1
    client.drop_database(db.name)


def test_retried_write_after_write_concern_error_is_not_redone(client_with, fail_point):
    """writeConcernError: the command runs, then the reply carries the error (retriable code:
    RetryableWriteError); the driver's retry with the same txnNumber must not write again."""
    client, replies = client_with(retryWrites=True)
    db = client.get_database("t_retried_write_after_wce")
    db.things.insert_one({"_id": 1, "n": 0})
    fail_point(
        {"times": 1},
        failCommands=["update"],
        writeConcernError={"code": 262, "errmsg": "exceeded time limit"},
    )
    db.things.update_one({"_id": 1}, {"$inc": {"n": 1}})
    first, second = replies.of("update")
    assert first["writeConcernError"]["code"] == 262
    assert first["errorLabels"] == ["RetryableWriteError"]
    assert second["n"] == 1 and "writeConcernError" not in second
    assert db.things.find_one({"_id": 1}) == {"_id": 1, "n": 1}
    client.drop_database(db.name)


def test_close_connection_drops_the_connection(client_with, fail_point):
    """closeConnection: no reply, the connection is closed (the driver sees a network error);
    the command did not run."""
    client, _ = client_with(retryWrites=False)
    db = client.get_database("t_close_connection_drops_the_connection")
    fail_point({"times": 1}, failCommands=["insert"], closeConnection=True)
    with pytest.raises(AutoReconnect):
        db.things.insert_one({"_id": 1})
    assert db.things.count_documents({}) == 0
    client.drop_database(db.name)


def test_block_connection_delays_the_command(mongo_db, fail_point):
    fail_point({"times": 1}, failCommands=["ping"], blockConnection=True, blockTimeMS=300)
    started = time.monotonic()
    mongo_db.command("ping")
    assert time.monotonic() - started >= 0.3


def test_write_concern_beyond_the_members_is_a_write_concern_error(mongo_db):
    """w greater than the data-bearing members: the write is done, and the reply carries
    UnsatisfiableWriteConcern (100) "Not enough data-bearing nodes" (a one-member set here;
    a real set needs w above its member count)."""
    members = len(mongo_db.client.admin.command("hello")["hosts"])
    reply = mongo_db.command(
        "insert", "things", documents=[{"_id": 1}], writeConcern={"w": members + 1}
    )
    assert reply["n"] == 1
    assert reply["writeConcernError"]["code"] == 100
    assert reply["writeConcernError"]["codeName"] == "UnsatisfiableWriteConcern"
    assert mongo_db.things.count_documents({}) == 1


# -- killAllSessions ---------------------------------------------------------------------------


def test_kill_all_sessions_aborts_open_transactions(mongo_client, mongo_db):
    """killAllSessions aborts the open transactions: committing one then fails (251)."""
    mongo_db.things.insert_one({"_id": 0})
    with mongo_client.start_session() as session:
        session.start_transaction()
        mongo_db.things.insert_one({"_id": 1}, session=session)
        mongo_client.admin.command("killAllSessions", [])
        with pytest.raises(OperationFailure) as raised:
            session.commit_transaction()
    assert raised.value.code == 251
    assert mongo_db.things.count_documents({}) == 1
