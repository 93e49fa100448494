"""Proxies of the test models with ``MongoManager``: no new collections, no migration."""

from __future__ import annotations

from django_mongo_backend.managers import MongoManager
from tests.testapp.models import Author, Book, Indexed, UUIDKeyed


class MongoAuthor(Author):
    objects = MongoManager()

    class Meta:
        proxy = True
        app_label = "testapp"


class MongoBook(Book):
    objects = MongoManager()

    class Meta:
        proxy = True
        app_label = "testapp"


class MongoIndexed(Indexed):
    objects = MongoManager()

    class Meta:
        proxy = True
        app_label = "testapp"


class MongoUUIDKeyed(UUIDKeyed):
    objects = MongoManager()

    class Meta:
        proxy = True
        app_label = "testapp"
