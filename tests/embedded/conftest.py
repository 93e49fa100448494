"""Fixtures of the embedded server's tests (the server itself: tests/conftest.py)."""

from __future__ import annotations

import pymongo
import pytest


@pytest.fixture
def other_client(mongo_uri):
    """A second client of the server (its own connections and sessions), for a concurrent
    transaction or a write outside transactions."""
    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000)
    yield client
    client.close()
