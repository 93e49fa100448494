"""Django's own cache tests, unmodified, run against ``MongoDBCache``.

``BaseCacheTests`` (Django's ``tests/cache/tests.py``) is the mixin every built-in backend's
test class uses (``DBCacheTests``, ``LocMemCacheTests``...). It comes from the source
distribution of the installed Django, the tree ``tests/django_suite/run.py`` caches (fetched
with ``pip download`` the first time, never copied into this repository), and runs here as
``DBCacheTests`` runs it: a ``TransactionTestCase`` with Django's ``caches_setting_for_tests``
(seven caches sharing one collection: prefixed, versioned, custom key functions, culling), its
``cache`` app installed for the ``Poll`` model some tests cache.

It runs twice: with the default serializer, and with ``SERIALIZER: "pickle"``, where every test
of the mixin runs. With the default serializer six tests are skipped, each because its premise
is pickle (it caches a function, a class, a model instance or a queryset, or expects
``pickle.PickleError``); tests/cache/test_values.py checks that those values are refused
there, with a ``TypeError`` naming the setting.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import unittest

import django
import pytest
from django.db import connection
from django.test import TransactionTestCase, modify_settings, override_settings

from tests.django_suite import run as django_suite

try:
    _version = django.__version__
    DJANGO_TESTS = django_suite.django_tests_dir(_version, django_suite.cache_root() / _version)
except (SystemExit, subprocess.CalledProcessError) as error:
    pytest.fail(f"Django's test suite could not be fetched: {error}", pytrace=False)

if str(DJANGO_TESTS) not in sys.path:
    sys.path.append(str(DJANGO_TESTS))  # last: Django's test apps shadow nothing of ours

with modify_settings(INSTALLED_APPS={"append": "cache"}):
    django_cache_tests = importlib.import_module("cache.tests")

LOCATION = "django_cache_suite"


def suite_caches(**options):
    """``CACHES`` as DBCacheTests builds it, with MongoDBCache (``options`` for all but the two
    culling caches, whose OPTIONS Django's helper replaces)."""
    base = {"BACKEND": "django_mongo_backend.cache.MongoDBCache", "LOCATION": LOCATION}
    if options:
        base["OPTIONS"] = options
    return django_cache_tests.caches_setting_for_tests(base=base)


class _WithPolls(django_cache_tests.BaseCacheTests):
    """The mixin with the collection of the ``cache`` app's ``Poll`` model, which Django's
    runner would have migrated."""

    available_apps = ["cache"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        poll = django_cache_tests.Poll
        if poll._meta.db_table not in connection.introspection.table_names():
            with connection.schema_editor() as editor:
                editor.create_model(poll)
        cls.addClassCleanup(cls._drop_polls)

    @classmethod
    def _drop_polls(cls):
        with connection.schema_editor() as editor:
            editor.delete_model(django_cache_tests.Poll)


PICKLE_PREMISE = (
    "its premise is pickle: it caches {what}; the default serializer refuses that with a "
    "TypeError (tests/cache/test_values.py) and MongoDBPickleCacheTests runs this test"
)


def _pickle_premise(name, what):
    test = getattr(django_cache_tests.BaseCacheTests, name)
    return unittest.skip(PICKLE_PREMISE.format(what=what))(test)


@modify_settings(INSTALLED_APPS={"append": "cache"})
@override_settings(CACHES=suite_caches())
class MongoDBCacheTests(_WithPolls, TransactionTestCase):
    """The default serializer (BSON, then type-tagged JSON)."""

    test_data_types = _pickle_premise("test_data_types", "a function and a class")
    test_cache_read_for_model_instance = _pickle_premise(
        "test_cache_read_for_model_instance", "a model instance"
    )
    test_cache_write_for_model_instance_with_deferred = _pickle_premise(
        "test_cache_write_for_model_instance_with_deferred", "a queryset"
    )
    test_cache_read_for_model_instance_with_deferred = _pickle_premise(
        "test_cache_read_for_model_instance_with_deferred", "a queryset"
    )
    test_add_fail_on_pickleerror = _pickle_premise(
        "test_add_fail_on_pickleerror", "an object and expects pickle.PickleError"
    )
    test_set_fail_on_pickleerror = _pickle_premise(
        "test_set_fail_on_pickleerror", "an object and expects pickle.PickleError"
    )


@modify_settings(INSTALLED_APPS={"append": "cache"})
@override_settings(CACHES=suite_caches(SERIALIZER="pickle"))
class MongoDBPickleCacheTests(_WithPolls, TransactionTestCase):
    """``SERIALIZER: "pickle"``: the whole mixin."""
