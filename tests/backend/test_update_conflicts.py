"""bulk_create(update_conflicts=True): one upsert per document on its unique fields
(django_mongo_backend/compiler/update_conflicts.py), rows compared with SQLite's
``INSERT ... ON CONFLICT (unique_fields) DO UPDATE SET f = excluded.f`` for the same calls.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.backend.sqlite_tables import sqlite_tables
from tests.testapp.models import Author, Book, Chapter, Natural, Tag

BOTH = ["default", "sqlite"]
pytestmark = pytest.mark.django_db(transaction=True, databases=BOTH)


@pytest.fixture(autouse=True)
def tables():
    with sqlite_tables([Tag, Author, Book, Chapter, Natural]):
        yield


def on_both(scenario):
    """``scenario(alias)`` run against this backend and SQLite; both results."""
    return [scenario(alias) for alias in BOTH]


def test_stored_keys_are_updated_and_the_others_inserted():
    def scenario(alias):
        author = Author.objects.using(alias).create(name="A")
        book = Book.objects.using(alias).create(title="B", author=author)
        chapters = Chapter.objects.using(alias)
        chapters.bulk_create([Chapter(book=book, number=1, title="one")])
        chapters.bulk_create(
            [
                Chapter(book=book, number=1, title="first"),
                Chapter(book=book, number=2, title="second"),
            ],
            update_conflicts=True,
            unique_fields=["book", "number"],
            update_fields=["title"],
        )
        return sorted(chapters.values_list("number", "title")), chapters.count()

    ours, sqlite = on_both(scenario)
    assert ours == sqlite == ([(1, "first"), (2, "second")], 2)


def test_every_object_gets_the_primary_key_of_the_document_it_ended_in():
    for alias in BOTH:
        author = Author.objects.using(alias).create(name="A")
        book = Book.objects.using(alias).create(title="B", author=author)
        stored = Chapter.objects.using(alias).create(book=book, number=1, title="one")
        objs = [
            Chapter(book=book, number=1, title="first"),
            Chapter(book=book, number=2, title="second"),
        ]
        Chapter.objects.using(alias).bulk_create(
            objs,
            update_conflicts=True,
            unique_fields=["book", "number"],
            update_fields=["title"],
        )
        assert objs[0].pk == stored.pk, alias
        assert objs[1].pk is not None and objs[1].pk != stored.pk, alias
        assert Chapter.objects.using(alias).get(pk=objs[1].pk).title == "second"


def test_a_key_repeated_in_the_call_updates_the_document_inserted_just_before():
    """SQLite applies the rows in order, so the second proposal for one key updates the row
    the first inserted; the ordered bulkWrite does the same."""

    def scenario(alias):
        Tag.objects.using(alias).bulk_create(
            [Tag(name="x"), Tag(name="x")],
            update_conflicts=True,
            unique_fields=["name"],
            update_fields=["name"],
        )
        return sorted(Tag.objects.using(alias).values_list("name", flat=True))

    ours, sqlite = on_both(scenario)
    assert ours == sqlite == ["x"]


def test_the_primary_key_as_target():
    def scenario(alias):
        naturals = Natural.objects.using(alias)
        naturals.create(code="k1", label="first")
        naturals.bulk_create(
            [Natural(code="k1", label="second"), Natural(code="k2", label="other")],
            update_conflicts=True,
            unique_fields=["pk"],
            update_fields=["label"],
        )
        return sorted(naturals.values_list("code", "label"))

    ours, sqlite = on_both(scenario)
    assert ours == sqlite == [("k1", "second"), ("k2", "other")]


def test_a_conflict_on_another_unique_index_is_an_integrity_error():
    """The target is (book, number); the primary key collides: SQL raises, so does MongoDB's
    duplicate key on _id."""
    for alias in BOTH:
        author = Author.objects.using(alias).create(name="A")
        book = Book.objects.using(alias).create(title="B", author=author)
        stored = Chapter.objects.using(alias).create(book=book, number=1, title="one")
        with pytest.raises(IntegrityError):
            Chapter.objects.using(alias).bulk_create(
                [Chapter(pk=stored.pk, book=book, number=7, title="x")],
                update_conflicts=True,
                unique_fields=["book", "number"],
                update_fields=["title"],
            )


def test_fields_no_unique_index_holds_are_refused_naming_them():
    """SQLite: "ON CONFLICT clause does not match any PRIMARY KEY or UNIQUE constraint";
    PostgreSQL: "there is no unique or exclusion constraint matching the ON CONFLICT
    specification"."""
    with pytest.raises(ProgrammingError, match=r"testapp.Chapter.*\(title\)"):
        Chapter.objects.bulk_create(
            [Chapter(book_id=1, number=1, title="x")],
            update_conflicts=True,
            unique_fields=["title"],
            update_fields=["number"],
        )


def test_in_a_transaction_the_conflicts_abort_nothing():
    """A duplicate key would abort MongoDB's transaction; upserts on the key meet none."""
    Tag.objects.create(name="a")
    with transaction.atomic():
        Tag.objects.bulk_create(
            [Tag(name="a"), Tag(name="b")],
            update_conflicts=True,
            unique_fields=["name"],
            update_fields=["name"],
        )
        Tag.objects.create(name="c")
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["a", "b", "c"]


def commands(captured):
    """The MongoDB commands captured (Django 5.2 also records its transaction's BEGIN)."""
    return [query["sql"] for query in captured.captured_queries if query["sql"].startswith("db.")]


def test_commands_one_write_and_one_read_only_for_updated_documents():
    Tag.objects.create(name="a")
    with CaptureQueriesContext(connection) as inserted_only:
        Tag.objects.bulk_create(
            [Tag(name="b"), Tag(name="c")],
            update_conflicts=True,
            unique_fields=["name"],
            update_fields=["name"],
        )
    # The id reservation, then the bulkWrite: no read, every document was inserted.
    sent = commands(inserted_only)
    assert len(sent) == 2
    assert sent[-1].startswith("db.testapp_tag.bulkWrite(")
    with CaptureQueriesContext(connection) as updated:
        Tag.objects.bulk_create(
            [Tag(name="a"), Tag(name="d")],
            update_conflicts=True,
            unique_fields=["name"],
            update_fields=["name"],
        )
    sent = commands(updated)
    assert len(sent) == 3  # ids, bulkWrite, the updated one's id read back
    assert sent[-1].startswith("db.testapp_tag.aggregate(")


def test_a_key_value_that_looks_like_an_operator_stays_data():
    Tag.objects.create(name='{"$gt": ""}')
    Tag.objects.bulk_create(
        [Tag(name='{"$gt": ""}'), Tag(name="$ne")],
        update_conflicts=True,
        unique_fields=["name"],
        update_fields=["name"],
    )
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["$ne", '{"$gt": ""}']


def test_a_model_with_a_stored_generated_field_is_refused_naming_it():
    """An updated document's stored GeneratedField would need its other stored fields, which
    the values proposed for insertion do not hold: refused rather than left stale."""
    from django.db import NotSupportedError

    from tests.testapp.models import Line

    with pytest.raises(NotSupportedError, match=r"testapp.Line.*GeneratedField 'total'"):
        Line.objects.bulk_create(
            [Line(pk=1, product="p", price=1, quantity=2)],
            update_conflicts=True,
            unique_fields=["pk"],
            update_fields=["quantity"],
        )
