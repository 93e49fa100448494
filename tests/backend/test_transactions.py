"""transaction.atomic() on MongoDB session transactions, with Django's savepoint semantics.

MongoDB has no savepoints and aborts a transaction on any failed statement (the drivers'
transactions specification tests answer the statement after a duplicate key with
NoSuchTransaction, 251). Savepoints are positions in the connection's log of the transaction's
writes, replayed into a new server transaction on rollback (docs/transactions.rst). Each rule of
that page has a test here; they run against a real replica set too (MONGODB_URI).
"""

from __future__ import annotations

import contextlib

import pytest
from django.db import (
    DataError,
    IntegrityError,
    InternalError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from django_mongo_backend import sequences
from django_mongo_backend.mongo_command import MongoCommand
from tests.testapp.models import AllTypes, Author, Book, Chapter, Tag

pytestmark = pytest.mark.django_db(transaction=True)


class Rollback(Exception):
    """Raised by a test to leave ``atomic()`` with an error: a class of its own, so an error
    of the code under test (a ValueError...) is not mistaken for the expected rollback."""


def names():
    return sorted(Tag.objects.values_list("name", flat=True))


@pytest.fixture
def other():
    """A second connection, as another client of the same database."""
    wrapper = connections["default"].copy("probe")
    try:
        yield wrapper
    finally:
        wrapper.close()


def raw(wrapper, collection):
    wrapper.ensure_connection()
    return wrapper.connection.database[collection]


def test_server_reports_transaction_and_savepoint_support():
    assert connection.features.supports_transactions is True
    assert connection.features.uses_savepoints is True
    assert connection.features.can_release_savepoints is True


def test_atomic_commits():
    with transaction.atomic():
        Tag.objects.create(name="kept")
    assert Tag.objects.filter(name="kept").exists()


def test_atomic_rolls_back_on_error():
    with pytest.raises(Rollback), transaction.atomic():
        Tag.objects.create(name="gone")
        assert Tag.objects.filter(name="gone").exists()  # visible inside
        raise Rollback
    assert not Tag.objects.filter(name="gone").exists()


def test_writes_are_invisible_to_other_connections_until_commit(other):
    with transaction.atomic():
        Tag.objects.create(name="pending")
        assert raw(other, "testapp_tag").count_documents({"name": "pending"}) == 0
    assert raw(other, "testapp_tag").count_documents({"name": "pending"}) == 1


def test_an_exception_leaving_an_inner_block_undoes_exactly_its_writes():
    author = Author.objects.create(name="Hergé", age=75)
    doomed = Tag.objects.create(name="doomed")
    with transaction.atomic():
        Tag.objects.create(name="outer")
        Author.objects.filter(pk=author.pk).update(age=76)
        with pytest.raises(Rollback), transaction.atomic():
            Tag.objects.create(name="inner")
            Author.objects.filter(pk=author.pk).update(name="Georges Remi")
            doomed.delete()
            raise Rollback
        Tag.objects.create(name="after")
    assert names() == ["after", "doomed", "outer"]
    author.refresh_from_db()
    assert (author.name, author.age) == ("Hergé", 76)


def test_a_duplicate_key_in_an_inner_block_can_be_caught_and_the_transaction_goes_on():
    # The example, outside a TestCase: the server aborted its transaction at the
    # duplicate key; leaving the inner block replays the outer block's writes in a new one.
    Tag.objects.create(name="a")
    author = Author.objects.create(name="Tintin")
    with transaction.atomic():
        Tag.objects.create(name="written first")
        Author.objects.filter(pk=author.pk).update(age=17)
        Book.objects.create(title="Le Lotus bleu", author=author)
        with pytest.raises(IntegrityError), transaction.atomic():
            Tag.objects.create(name="a")
        assert Tag.objects.count() == 2
        Tag.objects.create(name="after")
    assert names() == ["a", "after", "written first"]
    assert Author.objects.get(pk=author.pk).age == 17
    assert Book.objects.get().title == "Le Lotus bleu"


def test_a_validator_failure_in_an_inner_block_can_be_caught():
    # ENFORCE_SCHEMA: PositiveIntegerField is "minimum: 0" in the collection's $jsonSchema,
    # and MongoDB answers DocumentValidationFailure (121), which aborts the transaction.
    book = Book.objects.create(title="t", author=Author.objects.create(name="a"))
    with transaction.atomic():
        Chapter.objects.create(book=book, number=1, title="one")
        with pytest.raises(IntegrityError), transaction.atomic():
            Chapter.objects.create(book=book, number=-1, title="minus one")
        Chapter.objects.create(book=book, number=2, title="two")
    assert list(Chapter.objects.order_by("number").values_list("number", flat=True)) == [1, 2]


def test_get_or_create_racing_a_unique_key_inside_a_transaction():
    # get_or_create runs its create() in an inner atomic() and falls back to get() on
    # IntegrityError: the pattern that needs the savepoint to survive the duplicate key.
    with transaction.atomic():
        Tag.objects.create(name="first")
        original = Tag.objects.get(name="first")
        tag, created = Tag.objects.get_or_create(name="first")
        assert (tag, created) == (original, False)
        tag, created = Tag.objects.update_or_create(name="second", defaults={})
        assert created is True
    assert names() == ["first", "second"]


def test_a_data_error_raised_before_the_server_aborts_nothing():
    # An integer beyond 64 bits cannot be encoded: the insert never reaches the server, so
    # nothing was aborted and the rollback of the inner block sends no command at all.
    with transaction.atomic():
        Tag.objects.create(name="kept")
        with (
            CaptureQueriesContext(connection) as captured,
            pytest.raises(DataError),
            transaction.atomic(),
        ):
            AllTypes.objects.create(big=2**70)
        sent = [q["sql"] for q in captured if "__schema__" not in q["sql"]]
        assert len(sent) == 1 and ".insert_many(" in sent[0]  # the failed insert, no replay
    assert names() == ["kept"]


def test_a_statement_after_a_caught_error_without_a_savepoint_is_refused():
    Tag.objects.create(name="taken")
    with pytest.raises(TransactionManagementError), transaction.atomic():
        Tag.objects.create(name="lost")
        with pytest.raises(IntegrityError):
            Tag.objects.create(name="taken")  # save() marks the block for rollback
        Tag.objects.count()
    assert names() == ["taken"]
    # A raw command the ORM does not mark: the backend refuses it, naming the cause.
    with pytest.raises(InternalError, match="aborted by a failed statement"), transaction.atomic():
        Tag.objects.create(name="lost too")
        with pytest.raises(IntegrityError):
            connection.execute_command(
                MongoCommand("testapp_tag", "insert_many", [{"_id": -1}, {"_id": -1}])
            )
        Tag.objects.count()
    assert names() == ["taken"]


# Django 6.1 renamed savepoint() to savepoint_create().
savepoint = getattr(transaction, "savepoint_create", None) or transaction.savepoint


def test_committing_after_a_swallowed_failure_says_nothing_was_kept():
    Tag.objects.create(name="taken")
    with pytest.raises(InternalError, match="could not commit"), transaction.atomic():
        Tag.objects.create(name="lost")
        # the error is swallowed: the block ends normally and asks for a commit
        with contextlib.suppress(IntegrityError):
            connection.execute_command(
                MongoCommand("testapp_tag", "insert_many", [{"_id": -1}, {"_id": -1}])
            )
    assert names() == ["taken"]


def test_savepoint_functions():
    with transaction.atomic():
        Tag.objects.create(name="one")
        first = savepoint()
        Tag.objects.create(name="two")
        second = savepoint()
        Tag.objects.create(name="three")
        transaction.savepoint_rollback(second)
        assert names() == ["one", "two"]
        transaction.savepoint_commit(second)
        transaction.savepoint_rollback(first)
        assert names() == ["one"]
        Tag.objects.create(name="four")
        third = savepoint()
        Tag.objects.create(name="five")
        transaction.savepoint_commit(third)
        transaction.clean_savepoints()
    assert names() == ["five", "four", "one"]


def test_an_unknown_savepoint_is_a_database_error():
    with transaction.atomic(), pytest.raises(OperationalError, match="no such savepoint"):
        connection.savepoint_rollback("s_nonexistent")


def test_set_rollback_inside_an_inner_block():
    with transaction.atomic():
        Tag.objects.create(name="outer")
        with transaction.atomic():
            Tag.objects.create(name="inner")
            transaction.set_rollback(True)
    assert names() == ["outer"]


def test_on_commit_callbacks_of_a_rolled_back_savepoint_are_dropped():
    ran = []
    with transaction.atomic():
        transaction.on_commit(lambda: ran.append("outer"))
        with pytest.raises(IntegrityError), transaction.atomic():
            Tag.objects.create(name="x")
            transaction.on_commit(lambda: ran.append("inner"), robust=True)
            Tag.objects.create(name="x")
        with transaction.atomic():
            transaction.on_commit(lambda: ran.append("kept"))
    assert ran == ["outer", "kept"]


def test_rolling_back_a_savepoint_with_no_writes_since_sends_nothing():
    with transaction.atomic():
        Tag.objects.create(name="one")
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            list(Tag.objects.all())
            transaction.set_rollback(True)
        assert len(captured) == 1  # the read
    assert names() == ["one"]


def test_a_replay_sends_a_run_of_inserts_as_one_command_per_collection():
    author = Author.objects.create(name="a")
    with transaction.atomic():
        for index in range(5):
            Tag.objects.create(name=f"t{index}")
            Book.objects.create(title=f"b{index}", author=author)
        with CaptureQueriesContext(connection) as captured, transaction.atomic():
            Tag.objects.create(name="inner")
            transaction.set_rollback(True)
        replayed = [q["sql"] for q in captured if ".insert_many(" in q["sql"]]
        # the inner insert, then the replay: one insert_many per collection
        assert len(replayed) == 3
        assert replayed[1].startswith("db.testapp_tag.insert_many(")
        assert replayed[2].startswith("db.testapp_book.insert_many(")
    assert Tag.objects.count() == 5
    assert Book.objects.count() == 5


def test_a_transaction_the_server_aborted_on_its_own_resumes(other):
    # killSessions aborts the session's transaction on the server (as an expired lifetime or a
    # failover does); the next statement meets NoSuchTransaction, resumes and runs again.
    with transaction.atomic():
        Tag.objects.create(name="before")
        session_id = connection.connection.session.session_id
        other.ensure_connection()
        other.connection.client.admin.command("killSessions", [session_id])
        Tag.objects.create(name="after")
        assert names() == ["after", "before"]
    assert names() == ["after", "before"]


def test_replayed_updates_apply_over_a_concurrent_committed_change(other):
    # After the savepoint rollback the transaction's earlier update runs again on the latest
    # committed document: the other client's field stays, ours is applied over it.
    author = Author.objects.create(name="n", age=1)
    with transaction.atomic():
        Author.objects.filter(pk=author.pk).update(age=2)
        with transaction.atomic():
            Tag.objects.create(name="dup")
            with pytest.raises(IntegrityError):
                Tag.objects.create(name="dup")
            # the server aborted our transaction at the duplicate: its lock on the author is
            # gone, so another client's write goes through before the rollback replays ours
            raw(other, "testapp_author").update_one({"_id": author.pk}, {"$set": {"email": "e@x"}})
        Tag.objects.create(name="after")
    author.refresh_from_db()
    assert (author.age, author.email) == (2, "e@x")
    assert names() == ["after"]


def test_a_replay_that_cannot_apply_fails_the_transaction_and_nothing_commits(other):
    with pytest.raises(TransactionManagementError), transaction.atomic():
        Tag.objects.create(name="mine")
        with transaction.atomic():
            Tag.objects.create(name="dup")
            with pytest.raises(IntegrityError):
                Tag.objects.create(name="dup")
            # another client takes our unique name while our server transaction is aborted
            raw(other, "testapp_tag").insert_one({"_id": 10**6, "name": "mine"})
        # replaying our insert of "mine" failed: Django marked the transaction for rollback
        Tag.objects.count()
    assert list(raw(other, "testapp_tag").find({}, {"_id": 0})) == [{"name": "mine"}]


def test_ids_of_a_rolled_back_savepoint_are_given_back():
    with transaction.atomic():
        first = Tag.objects.create(name="one").pk
        with pytest.raises(Rollback), transaction.atomic():
            assert Tag.objects.create(name="two").pk == first + 1
            raise Rollback
        assert Tag.objects.create(name="three").pk == first + 1


def test_ids_of_a_rolled_back_transaction_are_given_back():
    first = Tag.objects.create(name="zero").pk
    with pytest.raises(Rollback), transaction.atomic():
        Tag.objects.bulk_create([Tag(name=f"n{i}") for i in range(3)])
        Tag.objects.create(name="x")
        raise Rollback
    assert Tag.objects.create(name="next").pk == first + 1


def test_ids_stay_taken_when_another_client_reserved_after_them(other):
    with pytest.raises(Rollback), transaction.atomic():
        mine = Tag.objects.create(name="mine").pk
        theirs = sequences.reserve(other, "testapp_tag", 1)
        raise Rollback
    assert theirs == mine + 1
    assert Tag.objects.create(name="later").pk == theirs + 1


def test_an_explicit_id_that_raised_the_sequence_is_given_back():
    first = Tag.objects.create(name="auto").pk
    with pytest.raises(Rollback), transaction.atomic():
        Tag.objects.create(pk=first + 100, name="explicit")
        raise Rollback
    assert Tag.objects.create(name="next").pk == first + 1


def commands(captured):
    """The commands sent (Django also logs BEGIN/COMMIT/ROLLBACK around its own blocks)."""
    return [q["sql"] for q in captured if q["sql"] not in ("BEGIN", "COMMIT", "ROLLBACK")]


def test_outside_atomic_the_command_counts_stay():
    author = Author.objects.create(name="a")
    with CaptureQueriesContext(connection) as captured:
        Tag.objects.create(name="new")
    assert len(commands(captured)) == 2  # the reservation, the insert
    with CaptureQueriesContext(connection) as captured:
        Author.objects.filter(pk=author.pk).update(age=3)
    assert len(commands(captured)) == 1
    AllTypes.objects.create(char="c")
    with CaptureQueriesContext(connection) as captured:
        AllTypes.objects.filter(char="c").delete()  # nothing relates to it: one delete_many
    assert len(commands(captured)) == 1
    with CaptureQueriesContext(connection) as captured:
        Tag.objects.bulk_create([Tag(name="b1"), Tag(name="b2")])
    assert len(commands(captured)) == 2


def test_inside_a_nested_atomic_the_command_counts_stay_too():
    # The write log costs no command: the same counts inside a savepoint as outside.
    author = Author.objects.create(name="a")
    with transaction.atomic(), transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            Tag.objects.create(name="new")
            Author.objects.filter(pk=author.pk).update(age=3)
            AllTypes.objects.filter(char="c").delete()
            Tag.objects.bulk_create([Tag(name="b1"), Tag(name="b2")])
        assert len(commands(captured)) == 2 + 1 + 1 + 2
