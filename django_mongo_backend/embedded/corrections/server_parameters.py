"""The server's parameters: set at start as ``mongod --setParameter``, read and changed with
``getParameter`` and ``setParameter`` as ``mongod`` 7.0 answers them.

``mongod`` declares each parameter in an IDL file with its type, default, when it may be set
(``set_at: [startup, runtime]``) and its validator; this server has the few whose value its
corrections read (``limits`` and ``ttl_monitor``):

- ``ttlMonitorEnabled`` (bool, true) and ``ttlMonitorSleepSecs`` (int, 60, greater than 0), set
  at startup and at runtime (``src/mongo/db/ttl.idl``);
- ``maxBSONDepth`` (int, 200, 5 to 1000), at startup only (``bson_depth.idl``);
- ``internalQueryMaxPushBytes``, ``internalQueryMaxAddToSetBytes`` and
  ``internalQueryFacetMaxOutputDocSizeBytes`` (int, 100 MiB), at startup and at runtime
  (``query_knobs.idl``; ``jstests/aggregation/...max_push_bytes``-style tests lower them with
  ``setParameter``).

At start they come from ``DJANGO_MONGO_EMBEDDED_PARAMETERS`` (``NAME=VALUE`` pairs separated by
commas) in the server process's environment: an unknown name or a value ``mongod`` would refuse
stops the server, as it stops ``mongod``.

The commands follow ``src/mongo/db/commands/parameters.cpp``. Both run on ``admin`` only
(Unauthorized, 13, elsewhere). ``getParameter`` answers the parameters named in the command
(``{getParameter: 1, ttlMonitorSleepSecs: 1}``), all of them for ``getParameter: "*"`` or
``{allParameters: true}``, each as ``{value, settableAtRuntime, settableAtStartup}`` with
``showDetails``, and fails with InvalidOptions (72) "no option found to get" when it finds none;
it lists this server's parameters, not the hundreds a ``mongod`` has. ``setParameter`` refuses an
unknown parameter (72), one not settable at runtime (IllegalOperation, 20) and a value the
parameter's validator refuses (BadValue, 2); it coerces as ``BSONElement::coerce`` does (a number
to an int, truncated; anything to a bool by its truth), answers ``{was: <previous value of the
first parameter set>}``, and sets in name order.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from bson import Int64

from .errors import server_error
from .generic_arguments import is_generic_argument

#: The environment variable holding ``NAME=VALUE,...`` parameters for the server process.
ENVIRONMENT_VARIABLE = "DJANGO_MONGO_EMBEDDED_PARAMETERS"

_MEBIBYTES_100 = 100 * 1024 * 1024


@dataclass(frozen=True)
class Parameter:
    """One server parameter as its IDL declares it."""

    default: object
    runtime: bool = True
    #: An exclusive lower bound (the IDL validator ``gt``).
    above: int | None = None
    #: Inclusive bounds, checked by a validator of the parameter's own (``maxBSONDepth``).
    between: tuple[int, int] | None = None

    @property
    def kind(self):
        return bool if isinstance(self.default, bool) else int

    def refusal(self, name, value):
        """Why ``value`` is refused (the validator's message), or None."""
        if self.above is not None and not value > self.above:
            return f"Invalid value for parameter {name}: {value} is not greater than {self.above}"
        if self.between is not None and not self.between[0] <= value <= self.between[1]:
            low, high = self.between
            return f"{name} must be between {low} and {high}, inclusive"
        return None

    def stored(self, value):
        """``value`` as the parameter stores it (``AtomicWord<long long>``: a BSON long)."""
        return Int64(value) if isinstance(self.default, Int64) else value


#: The server parameters -> their declaration.
DECLARATIONS = {
    "internalQueryFacetMaxOutputDocSizeBytes": Parameter(Int64(_MEBIBYTES_100), above=0),
    "internalQueryMaxAddToSetBytes": Parameter(_MEBIBYTES_100, above=0),
    "internalQueryMaxPushBytes": Parameter(_MEBIBYTES_100, above=0),
    # BSONDepth::kBSONDepthParameterFloor and ...Ceiling.
    "maxBSONDepth": Parameter(200, runtime=False, between=(5, 1000)),
    "ttlMonitorEnabled": Parameter(True),
    "ttlMonitorSleepSecs": Parameter(60, above=0),
}

#: mongod's defaults.
DEFAULT_PARAMETERS = {name: declared.default for name, declared in DECLARATIONS.items()}

#: The server's current parameters (read by the corrections at each use).
PARAMETERS = dict(DEFAULT_PARAMETERS)

#: Parameter name -> called with the new value after ``setParameter`` changed it (the IDL's
#: ``on_update``); the modules that need to know register here.
ON_UPDATE = {}


# -- at start ----------------------------------------------------------------------------------


def _from_string(declared, text):
    """``coerceFromString``: a bool from "1"/"true"/"0"/"false", an int from its digits."""
    if declared.kind is bool:
        if text in ("1", "true"):
            return True
        if text in ("0", "false"):
            return False
        raise ValueError("Value is not a valid boolean")
    return int(text)


def set_parameters(assignments):
    """Apply ``NAME=VALUE`` strings (``--setParameter``); a name or value ``mongod`` would refuse
    raises ValueError."""
    for assignment in assignments:
        name, separator, text = assignment.partition("=")
        name = name.strip()
        if not separator or name not in DECLARATIONS:
            known = ", ".join(DECLARATIONS)
            raise ValueError(f"unknown server parameter {assignment!r} (known: {known})")
        declared = DECLARATIONS[name]
        value = _from_string(declared, text.strip())
        refusal = declared.refusal(name, value)
        if refusal:
            raise ValueError(refusal)
        PARAMETERS[name] = declared.stored(value)


def parameters_from_environment(environ=os.environ):
    """The ``NAME=VALUE`` assignments in ``DJANGO_MONGO_EMBEDDED_PARAMETERS``."""
    raw = environ.get(ENVIRONMENT_VARIABLE, "")
    return [part.strip() for part in raw.split(",") if part.strip()]


# -- getParameter / setParameter ----------------------------------------------------------------

#: ``GetParameterOptions`` (``parameters.idl``): the fields of ``{getParameter: {...}}``.
_GET_OPTIONS = ("allParameters", "showDetails", "setAt")


def _require_admin(context, command_name):
    if context.db_name != "admin":
        message = f"{command_name} may only be run against the admin database."
        raise server_error(13, "Unauthorized", message)


def _get_options(first):
    if isinstance(first, dict):
        for key in first:
            if key not in _GET_OPTIONS:
                message = f"BSON field 'getParameter.{key}' is an unknown field."
                raise server_error(40415, "Location40415", message)
        set_at = first.get("setAt")
        if set_at is not None and set_at not in ("startup", "runtime"):
            message = (
                f"Enumeration value '{set_at}' for field 'getParameter.setAt' is not a valid value."
            )
            raise server_error(2, "BadValue", message)
        return bool(first.get("allParameters")), bool(first.get("showDetails")), set_at
    return first == "*", False, None


async def get_parameter(executor, context):
    """``getParameter``: the named parameters' values (see the module)."""
    _require_admin(context, "getParameter")
    command = context.command_document
    every, details, set_at = _get_options(command.get("getParameter"))
    reply = {}
    for name in sorted(DECLARATIONS):
        declared = DECLARATIONS[name]
        if not every and name not in command:
            continue
        if set_at == "runtime" and not declared.runtime:
            continue
        value = PARAMETERS[name]
        reply[name] = (
            {"value": value, "settableAtRuntime": declared.runtime, "settableAtStartup": True}
            if details
            else value
        )
    if not reply:
        raise server_error(72, "InvalidOptions", "no option found to get")
    return {**reply, "ok": 1.0}


def _coerced(name, declared, element):
    """``element`` as the parameter's type, as ``BSONElement::coerce`` converts it."""
    if declared.kind is bool:
        return _truth(element)
    is_number = isinstance(element, (int, float)) and not isinstance(element, bool)
    if hasattr(element, "to_decimal"):  # Decimal128
        element, is_number = float(element.to_decimal()), True
    if not is_number or (isinstance(element, float) and not math.isfinite(element)):
        raise server_error(2, "BadValue", f"Invalid value for parameter {name}: {element!r}")
    return int(element)


def _truth(element):
    """``BSONElement::trueValue``: false for false, zero, null and undefined only."""
    if element is None or element is False:
        return False
    if isinstance(element, (int, float)) and not isinstance(element, bool):
        return element != 0
    if hasattr(element, "to_decimal"):
        return element.to_decimal() != 0
    return True


async def set_parameter(executor, context):
    """``setParameter``: change runtime-settable parameters (see the module)."""
    _require_admin(context, "setParameter")
    requested = {}
    for name, element in list(context.command_document.items())[1:]:
        if is_generic_argument(name):
            continue
        declared = DECLARATIONS.get(name)
        if declared is None:
            message = (
                f"attempted to set unrecognized parameter [{name}], use help:true to see options "
            )
            raise server_error(72, "InvalidOptions", message)
        if not declared.runtime:
            raise server_error(20, "IllegalOperation", f"not allowed to change [{name}] at runtime")
        requested[name] = element
    if not requested:
        message = "no option found to set, use help:true to see options "
        raise server_error(72, "InvalidOptions", message)
    reply = {}
    for name in sorted(requested):
        declared = DECLARATIONS[name]
        if not reply:
            reply["was"] = PARAMETERS[name]
        value = _coerced(name, declared, requested[name])
        refusal = declared.refusal(name, value)
        if refusal:
            raise server_error(2, "BadValue", refusal)
        PARAMETERS[name] = declared.stored(value)
        if name in ON_UPDATE:
            ON_UPDATE[name](PARAMETERS[name])
    return {**reply, "ok": 1.0}


#: Command name -> handler (``commands.OWN_COMMANDS``).
COMMANDS = {"getParameter": get_parameter, "setParameter": set_parameter}

# The server process's environment sets the parameters first; --setParameter then overrides them.
set_parameters(parameters_from_environment())
