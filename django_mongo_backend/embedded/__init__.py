"""The embedded MongoDB server used for development and tests.

It serves mongoeco's SQLite storage engine over MongoDB's wire protocol, so the backend talks
to it through real ``pymongo`` exactly as it talks to ``mongod``. The pieces:

- ``server``: the wire server, with our corrections of the engine layered in front of it;
- ``launcher``: ``embedded://DIR`` hosts -> a running server's ``mongodb://`` URI;
- ``__main__``: ``python -m django_mongo_backend.embedded --dbpath DIR``;
- ``registry``: every change made to mongoeco, with its rule and its test.
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
