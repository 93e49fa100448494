"""Integer primary keys from the ``__schema__`` collection of sequences.

One document per collection with an auto field::

    {"_id": ObjectId, "name": "<collection>", "auto": {"field_names": ["id"], "seq": <int>}}

``seq`` is the last id handed out. ``reserve`` takes a block of ``n`` ids in one round trip
(``$inc`` by n, upsert, return the new value), so ``bulk_create`` of any size costs one
sequence command. Sequence commands run outside transactions and with majority write concern:
like SQL sequences, ids are never handed out twice, even if a transaction rolls back.
"""

from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.write_concern import WriteConcern

from .commands import MongoCommand

SCHEMA_COLLECTION = "__schema__"
_MAJORITY = WriteConcern("majority")


class SequenceCommand(MongoCommand):
    """A command on ``__schema__``, written with majority write concern."""

    __slots__ = ()

    def __init__(self, method, *args, **kwargs):
        super().__init__(SCHEMA_COLLECTION, method, *args, **kwargs)

    def run(self, database, session):
        collection = database.get_collection(SCHEMA_COLLECTION, write_concern=_MAJORITY)
        return getattr(collection, self.method)(*self.args, session=session, **self.kwargs)


def reserve_command(collection, count, field_names=("id",)):
    return SequenceCommand(
        "find_one_and_update",
        {"name": collection},
        {"$inc": {"auto.seq": count}, "$setOnInsert": {"auto.field_names": list(field_names)}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        projection={"_id": False, "auto.seq": True},
    )


def raise_command(collection, value, field_names=("id",)):
    """Make sure the sequence is at least ``value`` (after explicit primary keys)."""
    return SequenceCommand(
        "update_one",
        {"name": collection},
        {"$max": {"auto.seq": value}, "$setOnInsert": {"auto.field_names": list(field_names)}},
        upsert=True,
    )


def create_command(collection, field_names=("id",)):
    """The collection's sequence at 0 (kept as it is if it already exists)."""
    return SequenceCommand(
        "update_one",
        {"name": collection},
        {"$setOnInsert": {"auto": {"field_names": list(field_names), "seq": 0}}},
        upsert=True,
    )


def reset_command(collection):
    return SequenceCommand("update_one", {"name": collection}, {"$set": {"auto.seq": 0}})


def rename_command(old, new):
    return SequenceCommand("update_one", {"name": old}, {"$set": {"name": new}})


def drop_command(collection):
    return SequenceCommand("delete_one", {"name": collection})


class SyncCommand(SequenceCommand):
    """Raise a sequence to the largest ``_id`` of its collection (after data imports)."""

    __slots__ = ()

    def __init__(self, collection):
        super().__init__("sync", collection)

    def run(self, database, session):
        (collection,) = self.args
        top = database[collection].find_one(
            {"_id": {"$type": "number"}}, {"_id": True}, sort=[("_id", -1)], session=session
        )
        if top is None:
            return None
        return raise_command(collection, int(top["_id"])).run(database, session)

    def __str__(self):
        return f"db.{SCHEMA_COLLECTION}.sync_to_max_id({self.args[0]!r})"


def sync_command(collection):
    return SyncCommand(collection)


def reserve(connection, collection, count, field_names=("id",)):
    """Reserve ``count`` ids for ``collection``; return the first (they are consecutive)."""
    document = connection.execute_command(
        reserve_command(collection, count, field_names), transactional=False
    )
    return document["auto"]["seq"] - count + 1


def advance(connection, collection, value, field_names=("id",)):
    """After an explicit primary key was stored: keep the sequence ahead of it."""
    connection.execute_command(raise_command(collection, value, field_names), transactional=False)


def index_command():
    """The unique index on ``__schema__.name`` (created by the schema editor with the first
    collection that has an auto field), so concurrent first reservations cannot upsert twice."""
    return SequenceCommand("create_index", [("name", 1)], unique=True, name="name_unique")
