"""Collection options (validators) may hold any BSON value, as MongoDB stores them.

mongoeco keeps a collection's options as plain JSON in its SQLite catalog, so a validator
holding a Decimal128, a date or binary data (a CheckConstraint on a DecimalField, say) failed
to be created ("Object of type Decimal128 is not JSON serializable"). Options are written as
canonical extended JSON (``{"$numberDecimal": "1.5"}``) and read back as the engine's values;
options written before hold plain JSON, which reads the same either way.
"""

from __future__ import annotations

import json

from bson import json_util
from mongoeco.engines import _sqlite_admin_runtime, _sqlite_catalog
from mongoeco.engines.sqlite import SQLiteEngine
from mongoeco.wire.bson_bridge import decode_wire_value, encode_wire_value

from .. import registry

CANONICAL = json_util.CANONICAL_JSON_OPTIONS


def to_stored(options):
    """``options`` with every BSON value as its extended-JSON document."""
    if not options:
        return options
    return json.loads(json_util.dumps(encode_wire_value(options), json_options=CANONICAL))


def from_stored(options):
    if not options:
        return options
    # Back to the engine's own value types, as options arriving over the wire are.
    return decode_wire_value(json_util.loads(json.dumps(options), json_options=CANONICAL))


def _reading(load):
    def load_options(conn, db_name, coll_name):
        return from_stored(load(conn, db_name, coll_name))

    load_options.__wrapped__ = load
    return load_options


def _writing(ensure):
    def ensure_row(self, conn, db_name, coll_name, *, options=None):
        return ensure(self, conn, db_name, coll_name, options=to_stored(options))

    ensure_row.__wrapped__ = ensure
    return ensure_row


#: Where mongoeco reads options: the catalog function and the name the admin runtime imported.
READERS = (
    (_sqlite_catalog, "load_collection_options"),
    (_sqlite_admin_runtime, "_sqlite_load_collection_options"),
)


#: Collection options hold any BSON value: a validator holding a Decimal128, a date...
RULE = "collection options (validators) keep any BSON value, stored as canonical extended JSON"
TEST = "tests/backend/test_schema.py::test_check_constraints_with_decimal_and_date_values"


def install():
    """Wrap mongoeco's option reads and writes; calling it again changes nothing."""
    for module, name in READERS:
        registry.replace(module, name, wrap=_reading, rule=RULE, test=TEST)
    registry.replace(SQLiteEngine, "_ensure_collection_row", wrap=_writing, rule=RULE, test=TEST)


def load_collection_options(conn, db_name, coll_name):
    """The options as BSON values (for the server layer's own commands)."""
    return _sqlite_catalog.load_collection_options(conn, db_name, coll_name)
