"""How a SelectPlan reads rows (compiler/plans.py): ``row_reader()``'s fast runs of list
comprehensions must give what the per-column walk, ``read_row``, gives, for every document."""

from __future__ import annotations

import pytest
from bson.son import SON

from django_mongo_backend.compiler.plans import SelectPlan
from django_mongo_backend.errors import MigrationError

#: A select_related read: the book's columns, then its author's (a joined document).
JOINED = [
    (("_id",), "id"),
    (("title",), "title"),
    (("author_id",), "author_id"),
    (("author", "_id"), None),
    (("author", "name"), None),
]
#: The same without ENFORCE_SCHEMA (no column is required).
JOINED_LAX = [(path, None) for path, _required in JOINED]
#: Columns of two joined documents, one read before the base's last column.
INTERLEAVED = [
    (("_id",), None),
    (("a", "x"), None),
    (("title",), None),
    (("b", "c", "y"), None),
    (("b", "c", "z"), None),
]

AUTHOR = {"_id": 7, "name": "Ann"}
DOCUMENTS = [
    {"_id": 1, "title": "T", "author_id": 7, "author": AUTHOR},
    {"_id": 1, "title": None, "author_id": None, "author": {"_id": None, "name": None}},
    {"_id": 1, "title": "T", "author_id": 7},  # an outer join that found nothing
    {"_id": 1, "title": "T", "author_id": 7, "author": None},
    {"_id": 1, "title": "T", "author_id": 7, "author": [AUTHOR]},
    {"_id": 1, "title": "T", "author_id": 7, "author": "text"},
    {"_id": 1, "title": "T", "author_id": 7, "author": {"_id": 7}},  # a joined column missing
    {"_id": 1, "author_id": 7, "author": AUTHOR},  # a base column missing
    SON([("_id", 1), ("title", "T"), ("author_id", 7), ("author", SON(AUTHOR))]),
    {"_id": 1, "a": {"x": 2}, "title": "T", "b": {"c": {"y": 3, "z": None}}},
    {"_id": 1, "a": {"x": 2}, "title": "T", "b": {"c": {"y": 3}}},
    {"_id": 1, "a": {}, "title": "T", "b": {"c": None}},
]


def outcome(read, document):
    try:
        return read(document)
    except MigrationError as error:
        return ("MigrationError", str(error))


@pytest.mark.parametrize("readers", [JOINED, JOINED_LAX, INTERLEAVED])
@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_fast_reader_reads_what_read_row_reads(readers, document):
    plan = SelectPlan("books", [], readers, enforce_collection="books")
    assert outcome(plan.row_reader(), document) == outcome(plan.read_row, document)


def test_a_missing_required_column_is_a_migration_error_on_the_fast_path_too():
    plan = SelectPlan("books", [], JOINED, enforce_collection="books")
    with pytest.raises(MigrationError):
        plan.row_reader()({"_id": 1, "author_id": 7, "author": AUTHOR})


def test_the_reader_is_made_once():
    plan = SelectPlan("books", [], JOINED)
    assert plan.row_reader() is plan.row_reader()
