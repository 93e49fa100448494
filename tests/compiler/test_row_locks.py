"""select_for_update(): the rows read are claimed by a write, so other transactions conflict.

MongoDB's rule the claims rest on (manual, "Transactions and Operations" / "In-progress
Transactions and Write Conflicts"): a transaction that writes a document another transaction
has written and not yet committed fails with WriteConflict (112), and a write outside
transactions waits for that transaction to end. compiler/row_locks.py and
docs/transactions.rst say how nowait, skip_locked, of and waiting map onto it.
"""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import FieldError
from django.db import NotSupportedError, OperationalError, connection, connections, transaction
from django.db.models import Count
from django.db.transaction import TransactionManagementError
from pymongo.errors import OperationFailure

from tests.testapp.models import Author, Book

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def other():
    """A raw pymongo client of the same database: another application's transaction."""
    wrapper = connections["default"].copy("probe")
    wrapper.ensure_connection()
    try:
        yield wrapper.connection.database
    finally:
        wrapper.close()


@pytest.fixture
def rows():
    hergé = Author.objects.create(name="Hergé", age=1)
    books = [Book.objects.create(title=f"b{i}", author=hergé, pages=i) for i in range(3)]
    return hergé, books


def holding(database, collection, document_id, update=None):
    """Start another transaction that has written the document (and so holds it)."""
    session = database.client.start_session()
    session.start_transaction()
    update = update or {"$inc": {"pages": 100}}
    database[collection].update_one({"_id": document_id}, update, session=session)
    return session


def test_outside_a_transaction_it_is_refused_as_django_refuses_it(rows):
    with pytest.raises(TransactionManagementError, match="outside of a transaction"):
        list(Book.objects.select_for_update())


def test_the_claimed_documents_conflict_with_another_transaction(rows, other):
    _, books = rows
    with transaction.atomic():
        locked = list(Book.objects.select_for_update().filter(pages__lt=2).order_by("pages"))
        assert [book.title for book in locked] == ["b0", "b1"]
        session = other.client.start_session()
        session.start_transaction()
        with pytest.raises(OperationFailure) as conflict:
            other["testapp_book"].update_one(
                {"_id": books[0].pk}, {"$set": {"title": "x"}}, session=session
            )
        assert conflict.value.code == 112
        session.end_session()
        # an unclaimed document is free
        other["testapp_book"].update_one({"_id": books[2].pk}, {"$set": {"title": "free"}})
    # the claim left the documents as they were
    stored = other["testapp_book"].find_one({"_id": books[0].pk})
    assert "__row_lock" not in stored and stored["title"] == "b0"


def test_nowait_raises_at_once_when_another_transaction_holds_a_row(rows, other):
    _, books = rows
    session = holding(other, "testapp_book", books[1].pk)
    try:
        with transaction.atomic():
            with pytest.raises(OperationalError, match="could not lock"), transaction.atomic():
                list(Book.objects.select_for_update(nowait=True))
            # the inner block's rollback resumed the transaction: it goes on
            assert Book.objects.count() == 3
    finally:
        session.abort_transaction()
        session.end_session()


def test_skip_locked_leaves_out_held_rows_and_a_slice_reads_on(rows, other):
    _, books = rows
    session = holding(other, "testapp_book", books[0].pk)
    try:
        with transaction.atomic():
            titles = [
                b.title for b in Book.objects.select_for_update(skip_locked=True).order_by("pages")
            ]
            assert titles == ["b1", "b2"]
        with transaction.atomic():
            first = Book.objects.select_for_update(skip_locked=True).order_by("pages")[:1]
            assert [b.title for b in first] == ["b1"]
    finally:
        session.abort_transaction()
        session.end_session()


def test_skip_locked_values_without_the_key_skips_only_the_held_row(other):
    # PostgreSQL locks and skips row by row whatever the projection: SELECT name FROM author
    # FOR UPDATE SKIP LOCKED returns every name but the locked row's. Each row is tied to its
    # document's _id here although values() does not return it.
    held, *free = [Author.objects.create(name=name, age=1) for name in ("Ann", "Bob", "Cy")]
    session = holding(other, "testapp_author", held.pk, {"$set": {"age": 2}})
    try:
        with transaction.atomic():
            names = Author.objects.select_for_update(skip_locked=True).values("name")
            assert sorted(row["name"] for row in names) == ["Bob", "Cy"]
            # the rows returned were claimed: another transaction cannot write them now
            probe = other.client.start_session()
            probe.start_transaction()
            with pytest.raises(OperationFailure) as conflict:
                other["testapp_author"].update_one(
                    {"_id": free[0].pk}, {"$set": {"age": 3}}, session=probe
                )
            assert conflict.value.code == 112
            probe.end_session()
    finally:
        session.abort_transaction()
        session.end_session()


def test_skip_locked_values_list_keeps_rows_of_equal_values_apart(other):
    # Two documents with the same title are two rows: the free one, read first, is claimed
    # and returned; the held one after it, though it shows the same value, is left out.
    hergé = Author.objects.create(name="Hergé", age=1)
    same = [Book.objects.create(title="same", author=hergé, pages=i) for i in range(2)]
    Book.objects.create(title="other", author=hergé, pages=2)
    session = holding(other, "testapp_book", same[1].pk)
    try:
        with transaction.atomic():
            locked = Book.objects.select_for_update(skip_locked=True).order_by("pages")
            assert list(locked.values_list("title", flat=True)) == ["same", "other"]
        with transaction.atomic():
            # a slice reads on past the held row
            assert list(locked.values_list("pages", flat=True)[:2]) == [0, 2]
    finally:
        session.abort_transaction()
        session.end_session()


def test_skip_locked_of_a_related_model_skips_the_rows_it_holds(other):
    # FOR UPDATE OF author SKIP LOCKED: a book row is left out when its author is held, and
    # the books themselves are not claimed.
    held, free = (Author.objects.create(name=name, age=1) for name in ("held", "free"))
    for author in (held, free):
        Book.objects.create(title=f"by {author.name}", author=author)
    session = holding(other, "testapp_author", held.pk, {"$set": {"age": 2}})
    try:
        with transaction.atomic():
            books = Book.objects.select_related("author").select_for_update(
                skip_locked=True, of=("author",)
            )
            assert [book.title for book in books] == ["by free"]
            # the book of the held author was not claimed: another transaction can write it
            probe = other.client.start_session()
            probe.start_transaction()
            written = other["testapp_book"].update_one(
                {"title": "by held"}, {"$set": {"pages": 9}}, session=probe
            )
            assert written.modified_count == 1
            probe.abort_transaction()
            probe.end_session()
    finally:
        session.abort_transaction()
        session.end_session()


def test_values_of_a_related_model_without_its_key_are_refused_unless_of_leaves_it_out(rows):
    # author__name makes the author a model whose columns the query returns, so its documents
    # are to be claimed, but no row says which author it is.
    with (
        transaction.atomic(),
        pytest.raises(NotSupportedError, match="primary key of testapp_author"),
    ):
        list(Book.objects.select_for_update().values("title", "author__name"))
    with transaction.atomic():
        locked = Book.objects.select_for_update(of=("self",)).values_list("author__name")
        assert list(locked) == [("Hergé",)] * 3


def test_waiting_gives_up_after_lock_timeout(rows, other, settings):
    _, books = rows
    connection.settings_dict["LOCK_TIMEOUT"] = 0.3
    session = holding(other, "testapp_book", books[0].pk)
    try:
        with pytest.raises(OperationalError, match="LOCK_TIMEOUT"), transaction.atomic():
            list(Book.objects.select_for_update())
    finally:
        del connection.settings_dict["LOCK_TIMEOUT"]
        session.abort_transaction()
        session.end_session()


def test_waiting_gets_the_rows_once_the_other_transaction_commits(rows, other):
    _, books = rows
    session = holding(other, "testapp_book", books[0].pk)
    threading.Timer(0.3, session.commit_transaction).start()
    try:
        with transaction.atomic():
            Author.objects.create(name="written before the wait")
            book = Book.objects.select_for_update().get(pk=books[0].pk)
            # read after the other transaction committed: its write is seen
            assert book.pages == 100
            book.pages += 1
            book.save()
    finally:
        session.end_session()
    assert Book.objects.get(pk=books[0].pk).pages == 101
    assert Author.objects.filter(name="written before the wait").exists()


def test_of_self_claims_only_the_queried_model(rows, other):
    hergé, books = rows
    with transaction.atomic():
        list(Book.objects.select_related("author").select_for_update(of=("self",)))
        session = other.client.start_session()
        session.start_transaction()
        # the author was read through select_related but not claimed: the write goes through
        written = other["testapp_author"].update_one(
            {"_id": hergé.pk}, {"$set": {"age": 2}}, session=session
        )
        assert written.modified_count == 1
        # the books were claimed: writing one conflicts
        with pytest.raises(OperationFailure) as conflict:
            other["testapp_book"].update_one(
                {"_id": books[0].pk}, {"$set": {"pages": 7}}, session=session
            )
        assert conflict.value.code == 112
        session.end_session()


def test_select_related_rows_are_claimed_by_default(rows, other):
    hergé, _ = rows
    with transaction.atomic():
        list(Book.objects.select_related("author").select_for_update())
        session = other.client.start_session()
        session.start_transaction()
        with pytest.raises(OperationFailure) as conflict:
            other["testapp_author"].update_one(
                {"_id": hergé.pk}, {"$set": {"age": 2}}, session=session
            )
        assert conflict.value.code == 112
        session.end_session()


def test_invalid_of_names_raise_djangos_field_error(rows):
    with transaction.atomic(), pytest.raises(FieldError, match="Invalid field name"):
        list(Book.objects.select_for_update(of=("publisher",)))


def test_values_without_the_primary_key_still_claims_the_rows(rows, other):
    _, books = rows
    with transaction.atomic():
        assert sorted(Book.objects.select_for_update().values_list("title", flat=True)) == [
            "b0",
            "b1",
            "b2",
        ]
        session = other.client.start_session()
        session.start_transaction()
        with pytest.raises(OperationFailure):
            other["testapp_book"].update_one(
                {"_id": books[2].pk}, {"$set": {"title": "x"}}, session=session
            )
        session.end_session()


def test_grouped_queries_are_refused(rows):
    with transaction.atomic(), pytest.raises(NotSupportedError, match="GROUP BY"):
        list(Book.objects.values("author").annotate(n=Count("id")).select_for_update())


def test_no_key_is_refused_as_django_refuses_unsupported_variants(rows):
    with transaction.atomic(), pytest.raises(NotSupportedError, match="NO KEY"):
        list(Book.objects.select_for_update(no_key=True))


def test_a_write_waits_for_a_document_another_transaction_holds(rows, other):
    # MongoDB answers WriteConflict (112) and aborts our transaction; the backend resumes it
    # and tries the write again, as PostgreSQL would wait on the row lock.
    _, books = rows
    session = holding(other, "testapp_book", books[0].pk)
    threading.Timer(0.3, session.commit_transaction).start()
    try:
        with transaction.atomic():
            Author.objects.create(name="before")
            Book.objects.filter(pk=books[0].pk).update(title="mine")
    finally:
        session.end_session()
    stored = Book.objects.get(pk=books[0].pk)
    assert (stored.title, stored.pages) == ("mine", 100)  # both writes, in that order
    assert Author.objects.filter(name="before").exists()


def test_a_write_gives_up_after_lock_timeout(rows, other):
    _, books = rows
    connection.settings_dict["LOCK_TIMEOUT"] = 0.3
    session = holding(other, "testapp_book", books[0].pk)
    try:
        with pytest.raises(OperationalError, match="LOCK_TIMEOUT"), transaction.atomic():
            Book.objects.filter(pk=books[0].pk).update(title="mine")
    finally:
        del connection.settings_dict["LOCK_TIMEOUT"]
        session.abort_transaction()
        session.end_session()
    assert Book.objects.get(pk=books[0].pk).title == "b0"
