"""How a SelectPlan reads rows (compiler/plans.py): ``row_reader()``'s fast runs of list
comprehensions must give what the per-column walk, ``read_row``, gives, for every document."""

from __future__ import annotations

import django
import pytest
from bson.son import SON
from django.db import connection
from django.db.models import Q

from django_mongo_backend.compiler.plans import SelectPlan, find_arguments
from django_mongo_backend.errors import MigrationError
from tests.testapp.models import Author, Book

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


# -- plain pipelines sent as find -----------------------------------------------------------


@pytest.mark.parametrize(
    ("pipeline", "arguments"),
    [
        ([], {"filter": {}}),
        ([{"$match": {"a": 1}}], {"filter": {"a": 1}}),
        (
            [
                {"$match": {"a": 1}},
                {"$sort": {"b": -1, "_id": 1}},
                {"$skip": 5},
                {"$limit": 10},
                {"$project": {"b": 1}},
            ],
            {"filter": {"a": 1}, "sort": {"b": -1, "_id": 1}, "skip": 5, "limit": 10}
            | {"projection": {"b": 1}},
        ),
        (
            [{"$limit": 3}, {"$project": {"a.b": 1}}],
            {"filter": {}, "limit": 3} | {"projection": {"a.b": 1}},
        ),
    ],
)
def test_find_arguments_of_a_plain_pipeline(pipeline, arguments):
    assert find_arguments(pipeline) == arguments


@pytest.mark.parametrize(
    "pipeline",
    [
        [{"$limit": 10}, {"$skip": 5}],  # find skips before it limits
        [{"$sort": {"a": 1}}, {"$match": {"a": 1}}],
        [{"$match": {"a": 1}}, {"$match": {"b": 1}}],
        [{"$addFields": {"c": 1}}],
        [{"$lookup": {"from": "x", "as": "y", "pipeline": []}}],
        [{"$sort": {"score": {"$meta": "textScore"}}}],
        [{"$limit": 0}],
        [{"$limit": 2.5}],
        [{"$skip": -1}],
        [{"$project": {"a": "$b"}}],
        [{"$project": {"a": 0}}],
        [{"$project": {"a": True}}],
        [{"$match": {"a": 1}, "$limit": 1}],
    ],
)
def test_other_pipelines_stay_aggregates(pipeline):
    assert find_arguments(pipeline) is None
    plan = SelectPlan("books", pipeline, [])
    assert plan.command().method == "aggregate"


def test_a_plain_plan_is_sent_as_find_with_its_batch_size():
    plan = SelectPlan("books", [{"$match": {"a": 1}}, {"$limit": 5}], [])
    command = plan.command(batchSize=2)
    assert str(command) == 'db.books.find({"a": 1}, limit=5, batch_size=2)'
    assert plan.command(fetch_all=True) == plan.command()  # how it runs, not what is sent
    assert SelectPlan(None, [], []).command().method == "aggregate"  # no collection


def _documents(queryset):
    """The documents ``queryset``'s pipeline gives, as aggregate and as the find it is sent
    as; the server may return an unordered read in any order."""
    plan = queryset.query.get_compiler(queryset.db).build_select()
    arguments = find_arguments(plan.pipeline)
    assert arguments is not None, plan.pipeline
    collection = connection.connection.database[plan.collection]
    session = connection._session()  # the test's transaction, which holds the rows
    aggregated = list(collection.aggregate(plan.pipeline, session=session))
    found = list(collection.find(**arguments, session=session))
    if "sort" not in arguments:
        aggregated.sort(key=lambda document: document["_id"])
        found.sort(key=lambda document: document["_id"])
    return aggregated, found


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        lambda: Book.objects.all(),
        lambda: Book.objects.filter(pages__gte=50),
        lambda: Book.objects.filter(Q(price__isnull=True) | Q(title__icontains="a")),
        lambda: Book.objects.order_by("-pages", "pk")[1:3],
        lambda: Book.objects.order_by("price", "pk"),  # nulls sort first, as $sort does
        lambda: Book.objects.only("title").order_by("title"),
        lambda: Book.objects.defer("price", "published").filter(pages__lt=200).order_by("pk")[:2],
        lambda: Author.objects.order_by("pk").values("name", "age")[1:],
        lambda: Book.objects.filter(published__isnull=False).values_list("published"),
    ],
)
def test_a_plain_read_finds_what_its_pipeline_aggregates(library, make):
    aggregated, found = _documents(make())
    assert found == aggregated
    assert found  # every read above matches something


@pytest.mark.django_db
def test_reading_leaves_no_reference_cycle(library):
    """As Django's select_related test_select_related_memory_leak: a read must free what it
    made by reference counting alone (a plan holding its reader held itself)."""
    import gc

    reads = [
        lambda: list(Book.objects.filter(pages__gte=10)),
        lambda: Book.objects.get(pk=library["books"][0].pk),
        lambda: list(Book.objects.order_by("pk").iterator(chunk_size=2)),
    ]
    if django.VERSION >= (6, 0):  # Django 5.2 makes a cycle of its own here (on SQLite too)
        reads.append(lambda: list(Book.objects.select_related("author")))
    for read in reads:
        read()  # shapes cached, lazy imports done
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for read in reads:
            read()
        gc.collect()
        assert gc.garbage == []
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
