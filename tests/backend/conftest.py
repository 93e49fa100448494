"""Fixtures of the MongoManager tests (native async and raw access)."""

from __future__ import annotations

import threading

import pymongo
import pytest
from asgiref.sync import SyncToAsync
from django.db import connections
from pymongo import monitoring

from tests.testapp.models import Author, Book, Indexed, UUIDKeyed


class Listener(monitoring.CommandListener):
    def __init__(self):
        self.events = []

    def started(self, event):
        if event.command_name not in ("hello", "isMaster", "endSessions", "ping"):
            self.events.append((event.command_name, threading.get_ident()))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    @property
    def names(self):
        return [name for name, _thread in self.events]


def wipe():
    Book.tags.through.objects.all().delete()
    for model in (Book, Author, Indexed, UUIDKeyed):
        model.objects.all()._raw_delete("default")


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Database access without pytest-django's transaction; the tables emptied around."""
    with django_db_blocker.unblock():
        wipe()
        yield
        wipe()


@pytest.fixture
def listener(committed):
    """ASYNC_CLIENT: a factory of AsyncMongoClients that record the commands they run."""
    listener = Listener()
    settings = connections["default"].settings_dict
    kwargs = connections["default"].get_connection_params()["client"]
    settings["ASYNC_CLIENT"] = lambda: pymongo.AsyncMongoClient(
        **kwargs, event_listeners=[listener]
    )
    try:
        yield listener
    finally:
        del settings["ASYNC_CLIENT"]


@pytest.fixture
def no_thread_pool(monkeypatch):
    """Any use of sync_to_async (Django's async fallback) fails the test."""

    async def refuse(self, *args, **kwargs):
        raise AssertionError(f"the thread pool ran {self.func!r}")

    monkeypatch.setattr(SyncToAsync, "__call__", refuse)


@pytest.fixture
def native(listener, no_thread_pool):
    return listener
