"""The ``failCommand`` fail point, as mongod evaluates it (drivers' spec tests depend on it).

``configureFailPoint: "failCommand"`` with a mode (``alwaysOn``, ``off``, ``{times: n}``,
``{skip: n}``) and ``data`` makes the next matching commands fail. mongoeco had its own, which
never fired on ``commitTransaction``/``abortTransaction`` (they bypass its command service),
answered ``closeConnection`` with an error instead of closing, and named codes
``Location<code>``. The server's rules (``CommandHelpers::evaluateFailCommandFailPoint`` and
``shouldActivateFailCommandFailPoint`` in ``src/mongo/db/commands.cpp``, the write concern part
in ``service_entry_point_common.cpp``):

- it matches a command named in ``failCommands`` (or an alias of it), optionally only for a
  client ``appName`` or a ``namespace``; ``configureFailPoint`` itself is never failed;
- it is evaluated before the command runs (and before the session is checked out: a failed
  statement does not abort its transaction): ``blockConnection`` sleeps ``blockTimeMS``,
  ``closeConnection`` drops the connection without a reply, ``errorCode`` fails the command
  with that code and the message "Failing command via 'failCommand' failpoint";
- ``writeConcernError`` lets a command that takes a write concern run, then adds that document
  to its reply instead of waiting for the write concern;
- ``errorLabels`` replace the labels the server would attach (``labels``).
"""

from __future__ import annotations

import asyncio
import random
import threading
import weakref
from dataclasses import dataclass, field

from ..corrections import error_codes
from ..corrections.errors import server_error
from .topology import WRITE_COMMANDS

FAIL_POINT = "failCommand"
MESSAGE = "Failing command via 'failCommand' failpoint"
#: The code of the error a ``closeConnection`` fail point raises on the server side.
CLOSED_CODE = 50985
#: Command name -> the names it answers to (``Command::hasAlias``).
ALIASES = {
    "hello": {"hello", "isMaster", "ismaster"},
    "isMaster": {"hello", "isMaster", "ismaster"},
    "ismaster": {"hello", "isMaster", "ismaster"},
    "findAndModify": {"findAndModify", "findandmodify"},
    "findandmodify": {"findAndModify", "findandmodify"},
    "buildInfo": {"buildInfo", "buildinfo"},
    "buildinfo": {"buildInfo", "buildinfo"},
}


@dataclass
class Activation:
    """What the fail point does to one command."""

    data: dict

    @property
    def labels(self):
        """The fail point's ``errorLabels``, or None (the server computes the labels)."""
        labels = self.data.get("errorLabels")
        return list(labels) if isinstance(labels, list) else None

    @property
    def write_concern_error(self):
        error = self.data.get("writeConcernError")
        return dict(error) if isinstance(error, dict) else None


@dataclass
class FailCommand:
    """A configured ``failCommand``: its mode and data."""

    data: dict
    times: int | None = None  # None: always on
    skip: int = 0
    probability: float = 1.0

    def matches(self, command_name, db_name, command_document, connection):
        commands = self.data.get("failCommands")
        if not isinstance(commands, list):
            return False
        names = ALIASES.get(command_name, {command_name})
        if not any(name in names for name in commands if isinstance(name, str)):
            return False
        app_name = self.data.get("appName")
        if isinstance(app_name, str) and app_name != _app_name(connection):
            return False
        namespace = self.data.get("namespace")
        if isinstance(namespace, str):
            collection = command_document.get(command_name)
            if f"{db_name}.{collection}" != namespace:
                return False
        return True


def _app_name(connection):
    metadata = getattr(connection, "client_metadata", None) or {}
    application = metadata.get("application") or {}
    return application.get("name") if isinstance(application, dict) else None


@dataclass
class FailPoints:
    """One server's fail point state, and the connections to drop after their command."""

    fail_command: FailCommand | None = None
    entered: int = 0
    closing: set = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, command):
        """``configureFailPoint``: set the mode; answers the times entered so far (``count``)."""
        name = command.get("configureFailPoint")
        if name != FAIL_POINT:
            raise server_error(266, "FailPointSetFailed", f"{name} not found")
        mode = command.get("mode")
        data = command.get("data", {})
        if not isinstance(data, dict):
            raise server_error(2, "BadValue", "'data' must be an object")
        with self.lock:
            count = self.entered
            if mode == "off":
                self.fail_command = None
            elif mode == "alwaysOn":
                self.fail_command = FailCommand(dict(data))
            elif isinstance(mode, dict) and len(mode) == 1:
                self.fail_command = _counted(mode, dict(data))
            else:
                raise server_error(
                    2,
                    "BadValue",
                    "'mode' must be one of 'off', 'alwaysOn', 'times', 'skip' and "
                    "'activationProbability'",
                )
            if self.fail_command is not None and self.fail_command.times == 0:
                self.fail_command = None
        return {"count": count, "ok": 1.0}

    def activate(self, command_name, db_name, command_document, connection):
        """The fail point's activation for this command, or None; counts it as entered."""
        if command_name == "configureFailPoint":
            return None
        with self.lock:
            point = self.fail_command
            if point is None or not point.matches(
                command_name, db_name, command_document, connection
            ):
                return None
            data = point.data
            acts = (
                any(data.get(key) for key in ("closeConnection", "blockConnection"))
                or isinstance(data.get("errorCode"), int)
                or (command_name in WRITE_COMMANDS and "writeConcernError" in data)
            )
            if not acts:
                return None
            if point.skip > 0:
                point.skip -= 1
                return None
            if point.probability < 1.0 and random.random() >= point.probability:
                return None
            if point.times is not None:
                point.times -= 1
                if point.times <= 0:
                    self.fail_command = None
            self.entered += 1
            return Activation(data)

    async def before(self, activation, connection):
        """Apply an activation before the command runs: block, drop or fail."""
        data = activation.data
        if data.get("blockConnection"):
            block_ms = data.get("blockTimeMS")
            if not isinstance(block_ms, int) or block_ms < 0:
                raise server_error(
                    72,
                    "InvalidOptions",
                    "must specify 'blockTimeMS' when 'blockConnection' is true",
                )
            await asyncio.sleep(block_ms / 1000)
        if data.get("closeConnection"):
            self.closing.add(connection.connection_id)
            raise server_error(CLOSED_CODE, error_codes.code_name(CLOSED_CODE), MESSAGE)
        code = data.get("errorCode")
        if isinstance(code, int) and not isinstance(code, bool):
            raise server_error(code, error_codes.code_name(code), MESSAGE)

    def must_close(self, connection):
        """Whether ``connection`` must be dropped instead of answered (once)."""
        with self.lock:
            if connection.connection_id in self.closing:
                self.closing.discard(connection.connection_id)
                return True
            return False


def _counted(mode, data):
    ((kind, value),) = mode.items()
    if kind in ("times", "skip") and (
        not isinstance(value, int) or isinstance(value, bool) or value < 0
    ):
        raise server_error(2, "BadValue", f"'{kind}' must be a non-negative integer")
    if kind == "times":
        return FailCommand(data, times=value)
    if kind == "skip":
        return FailCommand(data, skip=value)
    if kind == "activationProbability":
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise server_error(
                2, "BadValue", "'activationProbability' must be a number between 0 and 1"
            )
        return FailCommand(data, probability=float(value))
    raise server_error(
        2,
        "BadValue",
        "'mode' must be one of 'off', 'alwaysOn', 'times', 'skip' and 'activationProbability'",
    )


_STATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def state(owner):
    """The fail points of the server ``owner`` (the executor or server object)."""
    points = _STATES.get(owner)
    if points is None:
        points = _STATES[owner] = FailPoints()
    return points
