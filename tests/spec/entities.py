"""The entity map of one spec test: clients (with command monitoring), databases, collections,
sessions and cursors, created from ``createEntities`` (unified-test-format.md, "Entity")."""

from __future__ import annotations

import contextlib

import pymongo
from pymongo import monitoring
from pymongo.read_concern import ReadConcern
from pymongo.read_preferences import make_read_preference, read_pref_mode_from_name
from pymongo.server_api import ServerApi
from pymongo.synchronous.client_session import TransactionOptions
from pymongo.write_concern import WriteConcern

from .errors import Unsupported

# Commands whose monitoring events the unified format hides unless a client sets
# observeSensitiveCommands (Command Logging and Monitoring spec, "Security"); configureFailPoint
# is the runner's own and is never observed.
SENSITIVE_COMMANDS = {
    "authenticate",
    "saslstart",
    "saslcontinue",
    "getnonce",
    "createuser",
    "updateuser",
    "copydbgetnonce",
    "copydbsaslstart",
    "copydb",
}
EVENT_NAMES = {
    monitoring.CommandStartedEvent: "commandStartedEvent",
    monitoring.CommandSucceededEvent: "commandSucceededEvent",
    monitoring.CommandFailedEvent: "commandFailedEvent",
}


class CommandRecorder(monitoring.CommandListener):
    """Records the command events a client entity observes, in order."""

    def __init__(self, observe, ignore, observe_sensitive):
        self.observe = set(observe)
        self.ignore = {name.lower() for name in ignore} | {"configurefailpoint"}
        if not observe_sensitive:
            self.ignore |= SENSITIVE_COMMANDS
        self.events = []
        self.all_started = []  # every commandStartedEvent, for the lsid assertions

    def _record(self, event):
        if event.command_name.lower() in self.ignore:
            return
        if isinstance(event, monitoring.CommandStartedEvent):
            self.all_started.append(event)
        if EVENT_NAMES[type(event)] in self.observe:
            self.events.append(event)

    started = succeeded = failed = _record


def read_concern(spec):
    return ReadConcern(spec.get("level")) if spec is not None else None


def write_concern(spec):
    if spec is None:
        return None
    options = {{"wtimeoutMS": "wtimeout", "journal": "j"}.get(k, k): v for k, v in spec.items()}
    return WriteConcern(**options)


def read_preference(spec):
    if spec is None:
        return None
    unknown = set(spec) - {"mode", "tagSets", "maxStalenessSeconds"}
    if unknown:
        raise Unsupported(f"read preference options {sorted(unknown)}")
    return make_read_preference(
        read_pref_mode_from_name(spec["mode"]),
        spec.get("tagSets"),
        spec.get("maxStalenessSeconds", -1),
    )


def transaction_options(spec):
    spec = spec or {}
    unknown = set(spec) - {"readConcern", "writeConcern", "readPreference", "maxCommitTimeMS"}
    if unknown:
        raise Unsupported(f"transaction options {sorted(unknown)}")
    return TransactionOptions(
        read_concern=read_concern(spec.get("readConcern")),
        write_concern=write_concern(spec.get("writeConcern")),
        read_preference=read_preference(spec.get("readPreference")),
        max_commit_time_ms=spec.get("maxCommitTimeMS"),
    )


def _collection_options(spec):
    spec = spec or {}
    unknown = set(spec) - {"readConcern", "writeConcern", "readPreference"}
    if unknown:
        raise Unsupported(f"database/collection options {sorted(unknown)}")
    return {
        "read_concern": read_concern(spec.get("readConcern")),
        "write_concern": write_concern(spec.get("writeConcern")),
        "read_preference": read_preference(spec.get("readPreference")),
    }


# pymongo's floor for heartbeatFrequencyMS (common.MIN_HEARTBEAT_INTERVAL; the SDAM spec's
# minHeartbeatFrequencyMS, which drivers may not let users lower).
LOW_HEARTBEAT_MS = 500
# Server selection against the runner's one local server: one that can succeed does within a
# heartbeat or two; pymongo's 30 s default only delays the ones that cannot.
SELECTION_TIMEOUT_MS = 5_000


def runner_options(uri_options, low_heartbeat):
    """The URI options the runner adds to a client entity's own (never overriding them).

    heartbeatFrequencyMS: LOW_HEARTBEAT_MS when the test may configure a fail point. A shutdown
    or "not primary" error (which fail points inject) marks the server Unknown, and the driver
    only selects it again after its monitor's next hello: 10 s by default, for each such error.
    The unified format lets runners lower the frequency for the clients of a test that might
    run configureFailPoint, and forbids it for clients whose uriOptions set
    heartbeatFrequencyMS (unified-test-format.md, "Executing a Test").

    serverSelectionTimeoutMS: SELECTION_TIMEOUT_MS. The selections that cannot succeed are those
    for a secondary, which a one-member set lacks (expectations.py, "one-member-set"): they
    fail the same way after 5 s instead of 30 s each.
    """
    given = {key.lower() for key in uri_options}
    options = {}
    if low_heartbeat and "heartbeatfrequencyms" not in given:
        options["heartbeatFrequencyMS"] = LOW_HEARTBEAT_MS
    if "serverselectiontimeoutms" not in given:
        options["serverSelectionTimeoutMS"] = SELECTION_TIMEOUT_MS
    return options


CLIENT_KEYS = {
    "id",
    "uriOptions",
    "useMultipleMongoses",
    "observeEvents",
    "ignoreCommandMonitoringEvents",
    "observeSensitiveCommands",
    "serverApi",
}


class EntityMap(dict):
    """Entity id -> pymongo object; also remembers each session's lsid and client recorders."""

    def __init__(self, uri, low_heartbeat=False):
        super().__init__()
        self.uri = uri
        self.low_heartbeat = low_heartbeat  # the test may configure a fail point
        self.recorders = {}  # client id -> CommandRecorder
        self.lsids = {}  # session id -> lsid (kept after endSession)
        self.sessions_to_end = []
        self.clients_to_close = []

    def session_lsid(self, name):
        return self.lsids[name]

    def create(self, entities):
        for entity in entities:
            (kind, spec), *_ = entity.items()
            if spec["id"] in self:
                raise Unsupported(f"duplicate entity id {spec['id']}")
            factory = getattr(self, f"_create_{kind}", None)
            if factory is None:
                raise Unsupported(f"{kind} entities")
            self[spec["id"]] = factory(spec)

    def _create_client(self, spec):
        unknown = set(spec) - CLIENT_KEYS
        if unknown:
            raise Unsupported(f"client options {sorted(unknown)}")
        observe = spec.get("observeEvents", [])
        if set(observe) - set(EVENT_NAMES.values()):
            raise Unsupported(f"observing {sorted(set(observe) - set(EVENT_NAMES.values()))}")
        recorder = CommandRecorder(
            observe,
            spec.get("ignoreCommandMonitoringEvents", []),
            spec.get("observeSensitiveCommands", False),
        )
        options = dict(spec.get("uriOptions", {}))
        options.update(runner_options(options, self.low_heartbeat))
        if "serverApi" in spec:
            api = spec["serverApi"]
            options["server_api"] = ServerApi(
                api["version"],
                strict=api.get("strict"),
                deprecation_errors=api.get("deprecationErrors"),
            )
        client = pymongo.MongoClient(self.uri, event_listeners=[recorder], **options)
        self.recorders[spec["id"]] = recorder
        self.clients_to_close.append(client)
        return client

    def _create_database(self, spec):
        client = self[spec["client"]]
        return client.get_database(
            spec["databaseName"], **_collection_options(spec.get("databaseOptions"))
        )

    def _create_collection(self, spec):
        database = self[spec["database"]]
        return database.get_collection(
            spec["collectionName"], **_collection_options(spec.get("collectionOptions"))
        )

    def _create_session(self, spec):
        client = self[spec["client"]]
        options = dict(spec.get("sessionOptions", {}))
        arguments = {}
        if "causalConsistency" in options:
            arguments["causal_consistency"] = options.pop("causalConsistency")
        if "snapshot" in options:
            arguments["snapshot"] = options.pop("snapshot")
        if "defaultTransactionOptions" in options:
            arguments["default_transaction_options"] = transaction_options(
                options.pop("defaultTransactionOptions")
            )
        if options:
            raise Unsupported(f"session options {sorted(options)}")
        session = client.start_session(**arguments)
        self.lsids[spec["id"]] = session.session_id
        self.sessions_to_end.append(session)
        return session

    def close(self):
        for session in self.sessions_to_end:
            with contextlib.suppress(Exception):  # already ended, or its client closed
                session.end_session()
        for client in self.clients_to_close:
            client.close()
