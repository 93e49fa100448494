"""Run one unified-format spec file against a server: the life of each test in it.

For each test: ``initialData`` (collections dropped, created and filled through an internal
client with majority write concern), ``createEntities``, the operations with their
``expectResult``/``expectError``, ``expectEvents`` (command monitoring only) and ``outcome``
(unified-test-format.md, "Executing a Test"). A test ends *passed*, *failed* (the server did
not behave as MongoDB: the reason names the first difference) or *left out* (its requirements
do not admit a 7.0 replica set, or the runner lacks something it uses).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import time
from pathlib import Path

from bson import json_util
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    InvalidOperation,
    NotPrimaryError,
    PyMongoError,
)
from pymongo.write_concern import WriteConcern

from . import requirements
from .entities import EVENT_NAMES, EntityMap
from .errors import Unsupported
from .matching import Matcher, Mismatch
from .operations import OPERATIONS, RUNNER_OPERATIONS, bulk_write_error_result

PASSED, FAILED, LEFT_OUT = "passed", "failed", "left out"
MAJORITY = WriteConcern("majority")


@dataclasses.dataclass
class Outcome:
    test_id: str
    status: str
    reason: str = ""
    seconds: float = 0.0


class TestFailure(AssertionError):
    """A difference between what the test expects and what happened."""


class Context:
    """What the operations of one test share: entities, fail points to switch off, cursors."""

    def __init__(self, uri, internal_client, low_heartbeat=False):
        self.entities = EntityMap(uri, low_heartbeat)
        self.internal_client = internal_client
        self.matcher = Matcher(self.entities)
        self.fail_points = []
        self.cursors = []
        self.in_callback = False

    def run_callback(self, operations):
        """A withTransaction callback: an operation's error is checked against its expectError
        (if any), then propagates as raised, also under ignoreResultAndError, so that
        withTransaction sees it (aborts, retries on a TransientTransactionError label) and its
        own expectError describes the outcome (unified-test-format.md, "withTransaction")."""
        self.in_callback = True
        try:
            self.run_operations(operations)
        finally:
            self.in_callback = False

    def run_operations(self, operations):
        for index, operation in enumerate(operations):
            try:
                run_operation(self, operation)
            except (TestFailure, Mismatch) as error:
                raise TestFailure(f"operation {index} ({operation['name']}): {error}") from error

    def disable_fail_points(self):
        for name in self.fail_points:
            with contextlib.suppress(PyMongoError):
                self.internal_client.admin.command({"configureFailPoint": name, "mode": "off"})
        self.fail_points.clear()

    def close(self):
        self.disable_fail_points()
        for cursor in self.cursors:
            with contextlib.suppress(PyMongoError):
                cursor.close()
        self.entities.close()


def run_operation(ctx, operation):
    name, args = operation["name"], dict(operation.get("arguments", {}))
    if operation["object"] == "testRunner":
        handler = RUNNER_OPERATIONS.get(name)
        if handler is None:
            raise Unsupported(f"testRunner operation {name}")
        try:
            handler(ctx, args)
        except AssertionError as error:
            raise TestFailure(f"{name}: {error}") from error
        return
    handler = OPERATIONS.get(name)
    if handler is None:
        raise Unsupported(f"operation {name}")
    target = ctx.entities[operation["object"]]
    if "session" in args:
        args["session"] = ctx.entities[args["session"]]
    expect_error = operation.get("expectError")
    try:
        result = handler(ctx, target, args)
    except (Unsupported, TestFailure, Mismatch):
        raise
    except Exception as error:
        if expect_error is not None:
            check_error(ctx, error, expect_error)
        if ctx.in_callback:
            raise
        if expect_error is not None or operation.get("ignoreResultAndError"):
            return
        raise TestFailure(f"unexpected error {describe(error)}") from error
    if expect_error is not None:
        raise TestFailure(f"expected an error {expect_error}, got the result {result!r}")
    if "expectResult" in operation and not operation.get("ignoreResultAndError"):
        ctx.matcher.match(operation["expectResult"], result)
    if "saveResultAsEntity" in operation:
        ctx.entities[operation["saveResultAsEntity"]] = result


def describe(error):
    details = getattr(error, "details", None)
    text = f"{type(error).__name__}: {error}"
    if isinstance(details, dict) and "codeName" in details and "codeName" not in text:
        text += f" (codeName {details['codeName']})"
    return text[:500]


def is_client_error(error):
    """Did the error originate in the driver rather than in a server reply?"""
    if isinstance(error, ConnectionFailure):
        return not isinstance(error, NotPrimaryError)
    if isinstance(error, (InvalidOperation, ConfigurationError)):
        return True
    return not isinstance(error, PyMongoError)


def check_error(ctx, error, spec):
    """``expectError`` (unified-test-format.md, "expectedError") against the raised error."""
    unknown = set(spec) - {
        "isError",
        "isClientError",
        "errorContains",
        "errorCode",
        "errorCodeName",
        "errorLabelsContain",
        "errorLabelsOmit",
        "expectResult",
        "errorResponse",
    }
    if unknown:
        raise Unsupported(f"expectError fields {sorted(unknown)}")
    got = describe(error)
    if "isClientError" in spec and is_client_error(error) != spec["isClientError"]:
        side = "client" if spec["isClientError"] else "server"
        raise TestFailure(f"expected a {side} error, got {got}")
    details = getattr(error, "details", None) or {}
    if "errorContains" in spec:
        text = str(details if isinstance(error, BulkWriteError) else error).lower()
        if spec["errorContains"].lower() not in text:
            raise TestFailure(f"expected an error containing {spec['errorContains']!r}, got {got}")
    if "errorCode" in spec:
        code = details.get("code", getattr(error, "code", None))
        if code != spec["errorCode"]:
            raise TestFailure(f"expected error code {spec['errorCode']}, got {got}")
    if "errorCodeName" in spec and details.get("codeName") != spec["errorCodeName"]:
        raise TestFailure(f"expected codeName {spec['errorCodeName']}, got {got}")
    has_label = getattr(error, "has_error_label", lambda label: False)
    for label in spec.get("errorLabelsContain", []):
        if not has_label(label):
            raise TestFailure(f"expected the error label {label}, got {got}")
    for label in spec.get("errorLabelsOmit", []):
        if has_label(label):
            raise TestFailure(f"expected no error label {label}, got {got}")
    if "errorResponse" in spec:
        ctx.matcher.match(spec["errorResponse"], details)
    if "expectResult" in spec:
        if not isinstance(error, BulkWriteError):
            raise Unsupported(f"expectResult on {type(error).__name__}")
        ctx.matcher.match(spec["expectResult"], bulk_write_error_result(error))


def check_events(ctx, expectations):
    for expected in expectations:
        if expected.get("eventType", "command") != "command":
            raise Unsupported(f"{expected['eventType']} events")
        recorder = ctx.entities.recorders[expected["client"]]
        actual = list(recorder.events)
        wanted = expected["events"]
        if expected.get("ignoreExtraEvents"):
            actual = actual[: len(wanted)]
        names = [f"{EVENT_NAMES[type(e)]}:{e.command_name}" for e in actual]
        if len(actual) != len(wanted):
            raise TestFailure(
                f"expected {len(wanted)} events for {expected['client']}, got {names}"
            )
        for index, (event_spec, event) in enumerate(zip(wanted, actual, strict=True)):
            (kind, fields), *_ = event_spec.items()
            where = f"event {index} ({names[index]})"
            if EVENT_NAMES[type(event)] != kind:
                raise TestFailure(f"{where}: expected a {kind}")
            try:
                match_event(ctx, fields, event)
            except Mismatch as error:
                raise TestFailure(f"{where}: {error}") from error


def match_event(ctx, fields, event):
    for field, value in fields.items():
        if field == "command":
            ctx.matcher.match(value, event.command)
        elif field == "reply":
            ctx.matcher.match(value, event.reply)
        elif field == "commandName":
            ctx.matcher.match(value, event.command_name, path=".commandName")
        elif field == "databaseName":
            ctx.matcher.match(value, event.database_name, path=".databaseName")
        elif field == "hasServerConnectionId":
            if (event.server_connection_id is not None) != value:
                raise Mismatch(f"serverConnectionId: {event.server_connection_id!r}")
        elif field == "hasServiceId":
            if (event.service_id is not None) != value:
                raise Mismatch(f"serviceId: {event.service_id!r}")
        else:
            raise Unsupported(f"event field {field}")


def load_data(client, initial_data):
    for data in initial_data:
        database = client.get_database(data["databaseName"], write_concern=MAJORITY)
        database.drop_collection(data["collectionName"])
        options = data.get("createOptions")
        if options is not None or not data["documents"]:
            database.create_collection(
                data["collectionName"], check_exists=False, **(options or {})
            )
        if data["documents"]:
            database[data["collectionName"]].insert_many(data["documents"])


def check_outcome(ctx, outcome):
    for data in outcome:
        collection = ctx.internal_client[data["databaseName"]][data["collectionName"]]
        documents = list(collection.find({}, sort=[("_id", 1)]))
        try:
            ctx.matcher.match(data["documents"], documents, strict_root=True)
        except Mismatch as error:
            raise TestFailure(f"outcome of {data['collectionName']}: {error}") from error


def configures_fail_point(value):
    """Might this test (its operations, at any depth) run configureFailPoint? The ``failPoint``
    and ``targetedFailPoint`` operations name it in their argument, as a runCommand would."""
    if isinstance(value, dict):
        return "configureFailPoint" in value or any(map(configures_fail_point, value.values()))
    if isinstance(value, list):
        return any(map(configures_fail_point, value))
    return False


def run_test(ctx_factory, file_spec, test):
    ctx = ctx_factory()
    try:
        # Transactions a previous test left open (its connection dropped) would hold their
        # locks: the unified format kills all sessions first ("Executing a Test").
        with contextlib.suppress(PyMongoError):
            ctx.internal_client.admin.command("killAllSessions", [])
        load_data(ctx.internal_client, file_spec.get("initialData", []))
        ctx.entities.create(file_spec.get("createEntities", []))
        try:
            ctx.run_operations(test["operations"])
        finally:
            # Before the assertions: the outcome is read through the internal client, which a
            # fail point with times left would hit ("Executing a Test" disables them here).
            ctx.disable_fail_points()
        check_events(ctx, test.get("expectEvents", []))
        check_outcome(ctx, test.get("outcome", []))
    finally:
        ctx.close()


def run_file(path: Path, directory_name, uri, internal_client):
    """Every test of one spec file -> a list of Outcome."""
    file_spec = json_util.loads(path.read_text())
    prefix = f"{directory_name}/{path.stem}"
    file_reason = requirements.schema_unsupported(file_spec["schemaVersion"])
    file_reason = file_reason or requirements.not_applicable(file_spec.get("runOnRequirements"))
    outcomes = []
    for test in file_spec["tests"]:
        test_id = f"{prefix}: {test['description']}"
        reason = file_reason or requirements.not_applicable(test.get("runOnRequirements"))
        if not reason and "skipReason" in test:
            reason = f"the spec skips it: {test['skipReason']}"
        if reason:
            outcomes.append(Outcome(test_id, LEFT_OUT, reason))
            continue
        started = time.monotonic()
        try:
            low_heartbeat = configures_fail_point(test["operations"])
            context = functools.partial(Context, uri, internal_client, low_heartbeat)
            run_test(context, file_spec, test)
        except Unsupported as error:
            outcome = Outcome(test_id, LEFT_OUT, f"runner does not implement {error}")
        except (TestFailure, Mismatch) as error:
            outcome = Outcome(test_id, FAILED, str(error))
        except Exception as error:  # setup or runner errors: failures, with the error
            outcome = Outcome(test_id, FAILED, f"error: {describe(error)}")
        else:
            outcome = Outcome(test_id, PASSED)
        outcome.seconds = time.monotonic() - started
        outcomes.append(outcome)
    return outcomes
