"""The cache collection and the commands each cache operation sends to it.

One document per entry: ``{"_id": <made key>, "value": ..., "expires": <date or null>}`` (plus
``format``/``signature`` for values that are not plain BSON, see ``values.py``). ``expires`` is
a UTC date, or null for an entry that never expires; a TTL index on it lets MongoDB delete
expired entries in the background (its monitor runs about once a minute), and every read
filters on it too, so an expired entry is never returned while it waits for the monitor.

Each operation is a generator yielding ``CacheCommand`` objects and receiving their results
(errors are thrown into it), so one description serves the synchronous and the asynchronous
methods of the backend, which only differ in how they run a command. What an operation
changes, it changes with one atomic command; some read first to decide (the count for culling
before ``set()``/``add()``, ``add()`` with an immediate expiry, ``incr()`` of a value ``$inc``
cannot take, which then compares and sets).
"""

from __future__ import annotations

import inspect

import pymongo
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from django.db import DatabaseError, IntegrityError

from ..mongo_command import MongoCommand, to_json
from .values import INT64_MAX, INT64_MIN

#: How documents are read whatever the client's settings (tz_aware, document_class...): the
#: types values.py expects.
CODEC_OPTIONS = CodecOptions(
    document_class=dict, tz_aware=False, uuid_representation=UuidRepresentation.STANDARD
)

TTL_INDEX = "expires_ttl"


class CacheCommand(MongoCommand):
    """A command on the cache collection, read with ``CODEC_OPTIONS``; ``find`` returns a list.

    ``bulk_write`` takes its operations as ``{"replaceOne": {...}}`` dicts (the shell's form,
    which is also how the command is logged) and makes pymongo's objects when it runs.
    """

    __slots__ = ()

    def _arguments(self):
        if self.method != "bulk_write":
            return self.args
        operations = [
            pymongo.ReplaceOne(op["replaceOne"]["filter"], op["replaceOne"]["replacement"], True)
            for op in self.args[0]
        ]
        return (operations, *self.args[1:])

    def _call(self, database, session):
        # Cache commands run outside transactions (session None); estimated_document_count
        # refuses even an explicit session=None.
        extra = {} if session is None else {"session": session}
        target = database.get_collection(self.collection, codec_options=CODEC_OPTIONS)
        return getattr(target, self.method)(*self._arguments(), **extra, **self.kwargs)

    def run(self, database, session):
        result = self._call(database, session)
        return list(result) if self.method == "find" else result

    async def run_async(self, database, session):
        result = self._call(database, session)
        if inspect.isawaitable(result):
            result = await result
        if self.method == "find":
            result = await result.to_list()
        return result

    def __str__(self):
        if self.method == "bulk_write":
            operations = ", ".join(to_json(op) for op in self.args[0])
            return f"db.{self.collection}.bulkWrite([{operations}], {to_json(self.kwargs)})"
        return super().__str__()


def alive(now):
    """The filter of entries that have not expired at ``now``."""
    return {"$or": [{"expires": None}, {"expires": {"$gt": now}}]}


class Store:
    """The commands of one cache collection (``MAX_ENTRIES``/``CULL_FREQUENCY`` culling)."""

    def __init__(self, collection, limits):
        self.collection = collection
        self.limits = limits  # () -> (MAX_ENTRIES, CULL_FREQUENCY), read at each write
        self.indexed = False

    def command(self, method, *args, **kwargs):
        return CacheCommand(self.collection, method, *args, **kwargs)

    # -- reads ---------------------------------------------------------------------------------

    def find(self, keys, now):
        """The live documents of ``keys`` (made keys)."""
        match = {"_id": keys[0]} if len(keys) == 1 else {"_id": {"$in": keys}}
        return (yield self.command("find", {**match, **alive(now)}, {"expires": False}))

    def has_key(self, key, now):
        found = yield self.command("find_one", {"_id": key, **alive(now)}, {"_id": True})
        return found is not None

    # -- writes --------------------------------------------------------------------------------

    def index_command(self):
        """The TTL index: what ``createcachetable`` creates, and each cache instance makes sure
        of before its first write (creating an index that exists is a no-op)."""
        return self.command("create_index", [("expires", 1)], expireAfterSeconds=0, name=TTL_INDEX)

    def create_indexes(self):
        yield self.index_command()
        self.indexed = True

    def ensure_indexes(self):
        if not self.indexed:
            yield from self.create_indexes()

    def cull(self, now):
        """Make room before a write, as Django's cache backends do when ``MAX_ENTRIES`` is
        reached: with ``CULL_FREQUENCY`` 0 everything goes; otherwise the expired entries,
        then, if that is not enough, 1/``CULL_FREQUENCY`` of the entries, the first ones in
        key order (Django's DatabaseCache culls the same entries).
        """
        max_entries, cull_frequency = self.limits()
        count = yield self.command("estimated_document_count")
        if count < max_entries:
            return
        if cull_frequency == 0:
            yield self.command("delete_many", {})
            return
        deleted = yield self.command("delete_many", {"expires": {"$lte": now}})
        remaining = count - deleted.deleted_count
        if remaining < max_entries:
            return
        first_kept = yield self.command(
            "find",
            {},
            {"_id": True},
            sort=[("_id", 1)],
            skip=remaining // cull_frequency,
            limit=1,
        )
        if first_kept:
            yield self.command("delete_many", {"_id": {"$lt": first_kept[0]["_id"]}})

    def set(self, key, fields, now):
        yield from self.ensure_indexes()
        yield from self.cull(now)
        try:
            yield self.command("replace_one", {"_id": key}, fields, upsert=True)
        except IntegrityError:
            # Two upserts of a new key raced; MongoDB retries such an upsert itself, this is
            # for servers that do not: the key exists now, so this is an update.
            yield self.command("replace_one", {"_id": key}, fields, upsert=True)

    def add(self, key, fields, now):
        """True if stored: the key was missing or expired (an expired entry is replaced)."""
        yield from self.ensure_indexes()
        yield from self.cull(now)
        try:
            yield self.command(
                "replace_one", {"_id": key, "expires": {"$lte": now}}, fields, upsert=True
            )
        except IntegrityError:  # a live entry has the key: the upsert's insert collided
            return False
        return True

    def set_many(self, fields_by_key, now):
        """The keys that could not be stored."""
        yield from self.ensure_indexes()
        yield from self.cull(now)
        keys = list(fields_by_key)
        operations = [
            {"replaceOne": {"filter": {"_id": key}, "replacement": fields, "upsert": True}}
            for key, fields in fields_by_key.items()
        ]
        try:
            yield self.command("bulk_write", operations, ordered=False)
        except DatabaseError as error:
            failed = (getattr(error, "details", None) or {}).get("writeErrors")
            if not failed:
                raise
            return [keys[failure["index"]] for failure in failed]
        return []

    def touch(self, key, expires, now):
        result = yield self.command(
            "update_one", {"_id": key, **alive(now)}, {"$set": {"expires": expires}}
        )
        return result.matched_count > 0

    def delete(self, key, now):
        """True if a live entry was deleted."""
        deleted = yield self.command(
            "find_one_and_delete", {"_id": key}, projection={"expires": True}
        )
        return deleted is not None and (
            deleted.get("expires") is None or deleted["expires"] > now.replace(tzinfo=None)
        )

    def delete_many(self, keys):
        if keys:
            yield self.command("delete_many", {"_id": {"$in": keys}})

    def clear(self):
        yield self.command("delete_many", {})

    def increment(self, key, delta, now):
        """``(True, new value)`` when ``$inc`` applied, else ``(False, the live document or
        None)``: the key is missing, its value is not a 64-bit integer, or the sum would
        overflow. The bound on the stored value keeps the sum within 64 bits, so ``$inc``
        never overflows on the server; the caller handles the other cases.
        """
        if INT64_MIN <= delta <= INT64_MAX:
            bound = {"$lte": INT64_MAX - delta} if delta >= 0 else {"$gte": INT64_MIN - delta}
            updated = yield self.command(
                "find_one_and_update",
                {"_id": key, **alive(now), "value": {"$type": ["int", "long"], **bound}},
                {"$inc": {"value": delta}},
                projection={"value": True, "_id": False},
                return_document=pymongo.ReturnDocument.AFTER,
            )
            if updated is not None:
                return True, int(updated["value"])
        found = yield self.command("find_one", {"_id": key, **alive(now)})
        return False, found

    def compare_and_set(self, key, document, fields):
        """Replace the entry if it still is ``document``; True if it was."""
        expected = {"_id": key, "value": document["value"], "format": document.get("format")}
        replacement = {**fields, "expires": document.get("expires")}
        result = yield self.command("replace_one", expected, replacement)
        return result.matched_count > 0
