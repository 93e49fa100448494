"""``DatabaseWrapper.command_observers``, the hook the toolbar panel reads (base.py)."""

from __future__ import annotations

import asyncio

import pytest
from django.db import connection, connections

from django_mongo_backend import async_execution
from django_mongo_backend.mongo_command import MongoCommand
from tests.testapp.models import Author


@pytest.fixture
def observed(db):
    seen = []

    def observe(wrapper, command, seconds):
        seen.append((wrapper, command, seconds))

    connection.command_observers = (observe,)
    yield seen
    connection.command_observers = ()


def test_observers_see_each_command_whatever_debug_says(observed, settings):
    settings.DEBUG = False
    connection.queries_log.clear()
    Author.objects.create(name="Ann", age=3)
    list(Author.objects.filter(age=3))
    # (a sequence reservation may come first: Author's AutoField)
    # (a plain read is sent as find: plans.find_arguments)
    assert [command.method for _, command, _ in observed][-2:] == ["insert_many", "find"]
    assert all(wrapper is connections["default"] for wrapper, _, _ in observed)
    assert all(isinstance(command, MongoCommand) for _, command, _ in observed)
    assert all(seconds >= 0 for _, _, seconds in observed)
    assert connection.queries == []  # DEBUG off: connection.queries keeps nothing


def test_a_failed_command_is_observed_too(observed):
    from django.db import DatabaseError

    with pytest.raises(DatabaseError):
        connection.execute_command(MongoCommand(None, "command", "noSuchCommand"))
    assert [command.args for _, command, _ in observed] == [("noSuchCommand",)]


def test_the_async_path_is_observed(observed):
    """Commands sent by the async client (async_execution.execute) pass the same hook."""
    command = MongoCommand(Author._meta.db_table, "aggregate", [{"$match": {"age": 4}}])
    asyncio.run(async_execution.execute(connections["default"], command))
    assert [seen for _, seen, _ in observed] == [command]
