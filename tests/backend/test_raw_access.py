"""MongoManager's raw access: mongo_aggregate(), mongo_find(), mql(), explain()."""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_mongo_backend.mongo_command import MongoCommand
from tests.backend.mongo_models import MongoAuthor, MongoBook
from tests.testapp.models import Author, Book


@pytest.fixture
def books(db):
    ann = Author.objects.create(name="Ann", age=30)
    bob = Author.objects.create(name="Bob")
    Book.objects.create(
        title="Alpha",
        author=ann,
        pages=100,
        price=Decimal("9.99"),
        published=datetime.date(2020, 5, 1),
    )
    Book.objects.create(title="Beta", author=ann, pages=50)
    Book.objects.create(title="Gamma", author=bob, pages=10)
    return {"ann": ann, "bob": bob}


def test_mongo_aggregate_returns_instances_with_extra_keys(books):
    pipeline = [
        {"$match": {"pages": {"$gte": 50}}},
        {"$addFields": {"double_pages": {"$multiply": ["$pages", 2]}}},
        {"$sort": {"pages": -1}},
    ]
    with CaptureQueriesContext(connection) as captured:
        found = MongoBook.objects.mongo_aggregate(pipeline)
    assert [type(book) for book in found] == [MongoBook, MongoBook]
    alpha, beta = found
    assert (alpha.title, alpha.double_pages, beta.double_pages) == ("Alpha", 200, 100)
    # _id is the primary key; stored values are converted as in any query.
    assert alpha.pk == Book.objects.get(title="Alpha").pk
    assert alpha.price == Decimal("9.99") and alpha.published == datetime.date(2020, 5, 1)
    assert alpha.author_id == books["ann"].pk and alpha.author.name == "Ann"
    assert not alpha._state.adding and alpha._state.db == "default"
    assert len(captured) == 1
    assert captured[0]["sql"].startswith('db.testapp_book.aggregate([{"$match"')


def test_mongo_aggregate_defers_the_fields_a_document_lacks(books):
    [alpha] = MongoBook.objects.mongo_aggregate(
        [{"$match": {"title": "Alpha"}}, {"$project": {"title": 1, "count": {"$literal": 7}}}]
    )
    assert alpha.count == 7
    assert alpha.get_deferred_fields() == {"author_id", "editor_id", "pages", "price", "published"}
    assert alpha.pages == 100  # loaded on access, as with only()


def test_mongo_find_with_filter_projection_and_options(books):
    found = MongoBook.objects.mongo_find({"pages": {"$lt": 100}}, {"title": 1}, sort=[("pages", 1)])
    assert [book.title for book in found] == ["Gamma", "Beta"]
    assert MongoBook.objects.mongo_find({"title": "$where"}) == []  # a value, not an operator
    # A raw find has no order (Meta.ordering is not applied, as with raw()).
    assert sorted(a.name for a in MongoAuthor.objects.mongo_find()) == ["Ann", "Bob"]


def test_raw_commands_run_in_the_current_transaction(books, monkeypatch):
    sessions = []
    run = MongoCommand.run

    def recording(self, database, session):
        sessions.append(session)
        return run(self, database, session)

    monkeypatch.setattr(MongoCommand, "run", recording)
    MongoBook.objects.mongo_aggregate([{"$match": {"title": "Alpha"}}])
    MongoBook.objects.mongo_find({"title": "Alpha"})
    assert len(sessions) == 2
    assert all(session is not None and session.in_transaction for session in sessions)


def test_raw_access_refuses_a_filtered_queryset(books):
    with pytest.raises(TypeError, match="whole collection"):
        MongoBook.objects.filter(pages=1).mongo_aggregate([])
    with pytest.raises(TypeError, match="whole collection"):
        MongoBook.objects.all()[:2].mongo_find({})


def test_mql_is_the_compiled_command(books):
    command = MongoBook.objects.filter(pages__gte=50).order_by("title").mql()
    assert command["aggregate"] == "testapp_book"
    assert command["pipeline"][0] == {"$match": {"pages": {"$gte": 50}}}
    assert {"$sort": {"title": 1}} in command["pipeline"]
    assert MongoBook.objects.filter(pk__in=[]).mql() is None  # nothing is sent


def _winning_plans(explained):
    """The winning plans of an explain result: MongoDB's ``queryPlanner`` at the top, or in
    the ``$cursor`` of an aggregate's first stage (manual, "Explain Results")."""
    if "queryPlanner" in explained:
        return [explained["queryPlanner"]["winningPlan"]]
    return [stage["$cursor"]["queryPlanner"]["winningPlan"] for stage in explained["stages"][:1]]


def test_explain_is_mongodbs_explain_output(books):
    output = json.loads(MongoBook.objects.filter(title="Alpha").explain())
    assert output["explainVersion"] == "1"
    (plan,) = _winning_plans(output)
    assert isinstance(plan["stage"], str)
    assert "executionStats" not in json.dumps(output)  # verbosity queryPlanner by default
    with CaptureQueriesContext(connection) as captured:
        MongoBook.objects.filter(title="Alpha").explain()
    assert captured[0]["sql"].startswith(connection.ops.explain_prefix)


def test_explain_takes_json_format_and_mongodb_verbosity(books):
    queryset = MongoBook.objects.filter(title="Alpha")
    assert json.loads(queryset.explain(format="json"))
    executed = json.loads(queryset.explain(verbosity="executionStats"))
    assert "executionStats" in json.dumps(executed)
    with pytest.raises(ValueError, match="XML is not a recognized format"):
        queryset.explain(format="xml")
    with pytest.raises(ValueError, match="Unknown options: analyze"):
        queryset.explain(analyze=True)
    with pytest.raises(ValueError, match="verbosity must be one of"):
        queryset.explain(verbosity="loud")
    assert MongoBook.objects.none().explain() == "<empty result: no command is sent>"


def test_bulk_create_on_a_proxy_model_gets_integer_ids(db):
    created = MongoAuthor.objects.bulk_create([MongoAuthor(name="P1"), MongoAuthor(name="P2")])
    assert all(isinstance(obj.pk, int) for obj in created)
    assert created[1].pk == created[0].pk + 1


def test_async_raw_access_runs_natively(committed, native):
    ann = Author.objects.create(name="Ann", age=30)
    Book.objects.create(title="Alpha", author=ann, pages=100)

    async def go():
        aggregated = await MongoBook.objects.amongo_aggregate(
            [{"$addFields": {"half": {"$divide": ["$pages", 2]}}}]
        )
        found = await MongoBook.objects.amongo_find({"title": "Alpha"}, {"title": 1})
        return aggregated, found, threading.get_ident()

    aggregated, found, thread = asyncio.run(go())
    assert [(book.title, book.half) for book in aggregated] == [("Alpha", 50)]
    assert [book.title for book in found] == ["Alpha"]
    assert native.names == ["aggregate", "find"]
    assert {t for _name, t in native.events} == {thread}
