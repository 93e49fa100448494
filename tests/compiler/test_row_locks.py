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


def holding(database, collection, document_id):
    """Start another transaction that has written the document (and so holds it)."""
    session = database.client.start_session()
    session.start_transaction()
    database[collection].update_one({"_id": document_id}, {"$inc": {"pages": 100}}, session=session)
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
