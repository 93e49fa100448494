"""``MongoDBCache``: Django's cache API on a MongoDB collection, synchronous and asynchronous.

Settings (``CACHES`` entry)::

    "BACKEND": "django_mongo_backend.cache.MongoDBCache",
    "LOCATION": "django_cache",            # the collection
    "TIMEOUT": 300, "KEY_PREFIX": "", "VERSION": 1, "KEY_FUNCTION": ...   # Django's own
    "OPTIONS": {
        "DATABASE": "default",             # the DATABASES alias (a django_mongo_backend one)
        "SERIALIZER": "json",              # or "pickle" (see values.py and docs/cache.rst)
        "MAX_ENTRIES": 300, "CULL_FREQUENCY": 3,   # Django's culling options
    }

Commands go through the database alias's connection (Django's per-thread wrapper, its shared
MongoClient; the async methods use the backend's per-loop ``AsyncMongoClient``), so they are
recorded in ``connection.queries`` and logged like the ORM's, and errors are Django's. They
always run outside the caller's transaction: see "Transactions" in docs/cache.rst for why this
differs from Django's DatabaseCache.
"""

from __future__ import annotations

import datetime

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.utils.connection import ConnectionDoesNotExist

from .. import async_execution
from . import values
from .store import Store

OPTIONS = ("DATABASE", "SERIALIZER", "MAX_ENTRIES", "CULL_FREQUENCY")
_LATEST = datetime.datetime.max.replace(tzinfo=datetime.UTC)


class MongoDBCache(BaseCache):
    """Django's cache on the collection ``LOCATION`` of a django_mongo_backend database."""

    def __init__(self, location, params):
        options = params.get("OPTIONS") or {}
        if not isinstance(options, dict):
            raise ImproperlyConfigured("MongoDBCache: OPTIONS must be a dict.")
        super().__init__(params)
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ImproperlyConfigured(
                f"MongoDBCache: unknown OPTIONS {', '.join(map(repr, unknown))}; the options "
                f"are {', '.join(OPTIONS)}."
            )
        self.database_alias = options.get("DATABASE", DEFAULT_DB_ALIAS)
        self.serializer = options.get("SERIALIZER", "json")
        if self.serializer not in values.SERIALIZERS:
            raise ImproperlyConfigured(
                f"MongoDBCache: OPTIONS['SERIALIZER'] must be one of "
                f"{', '.join(map(repr, values.SERIALIZERS))}, not {self.serializer!r}."
            )
        self.collection = _collection_name(location)
        self.store = Store(self.collection, lambda: (self._max_entries, self._cull_frequency))

    # -- keys and timeouts ---------------------------------------------------------------------

    def make_and_validate_key(self, key, version=None):
        key = self.make_key(key, version=version)
        if type(key) is not str:
            # A key is an _id value in commands: only a string is sure to be matched as data.
            raise TypeError(f"MongoDBCache keys must be strings; the key function made {key!r}.")
        self.validate_key(key)
        return key

    def _expiry(self, timeout):
        """``(now, expires)``: ``expires`` is None for no expiry, ``<= now`` for "expired
        already" (a timeout of 0 or less: Django then stores nothing)."""
        now = datetime.datetime.now(datetime.UTC)
        at = self.get_backend_timeout(timeout)
        if at is None:
            return now, None
        try:
            return now, datetime.datetime.fromtimestamp(at, datetime.UTC)
        except (OverflowError, ValueError, OSError):  # beyond year 9999
            return now, _LATEST

    def _encode(self, value, key, expires):
        return {**values.encode(value, key, self.serializer), "expires": expires}

    def _decode(self, document):
        return values.decode(document, document["_id"], self.collection)

    # -- operations, each a generator of commands (see store.py) -------------------------------

    def _get_many(self, keys, version):
        key_map = {self.make_and_validate_key(key, version=version): key for key in keys}
        if not key_map:
            return {}
        now = datetime.datetime.now(datetime.UTC)
        documents = yield from self.store.find(list(key_map), now)
        found = {}
        for document in documents:
            value, ok = self._decode(document)
            if ok:
                found[document["_id"]] = value
        return {key_map[made]: found[made] for made in key_map if made in found}

    def _get(self, key, default, version):
        made = self.make_and_validate_key(key, version=version)
        now = datetime.datetime.now(datetime.UTC)
        for document in (yield from self.store.find([made], now)):
            value, ok = self._decode(document)
            if ok:
                return value
        return default

    def _set(self, key, value, timeout, version):
        made = self.make_and_validate_key(key, version=version)
        now, expires = self._expiry(timeout)
        fields = self._encode(value, made, expires)
        if expires is not None and expires <= now:
            yield from self.store.delete(made, now)
        else:
            yield from self.store.set(made, fields, now)

    def _add(self, key, value, timeout, version):
        made = self.make_and_validate_key(key, version=version)
        now, expires = self._expiry(timeout)
        fields = self._encode(value, made, expires)
        if expires is not None and expires <= now:
            # Added and expired at once, as Django's backends do: True unless a live entry
            # has the key; nothing is stored.
            return not (yield from self.store.has_key(made, now))
        return (yield from self.store.add(made, fields, now))

    def _set_many(self, data, timeout, version):
        now, expires = self._expiry(timeout)
        originals, fields_by_key = {}, {}
        for key, value in data.items():
            made = self.make_and_validate_key(key, version=version)
            originals[made] = key
            fields_by_key[made] = self._encode(value, made, expires)
        if not fields_by_key:
            return []
        if expires is not None and expires <= now:
            yield from self.store.delete_many(list(fields_by_key))
            return []
        failed = yield from self.store.set_many(fields_by_key, now)
        return [originals[made] for made in failed]

    def _touch(self, key, timeout, version):
        made = self.make_and_validate_key(key, version=version)
        now, expires = self._expiry(timeout)
        if expires is not None and expires <= now:
            return (yield from self.store.delete(made, now))
        return (yield from self.store.touch(made, expires, now))

    def _delete(self, key, version):
        made = self.make_and_validate_key(key, version=version)
        return (yield from self.store.delete(made, datetime.datetime.now(datetime.UTC)))

    def _delete_many(self, keys, version):
        made = [self.make_and_validate_key(key, version=version) for key in keys]
        yield from self.store.delete_many(made)

    def _has_key(self, key, version):
        made = self.make_and_validate_key(key, version=version)
        return (yield from self.store.has_key(made, datetime.datetime.now(datetime.UTC)))

    def _incr(self, key, delta, version):
        """Atomic on the server: one ``$inc`` for an integer stored as BSON. A value beyond 64
        bits (before or after) is replaced only if nobody changed it meanwhile (compare and
        set, retried)."""
        if type(delta) is not int:
            raise TypeError(f"incr()/decr() take an int delta, not {type(delta).__name__}.")
        made = self.make_and_validate_key(key, version=version)
        while True:
            now = datetime.datetime.now(datetime.UTC)
            done, result = yield from self.store.increment(made, delta, now)
            if done:
                return result
            value, ok = (None, False) if result is None else self._decode(result)
            if not ok:
                raise ValueError(f"Key '{key}' not found")
            if type(value) is not int:
                raise TypeError(
                    f"The value of cache key {key!r} is a {type(value).__name__}; incr() and "
                    "decr() need an int."
                )
            fields = values.encode(value + delta, made, self.serializer)
            if (yield from self.store.compare_and_set(made, result, fields)):
                return value + delta

    def _clear(self):
        yield from self.store.clear()

    # -- running them --------------------------------------------------------------------------

    def _connection(self):
        try:
            wrapper = connections[self.database_alias]
        except ConnectionDoesNotExist:
            raise ImproperlyConfigured(
                f"MongoDBCache: OPTIONS['DATABASE'] is {self.database_alias!r}, which is not "
                "in DATABASES."
            ) from None
        if wrapper.vendor != "mongodb":
            raise ImproperlyConfigured(
                f"MongoDBCache: database {self.database_alias!r} is not a django_mongo_backend "
                f"database (its vendor is {wrapper.vendor!r})."
            )
        return wrapper

    def run(self, operation):
        """Run an operation's commands synchronously, outside any transaction."""
        wrapper = self._connection()

        def execute(command):
            wrapper.ensure_connection()
            with wrapper.recording(command):
                return command.run(wrapper.connection.database, None)

        step, value = operation.send, None
        while True:
            try:
                command = step(value)
            except StopIteration as stop:
                return stop.value
            try:
                step, value = operation.send, execute(command)
            except DatabaseError as error:
                step, value = operation.throw, error

    async def arun(self, operation):
        """Run an operation's commands on the event loop's ``AsyncMongoClient``."""
        wrapper = self._connection()
        step, value = operation.send, None
        while True:
            try:
                command = step(value)
            except StopIteration as stop:
                return stop.value
            try:
                step, value = operation.send, await async_execution.execute(wrapper, command)
            except DatabaseError as error:
                step, value = operation.throw, error

    # -- Django's API --------------------------------------------------------------------------

    def get(self, key, default=None, version=None):
        return self.run(self._get(key, default, version))

    async def aget(self, key, default=None, version=None):
        return await self.arun(self._get(key, default, version))

    def get_many(self, keys, version=None):
        return self.run(self._get_many(keys, version))

    async def aget_many(self, keys, version=None):
        return await self.arun(self._get_many(keys, version))

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self.run(self._set(key, value, timeout, version))

    async def aset(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        await self.arun(self._set(key, value, timeout, version))

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self.run(self._add(key, value, timeout, version))

    async def aadd(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return await self.arun(self._add(key, value, timeout, version))

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self.run(self._set_many(data, timeout, version))

    async def aset_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return await self.arun(self._set_many(data, timeout, version))

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self.run(self._touch(key, timeout, version))

    async def atouch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return await self.arun(self._touch(key, timeout, version))

    def delete(self, key, version=None):
        return self.run(self._delete(key, version))

    async def adelete(self, key, version=None):
        return await self.arun(self._delete(key, version))

    def delete_many(self, keys, version=None):
        self.run(self._delete_many(keys, version))

    async def adelete_many(self, keys, version=None):
        await self.arun(self._delete_many(keys, version))

    def has_key(self, key, version=None):
        return self.run(self._has_key(key, version))

    async def ahas_key(self, key, version=None):
        return await self.arun(self._has_key(key, version))

    def incr(self, key, delta=1, version=None):
        return self.run(self._incr(key, delta, version))

    async def aincr(self, key, delta=1, version=None):
        return await self.arun(self._incr(key, delta, version))

    def clear(self):
        self.run(self._clear())

    async def aclear(self):
        await self.arun(self._clear())


def _collection_name(location):
    if not isinstance(location, str) or not location:
        raise ImproperlyConfigured(
            "MongoDBCache: LOCATION must name the cache collection (e.g. 'django_cache')."
        )
    if "$" in location or "\x00" in location or location.startswith("system."):
        raise ImproperlyConfigured(
            f"MongoDBCache: LOCATION {location!r} is not a collection name MongoDB accepts for "
            "data ('$' and NUL are not allowed, 'system.' is reserved)."
        )
    return location
