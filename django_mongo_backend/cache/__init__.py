"""A Django cache backend on MongoDB: ``django_mongo_backend.cache.MongoDBCache``.

Values are stored as BSON where BSON keeps them exactly, as type-tagged JSON otherwise, and
pickled (signed) only when the settings ask for it. Expiry is a TTL index plus a check on
every read. docs/cache.rst has the settings, the storage format and the reasons.

- ``backend.py``: the cache class (settings, keys, timeouts, sync and async methods).
- ``store.py``: the collection's documents and the commands of each operation.
- ``values.py``: which format a value is stored in; ``tagged_json.py``, ``signed_pickle.py``
  and ``responses.py`` the formats themselves.
"""

from .backend import MongoDBCache

__all__ = ["MongoDBCache"]
