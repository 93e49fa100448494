"""The embedded MongoDB server used for development and tests.

It serves mongoeco's SQLite storage engine over MongoDB's wire protocol, so the backend talks
to it through real ``pymongo`` exactly as it talks to ``mongod``. The pieces:

- ``server``: the wire server, with our corrections of the engine layered in front of it;
- ``launcher``: ``embedded://DIR`` hosts -> a running server's ``mongodb://`` URI;
- ``__main__``: ``python -m django_mongo_backend.embedded --dbpath DIR``.
"""

#: The mongoeco release the corrections in this package were written and tested against.
MONGOECO_VERSION = "4.11.0"
