"""``select_for_update()``: the selected documents are claimed by a write in the transaction.

MongoDB has no read locks. What it has is the document lock a transaction's write takes: until
the transaction ends, another transaction writing that document fails with ``WriteConflict``
(112) and a write outside transactions waits. So after reading the rows, the query writes each
selected document (sets a marker field and removes it again: the stored document is unchanged,
but it was written, hence locked). A document another transaction had changed since our
snapshot also fails the claim with ``WriteConflict``, so a claim that succeeds proves the rows
read are the latest committed ones. docs/transactions.rst explains the rest:

- ``nowait=True``: a conflict raises ``OperationalError`` at once (the transaction is aborted,
  as MongoDB aborts it; an inner ``atomic()`` can catch it);
- ``skip_locked=True``: rows whose documents another transaction holds are left out (each
  conflict costs a resume of the transaction), and a sliced query reads further to fill up;
- default: on a conflict the transaction is resumed and the read and claim run again, with
  growing pauses, up to ``LOCK_TIMEOUT`` seconds (a database setting, 30 by default);
- ``of=(...)``: only the documents of the named models; by default those of every model whose
  columns the query returns (the queried model, its parents, ``select_related()`` ones).
"""

from __future__ import annotations

import time

from django.db import NotSupportedError
from django.db.transaction import TransactionManagementError
from django.db.utils import OperationalError
from pymongo import UpdateMany

from .. import errors
from ..lock_waits import Held, retry_while_held
from ..mongo_command import MongoCommand, to_json

#: The field a claim sets and removes again in the same command.
MARKER = "__row_lock"


def check_supported(compiler):
    """Django's own refusals for FOR UPDATE (its SQL compiler's), and the constructs whose rows
    are not documents (SQL refuses FOR UPDATE with them too)."""
    query = compiler.query
    connection = compiler.connection
    if connection.get_autocommit() and connection.features.supports_transactions:
        raise TransactionManagementError(
            "select_for_update cannot be used outside of a transaction."
        )
    if query.select_for_no_key_update:
        raise NotSupportedError("FOR NO KEY UPDATE is not supported on this database backend.")
    for construct, present in (
        ("GROUP BY", query.group_by is not None),
        ("DISTINCT", query.distinct),
        ("aggregate functions", any(a.contains_aggregate for a in query.annotations.values())),
        (str(query.combinator).upper(), query.combinator),
    ):
        if present:
            raise NotSupportedError(f"select_for_update() cannot be used with {construct}.")


def lock_targets(compiler):
    """(collection, where a row holds the id to claim) for each table whose documents to claim:
    the index of that table's primary key among the row's columns, or None for the queried
    collection, whose id every row read carries apart from its columns (``read_locked``), so
    that a ``values()`` query without the primary key still claims, and skips, row by row."""
    query = compiler.query
    aliases = compiler.get_select_for_update_of_arguments() if query.select_for_update_of else None
    base_alias = query.get_initial_alias()
    keys = {}
    for index, (expression, _sql, _alias) in enumerate(compiler.select[: compiler.col_count]):
        alias = getattr(expression, "alias", None)
        target = getattr(expression, "target", None)
        if alias is None or target is None:
            continue
        if aliases is not None and alias not in aliases:
            continue
        keys.setdefault(alias, None)
        if target.primary_key and keys[alias] is None:
            keys[alias] = index
    if aliases is None or base_alias in aliases:
        keys[base_alias] = None
    targets = []
    for alias, index in keys.items():
        table = query.alias_map[alias].table_name
        if index is None and alias != base_alias:
            raise NotSupportedError(
                f"select_for_update() needs the primary key of {table} among the selected "
                "columns to lock its rows"
            )
        targets.append((table, index))
    return targets


def claims(read, targets):
    """{collection: [ids]} to claim for ``read``, a list of (row, document id) pairs."""
    wanted = {}
    for table, index in targets:
        ids = wanted.setdefault(table, [])
        for row, document_id in read:
            value = document_id if index is None else row[index]
            if value is not None:
                ids.append(value)
    return {table: _distinct(ids) for table, ids in wanted.items() if ids}


def _distinct(ids):
    """``ids`` without repeats, in order; a composite key's ``_id`` is a dict (unhashable),
    kept apart by its items in order (as MongoDB compares documents)."""
    seen = {}
    for value in ids:
        seen.setdefault(tuple(value.items()) if isinstance(value, dict) else value, value)
    return list(seen.values())


class ClaimCommand(MongoCommand):
    """One command writing each document twice (marker set, marker removed)."""

    __slots__ = ()

    def __init__(self, collection, ids):
        match = {"_id": {"$in": ids}}
        updates = [
            UpdateMany(match, {"$set": {MARKER: True}}),
            UpdateMany(match, {"$unset": {MARKER: ""}}),
        ]
        super().__init__(collection, "bulk_write", updates, ordered=True)

    def __str__(self):
        updates = ", ".join(
            f"{{updateMany: {{filter: {to_json(op._filter)}, update: {to_json(op._doc)}}}}}"
            for op in self.args[0]
        )
        return f"db.{self.collection}.bulkWrite([{updates}])"


def claim(connection, wanted):
    """Claim the documents; False if another transaction holds one (then the server has aborted
    ours: the caller resumes it or gives up)."""
    try:
        for collection, ids in wanted.items():
            connection.execute_command(ClaimCommand(collection, ids), wait=False)
    except OperationalError as error:
        if errors.error_code(error.__cause__) != errors.WRITE_CONFLICT:
            raise
        return False
    return True


def read_locked(compiler, read_rows):
    """The rows of ``read_rows(excluded_ids)``, their documents claimed as the query asks.

    ``read_rows`` returns (row, document id) pairs: the id is the ``_id`` of the queried
    collection's document the row comes from, whether a column returns it or not; it ties
    each row to the document to claim, and ``excluded_ids`` are such ids.
    """
    query = compiler.query
    connection = compiler.connection
    targets = lock_targets(compiler)
    if query.select_for_update_skip_locked:
        return _skip_locked(compiler, read_rows, targets)
    nowait = query.select_for_update_nowait
    deadline = None if nowait else time.monotonic() + connection.lock_timeout

    def read_and_claim():
        read = read_rows(())
        if not claim(connection, claims(read, targets)):
            raise Held
        return [row for row, _document_id in read]

    def could_not_lock(_detail):
        return OperationalError(
            f"could not lock the rows of {query.get_meta().db_table}: another transaction "
            "holds them"
            + ("" if nowait else " (LOCK_TIMEOUT expired)")
            + "; MongoDB has aborted this transaction"
        )

    return retry_while_held(
        read_and_claim, deadline=deadline, give_up=could_not_lock, before_retry=connection._resume
    )


def _skip_locked(compiler, read_rows, targets):
    """Claim row by row, leaving out rows another transaction holds; a sliced query reads
    again without them until a read meets no held row, so it returns as many rows as it can.

    A row is left out by its document's id, and what a row claimed is remembered by id, not by
    the row's values: two rows that show the same values (``values()`` without the key) are
    two documents, each claimed or skipped on its own.
    """
    connection = compiler.connection
    skipped, claimed = [], set()
    while True:
        result, conflicts = [], False
        for row, document_id in read_rows(tuple(skipped)):
            wanted = {}
            for table, ids in claims([(row, document_id)], targets).items():
                new = [id_ for id_ in ids if (table, id_) not in claimed]
                if new:
                    wanted[table] = new
            if wanted and not claim(connection, wanted):
                connection._resume()
                skipped.append(document_id)
                conflicts = True
                continue
            claimed.update((table, id_) for table, ids in wanted.items() for id_ in ids)
            result.append(row)
        if not conflicts or compiler.query.high_mark is None:
            return result
