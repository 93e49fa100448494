"""The embedded MongoDB server used for development and tests.

It serves mongoeco's SQLite storage engine over MongoDB's wire protocol, so the backend talks
to it through real ``pymongo`` exactly as it talks to ``mongod``. The pieces:

- ``launcher``: ``embedded://DIR`` hosts -> a running server's ``mongodb://`` URI;
- ``__main__``: ``python -m django_mongo_backend.embedded --dbpath DIR``;
- ``registry``: every change made to mongoeco, with its kind, its rule and its test;
- ``corrections``: where mongoeco differs from MongoDB 7.0, what MongoDB does;
- ``performance``: mongoeco's own results without its full scans;
- ``server``: the wire server (``server.wire``) and what serving a process needs (transactions,
  authentication, the replica set surface, the data directory's process).

The subpackages follow the ``kind`` of each patch (``registry.KINDS``), so an upgrade of mongoeco
is reviewed one kind at a time (docs/embedded-server.rst).
"""

import importlib.util

#: The mongoeco release the corrections in this package were written and tested against.
MONGOECO_VERSION = "4.11.0"

from .registry import check_mongoeco  # noqa: E402 - it reads MONGOECO_VERSION

# The version gate, before any module of this package imports mongoeco's internals: another
# release fails here, naming both versions, and not on a renamed internal somewhere. (Without
# mongoeco at all, importing the launcher still works; the server process then reports it.)
if importlib.util.find_spec("mongoeco") is not None:
    check_mongoeco()
