"""The server: what serving one data directory to MongoDB drivers needs beyond the engine.

``wire`` is the wire server (mongoeco's proxy, with the corrections around its executor);
``process`` runs it over a data directory (lock, ``server.json``, signals); ``engine`` is the
SQLite engine made to run transactions concurrently (with ``transactions`` for MongoDB's rules
around each statement, and ``kill_sessions``); ``auth`` is SCRAM as ``mongod`` answers it;
``topology``, ``replica_set``, ``labels``, ``retryable_writes`` and ``failpoints`` make it the
primary of a one-member replica set, as drivers expect. The patches of mongoeco made here are
registered with ``kind="server"``: ``ordering`` (the ``--shuffle-unordered`` mode),
``replica_set`` (the write concerns a replica set accepts) and ``busy`` (SQLite's lock waited
for inside the server, never reported to a client).
"""


def install():
    """Apply the server's patches of mongoeco (idempotent), after ``performance.install()``."""
    from . import busy, ordering, replica_set

    busy.install()
    ordering.install()  # it wraps joins.LazyCollection.matching
    replica_set.install()
