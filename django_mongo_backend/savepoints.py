"""Savepoints on MongoDB: the open transaction's writes, kept to be run again.

MongoDB has no savepoints, and any failed statement aborts the whole server transaction. So the
connection keeps the write commands the server applied in the open transaction, in order; a
savepoint is a position in that list. Rolling back to one aborts the server transaction and runs
the writes before the position again in a new one (``DatabaseWrapper._resume``). The design and
the isolation it gives are in docs/transactions.rst.

Id reservations made in the transaction are kept too, so a rollback can give them back.
"""

from __future__ import annotations

from .mongo_command import READ_METHODS, MongoCommand


class Reservation:
    """Ids ``before + 1 .. after`` taken from the sequence of ``collection``."""

    __slots__ = ("after", "before", "collection")

    def __init__(self, collection, before, after):
        self.collection = collection
        self.before = before
        self.after = after


class TransactionLog:
    """The writes and id reservations of one open transaction, and its savepoints."""

    def __init__(self):
        self.writes = []
        self.reservations = []
        self.savepoints = {}  # sid -> (len(writes), len(reservations)) when it was taken
        #: A statement failed: the server aborted the transaction (rule 2 of the doc).
        self.server_aborted = False

    def clear(self):
        self.writes.clear()
        self.reservations.clear()
        self.savepoints.clear()
        self.server_aborted = False

    def record(self, command):
        """Keep ``command`` if it changes data; an ordered ``insert_many`` right after another
        into the same collection (only inserts into other collections between them) joins it,
        so a replay sends one command per collection for a run of inserts."""
        if command.method in READ_METHODS:
            return
        if _is_ordered_insert(command):
            floor = max((mark for mark, _ in self.savepoints.values()), default=0)
            for index in range(len(self.writes) - 1, floor - 1, -1):
                earlier = self.writes[index]
                if not _is_ordered_insert(earlier):
                    break
                if earlier.collection == command.collection:
                    self.writes[index] = MongoCommand(
                        command.collection,
                        "insert_many",
                        [*earlier.args[0], *command.args[0]],
                        ordered=True,
                    )
                    return
        self.writes.append(command)

    def reserved(self, collection, before, after):
        """Ids were taken from a sequence; a reservation continuing the previous one of the
        same collection extends it (one compare-and-set gives both back)."""
        if after <= before:
            return
        floor = max((mark for _, mark in self.savepoints.values()), default=0)
        for reservation in reversed(self.reservations[floor:]):
            if reservation.collection == collection:
                if reservation.after == before:
                    reservation.after = after
                    return
                break
        self.reservations.append(Reservation(collection, before, after))

    def mark(self, sid):
        self.savepoints[sid] = (len(self.writes), len(self.reservations))

    def release(self, sid):
        del self.savepoints[sid]

    def needs_replay(self, sid):
        """Whether rolling back to ``sid`` has anything to undo on the server."""
        writes, _ = self.savepoints[sid]
        return self.server_aborted or len(self.writes) > writes

    def rewind(self, sid):
        """Forget what came after savepoint ``sid`` (and the savepoints taken since); return
        the reservations made since, newest first, for the caller to give back."""
        writes, reservations = self.savepoints[sid]
        del self.writes[writes:]
        given_back = self.reservations[reservations:]
        del self.reservations[reservations:]
        names = list(self.savepoints)
        for later in names[names.index(sid) + 1 :]:
            del self.savepoints[later]
        self.server_aborted = False
        return list(reversed(given_back))

    def take_reservations(self):
        """All reservations of the transaction, newest first (it ended in a rollback)."""
        given_back = list(reversed(self.reservations))
        self.reservations.clear()
        return given_back


def _is_ordered_insert(command):
    return command.method == "insert_many" and command.kwargs == {"ordered": True}
