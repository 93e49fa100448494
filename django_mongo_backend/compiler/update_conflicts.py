"""``bulk_create(update_conflicts=True)``: each document an upsert on its unique fields.

SQL's ``INSERT ... ON CONFLICT (unique_fields) DO UPDATE SET f = EXCLUDED.f`` inserts a row,
or, where a stored row has the same ``unique_fields``, sets that row's ``update_fields`` to the
values proposed for insertion. MongoDB says the same thing one document at a time: an
``updateOne`` with ``upsert: true`` whose filter is the unique key, ``$set`` the update fields
and ``$setOnInsert`` the rest of the document. They go in one ordered ``bulkWrite``, so a later
document of the same call with the same key updates the one inserted just before (as SQLite
does row by row), and the server never reports the conflict as a duplicate key: nothing aborts
the transaction ``bulk_create`` may run in. Concurrent upserts of one key are settled by the
server on the unique index (it retries an upsert that meets a duplicate key on its own filter).

The rules SQL gives this statement are kept:

- ``unique_fields`` must be the fields of one unique index of the model (the primary key, a
  ``unique`` field, ``unique_together`` or a ``UniqueConstraint`` without condition), as
  PostgreSQL and SQLite require a matching constraint: anything else is a ``ProgrammingError``
  naming the model and the fields (an upsert on fields no index keeps unique would also race);
- a document whose key holds NULL in a nullable field conflicts with nothing (NULLs are
  distinct), so it is inserted as it is unless the constraint says ``nulls_distinct=False``;
- a conflict on another unique index is an ``IntegrityError``, as in SQL;
- every object gets the primary key of the document it ended in, inserted or updated
  (PostgreSQL's ``RETURNING`` after ``DO UPDATE``): the ids of updated documents are read back
  in one more command, only when there are some. An id reserved for a document that turned out
  to be an update is not used, as a PostgreSQL sequence value is not.
"""

from __future__ import annotations

from typing import Any

from django.db import NotSupportedError, ProgrammingError
from pymongo import InsertOne, UpdateOne

from ..mongo_command import MongoCommand, to_json
from ..operations import document_key
from .ignore_conflicts import UniqueKey, unique_keys
from .mql_types import Document


def target(model: Any, unique_fields: list[Any]) -> UniqueKey:
    """The unique index ``unique_fields`` name, as ``ignore_conflicts`` describes it."""
    wanted = {document_key(field) for field in unique_fields}
    for key in unique_keys(model, pk_given=True, skip_partial=True):
        if set(key.keys) == wanted:
            return key
    names = ", ".join(field.name for field in unique_fields)
    raise ProgrammingError(
        f"bulk_create(update_conflicts=True) on {model._meta.label}: no unique index of the "
        f"model has exactly the fields ({names}) given as unique_fields; the conflict target "
        "must be the primary key, a unique field, a unique_together or a UniqueConstraint "
        "without a condition."
    )


def check_supported(model: Any) -> None:
    """A stored GeneratedField is refused: the upsert's ``$set`` would need it recomputed
    from the stored document's other fields, which the values proposed for insertion do not
    hold."""
    for field in model._meta.concrete_fields:
        if field.generated and field.db_persist:
            raise NotSupportedError(
                f"bulk_create(update_conflicts=True) on {model._meta.label}: its stored "
                f"GeneratedField {field.name!r} would not be recomputed for the documents "
                "updated."
            )


class UpsertCommand(MongoCommand):
    """An ordered ``bulkWrite`` of upserts (and inserts of keys that conflict with nothing)."""

    __slots__ = ()

    def __init__(self, collection: str, operations: list[Any]):
        super().__init__(collection, "bulk_write", operations, ordered=True)

    def __str__(self) -> str:
        shown = []
        for operation in self.args[0]:
            if isinstance(operation, InsertOne):
                shown.append(f"{{insertOne: {{document: {to_json(operation._doc)}}}}}")
            else:
                shown.append(
                    f"{{updateOne: {{filter: {to_json(operation._filter)}, "
                    f"update: {to_json(operation._doc)}, upsert: true}}}}"
                )
        return f"db.{self.collection}.bulkWrite([{', '.join(shown)}], {{ordered: true}})"


def upsert_command(
    collection: str, documents: list[Document], key: UniqueKey, update_fields: list[Any]
) -> UpsertCommand:
    """One operation per document: an upsert on its key, or an insert when its key holds a
    NULL that conflicts with nothing."""
    updated = [document_key(field) for field in update_fields]
    operations: list[Any] = []
    for document in documents:
        if key.values(document) is None:
            operations.append(InsertOne(document))
            continue
        update: dict[str, Any] = {"$set": {name: document.get(name) for name in updated}}
        on_insert = {name: value for name, value in document.items() if name not in updated}
        if on_insert:
            update["$setOnInsert"] = on_insert
        operations.append(UpdateOne(key.clause(document), update, upsert=True))
    return UpsertCommand(collection, operations)


def stored_rows(
    connection: Any,
    collection: str,
    documents: list[Document],
    key: UniqueKey,
    result: Any,
    keys: list[str],
) -> list[tuple[Any, ...]]:
    """The ``keys`` of the document each of ``documents`` ended in: its own when it was
    inserted, the stored one's (read back in one ``aggregate``) when it updated one."""
    upserted = result.upserted_ids
    matched = {
        index
        for index, document in enumerate(documents)
        if index not in upserted and key.values(document) is not None
    }
    found: dict[Any, Document] = {}
    if matched:
        clauses = list({repr(c): c for c in (key.clause(documents[i]) for i in matched)}.values())
        projection = dict.fromkeys((*key.keys, *keys), 1)
        pipeline = [{"$match": {"$or": clauses}}, {"$project": projection}]
        cursor = connection.execute_command(MongoCommand(collection, "aggregate", pipeline))
        with connection.wrap_mongo_errors():
            for stored in cursor:
                for value in key.values(stored) or ():
                    found[value] = stored
    rows = []
    for index, document in enumerate(documents):
        if index not in matched:
            source = document
        else:
            source = next(found[value] for value in key.values(document) or () if value in found)
        rows.append(tuple(source.get(name) for name in keys))
    return rows
