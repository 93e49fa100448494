"""Integer primary keys from the ``__schema__`` collection of sequences.

One document per collection with an auto field::

    {"_id": ObjectId, "name": "<collection>", "auto": {"field_names": ["id"], "seq": <int>}}

``seq`` is the last id handed out. ``reserve`` takes a block of ``n`` ids in one round trip
(``$inc`` by n, upsert, return the new value), so ``bulk_create`` of any size costs one
sequence command. Sequence commands run outside transactions and with majority write concern:
like SQL sequences, ids are never handed out twice, even if a transaction rolls back.

An entry created by ``reserve`` or ``advance`` rather than by the schema editor (the collection
came from elsewhere: ``migrate --fake-initial``, an import, a deleted entry) carries
``auto.needs_sync: true``: its collection may already hold documents with larger ids. The
reservation that sees the flag raises the sequence to ``max(_id)`` first (``sync_command``,
which removes the flag) and reserves again, so a missing entry never hands out ids that exist.
Entries without the flag cost the usual single round trip.
"""

from __future__ import annotations

import math

from bson import Decimal128
from pymongo import ReturnDocument
from pymongo.write_concern import WriteConcern

from .mongo_command import MongoCommand

SCHEMA_COLLECTION = "__schema__"
#: Set on entries upserted without knowing the collection's data; cleared by ``sync_command``.
NEEDS_SYNC = "auto.needs_sync"
#: ``reserve`` syncs and retries at most this many times (the entry deleted again meanwhile).
_SYNC_ATTEMPTS = 3
_MAJORITY = WriteConcern("majority")


class SequenceCommand(MongoCommand):
    """A command on ``__schema__``, written with majority write concern and never inside the
    caller's transaction, however it is run (``loaddata`` resets sequences through a cursor
    inside its ``atomic()``).

    Besides never rolling back, that keeps a transaction from writing a sequence document that
    reservations outside it change: MongoDB fails such a transaction's write with
    ``WriteConflict`` (the document changed after the transaction's snapshot), and blocks a
    reservation that meets a document an open transaction wrote until that transaction ends.
    """

    __slots__ = ()

    def __init__(self, method, *args, **kwargs):
        super().__init__(SCHEMA_COLLECTION, method, *args, **kwargs)

    def run(self, database, session):
        collection = database.get_collection(SCHEMA_COLLECTION, write_concern=_MAJORITY)
        return getattr(collection, self.method)(*self.args, **self.kwargs)

    async def run_async(self, database, session):
        collection = database.get_collection(SCHEMA_COLLECTION, write_concern=_MAJORITY)
        return await getattr(collection, self.method)(*self.args, **self.kwargs)


def reserve_command(collection, count, field_names=("id",)):
    return SequenceCommand(
        "find_one_and_update",
        {"name": collection},
        {
            "$inc": {"auto.seq": count},
            "$setOnInsert": {"auto.field_names": list(field_names), NEEDS_SYNC: True},
        },
        upsert=True,
        return_document=ReturnDocument.AFTER,
        projection={"_id": False, "auto.seq": True, NEEDS_SYNC: True},
    )


def raise_command(collection, value, field_names=("id",)):
    """Make sure the sequence is at least ``value`` (after explicit primary keys); return the
    entry as it was before (None if there was none), so a rollback can give the rise back."""
    return SequenceCommand(
        "find_one_and_update",
        {"name": collection},
        {
            "$max": {"auto.seq": value},
            "$setOnInsert": {"auto.field_names": list(field_names), NEEDS_SYNC: True},
        },
        upsert=True,
        return_document=ReturnDocument.BEFORE,
        projection={"_id": False, "auto.seq": True},
    )


def give_back_command(collection, before, after):
    """Put the sequence back from ``after`` to ``before`` if it still stands at ``after``: then
    nobody reserved ids after the rolled-back reservation, and none of them was ever stored."""
    return SequenceCommand(
        "update_one", {"name": collection, "auto.seq": after}, {"$set": {"auto.seq": before}}
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


def field_names_command(collection, field_names):
    """After the auto primary key's column is renamed: keep ``auto.field_names`` in step."""
    return SequenceCommand(
        "update_one", {"name": collection}, {"$set": {"auto.field_names": list(field_names)}}
    )


def rename_command(old, new):
    return SequenceCommand("update_one", {"name": old}, {"$set": {"name": new}})


def drop_command(collection):
    return SequenceCommand("delete_one", {"name": collection})


def id_ceiling(value):
    """An integer at least as large as a numeric ``_id`` (int, long, double or Decimal128)."""
    if isinstance(value, Decimal128):
        value = value.to_decimal()
    if isinstance(value, int):
        return value
    try:
        return math.ceil(value)
    except (OverflowError, ValueError):  # inf / nan ids: nothing sensible to sync to
        return None


#: find_one() arguments reading the largest numeric ``_id`` (one indexed read).
_MAX_ID_QUERY = ({"_id": {"$type": "number"}}, {"_id": True})


def max_id(database, collection, session=None):
    """The largest numeric ``_id`` of ``collection`` (one indexed read), or None."""
    top = database[collection].find_one(*_MAX_ID_QUERY, sort=[("_id", -1)], session=session)
    return None if top is None else id_ceiling(top["_id"])


def sync_update(value, field_names=("id",)):
    """The update raising an entry to ``value`` (None: an empty collection) and clearing its
    ``needs_sync`` flag; with upsert it creates a missing entry."""
    on_insert = {"auto.field_names": list(field_names)}
    update = {"$unset": {NEEDS_SYNC: ""}, "$setOnInsert": on_insert}
    if value is None:
        on_insert["auto.seq"] = 0
    else:
        update["$max"] = {"auto.seq": value}
    return update


class SyncCommand(SequenceCommand):
    """Raise a sequence to the largest ``_id`` of its collection (after data imports); create
    the entry if it is missing. The largest ``_id`` is read in the caller's transaction, so
    documents it imported count; the sequence is written outside it, as every sequence is."""

    __slots__ = ()

    def __init__(self, collection, field_names=("id",)):
        super().__init__("sync", collection, tuple(field_names))

    def run(self, database, session):
        collection, field_names = self.args
        top = max_id(database, collection, session)
        SequenceCommand(
            "update_one", {"name": collection}, sync_update(top, field_names), upsert=True
        ).run(database, session)
        return top

    async def run_async(self, database, session):
        collection, field_names = self.args
        top = await database[collection].find_one(
            *_MAX_ID_QUERY, sort=[("_id", -1)], session=session
        )
        top = None if top is None else id_ceiling(top["_id"])
        await SequenceCommand(
            "update_one", {"name": collection}, sync_update(top, field_names), upsert=True
        ).run_async(database, session)
        return top

    def __str__(self):
        return f"db.{SCHEMA_COLLECTION}.sync_to_max_id({self.args[0]!r})"


def sync_command(collection, field_names=("id",)):
    return SyncCommand(collection, field_names)


def reserve(connection, collection, count, field_names=("id",)):
    """Reserve ``count`` ids for ``collection``; return the first (they are consecutive).

    One round trip, unless the entry was just created for a collection that may hold data
    (``needs_sync``): then the sequence is raised to ``max(_id)``, and if the block reserved
    overlaps existing ids it is reserved again (the first block is skipped, as a rolled-back
    insert skips ids).
    """
    first = _reserve(connection, collection, count, field_names)
    connection.note_reservation(collection, first - 1, first + count - 1)
    return first


def _reserve(connection, collection, count, field_names):
    command = reserve_command(collection, count, field_names)
    document = connection.execute_command(command, transactional=False)
    for _ in range(_SYNC_ATTEMPTS):
        first = document["auto"]["seq"] - count + 1
        if not document["auto"].get("needs_sync"):
            return first
        top = connection.execute_command(sync_command(collection, field_names), transactional=False)
        if top is None or top < first:
            return first
        document = connection.execute_command(command, transactional=False)
    return document["auto"]["seq"] - count + 1


def advance(connection, collection, value, field_names=("id",)):
    """After an explicit primary key was stored: keep the sequence ahead of it."""
    command = raise_command(collection, value, field_names)
    before = connection.execute_command(command, transactional=False)
    if before is not None:
        connection.note_reservation(collection, before["auto"]["seq"], value)


def index_command():
    """The unique index on ``__schema__.name`` (created by the schema editor with the first
    collection that has an auto field), so concurrent first reservations cannot upsert twice."""
    return SequenceCommand("create_index", [("name", 1)], unique=True, name="name_unique")
