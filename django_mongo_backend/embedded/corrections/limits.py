"""MongoDB 7.0's size and shape limits, which mongoeco does not enforce.

mongod refuses, with these codes (the tests cite the manual page or server source of each):

- a command nested more than ``maxBSONDepth`` (200) levels below its top level: 15 Overflow,
  before the command runs (``bson_validate.cpp``);
- a document to store nested deeper than ``maxBSONDepth - 20`` (180) levels counting the
  document itself, empty sub-documents not counting (``BSONDepth::getMaxDepthForUserStorage``):
  15 Overflow, per document, so an insert reports it as a write error;
- a document an update or an upsert builds larger than 16 MiB (``BSONObjMaxUserSize``): 17419
  "Resulting document after update is larger than 16777216" (17420 for the upserted document),
  or 10334 BSONObjectTooLarge past 16 MiB + 16 KiB (``BSONObjMaxInternalSize``), the largest
  BSON object mongod builds at all;
- a result document larger than ``BSONObjMaxInternalSize``: 10334 BSONObjectTooLarge, when the
  cursor batch holding it is built;
- a sort pattern of more than 32 keys, in ``find`` and in ``$sort``: 13103 "too many compound
  keys" (``Ordering::make``);
- a ``$push`` or ``$addToSet`` accumulator holding more than ``internalQueryMaxPushBytes`` /
  ``internalQueryMaxAddToSetBytes`` (100 MiB) for one group: 146 ExceededMemoryLimit;
- a ``$facet`` whose output document holds more than ``internalQueryFacetMaxOutputDocSizeBytes``
  (100 MiB) of documents: 4031700.

Sizes are measured as BSON bytes (``bson_size``), where mongod measures its in-memory values
for the two memory limits: close, not byte-exact.

Server parameters: the limits above that mongod takes from server parameters can be lowered
(or raised) as mongod's ``--setParameter NAME=VALUE`` does, so that tests reach them with small
data: set ``DJANGO_MONGO_EMBEDDED_PARAMETERS`` (``NAME=VALUE`` pairs separated by commas, e.g.
``internalQueryMaxPushBytes=100``) in the environment of the server process (a server the
launcher starts inherits it), or send ``setParameter`` (``server_parameters``, which declares
them all, the TTL monitor's too).

``install()`` applies every check; the server calls it once at import time.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import uuid

from mongoeco.core.aggregation import accumulators, grouping_stages
from mongoeco.core.aggregation import stages as aggregation_stages
from mongoeco.core.bson_scalars import BsonDecimal128, BsonDouble, BsonInt32, BsonInt64
from mongoeco.engines import sqlite as sqlite_engine
from mongoeco.errors import DocumentValidationFailure
from mongoeco.types import Binary, Decimal128, ObjectId, Regex, Timestamp, UndefinedType
from mongoeco.wire.cursors import WireCursorStore

from .. import registry
from .errors import server_error

# The server parameters these checks read (kept importable from here).
from .server_parameters import (  # noqa: F401
    DEFAULT_PARAMETERS,
    ENVIRONMENT_VARIABLE,
    PARAMETERS,
    parameters_from_environment,
    set_parameters,
)

#: ``BSONDepth::kExtraSystemDepthLevels``: storage allows this many levels fewer than commands.
EXTRA_SYSTEM_DEPTH_LEVELS = 20

#: ``BSONObjMaxUserSize``: the largest document a write may store.
MAX_USER_SIZE = 16 * 1024 * 1024

#: ``BSONObjMaxInternalSize``: the largest BSON object the server builds (a result document).
MAX_INTERNAL_SIZE = MAX_USER_SIZE + 16 * 1024

#: ``Ordering::make`` takes at most this many keys (a sort pattern, an index key pattern).
MAX_SORT_KEYS = 32


# --- measuring -------------------------------------------------------------------------------

#: Python types -> the bytes of their BSON value (the element header not included).
_FIXED_SIZES = {
    type(None): 0,
    UndefinedType: 0,
    bool: 1,
    float: 8,
    BsonDouble: 8,
    BsonInt32: 4,
    BsonInt64: 8,
    datetime.datetime: 8,
    Timestamp: 8,
    ObjectId: 12,
    Decimal128: 16,
    BsonDecimal128: 16,
    decimal.Decimal: 16,
    uuid.UUID: 21,
}


def _scalar_size(value):
    size = _FIXED_SIZES.get(type(value))
    if size is not None:
        return size
    if isinstance(value, str):
        return 5 + len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return 4 if -(2**31) <= value < 2**31 else 8
    if isinstance(value, Binary | bytes | bytearray):
        return 5 + len(value)
    if isinstance(value, Regex):
        return len(str(value.pattern).encode()) + len(str(value.flags or "")) + 2
    for kind, kind_size in _FIXED_SIZES.items():
        if isinstance(value, kind):
            return kind_size
    return _encoded_size(value)


def _encoded_size(value):
    """The BSON size of a value of any other type, encoded as the wire layer encodes it."""
    import bson
    from mongoeco.wire.bson_bridge import encode_wire_value

    return len(bson.encode({"": encode_wire_value(value)})) - 7


def bson_size(document):
    """The bytes of ``document`` (a dict) as BSON: iterative, so any depth is measured."""
    total = 0
    pending = [document]
    while pending:
        container = pending.pop()
        total += 5  # int32 length + terminating NUL
        if isinstance(container, dict):
            items = container.items()
        else:
            items = ((str(index), value) for index, value in enumerate(container))
        for name, value in items:
            total += 2 + len(name.encode("utf-8", "surrogatepass"))  # type byte, name, NUL
            if isinstance(value, dict | list | tuple):
                pending.append(value)
            else:
                total += _scalar_size(value)
    return total


def _containers(value):
    return value.values() if isinstance(value, dict) else value


def nested_too_deep(document, limit, *, skip_empty=False):
    """The path (a tuple of names) of the first container nested more than ``limit`` levels
    below ``document``, or None. Walks iteratively and stops at the first one found."""
    pending = [(document, 0, ())]
    while pending:
        container, depth, path = pending.pop()
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for name, value in items:
            if isinstance(value, dict | list):
                if skip_empty and not value:
                    continue
                if depth >= limit:
                    return (*path, str(name))
                pending.append((value, depth + 1, (*path, str(name))))
    return None


# --- commands --------------------------------------------------------------------------------


def check_command(body):
    """Refuse a command document mongod would refuse before running it (see the docstring)."""
    path = nested_too_deep(body, PARAMETERS["maxBSONDepth"])
    if path is not None:
        raise server_error(
            15,
            "Overflow",
            "BSONObj exceeds maximum nested object depth in element with field name "
            f"'{'.'.join(path)}' in object with unknown _id",
        )
    command_name = next(iter(body), None)
    if command_name in {"find", "findAndModify", "findandmodify"}:
        _check_sort_pattern(body.get("sort"))
    elif command_name == "aggregate":
        _check_pipeline(body.get("pipeline"))


def _check_sort_pattern(pattern):
    if isinstance(pattern, dict) and len(pattern) > MAX_SORT_KEYS:
        raise server_error(13103, "Location13103", "too many compound keys")


def _check_pipeline(pipeline):
    if not isinstance(pipeline, list):
        return
    for stage in pipeline:
        if not isinstance(stage, dict) or len(stage) != 1:
            continue
        ((operator, spec),) = stage.items()
        if operator == "$sort":
            _check_sort_pattern(spec)
        elif operator == "$facet" and isinstance(spec, dict):
            for sub_pipeline in spec.values():
                _check_pipeline(sub_pipeline)
        elif operator in {"$lookup", "$unionWith"} and isinstance(spec, dict):
            _check_pipeline(spec.get("pipeline"))


# --- stored documents ------------------------------------------------------------------------


def storage_depth():
    """``BSONDepth::getMaxDepthForUserStorage``: levels a stored document may have, itself
    included."""
    return PARAMETERS["maxBSONDepth"] - EXTRA_SYSTEM_DEPTH_LEVELS


def check_stored_document(document, *, is_update):
    """Refuse a document about to be stored: too deep (inserts and updates word it
    differently) or too large (only an update or an upsert can build one: drivers refuse to
    send a larger document, ``maxBsonObjectSize``)."""
    depth = storage_depth()
    if nested_too_deep(document, depth - 1, skip_empty=True) is not None:
        if is_update:
            raise server_error(15, "Overflow", f"Document exceeds maximum nesting depth of {depth}")
        # mongoeco's batch insert turns a validation failure into the write error of that one
        # document, keeping the ordered and unordered semantics of the batch.
        raise DocumentValidationFailure(
            f"cannot insert document because it exceeds {depth} levels of nesting",
            code=15,
            details={"codeName": "Overflow"},
        )
    size = bson_size(document)
    if size > MAX_INTERNAL_SIZE:
        # Building the BSON object fails before the write's own size check can run.
        raise too_large_object(size, document)
    if size > MAX_USER_SIZE:
        if is_update:
            raise server_error(
                17419,
                "Location17419",
                f"Resulting document after update is larger than {MAX_USER_SIZE}",
            )
        raise server_error(
            17420, "Location17420", f"Document to upsert is larger than {MAX_USER_SIZE}"
        )


def _checking_stored_documents(validate):
    """mongoeco validates every document it is about to write against the unique indexes:
    an update excludes its own storage key, an insert or an upsert has none to exclude, and a
    batch insert excludes the new key but skips the ``_id`` check (done for the batch)."""

    def run(self, db_name, coll_name, document, *args, **kwargs):
        is_update = kwargs.get("exclude_storage_key") is not None and not kwargs.get(
            "skip_id_check", False
        )
        check_stored_document(document, is_update=is_update)
        return validate(self, db_name, coll_name, document, *args, **kwargs)

    run.__wrapped__ = validate
    return run


# --- results ---------------------------------------------------------------------------------

#: Result-producing commands -> how mongod prefixes an error raised while producing results.
RESULT_ERROR_PREFIXES = {
    "aggregate": "PlanExecutor error during aggregation :: caused by :: ",
    "find": "Executor error during find command :: caused by :: ",
}


def _first_element(document):
    for name, value in document.items():
        shown = "null" if value is None else f'"{value}"' if isinstance(value, str) else value
        return f"{name}: {shown}"
    return "EOO"


def too_large_object(size, document, prefix=""):
    """``BSONObj::_assertInvalid``: mongod builds no BSON object over ``MAX_INTERNAL_SIZE``."""
    return server_error(
        10334,
        "BSONObjectTooLarge",
        f"{prefix}BSONObj size: {size} (0x{size:X}) is invalid. Size must be between 0 "
        f"and {MAX_INTERNAL_SIZE}(16MB) First element: {_first_element(document)}",
    )


def check_result_batch(command_name, batch):
    """Refuse a batch holding a document larger than mongod builds (``BSONObj::_assertInvalid``)."""
    prefix = RESULT_ERROR_PREFIXES.get(command_name)
    if prefix is None or not isinstance(batch, list):
        return
    for document in batch:
        if not isinstance(document, dict):
            continue
        size = bson_size(document)
        if size > MAX_INTERNAL_SIZE:
            raise too_large_object(size, document, prefix)


def _checking_first_batch(materialize):
    def run(self, command_document, result, **kwargs):
        result = materialize(self, command_document, result, **kwargs)
        cursor = result.get("cursor") if isinstance(result, dict) else None
        if isinstance(cursor, dict):
            command_name = next(iter(command_document), None)
            check_result_batch(command_name, cursor.get("firstBatch"))
        return result

    run.__wrapped__ = materialize
    return run


def _checking_next_batch(get_more):
    """A getMore returns the later documents of a find or aggregate cursor (mongoeco keeps no
    other kind), so its batch is checked as an aggregate's (mongod's prefix names the command
    that created the cursor; the code and the rest of the message are the same)."""

    def run(self, command_document, **kwargs):
        result = get_more(self, command_document, **kwargs)
        cursor = result.get("cursor") if isinstance(result, dict) else None
        if isinstance(cursor, dict):
            check_result_batch("aggregate", cursor.get("nextBatch"))
        return result

    run.__wrapped__ = get_more
    return run


# --- accumulators and $facet -----------------------------------------------------------------

#: Accumulators held to a memory limit -> the server parameter that sets it.
ACCUMULATOR_LIMITS = {
    "$push": "internalQueryMaxPushBytes",
    "$addToSet": "internalQueryMaxAddToSetBytes",
}

#: Where a bucket's running byte count of one accumulator lives in its flags.
_USED_BYTES_KEY = "\0limits.used_bytes:{}"


def _value_size(value):
    if isinstance(value, dict | list | tuple):
        return bson_size(value if isinstance(value, dict) else list(value))
    return _scalar_size(value)


def _limiting_accumulators(apply_accumulators):
    """Count the bytes each ``$push``/``$addToSet`` of a group takes as values are added, and
    fail on the value that passes the limit, as mongod does."""

    def apply(bucket, accumulator_specs, document, variables=None, **kwargs):
        specs = accumulators._coerce_accumulator_specs(accumulator_specs)
        limited = [(field, op) for field, op, _expression in specs if op in ACCUMULATOR_LIMITS]
        if not limited:
            return apply_accumulators(bucket, accumulator_specs, document, variables, **kwargs)
        values = bucket.values if isinstance(bucket, accumulators._AccumulatorBucket) else bucket
        before = {field: len(values.get(field) or ()) for field, _op in limited}
        result = apply_accumulators(bucket, accumulator_specs, document, variables, **kwargs)
        flags = accumulators._accumulator_flags(bucket)
        for field, operator in limited:
            held = values.get(field)
            if not isinstance(held, list) or len(held) == before[field]:
                continue
            key = _USED_BYTES_KEY.format(field)
            used = flags.get(key, 0) + sum(_value_size(value) for value in held[before[field] :])
            flags[key] = used
            limit = PARAMETERS[ACCUMULATOR_LIMITS[operator]]
            if used > limit:
                raise server_error(
                    146,
                    "ExceededMemoryLimit",
                    f"{operator} used too much memory and cannot spill to disk. "
                    f"Memory limit: {limit} bytes",
                )
        return result

    apply.__wrapped__ = apply_accumulators
    return apply


def check_facet_output(documents):
    """mongod adds up the documents of every facet as it builds ``$facet``'s one output."""
    limit = PARAMETERS["internalQueryFacetMaxOutputDocSizeBytes"]
    for output in documents:
        used = 0
        for facet in output.values():
            for document in facet if isinstance(facet, list) else ():
                used += bson_size(document) if isinstance(document, dict) else 0
                if used > limit:
                    raise server_error(
                        4031700,
                        "Location4031700",
                        f"document constructed by $facet is {used} bytes, which exceeds the "
                        f"limit of {limit} bytes",
                    )


def _limiting_facet(handler):
    def run(documents, spec, context):
        output = handler(documents, spec, context)
        output = output if isinstance(output, list) else list(output)
        check_facet_output(output)
        return output

    run.__wrapped__ = handler
    return run


# --- installation ----------------------------------------------------------------------------


_TESTS = "tests/embedded/test_limits.py"

#: (owner, name, wrapper, the limit it enforces, its test).
_WRAPPED = (
    (
        sqlite_engine.SQLiteEngine,
        "_validate_document_against_unique_indexes",
        _checking_stored_documents,
        "a stored document is at most 180 levels deep (15 Overflow) and an updated one 16 MiB "
        "(17419/17420; 10334 past BSONObjMaxInternalSize)",
        "test_an_inserted_document_deeper_than_180_levels_is_a_write_error",
    ),
    (
        WireCursorStore,
        "materialize_command_result",
        _checking_first_batch,
        "a result document over BSONObjMaxInternalSize is 10334 BSONObjectTooLarge",
        "test_an_aggregation_result_document_over_the_limit_is_bson_object_too_large",
    ),
    (
        WireCursorStore,
        "get_more",
        _checking_next_batch,
        "a getMore batch document over BSONObjMaxInternalSize is 10334 BSONObjectTooLarge",
        "test_an_aggregation_result_document_over_the_limit_is_bson_object_too_large",
    ),
    (
        grouping_stages,
        "_apply_accumulators",
        _limiting_accumulators,
        "$push/$addToSet past internalQueryMaxPushBytes/AddToSetBytes is 146 ExceededMemoryLimit",
        "test_push_past_its_memory_limit_is_exceeded_memory_limit",
    ),
)
_FACET = (
    "a $facet output past internalQueryFacetMaxOutputDocSizeBytes is refused with 4031700",
    f"{_TESTS}::test_facet_output_past_its_limit_is_refused_with_4031700",
)


def _wrap_facet_stage():
    rule, test = _FACET
    registry.replace_item(
        aggregation_stages,
        "AGGREGATION_STAGE_SPECS",
        "$facet",
        wrap=lambda spec: dataclasses.replace(spec, handler=_limiting_facet(spec.handler)),
        rule=rule,
        test=test,
    )
    handler = aggregation_stages.AGGREGATION_STAGE_SPECS["$facet"].handler
    registry.replace_item(
        aggregation_stages, "AGGREGATION_STAGE_HANDLERS", "$facet", handler, rule=rule, test=test
    )


def install():
    """Apply every check; calling it again
    changes nothing. Call it after ``operators.install()`` and ``fastpaths.install()``: it
    wraps the accumulator function and the engine method they replace."""
    for owner, name, wrapper, rule, test in _WRAPPED:
        registry.replace(owner, name, wrap=wrapper, rule=rule, test=f"{_TESTS}::{test}")
    _wrap_facet_stage()
