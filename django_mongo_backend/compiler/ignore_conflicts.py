"""``bulk_create(ignore_conflicts=True)``: leave out the documents a unique index would refuse.

SQL's ``ON CONFLICT DO NOTHING`` (PostgreSQL; SQLite's ``INSERT OR IGNORE``) skips the rows
that collide with a stored row, or with an earlier row of the same statement, on a unique
constraint. MongoDB has no such insert: a duplicate key fails the write, and inside a
transaction (``bulk_create`` runs in ``atomic()``) the server then aborts the whole
transaction; ``insertMany`` with ``ordered: false`` goes on past duplicates only outside one.
So the documents are filtered first, in the same transaction (one ``aggregate`` reading the
stored documents that share a key with any of them):

- the keys are those of the unique indexes the schema editor builds for the model: the
  primary key when the objects carry one, ``unique`` fields, ``unique_together`` and
  ``UniqueConstraint(fields=...)``; a key holding NULL in a nullable field takes no part, as
  those indexes leave such documents out (NULLs are distinct, as in SQL) unless
  ``nulls_distinct=False``;
- keys are compared as the index compares them: numbers by value whatever their BSON type,
  datetimes to the millisecond BSON keeps, an array by each of its elements (a multikey
  index);
- a document is left out when one of its keys is stored already, or belongs to a document
  kept earlier in the same call, as PostgreSQL does row by row.

A ``UniqueConstraint`` with a ``condition`` is a partial index whose filter this module does not
evaluate: such a model is refused (``NotSupportedError`` naming the constraint) rather than
risk leaving out a document the index would have taken. A key another transaction commits
between the read and the insert is not skipped: the insert then fails with IntegrityError
(PostgreSQL would wait for that transaction and skip the row). Any unique index the model does
not declare (made by hand) is not checked either, and a collision with it raises
IntegrityError as a plain ``bulk_create`` does: a document is never left out unless it
collides.
"""

from __future__ import annotations

import datetime
import decimal
import itertools
import uuid
from typing import Any

from bson import Binary, Decimal128, Int64, ObjectId
from django.db import NotSupportedError
from django.db.models import F, UniqueConstraint
from django.db.models.constants import LOOKUP_SEP

from ..mongo_command import MongoCommand
from ..operations import document_key
from .mql_types import Document

#: Keys looked up per ``aggregate``: one command for any usual batch, and a bounded command
#: (MongoDB takes 16 MB at most) for a large one.
CLAUSES_PER_READ = 5000
_EPOCH = datetime.datetime(1970, 1, 1)
_MILLISECOND = datetime.timedelta(milliseconds=1)


class UniqueKey:
    """One unique index of the model: its document keys, and which of them leave a NULL out."""

    __slots__ = ("keys", "nullable")

    def __init__(self, fields, nulls_distinct=None):
        self.keys = tuple(document_key(field) for field in fields)
        distinct = nulls_distinct is not False
        self.nullable = frozenset(
            document_key(field) for field in fields if field.null and distinct
        )

    def values(self, document: Document) -> list[tuple[Any, ...]] | None:
        """The index keys of ``document`` (several for an array), or None when a NULL in a
        nullable field leaves it out of the index."""
        options = []
        for key in self.keys:
            value = document.get(key)
            if value is None and key in self.nullable:
                return None
            if isinstance(value, list):
                options.append([_normal(item) for item in value] or [("empty array",)])
            else:
                options.append([_normal(value)])
        return list(itertools.product(*options))

    def clause(self, document: Document) -> dict[str, Any]:
        """A filter matching the stored documents sharing a key with ``document``."""
        clause = {}
        for key in self.keys:
            value = document.get(key)
            # $eq / $in keep a stored value data: a document such as {"$gt": ""} held in a
            # unique JSONField would otherwise be read as an operator.
            clause[key] = {"$in": value} if isinstance(value, list) and value else {"$eq": value}
        return clause


def unique_keys(model: Any, pk_given: bool, *, skip_partial: bool = False) -> list[UniqueKey]:
    """The unique indexes of ``model``'s collection, as the schema editor creates them.

    A conditional ``UniqueConstraint`` (a partial index) is refused, or left out with
    ``skip_partial`` (an upsert's target cannot be one, as PostgreSQL's ON CONFLICT cannot
    name one without its predicate)."""
    opts = model._meta
    keys = []
    if pk_given:
        # A composite key is unique as its top-level columns are together (its _id is their
        # copy, composite_keys.py): upserts and reads match those, as unique_fields names them.
        keys.append(UniqueKey(list(opts.pk_fields)))
    for field in opts.local_concrete_fields:
        if field.unique and not field.primary_key:
            keys.append(UniqueKey([field]))
    for names in opts.unique_together:
        keys.append(UniqueKey([opts.get_field(name) for name in names]))
    for constraint in opts.constraints:
        if not isinstance(constraint, UniqueConstraint):
            continue
        if constraint.condition is not None:
            if skip_partial:
                continue
            raise NotSupportedError(
                f"bulk_create(ignore_conflicts=True) on {opts.label}: its UniqueConstraint "
                f"{constraint.name!r} has a condition (a partial index), which the documents "
                "are not checked against on MongoDB."
            )
        names = list(constraint.fields)
        names += [
            expression.name
            for expression in constraint.expressions
            if isinstance(expression, F) and LOOKUP_SEP not in expression.name
        ]
        fields = [opts.get_field(name) for name in names]
        keys.append(UniqueKey(fields, constraint.nulls_distinct))
    return keys


def without_conflicts(
    connection: Any, collection: str, documents: list[Document], keys: list[UniqueKey]
) -> list[Document]:
    """``documents`` less those colliding with a stored one or an earlier one kept."""
    if not keys or not documents:
        return documents
    clauses: dict[str, dict[str, Any]] = {}
    for document in documents:
        for key in keys:
            if key.values(document) is not None:
                clause = key.clause(document)
                clauses.setdefault(repr(clause), clause)
    taken: list[set[tuple[Any, ...]]] = [set() for _ in keys]
    fields = {name: 1 for key in keys for name in key.keys}
    clause_list = list(clauses.values())
    for start in range(0, len(clause_list), CLAUSES_PER_READ):
        match = {"$or": clause_list[start : start + CLAUSES_PER_READ]}
        pipeline = [{"$match": match}, {"$project": fields}]
        cursor = connection.execute_command(MongoCommand(collection, "aggregate", pipeline))
        with connection.wrap_mongo_errors():
            stored = list(cursor)
        for document in stored:
            for index, key in enumerate(keys):
                taken[index].update(key.values(document) or ())
    kept = []
    for document in documents:
        values = [key.values(document) for key in keys]
        if any(
            value in taken[index]
            for index, key_values in enumerate(values)
            for value in key_values or ()
        ):
            continue
        kept.append(document)
        for index, key_values in enumerate(values):
            taken[index].update(key_values or ())
    return kept


def _normal(value: Any) -> Any:
    """A hashable form of a stored value, equal for values a unique index holds equal."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float | Int64):
        if value != value:  # NaN: one key for every NaN
            return ("number", "nan")
        if value in (float("inf"), float("-inf")):
            return ("number", str(value))
        return ("number", decimal.Decimal(value))  # exact: 0.1 (double) is not 0.1 (decimal)
    if isinstance(value, Decimal128 | decimal.Decimal):
        number = value.to_decimal() if isinstance(value, Decimal128) else value
        if number.is_nan():
            return ("number", "nan")
        if number.is_infinite():
            return ("number", "inf" if number > 0 else "-inf")
        return ("number", number)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return ("date", (value - _EPOCH) // _MILLISECOND)
    if isinstance(value, uuid.UUID):
        return ("binary", 4, value.bytes)
    if isinstance(value, Binary):
        return ("binary", value.subtype, bytes(value))
    if isinstance(value, bytes):
        return ("binary", 0, value)
    if isinstance(value, ObjectId):
        return ("objectid", value.binary)
    if isinstance(value, dict):
        return ("document", tuple((key, _normal(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return ("array", tuple(_normal(item) for item in value))
    return (type(value).__name__, value)
