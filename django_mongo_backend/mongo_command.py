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


class Documents(list):
    """A read's documents, held in full: iterated and closed like a cursor."""

    def close(self):
        pass


class FindCommand(MongoCommand):
    """``find``, sent when it is run: pymongo's ``find()`` only sends its command when the
    cursor is first read, so ``run()`` reads it there, inside ``execute_command``, as an
    ``aggregate`` is (errors translated, the time in ``connection.queries``, a transaction
    the server ended resumed and the read run again).

    ``fetch_all``: the whole result is read then (every batch), and returned as
    ``Documents``; otherwise the first batch, and the rest as the cursor is iterated. It is
    how the command is run, not what is sent: commands equal without it.
    """

    __slots__ = ("fetch_all",)

    def __init__(self, collection, filter, projection=None, *, fetch_all=False, **kwargs):
        args = (filter,) if projection is None else (filter, projection)
        super().__init__(collection, "find", *args, **kwargs)
        self.fetch_all = fetch_all

    def run(self, database, session):
        cursor = database[self.collection].find(*self.args, session=session, **self.kwargs)
        if self.fetch_all:
            return Documents(cursor.to_list())
        return StartedCursor(cursor)

    async def run_async(self, database, session):
        cursor = database[self.collection].find(*self.args, session=session, **self.kwargs)
        return Documents(await cursor.to_list())


class StartedCursor:
    """A find cursor whose first batch has been read: its first document is held here, the
    rest of the batch in the cursor."""

    __slots__ = ("cursor", "head")

    def __init__(self, cursor):
        self.cursor = cursor
        self.head = cursor.to_list(1)

    def __iter__(self):
        head, self.head = self.head, []
        yield from head
        yield from self.cursor

    def to_list(self):
        head, self.head = self.head, []
        return head + self.cursor.to_list()

    def close(self):
        self.head = []
        self.cursor.close()
