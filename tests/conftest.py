"""Shared fixtures: one embedded server per test run (or real MongoDB via MONGODB_URI)."""

from __future__ import annotations

import os

import pytest

# Embedded servers started for this run (by the fixtures below or by the settings' embedded://
# hosts, which inherit this environment) return what MongoDB leaves unordered in a random order,
# so a test relying on an unspecified order fails here as it could on MongoDB. Set it to 0 to
# debug with the engine's stable order.
os.environ.setdefault("DJANGO_MONGO_EMBEDDED_SHUFFLE", "1")


@pytest.fixture(scope="session")
def embedded_dbpath(tmp_path_factory):
    """A data directory served by an embedded server for the whole run, stopped at the end."""
    from django_mongo_backend.embedded import launcher

    dbpath = tmp_path_factory.mktemp("embedded")
    launcher.ensure_server(dbpath)
    yield dbpath
    launcher.stop_server(dbpath)


@pytest.fixture(scope="session")
def embedded_uri(embedded_dbpath):
    from django_mongo_backend.embedded import launcher

    return launcher.uri_for(launcher.ensure_server(embedded_dbpath))


@pytest.fixture(scope="session")
def mongo_uri(request):
    """Real MongoDB when MONGODB_URI is set, else the embedded server."""
    return os.environ.get("MONGODB_URI") or request.getfixturevalue("embedded_uri")


@pytest.fixture
def mongo_client(mongo_uri):
    import pymongo

    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=10_000)
    yield client
    client.close()


@pytest.fixture
def mongo_db(mongo_client, request):
    """A database of its own for one test, dropped afterwards."""
    name = "t_" + request.node.name.replace("[", "_").replace("]", "")[:50]
    mongo_client.drop_database(name)
    yield mongo_client[name]
    mongo_client.drop_database(name)


def pytest_sessionfinish(session, exitstatus):
    """Stop the embedded server the Django settings started for this run, if any."""
    dbpath = os.environ.get("DJANGO_MONGO_TEST_DBPATH")
    if dbpath and not os.environ.get("MONGODB_URI") and os.path.isdir(dbpath):
        from django_mongo_backend.embedded import launcher

        launcher.stop_server(dbpath)
