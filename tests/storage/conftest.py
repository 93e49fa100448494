"""Fixtures of the GridFS storage tests: database access and the test buckets emptied.

GridFS never runs inside a transaction (pymongo refuses it), so files outlive the rollback
that ends each test: the buckets the tests write are dropped before and after each test.
"""

from __future__ import annotations

import pytest
from django.db import connections

from django_mongo_backend.storage import GridFSStorage

BUCKETS = ("t_storage", "test_attachments", "t_media")


def database():
    wrapper = connections["default"]
    wrapper.ensure_connection()
    return wrapper.connection.database


def drop_buckets():
    db = database()
    for bucket in BUCKETS:
        db[f"{bucket}.files"].drop()
        db[f"{bucket}.chunks"].drop()


@pytest.fixture
def gridfs_access(db):
    """The test database (in pytest-django's transaction, which GridFS stays out of), its
    test buckets dropped around the test; pymongo's ``Database`` of it."""
    drop_buckets()
    yield database()
    drop_buckets()


@pytest.fixture
def storage(gridfs_access):
    """A storage on its own bucket, with a base URL of its own."""
    return GridFSStorage(bucket_name="t_storage", base_url="/test_media_url/")


@pytest.fixture
def bucket_db(gridfs_access):
    """The test database as pymongo sees it (for what an outside reader finds)."""
    return gridfs_access
