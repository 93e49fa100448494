"""transaction.atomic() maps onto MongoDB session transactions."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

from tests.testapp.models import Tag

pytestmark = pytest.mark.django_db(transaction=True)


def test_server_reports_transaction_support():
    assert connection.features.supports_transactions is True


def test_atomic_commits():
    with transaction.atomic():
        Tag.objects.create(name="kept")
    assert Tag.objects.filter(name="kept").exists()


def test_atomic_rolls_back_on_error():
    with pytest.raises(ValueError), transaction.atomic():
        Tag.objects.create(name="gone")
        assert Tag.objects.filter(name="gone").exists()  # visible inside
        raise ValueError
    assert not Tag.objects.filter(name="gone").exists()


def test_writes_are_invisible_to_other_connections_until_commit():
    from django.db import connections

    other = connections["default"].copy("probe")
    try:
        with transaction.atomic():
            Tag.objects.create(name="pending")
            collection = _other_collection(other)
            assert collection.count_documents({"name": "pending"}) == 0
        assert collection.count_documents({"name": "pending"}) == 1
    finally:
        other.close()


def _other_collection(wrapper):
    wrapper.ensure_connection()
    return wrapper.connection.database["testapp_tag"]


def test_inner_failure_marks_the_whole_transaction_for_rollback():
    # MongoDB has no savepoints: an exception leaving an inner atomic() block makes the
    # outer transaction unusable, and it rolls back as a whole (Django's behaviour for
    # backends without savepoints).
    with pytest.raises(TransactionManagementError), transaction.atomic():
        Tag.objects.create(name="outer")
        try:
            with transaction.atomic():
                Tag.objects.create(name="inner")
                raise ValueError
        except ValueError:
            pass
        Tag.objects.create(name="after")
    assert not Tag.objects.filter(name__in=["outer", "inner", "after"]).exists()


def test_sequence_ids_are_not_rolled_back():
    with pytest.raises(ValueError), transaction.atomic():
        first = Tag.objects.create(name="x").pk
        raise ValueError
    assert Tag.objects.create(name="y").pk > first


def test_a_caught_duplicate_key_leaves_the_transaction_aborted():
    # MongoDB aborts a transaction on any failed statement (the drivers' transactions spec
    # tests expect NoSuchTransaction, 251, after it), as PostgreSQL does; Django, which marks
    # the block for rollback when a save fails, refuses the next query itself.
    from django.db import IntegrityError

    Tag.objects.create(name="taken")
    with pytest.raises(TransactionManagementError), transaction.atomic():
        Tag.objects.create(name="written first")
        with pytest.raises(IntegrityError):
            Tag.objects.create(name="taken")
        Tag.objects.count()
    assert not Tag.objects.filter(name="written first").exists()
    with transaction.atomic():  # the connection is usable again after the block
        Tag.objects.create(name="next")
    assert Tag.objects.filter(name="next").exists()
