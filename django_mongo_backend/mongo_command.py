"""One MongoDB command as a value: what it runs, and how it reads in logs and ``sqlmigrate``.

Every command the backend sends (compiled querysets, schema changes, sequence reservations)
is a ``MongoCommand`` handed to ``DatabaseWrapper.execute_command``, which supplies the
session, records it in ``connection.queries`` and translates errors. Its ``str()`` is the
MongoDB shell form (``db.<collection>.<method>(<args as extended JSON>)``).
"""

from __future__ import annotations

from bson import json_util
from bson.binary import UuidRepresentation

_JSON_OPTIONS = json_util.JSONOptions(
    json_mode=json_util.JSONMode.RELAXED, uuid_representation=UuidRepresentation.STANDARD
)


def to_json(value):
    """Extended JSON as the shell shows it (relaxed mode: plain numbers, $date, $oid...)."""
    return json_util.dumps(value, json_options=_JSON_OPTIONS, ensure_ascii=False)


#: The methods that only read: everything else a command can run changes data or schema.
READ_METHODS = frozenset(
    {
        "aggregate",
        "command",
        "count_documents",
        "distinct",
        "estimated_document_count",
        "find",
        "find_one",
        "index_information",
        "list_collection_names",
        "list_indexes",
    }
)


class MongoCommand:
    """``database[collection].method(*args, **kwargs)``, or ``database.method(...)``."""

    __slots__ = ("args", "collection", "kwargs", "method")

    def __init__(self, collection, method, *args, **kwargs):
        self.collection = collection
        self.method = method
        self.args = args
        self.kwargs = kwargs

    def run(self, database, session):
        target = database if self.collection is None else database[self.collection]
        return getattr(target, self.method)(*self.args, session=session, **self.kwargs)

    async def run_async(self, database, session):
        target = database if self.collection is None else database[self.collection]
        return await getattr(target, self.method)(*self.args, session=session, **self.kwargs)

    def __str__(self):
        target = "db" if self.collection is None else f"db.{self.collection}"
        parts = [to_json(arg) for arg in self.args]
        parts.extend(f"{key}={to_json(value)}" for key, value in self.kwargs.items())
        return f"{target}.{self.method}({', '.join(parts)})"

    def __repr__(self):
        return f"<MongoCommand {self}>"

    def __eq__(self, other):
        return isinstance(other, MongoCommand) and (
            self.collection,
            self.method,
            self.args,
            self.kwargs,
        ) == (other.collection, other.method, other.args, other.kwargs)

    __hash__ = None
