"""``$lookup`` on an equality through the foreign collection's indexes (mongoeco 4.11.0).

What was slow. mongoeco's aggregation cursor loads every collection a pipeline names in a
``$lookup`` before it runs the pipeline (``_load_pipeline_resources``), so a join costs time in
proportion to the foreign collection, however few documents it joins: 1,000 documents joined
against 10,000 took 1.3-1.9 s, and the cost grew with the foreign side. Its correlated form
(``let``/``pipeline``) also copied every foreign document into the sub-pipeline of every local
document: O(local x foreign).

What we change (``install()``):

- The cursor hands a collection that only ``$lookup`` stages read to the pipeline as a
  ``LazyCollection``: nothing is read until a stage asks. Anything that reads it as a list
  (a ``$lookup`` we do not route, an unusual resolver) gets the whole collection, read then,
  exactly as the engine would have read it up front.
- A ``$lookup`` with ``localField``/``foreignField`` collects the local documents' join values
  (``extract_values``: arrays and their elements; ``[None]`` for null/missing, as the engine's
  ``_lookup_matches`` does) and reads only ``{foreignField: {$in: values}}`` through the
  engine's ordinary find path (the ``_id`` primary key, a secondary index, or whatever plan it
  chooses). That query is the engine's own equality, applied per value, so it returns every
  document ``_lookup_matches`` can accept; the engine's join then runs unchanged over just
  those documents and decides.
- A ``$lookup`` whose ``pipeline`` starts with ``{$match: {$expr: {$eq: ["$f", "$$v"]}}}``
  (``v`` a ``let`` variable) reads ``{f: {$in: [values of v]}}`` the same way, buckets the
  result by the value of ``$f``, and runs the engine's join once per local document over its
  bucket (plus foreign documents whose ``$f`` cannot be keyed, such as arrays): the
  sub-pipeline, its ``$match`` first, still decides. A local value that cannot be keyed
  (document, array, NaN...) makes that stage read the whole collection.
- Documents read this way come in the collection's natural order (the primary key's), so
  joined arrays list their documents in the order the engine's full read gave them.

Collations, regular-expression join values and non-resolver callers keep the engine's path.
Results are compared with the engine's own join in ``tests/embedded/test_joins.py``.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from bson.regex import Regex as BsonRegex
from mongoeco.api._async import aggregation_cursor as cursor_module
from mongoeco.compat import MONGODB_DIALECT_70
from mongoeco.core._filtering_support import extract_values
from mongoeco.core.aggregation import runtime_state
from mongoeco.core.aggregation import stages as aggregation_stages
from mongoeco.core.aggregation.resources import AggregationResources
from mongoeco.core.bson_scalars import wrap_bson_numeric
from mongoeco.core.identity import canonical_document_id
from mongoeco.types import Regex, is_object_id_like

from .. import registry

_Cursor = cursor_module.AsyncAggregationCursor

#: Join values per ``$in`` read (SQLite binds several parameters per value).
IN_BATCH = 500

# --- reading from synchronous pipeline code ---------------------------------------------------


class _Bridge:
    """A thread with its own event loop, where stages (synchronous code) await engine reads.

    Pipelines run synchronously inside a command's coroutine; they cannot await the engine's
    async scan on their own loop. The read is submitted here and waited for; it runs on the
    engine's executor as any read does, with the command's context variables.
    """

    _loop = None
    _lock = threading.Lock()

    @classmethod
    def run(cls, coroutine):
        if cls._loop is None:
            with cls._lock:
                if cls._loop is None:
                    loop = asyncio.new_event_loop()
                    threading.Thread(
                        target=loop.run_forever, name="embedded-join-reads", daemon=True
                    ).start()
                    cls._loop = loop
        return asyncio.run_coroutine_threadsafe(coroutine, cls._loop).result()


def _natural_key(document):
    """The storage key (the primary key, whose order a full read follows) of ``document``."""
    return repr(canonical_document_id(document.get("_id")))


class LazyCollection(Sequence):
    """A collection a pipeline may join against, read only as far as its joins need."""

    def __init__(self, cursor, name, load_all):
        self._cursor = cursor
        self.name = name
        self._load_all = load_all
        self._documents = None
        #: How many partial reads and how many documents they returned (for tests/explain).
        self.reads = 0
        self.documents_read = 0

    @property
    def loaded(self):
        return self._documents is not None

    def all(self):
        if self._documents is None:
            self._documents = _Bridge.run(self._load_all(self.name))
            self.documents_read += len(self._documents)
        return self._documents

    def __len__(self):
        return len(self.all())

    def __getitem__(self, index):
        return self.all()[index]

    def __iter__(self):
        return iter(self.all())

    def __bool__(self):
        return bool(self.all())

    def matching(self, path, values):
        """Documents whose ``path`` equals (query semantics) one of ``values``, natural order.

        The whole collection when it has been read already (the join filters it as before).
        """
        if self._documents is not None:
            return self._documents
        found = {}
        for start in range(0, len(values), IN_BATCH):
            query = {path: {"$in": values[start : start + IN_BATCH]}}
            for document in _Bridge.run(_read(self._cursor, self.name, query)):
                found.setdefault(_natural_key(document), document)
        self.reads += 1
        self.documents_read += len(found)
        return [found[key] for key in sorted(found)]


async def _read(cursor, name, query):
    """``find(query)`` on collection ``name`` the way the cursor reads a collection whole."""
    operation = cursor_module.compile_find_operation(
        query,
        comment=cursor._comment,
        max_time_ms=cursor._max_time_ms,
        dialect=getattr(cursor._collection, "mongodb_dialect", MONGODB_DIALECT_70),
    )
    return [document async for document in cursor._scan_collection_with_operation(name, operation)]


# --- which collections are read lazily --------------------------------------------------------


def _references(pipeline, found):
    """Record, per collection name, whether something other than a ``$lookup`` reads it."""
    for stage in pipeline if isinstance(pipeline, list) else ():
        if not isinstance(stage, dict) or len(stage) != 1:
            continue
        ((operator, spec),) = stage.items()
        if operator == "$lookup" and isinstance(spec, dict):
            if isinstance(spec.get("from"), str):
                found.setdefault(spec["from"], True)
            _references(spec.get("pipeline"), found)
        elif operator == "$facet" and isinstance(spec, dict):
            for branch in spec.values():
                _references(branch, found)
        elif operator == "$unionWith":
            name = spec if isinstance(spec, str) else spec.get("coll")
            if isinstance(name, str):
                found[name] = False
            if isinstance(spec, dict):
                _references(spec.get("pipeline"), found)
        elif isinstance(spec, dict) and isinstance(spec.get("from"), str):
            found[spec["from"]] = False  # $graphLookup and anything else naming one
    return found


_original_load_collection_documents = _Cursor._load_collection_documents


async def _load_collection_documents(self, collection_name):
    lookups_only = getattr(self, "_lookup_only_collections", None)
    if lookups_only is None:
        lookups_only = {
            name for name, only in _references(self._effective_pipeline(), {}).items() if only
        }
        self._lookup_only_collections = lookups_only
    if collection_name not in lookups_only:
        return await _original_load_collection_documents(self, collection_name)

    def load_all(name):
        return _original_load_collection_documents(self, name)

    return LazyCollection(self, collection_name, load_all)


# --- the joins --------------------------------------------------------------------------------

#: Marks a value the bucketing cannot key: such a foreign document is a candidate for every
#: local document, and such a local value makes every foreign document a candidate.
_UNKEYED = object()


def _equality_key(value):
    """A key equal for any two values ``$eq`` may call equal, or ``_UNKEYED``.

    Python's ``==``/``hash`` already equate ``5``, ``5.0`` and ``Decimal("5")`` exactly as
    MongoDB's numeric comparison does; null and missing share one key (the real ``$match`` still
    decides between them).
    """
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, str):
        return ("str", value)
    if is_object_id_like(value):
        return ("oid", str(value))
    wrapped = wrap_bson_numeric(value) if not isinstance(value, (dict, list)) else None
    if wrapped is not None:
        number = wrapped.value
        if number != number:  # NaN equals NaN in MongoDB
            return ("nan",)
        return ("number", number)
    return _UNKEYED


def _correlated_equality(spec):
    """``(foreign path, variable)`` when ``spec``'s pipeline starts with an ``$expr`` equality
    between a foreign field and one ``let`` variable, else None."""
    if not isinstance(spec, dict) or "localField" in spec or "foreignField" in spec:
        return None
    pipeline, let = spec.get("pipeline"), spec.get("let")
    if not isinstance(pipeline, list) or not pipeline or not isinstance(let, dict):
        return None
    first = pipeline[0]
    if not isinstance(first, dict) or list(first) != ["$match"]:
        return None
    match = first["$match"]
    if not isinstance(match, dict) or list(match) != ["$expr"]:
        return None
    expression = match["$expr"]
    if not isinstance(expression, dict) or list(expression) != ["$eq"]:
        return None
    operands = expression["$eq"]
    if not isinstance(operands, list) or len(operands) != 2:
        return None
    if not all(isinstance(operand, str) for operand in operands):
        return None
    fields = [operand for operand in operands if not operand.startswith("$$")]
    variables = [operand[2:] for operand in operands if operand.startswith("$$")]
    if len(fields) != 1 or len(variables) != 1 or not fields[0].startswith("$"):
        return None
    if variables[0] not in let or "." in variables[0]:
        return None
    return fields[0], variables[0]


@dataclass(frozen=True, slots=True)
class _SubsetResources(AggregationResources):
    """The pipeline's resources, answering ``subset_name`` with ``subset`` for one join.

    Sub-pipelines (``for_collection``) see the collections as they are, so a nested
    ``$lookup`` on the same collection is not confined to this join's candidates.
    """

    subset_name: str = ""
    subset: list = field(default_factory=list)

    def __call__(self, name):
        if name == self.subset_name:
            return self.subset
        return AggregationResources.__call__(self, name)

    def for_collection(self, collection):
        return AggregationResources(self.documents, collection, self.snapshots)


def _with_subset(resolver, name, documents):
    return _SubsetResources(
        resolver.documents, resolver.collection, resolver.snapshots, name, documents
    )


def _lazy_foreign(spec, resolver, kwargs):
    """The ``LazyCollection`` a routable ``$lookup`` joins against, else None."""
    if (
        not isinstance(resolver, AggregationResources)
        or kwargs.get("collation") is not None
        or not isinstance(spec, dict)
        or not isinstance(spec.get("from"), str)
    ):
        return None
    foreign = resolver(spec["from"])
    if not isinstance(foreign, LazyCollection) or foreign.loaded:
        return None
    return foreign


def _in_values(values):
    """``values`` without repeats, for an ``$in``; None when one must not go into one."""
    distinct, seen = [], set()
    for value in values:
        if isinstance(value, (Regex, BsonRegex, re.Pattern)):
            return None
        key = _equality_key(value)
        if key is _UNKEYED:
            distinct.append(value)
        elif key not in seen:
            seen.add(key)
            distinct.append(value)
    return distinct


def _field_lookup(original, items, spec, resolver, variables, public, foreign, kwargs):
    values = []
    for item in items:
        values.extend(extract_values(public(item), spec["localField"]) or [None])
    values = _in_values(values)
    documents = foreign.all() if values is None else foreign.matching(spec["foreignField"], values)
    return original(items, spec, _with_subset(resolver, spec["from"], documents), variables, kwargs)


def _bucketed_lookup(original, items, spec, resolver, variables, public, foreign, kwargs):
    """Run ``original`` per local item over the foreign documents its ``$eq`` can match.

    Foreign documents are bucketed once by the value of the correlated field; each local
    document gets its bucket plus those that cannot be keyed, in collection order, and the
    sub-pipeline (its ``$match`` included) still decides.
    """
    from mongoeco.core.aggregation.runtime import evaluate_expression

    path, variable = _correlated_equality(spec)
    name = spec["from"]
    dialect = kwargs.get("dialect") or MONGODB_DIALECT_70
    local_values = [
        evaluate_expression(public(item), spec["let"][variable], variables, dialect=dialect)
        for item in items
    ]
    local_keys = [_equality_key(value) for value in local_values]
    if isinstance(foreign, LazyCollection):
        if any(key is _UNKEYED for key in local_keys):
            documents = foreign.all()
        else:
            distinct = dict(zip(local_keys, local_values, strict=True))
            documents = foreign.matching(path[1:], list(distinct.values()))
    else:
        documents = list(foreign or [])
    buckets, unkeyed = {}, []
    for position, document in enumerate(documents):
        key = _equality_key(evaluate_expression(document, path, None, dialect=dialect))
        if key is _UNKEYED:
            unkeyed.append(position)
        else:
            buckets.setdefault(key, []).append(position)
    results = []
    for item, key in zip(items, local_keys, strict=True):
        if key is _UNKEYED:
            candidates = documents
        else:
            positions = sorted(buckets.get(key, []) + unkeyed)
            candidates = [documents[position] for position in positions]
        results.extend(
            original([item], spec, _subset_resolver(resolver, name, candidates), variables, kwargs)
        )
    return results


class _CandidateResolver:
    """A plain ``collection_resolver`` answering ``name`` with a subset, others as before."""

    def __init__(self, resolver, name, documents):
        self._resolver, self._name, self._documents = resolver, name, documents

    def __call__(self, name):
        return self._documents if name == self._name else self._resolver(name)


def _subset_resolver(resolver, name, documents):
    if isinstance(resolver, AggregationResources):
        return _with_subset(resolver, name, documents)
    return _CandidateResolver(resolver, name, documents)


def _with_hash_plan(kwargs):
    """``kwargs`` with the localField/foreignField hash join enabled.

    The engine builds its hash plan only under a cost policy's association budget; without one
    (our engine options drop the materialization budget) every local document is compared with
    every foreign one. The foreign documents are in memory already; their index costs less.
    """
    if kwargs.get("lookup_hash_max_associations") is None:
        kwargs = {**kwargs, "lookup_hash_max_associations": sys.maxsize}
    return kwargs


def _join(original, items, spec, resolver, variables, public, kwargs):
    kwargs = _with_hash_plan(kwargs)
    foreign = _lazy_foreign(spec, resolver, kwargs)
    if foreign is not None and "localField" in spec and "foreignField" in spec:
        return _field_lookup(original, items, spec, resolver, variables, public, foreign, kwargs)
    if (
        resolver is not None
        and kwargs.get("collation") is None
        and _correlated_equality(spec) is not None
        and isinstance(spec.get("from"), str)
    ):
        if foreign is None:
            foreign = resolver(spec["from"])
        return _bucketed_lookup(original, items, spec, resolver, variables, public, foreign, kwargs)
    return original(items, spec, resolver, variables, kwargs)


_original_apply_lookup = aggregation_stages._apply_lookup
_original_apply_lookup_states = runtime_state._apply_lookup_states


def _apply_lookup(documents, spec, collection_resolver, variables=None, **kwargs):
    def original(items, spec, resolver, variables, kwargs):
        return _original_apply_lookup(items, spec, resolver, variables, **kwargs)

    return _join(
        original, documents, spec, collection_resolver, variables, lambda item: item, kwargs
    )


def _public_state(state):
    return state.public_document() if hasattr(state, "public_document") else state


def _apply_lookup_states(states, spec, *, collection_resolver, variables, **kwargs):
    def original(items, spec, resolver, variables, kwargs):
        return _original_apply_lookup_states(
            items, spec, collection_resolver=resolver, variables=variables, **kwargs
        )

    return _join(original, states, spec, collection_resolver, variables, _public_state, kwargs)


_TESTS = "tests/embedded/test_joins.py"


def install():
    """Route equality joins through the foreign collection's indexes (idempotent)."""
    registry.replace(
        _Cursor,
        "_load_collection_documents",
        _load_collection_documents,
        rule="a collection only $lookup reads is read when a stage asks, not before the pipeline",
        test=f"{_TESTS}::test_a_join_reads_only_the_documents_it_can_match",
        kind=registry.PERFORMANCE,
    )
    rule = "an equality $lookup reads {foreignField: {$in: join values}} through the indexes"
    for owner, name, replacement in (
        (aggregation_stages, "_apply_lookup", _apply_lookup),
        (runtime_state, "_apply_lookup_states", _apply_lookup_states),
    ):
        registry.replace(
            owner,
            name,
            replacement,
            rule=rule,
            test=f"{_TESTS}::test_a_field_lookup_joins_like_the_engine",
            kind=registry.PERFORMANCE,
        )
