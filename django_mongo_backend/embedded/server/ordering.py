"""An opt-in server mode that returns what MongoDB leaves unordered in a shuffled order.

MongoDB specifies no order for the results of a query without a sort: "MongoDB does not store
documents in a collection in a particular order", and "when sorting on a field which contains
duplicate values, documents containing those values may be returned in any order" (manual,
``cursor.sort()``, *Sort Consistency*; ``$sort`` (aggregation), *Sort Stability*). The SQLite
engine, though, answers every unsorted read in primary-key order (the ``_id``'s storage key)
and breaks sort ties by that key, so code and tests that rely on an order MongoDB never
promised pass here and fail against ``mongod``.

With shuffling on (``--shuffle-unordered``, or ``DJANGO_MONGO_EMBEDDED_SHUFFLE=1`` in the
server's environment, which the launcher's background servers inherit), every read that
answers a ``find``, an ``aggregate``'s source or a ``$lookup`` is taken in a random order:

- the engine's SQL reads (``_build_select_sql``) get ``ORDER BY random()``, or ``random()``
  as the last sort key in place of the storage-key tie-breaker, before their ``LIMIT`` and
  ``OFFSET``, so a limit without a sort selects an arbitrary subset, as on MongoDB;
- its Python fallback reads (``_load_documents``, during a query) come shuffled, so the
  stable Python sort that follows also breaks ties at random; pipeline stages downstream
  (``$sort``, ``$group``...) see their input in that order;
- a one-document read by a non-``_id`` equality skips the engine's first-index-entry shortcut;
- a routed equality ``$lookup`` (``joins.LazyCollection.matching``) lists its foreign
  documents shuffled.

Sorted results stay sorted; only what the sort leaves equal moves. Off by default: a random
order costs a sort per read, and a deterministic order is easier to debug.
"""

from __future__ import annotations

import os
import random
import re
import threading

from mongoeco.engines.sqlite import SQLiteEngine

from .. import registry
from ..performance import joins

#: The environment variable that turns shuffling on for a server process ("1", "true", "yes").
ENV_VAR = "DJANGO_MONGO_EMBEDDED_SHUFFLE"

_enabled = False
_scanning = threading.local()

#: The storage-key tie-breaker the engine and ``fastpaths`` end a sorted read's ORDER BY with.
_TIE_BREAKER = re.compile(r",\s*(?:documents\.)?storage_key\s+ASC\s*$")


def enabled_by_environment(environ=None):
    """Whether ``environ`` (default: this process's) asks for shuffling."""
    value = (os.environ if environ is None else environ).get(ENV_VAR, "")
    return value.strip().lower() in {"1", "true", "yes", "on"}


def enable(on=True):
    """Turn shuffling on (or off) for every engine in this process."""
    global _enabled
    _enabled = bool(on)


def is_enabled():
    return _enabled


# -- the SQL reads -----------------------------------------------------------------------------


def shuffled_sql(sql, params, *, sorted_read, skip, limit):
    """``sql`` (a read without LIMIT/OFFSET) ordered at random where its sort leaves ties,
    then sliced by ``skip`` and ``limit``."""
    params = list(params)
    if sorted_read:
        sql = _TIE_BREAKER.sub("", sql.rstrip()) + ", random()"
    else:
        sql = sql.rstrip() + " ORDER BY random()"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    elif skip:
        sql += " LIMIT -1"
    if skip:
        sql += " OFFSET ?"
        params.append(skip)
    return sql, params


_original_build_select_sql = SQLiteEngine._build_select_sql


def _build_select_sql(self, db_name, coll_name, plan, *, select_clause, **kwargs):
    if not _enabled:
        return _original_build_select_sql(
            self, db_name, coll_name, plan, select_clause=select_clause, **kwargs
        )
    skip, limit = kwargs.pop("skip", 0) or 0, kwargs.pop("limit", None)
    sql, params = _original_build_select_sql(
        self, db_name, coll_name, plan, select_clause=select_clause, skip=0, limit=None, **kwargs
    )
    if " LIMIT " in sql[sql.rfind(")") + 1 :]:  # a statement we do not know how to extend
        raise AssertionError(f"unexpected LIMIT in an unlimited read: {sql}")
    return shuffled_sql(sql, params, sorted_read=bool(kwargs.get("sort")), skip=skip, limit=limit)


# -- the Python fallback reads -----------------------------------------------------------------

_original_load_documents = SQLiteEngine._load_documents
_original_open_scan = SQLiteEngine._open_scan_documents_sync
_original_select_first = SQLiteEngine._select_first_document_for_plan


def _shuffled(rows):
    rows = list(rows)
    random.shuffle(rows)
    yield from rows


def _load_documents(self, db_name, coll_name):
    """The engine's whole-collection read; shuffled when a query scan asks for it."""
    rows = _original_load_documents(self, db_name, coll_name)
    if _enabled and getattr(_scanning, "active", False):
        return _shuffled(rows)
    return rows


def _open_scan_documents_sync(self, reader):
    """The engine's query scan, with its whole-collection reads shuffled (see the module)."""
    if not _enabled:
        return _original_open_scan(self, reader)
    _scanning.active = True
    try:
        return _original_open_scan(self, reader)
    finally:
        _scanning.active = False


def _select_first_document_for_plan(self, db_name, coll_name, plan, **kwargs):
    """The one-document shortcut, left out of query scans by a field other than ``_id``: it
    returns the first entry of the field's index (the lowest storage key among equals)."""
    if _enabled and getattr(_scanning, "active", False) and getattr(plan, "field", "_id") != "_id":
        raise NotImplementedError("shuffled reads take the general path")
    return _original_select_first(self, db_name, coll_name, plan, **kwargs)


# -- joins -------------------------------------------------------------------------------------

_original_matching = joins.LazyCollection.matching


def _matching(self, path, values):
    documents = _original_matching(self, path, values)
    if _enabled:
        documents = list(documents)
        random.shuffle(documents)
    return documents


_TESTS = "tests/embedded/test_natural_order.py"

#: ``SQLiteEngine`` methods -> (the replacement, what it shuffles, its test).
_PATCHES = {
    "_build_select_sql": (
        _build_select_sql,
        "--shuffle-unordered: SQL reads without a sort, and sort ties, come in random order",
        "test_a_find_without_sort_returns_its_matches_in_any_order",
    ),
    "_load_documents": (
        _load_documents,
        "--shuffle-unordered: the Python fallback's reads come shuffled",
        "test_a_python_evaluated_filter_returns_its_matches_in_any_order",
    ),
    "_open_scan_documents_sync": (
        _open_scan_documents_sync,
        "--shuffle-unordered: marks a query scan, whose whole-collection reads are shuffled",
        "test_python_sort_ties_come_in_any_order",
    ),
    "_select_first_document_for_plan": (
        _select_first_document_for_plan,
        "--shuffle-unordered: a one-document read by a non-_id equality returns any match",
        "test_a_one_document_read_returns_any_match",
    ),
}


def install():
    """Patch the engine's reads (idempotent); they shuffle only once ``enable()`` is called."""
    global _original_load_documents
    for name, (function, reason, test) in _PATCHES.items():
        replaced = registry.replace(
            SQLiteEngine,
            name,
            function,
            rule=reason,
            test=f"{_TESTS}::{test}",
            kind=registry.SERVER,
        )
        if name == "_load_documents":  # shuffle what the performance paths read, not bypass them
            _original_load_documents = replaced
    registry.replace(
        joins.LazyCollection,
        "matching",
        _matching,
        rule="--shuffle-unordered: a routed equality $lookup lists its foreign documents shuffled",
        test=f"{_TESTS}::test_lookup_arrays_list_their_documents_in_any_order",
        kind=registry.SERVER,
    )
    if enabled_by_environment():
        enable()
